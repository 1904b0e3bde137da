"""Every list, read and filter answers the same visibility rule, for every kind of caller.

Agency A owns a published, a draft and an archived course (agency P is named
as a partner on each). The published course has one cohort in each status, each
in its own year, so ``?year=`` asks about exactly one cohort; the archived course
keeps an open cohort. Each caller then asks every surface about every row; a
change to the rule in one place only (say, showing cancelled cohorts in the
list but not in the single read) fails here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from sqlalchemy import update
from sqlmodel import Session
from starlette.testclient import TestClient

from app.models import Cohort
from app.models.cohort import CohortStatus
from tests.factories import (
    auth_headers,
    course_payload,
    make_agency,
    make_cohort,
    make_published_course,
    make_user,
)

CALLERS = ("anonymous", "owner viewer", "partner agency", "other agency", "platform admin")
SEES_ALL = {"owner viewer", "platform admin"}
PUBLIC_COHORTS = {s for s in CohortStatus if s not in (CohortStatus.draft, CohortStatus.cancelled)}


@dataclass
class World:
    headers: dict[str, dict[str, str]]
    courses: dict[str, str] = field(default_factory=dict)  # course status -> id
    cohorts: dict[str, tuple[str, str, int]] = field(default_factory=dict)  # label -> ids, year


@pytest.fixture
def world(client: TestClient, session: Session) -> World:
    a, partner, other, root = (make_agency(session) for _ in range(4))
    admin = auth_headers(make_user(session, a, "agency_admin"))
    w = World(
        headers={
            "anonymous": {},
            "owner viewer": auth_headers(make_user(session, a, "viewer")),
            "partner agency": auth_headers(make_user(session, partner, "agency_admin")),
            "other agency": auth_headers(make_user(session, other, "agency_admin")),
            "platform admin": auth_headers(make_user(session, root, "platform_admin")),
        }
    )
    partners = {"partner_agency_ids": [partner.id]}
    published = make_published_course(client, admin, **partners)
    archived = make_published_course(client, admin, **partners)
    draft = client.post("/v1/courses", json=course_payload(**partners), headers=admin).json()
    w.courses = {"published": published["id"], "archived": archived["id"], "draft": draft["id"]}
    statuses: dict[str, CohortStatus] = {}
    for i, status in enumerate(CohortStatus):
        made = make_cohort(client, admin, published["id"], number=i + 1, year=2030 + i)
        w.cohorts[f"published/{status.value}"] = (published["id"], made["id"], 2030 + i)
        statuses[made["id"]] = status
    made = make_cohort(client, admin, archived["id"], year=2040)
    w.cohorts["archived/open"] = (archived["id"], made["id"], 2040)
    statuses[made["id"]] = CohortStatus.open
    for cohort_id, status in statuses.items():  # straight to each status: only visibility counts
        session.execute(update(Cohort).where(Cohort.id == cohort_id).values(status=status))  # type: ignore[arg-type]
    session.commit()
    r = client.patch(f"/v1/courses/{archived['id']}", json={"status": "archived"}, headers=admin)
    assert r.status_code == 200, r.text
    return w


def _cohort_expected(caller: str, label: str) -> bool:
    course_status, status = label.split("/")
    if caller in SEES_ALL:
        return True
    return course_status == "published" and CohortStatus(status) in PUBLIC_COHORTS


@pytest.mark.parametrize("caller", CALLERS)
def test_courses_by_status_are_seen_alike_by_list_read_and_curricula(
    client: TestClient, world: World, caller: str
) -> None:
    headers = world.headers[caller]
    listed = {c["id"] for c in client.get("/v1/courses?limit=200", headers=headers).json()["items"]}
    for status, course_id in world.courses.items():
        expected = status == "published" or caller in SEES_ALL
        assert (course_id in listed) is expected, (caller, status, "list")
        read = client.get(f"/v1/courses/{course_id}", headers=headers)
        assert read.status_code == (200 if expected else 404), (caller, status, "read")
        curricula = client.get(f"/v1/courses/{course_id}/curricula", headers=headers)
        assert curricula.status_code == (200 if expected else 404), (caller, status, "curricula")


@pytest.mark.parametrize("caller", CALLERS)
def test_cohorts_by_status_are_seen_alike_by_list_read_sessions_and_filters(
    client: TestClient, world: World, caller: str
) -> None:
    headers = world.headers[caller]
    listed = {h["id"] for h in client.get("/v1/cohorts?limit=200", headers=headers).json()["items"]}
    for label, (course_id, cohort_id, year) in world.cohorts.items():
        expected = _cohort_expected(caller, label)
        where = (caller, label)
        assert (cohort_id in listed) is expected, (*where, "cohort list")
        read = client.get(f"/v1/cohorts/{cohort_id}", headers=headers)
        assert read.status_code == (200 if expected else 404), (*where, "cohort read")
        sessions = client.get(f"/v1/cohorts/{cohort_id}/sessions", headers=headers)
        assert sessions.status_code == (200 if expected else 404), (*where, "sessions")
        by_year = client.get(f"/v1/cohorts?year={year}", headers=headers).json()["items"]
        assert (cohort_id in {h["id"] for h in by_year}) is expected, (*where, "cohort ?year")
        courses = client.get(f"/v1/courses?year={year}", headers=headers).json()["items"]
        found = {c["id"] for c in courses}
        assert (course_id in found) is expected, (*where, "course ?year")


@pytest.mark.parametrize("caller", CALLERS)
def test_has_open_cohort_counts_only_cohorts_the_caller_may_see(
    client: TestClient, world: World, caller: str
) -> None:
    headers = world.headers[caller]
    with_open = client.get("/v1/courses?has_open_cohort=true&limit=200", headers=headers).json()
    without = client.get("/v1/courses?has_open_cohort=false&limit=200", headers=headers).json()
    with_ids = {c["id"] for c in with_open["items"]}
    without_ids = {c["id"] for c in without["items"]}
    assert world.courses["published"] in with_ids
    assert world.courses["published"] not in without_ids
    # the archived course keeps an open cohort: only those who see the course see it
    assert (world.courses["archived"] in with_ids) is (caller in SEES_ALL), caller
    assert world.courses["archived"] not in without_ids
    # the draft course has no cohort at all
    assert (world.courses["draft"] in without_ids) is (caller in SEES_ALL), caller
    assert world.courses["draft"] not in with_ids


def test_mode_filter_matches_the_modes_the_course_shows(
    client: TestClient, session: Session
) -> None:
    """``?mode=`` asks about the latest published curriculum, the one ``modes`` shows."""
    agency = make_agency(session)
    headers = auth_headers(make_user(session, agency, "agency_admin"))
    course = make_published_course(client, headers)  # version 1: self_paced + classroom
    base = f"/v1/courses/{course['id']}/curricula"
    online = {"modules": [{"title": "Daring", "jp": 10, "mode": "synchronous_virtual"}]}
    assert client.post(base, json=online, headers=headers).status_code == 201
    assert client.post(f"{base}/2/publish", headers=headers).status_code == 200
    assert client.post(base, json={"modules": [{"title": "Kelas", "jp": 10,
                                                "mode": "actualization"}]},
                       headers=headers).status_code == 201  # fmt: skip
    shown = client.get(f"/v1/courses/{course['id']}").json()["modes"]
    assert shown == ["synchronous_virtual"]
    for mode in ("self_paced", "classroom", "synchronous_virtual", "actualization"):
        for who in ({}, headers):
            found = client.get("/v1/courses", params={"mode": mode}, headers=who).json()["items"]
            assert (course["id"] in {c["id"] for c in found}) is (mode in shown), (mode, who)
