"""Hostile input against the issue-9 endpoints: progress (one record, batches, reads),
attendance (one, bulk, the Zoom import), evaluation, certificates (issue, read, PDF, QR,
revoke, public verification) and the JP ledger (a learner's year, external records, the
SIASN format, the compliance report). Same rule as tests/test_hostile_inputs.py, whose
helpers this reuses: every case answers a clear 4xx problem+json within 30 s and changes
no data table.

The world: a cohort with a session, an enrolment with a progress record and attendance,
another cohort evaluated with an issued certificate (its learner has a login), and an
external JP record.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from app.models.cohort import CohortStatus
from tests.factories import (
    auth_headers,
    enrol,
    make_agency,
    make_learner,
    make_learner_login,
    make_open_cohort,
    make_published_course,
    make_user,
)
from tests.factories_attendance import add_session
from tests.factories_certificates import evaluated_cohort
from tests.factories_jpledger import external
from tests.test_hostile_inputs import SQL, VALUES, MiB, _failure, _nested, _quote, _snapshot

EXTREME_TIMES = {
    "time-year-1-minus-offset": b'"0001-01-01T00:00:00-23:59"',
    "time-year-1-plus-offset": b'"0001-01-01T00:00:00+23:59"',
    "time-9999-minus-offset": b'"9999-12-31T23:59:59-23:59"',
    "time-9999-plus-offset": b'"9999-12-31T23:59:59+23:59"',
    "time-year-1-naive": b'"0001-01-01T00:00:00"',
    "date-9999": b'"9999-12-31"',
}
NEWER = "2025-05-16T08:00:00+07:00"  # than the stored record: a valid body would write
HOSTILE: dict[str, bytes] = {**VALUES, **EXTREME_TIMES}
NUMBERS = ["1e309", "NaN", "-Infinity", "9223372036854775808", "-9223372036854775809", "0x10"]


@dataclass
class World:
    admin: dict[str, str]
    learner: dict[str, str]  # the certified learner's own login
    key: str  # learner in the running cohort
    name: str
    cohort: str  # open, with a session, an enrolment, progress and attendance
    session_id: str
    enrollment: str
    module: str
    done_cohort: str  # evaluated, certificates issued
    done_enrollment: str
    certificate: str
    code: str
    record: str  # an external JP record of ``key``
    agency: str

    @property
    def json_admin(self) -> dict[str, str]:
        return {**self.admin, "Content-Type": "application/json"}


def progress_body(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "status": "in_progress",
        "percent": 40,
        "occurred_at": "2025-05-15T08:00:00+07:00",
        "source": "moodle",
        "external_id": "cmc-hostile",
    }
    return {**values, **overrides}


def _world(client: TestClient, session: Session) -> World:
    agency = make_agency(session)
    admin = auth_headers(make_user(session, agency, "agency_admin"))
    session.rollback()
    course = make_published_course(client, admin)
    modules = client.get(f"/v1/courses/{course['id']}/curricula/1", headers=admin).json()
    module = modules["modules"][0]["id"]
    cohort = make_open_cohort(client, admin, course["id"], year=2025)["id"]
    lesson = add_session(client, admin, cohort)["id"]
    made = make_learner(client, admin, name="Wulan Hostile")
    key = made["learner_key"]
    enrollment = enrol(client, admin, cohort, key)["id"]
    put = client.put(
        f"/v1/enrollments/{enrollment}/progress/{module}", json=progress_body(), headers=admin
    )
    assert put.status_code == 201, put.text
    seen = client.put(
        f"/v1/cohorts/{cohort}/sessions/{lesson}/attendance/{enrollment}",
        json={"status": "present"},
        headers=admin,
    )
    assert seen.status_code == 200, seen.text
    done = evaluated_cohort(
        client, session, admin, passed=1, course=course, year=2024, status=CohortStatus.evaluation
    )
    issued = client.post(f"/v1/cohorts/{done.cohort['id']}/certificates", headers=admin)
    assert issued.status_code == 201, issued.text
    certs = client.get(f"/v1/cohorts/{done.cohort['id']}/certificates", headers=admin).json()
    cert = certs["items"][0]
    learner = make_learner_login(client, admin, done.learners[0]["learner_key"])
    record = client.post(f"/v1/learners/{key}/jp-records", json=external(), headers=admin)
    assert record.status_code == 201, record.text
    return World(
        admin=admin,
        learner=learner,
        key=key,
        name=made["name"],
        cohort=cohort,
        session_id=lesson,
        enrollment=enrollment,
        module=module,
        done_cohort=done.cohort["id"],
        done_enrollment=done.passed[0]["id"],
        certificate=cert["id"],
        code=cert["verification_url"].rsplit("/", 1)[-1],
        record=record.json()["id"],
        agency=agency.id,
    )


# --- the table: "group:name" -> a request built from the world ------------------------

Request = tuple[str, str, dict[str, Any]]
Case = Callable[[World], Request]

PROGRESS_PUT = "/v1/enrollments/{w.enrollment}/progress/{w.module}"
ATTENDANCE = "/v1/cohorts/{w.cohort}/sessions/{w.session_id}/attendance"
JP_RECORDS = "/v1/learners/{w.key}/jp-records"
ZOOM = "/v1/cohorts/{w.cohort}/sessions/{w.session_id}/zoom-report"
BODY_ROUTES = {
    "progress-put": ("PUT", PROGRESS_PUT),
    "progress-batch": ("POST", "/v1/progress/batch"),
    "attendance-one": ("PUT", ATTENDANCE + "/{w.enrollment}"),
    "attendance-bulk-put": ("PUT", ATTENDANCE),
    "attendance-bulk-post": ("POST", ATTENDANCE),
    "revoke": ("POST", "/v1/certificates/{w.certificate}/revoke"),
    "jp-create": ("POST", JP_RECORDS),
    "jp-patch": ("PATCH", JP_RECORDS + "/{w.record}"),
}
# free text: a date, a time or a SQL fragment is a fine title or reason, not hostile there
FREE_TEXT = ("date", "time", "sql")


def _json(method: str, url: str, raw: bytes) -> Case:
    return lambda w: (method, url.format(w=w), {"content": raw, "headers": w.json_admin})


def _with(body: dict[str, Any], path: tuple[str | int, ...], raw: bytes) -> bytes:
    """``body`` as JSON with the value at ``path`` replaced by the raw JSON text ``raw``."""
    copy = json.loads(json.dumps(body))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = "@@HOSTILE@@"
    return json.dumps(copy).encode().replace(b'"@@HOSTILE@@"', raw)


def _batch_record() -> dict[str, Any]:
    return {
        **progress_body(external_id="cmc-batch"),
        "enrollment_id": "{w.enrollment}",
        "module_id": "{w.module}",
    }


def _formatted(method: str, url: str, build: Callable[[World], bytes]) -> Case:
    return lambda w: (method, url.format(w=w), {"content": build(w), "headers": w.json_admin})


def _fill(data: bytes, w: World) -> bytes:
    """``data`` with the world's ids in place of ``{w.enrollment}`` and ``{w.module}``."""
    return data.replace(b"{w.enrollment}", w.enrollment.encode()).replace(
        b"{w.module}", w.module.encode()
    )


