"""``updated_since`` on the lists beyond the catalogue and rosters (tests/test_updated_since.py):
agencies, users, clients, a cohort's sessions, a course's curricula, certificates, a
session's attendance, a learner's JP records, an enrolment's history.

Each list gets the same three checks: a row updated exactly at the instant is listed and
one a microsecond before is not; rows with the same updated_at come in id order, one per
page, none twice or missing; a value that is not an RFC 3339 instant is a 422. A change
made through the API then shows the service moved updated_at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, SQLModel, col, select

from app.models import (
    Agency,
    Attendance,
    Certificate,
    Client,
    CohortSession,
    Curriculum,
    JPRecord,
    User,
)
from app.models.enrollment import EnrollmentEvent
from tests.factories import (
    auth_headers,
    course_payload,
    enrol,
    make_agency,
    make_learner,
    make_learner_login,
    make_open_cohort,
    make_published_course,
    make_user,
    module,
)
from tests.factories_attendance import add_session, attendance_setup
from tests.factories_certificates import evaluated_cohort, issued
from tests.factories_jpledger import external

AT = datetime(2030, 3, 1, 1, 2, 3, 456789, tzinfo=UTC)  # after every row the test makes
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
TICK = timedelta(microseconds=1)


@dataclass
class Listed:
    """A list with at least three rows: its URL, who reads it, the table behind it, the
    rows' ids (``keys``: how an item names its row, when not by ``id``)."""

    path: str
    headers: dict[str, str]
    model: type[SQLModel]
    ids: list[str]
    touch: Callable[[TestClient], str]  # changes one row through the API; answers its key
    item_key: str = "id"
    stamp: str = "updated_at"  # the column updated_since reads
    keys: dict[str, str] | None = None  # row id -> the item's key, when they differ


def _admin(session: Session) -> tuple[Agency, dict[str, str]]:
    agency = make_agency(session)
    headers = auth_headers(make_user(session, agency, "agency_admin"))
    session.commit()
    return agency, headers


def agencies(client: TestClient, session: Session) -> Listed:
    root = auth_headers(make_user(session, make_agency(session), "platform_admin"))
    ids = [make_agency(session).id for _ in range(3)]
    session.commit()

    def touch(c: TestClient) -> str:
        got = c.patch(f"/v1/agencies/{ids[0]}", json={"name": "BKPSDM Baru"}, headers=root)
        assert got.status_code == 200, got.text
        return ids[0]

    return Listed("/v1/agencies", root, Agency, ids, touch)


def users(client: TestClient, session: Session) -> Listed:
    agency, admin = _admin(session)
    ids = [make_user(session, agency, "viewer").id for _ in range(3)]
    session.commit()

    def touch(c: TestClient) -> str:
        got = c.patch(f"/v1/users/{ids[1]}", json={"full_name": "Siti Aminah"}, headers=admin)
        assert got.status_code == 200, got.text
        return ids[1]

    return Listed("/v1/users", admin, User, ids, touch)


def clients(client: TestClient, session: Session) -> Listed:
    _agency, admin = _admin(session)
    body = {"name": "ASN Berpijar", "scopes": ["catalog:read"]}
    ids = [client.post("/v1/clients", json=body, headers=admin).json()["client_id"] for _ in "abc"]

    def touch(c: TestClient) -> str:
        got = c.patch(f"/v1/clients/{ids[2]}", json={"name": "LMS Baru"}, headers=admin)
        assert got.status_code == 200, got.text
        return ids[2]

    return Listed("/v1/clients", admin, Client, ids, touch, item_key="client_id")


def sessions(client: TestClient, session: Session) -> Listed:
    _agency, admin = _admin(session)
    course = make_published_course(client, admin)
    cohort = make_open_cohort(client, admin, course["id"])
    ids = [
        add_session(client, admin, cohort["id"], f"2025-05-1{d}T08:00:00+07:00",
                    f"2025-05-1{d}T09:30:00+07:00")["id"]
        for d in (4, 5, 6)
    ]  # fmt: skip
    base = f"/v1/cohorts/{cohort['id']}/sessions"

    def touch(c: TestClient) -> str:
        etag = c.get(f"{base}/{ids[0]}", headers=admin).headers["ETag"]
        got = c.patch(
            f"{base}/{ids[0]}", json={"location": "Aula"}, headers=admin | {"If-Match": etag}
        )
        assert got.status_code == 200, got.text
        return ids[0]

    return Listed(base, admin, CohortSession, ids, touch)


