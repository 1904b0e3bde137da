"""A learner login enrols itself (``POST /v1/me/enrollments``).

Only in a cohort it can see (a published course's visible cohort, else 404) of a course
that allows it (``course.self_enrollment``, else 403 ``self_enrollment_not_allowed``),
and always as the learner the login is bound to: there is no key to send, so no other
learner can be named. Every other rule is the staff path's (``enrollments.seat``):
window, ASN, duplicate, overlap, seat or waitlist, re-enrolment after withdrawal. The
enrolment is ``self_enrolled``: it stays ``proposed`` until the learner's home agency
verifies it (``POST /v1/enrollments/{id}/transitions``).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.core.errors import ProblemError
from app.core.security import Principal
from app.models import Learner
from app.services.learning import enrollments as single


def _learners_only() -> ProblemError:
    return ProblemError(
        403,
        "forbidden",
        "Only a learner login enrols itself; staff enrol learners with POST "
        "/v1/cohorts/{cohort_id}/enrollments.",
        detail_id="Hanya login peserta yang dapat mendaftarkan dirinya sendiri; staf "
        "mendaftarkan peserta melalui POST /v1/cohorts/{cohort_id}/enrollments.",
    )


def _not_allowed(title: str) -> ProblemError:
    return ProblemError(
        403,
        "self_enrollment_not_allowed",
        f"The course '{title}' does not take self-enrolment; ask your home agency to enrol "
        "you, or choose a course that allows it (self_enrollment: true).",
        detail_id=f"Pelatihan '{title}' tidak menerima pendaftaran mandiri; mintalah instansi "
        "asal Anda mendaftarkan Anda, atau pilih pelatihan yang mengizinkannya "
        "(self_enrollment: true).",
    )


def self_enrol(*, session: Session, principal: Principal, cohort_id: str) -> single.Saved:
    if not principal.is_learner or principal.learner_id is None:
        raise _learners_only()
    learner = session.exec(  # learner first, then the cohort: the staff path's lock order
        select(Learner).where(col(Learner.id) == principal.learner_id).with_for_update()
    ).first()
    if learner is None:  # the login outlived its learner: nothing to enrol
        raise _learners_only()
    cohort, course = single.locked_cohort(session, principal, cohort_id)
    if not course.self_enrollment:
        raise _not_allowed(course.title)
    return single.seat(session, principal, learner, cohort, course, self_enrolled=True)
