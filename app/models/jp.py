"""The yearly JP ledger: every credit of JP to a learner's year, whatever its origin.

``source``: ``course`` (a passed enrolment credits the course's JP), ``event`` (attendance at
a short event: socialisation, workshop, webinar), ``external`` (a course taken elsewhere,
recorded by the learner's agency). An enrolment credits at most once (unique
``enrollment_id``); an external record at most once per (learner, organiser, certificate
number). ``year`` is the year of the end date in the cohort's own time zone.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import created_at_field, enum_type, id_field, updated_at_field


class JPSource(StrEnum):
    course = "course"
    event = "event"
    external = "external"


class JPRecord(SQLModel, table=True):
    __tablename__ = "jp_record"
    __table_args__ = (
        UniqueConstraint("enrollment_id", name="uq_jp_record_enrollment"),
        UniqueConstraint(
            "learner_id", "organiser", "certificate_number", name="uq_jp_record_external"
        ),
        Index("ix_jp_record_learner_year", "learner_id", "year", "id"),
        Index("ix_jp_record_year_learner", "year", "learner_id"),
    )

    id: str = id_field("jpr")
    learner_id: str = Field(foreign_key="learner.id", max_length=40)
    year: int
    jp_halves: int
    source: JPSource = Field(sa_type=enum_type(JPSource))
    enrollment_id: str | None = Field(default=None, foreign_key="enrollment.id", max_length=40)
    course_id: str | None = Field(default=None, foreign_key="course.id", max_length=40)
    title: str = Field(max_length=250, description="The course or event, as certified")
    organiser: str = Field(max_length=250, description="The organising institution's name")
    starts_on: date
    ends_on: date
    certificate_number: str | None = Field(default=None, max_length=120)
    recorded_by: str | None = Field(default=None, max_length=40)
    version: int = 1
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
