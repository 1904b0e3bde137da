"""Reading a session's attendance list: the seated learners, each with their record or
none; with ``updated_since`` the records changed since (delta sync)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app.core.pagination import id_page, since_page
from app.core.security import Principal
from app.models import Enrollment, Learner
from app.models.attendance import Attendance, AttendancePublic
from app.services.learning.attendance import LISTED, Context, context, public, records


def list_attendance(
    *,
    session: Session,
    principal: Principal,
    cohort_id: str,
    session_id: str,
    limit: int,
    cursor: str | None,
    updated_since: datetime | None = None,
) -> tuple[list[AttendancePublic], str | None]:
    """The listed enrolments in id order, each with its record or none; with
    ``updated_since`` only those whose record changed since, in the records' (updated_at,
    id) order (an enrolment's own changes are in the enrolment lists)."""
    ctx = context(session, principal, cohort_id, session_id, write=False)
    statement = select(Enrollment).where(
        col(Enrollment.cohort_id) == ctx.cohort.id, col(Enrollment.status).in_(LISTED)
    )
    if updated_since is not None:
        return _changed_since(session, ctx, statement, limit, cursor, updated_since)
    enrollments, next_cursor = id_page(session, statement, Enrollment, limit=limit, cursor=cursor)
    learner_ids = [e.learner_id for e in enrollments]
    learners = {
        x.id: x for x in session.exec(select(Learner).where(col(Learner.id).in_(learner_ids)))
    }
    found = records(session, ctx.item.id, [e.id for e in enrollments])
    items = [public(ctx, e, learners[e.learner_id], found.get(e.id)) for e in enrollments]
    return items, next_cursor


def _changed_since(
    session: Session,
    ctx: Context,
    listed: Any,
    limit: int,
    cursor: str | None,
    updated_since: datetime,
) -> tuple[list[AttendancePublic], str | None]:
    listed_ids = listed.with_only_columns(col(Enrollment.id))
    changed = select(Attendance).where(
        col(Attendance.session_id) == ctx.item.id, col(Attendance.enrollment_id).in_(listed_ids)
    )
    found, next_cursor = since_page(
        session, changed, Attendance, limit=limit, cursor=cursor, updated_since=updated_since
    )
    ids = [r.enrollment_id for r in found]
    enrollments = {
        e.id: e for e in session.exec(select(Enrollment).where(col(Enrollment.id).in_(ids)))
    }
    learners = {
        x.id: x
        for x in session.exec(
            select(Learner).where(col(Learner.id).in_([e.learner_id for e in enrollments.values()]))
        )
    }
    items = []
    for record in found:
        enrollment = enrollments[record.enrollment_id]
        items.append(public(ctx, enrollment, learners[enrollment.learner_id], record))
    return items, next_cursor
