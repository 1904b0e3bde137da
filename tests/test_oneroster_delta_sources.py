"""What a OneRoster object shows decides what moves its ``dateLastModified``: a class and
its term show the course's title, so renaming the course is a change of both, which a
delta sync (``dateLastModified>``) must return; another agency's client sees nothing."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.testclient import TestClient

from app.models.client import Scope
from tests.factories_oneroster import ROSTER, client_headers
from tests.factories_progress import setup_progress
from tests.test_oneroster import official, valid

SETS = {"classes": "ClassSetDType", "academicSessions": "AcademicSessionSetDType"}


def _read(client: TestClient, token: dict[str, str], name: str, **params: str) -> Any:
    got = client.get(f"{ROSTER}/{name}", params=params, headers=token)
    assert got.status_code == 200, got.text
    assert not valid(official(SETS[name]), got.json())
    return got.json()[name]


def test_renaming_the_course_is_a_change_of_its_classes_and_terms(
    client: TestClient, session: Session
) -> None:
    world = setup_progress(client, session, learners=0)
    other = setup_progress(client, session, learners=0)
    token = client_headers(client, world.headers, [Scope.or_roster.value])
    theirs = client_headers(client, other.headers, [Scope.or_roster.value])
    course = client.get(f"/v1/cohorts/{world.cohort_id}", headers=world.headers).json()
    marks = {  # the latest either client has seen
        name: max(i["dateLastModified"] for t in (token, theirs) for i in _read(client, t, name))
        for name in SETS
    }
    renamed = client.patch(
        f"/v1/courses/{course['course_id']}",
        json={"title": "Pelatihan Sosial Kultural Baru"},
        headers=world.headers,
    )
    assert renamed.status_code == 200, renamed.text
    for name, expected in (("classes", world.cohort_id), ("academicSessions", "term-" + world.cohort_id)):  # fmt: skip
        since = max(i["dateLastModified"] for i in _read(client, token, name))
        changed = _read(client, token, name, filter=f"dateLastModified>'{marks[name]}'")
        assert [i["sourcedId"] for i in changed] == [expected]
        assert changed[0]["title"].startswith("Pelatihan Sosial Kultural Baru")
        assert changed[0]["dateLastModified"] == since
        assert _read(client, theirs, name, filter=f"dateLastModified>'{marks[name]}'") == []


def test_moving_the_cohorts_dates_is_a_change_of_its_students_enrollments(
    client: TestClient, session: Session
) -> None:
    world = setup_progress(client, session, learners=2)
    other = setup_progress(client, session, learners=1)
    token = client_headers(client, world.headers, [Scope.or_roster.value])
    theirs = client_headers(client, other.headers, [Scope.or_roster.value])

    def enrollments(t: dict[str, str], **params: str) -> Any:
        got = client.get(f"{ROSTER}/enrollments", params=params, headers=t)
        assert got.status_code == 200, got.text
        assert not valid(official("EnrollmentSetDType"), got.json())
        return got.json()["enrollments"]

    since = max(e["dateLastModified"] for t in (token, theirs) for e in enrollments(t))
    moved = client.patch(
        f"/v1/cohorts/{world.cohort_id}", json={"ends_on": "2025-05-28"}, headers=world.headers
    )
    assert moved.status_code == 200, moved.text
    changed = enrollments(token, filter=f"dateLastModified>'{since}' AND role='student'")
    assert sorted(e["sourcedId"] for e in changed) == sorted(world.enrollments)
    assert {e["endDate"] for e in changed} == {"2025-05-29"}  # exclusive
    assert enrollments(theirs, filter=f"dateLastModified>'{since}'") == []
