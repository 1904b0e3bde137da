"""Hostile input against the enrolment endpoints: learners, enrolments, bulk rosters, the
roster export, a learner's own enrolments and invitations. Every case must answer a clear
4xx problem+json (never 5xx, never a hang) and change no data: every data table's rows
are compared before and after.

Extend ``CASES`` when an endpoint lands (progress batches, the change feed): one row per
hostile request, built from the ``World`` the fixture makes.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel
from starlette.testclient import TestClient

from tests.factories import (
    auth_headers,
    enrol,
    learner_payload,
    make_agency,
    make_learner,
    make_learner_login,
    make_open_cohort,
    make_published_course,
    make_user,
)

SECONDS = 30  # a case answering slower than this is a hang
MiB = 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# bookkeeping, not data: a refused request may leave a throttle or idempotency trace
NOT_DATA = {"idempotency_key", "login_attempt", "refresh_token"}
SQL = ["' OR '1'='1", "1; DROP TABLE learner; --", "x' UNION SELECT password_hash FROM user --"]


@dataclass
class World:
    admin: dict[str, str]
    learner: dict[str, str]  # the learner's own login
    key: str
    cohort: str
    enrollment: str

    @property
    def json_admin(self) -> dict[str, str]:
        return {**self.admin, "Content-Type": "application/json"}


def _world(client: TestClient, session: Session, *, learner_login: bool) -> World:
    agency = make_agency(session)
    admin = auth_headers(make_user(session, agency, "agency_admin"))
    session.rollback()
    key = make_learner(client, admin)["learner_key"]
    course = make_published_course(client, admin)
    cohort = make_open_cohort(client, admin, course["id"])["id"]
    enrollment = enrol(client, admin, cohort, key)["id"]
    learner = make_learner_login(client, admin, key) if learner_login else {}
    return World(admin, learner, key, cohort, enrollment)


def _snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if table.name not in NOT_DATA:
                rows = conn.execute(text(f"SELECT * FROM {table.name}")).all()  # noqa: S608
                found[table.name] = sorted(tuple(str(v) for v in r) for r in rows)
    return found


# --- bodies ----------------------------------------------------------------------------


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


_TYPES = b"""<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
</Types>"""
_RELS = b"""<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
_BOOK = b"""<?xml version="1.0" encoding="UTF-8"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="Peserta" sheetId="1" r:id="rId1"/></sheets></workbook>"""
_BOOK_RELS = b"""<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
</Relationships>"""


def _xlsx(sheet_rows: bytes) -> bytes:
    """A minimal workbook whose one sheet holds ``sheet_rows`` (``<row>`` elements), zipped:
    a million rows stay a few hundred KB."""
    sheet = (
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet '
        b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        + b'<row r="1"><c r="A1" t="inlineStr"><is><t>NIP</t></is></c></row>'
        + sheet_rows
        + b"</sheetData></worksheet>"
    )
    return _zip(
        {
            "[Content_Types].xml": _TYPES,
            "_rels/.rels": _RELS,
            "xl/workbook.xml": _BOOK,
            "xl/_rels/workbook.xml.rels": _BOOK_RELS,
            "xl/worksheets/sheet1.xml": sheet,
        }
    )


def _million_rows() -> bytes:
    return _xlsx(
        b"".join(b'<row r="%d"><c r="A%d"><v>1</v></c></row>' % (n, n) for n in range(2, 1_048_577))
    )


def _blank_rows() -> bytes:
    """A million empty row elements: 2.5 MB zipped, 25 s of openpyxl before the bound."""
    return _xlsx(b"".join(b'<row r="%d"/>' % n for n in range(2, 1_048_577)))


def _blank_lines_csv() -> bytes:
    return b"\n" * (8 * MiB) + b"NIP,Nama\n198001012005011001,A\n"


