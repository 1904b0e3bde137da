"""The stored course JSON (``course.doc``) checked against what the code renders now.

Writes to a course rebuild its ``doc`` (services/courses.refresh_doc), and so
does publishing its latest curriculum version (the only other rows it borrows
from: ``published_curriculum_version`` and ``modes``). A deploy that changes
:class:`CoursePublic` leaves every stored document in the old shape until
``bangkom rebuild-docs`` runs: it re-renders every course, stores those that
differ and bumps their version, so the ETag changes with the bytes (clients
holding the old shape get the new one instead of a 304). ``updated_at`` stays:
the course did not change, its representation did.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.models import Course
from app.services.courses import refresh_doc

BATCH = 200


@dataclass(frozen=True)
class Rebuilt:
    checked: int
    rebuilt: list[str]


def rebuild_docs(session: Session, *, batch: int = BATCH) -> Rebuilt:
    """Re-render every course's ``doc``; store and bump the ones that changed.

    Each batch is locked (``FOR UPDATE`` on PostgreSQL) and committed on its own, so a
    course written at the same time is either rendered by its writer or by us, never lost.
    """
    checked, last = 0, ""
    rebuilt: list[str] = []
    while True:
        courses = list(
            session.exec(
                select(Course)
                .where(col(Course.id) > last)
                .order_by(col(Course.id))
                .limit(batch)
                .with_for_update()
            )
        )
        if not courses:
            session.rollback()
            return Rebuilt(checked, rebuilt)
        for course in courses:
            stored = course.doc
            refresh_doc(course, bump=False)
            if course.doc != stored:
                course.version += 1
                refresh_doc(course, bump=False)  # the doc shows the version
                session.add(course)
                rebuilt.append(course.id)
        checked += len(courses)
        last = courses[-1].id
        session.commit()


def stale_docs(session: Session) -> list[str]:
    """Ids of courses whose stored ``doc`` differs from a fresh render (nothing is written)."""
    out: list[str] = []
    for course in session.exec(select(Course).order_by(col(Course.id))):
        stored = course.doc
        refresh_doc(course, bump=False)
        if course.doc != stored:
            out.append(course.id)
    session.rollback()
    return out