def _field_cases() -> dict[str, Case]:
    """Each hostile value in each field of each JSON body (the rest of the body valid)."""
    cases: dict[str, Case] = {}
    bodies: dict[str, tuple[dict[str, Any], dict[str, tuple[str | int, ...]], set[str]]] = {
        "progress-put": (
            progress_body(occurred_at=NEWER, external_id="cmc-2"),
            {f: (f,) for f in progress_body()} | {"score": ("score",), "jp": ("jp_earned",)},
            {"external_id"},
        ),
        "progress-batch": (
            {"records": [{**_batch_record(), "occurred_at": NEWER}]},
            {
                f: ("records", 0, f)
                for f in ("status", "percent", "occurred_at", "source", "external_id")
            }
            | {
                "enrollment_id": ("records", 0, "enrollment_id"),
                "module_id": ("records", 0, "module_id"),
                "time_spent": ("records", 0, "time_spent_minutes"),
            },
            {"external_id"},
        ),
        "attendance-one": (
            {"status": "present", "minutes_attended": 30},
            {"status": ("status",), "minutes": ("minutes_attended",)},
            set(),
        ),
        "attendance-bulk-put": (
            {"items": [{"enrollment_id": "{w.enrollment}", "status": "absent"}]},
            {
                "enrollment_id": ("items", 0, "enrollment_id"),
                "status": ("items", 0, "status"),
                "minutes": ("items", 0, "minutes_attended"),
            },
            set(),
        ),
        "revoke": ({"reason": "Salah cetak"}, {"reason": ("reason",)}, {"reason"}),
        "jp-create": (
            external(certificate_number="HOSTILE/1"),
            {f: (f,) for f in ("title", "organiser", "starts_on", "ends_on", "jp")}
            | {"certificate_number": ("certificate_number",)},
            {"title", "organiser", "certificate_number"},
        ),
        "jp-patch": (
            {"jp": 3},
            {f: (f,) for f in ("title", "starts_on", "ends_on", "jp", "certificate_number")},
            {"title", "certificate_number"},
        ),
    }
    for route, (body, fields, free) in bodies.items():
        method, url = BODY_ROUTES[route]
        if route == "progress-batch":  # one rejected record: 422, not a per-record answer
            url += "?mode=all_or_nothing"
        for field, path in fields.items():
            for name, raw in HOSTILE.items():
                if field in free and name.startswith(FREE_TEXT):
                    continue
                if field == "source" and name.startswith(("date", "time")):
                    continue  # "0001-01-01" is a fine LMS name
                data = _with(body, path, raw)
                cases[f"{route}:{field}-{name}"] = _formatted(
                    method, url, lambda w, d=data: _fill(d, w)
                )
    return cases


