"""The current representation of changed resources, loaded in batches (one or two queries
per type per page, never one per entry), with the caller's visibility applied through
app/services/visibility.py. ``None`` for an id means: gone, or not visible to this caller."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from app.core.security import Principal
from app.models import (
    Attendance,
    Certificate,
    Cohort,
    CohortSession,
    Course,
    Enrollment,
    JPRecord,
    Learner,
    ProgressRecord,
)
from app.models.attendance import AttendancePublic
from app.models.change import ChangeType
from app.models.enrollment import EnrollmentStatus
from app.models.jp import JPWithdrawal
from app.services import cohort_sessions, cohorts, courses
from app.services import visibility as vis
from app.services.learning import certificate_reads, enrollments, jp_ledger, progress
from app.services.learning import learners as learner_core

Reps = dict[str, dict[str, Any] | None]
L_AGENCY = Learner.__table__.c.agency_id  # type: ignore[attr-defined]
_JSON: dict[str, Any] = {"mode": "json"}


def _courses(session: Session, principal: Principal, ids: list[str]) -> Reps:
    rows = session.exec(select(Course).where(col(Course.id).in_(ids))).all()  # type: ignore[call-overload]
    return {
        c.id: courses.public(c).model_dump(**_JSON)
        for (c,) in rows
        if vis.course_visible(principal, c.agency_id, c.status)
    }


def _cohorts(session: Session, principal: Principal, ids: list[str]) -> Reps:
    rows = session.exec(
        select(Cohort, Course.title, Course.status)  # type: ignore[call-overload]
        .join(Course, col(Course.id) == col(Cohort.course_id))
        .where(col(Cohort.id).in_(ids))
    ).all()
    return {
        h.id: cohorts.public(h, title).model_dump(**_JSON)
        for h, title, status in rows
        if vis.cohort_visible(principal, h.agency_id, status, h.status)
    }


def _sessions(session: Session, principal: Principal, ids: list[str]) -> Reps:
    rows = session.exec(
        select(CohortSession, Cohort.agency_id, Cohort.status, Cohort.timezone, Course.status)  # type: ignore[call-overload]
        .join(Cohort, col(Cohort.id) == col(CohortSession.cohort_id))
        .join(Course, col(Course.id) == col(Cohort.course_id))
        .where(col(CohortSession.id).in_(ids))
    ).all()
    shown = [r for r in rows if vis.cohort_visible(principal, r[1], r[4], r[2])]
    teachers = cohort_sessions._instructors(session, [r[0].id for r in shown])
    return {
        item.id: cohort_sessions.public(item, teachers.get(item.id, []), zone).model_dump(**_JSON)
        for item, _agency, _status, zone, _course_status in shown
    }


def _through(session: Session, learner_ids: list[str]) -> dict[str, set[str]]:
    """Batch form of ``visibility.enrolment_agencies``: organisers and course partners of
    each learner's cohorts."""
    found: dict[str, set[str]] = defaultdict(set)
    if not learner_ids:
        return found
    rows = session.exec(
        select(Enrollment.learner_id, Enrollment.agency_id, Course.partner_agency_ids)  # type: ignore[call-overload]
        .join(Course, col(Course.id) == col(Enrollment.course_id))
        .where(col(Enrollment.learner_id).in_(learner_ids))
    ).all()
    for learner_id, organiser, partners in rows:
        found[learner_id].update((organiser, *(partners or [])))
    return found


def _learners(session: Session, principal: Principal, ids: list[str]) -> Reps:
    rows = [r for (r,) in session.exec(select(Learner).where(col(Learner.id).in_(ids))).all()]  # type: ignore[call-overload]
    others = [r.id for r in rows if not vis.owns(principal, r.agency_id)]
    through = _through(session, others) if others and not principal.is_learner else {}
    return {
        r.id: learner_core.public(r, principal).model_dump(**_JSON)
        for r in rows
        if vis.learner_visible(principal, r.agency_id, r.id, through.get(r.id, ()))
    }


def _positions(session: Session, ids: list[str]) -> dict[str, int]:
    """Waitlist positions of the waitlisted enrolments among ``ids`` (one query)."""
    mine, ahead = aliased(Enrollment), aliased(Enrollment)
    waiting = EnrollmentStatus.waitlisted
    rows = session.exec(
        select(mine.id, func.count())  # type: ignore[call-overload]
        .join(
            ahead,
            (col(ahead.cohort_id) == col(mine.cohort_id))
            & (col(ahead.status) == waiting)
            & (col(ahead.queue_no) <= col(mine.queue_no)),
        )
        .where(col(mine.id).in_(ids), mine.status == waiting)
        .group_by(mine.id)
    ).all()
    return {ident: int(n) for ident, n in rows}


