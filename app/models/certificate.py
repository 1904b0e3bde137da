"""Certificates (*STTP / sertifikat*): one per passed enrolment, numbered, signed, revocable.

A certificate keeps a snapshot of what it prints (the holder's name with titles, NIP, rank,
position and agency; the course, cohort, dates, place, JP, score, grade and issuer) as it was
when issued: later edits of the learner or the course do not change a certificate. The same
facts are signed as a compact JWS (ES256, ``kid`` in the header; public keys at
``/.well-known/jwks.json``), and anyone can check a certificate at ``/verify/{code}``.

Numbers come from the course's ``certificate_number_pattern``; ``{seq}`` counts per issuing
agency and cohort year (``certificate_sequence``, taken under a row lock), so a number is
unique within the agency (``uq_certificate_agency_number`` backs that up).

An enrolment has at most one certificate that is not revoked (a partial unique index on
``enrollment_id`` where ``revoked_at`` is null, on both engines); a revoked one may be
replaced by a re-issue, which links the two both ways (``replaces_id`` on the new one, unique,
and ``replaced_by_id`` on the old one).
"""

from __future__ import annotations

import string
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel
from pydantic import Field as PField
from pydantic_core import PydanticCustomError
from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.core import i18n
from app.models.base import UTCDateTime, created_at_field, id_field, updated_at_field
from app.models.catalogue import JPNumber
from app.models.types import SincePageQuery, StrictInput, line

# --- the number pattern (a course field) ---------------------------------------------

DEFAULT_NUMBER_PATTERN = "{seq:04d}/{course_code}/{cohort_roman}/{year}"
PLACEHOLDERS = ("seq", "course_code", "cohort_roman", "cohort_number", "year")
NUMBER_MAX = 120
# The longest value each placeholder can take: a pattern must render within NUMBER_MAX.
_LONGEST: dict[str, Any] = {
    "seq": 9_999_999,
    "course_code": "X" * 40,
    "cohort_roman": "MMMDCCCLXXXVIII",
    "cohort_number": 3999,
    "year": 2100,
}

# The grammar, as the contract states it: text without braces or control characters, and
# placeholders from the list. What it cannot say (seq and year present, the rendered length)
# check_number_pattern does.
PATTERN_GRAMMAR = (
    r"^(?:[^{}\x00-\x1f\x7f]|\{(?:seq(?::0[1-9]d|:d)?|course_code|cohort_roman"
    r"|cohort_number|year)\})*$"
)
_PATTERN_HELP = (
    "Use only the placeholders seq (zero-padded as seq:04d), course_code, "
    "cohort_roman, cohort_number and year, each in braces; seq and year are required "
    "and the number must fit in 120 characters.",
    "Gunakan hanya placeholder seq (diisi nol sebagai seq:04d), course_code, "
    "cohort_roman, cohort_number dan year, masing-masing dalam kurung kurawal; seq dan "
    "year wajib ada dan nomor harus muat dalam 120 karakter.",
)
i18n.PATTERN_MESSAGES[PATTERN_GRAMMAR] = _PATTERN_HELP
i18n.FIELD_MESSAGES.update(
    {
        "certificate_number_pattern": _PATTERN_HELP,
    }
)


def _bad_pattern() -> PydanticCustomError:
    return PydanticCustomError(
        "certificate_number_pattern",
        "Use only {seq}, {course_code}, {cohort_roman}, {cohort_number} and {year}",
    )


def check_number_pattern(value: str) -> str:
    """Known placeholders only; ``{seq}`` (optionally zero-padded: ``{seq:04d}``) and
    ``{year}`` present, so numbers of one agency never repeat; renders within NUMBER_MAX."""
    try:
        parts = list(string.Formatter().parse(value))
    except ValueError:
        raise _bad_pattern() from None
    names = set()
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in PLACEHOLDERS or conversion is not None:
            raise _bad_pattern()
        if spec and not (name == "seq" and spec in {f"0{n}d" for n in range(1, 10)} | {"d"}):
            raise _bad_pattern()
        names.add(name)
    if not {"seq", "year"} <= names or len(value.format(**_LONGEST)) > NUMBER_MAX:
        raise _bad_pattern()
    return value


NumberPattern = Annotated[
    str,
    PField(
        min_length=5,
        max_length=NUMBER_MAX,
        pattern=PATTERN_GRAMMAR,
        description="How certificate numbers are written: placeholders {seq} (counts per "
        "agency and year; {seq:04d} pads), {course_code}, {cohort_roman}, {cohort_number}, "
        "{year}; {seq} and {year} are required",
        examples=[DEFAULT_NUMBER_PATTERN],
    ),
    AfterValidator(check_number_pattern),
]


def render_number(pattern: str, **values: Any) -> str:
    return pattern.format(**values)


# --- tables ----------------------------------------------------------------------------


