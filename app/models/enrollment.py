"""Enrolments (*pendaftaran peserta*): a learner in a cohort, its status and its history.

Seats: ``proposed``, ``verified`` and ``active`` hold a seat of the cohort's capacity;
``waitlisted`` waits in line (``queue_no``, given under the cohort row lock); ``withdrawn``
holds nothing. The cohort row keeps the counters (``seats_taken``, ``waitlist_length``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PField
from sqlalchemy import JSON, Column, Index, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, created_at_field, enum_type, id_field, updated_at_field
from app.models.catalogue import JPNumber
from app.models.learner import KEY_PATTERN, LearnerPut
from app.models.types import Ident, SincePageQuery, StrictInput, line


class EnrollmentStatus(StrEnum):
    proposed = "proposed"
    verified = "verified"
    active = "active"
    waitlisted = "waitlisted"
    withdrawn = "withdrawn"
    # outcomes, set by the cohort's evaluation (services/learning/evaluation.py)
    passed = "passed"
    failed = "failed"
    dropped = "dropped"


SEATED = frozenset({EnrollmentStatus.proposed, EnrollmentStatus.verified, EnrollmentStatus.active})


class EnrollmentCreate(StrictInput):
    learner_key: str = PField(
        min_length=1,
        max_length=140,
        pattern=KEY_PATTERN,
        description="NIP (PNS, CPNS), pppk:<NI PPPK> or ext:<agency-slug>:<external_ref>",
        examples=["198001012005011001"],
    )
    learner: LearnerPut | None = PField(
        default=None,
        description="The whole learner, upserted first (as PUT /v1/learners/{key}) by the "
        "learner's home agency; leave out to enrol an existing learner",
    )


class SelfEnrollmentCreate(StrictInput):
    cohort_id: Ident = PField(description="The open cohort to join", examples=["coh_01JD3X"])


class EnrollmentTransition(StrictInput):
    to: EnrollmentStatus
    reason: str | None = line(
        min_length=1, max_length=500, default=None, description="Required to withdraw or drop"
    )


class OutcomeReason(BaseModel):
    """Why an enrolment failed (or was dropped); more members by ``code``:
    ``score_below_passing``: score, passing; ``absence_over_limit``: absent_jp, limit;
    ``module_incomplete`` and ``score_missing``: module_id, title."""

    model_config = ConfigDict(extra="allow")

    code: str = PField(
        examples=["absence_over_limit"],
        description="score_below_passing | absence_over_limit | module_incomplete | score_missing",
    )


class EnrollmentPublic(BaseModel):
    id: str
    cohort_id: str
    course_id: str
    agency_id: str = PField(description="The cohort's organiser")
    learner_id: str
    learner_key: str
    learner_name: str
    learner_agency_id: str = PField(description="The learner's home agency")
    status: EnrollmentStatus
    self_enrolled: bool = PField(
        description="Made by the learner's own login; the home agency verifies it"
    )
    waitlist_position: int | None = PField(description="1 is next in line; null unless waitlisted")
    allowed_transitions: list[EnrollmentStatus]
    final_score: JPNumber | None = PField(
        description="0-100, two decimals (rounded half-up); null until evaluated or without "
        "assessed modules"
    )
    grade: str | None = PField(description="Predikat from the course's grade bands")
    absent_jp: JPNumber | None = PField(description="JP of sessions missed; null until evaluated")
    outcome_reasons: list[OutcomeReason] = PField(
        description="Why it failed or was dropped; empty when passed or not evaluated"
    )
    evaluated_at: datetime | None = PField(description="When the cohort's evaluation last ran")
    version: int
    created_at: datetime
    updated_at: datetime


class EnrollmentPage(BaseModel):
    items: list[EnrollmentPublic]
    next_cursor: str | None


class EnrollmentEventPublic(BaseModel):
    seq: int = PField(description="1 for the enrolment itself, then each change")
    from_status: EnrollmentStatus | None
    to_status: EnrollmentStatus
    reason: str | None
    actor_user_id: str | None = PField(description="null when the service moved it (promotion)")
    actor_agency_id: str | None
    at: datetime


class EnrollmentEventPage(BaseModel):
    items: list[EnrollmentEventPublic]
    next_cursor: str | None


class EnrollmentQuery(SincePageQuery):
    """Filters and page of an enrolment list (unknown parameters are a 422)."""

    status: EnrollmentStatus | None = None


class Enrollment(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("cohort_id", "learner_id", name="uq_enrollment_cohort_learner"),
        Index("ix_enrollment_cohort_id", "cohort_id", "id"),
        Index("ix_enrollment_cohort_queue", "cohort_id", "status", "queue_no"),
        Index("ix_enrollment_learner_id", "learner_id", "id"),
        # the organiser's enrolments in id order, and its enrolled learners (OneRoster)
        Index("ix_enrollment_agency_id", "agency_id", "id"),
        Index("ix_enrollment_agency_learner", "agency_id", "learner_id"),
    )

    id: str = id_field("enr")
    cohort_id: str = Field(foreign_key="cohort.id", max_length=40)
    course_id: str = Field(foreign_key="course.id", max_length=40)
    agency_id: str = Field(foreign_key="agency.id", max_length=40)
    learner_id: str = Field(foreign_key="learner.id", max_length=40)
    status: EnrollmentStatus = Field(sa_type=enum_type(EnrollmentStatus))
    queue_no: int | None = None
    # the outcome of the last evaluation (null until the cohort is evaluated)
    final_score_centi: int | None = None
    grade: str | None = Field(default=None, max_length=60)
    absent_jp_halves: int | None = None
    outcome_reasons: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    evaluated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    self_enrolled: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    version: int = 1
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class EnrollmentEvent(SQLModel, table=True):
    __tablename__ = "enrollment_event"
    __table_args__ = (UniqueConstraint("enrollment_id", "seq", name="uq_enrollment_event_seq"),)

    id: str = id_field("eev")
    enrollment_id: str = Field(foreign_key="enrollment.id", max_length=40)
    seq: int
    from_status: EnrollmentStatus | None = Field(default=None, sa_type=enum_type(EnrollmentStatus))
    to_status: EnrollmentStatus = Field(sa_type=enum_type(EnrollmentStatus))
    reason: str | None = Field(default=None, max_length=500)
    actor_user_id: str | None = Field(default=None, max_length=40)
    actor_agency_id: str | None = Field(default=None, max_length=40)
    at: datetime = Field(default=None, sa_type=UTCDateTime, nullable=False)


# --- bulk enrolment (POST /v1/cohorts/{id}/enrollments/bulk) --------------------------


class BulkMode(StrEnum):
    all_or_nothing = "all_or_nothing"
    partial = "partial"


class BulkOutcome(StrEnum):
    created = "created"
    already_enrolled = "already_enrolled"
    waitlisted = "waitlisted"
    rejected = "rejected"


class BulkQuery(BaseModel):
    """``mode`` and ``dry_run`` of a bulk enrolment (unknown parameters are a 422)."""

    model_config = ConfigDict(extra="forbid")

    mode: BulkMode = PField(
        default=BulkMode.all_or_nothing,
        description="all_or_nothing: one rejected row and nothing is written; partial: the "
        "good rows are written",
    )
    dry_run: bool = PField(default=False, description="Check every row, write nothing")


class BulkRow(StrictInput):
    """One row of a JSON bulk: the roster file's column names. A learner is named by
    ``nip``, ``ni_pppk`` or ``learner_key`` (any key: NIP, pppk:..., ext:<agency-slug>:...)
    and must exist already; the other fields are ignored."""

    nip: str | None = line(min_length=1, max_length=40, default=None)
    ni_pppk: str | None = line(min_length=1, max_length=40, default=None)
    learner_key: str | None = line(
        min_length=1, max_length=140, default=None, examples=["ext:bkpsdm-kab-tangerang:TAMU-001"]
    )
    name: str | None = line(min_length=1, max_length=200, default=None)


@dataclass(slots=True)
class BulkRowResult:
    # A slotted dataclass, not a model: a 10,000-row import holds one a row to its answer
    # (as models they were 2.5 MB of one worker's heap, tracemalloc). Built unvalidated
    # from values the service decided; pydantic serialises it by this schema.
    row: Annotated[int, PField(description="The row as a spreadsheet shows it (header is row 1)")]
    learner_key: str | None
    outcome: BulkOutcome
    enrollment_id: Annotated[str | None, PField(description="The enrolment made or already there")]
    errors: Annotated[
        list[dict[str, Any]], PField(description="Each problem: loc, msg, msg_id, type")
    ]


class BulkResult(BaseModel):
    mode: BulkMode
    dry_run: bool
    written: bool = PField(description="Whether anything was saved")
    counts: dict[BulkOutcome, int]
    rows: list[BulkRowResult]
    warnings: list[dict[str, Any]] = PField(description="Ignored columns of the file")


# --- evaluation (POST /v1/cohorts/{id}/evaluate, GET /v1/cohorts/{id}/evaluation) -------


class EvaluationOutcome(StrEnum):
    passed = "passed"
    failed = "failed"
    skipped = "skipped"


class EvaluationItem(BaseModel):
    enrollment_id: str
    learner_id: str
    learner_key: str
    learner_name: str
    previous_status: EnrollmentStatus
    status: EnrollmentStatus = PField(description="After this evaluation (a preview: would be)")
    outcome: EvaluationOutcome = PField(
        description="skipped: withdrawn, waitlisted or dropped enrolments"
    )
    changed: bool = PField(description="The status changed (a history event was written)")
    final_score: JPNumber | None
    grade: str | None
    absent_jp: JPNumber | None
    reasons: list[OutcomeReason]


class EvaluationRules(BaseModel):
    passing_score: JPNumber = PField(description="A final score at least this passes")
    max_absence_jp: JPNumber | None = PField(description="null: no cap")
    present_share: float = PField(
        description="Share of a session's length a present/late learner must attend"
    )
    sessions_counted: int = PField(description="Sessions whose attendance counts")
    assessed_modules: int
    self_paced_modules: int


class EvaluationCounts(BaseModel):
    passed: int
    failed: int
    skipped: int
    changed: int


class EvaluationResult(BaseModel):
    cohort_id: str
    written: bool = PField(description="false for a preview")
    evaluated_at: datetime
    rules: EvaluationRules
    counts: EvaluationCounts
    items: list[EvaluationItem] = PField(description="Every enrolment of the cohort, by id")