def _enrolled(session: Session, principal: Principal, model: Any, ids: list[str]) -> list[Any]:
    """Rows of ``model`` (an enrolment or a row of one) the caller may see as enrolments;
    the visibility facts come as columns (building ORM objects of the enrolment and learner
    too cost two thirds of a 1,000-entry page)."""
    enrolment: Any = Enrollment.__table__.c  # type: ignore[attr-defined]
    facts = (enrolment.agency_id, enrolment.learner_id, L_AGENCY, col(Course.partner_agency_ids))
    stmt: Any = select(model, *facts)
    if model is not Enrollment:
        stmt = stmt.join(Enrollment, col(Enrollment.id) == model.enrollment_id)
    rows = session.exec(
        stmt.join(Learner, col(Learner.id) == col(Enrollment.learner_id))
        .join(Course, col(Course.id) == col(Enrollment.course_id))
        .where(col(model.id).in_(ids))
    ).all()
    return [
        row
        for row, organiser, learner_id, home, partners in rows
        if vis.enrollment_visible(principal, home, organiser, partners or [], learner_id)
    ]


def _learners_of(session: Session, ids: set[str]) -> dict[str, Learner]:
    found = session.exec(select(Learner).where(col(Learner.id).in_(ids))).all()  # type: ignore[call-overload]
    return {r.id: r for (r,) in found}


def _enrollments(session: Session, principal: Principal, ids: list[str]) -> Reps:
    rows = _enrolled(session, principal, Enrollment, ids)
    places = _positions(session, [e.id for e in rows])
    people = _learners_of(session, {e.learner_id for e in rows})
    return {
        e.id: enrollments.saved_of(session, e, people[e.learner_id], places.get(e.id))[
            0
        ].model_dump(**_JSON)
        for e in rows
    }


def _progress(session: Session, principal: Principal, ids: list[str]) -> Reps:
    return {
        r.id: progress.public(r).model_dump(**_JSON)
        for r in _enrolled(session, principal, ProgressRecord, ids)
    }


def _attendance(session: Session, principal: Principal, ids: list[str]) -> Reps:
    rows = _enrolled(session, principal, Attendance, ids)
    seats = {
        e.id: e
        for (e,) in session.exec(
            select(Enrollment).where(col(Enrollment.id).in_({r.enrollment_id for r in rows}))  # type: ignore[call-overload]
        ).all()
    }
    people = _learners_of(session, {e.learner_id for e in seats.values()})
    return {
        r.id: AttendancePublic(
            session_id=r.session_id,
            cohort_id=r.cohort_id,
            enrollment_id=r.enrollment_id,
            enrollment_status=seats[r.enrollment_id].status,
            learner_id=seats[r.enrollment_id].learner_id,
            learner_key=people[seats[r.enrollment_id].learner_id].learner_key,
            learner_name=learner_core.public(
                people[seats[r.enrollment_id].learner_id], None
            ).display_name,
            status=r.status,
            minutes_attended=r.minutes_attended,
            source=r.source,
            recorded_by=r.recorded_by,
            version=r.version,
            updated_at=r.updated_at,
        ).model_dump(**_JSON)
        for r in rows
    }


def _certificates(session: Session, principal: Principal, ids: list[str]) -> Reps:
    return {
        r.id: certificate_reads.public_of(r).model_dump(**_JSON)
        for r in _enrolled(session, principal, Certificate, ids)
    }


def _jp_records(session: Session, principal: Principal, ids: list[str]) -> Reps:
    """As GET /v1/learners/{key}/jp-records/{id} shows them: the learner's home agency,
    platform admins and the learner's own login (``learner_personal_visible``); a deleted
    external record is gone (its URL answers 410), so a tombstone."""
    rows = session.exec(
        select(JPRecord, L_AGENCY)  # type: ignore[call-overload]
        .join(Learner, col(Learner.id) == col(JPRecord.learner_id))
        .where(col(JPRecord.id).in_(ids))
    ).all()
    return {
        r.id: jp_ledger.public(r).model_dump(**_JSON)
        for r, home in rows
        if r.withdrawn_reason != JPWithdrawal.deleted
        and vis.learner_personal_visible(principal, home, r.learner_id)
    }


LOADERS: dict[ChangeType, Callable[[Session, Principal, list[str]], Reps]] = {
    ChangeType.course: _courses,
    ChangeType.cohort: _cohorts,
    ChangeType.session: _sessions,
    ChangeType.learner: _learners,
    ChangeType.enrollment: _enrollments,
    ChangeType.progress: _progress,
    ChangeType.attendance: _attendance,
    ChangeType.certificate: _certificates,
    ChangeType.jp_record: _jp_records,
}


def load(
    session: Session, principal: Principal, wanted: dict[ChangeType, set[str]]
) -> dict[tuple[ChangeType, str], dict[str, Any] | None]:
    """Every wanted (type, id): its representation, or None (gone or not visible)."""
    found: dict[tuple[ChangeType, str], dict[str, Any] | None] = {}
    for kind, ids in wanted.items():
        reps = LOADERS[kind](session, principal, sorted(ids)) if ids else {}
        for ident in ids:
            found[(kind, ident)] = reps.get(ident)
    return found
