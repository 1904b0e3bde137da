"""Learners (*peserta*): civil servants and guests, addressed by a learner key.

The key in ``/v1/learners/{learner_key}`` is, by kind of person:

- PNS and CPNS: the NIP, 18 digits (spaces are accepted and removed);
- PPPK: ``pppk:`` and the NI PPPK, 18 digits;
- non-ASN guests: ``ext:<agency-slug>:<external_ref>``, the home agency's slug and the
  reference that agency gives them (they have neither number).

Keys are unique across the platform; ``app.services.learning.keys`` reads them.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel
from pydantic import Field as PField
from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.core import i18n
from app.models.base import UTCDateTime, created_at_field, enum_type, id_field, updated_at_field
from app.models.types import UNSET, Date, Ident, SincePageQuery, StrictInput, line
from app.models.user import Email


class AsnType(StrEnum):
    pns = "pns"
    cpns = "cpns"
    pppk = "pppk"
    non_asn = "non_asn"


class Gender(StrEnum):
    male = "male"
    female = "female"


class PositionType(StrEnum):
    pengawas = "pengawas"
    administrator = "administrator"
    jpt = "jpt"
    fungsional = "fungsional"
    pelaksana = "pelaksana"


GOLONGAN = tuple(
    f"{group}/{step}"
    for group, steps in (("I", "abcd"), ("II", "abcd"), ("III", "abcd"), ("IV", "abcde"))
    for step in steps
)
PPPK_GRADES = (
    "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX",
    "X", "XI", "XII", "XIII", "XIV", "XV", "XVI", "XVII",
)  # fmt: skip
Rank = StrEnum("Rank", {r.replace("/", "_"): r for r in (*GOLONGAN, *PPPK_GRADES)})  # type: ignore[misc]

# A name: Unicode letters, joined by spaces, apostrophes, dots, commas and hyphens; it
# starts with a letter (so neither empty nor whitespace-only). Python's and pydantic's
# regex engines read ``[^\W\d_]`` (a letter) alike.
NAME_PATTERN = r"^[^\W\d_]([^\W\d_]|[ '’.,-])*$"
# An Indonesian number: +62, 62 or 0, then 8 to 12 digits, the first not 0; spaces,
# dots, hyphens and brackets between digits are dropped.
PHONE_PATTERN = r"^(\+62|62|0)[ .()-]*[1-9]([ .()-]*[0-9]){7,11}$"
KEY_PATTERN = r"^[A-Za-z0-9 .:_-]+$"
EXTERNAL_REF_PATTERN = r"^[A-Za-z0-9._-]+$"
i18n.PATTERN_MESSAGES.update(
    {
        NAME_PATTERN: (
            "Write the name with letters, spaces, apostrophes, dots, commas and hyphens, "
            'starting with a letter, e.g. "Ni Luh Putu Ayu" or "O\'Neil".',
            "Tulis nama dengan huruf, spasi, apostrof, titik, koma dan tanda hubung, diawali "
            'huruf, misalnya "Ni Luh Putu Ayu" atau "O\'Neil".',
        ),
        PHONE_PATTERN: (
            "Write an Indonesian phone number such as 0812-3456-7890 or +62 812 3456 7890.",
            "Tulis nomor telepon Indonesia seperti 0812-3456-7890 atau +62 812 3456 7890.",
        ),
        KEY_PATTERN: (
            "Address a learner by NIP (18 digits), pppk:<NI PPPK> or "
            "ext:<agency-slug>:<external_ref>.",
            "Sebut peserta dengan NIP (18 angka), pppk:<NI PPPK> atau "
            "ext:<slug-instansi>:<external_ref>.",
        ),
    }
)


def _normal_phone(value: str) -> str:
    digits = "".join(c for c in value if c.isdigit())
    if value.startswith("+62") or (value.startswith("62") and not value.startswith("0")):
        national = digits[2:]
    else:
        national = digits[1:]
    return "+62" + national


Name = Annotated[str, PField(min_length=1, max_length=200, pattern=NAME_PATTERN)]
Phone = Annotated[
    str,
    PField(max_length=30, pattern=PHONE_PATTERN, examples=["0812-3456-7890"]),
    AfterValidator(_normal_phone),
]
Title = Annotated[str, line(min_length=1, max_length=60)]


class LearnerFields(StrictInput):
    name: Name = PField(description="One field; single names are normal")
    front_title: Title | None = PField(default=None, examples=["Dr."])
    back_title: Title | None = PField(default=None, examples=["S.Sos., M.H."])
    birth_date: Date | None = PField(
        default=None, description="Must agree with the NIP / NI PPPK; defaults to theirs"
    )
    gender: Gender | None = PField(
        default=None, description="Must agree with digit 15 of the NIP; defaults to it"
    )
    email: Email | None = None
    phone: Phone | None = PField(default=None, description="Stored as +62...")
    position_type: PositionType | None = None
    position_title: str | None = line(min_length=1, max_length=200, default=None)
    rank: Rank | None = PField(
        default=None, description="Golongan I/a to IV/e (PNS, CPNS); grade I to XVII (PPPK)"
    )
    work_unit: str | None = line(min_length=1, max_length=200, default=None)


class LearnerPut(LearnerFields):
    """The whole learner: fields left out are emptied (or taken from the NIP)."""

    asn_type: AsnType = PField(description="Must fit the key: pns/cpns by NIP, pppk, non_asn")
    agency_id: Ident | None = PField(
        default=None,
        description="Home agency: yours by default; platform admins name it on creation",
    )


class LearnerUpdate(StrictInput):
    """Only the fields sent change; null only where the field may be empty."""

    asn_type: AsnType = PField(default=UNSET, description="Only between pns and cpns")
    name: Name = PField(default=UNSET)
    front_title: Title | None = None
    back_title: Title | None = None
    birth_date: Date | None = None
    gender: Gender | None = None
    email: Email | None = None
    phone: Phone | None = None
    position_type: PositionType | None = None
    position_title: str | None = line(min_length=1, max_length=200, default=None)
    rank: Rank | None = None
    work_unit: str | None = line(min_length=1, max_length=200, default=None)


class LearnerRelease(StrictInput):
    to_agency_id: Ident | None = PField(
        description="The agency that may take the learner over; null withdraws the release"
    )


class LearnerTransfer(StrictInput):
    to_agency_id: Ident | None = PField(
        default=None,
        description="Your agency by default; platform admins name the new home agency",
    )


class LearnerPublic(BaseModel):
    id: str
    learner_key: str = PField(description="The path key: NIP, pppk:<NI PPPK>, ext:<slug>:<ref>")
    asn_type: AsnType
    nip: str | None
    ni_pppk: str | None
    external_ref: str | None
    name: str
    front_title: str | None
    back_title: str | None
    display_name: str = PField(examples=["Dr. Budi Santoso, S.Sos., M.H."])
    birth_date: date | None = PField(description="Only for the home agency")
    gender: Gender | None
    email: str | None = PField(description="Only for the home agency")
    phone: str | None = PField(description="Only for the home agency")
    agency_id: str = PField(description="Home agency")
    position_type: PositionType | None
    position_title: str | None
    rank: str | None
    work_unit: str | None
    released_to_agency_id: str | None = PField(
        description="An agency the home agency allowed to take the learner over"
    )
    version: int
    created_at: datetime
    updated_at: datetime


class LearnerPage(BaseModel):
    items: list[LearnerPublic]
    next_cursor: str | None


class LearnerQuery(SincePageQuery):
    """Filters and page of the learner list (all optional; unknown ones are a 422)."""

    agency: Ident | None = PField(default=None, description="Home agency id or slug")
    asn_type: AsnType | None = None
    position_type: PositionType | None = None
    rank: Rank | None = None
    q: str | None = line(
        min_length=1,
        max_length=100,
        default=None,
        description="Part of the name or of the key (a NIP may be written with spaces); "
        "case-insensitive",
    )


class Learner(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("learner_key", name="uq_learner_key"),
        Index("ix_learner_agency_id", "agency_id", "id"),
        # an xAPI actor's mbox names a learner by e-mail, in any case (migration 0023)
        Index("ix_learner_email_lower", text("lower(email)")),
        # q on PostgreSQL: a trigram index serves LIKE '%needle%' (migration 0008).
        Index(
            "ix_learner_search_trgm",
            "search",
            postgresql_using="gin",
            postgresql_ops={"search": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    id: str = id_field("lrn")
    learner_key: str = Field(max_length=140)
    agency_id: str = Field(foreign_key="agency.id", max_length=40)
    asn_type: AsnType = Field(sa_type=enum_type(AsnType))
    nip: str | None = Field(default=None, max_length=18)
    ni_pppk: str | None = Field(default=None, max_length=18)
    external_ref: str | None = Field(default=None, max_length=60)
    name: str = Field(max_length=200)
    front_title: str | None = Field(default=None, max_length=60)
    back_title: str | None = Field(default=None, max_length=60)
    birth_date: date | None = None
    gender: Gender | None = Field(default=None, sa_type=enum_type(Gender))
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=20)
    position_type: PositionType | None = Field(default=None, sa_type=enum_type(PositionType))
    position_title: str | None = Field(default=None, max_length=200)
    rank: str | None = Field(default=None, max_length=8)
    work_unit: str | None = Field(default=None, max_length=200)
    search: str = Field(default="", max_length=600, description="casefolded name and key")
    released_to_agency_id: str | None = Field(default=None, foreign_key="agency.id", max_length=40)
    released_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = 1
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
