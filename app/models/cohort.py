"""Cohorts (*angkatan*): scheduled runs of a course, and their sessions."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel
from pydantic import Field as PField
from sqlalchemy import Index, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, created_at_field, enum_type, id_field, updated_at_field
from app.models.catalogue import JPNumber
from app.models.course import CompetencyType, CourseKind, Delivery
from app.models.curriculum import LearningMode
from app.models.types import (
    MAX_INT,
    UNSET,
    AwareDateTime,
    Date,
    Ident,
    SessionJP,
    SincePageQuery,
    StrictBool,
    StrictInput,
    TimeZone,
    integer,
    line,
)


class CohortStatus(StrEnum):
    draft = "draft"
    open = "open"
    closed = "closed"
    running = "running"
    evaluation = "evaluation"
    completed = "completed"
    cancelled = "cancelled"


_URL = "https://... (at most 500 characters)"


class CohortCreate(StrictInput):
    course_id: Ident
    number: int = integer(ge=1, le=3999, description="Angkatan number, written in Roman numerals")
    year: int = integer(ge=2000, le=2100)
    starts_on: Date
    ends_on: Date
    timezone: TimeZone | None = PField(
        default=None, description="IANA zone; defaults to the agency's"
    )
    capacity: int | None = integer(ge=1, le=100000, default=None)
    enrollment_opens_at: AwareDateTime | None = None
    enrollment_closes_at: AwareDateTime | None = None
    platform: str | None = line(max_length=120, default=None, description="e.g. 'ASN Berpijar'")
    meeting_url: str | None = line(max_length=500, default=None, description=_URL)
    venue: str | None = line(max_length=500, default=None)
    curriculum_version: int | None = integer(
        ge=1,
        le=MAX_INT,
        default=None,
        description="Published version to pin; defaults to the latest",
    )
    waitlist_enabled: StrictBool = PField(
        default=False, description="When full, new enrolments wait in line instead of a 409"
    )


class CohortUpdate(StrictInput):
    """Only the fields sent change; null only where the field may be empty."""

    number: int = integer(ge=1, le=3999, default=None)
    year: int = integer(ge=2000, le=2100, default=None)
    starts_on: Date = PField(default=UNSET)
    ends_on: Date = PField(default=UNSET)
    timezone: TimeZone = PField(default=UNSET)
    capacity: int | None = integer(ge=1, le=100000, default=None)
    enrollment_opens_at: AwareDateTime | None = None
    enrollment_closes_at: AwareDateTime | None = None
    platform: str | None = line(max_length=120, default=None)
    meeting_url: str | None = line(max_length=500, default=None)
    venue: str | None = line(max_length=500, default=None)
    curriculum_version: int | None = integer(
        ge=1, le=MAX_INT, default=None, description="Only while the cohort is a draft; null unpins"
    )
    waitlist_enabled: StrictBool = PField(default=UNSET)


class CohortTransition(StrictInput):
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
    waitlist_enabled: bool
    seats_taken: int = PField(description="Enrolments proposed, verified or active")
    seats_left: int | None = PField(description="null when the capacity is unbounded")
    waitlist_length: int
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
    waitlist_enabled: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # seat counters, changed only under the cohort row lock (services/learning/seats.py)
    seats_taken: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    waitlist_length: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    waitlist_seq: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # set when the cohort's certificates are issued; evaluation is final from then on
    certificates_issued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = 1
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


# --- sessions -----------------------------------------------------------------


class CohortSessionCreate(StrictInput):
    module_id: Ident | None = None
    starts_at: AwareDateTime = PField(description="ISO 8601 with an offset; stored in UTC")
    ends_at: AwareDateTime
    mode: LearningMode | None = PField(default=None, description="Defaults to the module's mode")
    jp: SessionJP | None = PField(default=None, description="Defaults to the module's")
    instructor_ids: list[Ident] = PField(default_factory=list, max_length=20)
    location: str | None = line(max_length=500, default=None)
    meeting_url: str | None = line(max_length=500, default=None)


class CohortSessionUpdate(StrictInput):
    """Only the fields sent change; null only where the field may be empty."""

    module_id: Ident | None = None
    starts_at: AwareDateTime = PField(default=UNSET)
    ends_at: AwareDateTime = PField(default=UNSET)
    mode: LearningMode = PField(default=UNSET)
    jp: SessionJP = PField(default=UNSET)
    instructor_ids: list[Ident] = PField(default=UNSET, max_length=20)
    location: str | None = line(max_length=500, default=None)
    meeting_url: str | None = line(max_length=500, default=None)


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


CohortSort = Literal["starts_on", "-starts_on", "created_at", "-created_at"]


class CohortQuery(SincePageQuery):
    """Filters, order and page of the cohort list (all optional; unknown ones are a 422)."""

    q: str | None = line(
        min_length=1, max_length=200, default=None, description="Course title, code, summary"
    )
    course_id: Ident | None = None
    agency: Ident | None = PField(default=None, description="Organiser agency id or slug")
    status: CohortStatus | None = None
    year: int | None = PField(default=None, ge=2000, le=2100)
    kind: CourseKind | None = None
    competency_type: CompetencyType | None = None
    delivery: Delivery | None = None
    mode: LearningMode | None = PField(
        default=None, description="Curriculum has a module of this mode"
    )
    starts_after: Date | None = PField(default=None, description="Starts on or after")
    starts_before: Date | None = PField(default=None, description="Starts on or before")
    sort: CohortSort = PField(
        default="starts_on", description="Sort key; `-` for descending; id breaks ties"
    )