class Certificate(SQLModel, table=True):
    __table_args__ = (
        # one valid certificate per enrolment; revoked ones stay beside their replacement
        Index(
            "uq_certificate_enrollment_valid",
            "enrollment_id",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
        UniqueConstraint("replaces_id", name="uq_certificate_replaces"),
        UniqueConstraint("agency_id", "number", name="uq_certificate_agency_number"),
        UniqueConstraint("verification_code", name="uq_certificate_verification_code"),
        Index("ix_certificate_cohort", "cohort_id", "id"),
        Index("ix_certificate_learner", "learner_id", "id"),
    )

    id: str = id_field("crt")
    enrollment_id: str = Field(foreign_key="enrollment.id", max_length=40)
    learner_id: str = Field(foreign_key="learner.id", max_length=40)
    cohort_id: str = Field(foreign_key="cohort.id", max_length=40)
    course_id: str = Field(foreign_key="course.id", max_length=40)
    agency_id: str = Field(foreign_key="agency.id", max_length=40, description="The issuer")
    number: str = Field(max_length=NUMBER_MAX)
    verification_code: str = Field(max_length=64)
    # the printed facts, as issued
    holder_name: str = Field(max_length=400, description="With front and back titles")
    holder_id_kind: str | None = Field(default=None, max_length=10, description="NIP, NI PPPK")
    holder_id_number: str | None = Field(default=None, max_length=18)
    holder_rank: str | None = Field(default=None, max_length=8)
    holder_position: str | None = Field(default=None, max_length=200)
    holder_agency_name: str = Field(max_length=200)
    course_title: str = Field(max_length=250)
    course_code: str = Field(max_length=40)
    course_kind: str = Field(max_length=32)
    cohort_name: str = Field(max_length=40, description="Angkatan II")
    cohort_year: int
    starts_on: date
    ends_on: date
    place: str | None = Field(default=None, max_length=500, description="Venue or platform")
    jp_halves: int
    score_centi: int | None = None
    grade: str | None = Field(default=None, max_length=60)
    issuer_name: str = Field(max_length=200)
    verification_url: str = Field(max_length=600)
    jws: str = Field(sa_type=Text)
    kid: str = Field(max_length=100)
    issued_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoke_reason: str | None = Field(default=None, max_length=500)
    revoked_by: str | None = Field(default=None, max_length=40)
    # a re-issue: the revoked certificate this one replaces, and on that one, this one
    replaces_id: str | None = Field(default=None, foreign_key="certificate.id", max_length=40)
    replaced_by_id: str | None = Field(default=None, foreign_key="certificate.id", max_length=40)
    version: int = 1
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class CertificateSequence(SQLModel, table=True):
    """The last ``{seq}`` given by an agency in a year; the row is locked while numbering."""

    __tablename__ = "certificate_sequence"

    agency_id: str = Field(foreign_key="agency.id", primary_key=True, max_length=40)
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last_seq: int = 0


class CertificateKey(SQLModel, table=True):
    """Every key certificates were signed with (so /.well-known/jwks.json keeps publishing a
    rotated-out key), and the development key generated when none is configured."""

    __tablename__ = "certificate_key"

    kid: str = Field(primary_key=True, max_length=100)
    algorithm: str = Field(max_length=10)
    public_jwk: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    # only for the generated development key (never in production: see config.py)
    private_pem: str | None = Field(default=None, sa_type=Text)
    generated: bool = False
    created_at: datetime = created_at_field()


# --- API shapes -------------------------------------------------------------------------


class CertificateRevoke(StrictInput):
    reason: str = line(min_length=3, max_length=500, description="Why; shown on the verify page")


class Holder(BaseModel):
    name: str = PField(examples=["Dr. Ni Luh Putu Ayu, S.Sos., M.H."])
    id_kind: str | None = PField(description="NIP or NI PPPK; null for non-ASN guests")
    id_number: str | None
    rank: str | None
    position: str | None
    agency_name: str


class Revocation(BaseModel):
    revoked_at: datetime
    reason: str


class CertificateFacts(BaseModel):
    """What the certificate prints and the verify page shows."""

    number: str
    holder: Holder
    course_title: str
    course_code: str
    cohort: str = PField(examples=["Angkatan II"])
    year: int
    starts_on: date
    ends_on: date
    place: str | None
    jp: JPNumber
    score: JPNumber | None
    grade: str | None
    issuer: str
    issued_at: datetime
    valid: bool = PField(description="false once revoked")
    revocation: Revocation | None


class CertificatePublic(CertificateFacts):
    id: str
    enrollment_id: str
    learner_id: str
    cohort_id: str
    course_id: str
    agency_id: str = PField(description="The issuer")
    verification_url: str
    pdf_url: str
    qr_url: str
    jws: str = PField(
        description="Compact JWS (ES256) of the facts; keys at /.well-known/jwks.json"
    )
    replaces_id: str | None = PField(
        description="A re-issue: the revoked certificate this one replaces"
    )
    replaced_by_id: str | None = PField(
        description="Revoked and re-issued: the certificate that replaces this one"
    )
    version: int
    created_at: datetime
    updated_at: datetime


class CertificateVerification(CertificateFacts):
    """The public answer of /verify/{code}: the printed facts (NIP partly masked), whether
    the certificate is valid, and its signed form."""

    verification_url: str
    jws: str
    jwks_url: str
    replaces: str | None = PField(
        description="A re-issue: the number of the revoked certificate this one replaces"
    )
    replaced_by: str | None = PField(
        description="Revoked and re-issued: the number of the certificate that replaces this "
        "one (its number only: its verification code stays with its holder)"
    )


class CertificatePage(BaseModel):
    items: list[CertificatePublic]
    next_cursor: str | None


class CertificateQuery(SincePageQuery):
    """Page of a certificate list (unknown parameters are a 422)."""


class IssueResult(BaseModel):
    cohort_id: str
    issued: int = PField(description="Certificates issued by this call")
    already_issued: int = PField(description="Passed enrolments that already had one")
    certificates_issued_at: datetime
    certificates_url: str
