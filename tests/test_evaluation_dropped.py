"""Dropping an enrolment while its cohort runs: only when its absence already exceeds the
course's cap (sessions ended so far), only by the organiser, with a reason."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.testclient import TestClient

from app.models.cohort import CohortStatus
from app.models.enrollment import EnrollmentStatus
from tests.factories import auth_headers, make_agency, make_learner_row, make_user
from tests.factories_evaluation import Setup, add_session, attend, make_evaluation

ONE_MODULE = [(10.0, "classroom", True, 100.0)]
ID = {"Accept-Language": "id"}


def _running(session: Session, learners: int = 2, **course: Any) -> Setup:
    setup = make_evaluation(
        session, modules=ONE_MODULE, learners=learners, status=CohortStatus.running, **course
    )
    long_one = add_session(session, setup, 2)
    half = add_session(session, setup, 0.5)
    add_session(session, setup, 6, ended_hours_ago=-3)  # still to come: not missed yet
    over, within = setup.enrollments[:2]
    attend(session, setup, long_one, over, "absent")  # + half without a record: 2.5 JP
    attend(session, setup, half, within, "present")  # 2 JP: at the limit
    return setup


def _drop(client: TestClient, setup: Setup, enrollment_id: str) -> Any:
    body = {"to": "dropped", "reason": "Tidak hadir melebihi batas"}
    return client.post(
        f"/v1/enrollments/{enrollment_id}/transitions", json=body, headers=setup.admin
    )


def test_an_enrolment_over_the_absence_cap_is_dropped_with_its_reason(
    client: TestClient, session: Session
) -> None:
    setup = _running(session, max_absence_jp_halves=4)
    over = setup.enrollments[0]

    dropped = _drop(client, setup, over.id)

    assert dropped.status_code == 200, dropped.text
    body = dropped.json()
    assert (body["status"], body["absent_jp"], body["allowed_transitions"]) == ("dropped", 2.5, [])
    assert body["outcome_reasons"] == [{"code": "absence_over_limit", "absent_jp": 2.5, "limit": 2}]
    history = client.get(f"/v1/enrollments/{over.id}/history", headers=setup.admin).json()
    assert history["items"][-1]["to_status"] == "dropped"
    assert history["items"][-1]["reason"] == "Tidak hadir melebihi batas"


def test_an_enrolment_within_the_absence_cap_is_not_dropped(
    client: TestClient, session: Session
) -> None:
    setup = _running(session, max_absence_jp_halves=4)
    within = setup.enrollments[1]

    refused = _drop(client, setup, within.id)
    indonesian = client.post(
        f"/v1/enrollments/{within.id}/transitions",
        json={"to": "dropped", "reason": "x"},
        headers={**setup.admin, **ID},
    ).json()

    assert refused.status_code == 409
    assert refused.json()["code"] == "absence_within_limit"
    assert (refused.json()["absent_jp"], refused.json()["limit"]) == (2, 2)
    assert indonesian["detail"].startswith("Peserta sejauh ini tidak hadir 2 JP")
    read = client.get(f"/v1/enrollments/{within.id}", headers=setup.admin).json()
    assert read["status"] == "active"


def test_without_an_absence_cap_nobody_is_dropped(client: TestClient, session: Session) -> None:
    setup = _running(session)

    refused = _drop(client, setup, setup.enrollments[0].id)

    assert refused.status_code == 409 and refused.json()["code"] == "absence_within_limit"
    assert "no limit" in refused.json()["detail"]


def test_dropping_needs_a_running_cohort_a_reason_and_the_organiser(
    client: TestClient, session: Session
) -> None:
    setup = _running(session, learners=3, max_absence_jp_halves=4)
    over = setup.enrollments[0]
    # the learner's home agency (not the organiser) may not drop
    home = make_agency(session)
    learner = make_learner_row(session, home, 11000)
    session.flush()
    other = setup.enrollments[2]
    other.learner_id = learner.id
    session.add(other)
    session.commit()
    home_admin = auth_headers(make_user(session, home, "agency_admin"))

    no_reason = client.post(
        f"/v1/enrollments/{over.id}/transitions", json={"to": "dropped"}, headers=setup.admin
    )
    by_home = client.post(
        f"/v1/enrollments/{other.id}/transitions",
        json={"to": "dropped", "reason": "x"},
        headers=home_admin,
    )

    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["loc"][-1] == "reason"
    assert by_home.status_code == 403
    setup.cohort.status = CohortStatus.evaluation
    session.add(setup.cohort)
    session.commit()
    late = _drop(client, setup, over.id)
    assert late.status_code == 409 and late.json()["code"] == "cohort_not_running"
    assert late.json()["cohort_status"] == "evaluation"


def test_a_proposed_enrolment_cannot_be_dropped(client: TestClient, session: Session) -> None:
    setup = _running(session, max_absence_jp_halves=0)
    setup.enrollments[0].status = EnrollmentStatus.proposed
    session.add(setup.enrollments[0])
    session.commit()

    refused = _drop(client, setup, setup.enrollments[0].id)

    assert refused.status_code == 409 and refused.json()["code"] == "illegal_transition"