def curricula(client: TestClient, session: Session) -> Listed:
    _agency, admin = _admin(session)
    course = client.post("/v1/courses", json=course_payload(total_jp=10), headers=admin).json()
    base = f"/v1/courses/{course['id']}/curricula"
    for _ in range(3):
        made = client.post(base, json={"modules": [module(10)]}, headers=admin)
        assert made.status_code == 201, made.text
        assert client.post(f"{base}/{made.json()['version']}/publish", headers=admin).is_success
    ids = [i["id"] for i in client.get(base, headers=admin).json()["items"]]
    draft = client.post(base, json={}, headers=admin).json()

    def touch(c: TestClient) -> str:
        url = f"{base}/{draft['version']}"
        etag = c.get(url, headers=admin).headers["ETag"]
        got = c.patch(url, json={"modules": [module(4)]}, headers=admin | {"If-Match": etag})
        assert got.status_code == 200, got.text
        return str(draft["id"])

    return Listed(base, admin, Curriculum, ids + [draft["id"]], touch)


def certificates(client: TestClient, session: Session) -> Listed:
    _agency, admin = _admin(session)
    cohort = evaluated_cohort(client, session, admin, passed=3).cohort
    ids = [c["id"] for c in issued(client, admin, cohort["id"])]

    def touch(c: TestClient) -> str:
        got = c.post(f"/v1/certificates/{ids[1]}/revoke", json={"reason": "Data salah"},
                     headers=admin)  # fmt: skip
        assert got.status_code == 200, got.text
        return ids[1]

    return Listed(f"/v1/cohorts/{cohort['id']}/certificates", admin, Certificate, ids, touch)


def attendance(client: TestClient, session: Session) -> Listed:
    names = {s: {"name": f"Peserta {s}"} for s in ("a", "b", "c")}
    ctx = attendance_setup(client, session, learners=names)
    for short in names:
        put = client.put(f"{ctx['url']}/{ctx['enrollments'][short]['id']}",
                         json={"status": "present"}, headers=ctx["headers"])  # fmt: skip
        assert put.status_code in (200, 201), put.text
    session.expire_all()
    rows = session.exec(
        select(Attendance).where(col(Attendance.session_id) == ctx["session"]["id"])
    ).all()
    keys = {r.id: r.enrollment_id for r in rows}

    def touch(c: TestClient) -> str:
        enrollment = ctx["enrollments"]["b"]["id"]
        got = c.put(f"{ctx['url']}/{enrollment}", json={"status": "late"}, headers=ctx["headers"])
        assert got.status_code == 200, got.text
        return str(enrollment)

    return Listed(
        ctx["url"], ctx["headers"], Attendance, list(keys), touch, "enrollment_id", keys=keys
    )


def jp_records(client: TestClient, session: Session) -> Listed:
    _agency, admin = _admin(session)
    key = make_learner(client, admin)["learner_key"]
    base = f"/v1/learners/{key}/jp-records"
    ids = [client.post(base, json=external(), headers=admin).json()["id"] for _ in range(3)]

    def touch(c: TestClient) -> str:
        etag = c.get(f"{base}/{ids[2]}", headers=admin).headers["ETag"]
        got = c.patch(f"{base}/{ids[2]}", json={"jp": 3}, headers=admin | {"If-Match": etag})
        assert got.status_code == 200, got.text
        return ids[2]

    return Listed(base, admin, JPRecord, ids, touch)


def history(client: TestClient, session: Session) -> Listed:
    _agency, admin = _admin(session)
    course = make_published_course(client, admin)
    cohort = make_open_cohort(client, admin, course["id"])
    made = enrol(client, admin, cohort["id"], make_learner(client, admin)["learner_key"])
    base = f"/v1/enrollments/{made['id']}"
    for step in ("verified", "active"):
        moved = client.post(f"{base}/transitions", json={"to": step}, headers=admin)
        assert moved.status_code == 200, moved.text
    session.expire_all()
    events = session.exec(
        select(EnrollmentEvent).where(col(EnrollmentEvent.enrollment_id) == made["id"])
    ).all()
    keys = {e.id: str(e.seq) for e in events}

    def touch(c: TestClient) -> str:
        moved = c.post(f"{base}/transitions", json={"to": "withdrawn", "reason": "Mutasi"},
                       headers=admin)  # fmt: skip
        assert moved.status_code == 200, moved.text
        return str(len(keys) + 1)

    return Listed(f"{base}/history", admin, EnrollmentEvent, list(keys), touch, "seq", "at", keys)


BUILDERS = [
    agencies,
    users,
    clients,
    sessions,
    curricula,
    certificates,
    attendance,
    jp_records,
    history,
]


