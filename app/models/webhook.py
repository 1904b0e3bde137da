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

import base64
import binascii
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel
from pydantic import Field as PField
from pydantic_core import PydanticCustomError
from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core import i18n
from app.core.pagination import Page, PageQuery
from app.models.base import UTCDateTime, created_at_field, id_field, updated_at_field
from app.models.types import UNSET, Ident, SincePageQuery, StrictBool, StrictInput, line


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
    # after a rotation that keeps the old secret: deliveries are signed with both until
    # previous_secret_expires_at (Standard Webhooks allows several signatures)
    previous_secret: str | None = Field(default=None, max_length=120)
    previous_secret_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
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


# --- API schemas (the /v1/webhooks API) ----------------------------------------------

EVENT_DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "enrollment.created": (
        "A learner was enrolled in a cohort (or joined its waitlist)",
        "Seorang peserta didaftarkan pada angkatan (atau masuk daftar tunggu)",
    ),
    "enrollment.updated": (
        "An enrolment changed (status, seat, waitlist position, cohort move)",
        "Pendaftaran berubah (status, kursi, urutan daftar tunggu, pindah angkatan)",
    ),
    "enrollment.completed": (
        "An enrolment was evaluated: the learner passed or failed",
        "Pendaftaran telah dievaluasi: peserta lulus atau tidak lulus",
    ),
    "progress.updated": (
        "A learner's progress in a module was recorded",
        "Kemajuan peserta pada suatu mata pelatihan dicatat",
    ),
    "attendance.recorded": (
        "A learner's attendance at a session was recorded",
        "Kehadiran peserta pada suatu sesi dicatat",
    ),
    "certificate.issued": ("A certificate was issued", "Sertifikat diterbitkan"),
    "certificate.revoked": ("A certificate was revoked", "Sertifikat dicabut"),
    "cohort.updated": (
        "A cohort was created or changed (details, status)",
        "Angkatan dibuat atau diubah (rincian, status)",
    ),
    "course.updated": (
        "A course or its curriculum was created or changed",
        "Pelatihan atau kurikulumnya dibuat atau diubah",
    ),
}

# Standard Webhooks: "whsec_" + base64 of the key; 24-64 bytes of key (32-88 base64 chars).
SECRET_PATTERN = r"^whsec_(?:[A-Za-z0-9+/]{4}){8,21}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
# a scheme, then visible ASCII: no spaces, no control characters
URL_PATTERN = r"^[A-Za-z][A-Za-z0-9+.-]*:[!-~]+$"

i18n.PATTERN_MESSAGES[SECRET_PATTERN] = (
    "Write the secret as 'whsec_' followed by the base64 of 24 to 64 random bytes, or leave "
    "it out and one is generated.",
    "Tulis secret sebagai 'whsec_' diikuti base64 dari 24 sampai 64 byte acak, atau "
    "kosongkan agar dibuatkan.",
)
i18n.PATTERN_MESSAGES[URL_PATTERN] = (
    "Write a full URL with its scheme (https://...) and without spaces or control "
    "characters (percent-encode them; an international domain name in its xn-- form).",
    "Tulis URL lengkap dengan skemanya (https://...) tanpa spasi atau karakter kendali "
    "(enkode dengan persen; nama domain internasional dalam bentuk xn--).",
)
i18n.FIELD_MESSAGES.setdefault(
    "url_format",
    (
        "Write a full URL such as https://lms.example.go.id/webhooks/bangkom.",
        "Tulis URL lengkap seperti https://lms.example.go.id/webhooks/bangkom.",
    ),
)
i18n.FIELD_MESSAGES.setdefault(
    "secret_format",
    (
        "The secret's key must be valid base64 of 24 to 64 bytes after 'whsec_'; generate "
        "one with 32 random bytes, or leave it out.",
        "Kunci secret harus base64 yang sah dari 24 sampai 64 byte setelah 'whsec_'; buat "
        "dari 32 byte acak, atau kosongkan.",
    ),
)
i18n.FIELD_MESSAGES.setdefault(
    "event_types_duplicate",
    (
        "Name each event type once.",
        "Sebutkan setiap jenis event satu kali saja.",
    ),
)


def _url(value: str) -> str:
    import httpx  # parsing only; the destination is checked by app/services/outbound.py

    try:
        parsed = httpx.URL(value)
    except (httpx.InvalidURL, ValueError):
        raise PydanticCustomError("url_format", "Write a full URL") from None
    port = parsed.port  # httpx takes 0, -1 and 99999
    if not parsed.scheme or (port is not None and not 0 < port < 65536):
        raise PydanticCustomError("url_format", "Write a full URL") from None
    return value


