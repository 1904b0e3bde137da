"""Webhook delivery to a real receiver on 127.0.0.1 that verifies every signature with the
``standardwebhooks`` library: payloads, retries, a receiver that is down, 410 Gone, agency
isolation, leases, and what ``prune-changes`` must keep. The worker runs in this process
(``--once``); tests/test_webhooks_delivery_workers.py runs it as processes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlmodel import Session, col

from app.models import Agency
from app.models.base import new_id, utcnow
from app.models.change import Change
from app.models.webhook import (
    PING_EVENT,
    WebhookAttempt,
    WebhookDelivery,
    WebhookFanout,
    WebhookSubscription,
)
from app.services.sync import feed
from app.services.webhooks import delivery
from tests.factories import (
    auth_headers,
    course_payload,
    enrol,
    make_agency,
    make_learner,
    make_open_cohort,
    make_published_course,
    make_user,
)
from tests.factories_webhooks import (
    Receiver,
    make_subscription,
    receiving,
    run_worker,
    webhook_settings,
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_settings(), receiving() as r:
        yield r


def _agency(session: Session) -> tuple[Agency, dict[str, str]]:
    agency = make_agency(session)
    headers = auth_headers(make_user(session, agency, "agency_admin"))
    session.rollback()
    return agency, headers


def _deliveries(engine: Engine, subscription_id: str) -> list[WebhookDelivery]:
    with Session(engine) as s:
        stmt = select(WebhookDelivery).where(
            col(WebhookDelivery.subscription_id) == subscription_id
        )
        return list(s.exec(stmt.order_by(col(WebhookDelivery.id))).scalars())  # type: ignore[call-overload]


def _attempts(engine: Engine, delivery_id: str) -> list[WebhookAttempt]:
    with Session(engine) as s:
        stmt = select(WebhookAttempt).where(col(WebhookAttempt.delivery_id) == delivery_id)
        return list(s.exec(stmt.order_by(col(WebhookAttempt.number))).scalars())  # type: ignore[call-overload]


def _course(client: TestClient, admin: dict[str, str], code: str) -> dict[str, Any]:
    """A draft course: one change, one course.updated."""
    made = client.post("/v1/courses", json=course_payload(code=code), headers=admin)
    assert made.status_code == 201, made.text
    return dict(made.json())


def _due_now(engine: Engine) -> None:
    """Time passes: every pending retry is due now (no minutes of sleeping)."""
    with engine.begin() as conn:
        conn.execute(
            update(WebhookDelivery.__table__)  # type: ignore[attr-defined]
            .where(WebhookDelivery.__table__.c.status == "pending")  # type: ignore[attr-defined]
            .values(next_attempt_at=utcnow())
        )


def test_enrolment_is_announced_signed_with_its_representation(
    client: TestClient, session: Session, engine: Engine, receiver: Receiver
) -> None:
    agency, admin = _agency(session)
    sub = make_subscription(session, agency, receiver.url("/a"), ["enrollment.created"])
    receiver.expect(sub, "/a")
    course = make_published_course(client, admin)
    cohort = make_open_cohort(client, admin, course["id"])
    learner = make_learner(client, admin)
    made = enrol(client, admin, cohort["id"], learner["learner_key"])
    stats = run_worker(engine)
    assert receiver.bad == []
    (body,) = receiver.bodies("/a")  # course and cohort changes were not asked for
    assert body["type"] == "enrollment.created"
    data = body["data"]
    assert data["id"] == made["id"] and data["operation"] == "upsert"
    assert data["resource"] == client.get(f"/v1/enrollments/{made['id']}", headers=admin).json()
    with Session(engine) as s:  # reads only: never holds SQLite's write lock
        change = s.get(Change, data["seq"])
    assert change is not None and change.resource_id == made["id"]
    assert body["timestamp"].endswith("Z")
    (got,) = receiver.received
    assert got.headers["content-type"] == "application/json"
    assert got.headers["user-agent"].startswith("Bangkom-Webhooks/")
    (row,) = _deliveries(engine, sub.id)
    assert row.id == got.webhook_id and row.status == "succeeded" and row.next_attempt_at is None
    assert row.change_seq == data["seq"] and row.event_type == "enrollment.created"
    (attempt,) = _attempts(engine, row.id)
    assert attempt.status_code == 200 and attempt.response_body == "answer 200"
    assert attempt.number == 1 and attempt.latency_ms >= 0 and attempt.worker
    assert stats.succeeded == 1
    # nothing more is owed: a second run sends nothing
    assert run_worker(engine).attempts == 0


def test_500_then_200_is_two_attempts_with_the_same_webhook_id(
    client: TestClient, session: Session, engine: Engine, receiver: Receiver
) -> None:
    agency, admin = _agency(session)
    sub = make_subscription(session, agency, receiver.url("/r"), ["course.updated"])
    receiver.expect(sub, "/r")
    receiver.answers["/r"] = [500]
    course = _course(client, admin, "RTR-1")
    run_worker(engine)
    _due_now(engine)
    run_worker(engine)
    assert receiver.bad == []
    ids = receiver.ids("/r")
    assert len(ids) == 2 and len(set(ids)) == 1  # one delivery, attempted twice
    (row,) = _deliveries(engine, sub.id)
    assert row.status == "succeeded" and row.attempts == 2 and row.last_status_code == 200
    log = _attempts(engine, row.id)
    assert [(a.number, a.status_code, a.response_body) for a in log] == [
        (1, 500, "answer 500"),
        (2, 200, "answer 200"),
    ]
    assert receiver.bodies("/r")[0]["data"]["id"] == course["id"]


def test_receiver_down_for_a_while_gets_everything_once_it_is_back(
    client: TestClient, session: Session, engine: Engine, receiver: Receiver
) -> None:
    agency, admin = _agency(session)
    sub = make_subscription(session, agency, receiver.url("/d"), ["enrollment.created"])
    receiver.expect(sub, "/d")
    receiver.stop()  # connection refused from now on
    course = make_published_course(client, admin)
    cohort = make_open_cohort(client, admin, course["id"])
    made = [
        enrol(client, admin, cohort["id"], make_learner(client, admin)["learner_key"])["id"]
        for _ in range(3)
    ]
    for _ in range(3):  # three rounds of failed attempts
        failed = run_worker(engine)
        assert failed.attempts == 3 and failed.succeeded == 0
        assert all(o.error and o.error.startswith("connection failed") for o in failed.outcomes)
        _due_now(engine)
    receiver.start()  # back, on the same port
    assert run_worker(engine).succeeded == 3
    assert receiver.bad == []
    assert sorted(b["data"]["id"] for b in receiver.bodies("/d")) == sorted(made)
    rows = _deliveries(engine, sub.id)
    assert {r.status for r in rows} == {"succeeded"} and {r.attempts for r in rows} == {4}
    assert len(_attempts(engine, rows[0].id)) == 4


def test_410_gone_disables_the_subscription_and_fails_what_is_pending(
    client: TestClient, session: Session, engine: Engine, receiver: Receiver
) -> None:
    agency, admin = _agency(session)
    sub = make_subscription(session, agency, receiver.url("/g"), ["course.updated"])
    receiver.expect(sub, "/g")
    receiver.answers["/g"] = [410]
    make_published_course(client, admin)  # several course changes: several deliveries
    run_worker(engine, concurrency=1)
    assert len(receiver.ids("/g")) == 1  # the first answer was 410: the rest never sent
    with Session(engine) as s:
        gone = s.get(WebhookSubscription, sub.id)
    assert gone is not None and not gone.active
    assert gone.disabled_reason == "gone" and gone.disabled_at is not None and gone.version == 2
    rows = _deliveries(engine, sub.id)
    assert len(rows) > 1 and {r.status for r in rows} == {"failed"}
    assert {r.next_attempt_at for r in rows} == {None}
    # later changes are not fanned out to it
    make_published_course(client, admin)
    run_worker(engine)
    assert len(_deliveries(engine, sub.id)) == len(rows)


def test_a_subscription_never_hears_of_another_agencys_cohort(
    client: TestClient, session: Session, engine: Engine, receiver: Receiver
) -> None:
    mine, admin = _agency(session)
    other, _ = _agency(session)
    subs = {
        "/mine": make_subscription(session, mine, receiver.url("/mine")),
        "/other": make_subscription(session, other, receiver.url("/other")),
    }
    for path, sub in subs.items():
        receiver.expect(sub, path)
    course = make_published_course(client, admin)
    draft = client.post(
        "/v1/cohorts",
        json={
            "course_id": course["id"],
            "number": 9,
            "year": 2025,
            "starts_on": "2025-06-02",
            "ends_on": "2025-06-06",
            "capacity": 10,
        },
        headers=admin,
    )
    assert draft.status_code == 201 and draft.json()["status"] == "draft"
    cohort = make_open_cohort(client, admin, course["id"])
    made = enrol(client, admin, cohort["id"], make_learner(client, admin)["learner_key"])
    run_worker(engine)
    assert receiver.bad == []
    mine_seen = {(b["type"], b["data"]["id"]) for b in receiver.bodies("/mine")}
    other_seen = {(b["type"], b["data"]["id"]) for b in receiver.bodies("/other")}
    assert ("enrollment.created", made["id"]) in mine_seen
    assert ("cohort.updated", draft.json()["id"]) in mine_seen
    # the other agency: the public catalogue only, never the draft cohort or the enrolment
    assert ("enrollment.created", made["id"]) not in other_seen
    assert ("cohort.updated", draft.json()["id"]) not in other_seen
    assert {t for t, _ in other_seen} <= {"course.updated", "cohort.updated"}
    assert ("cohort.updated", cohort["id"]) in other_seen
    for body in receiver.bodies("/other"):  # what it is shown is what its own GET shows
        assert body["data"]["resource"]["id"] == body["data"]["id"]
        assert body["data"]["resource"].get("status") != "draft"


def test_a_subscription_is_told_of_later_changes_only(
    client: TestClient, session: Session, engine: Engine, receiver: Receiver
) -> None:
    agency, admin = _agency(session)
    before = make_published_course(client, admin)
    sub = make_subscription(session, agency, receiver.url("/late"), ["course.updated"])
    receiver.expect(sub, "/late")
    client.patch(f"/v1/courses/{before['id']}", json={"title": "Judul Baru"}, headers=admin)
    run_worker(engine)
    (body,) = receiver.bodies("/late")
    assert body["data"]["resource"]["title"] == "Judul Baru"


def test_refused_destination_and_redirect_are_retried_not_followed(
    client: TestClient, session: Session, engine: Engine, receiver: Receiver
) -> None:
    agency, admin = _agency(session)
    private = make_subscription(session, agency, "http://10.0.0.1/hook", ["course.updated"])
    moved = make_subscription(session, agency, receiver.url("/moved"), ["course.updated"])
    receiver.expect(moved, "/moved")
    receiver.answers["/moved"] = [302] * 50
    _course(client, admin, "RDR-1")
    stats = run_worker(engine)
    errors = {o.delivery.subscription_id: (o.status_code, o.error) for o in stats.outcomes}
    assert errors[private.id] == (None, "destination refused: address")
    assert errors[moved.id] == (302, None)
    assert len(receiver.ids("/moved")) == 1  # the redirect was not followed
    for sub in (private, moved):
        (row,) = _deliveries(engine, sub.id)
        assert row.status == "pending" and row.next_attempt_at is not None


def test_retries_stop_when_the_window_has_passed(
    client: TestClient, session: Session, engine: Engine, receiver: Receiver
) -> None:
    agency, admin = _agency(session)
    sub = make_subscription(session, agency, receiver.url("/w"), ["course.updated"])
    receiver.expect(sub, "/w")
    receiver.answers["/w"] = [503] * 50
    _course(client, admin, "WIN-1")
    run_worker(engine)
    with engine.begin() as conn:  # made a day ago: the next failure is the last
        conn.execute(
            update(WebhookDelivery.__table__).values(  # type: ignore[attr-defined]
                created_at=utcnow() - timedelta(hours=24), next_attempt_at=utcnow()
            )
        )
    run_worker(engine)
    (row,) = _deliveries(engine, sub.id)
    assert row.status == "failed" and row.next_attempt_at is None and row.attempts == 2
    assert row.last_status_code == 503


def test_full_jitter_backoff_grows_and_stays_under_its_cap() -> None:
    import random

    with webhook_settings(BANGKOM_WEBHOOK_RETRY_DELAYS="5,30,120"):
        now = utcnow()
        rng = random.Random(7)
        for attempt, cap in ((1, 5), (2, 30), (3, 120), (9, 120)):
            claimed = delivery.Claimed("msg_x", "whk_x", "e", "{}", attempt, now, "u", "s")
            waits = [
                (delivery.retry_at(claimed, now, rng) - now).total_seconds() for _ in range(200)
            ]  # type: ignore[operator]
            assert 0 <= min(waits) and max(waits) <= cap and max(waits) > cap * 0.8


def test_an_expired_lease_is_taken_over_with_the_same_webhook_id(
    client: TestClient, session: Session, engine: Engine, receiver: Receiver
) -> None:
    agency, admin = _agency(session)
    sub = make_subscription(session, agency, receiver.url("/l"), ["course.updated"])
    receiver.expect(sub, "/l")
    _course(client, admin, "LSE-1")
    from app.core.db import new_session
    from app.services.webhooks import fanout

    with new_session(engine, write=True) as s:
        fanout.fan_out(session=s)
    with new_session(engine, write=True) as s:  # a worker claims it, then dies
        (lost,) = delivery.claim(session=s, owner="dead-worker", limit=10)
    assert run_worker(engine).attempts == 0  # leased: nobody else touches it
    with engine.begin() as conn:
        conn.execute(
            update(WebhookDelivery.__table__).values(  # type: ignore[attr-defined]
                lease_expires_at=utcnow() - timedelta(seconds=1)
            )
        )
    assert run_worker(engine).succeeded == 1
    assert receiver.ids("/l") == [lost.id]
    (row,) = _deliveries(engine, sub.id)
    assert row.status == "succeeded" and row.attempts == 2  # the lost attempt counts
    # the dead worker's late result changes nothing: its lease is gone
    from app.services.webhooks.delivery import Outcome

    with new_session(engine, write=True) as s:
        delivery.record(
            session=s, owner="dead-worker", outcomes=[Outcome(lost, utcnow(), 5, 500, "x")]
        )
    (row,) = _deliveries(engine, sub.id)
    assert row.status == "succeeded"


def test_pings_and_disabled_subscriptions(
    session: Session, engine: Engine, receiver: Receiver
) -> None:
    agency, _ = _agency(session)
    live = make_subscription(session, agency, receiver.url("/p"))
    off = make_subscription(session, agency, receiver.url("/off"), active=False)
    receiver.expect(live, "/p")
    for sub in (live, off):  # what POST /v1/webhooks/{id}/ping leaves for the worker
        body = f'{{"type":"{PING_EVENT}","timestamp":"2026-11-22T00:00:00Z","data":{{"subscription_id":"{sub.id}","ping":true}}}}'
        session.add(
            WebhookDelivery(
                id=new_id("msg"),
                subscription_id=sub.id,
                agency_id=agency.id,
                event_type=PING_EVENT,
                payload=body,
                next_attempt_at=utcnow(),
            )
        )
    session.commit()
    session.rollback()
    run_worker(engine)
    (ping,) = receiver.bodies("/p")
    assert ping["type"] == PING_EVENT and ping["data"] == {"subscription_id": live.id, "ping": True}
    (sent,) = _deliveries(engine, live.id)
    (skipped,) = _deliveries(engine, off.id)
    assert sent.status == "succeeded" and skipped.status == "failed"
    assert _attempts(engine, skipped.id) == []  # nothing was sent to a disabled subscription


def test_prune_keeps_changes_not_yet_fanned_out(
    client: TestClient, session: Session, engine: Engine, receiver: Receiver
) -> None:
    agency, admin = _agency(session)
    sub = make_subscription(session, agency, receiver.url("/k"), ["course.updated"])
    receiver.expect(sub, "/k")
    course = make_published_course(client, admin)
    with engine.begin() as conn:  # every change is older than the retention
        conn.execute(
            update(Change.__table__).values(committed_at=utcnow() - timedelta(days=400))  # type: ignore[attr-defined]
        )
    with Session(engine) as s:
        kept = feed.prune(session=s, days=90)
    assert kept == 0  # the worker has not announced them yet
    run_worker(engine)
    assert {b["data"]["id"] for b in receiver.bodies("/k")} == {course["id"]}
    with Session(engine) as s:
        fanned = s.get(WebhookFanout, 1)
        assert fanned is not None
        assert feed.prune(session=s, days=90) > 0  # announced: now they may go