def _stamp(session: Session, listed: Listed, when: dict[str, datetime]) -> None:
    """Set the rows' updated_at (or ``at``) in the database: the test needs exact ties.
    Rows not in ``when`` get a day long ago."""
    pk: Any = listed.model.id  # type: ignore[attr-defined]
    for row in session.exec(select(listed.model).where(pk.in_(listed.ids))):
        setattr(row, listed.stamp, when.get(row.id, LONG_AGO))  # type: ignore[attr-defined]
        session.add(row)
    session.commit()


def _walk(client: TestClient, listed: Listed, since: datetime) -> list[dict[str, Any]]:
    """Every item changed since ``since``, one per page, following ``Link`` as a client does."""
    items: list[dict[str, Any]] = []
    url: str | None = listed.path
    params: dict[str, str] | None = {"updated_since": since.isoformat(), "limit": "1"}
    while url:
        got = client.get(url, params=params, headers=listed.headers)
        assert got.status_code == 200, got.text
        items += got.json()["items"]
        assert len(items) < 20, "the pages do not end"
        url, params = got.links.get("next", {}).get("url"), None
        assert bool(url) == bool(got.json()["next_cursor"])
    return items


def _key(listed: Listed, row_id: str) -> str:
    return (listed.keys or {}).get(row_id, row_id)


@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: b.__name__)
def test_updated_since_boundary_ties_and_pages(
    client: TestClient, session: Session, build: Callable[..., Listed]
) -> None:
    listed = build(client, session)
    first, second, before = sorted(listed.ids)[:3]
    _stamp(session, listed, {first: AT, second: AT, before: AT - TICK})
    at = _walk(client, listed, AT)
    # exactly at the instant: listed; ties in id order across pages
    assert [str(i[listed.item_key]) for i in at] == [_key(listed, first), _key(listed, second)]
    earlier = _walk(client, listed, AT - TICK)
    assert [str(i[listed.item_key]) for i in earlier] == [
        _key(listed, r) for r in (before, first, second)
    ]
    assert _walk(client, listed, AT + TICK) == []
    # the same instant written in another zone is the same instant
    wita = AT.astimezone(ZoneInfo("Asia/Makassar")).isoformat()
    got = client.get(listed.path, params={"updated_since": wita}, headers=listed.headers)
    assert len(got.json()["items"]) == 2


@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: b.__name__)
def test_a_change_through_the_api_is_listed_after_it(
    client: TestClient, session: Session, build: Callable[..., Listed]
) -> None:
    listed = build(client, session)
    _stamp(session, listed, {})  # every row long ago
    since = datetime.now(UTC)
    changed = listed.touch(client)
    got = client.get(
        listed.path, params={"updated_since": since.isoformat()}, headers=listed.headers
    )
    assert got.status_code == 200, got.text
    assert [str(i[listed.item_key]) for i in got.json()["items"]] == [changed]


@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: b.__name__)
def test_updated_since_is_an_rfc3339_instant_or_422(
    client: TestClient, session: Session, build: Callable[..., Listed]
) -> None:
    listed = build(client, session)
    for bad in ("2025-05-14T08:00:00", "kemarin", "0", "2025-02-30T08:00:00Z"):
        got = client.get(listed.path, params={"updated_since": bad}, headers=listed.headers)
        assert got.status_code == 422, (bad, got.text)
        assert got.json()["errors"][0]["loc"] == ["query", "updated_since"]
    # a cursor of the usual order does not continue an updated_since walk
    usual = client.get(listed.path, params={"limit": "1"}, headers=listed.headers).json()
    got = client.get(
        listed.path,
        params={"updated_since": AT.isoformat(), "cursor": usual["next_cursor"]},
        headers=listed.headers,
    )
    assert got.status_code == 422 and got.json()["code"] == "invalid_cursor", got.text


def test_a_transferred_learner_login_is_listed_to_its_new_agency_since_the_move(
    client: TestClient, session: Session
) -> None:
    _old, admin = _admin(session)
    new_agency, new_admin = _admin(session)
    key = make_learner(client, admin)["learner_key"]
    make_learner_login(client, admin, key, email="pindah.lagi@mail.example")
    since = datetime.now(UTC)
    released = client.post(
        f"/v1/learners/{key}/release", json={"to_agency_id": new_agency.id}, headers=admin
    )
    assert released.status_code == 200, released.text
    moved = client.post(f"/v1/learners/{key}/transfer", json={}, headers=new_admin)
    assert moved.status_code == 200, moved.text
    got = client.get("/v1/users", params={"updated_since": since.isoformat()}, headers=new_admin)
    assert [u["email"] for u in got.json()["items"]] == ["pindah.lagi@mail.example"]
