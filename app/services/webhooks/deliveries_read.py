"""A subscription's delivery log: its deliveries newest first, one delivery with its attempts;
and what people do with it by hand: redeliver one, or ping the receiver.

Both manual actions only make a delivery due now (``status`` pending, ``next_attempt_at``
now); the worker sends it. A redelivery keeps the delivery's id (the ``webhook-id`` the
receiver deduplicates by), its payload and its attempt count (the log goes on numbering).
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, col, select

from app.core.errors import ProblemError
from app.core.etag import list_etag
from app.core.pagination import decode_cursor, encode_cursor
from app.core.security import Principal
from app.models.base import utcnow
from app.models.webhook import (
    PING_EVENT,
    AttemptPublic,
    DeliveryDetail,
    DeliveryPublic,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from app.services.webhooks.subscriptions import get

NEWEST_FIRST = "-id"


def _public(row: WebhookDelivery) -> DeliveryPublic:
    return DeliveryPublic.model_validate(row, from_attributes=True)


def _etag(row: WebhookDelivery) -> str:
    return list_etag([row.id, row.status, row.attempts, row.updated_at.isoformat()])


def list_deliveries(
    *,
    session: Session,
    principal: Principal,
    webhook_id: str,
    limit: int,
    cursor: str | None,
    status: DeliveryStatus | None = None,
    event_type: str | None = None,
) -> tuple[list[DeliveryPublic], str | None]:
    sub = get(session=session, principal=principal, webhook_id=webhook_id)
    pk: Any = WebhookDelivery.id
    statement = select(WebhookDelivery).where(col(WebhookDelivery.subscription_id) == sub.id)
    if status is not None:
        statement = statement.where(col(WebhookDelivery.status) == status.value)
    if event_type is not None:
        statement = statement.where(col(WebhookDelivery.event_type) == event_type)
    position = decode_cursor(cursor, NEWEST_FIRST)
    if position is not None:
        statement = statement.where(pk < position.id)
    rows = list(session.exec(statement.order_by(pk.desc()).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(NEWEST_FIRST, None, rows[-1].id)
    return [_public(r) for r in rows], next_cursor


def _delivery_not_found(webhook_id: str, delivery_id: str) -> ProblemError:
    return ProblemError(
        404,
        "not_found",
        f"Webhook subscription {webhook_id} has no delivery with id {delivery_id}; "
        "check the id (GET /v1/webhooks/{id}/deliveries lists them).",
        detail_id=f"Langganan webhook {webhook_id} tidak memiliki pengiriman dengan id "
        f"{delivery_id}; periksa id tersebut (GET /v1/webhooks/{{id}}/deliveries "
        "menampilkannya).",
    )


def _delivery(
    session: Session, sub: WebhookSubscription, delivery_id: str, *, for_update: bool = False
) -> WebhookDelivery:
    statement = select(WebhookDelivery).where(
        col(WebhookDelivery.id) == delivery_id, col(WebhookDelivery.subscription_id) == sub.id
    )
    if for_update:
        statement = statement.with_for_update()
    row = session.exec(statement).first()
    if row is None:
        raise _delivery_not_found(sub.id, delivery_id)
    return row


def read_delivery(
    *, session: Session, principal: Principal, webhook_id: str, delivery_id: str
) -> tuple[DeliveryDetail, str]:
    sub = get(session=session, principal=principal, webhook_id=webhook_id)
    row = _delivery(session, sub, delivery_id)
    attempts = session.exec(
        select(WebhookAttempt)
        .where(col(WebhookAttempt.delivery_id) == row.id)
        .order_by(col(WebhookAttempt.number), col(WebhookAttempt.id))
    ).all()
    detail = DeliveryDetail(
        **_public(row).model_dump(),
        payload=row.payload,
        attempts_log=[AttemptPublic.model_validate(a, from_attributes=True) for a in attempts],
    )
    return detail, _etag(row)


def _require_active(sub: WebhookSubscription) -> None:
    if not sub.active:
        raise ProblemError(
            409,
            "webhook_inactive",
            f"Webhook subscription {sub.id} is inactive ({sub.disabled_reason}); activate it "
            'first with PATCH {"active": true}.',
            detail_id=f"Langganan webhook {sub.id} tidak aktif ({sub.disabled_reason}); "
            'aktifkan dulu dengan PATCH {"active": true}.',
        )


def redeliver(
    *, session: Session, principal: Principal, webhook_id: str, delivery_id: str
) -> tuple[DeliveryPublic, str]:
    """Make the delivery due now, whatever its status; same id, same payload."""
    sub = get(session=session, principal=principal, webhook_id=webhook_id, for_update=True)
    row = _delivery(session, sub, delivery_id, for_update=True)
    _require_active(sub)
    now = utcnow()
    row.status, row.next_attempt_at, row.updated_at = DeliveryStatus.pending.value, now, now
    session.add(row)
    session.commit()
    return _public(row), _etag(row)


def ping_payload(subscription_id: str, at: Any) -> str:
    """The body of a ping (Standard Webhooks shape: type, RFC 3339 UTC timestamp, data)."""
    timestamp = at.isoformat().replace("+00:00", "Z")
    body = {"type": PING_EVENT, "timestamp": timestamp, "data": {"subscription_id": subscription_id, "ping": True}}  # fmt: skip
    return json.dumps(body, separators=(",", ":"))


def ping(*, session: Session, principal: Principal, webhook_id: str) -> tuple[DeliveryPublic, str]:
    """A pending ``webhook.ping`` delivery due now; the worker sends it."""
    sub = get(session=session, principal=principal, webhook_id=webhook_id, for_update=True)
    _require_active(sub)
    now = utcnow()
    row = WebhookDelivery(
        subscription_id=sub.id,
        agency_id=sub.agency_id,
        event_type=PING_EVENT,
        payload=ping_payload(sub.id, now),
        status=DeliveryStatus.pending.value,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.commit()
    return _public(row), _etag(row)
