"""Enrolment reads: one enrolment, its history, a cohort's roster, a learner's enrolments.

Who sees what is ``visibility.enrollment_visible`` (home agency, organiser, course
partners, platform admins); everyone else gets 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, or_, select

from app.core.errors import ProblemError
from app.core.pagination import UPDATED_SORT, keyset_page, since_page
from app.core.security import Principal
from app.models import Cohort, Enrollment, Learner
from app.models.catalogue import from_centi, halves_to_jp, roman
from app.models.course import Course
from app.models.enrollment import (
    EnrollmentEvent,
    EnrollmentEventPublic,
    EnrollmentPublic,
    EnrollmentStatus,
)
from app.services.cohorts import visible_cohort
from app.services.learning import learners as core
from app.services.learning.enrollment_moves import visible
from app.services.learning.enrollments import Saved, saved_of
from app.services.learning.keys import parse_key
from app.services.visibility import owns, partner_of, partner_sql


def read_enrollment(*, session: Session, principal: Principal, enrollment_id: str) -> Saved:
    enrollment, learner, _course, _ = visible(session, principal, enrollment_id)
    return saved_of(session, enrollment, learner)


def history(
    *,
    session: Session,
    principal: Principal,
    enrollment_id: str,
    cursor: str | None,
    limit: int,
    updated_since: datetime | None = None,
) -> tuple[list[EnrollmentEventPublic], str | None]:
    """The events in ``seq`` order; with ``updated_since`` those recorded at or after it in
    (at, id) order (events never change: ``at`` is their updated_at)."""
    visible(session, principal, enrollment_id)
    statement = select(EnrollmentEvent).where(col(EnrollmentEvent.enrollment_id) == enrollment_id)
    since = updated_since is not None
    if since:
        statement = statement.where(col(EnrollmentEvent.at) >= updated_since)
    rows, next_cursor = keyset_page(
        session,
        statement,
        EnrollmentEvent,
        sort=UPDATED_SORT if since else "seq",
        column=col(EnrollmentEvent.at) if since else col(EnrollmentEvent.seq),
        parse=datetime.fromisoformat if since else int,
        limit=limit,
        cursor=cursor,
    )
    items = [EnrollmentEventPublic.model_validate(r, from_attributes=True) for r in rows]
    return items, next_cursor


def _page(
    session: Session,
    statement: object,
    cursor: str | None,
    limit: int,
    updated_since: datetime | None = None,
) -> tuple[list[EnrollmentPublic], str | None]:
    rows, next_cursor = since_page(
        session,
        statement,  # type: ignore[arg-type]
        Enrollment,
        limit=limit,
        cursor=cursor,
        updated_since=updated_since,
    )
    ids = {r.learner_id for r in rows}
    learners = {lr.id: lr for lr in session.exec(select(Learner).where(col(Learner.id).in_(ids)))}
    return [saved_of(session, r, learners[r.learner_id])[0] for r in rows], next_cursor


def roster(
    *,
    session: Session,
    principal: Principal,
    cohort_id: str,
    status: str | None,
    cursor: str | None,
    limit: int,
    updated_since: datetime | None = None,
) -> tuple[list[EnrollmentPublic], str | None]:
    """Organiser, partners, platform admins: everyone. A home agency: its own learners
    (404 when it has none there: the cohort's roster is none of its business)."""
    _cohort, where = _roster_filter(session, principal, cohort_id, status)
    return _page(session, select(Enrollment).where(*where), cursor, limit, updated_since)


def _roster_filter(
    session: Session, principal: Principal, cohort_id: str, status: str | None
) -> tuple[Cohort, list[Any]]:
    cohort, course = visible_cohort(session=session, principal=principal, cohort_id=cohort_id)
    where: list[Any] = [col(Enrollment.cohort_id) == cohort.id]
    if not (owns(principal, cohort.agency_id) or partner_of(principal, course.partner_agency_ids)):
        mine = select(col(Learner.id)).where(col(Learner.agency_id) == principal.agency_id)
        where.append(col(Enrollment.learner_id).in_(mine))
        if session.exec(select(Enrollment).where(*where).limit(1)).first() is None:
            raise ProblemError(
                404,
                "not_found",
                f"You have no part in the roster of cohort {cohort_id}: none of your "
                "learners is enrolled there.",
                detail_id=f"Anda tidak terkait dengan daftar peserta angkatan {cohort_id}: "
                "tidak ada peserta instansi Anda yang terdaftar di sana.",
            )
    if status is not None:
        where.append(col(Enrollment.status) == status)
    return cohort, where


EXPORT_COLUMNS = (
    "nip",
    "ni_pppk",
    "learner_key",
    "name",
    "status",
    "waitlist_position",
    "enrollment_id",
    "enrolled_at",
    "final_score",
    "grade",
    "absent_jp",
)


def roster_rows(
    *, session: Session, principal: Principal, cohort_id: str, status: str | None
) -> tuple[list[dict[str, object]], str]:
    """The whole roster (not paged) as export rows, and the file's base name
    (``angkatan-iv-2026``); who sees which rows as :func:`roster`."""
    cohort, where = _roster_filter(session, principal, cohort_id, status)
    statement = (
        sa_select(  # more columns than sqlmodel's select is typed for
            col(Enrollment.id),
            col(Enrollment.status),
            col(Enrollment.queue_no),
            col(Enrollment.created_at),
            col(Enrollment.final_score_centi),
            col(Enrollment.grade),
            col(Enrollment.absent_jp_halves),
            col(Learner.learner_key),
            col(Learner.nip),
            col(Learner.ni_pppk),
            col(Learner.name),
        )
        .join(Learner, col(Learner.id) == col(Enrollment.learner_id))
        .where(*where)
        .order_by(col(Enrollment.id))
    )
    found = session.execute(statement).all()
    queue = sorted(q for _, s, q, *_ in found if s == EnrollmentStatus.waitlisted and q)
    place = {q: n for n, q in enumerate(queue, start=1)}
    rows: list[dict[str, object]] = [
        {
            "nip": nip,
            "ni_pppk": ni_pppk,
            "learner_key": key,
            "name": name,
            "status": str(status_),
            "waitlist_position": place.get(queue_no) if queue_no else None,
            "enrollment_id": enrollment_id,
            "enrolled_at": created_at.date() if created_at else None,
            "final_score": None if score is None else from_centi(score),
            "grade": grade,
            "absent_jp": None if absent is None else halves_to_jp(absent),
        }
        for (
            enrollment_id,
            status_,
            queue_no,
            created_at,
            score,
            grade,
            absent,
            key,
            nip,
            ni_pppk,
            name,
        ) in found
    ]
    return rows, f"angkatan-{roman(cohort.number).lower()}-{cohort.year}"


def learner_enrollments(
    *,
    session: Session,
    principal: Principal,
    raw_key: str,
    status: str | None,
    cursor: str | None,
    limit: int,
    updated_since: datetime | None = None,
) -> tuple[list[EnrollmentPublic], str | None]:
    """The home agency (and platform admins): all; an organiser or partner: those in its
    cohorts (404 when there are none)."""
    key = parse_key(raw_key, today=core.today()).key
    learner = core.by_key(session, key)
    if learner is None:
        raise core.not_found(key)
    statement = select(Enrollment).where(col(Enrollment.learner_id) == learner.id)
    if not owns(principal, learner.agency_id):
        me = principal.agency_id
        statement = statement.join(Course, col(Course.id) == col(Enrollment.course_id)).where(
            or_(col(Enrollment.agency_id) == me, partner_sql(me))
        )
        if session.exec(statement.limit(1)).first() is None:
            raise core.not_found(key)
    if status is not None:
        statement = statement.where(col(Enrollment.status) == status)
    return _page(session, statement, cursor, limit, updated_since)


def my_enrollments(
    *,
    session: Session,
    principal: Principal,
    status: str | None,
    cursor: str | None,
    limit: int,
    updated_since: datetime | None = None,
) -> tuple[list[EnrollmentPublic], str | None]:
    """A learner login's own enrolments, in every agency's cohorts (403 for staff logins:
    they have no enrolments of their own)."""
    if not principal.is_learner or principal.learner_id is None:
        raise ProblemError(
            403,
            "forbidden",
            "Only a learner login has enrolments of its own; staff read a learner's "
            "enrolments at /v1/learners/{learner_key}/enrollments.",
            detail_id="Hanya login peserta yang memiliki pendaftaran sendiri; staf membaca "
            "pendaftaran peserta di /v1/learners/{learner_key}/enrollments.",
        )
    statement = select(Enrollment).where(col(Enrollment.learner_id) == principal.learner_id)
    if status is not None:
        statement = statement.where(col(Enrollment.status) == status)
    return _page(session, statement, cursor, limit, updated_since)
