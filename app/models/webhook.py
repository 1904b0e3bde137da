"""Webhooks: an agency's subscriptions, the deliveries the worker owes them, and each
delivery's attempts (the delivery log).

Events come from the change log (app/models/change.py: ``Change.event`` names the webhook
event of a change when it has one). The worker fans the log out in seq order
(``WebhookFanout.last_seq`` is how far it got) into one ``WebhookDelivery`` per (subscription,
change) the subscription's agency may see and asked for, in the transaction that moves
``last_seq``: nothing is announced that did not commit, nothing that committed is skipped.

A delivery's id (``msg_...``) is the Standard Webhooks ``webhook-id``: the same on every
attempt and on a manual redelivery, so receivers deduplicate by it. ``payload`` holds the
exact JSON body, fixed at fan-out, so every attempt signs the same bytes.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, created_at_field, id_field, updated_at_field


class WebhookEventType(StrEnum):
    enrollment_created = "enrollment.created"
    enrollment_updated = "enrollment.updated"
    enrollment_completed = "enrollment.completed"
    progress_updated = "progress.updated"
    attendance_recorded = "attendance.recorded"
    certificate_issued = "certificate.issued"
    certificate_revoked = "certificate.revoked"
    cohort_updated = "cohort.updated"
    course_updated = "course.updated"


PING_EVENT = "webhook.ping"  # sent by POST /v1/webhooks/{id}/ping, never subscribed to


class DeliveryStatus(StrEnum):
    pending = "pending"  # due at next_attempt_at (first attempt, retry or redelivery)
    succeeded = "succeeded"  # a 2xx answer
    failed = "failed"  # gave up: retries exhausted, 410 Gone, or the subscription is disabled


class WebhookSubscription(SQLModel, table=True):
    __tablename__ = "webhook_subscription"

    id: str = id_field("whk")
    agency_id: str = Field(foreign_key="agency.id", index=True, max_length=40)
    url: str = Field(max_length=2000)
    description: str | None = Field(default=None, max_length=200)
    event_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Standard Webhooks symmetric secret ``whsec_`` + base64 of 24-64 random bytes. Kept in
    # the clear: signing needs it (like Stripe and GitHub); shown to the agency once.
    secret: str = Field(max_length=120)
    active: bool = True
    # why it is inactive: "disabled" (by a person or client) or "gone" (the receiver said 410)
    disabled_reason: str | None = Field(default=None, max_length=16)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: str | None = Field(default=None, max_length=40)
    # the change log's last seq when the subscription was created: it is told of later
    # changes only (a worker that lags must not announce older ones to it)
    start_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    version: int = 1
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("subscription_id", "change_seq", name="uq_webhook_delivery_change"),
        Index("ix_webhook_delivery_due", "next_attempt_at"),
        Index("ix_webhook_delivery_subscription", "subscription_id", "id"),
    )

    id: str = id_field("msg")  # the webhook-id header
    subscription_id: str = Field(foreign_key="webhook_subscription.id", max_length=40)
    agency_id: str = Field(max_length=40)
    event_type: str = Field(max_length=40)
    change_seq: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    resource_type: str | None = Field(default=None, max_length=16)
    resource_id: str | None = Field(default=None, max_length=40)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default=DeliveryStatus.pending.value, max_length=16)
    attempts: int = 0
    # when the next attempt is due; null once the delivery is final (succeeded or failed)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # a worker's lease on the attempt in flight (expired leases are taken over)
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status_code: int | None = None
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class WebhookAttempt(SQLModel, table=True):
    """One HTTP attempt of a delivery: the delivery log."""

    __tablename__ = "webhook_attempt"
    __table_args__ = (Index("ix_webhook_attempt_delivery", "delivery_id", "number"),)

    id: str = id_field("wat")
    delivery_id: str = Field(foreign_key="webhook_delivery.id", max_length=40)
    number: int
    started_at: datetime = Field(sa_type=UTCDateTime)
    status_code: int | None = None  # null: no HTTP answer (see error)
    latency_ms: int
    response_body: str | None = Field(default=None, max_length=1024)  # truncated
    error: str | None = Field(default=None, max_length=200)  # timeout, refused address, ...
    worker: str | None = Field(default=None, max_length=64)


class WebhookFanout(SQLModel, table=True):
    """One row (id 1): the last change seq the worker has fanned out into deliveries.
    ``bangkom prune-changes`` keeps every change after it (nothing is pruned unannounced)."""

    __tablename__ = "webhook_fanout"

    id: int = Field(primary_key=True)
    last_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
