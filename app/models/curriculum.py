"""Curriculum versions of a course: ordered modules (*mata pelatihan*) with JP and learning mode."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel
from pydantic import Field as PField
from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, created_at_field, enum_type, id_field, updated_at_field
from app.models.catalogue import JPNumber
from app.models.types import JPTotal, Score, StrictBool, StrictInput, line, text


class LearningMode(StrEnum):
    self_paced = "self_paced"
    synchronous_virtual = "synchronous_virtual"
    classroom = "classroom"
    actualization = "actualization"


class CurriculumStatus(StrEnum):
    draft = "draft"
    published = "published"


class ModuleIn(StrictInput):
    title: str = line(min_length=2, max_length=250)
    description: str | None = text(max_length=5000, default=None)
    jp: JPTotal = PField(description="> 0, steps of 0.5")
    mode: LearningMode
    assessed: StrictBool = False
    weight: Score = PField(
        default=Decimal(0),
        description="Share of the final score (0-100, two decimals)",
        json_schema_extra={"default": 0},
    )


class CurriculumCreate(StrictInput):
    """A new draft version. Without ``modules`` it starts as a copy of the latest version."""

    modules: list[ModuleIn] | None = PField(default=None, max_length=500)


class CurriculumUpdate(StrictInput):
    modules: list[ModuleIn] = PField(max_length=500, description="Replaces the ordered module list")


class ModulePublic(BaseModel):
    id: str
    position: int
    title: str
    description: str | None
    jp: JPNumber
    mode: LearningMode
    assessed: bool
    weight: JPNumber


class CurriculumPublic(BaseModel):
    id: str
    course_id: str
    version: int
    status: CurriculumStatus
    modules: list[ModulePublic]
    total_jp: JPNumber
    jp_by_mode: dict[str, JPNumber] = PField(description="JP per learning mode (every mode listed)")
    total_hours: JPNumber = PField(description="Total JP x minutes per JP / 60")
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime


class Curriculum(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("course_id", "version", name="uq_curriculum_course_version"),
    )

    id: str = id_field("cur")
    agency_id: str = Field(foreign_key="agency.id", index=True, max_length=40)
    course_id: str = Field(foreign_key="course.id", index=True, max_length=40)
    version: int
    status: CurriculumStatus = Field(
        default=CurriculumStatus.draft, sa_type=enum_type(CurriculumStatus)
    )
    revision: int = Field(default=1, description="Bumped on each edit; the ETag follows it")
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class CurriculumModule(SQLModel, table=True):
    __tablename__ = "curriculum_module"
    __table_args__ = (Index("ix_curriculum_module_order", "curriculum_id", "position"),)

    id: str = id_field("mod")
    curriculum_id: str = Field(foreign_key="curriculum.id", max_length=40)
    position: int
    title: str = Field(max_length=250)
    description: str | None = Field(default=None, sa_type=Text)
    jp_halves: int
    mode: LearningMode = Field(sa_type=enum_type(LearningMode), index=True)
    assessed: bool = False
    weight_centi: int = 0
