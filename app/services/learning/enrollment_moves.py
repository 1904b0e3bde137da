"""Status moves of an enrolment (``POST /v1/enrollments/{id}/transitions``) and the
visibility check every read and move of one enrolment goes through.

Who may move: the organiser verifies and activates (``ORGANISER_ONLY``), except a
self-enrolment, which the learner's home agency verifies; the home agency or the
organiser withdraws; a learner login only withdraws its own, before the cohort runs.
Withdrawing a seated enrolment seats the first waitlisted one in the same transaction.
The cohort row is locked first, then the enrolment (``visible(lock=True)``).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.core.errors import ProblemError
from app.core.etag import check_if_match
from app.core.security import Principal
from app.models import Cohort, Course, Enrollment, Learner
from app.models.cohort import CohortStatus
from app.models.enrollment import SEATED, EnrollmentStatus, EnrollmentTransition
from app.services.learning import evaluation, seats
from app.services.learning.enrollments import (
    FINAL_COHORT,
    ORGANISER_ONLY,
    TRANSITIONS,
    Saved,
    not_found,
    saved_of,
)
from app.services.validation import invalid
from app.services.visibility import enrollment_visible, owns

E = EnrollmentStatus


def visible(
    session: Session, principal: Principal, enrollment_id: str, *, lock: bool = False
) -> tuple[Enrollment, Learner, Course, Cohort | None]:
    enrollment = session.get(Enrollment, enrollment_id)
    if enrollment is None:
        raise not_found(enrollment_id)
    cohort = seats.lock_cohort(session, enrollment.cohort_id) if lock else None
    if lock:  # read again under the cohort lock: a concurrent move may have committed
        enrollment = session.exec(
            select(Enrollment)
            .where(col(Enrollment.id) == enrollment_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
    learner = session.get(Learner, enrollment.learner_id)
    course = session.get(Course, enrollment.course_id)
    assert learner is not None and course is not None
    if not enrollment_visible(
        principal,
        learner.agency_id,
        enrollment.agency_id,
        course.partner_agency_ids,
        learner_id=learner.id,
    ):
        raise not_found(enrollment_id)
    return enrollment, learner, course, cohort


def _forbidden(to: EnrollmentStatus, organiser_only: bool) -> ProblemError:
    if organiser_only:
        en = f"Only the organising agency may move an enrolment to {to.value}."
        id_ = f"Hanya instansi penyelenggara yang dapat memindahkan pendaftaran ke {to.value}."
    else:
        en = "Only the learner's home agency or the organising agency may withdraw an enrolment."
        id_ = "Hanya instansi asal peserta atau instansi penyelenggara yang dapat menarik pendaftaran."
    return ProblemError(403, "forbidden", en, detail_id=id_)


def _forbidden_self_verify() -> ProblemError:
    return ProblemError(
        403,
        "forbidden",
        "The learner enrolled themselves; only the learner's home agency may verify this "
        "enrolment. Ask that agency to verify it.",
        detail_id="Peserta mendaftar sendiri; hanya instansi asal peserta yang dapat "
        "memverifikasi pendaftaran ini. Mintalah instansi tersebut memverifikasinya.",
    )


# A learner withdraws its own enrolment only while the cohort has not started.
BEFORE_RUNNING = (CohortStatus.draft, CohortStatus.open, CohortStatus.closed)


def _check_self_withdrawal(to: EnrollmentStatus, cohort: Cohort) -> None:
    """A learner login may only withdraw (its own enrolment), and only before the cohort runs."""
    if to != E.withdrawn:
        raise ProblemError(
            403,
            "forbidden",
            f"A learner may only withdraw their own enrolment, not move it to {to.value}.",
            detail_id="Peserta hanya dapat menarik pendaftarannya sendiri, tidak dapat "
            f"memindahkannya ke {to.value}.",
        )
    if cohort.status not in BEFORE_RUNNING:
        raise ProblemError(
            409,
            "cohort_started",
            f"The cohort is {cohort.status.value}; a learner may withdraw only before it "
            "runs. Ask your home agency to withdraw the enrolment.",
            detail_id=f"Angkatan berstatus {cohort.status.value}; peserta hanya dapat "
            "menarik pendaftaran sebelum angkatan berjalan. Mintalah instansi asal Anda "
            "menarik pendaftaran tersebut.",
        )


def transition(
    *,
    session: Session,
    principal: Principal,
    enrollment_id: str,
    data: EnrollmentTransition,
    if_match: str | None = None,
) -> Saved:
    enrollment, learner, _course, cohort = visible(session, principal, enrollment_id, lock=True)
    assert cohort is not None
    check_if_match(if_match, saved_of(session, enrollment, learner)[1])
    to = data.to
    if principal.is_learner:  # visible() let through only its own enrolment
        _check_self_withdrawal(to, cohort)
    else:
        organiser, home = owns(principal, enrollment.agency_id), owns(principal, learner.agency_id)
        if to == E.verified and enrollment.self_enrolled:
            if not home:  # the learner asked; their own agency says yes
                raise _forbidden_self_verify()
        elif to in ORGANISER_ONLY and not organiser:
            raise _forbidden(to, True)
        if not (organiser or home):
            raise _forbidden(to, False)
    allowed = TRANSITIONS[enrollment.status]
    if to not in allowed:
        names = ", ".join(a.value for a in allowed)
        raise ProblemError(
            409,
            "illegal_transition",
            f"An enrolment cannot move from {enrollment.status.value} to {to.value}; "
            f"allowed: {names or 'none (it is final)'}.",
            detail_id=f"Pendaftaran tidak dapat berpindah dari {enrollment.status.value} ke "
            f"{to.value}; yang diizinkan: {names or 'tidak ada (status ini final)'}.",
            extra={"allowed": [a.value for a in allowed]},
        )
    if cohort.status in FINAL_COHORT:
        raise ProblemError(
            409,
            "cohort_final",
            f"The cohort is {cohort.status.value}; its enrolments no longer change.",
            detail_id=f"Angkatan berstatus {cohort.status.value}; pendaftarannya tidak dapat "
            "diubah lagi.",
        )
    if to == E.withdrawn and data.reason is None:
        raise invalid(
            "reason",
            "Say why the enrolment is withdrawn in reason (1 to 500 characters).",
            "Tuliskan alasan penarikan pendaftaran pada reason (1 sampai 500 karakter).",
        )
    if to == E.dropped:
        if data.reason is None:
            raise invalid(
                "reason",
                "Say why the enrolment is dropped in reason (1 to 500 characters).",
                "Tuliskan alasan pendaftaran dikeluarkan pada reason (1 sampai 500 karakter).",
            )
        evaluation.check_drop(session, enrollment=enrollment, cohort=cohort, course=_course)
    was = enrollment.status
    seats.move(session, enrollment, to, principal=principal, reason=data.reason)
    if to == E.withdrawn:
        if was in SEATED:
            cohort.seats_taken -= 1
            seats.promote_while_room(session, cohort)
        elif was == E.waitlisted:
            cohort.waitlist_length -= 1
    session.add(cohort)
    session.commit()
    return saved_of(session, enrollment, learner)
