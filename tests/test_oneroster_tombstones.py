"""OneRoster delta sync of what leaves a collection without a row of its own
(``oneroster_tombstone``): a learner of another agency whose grant ends, a home learner who
moves away, a user who loses the instructor role without teaching. A delta sync
(``dateLastModified>``) after the change returns exactly the tombstone, later than
anything seen before; a full sync shows it ``tobedeleted``; restoring the state brings the
same sourcedId back active with a later date; another agency's client sees nothing.
(Gradebook tombstones: tests/test_oneroster_tombstones_gradebook.py.)"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session, col
from starlette.testclient import TestClient

from app.cli import main
from app.models.base import utcnow
from app.models.client import Scope
from app.models.oneroster import OneRosterTombstone
from tests.factories import (
    auth_headers,
    enrol,
    make_agency,
    make_learner,
    make_open_cohort,
    make_published_course,
    make_user,
)
from tests.factories_oneroster import ROSTER, client_headers
from tests.test_learner_grants import _people
from tests.test_oneroster import official, valid

ROSTER_SCOPES = [Scope.or_roster.value]


def users(client: TestClient, token: dict[str, str], path: str = "/users", **params: str) -> Any:
    got = client.get(ROSTER + path, params=params, headers=token)
    assert got.status_code == 200, got.text
    assert not valid(official("UserSetDType"), got.json())
    return got.json()["users"]


def mark(client: TestClient, token: dict[str, str]) -> str:
    """The latest dateLastModified a full sync of users has seen."""
    return max((u["dateLastModified"] for u in users(client, token)), default="2000-01-01")


def delta(client: TestClient, token: dict[str, str], since: str, path: str = "/users") -> Any:
    return users(client, token, path, filter=f"dateLastModified>'{since}'")


def brief(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(u["sourcedId"], u["status"]) for u in items]


def _partnered(client: TestClient, session: Session) -> dict[str, Any]:
    """A learner of ``home`` enrolled in ``organiser``'s cohort of a course ``partner``
    partners; ``outsider`` has nothing to do with any of it. Each agency's roster client."""
    ids, (h_home, h_org, h_partner, h_outsider) = _people(session, 4)
    course = make_published_course(client, h_org, partner_agency_ids=[ids[2]])
    cohort = make_open_cohort(client, h_org, course["id"])["id"]
    learner = make_learner(client, h_home)
    enrolment = enrol(client, h_home, cohort, learner["learner_key"])
    tokens = {
        name: client_headers(client, headers, ROSTER_SCOPES)
        for name, headers in (("organiser", h_org), ("partner", h_partner),
                              ("outsider", h_outsider), ("home", h_home))
    }  # fmt: skip
    return {"ids": ids, "org": h_org, "home": h_home, "course": course["id"], "cohort": cohort,
            "learner": learner, "enrolment": enrolment["id"], "tokens": tokens}  # fmt: skip


def _partners(client: TestClient, world: dict[str, Any], partners: list[str]) -> None:
    changed = client.patch(
        f"/v1/courses/{world['course']}",
        json={"partner_agency_ids": partners},
        headers=world["org"],
    )
    assert changed.status_code == 200, changed.text


def test_a_partner_removed_from_the_course_sees_the_guest_turn_tobedeleted(
    client: TestClient, session: Session
) -> None:
    world = _partnered(client, session)
    learner, partner = world["learner"]["id"], world["tokens"]["partner"]
    assert brief(users(client, partner)) == [(learner, "active")]
    since = mark(client, partner)
    before_org = mark(client, world["tokens"]["organiser"])
    _partners(client, world, [])
    gone = delta(client, partner, since)
    assert brief(gone) == [(learner, "tobedeleted")]
    assert gone[0]["dateLastModified"] > since
    # the tombstone carries no personal data of a learner the partner may no longer see
    assert gone[0]["givenName"] == "" and "userIds" not in gone[0] and "email" not in gone[0]
    assert gone[0]["enabledUser"] == "false"
    # a full sync agrees (the same object), and so do /students and the single read
    assert users(client, partner) == gone
    assert users(client, partner, "/students") == gone
    one = client.get(f"{ROSTER}/users/{learner}", headers=partner)
    assert one.status_code == 200 and one.json()["user"] == gone[0]
    assert not valid(official("SingleUserDType"), one.json())
    assert users(client, partner, filter="status='active'") == []
    # the organiser still sees them (it organises their cohort): nothing moved there
    assert delta(client, world["tokens"]["organiser"], before_org) == []
    # another agency's client sees nothing of it
    outsider = world["tokens"]["outsider"]
    assert users(client, outsider) == []
    assert client.get(f"{ROSTER}/users/{learner}", headers=outsider).status_code == 404