def _whole_bodies() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for route, (method, url) in BODY_ROUTES.items():
        cases[f"{route}:11MiB"] = _json(method, url, b'{"reason": "' + b"a" * (11 * MiB) + b'"}')
        cases[f"{route}:nested-10000"] = _json(method, url, _nested(10_000))
        cases[f"{route}:nested-objects-10000"] = _json(
            method, url, b'{"a":' * 10_000 + b"1" + b"}" * 10_000
        )
        cases[f"{route}:not-json"] = _json(method, url, b"\xff\xfe{not json")
    cases["progress-batch:10001-records"] = lambda w: (
        "POST",
        "/v1/progress/batch",
        {
            "content": json.dumps(
                {
                    "records": [
                        {
                            **progress_body(external_id=f"x{i}"),
                            "enrollment_id": w.enrollment,
                            "module_id": w.module,
                        }
                        for i in range(10_001)
                    ]
                }
            ).encode(),
            "headers": w.json_admin,
        },
    )
    return cases


def _get(url: str, who: str = "admin", **headers: str) -> Case:
    return lambda w: ("GET", url.format(w=w), {"headers": {**getattr(w, who), **headers}})


QUERIES: dict[str, tuple[str, str, list[str]]] = {
    # name: (who, url, parameters)
    "jp-year": ("admin", "/v1/learners/{w.key}/jp?year=2025", ["year"]),
    "jp-records": ("admin", JP_RECORDS, ["cursor", "limit", "year", "format"]),
    "compliance": ("admin", "/v1/reports/jp-compliance", ["cursor", "limit", "year", "agency"]),
    "summary": ("admin", "/v1/reports/jp-compliance/summary", ["year", "agency"]),
    "attendance-list": ("admin", ATTENDANCE, ["cursor", "limit"]),
    "certificates-list": ("admin", "/v1/cohorts/{w.done_cohort}/certificates", ["cursor", "limit"]),
    "me-certificates": ("learner", "/v1/me/certificates", ["cursor", "limit"]),
    "me-jp": ("learner", "/v1/me/jp", ["year"]),
}


