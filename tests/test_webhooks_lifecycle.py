"""Webhooks end to end through the API and the worker: a subscription made, rotated and
deleted over HTTP, delivered to a real receiver that verifies signatures with the
`standardwebhooks` library."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from app.core.db import new_session
from app.models.base import utcnow
from app.models.webhook import WebhookAttempt, WebhookDelivery
from app.services.webhooks import delivery, fanout
from tests.factories import auth_headers, course_payload, make_agency, make_user
from tests.factories_webhooks import Receiver, receiving, run_worker, webhook_settings


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_settings(), receiving() as r:
        yield r


@pytest.fixture
def admin(session: Session) -> dict[str, str]:
    headers = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    session.rollback()
    return headers


def _subscribe(client: TestClient, admin: dict[str, str], url: str) -> dict[str, Any]:
    made = client.post(
        "/v1/webhooks", json={"url": url, "event_types": ["course.updated"]}, headers=admin
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


def _course_change(client: TestClient, admin: dict[str, str], code: str) -> str:
    made = client.post("/v1/courses", json=course_payload(code=code), headers=admin)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def test_during_a_rotation_both_the_old_and_the_new_secret_verify(
    client: TestClient, admin: dict[str, str], engine: Engine, receiver: Receiver
) -> None:
    sub = _subscribe(client, admin, receiver.url("/old"))
    receiver.secrets["/old"] = sub["secret"]  # a receiver not yet told of the new secret
    rotated = client.post(f"/v1/webhooks/{sub['id']}/rotate-secret", headers=admin)
    assert rotated.status_code == 200, rotated.text
    first = _course_change(client, admin, "ROT-1")
    assert run_worker(engine).succeeded == 1
    receiver.secrets["/old"] = rotated.json()["secret"]  # and one that switched already
    second = _course_change(client, admin, "ROT-2")
    assert run_worker(engine).succeeded == 1
    assert receiver.bad == []
    assert [b["data"]["id"] for b in receiver.bodies("/old")] == [first, second]
    # told not to keep the old one: it no longer verifies
    client.post(
        f"/v1/webhooks/{sub['id']}/rotate-secret", json={"keep_previous": False}, headers=admin
    )
    _course_change(client, admin, "ROT-3")
    run_worker(engine)
    assert len(receiver.bad) == 1 and len(receiver.bodies("/old")) == 2


def test_a_subscription_deleted_while_its_delivery_is_in_flight(
    client: TestClient, admin: dict[str, str], engine: Engine, receiver: Receiver
) -> None:
    sub = _subscribe(client, admin, receiver.url("/gone"))
    receiver.secrets["/gone"] = sub["secret"]
    _course_change(client, admin, "DEL-1")
    with new_session(engine, write=True) as s:
        fanout.fan_out(session=s)
    with new_session(engine, write=True) as s:
        (claimed,) = delivery.claim(session=s, owner="w1", limit=10)
    deleted = client.delete(f"/v1/webhooks/{sub['id']}", headers=admin)
    assert deleted.status_code == 204, deleted.text
    outcome = delivery.Outcome(claimed, utcnow(), 5, 200, "ok")
    with new_session(engine, write=True) as s:  # the answer comes back: nothing to log
        delivery.record(session=s, owner="w1", outcomes=[outcome])
    with Session(engine) as s:
        D, A = WebhookDelivery.__table__.c, WebhookAttempt.__table__.c  # type: ignore[attr-defined]
        assert s.execute(select(func.count()).where(D.subscription_id == sub["id"])).scalar() == 0
        assert s.execute(select(func.count()).where(A.delivery_id == claimed.id)).scalar() == 0
