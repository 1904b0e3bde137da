"""Cohorts (*angkatan*): scheduled runs of a course, and their sessions."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, field_validator
from pydantic import Field as PField
from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, created_at_field, enum_type, id_field, updated_at_field
from app.models.catalogue import JPNumber
from app.models.curriculum import LearningMode


class CohortStatus(StrEnum):
    draft = "draft"
    open = "open"
    closed = "closed"
    running = "running"
    evaluation = "evaluation"
    completed = "completed"
    cancelled = "cancelled"


def _zone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("not an IANA time zone, e.g. 'Asia/Jakarta'") from exc
    return value


class _CohortFields(SQLModel):
    starts_on: date
    ends_on: date
    capacity: int | None = Field(default=None, ge=1, le=100000)
    enrollment_opens_at: AwareDatetime | None = None
    enrollment_closes_at: AwareDatetime | None = None
    platform: str | None = Field(default=None, max_length=120, description="e.g. 'ASN Berpijar'")
    meeting_url: str | None = Field(default=None, max_length=500)
    venue: str | None = Field(default=None, max_length=500)


class CohortCreate(_CohortFields):
    course_id: str = Field(max_length=40)
    number: int = Field(ge=1, le=3999, description="Angkatan number, written in Roman numerals")
    year: int = Field(ge=2000, le=2100)
    timezone: str | None = Field(default=None, description="IANA zone; defaults to the agency's")
    curriculum_version: int | None = Field(
        default=None, ge=1, description="Published version to pin; defaults to the latest"
    )

    _tz = field_validator("timezone")(_zone)


class CohortUpdate(SQLModel):
    number: int | None = Field(default=None, ge=1, le=3999)
    year: int | None = Field(default=None, ge=2000, le=2100)
    starts_on: date | None = None
    ends_on: date | None = None
    timezone: str | None = None
    capacity: int | None = Field(default=None, ge=1, le=100000)
    enrollment_opens_at: AwareDatetime | None = None
    enrollment_closes_at: AwareDatetime | None = None
    platform: str | None = Field(default=None, max_length=120)
    meeting_url: str | None = Field(default=None, max_length=500)
    venue: str | None = Field(default=None, max_length=500)
    curriculum_version: int | None = Field(
        default=None, ge=1, description="Only while the cohort is a draft"
    )

    _tz = field_validator("timezone")(_zone)


class CohortTransition(BaseModel):
    to: CohortStatus


class CohortPublic(BaseModel):
    id: str
    course_id: str
    course_title: str
    agency_id: str = PField(description="The organiser")
    curriculum_version: int | None
    number: int
    name: str = PField(examples=["Angkatan XIV"])
    year: int
    starts_on: date
    ends_on: date
    timezone: str
    capacity: int | None
    enrollment_opens_at: datetime | None
    enrollment_closes_at: datetime | None
    platform: str | None
    meeting_url: str | None
    venue: str | None
    status: CohortStatus
    allowed_transitions: list[CohortStatus]
    version: int
    created_at: datetime
    updated_at: datetime


class CohortPage(BaseModel):
    items: list[CohortPublic]
    next_cursor: str | None


class Cohort(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("course_id", "year", "number", name="uq_cohort_course_year_number"),
        Index("ix_cohort_starts", "starts_on", "id"),
        Index("ix_cohort_agency_starts", "agency_id", "starts_on", "id"),
        Index("ix_cohort_created", "created_at", "id"),
    )

    id: str = id_field("coh")
    agency_id: str = Field(foreign_key="agency.id", index=True, max_length=40)
    course_id: str = Field(foreign_key="course.id", index=True, max_length=40)
    curriculum_id: str | None = Field(default=None, foreign_key="curriculum.id", max_length=40)
    curriculum_version: int | None = None
    number: int
    year: int
    starts_on: date
    ends_on: date
    timezone: str = Field(max_length=40)
    capacity: int | None = None
    enrollment_opens_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    enrollment_closes_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    platform: str | None = Field(default=None, max_length=120)
    meeting_url: str | None = Field(default=None, max_length=500)
    venue: str | None = Field(default=None, max_length=500)
    status: CohortStatus = Field(default=CohortStatus.draft, sa_type=enum_type(CohortStatus))
    version: int = 1
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


# --- sessions -----------------------------------------------------------------


class CohortSessionCreate(SQLModel):
    module_id: str | None = Field(default=None, max_length=40)
    starts_at: AwareDatetime = Field(description="ISO 8601 with an offset; stored in UTC")
    ends_at: AwareDatetime
    mode: LearningMode | None = Field(default=None, description="Defaults to the module's mode")
    jp: Decimal | None = Field(
        default=None,
        gt=0,
        le=24,
        multiple_of=0.5,
        description="Defaults to the module's",
    )
    instructor_ids: list[str] = Field(default_factory=list, max_length=20)
    location: str | None = Field(default=None, max_length=500)
    meeting_url: str | None = Field(default=None, max_length=500)


class CohortSessionUpdate(SQLModel):
    module_id: str | None = Field(default=None, max_length=40)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    mode: LearningMode | None = None
    jp: Decimal | None = Field(default=None, gt=0, le=24, multiple_of=0.5)
    instructor_ids: list[str] | None = Field(default=None, max_length=20)
    location: str | None = Field(default=None, max_length=500)
    meeting_url: str | None = Field(default=None, max_length=500)


class CohortSessionPublic(BaseModel):
    id: str
    cohort_id: str
    module_id: str | None
    starts_at: datetime = PField(description="In the cohort's time zone offset")
    ends_at: datetime
    mode: LearningMode
    jp: JPNumber
    instructor_ids: list[str]
    location: str | None
    meeting_url: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    warnings: list[str] = PField(default_factory=list, description="Accepted, but worth a look")


class CohortSession(SQLModel, table=True):
    __tablename__ = "cohort_session"
    __table_args__ = (Index("ix_cohort_session_cohort_start", "cohort_id", "starts_at"),)

    id: str = id_field("ses")
    agency_id: str = Field(foreign_key="agency.id", index=True, max_length=40)
    cohort_id: str = Field(foreign_key="cohort.id", max_length=40)
    module_id: str | None = Field(default=None, foreign_key="curriculum_module.id", max_length=40)
    starts_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ends_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    mode: LearningMode = Field(sa_type=enum_type(LearningMode))
    jp_halves: int
    location: str | None = Field(default=None, max_length=500)
    meeting_url: str | None = Field(default=None, max_length=500)
    version: int = 1
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class CohortSessionInstructor(SQLModel, table=True):
    __tablename__ = "cohort_session_instructor"
    __table_args__ = (Index("ix_cohort_session_instructor_user", "user_id", "session_id"),)

    session_id: str = Field(foreign_key="cohort_session.id", primary_key=True, max_length=40)
    user_id: str = Field(foreign_key="user.id", primary_key=True, max_length=40)