def _query_cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for name, (who, url, params) in QUERIES.items():
        base, _, fixed = url.partition("?")
        fixed_params = dict(p.split("=") for p in fixed.split("&") if p)
        for param in [*params, "sort", "order", "mode"]:
            others = {k: v for k, v in fixed_params.items() if k != param}
            rest = "".join(f"&{k}={v}" for k, v in others.items())
            for i, fragment in enumerate(SQL):
                cases[f"{name}:{param}-sql{i}"] = _get(
                    f"{base}?{param}={_quote(fragment)}{rest}", who
                )
            if param in ("year", "limit"):
                for n, number in enumerate([*NUMBERS, "-1", "1", "99999"]):
                    if param == "limit" and number == "1":
                        continue
                    cases[f"{name}:{param}-number{n}"] = _get(f"{base}?{param}={number}{rest}", who)
            duplicate = {"cursor": "abc", "limit": "1", "year": "2025", "format": "siasn"}
            duplicate |= {"agency": "x"}
            if param in duplicate:
                v = duplicate[param]
                cases[f"{name}:duplicate-{param}"] = _get(
                    f"{base}?{param}={v}&{param}={v}{rest}", who
                )
    year_2025 = {"year": "2025"}
    for n, value in enumerate(["1", "9999", "0", "-2025"]):
        cases[f"jp-year:year-range{n}"] = _get(f"/v1/learners/{{w.key}}/jp?year={value}")
        cases[f"summary:year-range{n}"] = _get(f"/v1/reports/jp-compliance/summary?year={value}")
    cases["jp-year:missing-year"] = _get("/v1/learners/{w.key}/jp")
    cases["jp-records:format-unknown"] = _get(JP_RECORDS + "?format=../../etc/passwd")
    del year_2025
    # the writes' query parameters, with a valid body: only the parameter is at fault
    for i, fragment in enumerate(SQL):
        for param in ("mode", "dry_run"):
            cases[f"progress-batch:{param}-sql{i}"] = _batch_query(f"{param}={_quote(fragment)}")
        for param in ("present_share", "late_after_minutes", "timezone", "dry_run"):
            cases[f"zoom-query:{param}-sql{i}"] = _zoom(_zoom_csv(), f"{param}={_quote(fragment)}")
    cases["progress-batch:duplicate-mode"] = _batch_query("mode=partial&mode=all_or_nothing")
    cases["progress-batch:duplicate-dry-run"] = _batch_query("dry_run=true&dry_run=false")
    for n, number in enumerate(NUMBERS):
        cases[f"zoom-query:present-share-{n}"] = _zoom(_zoom_csv(), f"present_share={number}")
        cases[f"zoom-query:late-after-{n}"] = _zoom(_zoom_csv(), f"late_after_minutes={number}")
    cases["zoom-query:timezone-traversal"] = _zoom(_zoom_csv(), "timezone=../../etc/localtime")
    cases["zoom-query:timezone-posix"] = _zoom(_zoom_csv(), "timezone=%2Fetc%2Flocaltime")
    cases["zoom-query:duplicate-dry-run"] = _zoom(_zoom_csv(), "dry_run=true&dry_run=false")
    cases["zoom-query:duplicate-timezone"] = _zoom(
        _zoom_csv(), "timezone=Asia/Jakarta&timezone=Asia/Jayapura"
    )
    return cases


def _batch_query(query: str) -> Case:
    return lambda w: (
        "POST",
        f"/v1/progress/batch?{query}",
        {
            "json": {
                "records": [
                    {
                        **progress_body(external_id="q"),
                        "enrollment_id": w.enrollment,
                        "module_id": w.module,
                    }
                ]
            },
            "headers": w.admin,
        },
    )


# --- Zoom reports -----------------------------------------------------------------------

ZOOM_HEADER = b"Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest\n"


def _zoom_csv(lines: bytes = b"") -> bytes:
    return ZOOM_HEADER + (
        lines or b"Peserta,p@x.example,05/14/2025 08:00:00 AM,05/14/2025 09:40:00 AM,100,No\n"
    )


def _zoom(body: bytes, query: str = "", media: str = "text/csv") -> Case:
    return lambda w: (
        "POST",
        ZOOM.format(w=w) + (f"?{query}" if query else ""),
        {"content": body, "headers": {**w.admin, "Content-Type": media}},
    )