def _secret(value: str) -> str:
    try:
        key = base64.b64decode(value.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        raise PydanticCustomError("secret_format", "Not base64") from None
    if not 24 <= len(key) <= 64:
        raise PydanticCustomError("secret_format", "24 to 64 bytes") from None
    return value


def _distinct(value: list[WebhookEventType]) -> list[WebhookEventType]:
    if len(set(value)) != len(value):
        raise PydanticCustomError("event_types_duplicate", "Name each event type once")
    return value


WebhookUrl = Annotated[
    str,
    PField(
        min_length=8,
        max_length=2000,
        pattern=URL_PATTERN,
        description="Where to POST events: an http(s) URL whose host resolves to public "
        "addresses only (loopback, private, link-local and metadata addresses are refused)",
        examples=["https://lms.example.go.id/webhooks/bangkom"],
    ),
    AfterValidator(_url),
]
EventTypes = Annotated[
    list[WebhookEventType],
    PField(
        min_length=1,
        max_length=len(WebhookEventType),
        description="Events to receive, each once",
        json_schema_extra={"uniqueItems": True},
    ),
    AfterValidator(_distinct),
]
Secret = Annotated[
    str,
    PField(min_length=38, max_length=96, pattern=SECRET_PATTERN),
    AfterValidator(_secret),
]
Description = Annotated[str, line(max_length=200)]


class WebhookCreate(StrictInput):
    url: WebhookUrl
    event_types: EventTypes
    description: Description | None = None
    secret: Secret | None = PField(
        default=None,
        description="Your own signing secret (Standard Webhooks format); left out, one is "
        "generated. Shown in this answer only.",
    )


class WebhookUpdate(StrictInput):
    """Only the fields sent change."""

    url: WebhookUrl = PField(default=UNSET)
    event_types: EventTypes = PField(default=UNSET)
    description: Description | None = PField(default=UNSET)
    active: StrictBool = PField(
        default=UNSET,
        description="false: no new deliveries (pending ones wait); true: resume, also "
        "after the receiver answered 410 Gone",
    )


class SecretRotation(StrictInput):
    keep_previous: StrictBool = PField(
        default=True,
        description="true: deliveries are signed with the old secret too for 24 hours, so "
        "the receiver can switch without losing one; false: the old secret stops at once "
        "(it leaked)",
    )


class WebhookPublic(BaseModel):
    id: str
    agency_id: str
    url: str
    description: str | None
    event_types: list[str]
    active: bool
    disabled_reason: str | None = PField(
        description="Why inactive: 'disabled' (turned off) or 'gone' (the receiver said 410)"
    )
    disabled_at: datetime | None
    previous_secret_expires_at: datetime | None = PField(
        description="Until then deliveries carry a signature with the previous secret too"
    )
    created_by: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(WebhookPublic):
    secret: str = PField(description="The signing secret: shown only here, store it now")


class WebhookQuery(SincePageQuery):
    agency_id: Ident | None = PField(default=None, description="Platform admins: one agency's")


class EventTypePublic(BaseModel):
    type: str
    description: str
    description_id: str = PField(description="The description in Indonesian")


class EventTypeList(BaseModel):
    items: list[EventTypePublic]


class DeliveryPublic(BaseModel):
    id: str = PField(description="The webhook-id header: the same on every attempt")
    subscription_id: str
    event_type: str
    change_seq: int | None = PField(description="The change feed's seq (null for a ping)")
    resource_type: str | None
    resource_id: str | None
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None = PField(description="Null once final")
    last_status_code: int | None
    last_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime


class AttemptPublic(BaseModel):
    number: int
    started_at: datetime
    status_code: int | None = PField(description="Null: no HTTP answer (see error)")
    latency_ms: int
    response_body: str | None = PField(description="The receiver's answer, first 1 KiB")
    error: str | None
    worker: str | None


class DeliveryDetail(DeliveryPublic):
    payload: str = PField(description="The exact JSON body sent (and signed)")
    attempts_log: list[AttemptPublic]


class DeliveryQuery(PageQuery):
    status: DeliveryStatus | None = None
    event_type: Annotated[str, PField(max_length=40, pattern=r"^[a-z]+\.[a-z]+$")] | None = PField(
        default=None, description="e.g. enrollment.created or webhook.ping"
    )


WebhookPage = Page[WebhookPublic]
DeliveryPage = Page[DeliveryPublic]
