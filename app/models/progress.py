"""Learner progress per enrolment and curriculum module, as LMS platforms push it.

One row per (enrolment, module): the latest state the LMS reported. ``occurred_at`` is when
it happened in the LMS; a record older than the stored one never overwrites it (LMS platforms
retry and reorder). ``source`` + ``external_id`` name the LMS's own record. Scores are
integer hundredths, JP integer halves, like everywhere else.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PField
from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core import i18n
from app.models.base import UTCDateTime, created_at_field, enum_type, id_field, updated_at_field
from app.models.catalogue import JPNumber
from app.models.curriculum import LearningMode
from app.models.enrollment import BulkMode
from app.models.learner import KEY_PATTERN
from app.models.types import (
    IDENT_PATTERN,
    AwareDateTime,
    JPAllowance,
    Score,
    StrictInput,
    integer,
    line,
)


class ProgressStatus(StrEnum):
    not_started = "not_started"
    in_progress = "in_progress"
    completed = "completed"


class ProgressRecord(SQLModel, table=True):
    __tablename__ = "progress_record"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "module_id", name="uq_progress_enrollment_module"),
        Index("ix_progress_source_external", "source", "external_id"),
    )

    id: str = id_field("prg")
    enrollment_id: str = Field(foreign_key="enrollment.id", max_length=40)
    module_id: str = Field(foreign_key="curriculum_module.id", max_length=40)
    status: ProgressStatus = Field(sa_type=enum_type(ProgressStatus))
    percent: int = 0
    score_centi: int | None = None
    jp_earned_halves: int = 0
    time_spent_minutes: int = 0
    occurred_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    source: str = Field(max_length=60)
    external_id: str = Field(max_length=200)
    version: int = 1
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


# --- API schemas ------------------------------------------------------------------------

SOURCE_PATTERN = r"^[A-Za-z0-9._:-]+$"
MAX_MINUTES = 1_000_000  # time spent on one module: about two years of minutes
MAX_BATCH = 10_000

i18n.PATTERN_MESSAGES[SOURCE_PATTERN] = (
    "Use letters, digits, '.', '_', ':' or '-' (no spaces), e.g. 'moodle' or 'asn-berpijar'.",
    "Gunakan huruf, angka, '.', '_', ':' atau '-' (tanpa spasi), misalnya 'moodle' atau "
    "'asn-berpijar'.",
)


class ProgressOutcome(StrEnum):
    created = "created"
    updated = "updated"
    unchanged = "unchanged"
    stale = "stale"
    rejected = "rejected"


class ProgressIn(StrictInput):
    """The whole state of one module for one enrolment, as the LMS knows it at
    ``occurred_at`` (a PUT replaces the stored state; fields left out take their defaults)."""

    status: ProgressStatus
    percent: int | None = integer(
        ge=0, le=100, default=None, description="0-100; left out: 100 when completed, else 0"
    )
    score: Score | None = PField(
        default=None, description="0-100, two decimals; only for assessed modules"
    )
    jp_earned: JPAllowance | None = PField(
        default=None,
        description="Steps of 0.5, at most the module's JP; left out: the module's JP when "
        "completed, else 0",
    )
    time_spent_minutes: int = integer(ge=0, le=MAX_MINUTES, default=0)
    occurred_at: AwareDateTime = PField(
        description="When this state was reached in the LMS; an older record never "
        "overwrites a newer one"
    )
    source: str = PField(
        min_length=1, max_length=60, pattern=SOURCE_PATTERN, description="The LMS, e.g. moodle"
    )
    external_id: str = line(
        min_length=1, max_length=200, description="The LMS's own id of this record"
    )


class ProgressBatchItem(ProgressIn):
    """One record of a batch, addressed by ``enrollment_id`` or by ``cohort_id`` +
    ``learner_key`` (exactly one of the two)."""

    enrollment_id: str | None = PField(
        default=None, min_length=1, max_length=40, pattern=IDENT_PATTERN
    )
    cohort_id: str | None = PField(default=None, min_length=1, max_length=40, pattern=IDENT_PATTERN)
    learner_key: str | None = PField(
        default=None,
        min_length=1,
        max_length=140,
        pattern=KEY_PATTERN,
        description="NIP (spaces allowed), pppk:<NI PPPK> or ext:<agency-slug>:<external_ref>",
    )
    module_id: str = PField(min_length=1, max_length=40, pattern=IDENT_PATTERN)


class ProgressBatch(StrictInput):
    records: list[ProgressBatchItem] = PField(min_length=1, max_length=MAX_BATCH)


class ProgressBatchQuery(BaseModel):
    """``mode`` and ``dry_run`` of a progress batch (unknown parameters are a 422)."""

    model_config = ConfigDict(extra="forbid")

    mode: BulkMode = PField(
        default=BulkMode.partial,
        description="partial: good records are written, bad ones rejected one by one; "
        "all_or_nothing: one rejected record and nothing is written",
    )
    dry_run: bool = PField(default=False, description="Check every record, write nothing")


class ProgressRecordPublic(BaseModel):
    id: str
    enrollment_id: str
    module_id: str
    status: ProgressStatus
    percent: int
    score: JPNumber | None
    jp_earned: JPNumber
    time_spent_minutes: int
    occurred_at: datetime
    source: str
    external_id: str
    version: int
    created_at: datetime
    updated_at: datetime


class ProgressBatchResult(BaseModel):
    index: int = PField(description="The record's place in records (first is 0)")
    outcome: ProgressOutcome
    enrollment_id: str | None
    module_id: str
    errors: list[dict[str, Any]] = PField(description="Each problem: loc, msg, msg_id, type")


class ProgressBatchAnswer(BaseModel):
    mode: BulkMode
    dry_run: bool
    written: bool = PField(description="Whether anything was saved")
    counts: dict[ProgressOutcome, int]
    results: list[ProgressBatchResult]


class ModuleProgress(BaseModel):
    module_id: str
    position: int
    title: str
    mode: LearningMode
    jp: JPNumber
    assessed: bool
    weight: JPNumber
    status: ProgressStatus
    percent: int
    score: JPNumber | None
    jp_earned: JPNumber
    time_spent_minutes: int
    occurred_at: datetime | None = PField(description="null while nothing was reported")
    source: str | None
    external_id: str | None
    version: int | None = PField(description="The record's version; null without a record")


class EnrollmentProgress(BaseModel):
    enrollment_id: str
    cohort_id: str
    curriculum_id: str | None
    modules: list[ModuleProgress]
    total_jp: JPNumber
    jp_earned: JPNumber
    jp_by_mode: dict[str, JPNumber] = PField(description="The curriculum's JP per mode")
    jp_earned_by_mode: dict[str, JPNumber] = PField(description="JP earned per mode")
    percent: JPNumber = PField(description="Module percents weighted by their JP, 2 decimals")
    modules_completed: int
