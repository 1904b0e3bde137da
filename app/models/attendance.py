"""Attendance of a learner (by enrolment) at one session of a cohort.

One row per (session, enrolment). ``minutes_attended`` is what the learner was there for
(recorded by hand, or summed from a Zoom participant report without double-counting
overlapping rows). The completion rules read it to find the JP a learner missed.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, WithJsonSchema
from pydantic import Field as PField
from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import created_at_field, enum_type, id_field, updated_at_field
from app.models.enrollment import EnrollmentStatus
from app.models.types import Ident, QueryBool, SincePageQuery, StrictInput, TimeZone, integer


class AttendanceStatus(StrEnum):
    present = "present"
    late = "late"
    excused = "excused"
    absent = "absent"


class Attendance(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("session_id", "enrollment_id", name="uq_attendance_session_enrollment"),
        Index("ix_attendance_enrollment", "enrollment_id", "session_id"),
    )

    id: str = id_field("att")
    cohort_id: str = Field(foreign_key="cohort.id", index=True, max_length=40)
    session_id: str = Field(foreign_key="cohort_session.id", max_length=40)
    enrollment_id: str = Field(foreign_key="enrollment.id", max_length=40)
    status: AttendanceStatus = Field(sa_type=enum_type(AttendanceStatus))
    minutes_attended: int = 0
    source: str = Field(default="manual", max_length=20, description="manual | zoom")
    recorded_by: str | None = Field(default=None, max_length=40)
    version: int = 1
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


# --- API schemas ------------------------------------------------------------------

MAX_SESSION_MINUTES = 24 * 60
MAX_BULK_ROWS = 1000


class AttendancePut(StrictInput):
    """One learner's attendance at one session."""

    status: AttendanceStatus
    minutes_attended: int | None = integer(
        ge=0,
        le=MAX_SESSION_MINUTES,
        default=None,
        description="At most the session's length; left out: the whole session when "
        "present, 0 otherwise",
    )


class AttendanceBulkRow(AttendancePut):
    enrollment_id: Ident


class AttendanceBulk(StrictInput):
    items: list[AttendanceBulkRow] = PField(min_length=1, max_length=MAX_BULK_ROWS)


class AttendancePublic(BaseModel):
    """A seated learner of the session and their record (``status`` null: none yet)."""

    session_id: str
    cohort_id: str
    enrollment_id: str
    enrollment_status: EnrollmentStatus
    learner_id: str
    learner_key: str
    learner_name: str
    status: AttendanceStatus | None = PField(description="null: nothing recorded yet")
    minutes_attended: int | None
    source: str | None = PField(description="manual | zoom; null when nothing is recorded")
    recorded_by: str | None
    version: int | None
    updated_at: datetime | None


class AttendancePage(BaseModel):
    items: list[AttendancePublic]
    next_cursor: str | None


class AttendanceQuery(SincePageQuery):
    """Page of a session's attendance list (unknown parameters are a 422)."""


class AttendanceBulkRowResult(BaseModel):
    row: int = PField(description="1 for the first item")
    enrollment_id: str
    status: AttendanceStatus
    minutes_attended: int | None = PField(description="As stored (null when rejected)")
    errors: list[dict[str, Any]] = PField(description="Each problem: loc, msg, msg_id, type")


class AttendanceBulkResult(BaseModel):
    written: int = PField(description="Records written (all of them, or none)")
    rows: list[AttendanceBulkRowResult]


# --- Zoom participant report import -----------------------------------------------

PresentShare = Annotated[
    Decimal,
    PField(gt=0, le=1),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": 1}),
]


class ZoomImportQuery(BaseModel):
    """Parameters of a Zoom report import (unknown parameters are a 422)."""

    model_config = ConfigDict(extra="forbid")

    present_share: PresentShare | None = PField(
        default=None,
        description="Share of the session a learner must attend to count as present (0-1); "
        "default: the server's setting (0.8)",
    )
    late_after_minutes: int = PField(
        default=15,
        ge=0,
        le=MAX_SESSION_MINUTES,
        description="Present learners who first joined more than this many minutes after "
        "the start are recorded late",
    )
    timezone: TimeZone | None = PField(
        default=None,
        description="Zone of the file's times when they carry no offset; default: the "
        "cohort's (Zoom writes the times in the account's zone)",
    )
    dry_run: QueryBool = PField(default=False, description="Match and compute, write nothing")


class ZoomMatchedBy(StrEnum):
    email = "email"
    name = "name"


class ZoomUnmatchedReason(StrEnum):
    no_match = "no_match"
    ambiguous_name = "ambiguous_name"
    waiting_room = "waiting_room"
    unreadable_times = "unreadable_times"


class ZoomMatched(BaseModel):
    enrollment_id: str
    learner_name: str
    matched_by: ZoomMatchedBy
    rows: list[int] = PField(description="Lines of the file counted for this learner")
    first_joined_at: datetime | None = PField(
        description="First join inside the session (cohort's offset); null if none"
    )
    minutes_attended: int = PField(description="Inside the session, overlaps counted once")
    status: AttendanceStatus


class ZoomUnmatched(BaseModel):
    rows: list[int] = PField(description="Lines of the file")
    name: str
    email: str | None
    minutes: int = PField(description="Inside the session, overlaps counted once")
    reason: ZoomUnmatchedReason
    candidates: list[str] = PField(
        default_factory=list, description="Enrolments the name fits (ambiguous_name)"
    )


class ZoomImportResult(BaseModel):
    session_id: str
    dry_run: bool
    written: int = PField(description="Records written (0 on a dry run)")
    present_share: float = PField(description="The share used (0-1)")
    late_after_minutes: int
    timezone: str = PField(description="Zone the file's times were read in")
    matched: list[ZoomMatched]
    unmatched: list[ZoomUnmatched] = PField(description="Rows matched to no learner")
    not_in_report: list[str] = PField(
        description="Seated enrolments with no row in the report (nothing written for them)"
    )
