"""The yearly JP ledger: every credit of JP to a learner's year, whatever its origin.

``source``: ``course`` (a passed enrolment credits the course's JP), ``event`` (attendance at
a short event: socialisation, workshop, webinar), ``external`` (a course taken elsewhere,
recorded by the learner's agency). An enrolment has at most one live credit (partial unique
``enrollment_id`` where ``withdrawn_at`` is null); an external record at most once per
(learner, organiser, certificate number) among the records not deleted. ``year`` is the year of the end date in the
cohort's own time zone.

Withdrawn credits are kept, not deleted: ``withdrawn_at`` and ``withdrawn_reason`` say when
and why (a revoked certificate, a changed outcome, attendance back to nothing, an external
record deleted with DELETE), so a client
syncing the ledger with ``updated_since`` learns that a record it holds no longer counts.
Totals, the compliance report and the default lists count live records only
(``withdrawn_at IS NULL``). A revoked certificate's withdrawn credit keeps its number and
stays withdrawn; a re-issue credits a new record. A credit withdrawn for a changed outcome
or attendance comes back (the same row) when the enrolment earns it again. A deleted
external record stays deleted (its URL answers 410); the same certificate may be recorded
again as a new record.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, WithJsonSchema
from pydantic import Field as PField
from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from app.core.pagination import PageQuery
from app.models.base import (
    UTCDateTime,
    created_at_field,
    enum_type,
    id_field,
    updated_at_field,
)
from app.models.catalogue import JPNumber
from app.models.learner import AsnType
from app.models.types import (
    MAX_YEAR,
    MIN_YEAR,
    UNSET,
    AwareDateTime,
    Date,
    Ident,
    QueryBool,
    SincePageQuery,
    StrictInput,
    line,
)
from app.models.types import _number as _jp_number


class JPSource(StrEnum):
    course = "course"
    event = "event"
    external = "external"


class JPWithdrawal(StrEnum):
    """Why a credit no longer counts."""

    certificate_revoked = "certificate_revoked"  # the certificate that carried it was revoked
    outcome_changed = "outcome_changed"  # re-evaluated as failed, or dropped
    attendance_changed = "attendance_changed"  # an event's attended JP fell to nothing
    deleted = "deleted"  # an external record deleted by its learner's home agency


LIVE = "withdrawn_at IS NULL"
# a deleted external record keeps its row (a sync sees it go) but no longer holds its
# certificate: the same organiser and number may be recorded again
NOT_DELETED = "withdrawn_reason IS NULL OR withdrawn_reason <> 'deleted'"


class JPRecord(SQLModel, table=True):
    __tablename__ = "jp_record"
    __table_args__ = (
        # one live credit per enrolment; withdrawn ones stay beside it (delta sync sees them)
        Index(
            "uq_jp_record_enrollment_live",
            "enrollment_id",
            unique=True,
            sqlite_where=text(LIVE),
            postgresql_where=text(LIVE),
        ),
        Index(
            "uq_jp_record_external_kept",
            "learner_id",
            "organiser",
            "certificate_number",
            unique=True,
            sqlite_where=text(NOT_DELETED),
            postgresql_where=text(NOT_DELETED),
        ),
        # covering on PostgreSQL (INCLUDE jp_halves, withdrawn_at): an agency's compliance
        # report probes each learner's year with index-only scans instead of hashing every
        # record of the year (1,000,000 learners: 5.2 s -> 0.5 s, README "Scale"); it counts
        # live records only, so withdrawn_at is covered too
        Index(
            "ix_jp_record_learner_year",
            "learner_id",
            "year",
            "id",
            postgresql_include=["jp_halves", "withdrawn_at"],
        ),
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
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    withdrawn_reason: JPWithdrawal | None = Field(
        default=None, sa_type=enum_type(JPWithdrawal), nullable=True
    )
    version: int = 1
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


# --- API schemas ------------------------------------------------------------------------

# One external course: more than a day of a long training, never a career's worth (Latsar
# CPNS is 647 JP, leadership training PKP 830 JP).
ExternalJP = Annotated[
    Decimal,
    BeforeValidator(_jp_number),
    PField(gt=0, le=1000, multiple_of=Decimal("0.5")),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": 1000, "multipleOf": 0.5}),
]


class JPRecordCreate(StrictInput):
    """A course taken elsewhere, as its certificate says; credits the year of ``ends_on``."""

    title: str = line(min_length=1, max_length=250, description="The course, as certified")
    organiser: str = line(
        min_length=1, max_length=250, description="The organising institution's name"
    )
    starts_on: Date
    ends_on: Date = PField(description="Not before starts_on; its year is the credited year")
    jp: ExternalJP = PField(description="JP in steps of 0.5 (> 0, at most 1000)")
    certificate_number: str = line(
        min_length=1,
        max_length=120,
        description="Credits once: the same organiser and number again is 409",
    )


class JPRecordUpdate(StrictInput):
    """Only the fields sent change (external records only)."""

    title: str = line(min_length=1, max_length=250, default=UNSET)
    organiser: str = line(min_length=1, max_length=250, default=UNSET)
    starts_on: Date = PField(default=UNSET)
    ends_on: Date = PField(default=UNSET)
    jp: ExternalJP = PField(default=UNSET)
    certificate_number: str = line(min_length=1, max_length=120, default=UNSET)


class JPRecordPublic(BaseModel):
    id: str
    learner_id: str
    year: int = PField(description="The credited year: of the end date (a cohort's, local)")
    jp: JPNumber
    source: JPSource = PField(
        description="course (a passed enrolment), event (attendance at a short event): "
        "read-only, they follow evaluation and attendance; external: recorded by the "
        "learner's home agency, which may change or delete it"
    )
    enrollment_id: str | None
    course_id: str | None
    title: str
    organiser: str
    starts_on: date
    ends_on: date
    certificate_number: str | None = PField(
        description="Of a withdrawn record with withdrawn_reason certificate_revoked: the "
        "revoked certificate's number"
    )
    withdrawn_at: datetime | None = PField(
        description="Set when the credit no longer counts (not in totals or the compliance "
        "report); listed with updated_since or include_withdrawn=true so a sync removes it"
    )
    withdrawn_reason: JPWithdrawal | None = PField(
        description="certificate_revoked (the certificate with certificate_number was "
        "revoked; a re-issue credits a new record), outcome_changed (re-evaluated as failed, "
        "or dropped), attendance_changed (an event's attended JP fell to nothing), deleted "
        "(an external record deleted with DELETE; its URL then answers 410)"
    )
    version: int
    created_at: datetime
    updated_at: datetime


class JPRecordPage(BaseModel):
    items: list[JPRecordPublic]
    next_cursor: str | None


class SiasnKursus(BaseModel):
    """One record with the field names of BKN SIASN's course history (riwayat kursus)."""

    namaKursus: str = PField(description="title")
    jumlahJam: JPNumber = PField(description="JP (SIASN takes whole hours: halves stay .5)")
    nomorSertipikat: str | None = PField(description="certificate_number")
    tanggalKursus: str = PField(description="starts_on as dd-mm-yyyy", examples=["14-05-2025"])
    tanggalSelesaiKursus: str = PField(description="ends_on as dd-mm-yyyy")
    tahunKursus: int = PField(description="The credited year")
    institusiPenyelenggara: str = PField(description="organiser")
    withdrawn_at: datetime | None = PField(
        description="Not a SIASN field: set when the record no longer counts (its certificate "
        "was revoked, its outcome changed, it was deleted); remove it from SIASN. Listed with updated_since "
        "or include_withdrawn=true only"
    )


