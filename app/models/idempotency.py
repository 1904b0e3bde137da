"""Idempotency keys: a creating ``POST``'s first answer, kept to replay on a retry.

One row per (caller, key). Claimed (``completed_at`` null) before the handler runs, in
a transaction of its own; completed with the response the handler gave. See
app/core/idempotency.py for the rules.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, Text
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, utcnow


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_key"

    # The user id behind the bearer token (keys of different callers never meet).
    caller: str = Field(primary_key=True, max_length=128)
    key: str = Field(primary_key=True, max_length=255)
    # sha256 of method, path (with query) and body: the same key with another request is 422.
    fingerprint: str = Field(max_length=64)
    status: int | None = None
    # The replayed headers (Content-Type, Location, ETag) as a JSON list of pairs.
    headers: str | None = Field(default=None, sa_type=Text)
    body: bytes | None = Field(default=None, sa_type=LargeBinary)
    created_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True
    )
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