def test_a_partner_added_again_sees_the_guest_come_back_active_in_a_delta_sync(
    client: TestClient, session: Session
) -> None:
    world = _partnered(client, session)
    learner, partner = world["learner"]["id"], world["tokens"]["partner"]
    _partners(client, world, [])
    since = mark(client, partner)
    _partners(client, world, [world["ids"][2]])
    back = delta(client, partner, since)
    assert brief(back) == [(learner, "active")]
    assert back[0]["dateLastModified"] > since
    assert back[0]["givenName"] == world["learner"]["name"]
    assert brief(users(client, partner)) == [(learner, "active")]


def test_a_new_guest_appears_in_the_organisers_delta_sync(
    client: TestClient, session: Session
) -> None:
    """Enrolling a learner of another agency changes no learner row: the grant's time is
    the guest's dateLastModified, so the delta sync sees the user its new enrolment names."""
    world = _partnered(client, session)
    organiser = world["tokens"]["organiser"]
    since = mark(client, organiser)
    newcomer = make_learner(client, world["home"])
    enrol(client, world["home"], world["cohort"], newcomer["learner_key"])
    assert brief(delta(client, organiser, since)) == [(newcomer["id"], "active")]
    assert brief(delta(client, world["tokens"]["partner"], since)) == [(newcomer["id"], "active")]
    assert delta(client, world["tokens"]["outsider"], since) == []


def _transfer(client: TestClient, key: str, old: dict[str, str], new: dict[str, str],
              new_id: str) -> None:  # fmt: skip
    released = client.post(f"/v1/learners/{key}/release", json={"to_agency_id": new_id},
                           headers=old)  # fmt: skip
    assert released.status_code == 200, released.text
    moved = client.post(f"/v1/learners/{key}/transfer", json={}, headers=new)
    assert moved.status_code == 200, moved.text


def test_a_learner_who_moves_away_is_tobedeleted_for_the_old_home_and_back_when_returning(
    client: TestClient, session: Session
) -> None:
    (old, new, outsider), (h_old, h_new, h_outsider) = _people(session, 3)
    stays = make_learner(client, h_old)
    mover = make_learner(client, h_old)
    token = client_headers(client, h_old, ROSTER_SCOPES)
    since = mark(client, token)
    _transfer(client, mover["learner_key"], h_old, h_new, new)
    gone = delta(client, token, since)
    assert brief(gone) == [(mover["id"], "tobedeleted")]
    assert gone[0]["dateLastModified"] > since and gone[0]["givenName"] == ""
    full = {u["sourcedId"]: u["status"] for u in users(client, token)}
    assert full == {stays["id"]: "active", mover["id"]: "tobedeleted"}
    new_token = client_headers(client, h_new, ROSTER_SCOPES)
    assert brief(users(client, new_token)) == [(mover["id"], "active")]
    assert users(client, client_headers(client, h_outsider, ROSTER_SCOPES)) == []
    since = mark(client, token)
    _transfer(client, mover["learner_key"], h_new, h_old, old)
    back = delta(client, token, since)
    assert brief(back) == [(mover["id"], "active")] and back[0]["dateLastModified"] > since
    assert back[0]["givenName"] == mover["name"]


