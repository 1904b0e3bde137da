"""Attendance of a learner (by enrolment) at one session of a cohort.

One row per (session, enrolment). ``minutes_attended`` is what the learner was there for
(recorded by hand, or summed from a Zoom participant report without double-counting
overlapping rows). The completion rules read it to find the JP a learner missed.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import created_at_field, enum_type, id_field, updated_at_field


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
