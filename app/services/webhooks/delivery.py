"""Delivery: claim due deliveries with a lease, send them signed, record what happened.

Claim: one statement marks up to ``limit`` due deliveries (pending, ``next_attempt_at``
passed, no live lease) as leased by this worker until ``now + webhook_lease_seconds`` and
counts the attempt. PostgreSQL picks them with ``FOR UPDATE SKIP LOCKED`` (workers never
wait for, nor take, each other's rows); SQLite runs it under ``BEGIN IMMEDIATE`` (one
writer). A worker killed mid-attempt leaves its lease to expire; another worker then
takes the delivery over: at-least-once, with the same ``webhook-id`` so receivers dedupe.

Send: Standard Webhooks signatures by the ``standardwebhooks`` library (``webhook-id`` is
the delivery id, ``webhook-timestamp`` the time of this attempt, ``webhook-signature``
``v1,<HMAC-SHA256>``), through the SSRF guard (app/services/outbound.py), at most
``webhook_timeout_seconds`` for the whole exchange; only the first KiB of the answer is
read.

Record (only while the lease is still this worker's and the delivery still pending): 2xx
succeeded; 410 Gone disables the subscription (``disabled_reason`` "gone") and fails its
pending deliveries; anything else (3xx too: redirects are not followed; timeouts, refused
destinations, connection errors) is retried after a random wait up to the next of
``webhook_retry_delays`` (full jitter), until ``webhook_retry_window_seconds`` after the
delivery was made; then it has failed.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlmodel import Session
from standardwebhooks import Webhook

from app import __version__
from app.core.config import get_settings
from app.models.base import new_id, utcnow
from app.models.webhook import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from app.services.outbound import DestinationRefused

D = WebhookDelivery.__table__  # type: ignore[attr-defined]
SUB = WebhookSubscription.__table__  # type: ignore[attr-defined]
ATTEMPT = WebhookAttempt.__table__  # type: ignore[attr-defined]
USER_AGENT = f"Bangkom-Webhooks/{__version__}"
BODY_LIMIT = 1024
PENDING = DeliveryStatus.pending.value


@dataclass(frozen=True)
class Claimed:
    id: str
    subscription_id: str
    event_type: str
    payload: str
    attempt: int  # this attempt's number (1 for the first)
    created_at: datetime
    url: str
    secret: str
    previous_secret: str | None = None  # during a rotation's overlap: signs too


@dataclass(frozen=True)
class Outcome:
    delivery: Claimed
    started_at: datetime
    latency_ms: int
    status_code: int | None = None
    response_body: str | None = None
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


def claim(*, session: Session, owner: str, limit: int) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries to ``owner``; committed here. Deliveries of a
    subscription no longer active fail at once (nothing is sent)."""
    now = utcnow()
    lease = timedelta(seconds=get_settings().webhook_lease_seconds)
    due = (
        select(D.c.id)
        .where(
            D.c.next_attempt_at <= now,
            D.c.status == PENDING,
            (D.c.lease_expires_at.is_(None)) | (D.c.lease_expires_at <= now),
        )
        .order_by(D.c.next_attempt_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    rows = session.execute(
        update(D)
        .where(D.c.id.in_(due.scalar_subquery()))
        .values(
            lease_owner=owner,
            lease_expires_at=now + lease,
            attempts=D.c.attempts + 1,
            last_attempt_at=now,
            updated_at=now,
        )
        .returning(
            D.c.id, D.c.subscription_id, D.c.event_type, D.c.payload, D.c.attempts, D.c.created_at
        )
    ).all()
    if not rows:
        session.commit()
        return []
    subs = {
        s.id: s
        for s in session.execute(
            select(
                SUB.c.id,
                SUB.c.url,
                SUB.c.secret,
                SUB.c.active,
                SUB.c.previous_secret,
                SUB.c.previous_secret_expires_at,
            ).where(SUB.c.id.in_({r.subscription_id for r in rows}))
        ).all()
    }
    claimed, inactive = [], []
    for r in rows:
        sub = subs[r.subscription_id]
        if not sub.active:
            inactive.append(r.id)
            continue
        overlap = (
            sub.previous_secret_expires_at is not None and sub.previous_secret_expires_at > now
        )
        claimed.append(
            Claimed(
                r.id, r.subscription_id, r.event_type, r.payload, r.attempts, r.created_at,
                sub.url, sub.secret, sub.previous_secret if overlap else None,
            )
        )  # fmt: skip
    if inactive:
        session.execute(_final(now).where(D.c.id.in_(inactive)))
    session.commit()
    return sorted(claimed, key=lambda c: c.id)


def _final(now: datetime, status: str = DeliveryStatus.failed.value) -> Any:
    return update(D).values(
        status=status, next_attempt_at=None, lease_owner=None, lease_expires_at=None, updated_at=now
    )


def _error(exc: BaseException) -> str:
    if isinstance(exc, DestinationRefused):
        return f"destination refused: {exc.reason}"
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed: {exc}"[:200]
    return f"{type(exc).__name__}: {exc}"[:200]


def _text(raw: bytes) -> str:
    # PostgreSQL text holds no NUL; the log shows a replacement character instead
    return raw[:BODY_LIMIT].decode("utf-8", errors="replace").replace("\x00", "\ufffd")[:BODY_LIMIT]


def headers_for(claimed: Claimed, at: datetime) -> dict[str, str]:
    # Standard Webhooks: several space-separated signatures; a receiver accepts any one, so
    # during a rotation both the old and the new secret verify
    secrets = [claimed.secret] + ([claimed.previous_secret] if claimed.previous_secret else [])
    signature = " ".join(Webhook(s).sign(claimed.id, at, claimed.payload) for s in secrets)
    return {
        "webhook-id": claimed.id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


async def send(client: httpx.AsyncClient, claimed: Claimed) -> Outcome:
    """One attempt; never raises (every failure is an outcome with ``error``)."""
    started_at = utcnow()
    started = time.monotonic()
    status: int | None = None
    body: str | None = None
    error: str | None = None
    try:
        headers = headers_for(claimed, started_at)
        async with asyncio.timeout(get_settings().webhook_timeout_seconds):
            async with client.stream(
                "POST", claimed.url, content=claimed.payload.encode(), headers=headers
            ) as response:
                status = response.status_code
                raw = b""
                async for chunk in response.aiter_bytes():
                    raw += chunk
                    if len(raw) >= BODY_LIMIT:
                        break
                body = _text(raw)
    except Exception as exc:  # noqa: BLE001  (a receiver's failure must not stop the worker)
        error = _error(exc)
        if status is not None:  # the answer came; reading its body failed
            error = f"reading the answer: {error}"[:200]
    latency = int((time.monotonic() - started) * 1000)
    return Outcome(claimed, started_at, latency, status, body, error)


def retry_at(claimed: Claimed, now: datetime, rng: random.Random | None = None) -> datetime | None:
    """When to try again after attempt ``claimed.attempt`` failed (full jitter), or None:
    the retry window has passed."""
    settings = get_settings()
    delays = settings.webhook_retry_delays
    cap = delays[min(claimed.attempt, len(delays)) - 1]
    when = now + timedelta(seconds=(rng or random).uniform(0, cap))
    deadline = claimed.created_at + timedelta(seconds=settings.webhook_retry_window_seconds)
    return None if when > deadline else when


def record(*, session: Session, owner: str, outcomes: list[Outcome]) -> None:
    """Log every attempt and settle its delivery (see the module docstring); committed."""
    # a delivery deleted with its subscription while in flight: its attempt is not logged
    # (``FOR KEY SHARE`` holds the rest until commit, as the attempts' foreign key needs)
    alive = select(D.c.id).where(D.c.id.in_([o.delivery.id for o in outcomes]))
    if outcomes and session.get_bind().dialect.name == "postgresql":
        alive = alive.with_for_update(read=True, key_share=True)
    kept = set(session.execute(alive).scalars()) if outcomes else set()
    outcomes = [o for o in outcomes if o.delivery.id in kept]
    if not outcomes:
        session.commit()
        return
    now = utcnow()
    session.execute(
        ATTEMPT.insert(),
        [
            {
                "id": new_id("wat"),
                "delivery_id": o.delivery.id,
                "number": o.delivery.attempt,
                "started_at": o.started_at,
                "status_code": o.status_code,
                "latency_ms": o.latency_ms,
                "response_body": o.response_body,
                "error": o.error,
                "worker": owner[:64],
            }
            for o in outcomes
        ],
    )
    mine = (D.c.lease_owner == owner) & (D.c.status == PENDING)
    for o in outcomes:
        this = D.c.id == o.delivery.id
        if o.succeeded:
            stmt = _final(now, DeliveryStatus.succeeded.value).where(this, mine)
        elif o.gone:
            stmt = _final(now).where(this, mine)
        else:
            when = retry_at(o.delivery, now)
            if when is None:
                stmt = _final(now).where(this, mine)
            else:
                stmt = (
                    update(D)
                    .where(this, mine)
                    .values(
                        next_attempt_at=when,
                        lease_owner=None,
                        lease_expires_at=None,
                        updated_at=now,
                    )
                )
        session.execute(stmt.values(last_status_code=o.status_code))
        if o.gone:
            _disable_gone(session, o.delivery.subscription_id, now)
    session.commit()


def _disable_gone(session: Session, subscription_id: str, now: datetime) -> None:
    """The receiver said 410 Gone: the subscription stops and its pending deliveries fail."""
    session.execute(
        update(SUB)
        .where(SUB.c.id == subscription_id, SUB.c.active)
        .values(
            active=False,
            disabled_reason="gone",
            disabled_at=now,
            version=SUB.c.version + 1,
            updated_at=now,
        )
    )
    session.execute(
        _final(now).where(D.c.subscription_id == subscription_id, D.c.status == PENDING)
    )