def test_prune_changes_deletes_the_tombstones_older_than_the_retention(
    client: TestClient, session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    """``bangkom prune-changes`` (cron) keeps the tombstones as long as the change log's
    entries: an older one leaves the collection, a recent one stays."""
    (old, new, _), (h_old, h_new, _) = _people(session, 3)
    stays = make_learner(client, h_old)
    long_gone, just_gone = make_learner(client, h_old), make_learner(client, h_old)
    for mover in (long_gone, just_gone):
        _transfer(client, mover["learner_key"], h_old, h_new, new)
    session.execute(
        update(OneRosterTombstone)
        .where(col(OneRosterTombstone.object_id) == long_gone["id"])
        .values(removed_at=utcnow() - timedelta(days=91))
    )
    session.commit()
    token = client_headers(client, h_old, ROSTER_SCOPES)
    assert len(users(client, token)) == 3
    assert main(["prune-changes"]) == 0
    assert "1 OneRoster tombstones older than 90 days" in capsys.readouterr().out
    full = {u["sourcedId"]: u["status"] for u in users(client, token)}
    assert full == {stays["id"]: "active", just_gone["id"]: "tobedeleted"}
    assert main(["prune-changes", "--days", "1"]) == 0  # the other is younger than a day
    assert {u["sourcedId"] for u in users(client, token)} == {stays["id"], just_gone["id"]}


def test_a_learner_who_moves_away_stays_a_guest_of_the_old_home_that_organises_their_cohort(
    client: TestClient, session: Session
) -> None:
    """The old home organises the learner's cohort: it still sees them (read-only, without
    email), so no tombstone; their enrolment is still its own and did not change."""
    (old, new), (h_old, h_new) = _people(session, 2)
    course = make_published_course(client, h_old)
    cohort = make_open_cohort(client, h_old, course["id"])["id"]
    mover = make_learner(client, h_old, email="pindah@mail.example")
    enrolment = enrol(client, h_old, cohort, mover["learner_key"])["id"]
    token = client_headers(client, h_old, ROSTER_SCOPES)
    since = mark(client, token)
    enrolments = client.get(f"{ROSTER}/enrollments", headers=token).json()["enrollments"]
    assert [(e["sourcedId"], e["status"]) for e in enrolments] == [(enrolment, "active")]
    _transfer(client, mover["learner_key"], h_old, h_new, new)
    moved = delta(client, token, since)
    assert brief(moved) == [(mover["id"], "active")] and "email" not in moved[0]
    after = client.get(f"{ROSTER}/enrollments", headers=token).json()["enrollments"]
    assert after == enrolments


def test_a_user_who_loses_the_instructor_role_without_teaching_turns_tobedeleted(
    client: TestClient, session: Session
) -> None:
    agency, other = make_agency(session), make_agency(session)
    admin = auth_headers(make_user(session, agency, "agency_admin"))
    teacher = make_user(session, agency, "instructor").id
    theirs = auth_headers(make_user(session, other, "agency_admin"))
    session.rollback()
    token = client_headers(client, admin, ROSTER_SCOPES)
    outsider = client_headers(client, theirs, ROSTER_SCOPES)
    assert brief(users(client, token, "/teachers")) == [(teacher, "active")]
    since = mark(client, token)
    dropped = client.patch(f"/v1/users/{teacher}", json={"roles": ["viewer"]}, headers=admin)
    assert dropped.status_code == 200, dropped.text
    for path in ("/users", "/teachers"):
        gone = delta(client, token, since, path)
        assert brief(gone) == [(teacher, "tobedeleted")]
        assert gone[0]["dateLastModified"] > since and gone[0]["enabledUser"] == "false"
    assert delta(client, token, since, "/students") == []
    assert brief(users(client, token, "/teachers")) == [(teacher, "tobedeleted")]
    assert client.get(f"{ROSTER}/teachers/{teacher}", headers=outsider).status_code == 404
    assert delta(client, outsider, since) == []
    since = mark(client, token)
    back = client.patch(f"/v1/users/{teacher}", json={"roles": ["instructor"]}, headers=admin)
    assert back.status_code == 200, back.text
    again = delta(client, token, since, "/teachers")
    assert brief(again) == [(teacher, "active")] and again[0]["dateLastModified"] > since


def test_a_user_who_never_was_an_instructor_is_no_teacher_tombstone(
    client: TestClient, session: Session
) -> None:
    agency = make_agency(session)
    admin = auth_headers(make_user(session, agency, "agency_admin"))
    viewer = make_user(session, agency, "viewer").id
    session.rollback()
    token = client_headers(client, admin, ROSTER_SCOPES)
    changed = client.patch(f"/v1/users/{viewer}", json={"roles": ["agency_admin"]}, headers=admin)
    assert changed.status_code == 200, changed.text
    assert users(client, token, "/teachers") == []
