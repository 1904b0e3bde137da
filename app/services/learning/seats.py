"""Seats of a cohort: who holds one, the waitlist and promotions from it.

Every change here runs under the cohort row lock (``lock_cohort``: ``SELECT ... FOR
UPDATE`` on PostgreSQL; on SQLite the request's ``BEGIN IMMEDIATE`` already makes it the
only writer), so the counters on the cohort row and the enrolments agree, and
``capacity`` is never exceeded whatever the concurrency. Seated: proposed, verified,
active. Counters on the row (rather than a COUNT per read) because the cohort is read far
more often than enrolled into, the lock is taken anyway, and the cohort's ETag then
follows them for free (``cohorts.etag_of``).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.core.errors import ProblemError
from app.core.security import Principal
from app.models import Cohort, Enrollment, EnrollmentEvent
from app.models.base import utcnow
from app.models.enrollment import EnrollmentStatus

PROMOTED = "waitlist_promotion"


def lock_cohort(session: Session, cohort_id: str) -> Cohort | None:
    statement = (
        select(Cohort)
        .where(col(Cohort.id) == cohort_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.exec(statement).first()


def has_room(cohort: Cohort) -> bool:
    return cohort.capacity is None or cohort.seats_taken < cohort.capacity


def check_capacity(cohort: Cohort) -> None:
    """A capacity below the seats already taken would overbook the cohort."""
    if cohort.capacity is not None and cohort.capacity < cohort.seats_taken:
        raise ProblemError(
            409,
            "capacity_below_seats",
            f"{cohort.seats_taken} seats are taken; the capacity cannot go below that. "
            "Withdraw enrolments first, or choose a capacity of at least "
            f"{cohort.seats_taken}.",
            detail_id=f"{cohort.seats_taken} kursi sudah terisi; kapasitas tidak dapat di bawah "
            f"jumlah itu. Tarik dulu pendaftarannya, atau pilih kapasitas minimal "
            f"{cohort.seats_taken}.",
        )


def record(
    session: Session,
    enrollment: Enrollment,
    frm: EnrollmentStatus | None,
    *,
    principal: Principal | None,
    reason: str | None,
) -> None:
    """The history row of the enrolment's current version (seq == version)."""
    session.add(
        EnrollmentEvent(
            enrollment_id=enrollment.id,
            seq=enrollment.version,
            from_status=frm,
            to_status=enrollment.status,
            reason=reason,
            actor_user_id=principal.subject if principal else None,
            actor_agency_id=principal.agency_id if principal else None,
            at=enrollment.updated_at,
        )
    )


def move(
    session: Session,
    enrollment: Enrollment,
    to: EnrollmentStatus,
    *,
    principal: Principal | None,
    reason: str | None,
) -> None:
    frm = enrollment.status
    enrollment.status = to
    enrollment.version += 1
    enrollment.updated_at = utcnow()
    if to != EnrollmentStatus.waitlisted:
        enrollment.queue_no = None
    session.add(enrollment)
    record(session, enrollment, frm, principal=principal, reason=reason)


def promote_while_room(session: Session, cohort: Cohort) -> int:
    """Seat the first waitlisted enrolments while there is room; how many moved."""
    moved = 0
    while cohort.waitlist_length > 0 and has_room(cohort):
        first = session.exec(
            select(Enrollment)
            .where(
                col(Enrollment.cohort_id) == cohort.id,
                col(Enrollment.status) == EnrollmentStatus.waitlisted,
            )
            .order_by(col(Enrollment.queue_no))
            .limit(1)
            .with_for_update()
        ).first()
        if first is None:  # cannot happen while the counters agree; never loop forever
            cohort.waitlist_length = 0
            break
        move(session, first, EnrollmentStatus.proposed, principal=None, reason=PROMOTED)
        cohort.seats_taken += 1
        cohort.waitlist_length -= 1
        moved += 1
    session.add(cohort)
    return moved
