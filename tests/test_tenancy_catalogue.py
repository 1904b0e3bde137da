"""Agency isolation across the whole catalogue: every agency-owned route, one table.

Agency A builds a catalogue (draft and published courses, draft and published
curriculum versions, a draft and an open cohort, sessions). An admin of agency B
then tries every route on each of A's objects: reads of drafts and every write
answer 404 (never 403), and A's objects are byte-for-byte unchanged afterwards.
A last check makes sure this table names every agency-owned route the app has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from app.main import create_app
from tests.factories import (
    auth_headers,
    course_payload,
    make_agency,
    make_cohort,
    make_published_course,
    make_user,
    module,
)

SESSION = {"mode": "classroom", "jp": 2,
           "starts_at": "2025-05-14T08:00:00+07:00", "ends_at": "2025-05-14T10:00:00+07:00"}  # fmt: skip


@dataclass
class Catalogue:
    a_headers: dict[str, str]
    b_headers: dict[str, str]
    b_viewer: dict[str, str]
    a_slug: str
    draft_course: str
    published_course: str
    draft_cohort: str
    open_cohort: str
    draft_session: str
    open_session: str
    b_cohort: str


@pytest.fixture
def cat(client: TestClient, session: Session) -> Catalogue:
    a, b = make_agency(session), make_agency(session)
    ah = auth_headers(make_user(session, a, "agency_admin"))
    bh = auth_headers(make_user(session, b, "agency_admin"))
    bv = auth_headers(make_user(session, b, "viewer"))
    draft = client.post("/v1/courses", json=course_payload(total_jp=4), headers=ah).json()
    client.post(f"/v1/courses/{draft['id']}/curricula", json={"modules": [module(4)]}, headers=ah)
    pub = make_published_course(client, ah)
    client.post(f"/v1/courses/{pub['id']}/curricula", json={}, headers=ah)  # draft version 2
    draft_cohort = make_cohort(client, ah, pub["id"], number=1)
    open_cohort = make_cohort(client, ah, pub["id"], number=2)
    opened = client.post(
        f"/v1/cohorts/{open_cohort['id']}/transitions", json={"to": "open"}, headers=ah
    )
    assert opened.status_code == 200, opened.text
    sessions = []
    for cohort in (draft_cohort, open_cohort):
        r = client.post(f"/v1/cohorts/{cohort['id']}/sessions", json=SESSION, headers=ah)
        assert r.status_code == 201, r.text
        sessions.append(r.json()["id"])
    b_course = make_published_course(client, bh)
    b_cohort = make_cohort(client, bh, b_course["id"])
    return Catalogue(ah, bh, bv, a.slug, draft["id"], pub["id"], draft_cohort["id"],
                     open_cohort["id"], sessions[0], sessions[1], b_cohort["id"])  # fmt: skip


def _snapshot(client: TestClient, c: Catalogue) -> dict[str, Any]:
    """Everything agency A can read about its catalogue, as A sees it."""
    paths = [
        f"/v1/courses/{c.draft_course}",
        f"/v1/courses/{c.published_course}",
        f"/v1/courses/{c.draft_course}/curricula",
        f"/v1/courses/{c.published_course}/curricula",
        f"/v1/cohorts/{c.draft_cohort}",
        f"/v1/cohorts/{c.open_cohort}",
        f"/v1/cohorts/{c.draft_cohort}/sessions",
        f"/v1/cohorts/{c.open_cohort}/sessions",
        "/v1/courses?limit=200",
        "/v1/cohorts?limit=200",
    ]
    out = {}
    for path in paths:
        r = client.get(path, headers=c.a_headers)
        assert r.status_code == 200, (path, r.text)
        out[path] = (r.json(), r.headers.get("ETag"))
    return out


# (method, route template, which of A's objects, body): every write an agency can make
# on the catalogue, and the reads of objects only A may see.
def _attacks(c: Catalogue) -> list[tuple[str, str, str, Any]]:
    dc, pc, dh, oh = c.draft_course, c.published_course, c.draft_cohort, c.open_cohort
    course_writes = []
    for course in (dc, pc):
        course_writes += [
            ("PATCH", "/v1/courses/{course_id}", f"/v1/courses/{course}", {"title": "Diambil alih"}),
            ("DELETE", "/v1/courses/{course_id}", f"/v1/courses/{course}", None),
            ("POST", "/v1/courses/{course_id}/curricula", f"/v1/courses/{course}/curricula", {}),
            ("PATCH", "/v1/courses/{course_id}/curricula/{version}",
             f"/v1/courses/{course}/curricula/{1 if course == dc else 2}",
             {"modules": [module(4)]}),
            ("POST", "/v1/courses/{course_id}/curricula/{version}/publish",
             f"/v1/courses/{course}/curricula/{1 if course == dc else 2}/publish", None),
            ("POST", "/v1/cohorts", "/v1/cohorts",
             {"course_id": course, "number": 9, "year": 2025,
              "starts_on": "2025-06-01", "ends_on": "2025-06-02"}),
        ]  # fmt: skip
    cohort_writes = []
    for cohort, sid in ((dh, c.draft_session), (oh, c.open_session)):
        cohort_writes += [
            ("PATCH", "/v1/cohorts/{cohort_id}", f"/v1/cohorts/{cohort}", {"capacity": 1}),
            ("POST", "/v1/cohorts/{cohort_id}/transitions",
             f"/v1/cohorts/{cohort}/transitions", {"to": "cancelled"}),
            ("POST", "/v1/cohorts/{cohort_id}/sessions", f"/v1/cohorts/{cohort}/sessions",
             {**SESSION, "starts_at": "2025-05-15T08:00:00+07:00",
              "ends_at": "2025-05-15T10:00:00+07:00"}),
            ("PATCH", "/v1/cohorts/{cohort_id}/sessions/{session_id}",
             f"/v1/cohorts/{cohort}/sessions/{sid}", {"location": "Ruang B"}),
            ("DELETE", "/v1/cohorts/{cohort_id}/sessions/{session_id}",
             f"/v1/cohorts/{cohort}/sessions/{sid}", None),
            # A's session addressed through B's own cohort
            ("PATCH", "/v1/cohorts/{cohort_id}/sessions/{session_id}",
             f"/v1/cohorts/{c.b_cohort}/sessions/{sid}", {"location": "Ruang B"}),
            ("DELETE", "/v1/cohorts/{cohort_id}/sessions/{session_id}",
             f"/v1/cohorts/{c.b_cohort}/sessions/{sid}", None),
            ("POST", "/v1/cohorts/{cohort_id}/evaluate", f"/v1/cohorts/{cohort}/evaluate", None),
            # the evaluation preview is the organiser's, even of a public cohort
            ("GET", "/v1/cohorts/{cohort_id}/evaluation", f"/v1/cohorts/{cohort}/evaluation",
             None),
        ]  # fmt: skip
    draft_reads = [
        ("GET", "/v1/courses/{course_id}", f"/v1/courses/{dc}", None),
        ("GET", "/v1/courses/{course_id}/curricula", f"/v1/courses/{dc}/curricula", None),
        ("GET", "/v1/courses/{course_id}/curricula/{version}", f"/v1/courses/{dc}/curricula/1",
         None),
        ("GET", "/v1/courses/{course_id}/curricula/{version}", f"/v1/courses/{pc}/curricula/2",
         None),
        ("GET", "/v1/cohorts/{cohort_id}", f"/v1/cohorts/{dh}", None),
        ("GET", "/v1/cohorts/{cohort_id}/sessions", f"/v1/cohorts/{dh}/sessions", None),
        ("GET", "/v1/cohorts/{cohort_id}/sessions/{session_id}",
         f"/v1/cohorts/{dh}/sessions/{c.draft_session}", None),
        ("GET", "/v1/cohorts/{cohort_id}/sessions/{session_id}",
         f"/v1/cohorts/{c.b_cohort}/sessions/{c.open_session}", None),
        # rosters: a draft cohort is hidden; an open one has none of B's learners
        ("GET", "/v1/cohorts/{cohort_id}/enrollments", f"/v1/cohorts/{dh}/enrollments", None),
        ("GET", "/v1/cohorts/{cohort_id}/enrollments", f"/v1/cohorts/{oh}/enrollments", None),
        ("POST", "/v1/cohorts/{cohort_id}/enrollments", f"/v1/cohorts/{dh}/enrollments",
         {"learner_key": "198001012005011001"}),
        ("POST", "/v1/cohorts/{cohort_id}/enrollments", f"/v1/cohorts/{oh}/enrollments",
         {"learner_key": "198001012005011001"}),
        # bulk into an open cohort: each row naming A's learner is learner_not_found
        # (tests/test_bulk_enrollment.py); a hidden cohort is 404 as a whole
        ("POST", "/v1/cohorts/{cohort_id}/enrollments/bulk",
         f"/v1/cohorts/{dh}/enrollments/bulk", [{"nip": "198001012005011001"}]),
        # certificates: issuing is the organiser's; a hidden cohort's list is 404 as a whole
        ("POST", "/v1/cohorts/{cohort_id}/certificates", f"/v1/cohorts/{dh}/certificates", None),
        ("POST", "/v1/cohorts/{cohort_id}/certificates", f"/v1/cohorts/{oh}/certificates", None),
        ("GET", "/v1/cohorts/{cohort_id}/certificates", f"/v1/cohorts/{dh}/certificates", None),
    ]  # fmt: skip
    attendance = []  # a session's attendance: another agency reads and records nothing
    for cohort, sid in ((dh, c.draft_session), (oh, c.open_session), (c.b_cohort, c.open_session)):
        url = f"/v1/cohorts/{cohort}/sessions/{sid}/attendance"
        tpl = "/v1/cohorts/{cohort_id}/sessions/{session_id}/attendance"
        items = {"items": [{"enrollment_id": "enr_x", "status": "present"}]}
        attendance += [
            ("GET", tpl, url, None),
            ("PUT", tpl + "/{enrollment_id}", url + "/enr_x", {"status": "present"}),
            ("PUT", tpl, url, items),
            ("POST", tpl, url, items),
            (
                "POST",
                tpl[: -len("/attendance")] + "/zoom-report",
                url[: -len("/attendance")] + "/zoom-report",
                None,
            ),
        ]
    return course_writes + cohort_writes + draft_reads + attendance


def test_another_agency_gets_404_on_every_catalogue_route_and_changes_nothing(
    client: TestClient, cat: Catalogue
) -> None:
    before = _snapshot(client, cat)
    for method, _, path, body in _attacks(cat):
        kwargs: dict[str, Any] = {"headers": cat.b_headers}
        if body is not None:
            kwargs["json"] = body
        r = client.request(method, path, **kwargs)
        assert r.status_code == 404, (method, path, r.status_code, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "not_found"
        if method == "GET":  # a viewer of B is no luckier
            assert client.get(path, headers=cat.b_viewer).status_code == 404, path
    assert _snapshot(client, cat) == before


def test_catalogue_lists_never_show_another_agencys_drafts(
    client: TestClient, cat: Catalogue
) -> None:
    mine = {cat.draft_course, cat.published_course}
    hidden = {cat.draft_course, cat.draft_cohort}
    for headers in (cat.b_headers, cat.b_viewer, {}):
        for params in ({}, {"status": "draft"}, {"agency": cat.a_slug}, {"limit": 1}):
            courses = client.get("/v1/courses", params=params, headers=headers).json()["items"]
            ids = {c["id"] for c in courses}
            assert not ids & hidden, params
            assert all(c["status"] == "published" for c in courses if c["id"] in mine)
        for params in (
            {},
            {"status": "draft"},
            {"agency": cat.a_slug},
            {"course_id": cat.published_course},
        ):
            cohorts = client.get("/v1/cohorts", params=params, headers=headers).json()["items"]
            assert cat.draft_cohort not in {c["id"] for c in cohorts}, params
        versions = client.get(f"/v1/courses/{cat.published_course}/curricula", headers=headers)
        assert [v["version"] for v in versions.json()["items"]] == [1]
        sessions = client.get(f"/v1/cohorts/{cat.open_cohort}/sessions", headers=headers).json()
        sessions = sessions["items"]
        assert [s["id"] for s in sessions] == [cat.open_session]
    # the owner sees all of it
    own = client.get("/v1/courses", params={"status": "draft"}, headers=cat.a_headers).json()
    assert cat.draft_course in {c["id"] for c in own["items"]}


def test_the_attack_table_covers_every_agency_owned_route(cat: Catalogue) -> None:
    covered = {(m, t) for m, t, _, _ in _attacks(cat)}
    covered |= {  # public lists and reads of published objects: checked above, or open to all
        ("GET", "/v1/courses"),
        ("GET", "/v1/cohorts"),
    }
    covered |= {("POST", "/v1/courses")}  # always creates in the caller's own agency
    routes = {
        (method.upper(), path)
        for path, item in create_app().openapi()["paths"].items()
        if path.startswith(("/v1/courses", "/v1/cohorts"))
        for method in item
    }
    assert len(routes) >= 20  # 5 each: courses, curricula, cohorts, sessions
    assert routes - covered == set()
