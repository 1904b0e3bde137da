"""OneRoster teachers and the rest of the binding's reads: instructors teaching a cohort's
sessions are users with role teacher and enrollments with role teacher in its class (and
follow the cohort and the account for tobedeleted and delta sync); /demographics is the
binding's empty collection; /classes/{id}/categories; users are exactly the learners the
learner list shows (learner_grant)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.testclient import TestClient

from app.models.agency import Agency
from app.models.client import Scope
from tests.factories import auth_headers, enrol, make_agency, make_learner, make_user
from tests.factories_oneroster import (
    GRADEBOOK,
    ROSTER,
    OneRosterSetup,
    client_headers,
    setup_oneroster,
)
from tests.factories_progress import setup_progress
from tests.test_learner_grants import _listed
from tests.test_oneroster import OFFICIAL_GRADEBOOK, official, valid


def _teach(client: TestClient, world: OneRosterSetup, user_id: str, day: int) -> dict[str, Any]:
    made = client.post(
        f"/v1/cohorts/{world.progress.cohort_id}/sessions",
        json={
            "module_id": world.progress.unassessed,
            "starts_at": f"2025-05-{day:02d}T13:00:00+07:00",
            "ends_at": f"2025-05-{day:02d}T16:00:00+07:00",
            "instructor_ids": [user_id],
        },
        headers=world.progress.headers,
    )
    assert made.status_code == 201, made.text
    return made.json()


def _viewer(session: Session, world: OneRosterSetup) -> str:
    """A user of the agency without the instructor role."""
    agency = session.get(Agency, world.progress.agency_id)
    assert agency is not None
    user_id = make_user(session, agency, "viewer").id
    session.rollback()
    return user_id


def _get(client: TestClient, world: OneRosterSetup, path: str, **params: str) -> Any:
    got = client.get(ROSTER + path, params=params, headers=world.token)
    assert got.status_code == 200, got.text
    return got.json()


def test_an_instructor_teaching_a_session_is_a_teacher_enrolled_as_teacher_in_the_class(
    client: TestClient, session: Session
) -> None:
    world = setup_oneroster(client, session)
    cohort, school = world.progress.cohort_id, world.progress.agency_id
    viewer = _viewer(session, world)
    _teach(client, world, viewer, 16)
    teachers = _get(client, world, "/teachers")["users"]
    assert {t["sourcedId"] for t in teachers} == {world.instructor_id, viewer}
    assert all(t["roles"][0]["role"] == "teacher" for t in teachers)
    in_class = _get(client, world, f"/classes/{cohort}/teachers")["users"]
    assert {t["sourcedId"] for t in in_class} == {world.instructor_id, viewer}
    body = _get(client, world, "/enrollments", filter="role='teacher'")
    assert not valid(official("EnrollmentSetDType"), body)
    got = {e["sourcedId"]: e for e in body["enrollments"]}
    expected = {f"teach-{cohort}.{u}": u for u in (world.instructor_id, viewer)}
    assert set(got) == set(expected)
    for sourced_id, user in expected.items():
        enrolment = got[sourced_id]
        assert (enrolment["role"], enrolment["status"]) == ("teacher", "active")
        assert enrolment["user"]["sourcedId"] == user
        assert enrolment["class"]["sourcedId"] == cohort
        one = _get(client, world, f"/enrollments/{sourced_id}")
        assert not valid(official("SingleEnrollmentDType"), one)
        assert one["enrollment"] == enrolment
    everyone = _get(client, world, f"/schools/{school}/classes/{cohort}/enrollments")
    roles = sorted(e["role"] for e in everyone["enrollments"])
    assert roles == ["student"] * len(world.progress.enrollments) + ["teacher", "teacher"]
    assert _get(client, world, "/enrollments")["enrollments"] == sorted(
        _get(client, world, "/enrollments")["enrollments"], key=lambda e: e["sourcedId"]
    )
    for path in (f"/teachers/{viewer}/classes", f"/users/{viewer}/classes"):
        assert [c["sourcedId"] for c in _get(client, world, path)["classes"]] == [cohort]


def test_teacher_enrollments_follow_sessions_cohort_and_account_for_delta_sync(
    client: TestClient, session: Session
) -> None:
    world = setup_oneroster(client, session)
    cohort = world.progress.cohort_id
    everything = _get(client, world, "/enrollments")["enrollments"]
    mark = max(e["dateLastModified"] for e in everything)
    since = {"filter": f"dateLastModified>'{mark}'"}
    assert _get(client, world, "/enrollments", **since) == {"enrollments": []}
    viewer = _viewer(session, world)
    _teach(client, world, viewer, 16)
    delta = _get(client, world, "/enrollments", **since)["enrollments"]
    assert [e["sourcedId"] for e in delta] == [f"teach-{cohort}.{viewer}"]
    off = client.patch(
        f"/v1/users/{viewer}", json={"is_active": False}, headers=world.progress.headers
    )
    assert off.status_code == 200, off.text
    gone = _get(client, world, f"/enrollments/teach-{cohort}.{viewer}")["enrollment"]
    assert gone["status"] == "tobedeleted"
    assert _get(client, world, f"/teachers/{viewer}")["user"]["enabledUser"] == "false"
    cancelled = client.post(
        f"/v1/cohorts/{cohort}/transitions",
        json={"to": "cancelled"},
        headers=world.progress.headers,
    )
    assert cancelled.status_code == 200, cancelled.text
    teaching = _get(client, world, f"/enrollments/teach-{cohort}.{world.instructor_id}")
    assert teaching["enrollment"]["status"] == "tobedeleted"
    assert teaching["enrollment"]["dateLastModified"] > mark


def test_another_agency_sees_none_of_the_teachers_or_their_enrollments(
    client: TestClient, session: Session
) -> None:
    world = setup_oneroster(client, session)
    other = setup_progress(client, session, learners=0)
    theirs = client_headers(client, other.headers, [Scope.or_roster.value])
    assert client.get(f"{ROSTER}/teachers", headers=theirs).json() == {"users": []}
    assert client.get(f"{ROSTER}/enrollments", headers=theirs).json() == {"enrollments": []}
    teaching = f"teach-{world.progress.cohort_id}.{world.instructor_id}"
    for path in (f"/teachers/{world.instructor_id}", f"/enrollments/{teaching}"):
        assert client.get(ROSTER + path, headers=theirs).status_code == 404, path


def test_demographics_is_the_bindings_empty_collection(
    client: TestClient, session: Session
) -> None:
    world = setup_oneroster(client, session)
    got = client.get(f"{ROSTER}/demographics", headers=world.token)
    assert got.status_code == 200
    assert got.json() == {"demographics": []} and got.headers["X-Total-Count"] == "0"
    assert not valid(official("DemographicsSetDType"), got.json())
    filtered = client.get(
        f"{ROSTER}/demographics", params={"filter": "status='active'"}, headers=world.token
    )
    assert filtered.json() == {"demographics": []}
    learner = _get(client, world, "/students")["users"][0]["sourcedId"]
    one = client.get(f"{ROSTER}/demographics/{learner}", headers=world.token)
    assert one.status_code == 404
    minor = one.json()["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"]
    assert minor == "unknownobject"


def test_a_class_has_the_categories_of_its_assessed_modules(
    client: TestClient, session: Session
) -> None:
    world = setup_oneroster(client, session)
    got = client.get(
        f"{GRADEBOOK}/classes/{world.progress.cohort_id}/categories", headers=world.token
    )
    assert got.status_code == 200, got.text
    assert not valid(official("CategoriesSetDType", OFFICIAL_GRADEBOOK), got.json())
    assert [c["sourcedId"] for c in got.json()["categories"]] == ["mode-self_paced"]
    every = client.get(f"{GRADEBOOK}/categories", headers=world.token).json()["categories"]
    assert len(every) == 4
    other = setup_progress(client, session, learners=0)
    theirs = client.get(f"{GRADEBOOK}/classes/{other.cohort_id}/categories", headers=world.token)
    assert theirs.status_code == 404


def test_users_are_the_learners_the_learner_list_shows_organiser_and_partner_alike(
    client: TestClient, session: Session
) -> None:
    """The cross-agency learners come from learner_grant, as /v1/learners reads them: the
    organiser and the course's partner see the learners enrolled from other agencies."""
    from tests.factories import make_open_cohort, make_published_course

    agencies = [make_agency(session) for _ in range(3)]
    home, organiser, partner = (
        auth_headers(make_user(session, a, "agency_admin")) for a in agencies
    )
    partner_id = agencies[2].id
    session.rollback()
    course = make_published_course(client, organiser, partner_agency_ids=[partner_id])
    cohort = make_open_cohort(client, organiser, course["id"])["id"]
    guests = [make_learner(client, home) for _ in range(3)]
    own = make_learner(client, organiser)
    for person in [*guests[:2], own]:
        enrol(client, organiser, cohort, person["learner_key"])
    for headers in (home, organiser, partner):
        token = client_headers(client, headers, [Scope.or_roster.value])
        students = client.get(f"{ROSTER}/students?limit=2", headers=token)
        total = int(students.headers["X-Total-Count"])
        seen = [
            u["sourcedId"]
            for offset in range(0, total, 2)
            for u in client.get(f"{ROSTER}/students?limit=2&offset={offset}", headers=token).json()[
                "users"
            ]
        ]
        assert seen == sorted(seen)
        assert set(seen) == _listed(client, headers) and len(seen) == total
    partner_token = client_headers(client, partner, [Scope.or_roster.value])
    partner_sees = client.get(f"{ROSTER}/students", headers=partner_token).json()["users"]
    assert {u["sourcedId"] for u in partner_sees} == {guests[0]["id"], guests[1]["id"], own["id"]}
    assert all("email" not in u for u in partner_sees)


def test_enrollment_pages_cross_from_students_to_teachers_in_either_order(
    client: TestClient, session: Session
) -> None:
    world = setup_oneroster(client, session, learners=3)
    _teach(client, world, _viewer(session, world), 16)
    whole = [e["sourcedId"] for e in _get(client, world, "/enrollments")["enrollments"]]
    assert len(whole) == 5 and whole == sorted(whole)
    for order, expected in (("asc", whole), ("desc", whole[::-1])):
        for limit in (1, 2, 4):
            seen = []
            for offset in range(0, 6, limit):
                page = client.get(
                    f"{ROSTER}/enrollments",
                    params={"limit": limit, "offset": offset, "orderBy": order},
                    headers=world.token,
                )
                assert page.headers["X-Total-Count"] == "5"
                seen += [e["sourcedId"] for e in page.json()["enrollments"]]
            assert seen == expected, (order, limit)
    teachers_only = _get(client, world, "/enrollments", filter="role='teacher'", offset="1")
    assert [e["sourcedId"] for e in teachers_only["enrollments"]] == whole[4:]
