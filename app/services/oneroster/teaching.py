"""Keeping ``cohort_teacher`` (app/models/teaching.py): the (cohort, instructor) pairs of a
cohort's sessions, with the pairs no longer taught kept and marked ``removed_at``.

:func:`refresh` runs after every change of a session's instructors (created, updated,
deleted: app/services/cohort_sessions.py), in the same transaction, under the cohort's
row lock those writes already hold (``FOR UPDATE`` on PostgreSQL, the single writer on
SQLite): two changes of one cohort's sessions cannot interleave, so the pairs it reads
are the committed ones plus its own. A pair taught again is made active again (same
row, ``removed_at`` cleared), so its sourcedId comes back ``active`` with a newer
``dateLastModified``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session, col

from app.models.base import utcnow
from app.models.cohort import CohortSession, CohortSessionInstructor
from app.models.teaching import CohortTeacher


def taught(session: Session, cohort_id: str) -> set[str]:
    """The users teaching a session of the cohort now."""
    rows = session.execute(
        select(col(CohortSessionInstructor.user_id))
        .join(CohortSession, col(CohortSession.id) == col(CohortSessionInstructor.session_id))
        .where(col(CohortSession.cohort_id) == cohort_id)
        .distinct()
    )
    return set(rows.scalars())


def refresh(*, session: Session, cohort_id: str, agency_id: str) -> None:
    """Bring the cohort's rows in line with its sessions' instructors (flushed first)."""
    session.flush()
    now = utcnow()
    teaching = taught(session, cohort_id)
    kept = {
        row.user_id: row
        for row in session.execute(
            select(CohortTeacher).where(col(CohortTeacher.cohort_id) == cohort_id)
        ).scalars()
    }
    for user_id in sorted(teaching | set(kept)):
        row = kept.get(user_id)
        if row is None:
            session.add(
                CohortTeacher(
                    cohort_id=cohort_id,
                    user_id=user_id,
                    agency_id=agency_id,
                    created_at=now,
                    updated_at=now,
                )  # fmt: skip
            )
        elif (row.removed_at is None) != (user_id in teaching):
            row.removed_at = None if user_id in teaching else now
            row.updated_at = now
            session.add(row)
    session.flush()