def _zoom_cases() -> dict[str, Case]:
    line = b"Peserta %d,p%d@x.example,05/14/2025 08:00:00 AM,05/14/2025 09:40:00 AM,100,No\n"
    return {
        "zoom:invalid-utf8": _zoom(_zoom_csv(b"\xff\xfe\xc3(,\x80@x,05/14/2025 08:00:00 AM\n")),
        "zoom:10001-lines": _zoom(_zoom_csv(b"".join(line % (i, i) for i in range(10_001)))),
        "zoom:5MB-cell": _zoom(_zoom_csv(b"P," + b"a" * (5 * MiB) + b",05/14/2025,x,1,No\n")),
        "zoom:5MB-quoted-cell": _zoom(_zoom_csv(b'"' + b"a" * (5 * MiB) + b'",x,y,z,1,No\n')),
        "zoom:nul-bytes": _zoom(_zoom_csv(b"Pe\x00serta,p@x.example,\x00,\x00,1,No\n")),
        "zoom:11MiB": _zoom(_zoom_csv(b"a," * (11 * MiB // 2))),
        "zoom:8M-blank-lines": _zoom(b"\n" * (8 * MiB) + _zoom_csv()),
        "zoom:json-body": _zoom(b'{"a": 1}', media="application/json"),
        "zoom:multipart-no-file": lambda w: (
            "POST",
            ZOOM.format(w=w),
            {"data": {"other": "x"}, "files": {"nofile": ("a.csv", b"x")}, "headers": w.admin},
        ),
    }


# --- paths and headers ------------------------------------------------------------------

IDS = ["../../etc/passwd", "..%2f..%2fetc%2fpasswd", "%2e%2e%2f%2e%2e%2fetc", "..\\..\\x"]
IDS += ["%00", "' OR '1'='1", "x" * 5000, "%ED%A0%80", "%FF%FE"]


def _path_cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    gets = {
        "progress-get": "/v1/enrollments/{i}/progress",
        "me-progress": "/v1/me/enrollments/{i}/progress",
        "evaluation-get": "/v1/cohorts/{i}/evaluation",
        "certificates-list": "/v1/cohorts/{i}/certificates",
        "certificate-get": "/v1/certificates/{i}",
        "certificate-pdf": "/v1/certificates/{i}.pdf",
        "certificate-qr": "/v1/certificates/{i}/qr",
        "verify": "/verify/{i}",
        "jp-year": "/v1/learners/{i}/jp?year=2025",
        "jp-records": "/v1/learners/{i}/jp-records",
        "jp-record": "/v1/learners/{{w.key}}/jp-records/{i}",
        "attendance-list": "/v1/cohorts/{{w.cohort}}/sessions/{i}/attendance",
    }
    writes: dict[str, tuple[str, str, dict[str, Any] | None]] = {
        "progress-put": ("PUT", "/v1/enrollments/{i}/progress/{i}", progress_body()),
        "evaluate": ("POST", "/v1/cohorts/{i}/evaluate", None),
        "certificates-issue": ("POST", "/v1/cohorts/{i}/certificates", None),
        "revoke": ("POST", "/v1/certificates/{i}/revoke", {"reason": "Salah cetak"}),
        "jp-create": ("POST", "/v1/learners/{i}/jp-records", external()),
        "jp-patch": ("PATCH", "/v1/learners/{{w.key}}/jp-records/{i}", {"jp": 2}),
        "jp-delete": ("DELETE", "/v1/learners/{{w.key}}/jp-records/{i}", None),
        "attendance-one": (
            "PUT",
            "/v1/cohorts/{{w.cohort}}/sessions/{{w.session_id}}/attendance/{i}",
            {"status": "present"},
        ),
        "zoom": ("POST", "/v1/cohorts/{{w.cohort}}/sessions/{i}/zoom-report", None),
    }
    for n, ident in enumerate(IDS):
        for name, url in gets.items():
            who = "learner" if name == "me-progress" else "admin"
            cases[f"paths:{name}-{n}"] = _get(url.format(i=ident), who)
        for name, (method, url, body) in writes.items():
            cases[f"paths:{name}-{n}"] = lambda w, m=method, u=url.format(i=ident), b=body: (
                m,
                u.format(w=w),
                {"json": b, "headers": w.admin}
                if b is not None
                else {"headers": {**w.admin, "Content-Type": "text/csv"}, "content": _zoom_csv()},
            )
    # the module id alone, and the session id of the one-record attendance
    for n, ident in enumerate(IDS):
        cases[f"paths:progress-module-{n}"] = lambda w, i=ident: (
            "PUT",
            f"/v1/enrollments/{w.enrollment}/progress/{i}",
            {"json": progress_body(), "headers": w.admin},
        )
    return cases


def _header_cases() -> dict[str, Case]:
    long_key = "k" * 10_000
    batch = _batch_query("")

    def keyed(case: Case, header: str, value: str) -> Case:
        def build(w: World) -> Request:
            method, url, kwargs = case(w)
            return (
                method,
                url.rstrip("?"),
                {**kwargs, "headers": {**kwargs["headers"], header: value}},
            )

        return build

    jp_create = _formatted("POST", JP_RECORDS, lambda w: json.dumps(external()).encode())

    def issue(w: World) -> Request:
        return "POST", f"/v1/cohorts/{w.done_cohort}/certificates", {"headers": w.admin}

    patch = _formatted("PATCH", JP_RECORDS + "/{w.record}", lambda w: b'{"jp": 3}')
    one = _formatted("PUT", ATTENDANCE + "/{w.enrollment}", lambda w: b'{"status": "absent"}')
    return {
        "headers:batch-idempotency-key-10000": keyed(batch, "Idempotency-Key", long_key),
        "headers:jp-create-idempotency-key-10000": keyed(jp_create, "Idempotency-Key", long_key),
        "headers:issue-idempotency-key-10000": keyed(issue, "Idempotency-Key", long_key),
        "headers:jp-patch-if-match-10000": keyed(patch, "If-Match", f'"{long_key}"'),
        "headers:attendance-if-match-10000": keyed(one, "If-Match", f'"{long_key}"'),
        "headers:batch-content-type-xml": keyed(batch, "Content-Type", "application/xml"),
    }


CASES: dict[str, Case] = {
    **_whole_bodies(),
    **_field_cases(),
    **_query_cases(),
    **_zoom_cases(),
    **_path_cases(),
    **_header_cases(),
}
GROUPS = sorted({name.split(":")[0] for name in CASES})


@pytest.mark.parametrize("group", GROUPS)
def test_hostile_input_to_learning_endpoints_is_a_clear_4xx_and_changes_nothing(
    group: str, client: TestClient, session: Session, engine: Engine
) -> None:
    w = _world(client, session)
    failures = [
        found
        for name in sorted(CASES)
        if name.split(":")[0] == group
        and (found := _failure(name, CASES[name], w, client, engine)) is not None  # type: ignore[arg-type]
    ]
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize(
    ("joined", "left"),
    [
        ("01/01/0001 12:00:00 AM", "12/31/9999 11:59:59 PM"),
        ("0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59"),
        ("05/14/2025 08:00:00 AM", "9999-12-31T23:59:59-23:59"),
    ],
)
def test_zoom_line_in_year_1_or_9999_is_listed_unreadable_and_records_nothing(
    joined: str, left: str, client: TestClient, session: Session, engine: Engine
) -> None:
    """Times outside 1900-2200 are no meeting's: the line is listed (never dropped), as
    unreadable, instead of counting as having attended the whole session."""
    w = _world(client, session)
    before = _snapshot(engine)
    line = f"{w.name},,{joined},{left},1,No\n".encode()
    method, url, kwargs = _zoom(_zoom_csv(line))(w)
    got = client.request(method, url, **kwargs)
    assert got.status_code == 200, got.text
    answer = got.json()
    assert (answer["written"], answer["matched"]) == (0, [])
    assert [u["reason"] for u in answer["unmatched"]] == ["unreadable_times"]
    assert _snapshot(engine) == before
