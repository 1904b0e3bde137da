"""OneRoster delta sync of teachers: an instructor taken off a cohort's last session turns
``tobedeleted`` (the teacher enrollment, and the teacher user once they teach nothing),
with a ``dateLastModified`` after the removal, instead of vanishing; taught again, the
same sourcedIds come back active. Another agency's client sees none of it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from app.models.client import Scope
from app.models.teaching import CohortTeacher
from tests.factories_oneroster import ROSTER, OneRosterSetup, client_headers, setup_oneroster
from tests.factories_progress import setup_progress
from tests.parallel import race
from tests.test_oneroster import official, valid
from tests.test_oneroster_teachers import _get, _teach, _viewer


def _mark(client: Any, world: OneRosterSetup) -> str:
    """The latest dateLastModified a full sync of users and enrollments has seen."""
    seen = [
        item["dateLastModified"]
        for path, name in (("/users", "users"), ("/enrollments", "enrollments"))
        for item in _get(client, world, path)[name]
    ]
    return max(seen)


def _delta(client: Any, world: OneRosterSetup, path: str, mark: str) -> list[dict[str, Any]]:
    body = _get(client, world, path, filter=f"dateLastModified>'{mark}'")
    assert not valid(official("UserSetDType" if "enroll" not in path else "EnrollmentSetDType"),
                     body)  # fmt: skip
    items: list[dict[str, Any]] = next(iter(body.values()))
    return items


def _sessions_url(world: OneRosterSetup) -> str:
    return f"/v1/cohorts/{world.progress.cohort_id}/sessions"


def test_instructor_taken_off_the_last_session_is_tobedeleted_in_a_delta_sync(
    client: TestClient, session: Session
) -> None:
    world = setup_oneroster(client, session)
    cohort = world.progress.cohort_id
    viewer = _viewer(session, world)  # no instructor role: a teacher only while teaching
    taught = _teach(client, world, viewer, 16)
    mark = _mark(client, world)
    assert _delta(client, world, "/enrollments", mark) == []
    off = client.patch(
        f"{_sessions_url(world)}/{taught['id']}",
        json={"instructor_ids": []},
        headers=world.progress.headers,
    )
    assert off.status_code == 200, off.text
    enrollments = _delta(client, world, "/enrollments", mark)
    assert [(e["sourcedId"], e["status"], e["role"]) for e in enrollments] == [
        (f"teach-{cohort}.{viewer}", "tobedeleted", "teacher")
    ]
    assert enrollments[0]["dateLastModified"] > mark
    assert enrollments[0]["user"]["sourcedId"] == viewer
    for path in ("/users", "/teachers"):
        users = _delta(client, world, path, mark)
        assert [(u["sourcedId"], u["status"]) for u in users] == [(viewer, "tobedeleted")]
        assert users[0]["dateLastModified"] > mark
    assert _delta(client, world, "/students", mark) == []
    # the removal is the whole delta: a full sync agrees, and nothing else moved
    one = _get(client, world, f"/enrollments/teach-{cohort}.{viewer}")["enrollment"]
    assert one == enrollments[0]
    tobedeleted = _get(client, world, "/enrollments", filter="status='tobedeleted'")
    assert [e["sourcedId"] for e in tobedeleted["enrollments"]] == [f"teach-{cohort}.{viewer}"]


def test_teaching_again_brings_the_teacher_enrollment_and_user_back_active(
    client: TestClient, session: Session
) -> None:
    world = setup_oneroster(client, session)
    cohort = world.progress.cohort_id
    viewer = _viewer(session, world)
    taught = _teach(client, world, viewer, 16)
    gone = client.delete(f"{_sessions_url(world)}/{taught['id']}", headers=world.progress.headers)
    assert gone.status_code == 204, gone.text
    sourced = f"teach-{cohort}.{viewer}"
    assert _get(client, world, f"/enrollments/{sourced}")["enrollment"]["status"] == "tobedeleted"
    assert _get(client, world, f"/users/{viewer}")["user"]["status"] == "tobedeleted"
    mark = _mark(client, world)
    _teach(client, world, viewer, 17)
    back = _delta(client, world, "/enrollments", mark)
    assert [(e["sourcedId"], e["status"]) for e in back] == [(sourced, "active")]
    users = _delta(client, world, "/users", mark)
    assert [(u["sourcedId"], u["status"], u["enabledUser"]) for u in users] == [
        (viewer, "active", "true")
    ]
    assert [t["sourcedId"] for t in _get(client, world, f"/classes/{cohort}/teachers")["users"]]
    rows = session.exec(select(CohortTeacher).where(col(CohortTeacher.user_id) == viewer)).all()
    assert [(r.cohort_id, r.removed_at) for r in rows] == [(cohort, None)]


def test_taken_off_one_of_two_sessions_still_teaches_and_the_delta_is_empty(
    client: TestClient, session: Session
) -> None:
    world = setup_oneroster(client, session)
    viewer = _viewer(session, world)
    first = _teach(client, world, viewer, 16)
    _teach(client, world, viewer, 17)
    mark = _mark(client, world)
    off = client.patch(
        f"{_sessions_url(world)}/{first['id']}",
        json={"instructor_ids": [world.instructor_id]},
        headers=world.progress.headers,
    )
    assert off.status_code == 200, off.text
    assert _delta(client, world, "/enrollments", mark) == []
    assert _delta(client, world, "/users", mark) == []


def test_an_instructor_with_the_role_keeps_an_active_user_when_taken_off_every_session(
    client: TestClient, session: Session
) -> None:
    """The instructor role alone makes a teacher: only the enrollment is removed."""
    world = setup_oneroster(client, session)
    cohort = world.progress.cohort_id
    mark = _mark(client, world)
    listed = client.get(_sessions_url(world), headers=world.progress.headers).json()["items"]
    for item in listed:
        gone = client.delete(f"{_sessions_url(world)}/{item['id']}", headers=world.progress.headers)
        assert gone.status_code == 204, gone.text
    delta = _delta(client, world, "/enrollments", mark)
    assert [(e["sourcedId"], e["status"]) for e in delta] == [
        (f"teach-{cohort}.{world.instructor_id}", "tobedeleted")
    ]
    assert _delta(client, world, "/users", mark) == []
    assert _get(client, world, f"/users/{world.instructor_id}")["user"]["status"] == "active"


def test_another_agencys_client_sees_nothing_of_a_removal(
    client: TestClient, session: Session
) -> None:
    world = setup_oneroster(client, session)
    viewer = _viewer(session, world)
    taught = _teach(client, world, viewer, 16)
    other = setup_progress(client, session, learners=0)
    theirs = client_headers(client, other.headers, [Scope.or_roster.value])
    off = client.delete(f"{_sessions_url(world)}/{taught['id']}", headers=world.progress.headers)
    assert off.status_code == 204, off.text
    since = {"filter": "dateLastModified>'2000-01-01T00:00:00Z'"}
    for path, name in (("/enrollments", "enrollments"), ("/users", "users"),
                       ("/teachers", "users")):  # fmt: skip
        got = client.get(ROSTER + path, params=since, headers=theirs)
        assert got.status_code == 200 and got.json() == {name: []}, path
    sourced = f"teach-{world.progress.cohort_id}.{viewer}"
    for path in (f"/enrollments/{sourced}", f"/users/{viewer}", f"/teachers/{viewer}"):
        assert client.get(ROSTER + path, headers=theirs).status_code == 404, path


@pytest.mark.slow
def test_parallel_changes_of_one_cohorts_sessions_keep_the_teacher_rows_true(
    live_server: str, session: Session
) -> None:
    """Sessions of one cohort changing at once (the cohort row lock serialises them): the
    instructor moved from session to session, and added to new sessions at the same time,
    ends with one active row, and the teacher enrollment is active."""
    with httpx.Client(base_url=live_server, timeout=30) as http:
        world = setup_oneroster(http, session)
        viewer = _viewer(session, world)
        headers = world.progress.headers
        sessions = _sessions_url(world)
        first = _teach(http, world, viewer, 16)
        empty = http.post(sessions, headers=headers, json={
            "module_id": world.progress.unassessed, "instructor_ids": [],
            "starts_at": "2025-05-17T13:00:00+07:00", "ends_at": "2025-05-17T16:00:00+07:00",
        })  # fmt: skip
        assert empty.status_code == 201, empty.text
    moves = [(first["id"], []), (empty.json()["id"], [viewer])]

    def change(client: httpx.Client, i: int) -> httpx.Response:
        if i < 2:
            target, ids = moves[i]
            return client.patch(
                f"{live_server}{sessions}/{target}", json={"instructor_ids": ids}, headers=headers
            )
        return client.post(f"{live_server}{sessions}", headers=headers, json={
            "module_id": world.progress.unassessed, "instructor_ids": [viewer],
            "starts_at": f"2025-05-{16 + i:02d}T13:00:00+07:00",
            "ends_at": f"2025-05-{16 + i:02d}T16:00:00+07:00",
        })  # fmt: skip

    responses = race(5, change)
    assert sorted(r.status_code for r in responses) == [200, 200, 201, 201, 201], [
        r.text for r in responses
    ]
    session.rollback()
    rows = session.exec(select(CohortTeacher).where(col(CohortTeacher.user_id) == viewer)).all()
    assert [(r.cohort_id, r.removed_at) for r in rows] == [(world.progress.cohort_id, None)]
    with httpx.Client(base_url=live_server, timeout=30) as http:
        got = http.get(
            f"{ROSTER}/enrollments/teach-{world.progress.cohort_id}.{viewer}", headers=world.token
        )
        assert got.status_code == 200 and got.json()["enrollment"]["status"] == "active"


def test_a_cancelled_cohorts_line_items_are_tobedeleted_in_filters_and_delta(
    client: TestClient, session: Session
) -> None:
    """The lineItem's status filter reads what is rendered: a cancelled class's lineItems
    answer status='tobedeleted' (they answered status='active' while shown tobedeleted)."""
    from tests.factories_oneroster import GRADEBOOK

    world = setup_oneroster(client, session)
    cohort = world.progress.cohort_id
    items = client.get(f"{GRADEBOOK}/lineItems", headers=world.token).json()["lineItems"]
    mark = max(i["dateLastModified"] for i in items)
    cancelled = client.post(
        f"/v1/cohorts/{cohort}/transitions", json={"to": "cancelled"},
        headers=world.progress.headers,
    )  # fmt: skip
    assert cancelled.status_code == 200, cancelled.text
    expected = [f"{cohort}.{world.progress.assessed}"]
    for query in ("status='tobedeleted'", f"dateLastModified>'{mark}'"):
        got = client.get(f"{GRADEBOOK}/lineItems", params={"filter": query}, headers=world.token)
        assert got.status_code == 200, got.text
        body = got.json()["lineItems"]
        assert [(i["sourcedId"], i["status"]) for i in body] == [(expected[0], "tobedeleted")]
    active = client.get(
        f"{GRADEBOOK}/lineItems", params={"filter": "status='active'"}, headers=world.token
    )
    assert active.json() == {"lineItems": []}


def test_guests_read_by_key_alone_page_as_the_filtered_join_does(
    client: TestClient, session: Session
) -> None:
    """Unfiltered pages read the guests' keys and count from learner_grant alone; a filter
    on another field reads them through the join to learner: both give the same users,
    order and X-Total-Count, at every offset."""
    from tests.factories import enrol, make_learner

    world = setup_oneroster(client, session, learners=2)
    other = setup_progress(client, session, learners=0)
    for _ in range(3):
        guest = make_learner(client, other.headers)
        enrol(client, world.progress.headers, world.progress.cohort_id, guest["learner_key"])

    def pages(path: str, **params: str) -> tuple[list[str], set[str]]:
        seen, totals = [], set()
        for offset in range(0, 8, 3):
            got = client.get(
                ROSTER + path, params={"limit": "3", "offset": str(offset), **params},
                headers=world.token,
            )  # fmt: skip
            assert got.status_code == 200, got.text
            totals.add(got.headers["X-Total-Count"])
            seen += [u["sourcedId"] for u in got.json()["users"]]
        return seen, totals

    for path in ("/users", "/students"):
        lean, lean_totals = pages(path)
        joined, joined_totals = pages(path, filter="status='active'")
        assert lean == joined == sorted(lean) and lean_totals == joined_totals, path
        assert len(lean) == int(lean_totals.pop()), path
    students, _ = pages("/students")
    assert len(students) == 5


def test_a_deleted_course_is_tobedeleted_in_a_delta_sync_and_only_for_its_agency(
    client: TestClient, session: Session
) -> None:
    """A course without cohorts may be deleted: the courses collection answers it as
    tobedeleted (from the change log) instead of letting it vanish."""
    from tests.factories import course_payload

    world = setup_oneroster(client, session)
    made = client.post("/v1/courses", json=course_payload(), headers=world.progress.headers)
    assert made.status_code == 201, made.text
    course = made.json()["id"]
    everything = _get(client, world, "/courses")["courses"]
    assert course in {c["sourcedId"] for c in everything}
    mark = max(c["dateLastModified"] for c in everything)
    gone = client.delete(f"/v1/courses/{course}", headers=world.progress.headers)
    assert gone.status_code == 204, gone.text
    delta = _get(client, world, "/courses", filter=f"dateLastModified>'{mark}'")
    assert not valid(official("CourseSetDType"), delta)
    assert [(c["sourcedId"], c["status"]) for c in delta["courses"]] == [(course, "tobedeleted")]
    assert delta["courses"][0]["dateLastModified"] > mark
    one = _get(client, world, f"/courses/{course}")["course"]
    assert one == delta["courses"][0]
    school = world.progress.agency_id
    of_school = _get(client, world, f"/schools/{school}/courses", filter="status='tobedeleted'")
    assert [c["sourcedId"] for c in of_school["courses"]] == [course]
    other = setup_progress(client, session, learners=0)
    theirs = client_headers(client, other.headers, [Scope.or_roster.value])
    listed = client.get(f"{ROSTER}/courses", headers=theirs).json()["courses"]
    assert course not in {c["sourcedId"] for c in listed}
    assert client.get(f"{ROSTER}/courses/{course}", headers=theirs).status_code == 404
