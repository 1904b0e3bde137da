"""Courses: what an agency offers (training, socialisation, workshop ...), with its pass rules."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, field_validator
from pydantic import Field as PField
from pydantic_core import PydanticCustomError
from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from app.models.base import created_at_field, enum_type, id_field, updated_at_field
from app.models.catalogue import JPNumber
from app.models.certificate import DEFAULT_NUMBER_PATTERN, NumberPattern
from app.models.curriculum import LearningMode
from app.models.types import (
    UNSET,
    Date,
    Ident,
    JPAllowance,
    JPTotal,
    PartnerName,
    QueryBool,
    Score,
    SincePageQuery,
    StrictBool,
    StrictInput,
    Tag,
    integer,
    line,
    text,
)


class CourseKind(StrEnum):
    training = "training"
    socialization = "socialization"
    workshop = "workshop"
    seminar = "seminar"
    webinar = "webinar"
    technical_guidance = "technical_guidance"


class CompetencyType(StrEnum):
    managerial = "managerial"
    technical = "technical"
    socio_cultural = "socio_cultural"
    functional = "functional"
    basic = "basic"


class Delivery(StrEnum):
    blended = "blended"
    online = "online"
    classroom = "classroom"


class CourseStatus(StrEnum):
    draft = "draft"
    published = "published"
    archived = "archived"


class GradeBand(StrictInput):
    """A grade (*predikat*): scores strictly above ``above`` get ``label``; null is the floor."""

    label: str = line(min_length=1, max_length=60)
    above: Score | None = None


DEFAULT_GRADE_BANDS: list[dict[str, object]] = [
    {"label": "sangat memuaskan", "above": 90},
    {"label": "memuaskan", "above": 80},
    {"label": "cukup", "above": 70},
    {"label": "kurang", "above": None},
]


def _check_bands(bands: list[GradeBand] | None) -> list[GradeBand] | None:
    if bands is None:
        return None
    if not bands or bands[-1].above is not None:
        raise PydanticCustomError(
            "grade_bands_floor", "Give the last band above=null (it takes every other score)"
        )
    limits = [b.above for b in bands[:-1]]
    if any(a is None for a in limits) or limits != sorted(limits, reverse=True):  # type: ignore[type-var]
        raise PydanticCustomError(
            "grade_bands_order", "Order the bands from the highest threshold down"
        )
    return bands


_CODE = "Unique within the agency, e.g. 'PSK-2025'"


class CourseCreate(StrictInput):
    code: str = line(min_length=1, max_length=40, description=_CODE)
    title: str = line(min_length=2, max_length=250)
    summary: str | None = text(max_length=1000, default=None)
    description: str | None = text(max_length=20000, default=None)
    kind: CourseKind
    competency_type: CompetencyType
    level: str | None = line(max_length=60, default=None, description="Jenjang, if any")
    delivery: Delivery
    legal_basis: str | None = text(max_length=2000, default=None)
    open_to_non_asn: StrictBool = False
    self_enrollment: StrictBool = PField(
        default=False,
        description="Learner logins may enrol themselves in its open cohorts (POST "
        "/v1/me/enrollments); their home agency then verifies",
    )
    total_jp: JPTotal = PField(description="Total JP (> 0, steps of 0.5)")
    minutes_per_jp: int = integer(ge=1, le=120, default=45)
    passing_score: Score = PField(
        default=Decimal("70.01"),
        description="0-100, rounded to two decimals",
        json_schema_extra={"default": 70.01},
    )
    max_absence_jp: JPAllowance | None = None
    grade_bands: list[GradeBand] = PField(
        default_factory=lambda: [GradeBand.model_validate(b) for b in DEFAULT_GRADE_BANDS],
        min_length=1,
        max_length=20,
    )
    partner_agency_ids: list[Ident] = PField(
        default_factory=list, max_length=20, description="Co-organising agencies in Bangkom"
    )
    partners: list[PartnerName] = PField(
        default_factory=list, max_length=20, description="Co-organisers by name (e.g. 'BKN')"
    )
    tags: list[Tag] = PField(default_factory=list, max_length=30)
    status: CourseStatus = CourseStatus.draft
    certificate_number_pattern: NumberPattern = DEFAULT_NUMBER_PATTERN

    _bands = field_validator("grade_bands")(_check_bands)


class CourseUpdate(StrictInput):
    """Only the fields sent change; null only where the field may be empty."""

    code: str = line(min_length=1, max_length=40, default=None)
    title: str = line(min_length=2, max_length=250, default=None)
    summary: str | None = text(max_length=1000, default=None)
    description: str | None = text(max_length=20000, default=None)
    kind: CourseKind = PField(default=UNSET)
    competency_type: CompetencyType = PField(default=UNSET)
    level: str | None = line(max_length=60, default=None)
    delivery: Delivery = PField(default=UNSET)
    legal_basis: str | None = text(max_length=2000, default=None)
    open_to_non_asn: StrictBool = PField(default=UNSET)
    self_enrollment: StrictBool = PField(default=UNSET)
    total_jp: JPTotal = PField(default=UNSET)
    minutes_per_jp: int = integer(ge=1, le=120, default=None)
    passing_score: Score = PField(default=UNSET)
    max_absence_jp: JPAllowance | None = None
    grade_bands: list[GradeBand] = PField(default=UNSET, min_length=1, max_length=20)
    partner_agency_ids: list[Ident] = PField(default=UNSET, max_length=20)
    partners: list[PartnerName] = PField(default=UNSET, max_length=20)
    tags: list[Tag] = PField(default=UNSET, max_length=30)
    status: CourseStatus = PField(default=UNSET)
    certificate_number_pattern: NumberPattern = PField(default=UNSET)

    _bands = field_validator("grade_bands")(_check_bands)


class GradeBandPublic(BaseModel):
    label: str
    above: JPNumber | None


class CoursePublic(BaseModel):
    id: str
    agency_id: str = PField(description="The organiser (penyelenggara)")
    code: str
    title: str
    summary: str | None
    description: str | None
    kind: CourseKind
    competency_type: CompetencyType
    level: str | None
    delivery: Delivery
    legal_basis: str | None
    open_to_non_asn: bool
    self_enrollment: bool = PField(description="Learner logins may enrol themselves")
    total_jp: JPNumber
    minutes_per_jp: int
    total_hours: JPNumber
    passing_score: JPNumber
    max_absence_jp: JPNumber | None
    grade_bands: list[GradeBandPublic]
    partner_agency_ids: list[str]
    partners: list[str]
    tags: list[str]
    status: CourseStatus
    published_curriculum_version: int | None = PField(
        description="Latest published curriculum version"
    )
    modes: list[str] = PField(description="Learning modes of the latest published curriculum")
    certificate_number_pattern: str
    version: int = PField(description="Bumped on every change; the ETag follows it")
    created_at: datetime
    updated_at: datetime


class CoursePage(BaseModel):
    items: list[CoursePublic]
    next_cursor: str | None


class Course(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("agency_id", "code", name="uq_course_agency_code"),
        Index("ix_course_created", "created_at", "id"),
        Index("ix_course_status_created", "status", "created_at", "id"),
        Index("ix_course_status_title", "status", "title", "id"),
        Index("ix_course_status_code", "status", "code", "id"),
        Index("ix_course_agency_created", "agency_id", "created_at", "id"),
        Index("ix_course_agency_title", "agency_id", "title", "id"),
        Index("ix_course_title", "title", "id"),
    )

    id: str = id_field("crs")
    agency_id: str = Field(foreign_key="agency.id", index=True, max_length=40)
    code: str = Field(max_length=40)
    title: str = Field(max_length=250)
    summary: str | None = Field(default=None, max_length=1000)
    description: str | None = Field(default=None, sa_type=Text)
    kind: CourseKind = Field(sa_type=enum_type(CourseKind))
    competency_type: CompetencyType = Field(sa_type=enum_type(CompetencyType))
    level: str | None = Field(default=None, max_length=60)
    delivery: Delivery = Field(sa_type=enum_type(Delivery))
    legal_basis: str | None = Field(default=None, sa_type=Text)
    open_to_non_asn: bool = False
    self_enrollment: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    total_jp_halves: int = Field(description="Total JP x 2")
    minutes_per_jp: int = 45
    passing_score_centi: int = 7001
    max_absence_jp_halves: int | None = None
    grade_bands: list[dict[str, object]] = Field(sa_column=Column(JSON, nullable=False))
    partner_agency_ids: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    partners: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: CourseStatus = Field(default=CourseStatus.draft, sa_type=enum_type(CourseStatus))
    published_curriculum_version: int | None = None
    modes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    certificate_number_pattern: str = Field(
        default=DEFAULT_NUMBER_PATTERN,
        max_length=120,
        sa_column_kwargs={"server_default": DEFAULT_NUMBER_PATTERN},
    )
    search: str = Field(default="", sa_type=Text, description="Normalised title, code and summary")
    version: int = 1
    doc: str = Field(
        default="", sa_type=Text, description="The public JSON, rebuilt on every write"
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


CourseSort = Literal["created_at", "-created_at", "title", "-title", "code", "-code"]


class CourseQuery(SincePageQuery):
    """Filters, order and page of the course list (all optional; unknown ones are a 422)."""

    q: str | None = line(
        min_length=1,
        max_length=200,
        default=None,
        description="Title, code, summary; case- and accent-insensitive",
    )
    kind: CourseKind | None = None
    competency_type: CompetencyType | None = None
    delivery: Delivery | None = None
    agency: Ident | None = PField(default=None, description="Organiser agency id or slug")
    status: CourseStatus | None = None
    year: int | None = PField(
        default=None, ge=2000, le=2100, description="Has a cohort in this year"
    )
    mode: LearningMode | None = PField(
        default=None, description="Has a module of this learning mode"
    )
    starts_after: Date | None = PField(default=None, description="Has a cohort starting on/after")
    starts_before: Date | None = PField(default=None, description="Has a cohort starting on/before")
    has_open_cohort: QueryBool | None = PField(
        default=None, description="Has a cohort open for enrolment"
    )
    sort: CourseSort = PField(
        default="created_at", description="Sort key; `-` for descending; id breaks ties"
    )
