"""The change log: one row per (resource, transaction) that changed a tracked resource.

Written by app/services/sync/changes.py in the same transaction as the change; read by the
change feed (GET /v1/changes) and, later, by the webhook worker. ``seq`` is gap-free and in
commit order (the argument is in app/services/sync/changes.py).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PField
from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime
from app.models.cohort import Cohort
from app.models.course import Course
from app.models.enrollment import Enrollment
from app.models.learner import Learner


class ChangeType(StrEnum):
    course = "course"
    cohort = "cohort"
    session = "session"
    learner = "learner"
    enrollment = "enrollment"
    progress = "progress"
    attendance = "attendance"
    certificate = "certificate"
    jp_record = "jp_record"


class ChangeOp(StrEnum):
    upsert = "upsert"
    delete = "delete"


class Change(SQLModel, table=True):
    """Visibility columns are copies taken at commit, so a reader filters cheaply:
    ``agency_id`` the owner (course, cohort, session: organiser; learner: home agency;
    enrolment, progress, attendance, certificate: the cohort's organiser; jp_record: the
    learner's home agency, which keeps the ledger), ``learner_agency_id``
    the learner's home agency (for a learner: the home agency before the change, so the agency
    a learner left is told), ``course_id`` (partner agencies), ``learner_id`` (learner logins)."""

    __table_args__ = (Index("ix_change_committed_at", "committed_at"),)

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    type: str = Field(max_length=16)
    resource_id: str = Field(max_length=40)
    op: str = Field(max_length=8)
    agency_id: str | None = Field(default=None, max_length=40)
    learner_agency_id: str | None = Field(default=None, max_length=40)
    course_id: str | None = Field(default=None, max_length=40)
    learner_id: str | None = Field(default=None, max_length=40)
    # the webhook event this change announces (app/models/webhook.py WebhookEventType), or
    # null (sessions, learners, certificate edits that are neither issue nor revocation)
    event: str | None = Field(default=None, max_length=40)
    # catalogue changes (course, cohort, session): whether agencies other than the owner
    # could see the resource before or after the change; when not, the feed shows the change
    # to the owner only (no bare tombstones of another agency's drafts). Null: other types.
    public: bool | None = None
    committed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class ChangeCounter(SQLModel, table=True):
    """One row (id 1): the last sequence number handed out. Never pruned, so a sequence
    number is never reused even when every change row has been pruned."""

    __tablename__ = "change_counter"

    id: int = Field(primary_key=True)
    last_seq: int = Field(sa_column=Column(BigInteger, nullable=False))


# ``updated_since`` on the lists that can be large walks (updated_at, id) on an index
# (app/core/pagination.py); declared here, beside the other delta-sync structures.
def _updated_index(table: Any) -> Index:
    return Index(f"ix_{table.name}_updated_at_id", table.c.updated_at, table.c.id)


UPDATED_INDEXES = [
    _updated_index(model.__table__)  # type: ignore[union-attr]
    for model in (Course, Cohort, Learner, Enrollment)
]


# --- API schemas ------------------------------------------------------------------------

_TYPE = r"(course|cohort|session|learner|enrollment|progress|attendance|certificate|jp_record)"
TYPES_PATTERN = rf"^{_TYPE}(,{_TYPE})*$"
MAX_FEED_LIMIT = 1000


class ChangeQuery(BaseModel):
    """The feed's parameters (unknown parameters are a 422)."""

    model_config = ConfigDict(extra="forbid")

    after: str | None = PField(
        default=None,
        min_length=1,
        max_length=40,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="`next_cursor` of the previous page; without it the feed starts at the "
        "oldest retained change",
    )
    types: str | None = PField(
        default=None,
        min_length=1,
        max_length=200,
        pattern=TYPES_PATTERN,
        description="Comma-separated types to follow (default: all): course, cohort, session, "
        "learner, enrollment, progress, attendance, certificate, jp_record",
    )
    limit: int | None = PField(
        default=None, ge=1, le=MAX_FEED_LIMIT, description="Entries per page (default 100)"
    )


class ChangeEntry(BaseModel):
    seq: int = PField(description="Increases by commit order; never reused")
    type: ChangeType
    id: str
    operation: ChangeOp
    changed_at: datetime
    data: dict[str, Any] = PField(
        description="The resource as its GET shows it now, or a tombstone "
        '`{"id": ..., "deleted": true}` when it is gone or no longer visible to you'
    )


class ChangePage(BaseModel):
    items: list[ChangeEntry]
    next_cursor: str | None = PField(
        description="Pass as `after` to continue; also given on the last page (poll with it)"
    )
