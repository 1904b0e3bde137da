"""Enrolments: a learner into a cohort (seat or waitlist), and the shape every enrolment
service returns. Status moves are in ``enrollment_moves``, reads in ``enrollment_reads``.

Who may enrol: the organising agency's admins (any learner) and the learner's home
agency's admins (their own learners, into a cohort they can see). Who may see an
enrolment: ``visibility.enrollment_visible``; everyone else gets 404. Locks are always
taken learner first, then cohort (enrolment), or cohort alone (moves), so no two
requests wait on each other in a circle.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from pydantic import TypeAdapter
from sqlalchemy import func
from sqlmodel import Session, col, select

from app.core.db import commit_or_409, flush_or_409
from app.core.errors import ProblemError
from app.core.etag import resource_etag
from app.core.security import Principal
from app.models import Cohort, Course, Enrollment, Learner
from app.models.base import utcnow
from app.models.catalogue import from_centi, halves_to_jp
from app.models.cohort import CohortStatus
from app.models.enrollment import (
    EnrollmentCreate,
    EnrollmentPublic,
    EnrollmentStatus,
    OutcomeReason,
)
from app.models.learner import AsnType
from app.services.cohorts import name_of
from app.services.learning import grants, seats
from app.services.learning import learners as core
from app.services.learning.keys import parse_key
from app.services.visibility import (
    cohort_visible,
    owns,
)

E = EnrollmentStatus
# The one table of moves: a row here and, if only the organiser may make it, an entry in
# ORGANISER_ONLY. dropped: while the cohort runs, absence already over the course's cap.
TRANSITIONS: dict[EnrollmentStatus, tuple[EnrollmentStatus, ...]] = {
    E.proposed: (E.verified, E.withdrawn),
    E.verified: (E.active, E.withdrawn, E.dropped),
    E.active: (E.withdrawn, E.dropped),
    E.waitlisted: (E.withdrawn,),
    E.withdrawn: (),
    # outcomes: set by the cohort's evaluation (services/learning/evaluation.py), final here
    E.passed: (),
    E.failed: (),
    E.dropped: (),
}
ORGANISER_ONLY = frozenset({E.verified, E.active, E.dropped})
REENROLLED = "re_enrolment"  # history reason of a withdrawn enrolment enrolled again
FINAL_COHORT = (CohortStatus.completed, CohortStatus.cancelled)

ONE = TypeAdapter(EnrollmentPublic)
Saved = tuple[EnrollmentPublic, str]  # what every service here returns: the enrolment, ETag


def url_of(enrollment_id: str) -> str:
    return f"/v1/enrollments/{enrollment_id}"


def not_found(enrollment_id: str) -> ProblemError:
    return ProblemError(
        404,
        "not_found",
        f"No enrolment has id {enrollment_id}; check the id.",
        detail_id=f"Tidak ada pendaftaran dengan id {enrollment_id}; periksa id tersebut.",
    )


def _position(session: Session, enrollment: Enrollment) -> int | None:
    if enrollment.status != E.waitlisted or enrollment.queue_no is None:
        return None
    ahead = session.exec(
        select(func.count())
        .select_from(Enrollment)
        .where(
            col(Enrollment.cohort_id) == enrollment.cohort_id,
            col(Enrollment.status) == E.waitlisted,
            col(Enrollment.queue_no) <= enrollment.queue_no,
        )
    ).one()
    return int(ahead)


def saved_of(
    session: Session, enrollment: Enrollment, learner: Learner, position: int | None = None
) -> Saved:
    position = position or _position(session, enrollment)
    score, absent = enrollment.final_score_centi, enrollment.absent_jp_halves
    item = EnrollmentPublic(
        id=enrollment.id,
        cohort_id=enrollment.cohort_id,
        course_id=enrollment.course_id,
        agency_id=enrollment.agency_id,
        learner_id=learner.id,
        learner_key=learner.learner_key,
        learner_name=core.public(learner, None).display_name,
        learner_agency_id=learner.agency_id,
        status=enrollment.status,
        self_enrolled=enrollment.self_enrolled,
        waitlist_position=position,
        allowed_transitions=list(TRANSITIONS[enrollment.status]),
        final_score=None if score is None else from_centi(score),
        grade=enrollment.grade,
        absent_jp=None if absent is None else halves_to_jp(absent),
        outcome_reasons=[OutcomeReason.model_validate(r) for r in enrollment.outcome_reasons or []],
        evaluated_at=enrollment.evaluated_at,
        version=enrollment.version,
        created_at=enrollment.created_at,
        updated_at=enrollment.updated_at,
    )
    # a re-evaluation may change the outcome without a status move (no new version)
    evaluated = int(enrollment.evaluated_at.timestamp() * 1e6) if enrollment.evaluated_at else 0
    etag = resource_etag(
        enrollment.id, enrollment.version, learner.version, position or 0, evaluated
    )
    return item, etag


# --- enrolling -------------------------------------------------------------------------


def _shown(cohort: Cohort, moment: object) -> str:
    assert hasattr(moment, "astimezone")
    return str(moment.astimezone(ZoneInfo(cohort.timezone)).isoformat(timespec="minutes"))


def _check_open(cohort: Cohort) -> None:
    if cohort.status != CohortStatus.open:
        raise ProblemError(
            409,
            "cohort_not_open",
            f"{name_of(cohort.number)} is {cohort.status.value}; learners enrol only while a "
            "cohort is open. Ask the organiser to open it, or choose an open cohort.",
            detail_id=f"{name_of(cohort.number)} berstatus {cohort.status.value}; peserta "
            "hanya dapat didaftarkan selama angkatan berstatus open. Minta penyelenggara "
            "membukanya, atau pilih angkatan yang terbuka.",
        )
    now = utcnow()
    opens, closes = cohort.enrollment_opens_at, cohort.enrollment_closes_at
    if opens is not None and now < opens:
        when = _shown(cohort, opens)
        raise ProblemError(
            409,
            "enrollment_not_open_yet",
            f"Enrolment in {name_of(cohort.number)} opens at {when}; enrol from then on.",
            detail_id=f"Pendaftaran {name_of(cohort.number)} dibuka pada {when}; daftarkan "
            "peserta mulai saat itu.",
            extra={"enrollment_opens_at": opens.isoformat()},
        )
    if closes is not None and now >= closes:
        when = _shown(cohort, closes)
        raise ProblemError(
            409,
            "enrollment_closed",
            f"Enrolment in {name_of(cohort.number)} closed at {when}; choose another cohort "
            "or ask the organiser to extend enrollment_closes_at.",
            detail_id=f"Pendaftaran {name_of(cohort.number)} ditutup pada {when}; pilih "
            "angkatan lain atau minta penyelenggara memperpanjang enrollment_closes_at.",
            extra={"enrollment_closes_at": closes.isoformat()},
        )


def _duplicate(existing_id: str) -> ProblemError:
    url = url_of(existing_id)
    return ProblemError(
        409,
        "duplicate_enrollment",
        f"This learner is already enrolled in this cohort: {url}. Change that enrolment "
        "instead of enrolling again.",
        detail_id=f"Peserta ini sudah terdaftar di angkatan ini: {url}. Ubah pendaftaran "
        "itu alih-alih mendaftar lagi.",
        headers={"Location": url},
        extra={"enrollment_url": url},
    )


def _check_learner(
    session: Session, learner: Learner, cohort: Cohort, course: Course
) -> Enrollment | None:
    """The learner may join the cohort; their withdrawn enrolment in it, to reactivate."""
    if learner.asn_type == AsnType.non_asn and not course.open_to_non_asn:
        raise ProblemError(
            409,
            "non_asn_not_allowed",
            "This course is for civil servants (ASN) only; non-ASN learners can enrol only "
            "where the course is open_to_non_asn.",
            detail_id="Pelatihan ini hanya untuk ASN; peserta non-ASN hanya dapat didaftarkan "
            "pada pelatihan dengan open_to_non_asn.",
        )
    existing = session.exec(
        select(Enrollment)
        .where(col(Enrollment.cohort_id) == cohort.id, col(Enrollment.learner_id) == learner.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if existing is not None and existing.status != E.withdrawn:
        raise _duplicate(existing.id)
    clash = session.exec(
        select(col(Enrollment.id), col(Cohort.number), col(Cohort.year))
        .join(Cohort, col(Cohort.id) == col(Enrollment.cohort_id))
        .where(
            col(Enrollment.learner_id) == learner.id,
            col(Enrollment.course_id) == course.id,
            col(Enrollment.status) != E.withdrawn,
            col(Cohort.starts_on) <= cohort.ends_on,
            col(Cohort.ends_on) >= cohort.starts_on,
        )
    ).first()
    if clash is not None:
        other_id, number, year = clash
        url = url_of(other_id)
        raise ProblemError(
            409,
            "overlapping_enrollment",
            f"The learner is already enrolled in {name_of(number)} {year} of this course, "
            f"whose dates overlap this cohort's ({url}); withdraw that enrolment first.",
            detail_id=f"Peserta sudah terdaftar di {name_of(number)} {year} pelatihan ini "
            f"yang tanggalnya bertumpang tindih dengan angkatan ini ({url}); tarik dulu "
            "pendaftaran itu.",
            extra={"enrollment_url": url},
        )
    return existing


def _full(cohort: Cohort) -> ProblemError:
    return ProblemError(
        409,
        "cohort_full",
        f"All {cohort.capacity} seats of {name_of(cohort.number)} are taken and it keeps no "
        "waitlist; choose another cohort or ask the organiser to raise the capacity.",
        detail_id=f"Seluruh {cohort.capacity} kursi {name_of(cohort.number)} sudah terisi "
        "dan angkatan ini tidak memakai daftar tunggu; pilih angkatan lain atau minta "
        "penyelenggara menambah kapasitas.",
    )


def locked_cohort(session: Session, principal: Principal, cohort_id: str) -> tuple[Cohort, Course]:
    """The cohort under its row lock and its course; 404 unless the caller may see it."""
    cohort = seats.lock_cohort(session, cohort_id)
    course = session.get(Course, cohort.course_id) if cohort else None
    if (
        cohort is None
        or course is None
        or not cohort_visible(principal, cohort.agency_id, course.status, cohort.status)
    ):
        raise ProblemError(
            404,
            "not_found",
            f"No cohort has id {cohort_id}; check the id.",
            detail_id=f"Tidak ada angkatan dengan id {cohort_id}; periksa id tersebut.",
        )
    return cohort, course


def open_cohort(session: Session, principal: Principal, cohort_id: str) -> tuple[Cohort, Course]:
    """As :func:`locked_cohort`, and 409 unless the cohort takes enrolments now (bulk)."""
    cohort, course = locked_cohort(session, principal, cohort_id)
    _check_open(cohort)
    return cohort, course


def enrol(
    *, session: Session, principal: Principal, cohort_id: str, data: EnrollmentCreate
) -> Saved:
    """Staff enrol a learner. With a learner payload the upsert is part of the same
    transaction: a refused enrolment leaves the learner as it was."""
    key = parse_key(data.learner_key, today=core.today()).key
    if data.learner is not None:
        core.put_learner(
            session=session, principal=principal, raw_key=key, data=data.learner, commit=False
        )
    learner = core.by_key(session, key, for_update=True)
    cohort, course = locked_cohort(session, principal, cohort_id)
    if learner is None or not (
        owns(principal, cohort.agency_id) or owns(principal, learner.agency_id)
    ):
        raise core.not_found(key)  # another agency's learner is not disclosed
    return seat(session, principal, learner, cohort, course, self_enrolled=False)


def seat(
    session: Session,
    principal: Principal,
    learner: Learner,
    cohort: Cohort,
    course: Course,
    *,
    self_enrolled: bool,
) -> Saved:
    """The rules every single enrolment shares, with the learner and the cohort locked
    (learner first): window, ASN, duplicate, overlap, then a seat or the waitlist. A
    withdrawn enrolment of the learner in the cohort is reactivated (same row, its
    history goes on: withdrawn -> proposed or waitlisted, reason ``re_enrolment``)."""
    _check_open(cohort)
    withdrawn = _check_learner(session, learner, cohort, course)
    enrollment = withdrawn or Enrollment(
        cohort_id=cohort.id,
        course_id=course.id,
        agency_id=cohort.agency_id,
        learner_id=learner.id,
        status=E.proposed,
    )
    if seats.has_room(cohort):
        to, queue_no = E.proposed, None
        cohort.seats_taken += 1
    elif cohort.waitlist_enabled:
        to = E.waitlisted
        cohort.waitlist_seq += 1
        cohort.waitlist_length += 1
        queue_no = cohort.waitlist_seq
    else:
        raise _full(cohort)
    enrollment.self_enrolled = self_enrolled
    if withdrawn is not None:
        seats.move(session, enrollment, to, principal=principal, reason=REENROLLED)
        enrollment.queue_no = queue_no
    else:
        enrollment.status, enrollment.queue_no = to, queue_no
        enrollment.updated_at = enrollment.created_at
        session.add(enrollment)
        seats.record(session, enrollment, None, principal=principal, reason=None)
    session.add(cohort)
    if withdrawn is None:  # a re-enrolment's row kept its grant
        flush_or_409(session, duplicate_race())
        grants.grant_enrolled(
            session, course_id=course.id, organiser=cohort.agency_id, learner_ids=[learner.id]
        )
    commit_or_409(session, duplicate_race())
    # a new waitlisted enrolment is last in line: no need to count
    waiting = cohort.waitlist_length if enrollment.status == E.waitlisted else None
    return saved_of(session, enrollment, learner, waiting)


def duplicate_race() -> ProblemError:
    return ProblemError(
        409,
        "duplicate_enrollment",
        "This learner was enrolled in this cohort by another request just now; read the "
        "learner's enrolments instead of enrolling again.",
        detail_id="Peserta ini baru saja didaftarkan ke angkatan ini oleh permintaan lain; "
        "baca pendaftaran peserta alih-alih mendaftar lagi.",
    )
