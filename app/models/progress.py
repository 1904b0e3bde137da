"""Learner progress per enrolment and curriculum module, as LMS platforms push it.

One row per (enrolment, module): the latest state the LMS reported. ``occurred_at`` is when
it happened in the LMS; a record older than the stored one never overwrites it (LMS platforms
retry and reorder). ``source`` + ``external_id`` name the LMS's own record. Scores are
integer hundredths, JP integer halves, like everywhere else.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, created_at_field, enum_type, id_field, updated_at_field


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