def _far_row() -> bytes:
    """One data row at the sheet's last row: read_only openpyxl yields every row between."""
    return _xlsx(b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>1</t></is></c></row>')


def _zip_bomb() -> bytes:
    """A sheet inflating to 300 MB from a few hundred KB."""
    return _xlsx(b"<row/>" * (300 * MiB // 6))


def _csv_rows(n: int) -> bytes:
    return b"NIP,Nama\n" + b"".join(b"1980010120050110%02d,P\n" % (i % 100) for i in range(n))


# --- the table -------------------------------------------------------------------------

Request = tuple[str, str, dict[str, Any]]
Case = Callable[[World], Request]


def _json(method: str, url: str, raw: bytes) -> Case:
    return lambda w: (method, url.format(w=w), {"content": raw, "headers": w.json_admin})


BODY_ROUTES = {
    "learner-put": ("PUT", "/v1/learners/198001012005011999"),
    "learner-patch": ("PATCH", "/v1/learners/{w.key}"),
    "enrol": ("POST", "/v1/cohorts/{w.cohort}/enrollments"),
    "transition": ("POST", "/v1/enrollments/{w.enrollment}/transitions"),
    "bulk-json": ("POST", "/v1/cohorts/{w.cohort}/enrollments/bulk"),
    "invitation-accept": ("POST", "/v1/auth/invitations/accept"),
}
VALUES: dict[str, bytes] = {
    "string-1MB": b'"' + b"a" * MiB + b'"',
    "nul-byte": b'"Budi\\u0000Santoso"',
    "lone-surrogate": b'"Budi\\ud800"',
    "raw-lone-surrogate": b'"Budi\xed\xa0\x80"',
    "number-1e309": b"1e309",
    "number-nan": b"NaN",
    "number-2^63": b"9223372036854775808",
    "date-year-1": b'"0001-01-01"',
    "date-9999-offset": b'"9999-12-31T23:59:59+23:59"',
    "sql": b'"\' OR 1=1; DROP TABLE learner; --"',
}


def _field_bodies() -> dict[str, Case]:
    """Each hostile value in each field of each JSON body."""
    cases: dict[str, Case] = {}
    for name, raw in VALUES.items():
        for field in ("name", "birth_date", "rank"):
            template = json.dumps({**learner_payload(), field: "@@"}).encode()
            data = template.replace(b'"@@"', raw)
            cases[f"learner-put-{field}-{name}"] = _json(*BODY_ROUTES["learner-put"], data)
            cases[f"learner-patch-{field}-{name}"] = _json(
                *BODY_ROUTES["learner-patch"], b'{"%s": %s}' % (field.encode(), raw)
            )
        cases[f"enrol-key-{name}"] = _json(*BODY_ROUTES["enrol"], b'{"learner_key": %s}' % raw)
        if not name.startswith(("date", "sql")):  # free text: a date or SQL is a reason
            cases[f"transition-reason-{name}"] = _json(
                *BODY_ROUTES["transition"], b'{"to": "withdrawn", "reason": %s}' % raw
            )
        cases[f"transition-to-{name}"] = _json(*BODY_ROUTES["transition"], b'{"to": %s}' % raw)
        cases[f"bulk-json-nip-{name}"] = _json(*BODY_ROUTES["bulk-json"], b'[{"nip": %s}]' % raw)
        cases[f"invitation-accept-{name}"] = _json(
            *BODY_ROUTES["invitation-accept"],
            b'{"token": %s, "email": %s, "password": %s}' % (raw, raw, raw),
        )
    return cases


def _whole_bodies() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for route, (method, url) in BODY_ROUTES.items():
        cases[f"{route}-11MiB"] = _json(method, url, b'{"name": "' + b"a" * (11 * MiB) + b'"}')
        cases[f"{route}-nested-10000"] = _json(method, url, _nested(10_000))
        cases[f"{route}-nested-objects-10000"] = _json(
            method, url, b'{"a":' * 10_000 + b"1" + b"}" * 10_000
        )
    return cases


def _roster(body: Callable[[], bytes], media: str) -> Case:
    return lambda w: (
        "POST",
        f"/v1/cohorts/{w.cohort}/enrollments/bulk",
        {"content": body(), "headers": {**w.admin, "Content-Type": media}},
    )


def _get(url: str, who: str = "admin", **headers: str) -> Case:
    return lambda w: ("GET", url.format(w=w), {"headers": {**getattr(w, who), **headers}})


def _query_cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    lists = {
        "learners": "/v1/learners",
        "roster": "/v1/cohorts/{w.cohort}/enrollments",
        "learner-enrollments": "/v1/learners/{w.key}/enrollments",
        "history": "/v1/enrollments/{w.enrollment}/history",
    }
    filters = {"learners": ["agency", "asn_type", "position_type", "rank"], "roster": ["status"]}
    filters["learner-enrollments"] = ["status"]
    for name, url in lists.items():
        for i, fragment in enumerate(SQL):
            for param in [*filters.get(name, []), "cursor", "limit", "sort", "order"]:
                cases[f"{name}-{param}-sql{i}"] = _get(f"{url}?{param}={_quote(fragment)}")
        for n, number in enumerate(["1e309", "NaN", "9223372036854775808", "-1", "0x10"]):
            cases[f"{name}-limit-number{n}"] = _get(f"{url}?limit={number}")
        cases[f"{name}-duplicate-limit"] = _get(f"{url}?limit=1&limit=2")
        cases[f"{name}-duplicate-cursor"] = _get(f"{url}?cursor=abc&cursor=def")
    cases["learners-duplicate-q"] = _get("/v1/learners?q=a&q=b")
    cases["roster-duplicate-status"] = _get(
        "/v1/cohorts/{w.cohort}/enrollments?status=proposed&status=withdrawn"
    )
    for i, fragment in enumerate(SQL):
        cases[f"me-enrollments-status-sql{i}"] = _get(
            f"/v1/me/enrollments?status={_quote(fragment)}", "learner"
        )
    cases["me-enrollments-duplicate-limit"] = _get("/v1/me/enrollments?limit=1&limit=2", "learner")
    cases["export-csv-duplicate-status"] = _get(
        "/v1/cohorts/{w.cohort}/enrollments?status=proposed&status=active", Accept="text/csv"
    )
    cases["export-xlsx-cursor-sql"] = _get(
        f"/v1/cohorts/{{w.cohort}}/enrollments?cursor={_quote(SQL[0])}", Accept=XLSX
    )
    cases["bulk-duplicate-dry-run"] = lambda w: (
        "POST",
        f"/v1/cohorts/{w.cohort}/enrollments/bulk?dry_run=true&dry_run=false",
        {"json": [{"nip": "198001012005011999"}], "headers": w.admin},
    )
    cases["bulk-duplicate-mode"] = lambda w: (
        "POST",
        f"/v1/cohorts/{w.cohort}/enrollments/bulk?mode=partial&mode=all_or_nothing&dry_run=true",
        {"json": [{"nip": "198001012005011999"}], "headers": w.admin},
    )
    return cases


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def _path_cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    ids = ["../../etc/passwd", "..%2f..%2fetc%2fpasswd", "%2e%2e%2f%2e%2e%2fetc", "..\\..\\x"]
    ids += ["%00", "' OR '1'='1", "enr_" + "9" * 5000]
    for n, ident in enumerate(ids):
        cases[f"learner-get-path{n}"] = _get(f"/v1/learners/{ident}")
        cases[f"enrollment-get-path{n}"] = _get(f"/v1/enrollments/{ident}")
        cases[f"history-path{n}"] = _get(f"/v1/enrollments/{ident}/history")
        cases[f"roster-path{n}"] = _get(f"/v1/cohorts/{ident}/enrollments")
        cases[f"transition-path{n}"] = lambda w, i=ident: (
            "POST",
            f"/v1/enrollments/{i}/transitions",
            {"json": {"to": "withdrawn", "reason": "x"}, "headers": w.admin},
        )
        cases[f"invite-path{n}"] = lambda w, i=ident: (
            "POST",
            f"/v1/learners/{i}/invitations",
            {"headers": w.admin},
        )
        cases[f"learner-put-path{n}"] = lambda w, i=ident: (
            "PUT",
            f"/v1/learners/{i}",
            {"json": learner_payload(), "headers": w.admin},
        )
    return cases


def _header_cases() -> dict[str, Case]:
    long_key = "k" * 10_000
    return {
        "enrol-idempotency-key-10000": lambda w: (
            "POST",
            f"/v1/cohorts/{w.cohort}/enrollments",
            {
                "json": {"learner_key": "198001012005011999", "learner": learner_payload()},
                "headers": {**w.admin, "Idempotency-Key": long_key},
            },
        ),
        "bulk-idempotency-key-10000": lambda w: (
            "POST",
            f"/v1/cohorts/{w.cohort}/enrollments/bulk",
            {
                "content": _csv_rows(1),
                "headers": {**w.admin, "Content-Type": "text/csv", "Idempotency-Key": long_key},
            },
        ),
        "learner-put-if-match-10000": lambda w: (
            "PUT",
            f"/v1/learners/{w.key}",
            {"json": learner_payload(), "headers": {**w.admin, "If-Match": '"' + long_key + '"'}},
        ),
    }


CASES: dict[str, Case] = {
    **_whole_bodies(),
    **_field_bodies(),
    **_query_cases(),
    **_path_cases(),
    **_header_cases(),
    "csv-invalid-utf8": _roster(
        lambda: b"NIP,Nama\n198001012005011001,\xff\xfe\xc3(\n", "text/csv"
    ),
    "csv-10001-rows": _roster(lambda: _csv_rows(10_001), "text/csv"),
    "csv-5MB-cell": _roster(
        lambda: b"NIP,Nama\n198001012005011001," + b"a" * (5 * MiB) + b"\n", "text/csv"
    ),
    "csv-5MB-quoted-cell": _roster(
        lambda: b'NIP,Nama\n198001012005011001,"' + b"a" * (5 * MiB) + b'"\n', "text/csv"
    ),
    "csv-nul-bytes": _roster(lambda: b"NIP,Nama\n19800101\x002005011001,A\x00\n", "text/csv"),
    "xlsx-zip-bomb": _roster(_zip_bomb, XLSX),
    "xlsx-1048576-rows": _roster(_million_rows, XLSX),
    "xlsx-row-1048576-only": _roster(_far_row, XLSX),
    "xlsx-1048576-blank-rows": _roster(_blank_rows, XLSX),
    "csv-8M-blank-lines-before-header": _roster(_blank_lines_csv, "text/csv"),
}


def _group(name: str) -> str:
    """Cases run in groups sharing one world (a world costs a second on a busy machine)."""
    for prefix in ("learner-put", "learner-patch", "learner-get", "csv", "xlsx"):
        if name.startswith(prefix):
            return prefix
    return name.split("-")[0]


GROUPS = sorted({_group(n) for n in CASES})


def _failure(name: str, case: Case, w: World, client: TestClient, engine: Engine) -> str | None:
    method, url, kwargs = case(w)
    before = _snapshot(engine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(client.request, method, url, **kwargs)
        try:
            answer = future.result(timeout=SECONDS)
        except TimeoutError:
            return f"{name}: no answer in {SECONDS} s"
    if not 400 <= answer.status_code < 500:
        return f"{name}: {answer.status_code} {answer.text[:200]}"
    if answer.headers["content-type"] != "application/problem+json":
        return f"{name}: not problem+json: {answer.text[:200]}"
    problem = answer.json()
    if not (problem["status"] == answer.status_code and problem["code"] and problem["detail"]):
        return f"{name}: incomplete problem {problem}"
    if _snapshot(engine) != before:
        return f"{name}: changed the data"
    return None


@pytest.mark.parametrize("group", GROUPS)
def test_hostile_input_is_a_clear_4xx_and_changes_nothing(
    group: str, client: TestClient, session: Session, engine: Engine
) -> None:
    w = _world(client, session, learner_login=group == "me")
    failures = [
        found
        for name in sorted(CASES)
        if _group(name) == group
        and (found := _failure(name, CASES[name], w, client, engine)) is not None
    ]
    assert failures == []


@pytest.mark.parametrize("fragment", SQL)
def test_sql_in_the_search_filter_is_only_text(
    fragment: str, client: TestClient, session: Session
) -> None:
    """``q`` is free text: a SQL fragment is a search that finds nobody, not a query."""
    world = _world(client, session, learner_login=False)
    got = client.get("/v1/learners", params={"q": fragment}, headers=world.admin)
    assert got.status_code == 200, got.text
    assert got.json()["items"] == []
    everyone = client.get("/v1/learners", headers=world.admin).json()["items"]
    assert [x["learner_key"] for x in everyone] == [world.key]
