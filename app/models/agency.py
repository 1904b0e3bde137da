"""Agencies (instansi): the tenants. Every agency-owned row points at one."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field as PField
from pydantic import field_validator
from sqlmodel import Field, SQLModel

from app.core import i18n
from app.models.base import created_at_field, enum_type, id_field, updated_at_field
from app.models.types import UNSET, SincePageQuery, StrictBool, StrictInput, line


class AgencyKind(StrEnum):
    central = "central"
    province = "province"
    regency_city = "regency_city"
    police = "police"
    other = "other"


INDONESIAN_TIMEZONES = ("Asia/Jakarta", "Asia/Pontianak", "Asia/Makassar", "Asia/Jayapura")
AgencyZone = Literal["Asia/Jakarta", "Asia/Pontianak", "Asia/Makassar", "Asia/Jayapura"]
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
i18n.PATTERN_MESSAGES[SLUG_PATTERN] = (
    "Use lowercase letters and digits, joined by single hyphens, e.g. bkpsdm-kab-tangerang.",
    "Gunakan huruf kecil dan angka, disambung satu tanda hubung, misalnya bkpsdm-kab-tangerang.",
)


class AgencyBase(SQLModel):
    name: str = Field(min_length=2, max_length=200, description="e.g. 'BKPSDM Kabupaten Tangerang'")
    slug: str = Field(
        min_length=2,
        max_length=60,
        schema_extra={"pattern": SLUG_PATTERN},
        description="Short code, lowercase letters, digits and hyphens, e.g. 'bkpsdm-kab-tangerang'",
    )
    kind: AgencyKind = AgencyKind.other
    timezone: str = Field(default="Asia/Jakarta", max_length=40)
    is_active: bool = True

    @field_validator("timezone")
    @classmethod
    def _indonesian_zone(cls, value: str) -> str:
        if value not in INDONESIAN_TIMEZONES:
            raise ValueError(f"must be one of {', '.join(INDONESIAN_TIMEZONES)}")
        return value


class Agency(AgencyBase, table=True):
    id: str = id_field("agc")
    slug: str = Field(max_length=60, unique=True, index=True)
    kind: AgencyKind = Field(default=AgencyKind.other, sa_type=enum_type(AgencyKind))
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class AgencyCreate(StrictInput):
    name: str = line(min_length=2, max_length=200, description="e.g. 'BKPSDM Kabupaten Tangerang'")
    slug: str = PField(
        min_length=2,
        max_length=60,
        pattern=SLUG_PATTERN,
        description="Short code, lowercase letters, digits and hyphens, e.g. 'bkpsdm-kab-tangerang'",
    )
    kind: AgencyKind = AgencyKind.other
    timezone: AgencyZone = "Asia/Jakarta"
    is_active: StrictBool = True


class AgencyUpdate(StrictInput):
    """Only the fields sent change."""

    name: str = line(min_length=2, max_length=200, default=None)
    kind: AgencyKind = PField(default=UNSET)
    timezone: AgencyZone = PField(default=UNSET)
    is_active: StrictBool = PField(default=UNSET)


class AgencyPublic(AgencyBase):
    id: str
    created_at: datetime
    updated_at: datetime


class AgencyPage(SQLModel):
    items: list[AgencyPublic]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )


class AgencyQuery(SincePageQuery):
    """Page of the agency list (no filters yet; unknown parameters are a 422)."""
