"""A learner login and its own enrolments: ``GET /v1/me/enrollments`` across agencies,
reading only its own enrolments, and withdrawing its own before the cohort runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session
from starlette.testclient import TestClient

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

ID = {"Accept-Language": "id"}


@dataclass
class World:
    home: dict[str, str]  # admin of the learners' home agency
    org_a: dict[str, str]  # admin of one organising agency
    org_b: dict[str, str]  # admin of another organising agency
    me: dict[str, str]  # the learner login
    my_key: str
    other_key: str  # another learner of the same home agency
    cohort_a: dict[str, Any]
    cohort_b: dict[str, Any]


def _world(client: TestClient, session: Session) -> World:
    home, a, b = make_agency(session), make_agency(session), make_agency(session)
    headers = [auth_headers(make_user(session, x, "agency_admin")) for x in (home, a, b)]
    session.rollback()
    course_a = make_published_course(client, headers[1])
    course_b = make_published_course(client, headers[2])
    cohort_a = make_open_cohort(client, headers[1], course_a["id"])
    cohort_b = make_open_cohort(client, headers[2], course_b["id"])
    mine = make_learner(client, headers[0])["learner_key"]
    other = make_learner(client, headers[0])["learner_key"]
    me = make_learner_login(client, headers[0], mine)
    return World(headers[0], headers[1], headers[2], me, mine, other, cohort_a, cohort_b)


def _withdraw(client: TestClient, headers: dict[str, str], enrollment_id: str) -> Any:
    return client.post(
        f"/v1/enrollments/{enrollment_id}/transitions",
        json={"to": "withdrawn", "reason": "Tugas dinas mendesak"},
        headers=headers,
    )


def _move_cohort(client: TestClient, headers: dict[str, str], cohort_id: str, *to: str) -> None:
    for status in to:
        moved = client.post(
            f"/v1/cohorts/{cohort_id}/transitions", json={"to": status}, headers=headers
        )
        assert moved.status_code == 200, moved.text


def test_my_enrollments_lists_mine_across_agencies_and_no_one_elses(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session)
    in_a = enrol(client, w.home, w.cohort_a["id"], w.my_key)
    in_b = enrol(client, w.home, w.cohort_b["id"], w.my_key)
    theirs = enrol(client, w.home, w.cohort_a["id"], w.other_key)

    first = client.get("/v1/me/enrollments", params={"limit": 1}, headers=w.me)
    assert first.status_code == 200, first.text
    assert len(first.json()["items"]) == 1 and first.json()["next_cursor"]
    assert 'rel="next"' in first.headers["Link"]
    second = client.get(
        "/v1/me/enrollments",
        params={"limit": 1, "cursor": first.json()["next_cursor"]},
        headers=w.me,
    )
    assert second.status_code == 200, second.text
    seen = {e["id"] for e in first.json()["items"] + second.json()["items"]}
    assert seen == {in_a["id"], in_b["id"]}
    assert second.json()["next_cursor"] is None

    everything = client.get("/v1/me/enrollments", headers=w.me).json()["items"]
    assert {e["agency_id"] for e in everything} == {
        w.cohort_a["agency_id"],
        w.cohort_b["agency_id"],
    }
    assert theirs["id"] not in {e["id"] for e in everything}

    withdrawn = _withdraw(client, w.me, in_b["id"])
    assert withdrawn.status_code == 200, withdrawn.text
    only = client.get("/v1/me/enrollments", params={"status": "withdrawn"}, headers=w.me)
    assert [e["id"] for e in only.json()["items"]] == [in_b["id"]]


def test_my_enrollments_is_for_learner_logins_only(client: TestClient, session: Session) -> None:
    w = _world(client, session)
    staff = client.get("/v1/me/enrollments", headers=w.home | ID)
    assert staff.status_code == 403, staff.text
    assert staff.json()["code"] == "forbidden" and "peserta" in staff.json()["detail"]
    assert client.get("/v1/me/enrollments").status_code == 401
    empty = client.get("/v1/me/enrollments", headers=w.me)
    assert empty.status_code == 200 and empty.json()["items"] == []


def test_a_learner_reads_its_own_enrollment_and_no_other(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session)
    mine = enrol(client, w.home, w.cohort_a["id"], w.my_key)
    theirs = enrol(client, w.home, w.cohort_a["id"], w.other_key)
    own = client.get(f"/v1/enrollments/{mine['id']}", headers=w.me)
    assert own.status_code == 200, own.text
    assert own.json()["id"] == mine["id"]
    assert client.get(f"/v1/enrollments/{mine['id']}/history", headers=w.me).status_code == 200
    assert client.get(f"/v1/enrollments/{theirs['id']}", headers=w.me).status_code == 404
    assert client.get(f"/v1/enrollments/{theirs['id']}/history", headers=w.me).status_code == 404
    assert _withdraw(client, w.me, theirs["id"]).status_code == 404
    other = client.get(f"/v1/enrollments/{theirs['id']}", headers=w.home)
    assert other.json()["status"] == "proposed"  # untouched


def test_a_learner_withdraws_its_own_enrollment_before_the_cohort_runs(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session)
    mine = enrol(client, w.home, w.cohort_a["id"], w.my_key)
    _move_cohort(client, w.org_a, w.cohort_a["id"], "closed")
    done = _withdraw(client, w.me, mine["id"])
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "withdrawn"
    cohort = client.get(f"/v1/cohorts/{w.cohort_a['id']}", headers=w.org_a).json()
    assert cohort["seats_taken"] == 0  # the seat is given back
    history = client.get(f"/v1/enrollments/{mine['id']}/history", headers=w.me).json()
    assert history["items"][-1]["reason"] == "Tugas dinas mendesak"


def test_a_learner_cannot_withdraw_once_the_cohort_runs(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session)
    mine = enrol(client, w.home, w.cohort_a["id"], w.my_key)
    _move_cohort(client, w.org_a, w.cohort_a["id"], "closed", "running")
    late = _withdraw(client, w.me | ID, mine["id"])
    assert late.status_code == 409, late.text
    assert late.json()["code"] == "cohort_started"
    assert "instansi asal" in late.json()["detail"]
    assert client.get(f"/v1/enrollments/{mine['id']}", headers=w.me).json()["status"] == "proposed"
    # the home agency still may
    assert _withdraw(client, w.home, mine["id"]).status_code == 200


def test_a_learner_may_only_withdraw_and_needs_a_reason(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session)
    mine = enrol(client, w.home, w.cohort_a["id"], w.my_key)
    verify = client.post(
        f"/v1/enrollments/{mine['id']}/transitions", json={"to": "verified"}, headers=w.me | ID
    )
    assert verify.status_code == 403, verify.text
    assert "menarik" in verify.json()["detail"]
    no_reason = client.post(
        f"/v1/enrollments/{mine['id']}/transitions", json={"to": "withdrawn"}, headers=w.me
    )
    assert no_reason.status_code == 422, no_reason.text
    assert client.get(f"/v1/enrollments/{mine['id']}", headers=w.me).json()["status"] == "proposed"


def test_staff_without_the_admin_role_still_cannot_move_enrollments(
    client: TestClient, session: Session
) -> None:
    home = make_agency(session)
    admin = auth_headers(make_user(session, home, "agency_admin"))
    viewer = auth_headers(make_user(session, home, "viewer"))
    session.rollback()
    course = make_published_course(client, admin)
    cohort = make_open_cohort(client, admin, course["id"])
    mine = enrol(client, admin, cohort["id"], make_learner(client, admin)["learner_key"])
    refused = _withdraw(client, viewer, mine["id"])
    assert refused.status_code == 403, refused.text


# --- self-enrolment: POST /v1/me/enrollments ----------------------------------------------


def _self_world(client: TestClient, session: Session, **cohort: Any) -> World:
    """As _world, with cohort_a's course open to self-enrolment (cohort_b's is not)."""
    home, a, b = make_agency(session), make_agency(session), make_agency(session)
    headers = [auth_headers(make_user(session, x, "agency_admin")) for x in (home, a, b)]
    session.rollback()
    course_a = make_published_course(client, headers[1], self_enrollment=True)
    course_b = make_published_course(client, headers[2])
    cohort_a = make_open_cohort(client, headers[1], course_a["id"], **cohort)
    cohort_b = make_open_cohort(client, headers[2], course_b["id"])
    mine = make_learner(client, headers[0])["learner_key"]
    other = make_learner(client, headers[0])["learner_key"]
    me = make_learner_login(client, headers[0], mine)
    return World(headers[0], headers[1], headers[2], me, mine, other, cohort_a, cohort_b)


def _enrol_me(client: TestClient, headers: dict[str, str], cohort_id: str, **body: Any) -> Any:
    return client.post("/v1/me/enrollments", json={"cohort_id": cohort_id, **body}, headers=headers)


def test_a_learner_enrols_itself_proposed_and_its_home_agency_verifies(
    client: TestClient, session: Session
) -> None:
    w = _self_world(client, session)
    made = _enrol_me(client, w.me, w.cohort_a["id"])
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["status"] == "proposed" and body["self_enrolled"] is True
    assert body["learner_key"] == w.my_key
    assert made.headers["Location"] == f"/v1/enrollments/{body['id']}" and made.headers["ETag"]
    cohort = client.get(f"/v1/cohorts/{w.cohort_a['id']}", headers=w.org_a).json()
    assert cohort["seats_taken"] == 1  # a seat like any other enrolment
    mine = client.get("/v1/me/enrollments", headers=w.me).json()["items"]
    assert [e["id"] for e in mine] == [body["id"]]

    url = f"/v1/enrollments/{body['id']}/transitions"
    by_organiser = client.post(url, json={"to": "verified"}, headers=w.org_a | ID)
    assert by_organiser.status_code == 403, by_organiser.text
    assert "instansi asal" in by_organiser.json()["detail"]
    assert client.post(url, json={"to": "verified"}, headers=w.me).status_code == 403
    verified = client.post(url, json={"to": "verified"}, headers=w.home)
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "verified"
    active = client.post(url, json={"to": "active"}, headers=w.org_a)
    assert active.status_code == 200, active.text  # then the organiser takes over
    history = client.get(f"/v1/enrollments/{body['id']}/history", headers=w.home).json()
    assert [(e["to_status"], e["actor_user_id"] is not None) for e in history["items"]] == [
        ("proposed", True),
        ("verified", True),
        ("active", True),
    ]


def test_staff_enrolments_are_still_verified_by_the_organiser_only(
    client: TestClient, session: Session
) -> None:
    w = _self_world(client, session)
    staff = enrol(client, w.home, w.cohort_a["id"], w.my_key)
    assert staff["self_enrolled"] is False
    url = f"/v1/enrollments/{staff['id']}/transitions"
    assert client.post(url, json={"to": "verified"}, headers=w.home).status_code == 403
    assert client.post(url, json={"to": "verified"}, headers=w.org_a).status_code == 200


def test_self_enrolment_needs_a_course_that_allows_it(client: TestClient, session: Session) -> None:
    w = _self_world(client, session)
    refused = _enrol_me(client, w.me | ID, w.cohort_b["id"])
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "self_enrollment_not_allowed"
    assert "self_enrollment" in refused.json()["detail"]
    assert client.get("/v1/me/enrollments", headers=w.me).json()["items"] == []
    cohort = client.get(f"/v1/cohorts/{w.cohort_b['id']}", headers=w.org_b).json()
    assert cohort["seats_taken"] == 0


def test_self_enrolment_names_no_one_else_and_staff_cannot_use_it(
    client: TestClient, session: Session
) -> None:
    w = _self_world(client, session)
    other_key = _enrol_me(client, w.me, w.cohort_a["id"], learner_key=w.other_key)
    assert other_key.status_code == 422, other_key.text  # no key in the body: not even one's own
    staff_path = client.post(
        f"/v1/cohorts/{w.cohort_a['id']}/enrollments",
        json={"learner_key": w.other_key},
        headers=w.me,
    )
    assert staff_path.status_code == 403, staff_path.text
    assert _enrol_me(client, w.home, w.cohort_a["id"]).status_code == 403
    assert _enrol_me(client, {}, w.cohort_a["id"]).status_code == 401
    assert _enrol_me(client, w.me, "coh_nope").status_code == 404
    roster = client.get(f"/v1/cohorts/{w.cohort_a['id']}/enrollments", headers=w.org_a).json()
    assert roster["items"] == []
    # and a learner never reads the roster or other learners
    roster_for_me = client.get(f"/v1/cohorts/{w.cohort_a['id']}/enrollments", headers=w.me)
    assert roster_for_me.status_code in (403, 404), roster_for_me.text
    assert client.get(f"/v1/learners/{w.other_key}", headers=w.me).status_code == 404


def test_self_enrolment_follows_the_staff_rules(client: TestClient, session: Session) -> None:
    w = _self_world(client, session, capacity=1, waitlist_enabled=True)
    first = enrol(client, w.org_a, w.cohort_a["id"], w.other_key)
    assert first["status"] == "proposed"
    waiting = _enrol_me(client, w.me, w.cohort_a["id"])
    assert waiting.status_code == 201, waiting.text
    assert waiting.json()["status"] == "waitlisted" and waiting.json()["waitlist_position"] == 1
    again = _enrol_me(client, w.me, w.cohort_a["id"])
    assert again.status_code == 409 and again.json()["code"] == "duplicate_enrollment"
    _move_cohort(client, w.org_a, w.cohort_a["id"], "closed")
    closed = _enrol_me(client, w.me, w.cohort_a["id"])
    assert closed.status_code == 409, closed.text  # the duplicate is no longer the first rule
    assert closed.json()["code"] == "cohort_not_open"


def test_a_learner_enrols_itself_again_after_withdrawing(
    client: TestClient, session: Session
) -> None:
    w = _self_world(client, session)
    made = _enrol_me(client, w.me, w.cohort_a["id"]).json()
    assert _withdraw(client, w.me, made["id"]).status_code == 200
    again = _enrol_me(client, w.me, w.cohort_a["id"])
    assert again.status_code == 201, again.text
    assert again.json()["id"] == made["id"] and again.json()["status"] == "proposed"
    cohort = client.get(f"/v1/cohorts/{w.cohort_a['id']}", headers=w.org_a).json()
    assert cohort["seats_taken"] == 1


def test_self_enrolment_retried_with_one_idempotency_key_enrols_once(
    client: TestClient, session: Session
) -> None:
    w = _self_world(client, session)
    key = {"Idempotency-Key": "daftar-mandiri-1"}
    first = _enrol_me(client, w.me | key, w.cohort_a["id"])
    again = _enrol_me(client, w.me | key, w.cohort_a["id"])
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["id"] == first.json()["id"]
    cohort = client.get(f"/v1/cohorts/{w.cohort_a['id']}", headers=w.org_a).json()
    assert cohort["seats_taken"] == 1
