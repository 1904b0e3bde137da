"""Writing ``oneroster_tombstone`` (app/models/oneroster.py): what left a OneRoster
collection with no row of its own to say so, recorded in the transaction of the change.

Called where the data changes (each a one-line call):

- a grant ends (app/services/learning/grants.py ``refresh``: a partner removed from a
  course, a learner transferred): :func:`guests_gone`;
- a learner moves to another agency (app/services/learning/transfers.py): the old home
  loses them unless it still sees them as organiser or partner: :func:`learner_moved`;
- a user loses the instructor role (app/services/users.py): :func:`roles_changed`;
- xAPI voiding removes a progress record (app/services/xapi/progress_undo.py):
  :func:`result_removed`;
- a draft cohort's curriculum is re-pinned or unpinned (app/services/cohorts.py):
  :func:`repinned`.

A row is written whether or not the object is visible through another way (a learner who
left home may stay a guest): the views show a tombstone only while the object has no live
row (app/services/oneroster/people.py, gradebook.py), so the record never has to be
cleaned up when the object comes back, and writing it twice only moves ``removed_at``.
Rows go in key order, so two transactions writing overlapping rows wait for each other
instead of deadlocking.

They are kept as long as the change log keeps its entries (``change_retention_days``):
``bangkom prune-changes`` deletes both (:func:`prune`). A client that syncs less often than
that syncs in full, as it must for the feed and for deleted courses.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from app.models.base import utcnow
from app.models.cohort import Cohort
from app.models.curriculum import CurriculumModule
from app.models.enrollment import Enrollment
from app.models.oneroster import OneRosterTombstone, TombstoneKind
from app.models.progress import ProgressRecord
from app.models.user import User

INSTRUCTOR = "instructor"
Row = tuple[str, str, str, str]  # agency, kind, object, module


def _write(session: Session, rows: Iterable[Row]) -> None:
    """Upsert the rows (a row already there takes the new ``removed_at``)."""
    ordered = sorted(set(rows))
    if not ordered:
        return
    table: Any = OneRosterTombstone.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
    statement = statement.on_conflict_do_update(
        index_elements=["agency_id", "kind", "object_id", "module_id"],
        set_={"removed_at": statement.excluded.removed_at},
    )
    now = utcnow()
    for start in range(0, len(ordered), 500):
        session.execute(
            statement,
            [
                {"agency_id": a, "kind": k, "object_id": o, "module_id": m, "removed_at": now}
                for a, k, o, m in ordered[start : start + 500]
            ],
        )


def guests_gone(session: Session, pairs: Iterable[tuple[str, str]]) -> None:
    """``learner_grant`` pairs (agency, learner) deleted and not granted again."""
    _write(session, ((a, TombstoneKind.student.value, lrn, "") for a, lrn in pairs))


def learner_moved(session: Session, *, learner_id: str, old_home: str) -> None:
    """The learner's home agency was ``old_home``."""
    _write(session, [(old_home, TombstoneKind.student.value, learner_id, "")])


def roles_changed(session: Session, *, user: User, before: Iterable[str]) -> None:
    """The user's roles were ``before``: losing the instructor role ends the teacher user
    of their agency (kept ``tobedeleted`` by people.py, as one who taught is)."""
    if INSTRUCTOR in set(before) and INSTRUCTOR not in set(user.roles) and user.agency_id:
        _write(session, [(user.agency_id, TombstoneKind.teacher.value, user.id, "")])


def result_removed(session: Session, *, record: ProgressRecord) -> None:
    """The progress record is about to be deleted: its result leaves the organiser's."""
    enrollment = session.get(Enrollment, record.enrollment_id)
    if enrollment is not None:
        row = (enrollment.agency_id, TombstoneKind.result.value, enrollment.id, record.module_id)
        _write(session, [row])


def repinned(session: Session, *, cohort: Cohort, to: str | None) -> None:
    """The cohort is about to follow curriculum ``to`` (None: none): the lineItems of its
    current curriculum's assessed modules go (a module of another version is another
    module, so another lineItem, which appears with the cohort's new dateLastModified)."""
    if cohort.curriculum_id is None or cohort.curriculum_id == to:
        return
    modules = session.execute(
        select(col(CurriculumModule.id)).where(
            col(CurriculumModule.curriculum_id) == cohort.curriculum_id,
            col(CurriculumModule.assessed).is_(True),
        )
    ).scalars()
    kind = TombstoneKind.line_item.value
    _write(session, ((cohort.agency_id, kind, cohort.id, m) for m in modules))


def prune(session: Session, *, before: datetime) -> int:
    """Delete tombstones removed before ``before`` (the change log's retention cutoff,
    app/services/sync/feed.py ``retention_cutoff``); how many. The caller commits."""
    old = col(OneRosterTombstone.removed_at) < before
    result = session.execute(delete(OneRosterTombstone).where(old))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
