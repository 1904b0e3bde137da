"""The change log names the webhook event of each change (Change.event): what webhooks
announce. Checked on the log itself, for each way the API changes a resource."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.models.change import Change
from app.models.enrollment import EnrollmentStatus
from tests.factories import (
    auth_headers,
    enrol,
    make_agency,
    make_learner,
    make_open_cohort,
    make_published_course,
    make_user,
)
from tests.factories_certificates import evaluated_cohort, issued, set_outcome


def _events(session: Session, resource_id: str) -> list[str | None]:
    session.expire_all()
    rows = session.exec(
        select(Change).where(col(Change.resource_id) == resource_id).order_by(col(Change.seq))
    ).all()
    return [row.event for row in rows]


def _admin(session: Session) -> dict[str, str]:
    headers = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    session.commit()
    return headers


def test_enrolment_created_updated_completed(client: TestClient, session: Session) -> None:
    admin = _admin(session)
    course = make_published_course(client, admin)
    cohort = make_open_cohort(client, admin, course["id"])
    learner = make_learner(client, admin)
    enrolment = enrol(client, admin, cohort["id"], learner["learner_key"])
    moved = client.post(
        f"/v1/enrollments/{enrolment['id']}/transitions",
        json={"to": "verified"},
        headers=admin,
    )
    assert moved.status_code == 200, moved.text
    set_outcome(session, enrolment["id"], EnrollmentStatus.passed, 9000, "memuaskan")
    assert _events(session, enrolment["id"]) == [
        "enrollment.created",
        "enrollment.updated",
        "enrollment.completed",
    ]
    # catalogue changes announce <type>.updated; a learner announces nothing
    assert set(_events(session, course["id"])) == {"course.updated"}
    assert set(_events(session, cohort["id"])) == {"cohort.updated"}
    assert set(_events(session, learner["id"])) == {None}


def test_bulk_enrolment_announces_created(client: TestClient, session: Session) -> None:
    admin = _admin(session)
    course = make_published_course(client, admin)
    cohort = make_open_cohort(client, admin, course["id"])
    learners = [make_learner(client, admin) for _ in range(2)]
    bulk = client.post(
        f"/v1/cohorts/{cohort['id']}/enrollments/bulk",
        json=[{"learner_key": item["learner_key"]} for item in learners],
        headers=admin,
    )
    assert bulk.status_code in (200, 201), bulk.text
    rows = session.exec(
        select(Change).where(col(Change.type) == "enrollment", col(Change.agency_id).is_not(None))
    ).all()
    mine = [r for r in rows if r.course_id == course["id"]]
    assert len(mine) == 2 and {r.event for r in mine} == {"enrollment.created"}


def test_certificate_issued_then_revoked(client: TestClient, session: Session) -> None:
    admin = _admin(session)
    made = evaluated_cohort(client, session, admin, passed=1)
    (certificate,) = issued(client, admin, made.cohort["id"])
    revoked = client.post(
        f"/v1/certificates/{certificate['id']}/revoke",
        json={"reason": "Data salah"},
        headers=admin,
    )
    assert revoked.status_code == 200, revoked.text
    assert _events(session, certificate["id"]) == ["certificate.issued", "certificate.revoked"]