class SiasnKursusPage(BaseModel):
    items: list[SiasnKursus]
    next_cursor: str | None


class JPRecordFormat(StrEnum):
    json = "json"
    siasn = "siasn"


class JPRecordQuery(SincePageQuery):
    updated_since: AwareDateTime | None = PField(
        default=None,
        description="RFC 3339 instant: only records changed at or after it, ordered by "
        "(updated_at, id), withdrawn ones included (`withdrawn_at` set: remove them from "
        "your copy); for delta sync pass the greatest `updated_at` you hold (records at that "
        "instant come again: apply them idempotently). External records deleted with DELETE "
        "are listed too, withdrawn with `withdrawn_reason` `deleted`.",
    )
    include_withdrawn: QueryBool = PField(
        default=False,
        description="Also list withdrawn records (`withdrawn_at` set; they count in no "
        "total); with updated_since they are always listed",
    )
    year: int | None = PField(
        default=None, ge=MIN_YEAR, le=MAX_YEAR, description="Only this year's records"
    )
    format: JPRecordFormat = PField(
        default=JPRecordFormat.json,
        description="siasn: the records with BKN SIASN course-history field names",
    )


class JPYearQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: int = PField(ge=MIN_YEAR, le=MAX_YEAR, description="The calendar year", examples=[2025])


class EntitlementRule(StrEnum):
    floor = "floor"
    cap = "cap"
    none = "none"


class JPEntitlement(BaseModel):
    rule: EntitlementRule = PField(
        description="floor: PNS/CPNS have a right to at least floor_jp a year; cap: PPPK "
        "staff are capped at cap_jp; none: non-ASN guests have neither"
    )
    floor_jp: JPNumber | None = PField(description="The floor (PNS/CPNS), a setting")
    floor_met: bool | None = PField(description="PNS/CPNS: total_jp >= floor_jp")
    missing_jp: JPNumber | None = PField(description="PNS/CPNS: JP still to reach the floor")
    cap_jp: JPNumber | None = PField(description="The cap (PPPK), a setting")
    cap_exceeded: bool | None = PField(description="PPPK: total_jp > cap_jp")
    over_cap_jp: JPNumber | None = PField(description="PPPK: JP above the cap")
    note: str = PField(description="The status in one English sentence")
    note_id: str = PField(description="The same in Indonesian")


class JPYear(BaseModel):
    learner_id: str
    learner_key: str
    asn_type: AsnType
    year: int
    total_jp: JPNumber
    entitlement: JPEntitlement
    entries: list[JPRecordPublic] = PField(description="The year's credits, oldest first")


class JPComplianceQuery(PageQuery):
    year: int = PField(ge=MIN_YEAR, le=MAX_YEAR, description="The calendar year")
    agency: Ident | None = PField(
        default=None, description="Agency id or slug: yours by default (platform admins: any)"
    )


class JPBelowFloor(BaseModel):
    learner_id: str
    learner_key: str
    name: str
    asn_type: AsnType
    work_unit: str | None
    total_jp: JPNumber
    missing_jp: JPNumber


class JPComplianceSummary(BaseModel):
    agency_id: str
    agency_name: str
    year: int
    floor_jp: JPNumber
    learners: int = PField(description="PNS and CPNS whose home agency this is")
    meeting_floor: int
    below_floor: int


class JPBelowFloorPage(BaseModel):
    items: list[JPBelowFloor]
    next_cursor: str | None


class JPComplianceSummaryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: int = PField(ge=MIN_YEAR, le=MAX_YEAR, description="The calendar year")
    agency: Ident | None = PField(
        default=None, description="Agency id or slug: yours by default (platform admins: any)"
    )
