"""Each of the nine webhook events, produced through the API and delivered to a real
receiver that verifies the signatures; the resource in each payload is what the agency's own
GET shows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.models import Agency
from tests.factories import (
    auth_headers,
    enrol,
    make_agency,
    make_learner,
    make_open_cohort,
    make_published_course,
    make_user,
)
from tests.factories_attendance import attendance_setup
from tests.factories_certificates import evaluated_cohort, issued
from tests.factories_evaluation import complete_all, make_evaluation
from tests.factories_progress import record, setup_progress
from tests.factories_webhooks import (
    ALL_EVENTS,
    Receiver,
    find,
    make_subscription,
    receiving,
    run_worker,
    webhook_settings,
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_settings(), receiving() as r:
        yield r


def _listen(session: Session, receiver: Receiver, agency: Agency | str) -> None:
    path = f"/agency/{agency if isinstance(agency, str) else agency.id}"
    sub = make_subscription(session, agency, receiver.url(path), ALL_EVENTS)
    receiver.expect(sub, path)


def _delivered(engine: Engine, receiver: Receiver) -> list[dict[str, Any]]:
    run_worker(engine)
    assert receiver.bad == []
    return receiver.bodies()


def test_catalogue_and_enrolment_events(
    client: TestClient, session: Session, engine: Engine, receiver: Receiver
) -> None:
    agency = make_agency(session)
    admin = auth_headers(make_user(session, agency, "agency_admin"))
    _listen(session, receiver, agency)
    course = make_published_course(client, admin)
    cohort = make_open_cohort(client, admin, course["id"])
    made = enrol(client, admin, cohort["id"], make_learner(client, admin)["learner_key"])
    moved = client.post(
        f"/v1/enrollments/{made['id']}/transitions", json={"to": "verified"}, headers=admin
    )
    assert moved.status_code == 200, moved.text
    bodies = _delivered(engine, receiver)
    now = {
        "course": client.get(f"/v1/courses/{course['id']}", headers=admin).json(),
        "cohort": client.get(f"/v1/cohorts/{cohort['id']}", headers=admin).json(),
        "enrollment": client.get(f"/v1/enrollments/{made['id']}", headers=admin).json(),
    }
    assert find(bodies, "course.updated", course["id"])["data"]["resource"] == now["course"]
    assert find(bodies, "cohort.updated", cohort["id"])["data"]["resource"] == now["cohort"]
    created = find(bodies, "enrollment.created", made["id"])
    updated = find(bodies, "enrollment.updated", made["id"])
    assert created["data"]["seq"] < updated["data"]["seq"]
    # the representation at fan-out time: both show the enrolment as it is now
    assert updated["data"]["resource"] == now["enrollment"]
    assert updated["data"]["resource"]["status"] == "verified"


def test_progress_and_attendance_events(
    client: TestClient, session: Session, engine: Engine, receiver: Receiver
) -> None:
    s = setup_progress(client, session, learners=1)
    _listen(session, receiver, s.agency_id)
    (enrolment,) = s.enrollments
    put = client.put(
        f"/v1/enrollments/{enrolment}/progress/{s.assessed}", json=record(), headers=s.headers
    )
    assert put.status_code == 201, put.text
    ctx = attendance_setup(client, session, learners={"budi": {"name": "Budi Santoso"}})
    _listen(session, receiver, ctx["agency"])
    budi = ctx["enrollments"]["budi"]["id"]
    present = client.put(f"{ctx['url']}/{budi}", json={"status": "present"}, headers=ctx["headers"])
    assert present.status_code == 200, present.text
    bodies = _delivered(engine, receiver)
    progress = [b for b in bodies if b["type"] == "progress.updated"]
    assert [p["data"]["resource"]["module_id"] for p in progress] == [s.assessed]
    assert progress[0]["data"]["resource"]["enrollment_id"] == enrolment
    (attended,) = [b for b in bodies if b["type"] == "attendance.recorded"]
    resource = attended["data"]["resource"]
    assert resource["enrollment_id"] == budi and resource["status"] == "present"
    assert resource["learner_name"] == "Budi Santoso"


def test_evaluation_completes_and_certificates_are_issued_and_revoked(
    client: TestClient, session: Session, engine: Engine, receiver: Receiver
) -> None:
    setup = make_evaluation(session, modules=[(10.0, "classroom", True, 100.0)], learners=2)
    _listen(session, receiver, setup.agency)
    high, low = setup.enrollments
    complete_all(session, setup, high, "91")
    complete_all(session, setup, low, "40")
    session.rollback()
    evaluated = client.post(f"{setup.url}/evaluate", headers=setup.admin)
    assert evaluated.status_code == 200, evaluated.text
    bodies = _delivered(engine, receiver)
    completed = {b["data"]["id"]: b for b in bodies if b["type"] == "enrollment.completed"}
    assert set(completed) == {high.id, low.id}
    assert completed[high.id]["data"]["resource"]["status"] == "passed"
    assert completed[low.id]["data"]["resource"]["status"] == "failed"

    admin = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    session.rollback()
    made = evaluated_cohort(client, session, admin, passed=1)
    _listen(session, receiver, made.cohort["agency_id"])
    (certificate,) = issued(client, admin, made.cohort["id"])
    revoked = client.post(
        f"/v1/certificates/{certificate['id']}/revoke", json={"reason": "Data salah"}, headers=admin
    )
    assert revoked.status_code == 200, revoked.text
    bodies = _delivered(engine, receiver)
    issued_body = find(bodies, "certificate.issued", certificate["id"])
    revoked_body = find(bodies, "certificate.revoked", certificate["id"])
    assert issued_body["data"]["seq"] < revoked_body["data"]["seq"]
    now = client.get(f"/v1/certificates/{certificate['id']}", headers=admin).json()
    assert revoked_body["data"]["resource"] == now and now["valid"] is False
