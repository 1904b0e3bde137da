"""Cross-agency grants (``learner_grant``): the pairs (agency, learner) where the agency
organises a cohort the learner is enrolled in (any status, withdrawn included), or partners
that cohort's course, and is not the learner's home agency.

The table materialises the "enrolled with me" branch of learner visibility
(app/services/visibility.py) so the learner list walks one index from its cursor instead of
reading every enrolment of the organiser (bench/scale.py: the first page of an organiser's
list took 12 ms at 10,000 learners and 106 ms at 100,000 on SQLite). It holds exactly what
the live rule (``visibility.enrolment_agencies``) says, kept at every write that changes it:

- an enrolment is created (``enrollments.seat``, ``bulk_enrollment``): ``grant_enrolled``;
  a re-enrolment reuses its withdrawn row, whose grant is still there;
- a withdrawal keeps the enrolment row, so it keeps the grant (as the live rule does: the
  organiser still sees the learners it once enrolled, read-only);
- a course's partner agencies change (``courses.update_course``) or a learner moves to
  another agency (``transfers``): ``refresh`` recomputes the learner's pairs from the
  enrolments.

Each pair carries ``granted_at`` (when it was made: OneRoster's delta sync shows a guest
appearing then); a pair ``refresh`` deletes and does not make again is recorded for
OneRoster's delta sync (app/services/oneroster/tombstones.py), which shows the learner
``tobedeleted`` to the agency that lost them.

Races on PostgreSQL: the pairs are read from the database *after* the enrolment rows are
written. Inserting an enrolment takes ``FOR KEY SHARE`` on its learner and course rows
(their foreign keys), which a transfer (learner ``FOR UPDATE``) and a course change (course
``FOR UPDATE``) wait for, and they for it: whichever commits second reads the other's
committed rows (READ COMMITTED takes a snapshot per statement). SQLite has one writer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from app.models import Cohort, Course, Enrollment, Learner, LearnerGrant
from app.models.base import utcnow
from app.services.oneroster import tombstones
from app.services.sync.changes import ChangeType, record_audience_change

G = LearnerGrant.__table__.c  # type: ignore[attr-defined]
C = Course.__table__.c  # type: ignore[attr-defined]
L = Learner.__table__.c  # type: ignore[attr-defined]
EN = Enrollment.__table__.c  # type: ignore[attr-defined]
CHUNK = 500  # ids per IN (...) list: well under every engine's bound-parameter limit
Pair = tuple[str, str]


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _insert(session: Session, pairs: set[Pair]) -> None:
    """Insert the pairs, skipping those already there; in key order, so two transactions
    inserting overlapping pairs wait for each other instead of deadlocking."""
    if not pairs:
        return
    table: Any = LearnerGrant.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
    now = utcnow()
    session.execute(
        statement.on_conflict_do_nothing(),
        [{"agency_id": a, "learner_id": lrn, "granted_at": now} for a, lrn in sorted(pairs)],
    )


def grant_enrolled(
    session: Session, *, course_id: str, organiser: str, learner_ids: Sequence[str]
) -> None:
    """After enrolling ``learner_ids`` in a cohort of ``course_id`` organised by
    ``organiser`` (rows already flushed): grant the organiser and the course's partners
    each learner of another agency. Partners and home agencies are read now, not taken
    from the caller (see the module's note on races)."""
    partners = session.execute(select(C.partner_agency_ids).where(C.id == course_id)).scalar()
    agencies = {organiser, *(partners or [])}
    pairs: set[Pair] = set()
    for part in _chunks(sorted(set(learner_ids))):
        homes = session.execute(select(L.id, L.agency_id).where(L.id.in_(part)))
        pairs.update((a, learner) for learner, home in homes for a in agencies if a != home)
    _insert(session, pairs)


def refresh(
    session: Session, learner_ids: Sequence[str], *, agencies: set[str] | None = None
) -> None:
    """Recompute the pairs of ``learner_ids`` (only those naming one of ``agencies``, when
    given) from their enrolments, after a change of home agency or of course partners."""
    session.flush()  # the pairs are read from the rows as this transaction left them
    for part in _chunks(sorted(set(learner_ids))):
        gone = delete(LearnerGrant.__table__).where(G.learner_id.in_(part))  # type: ignore[attr-defined]
        if agencies is not None:
            gone = gone.where(G.agency_id.in_(sorted(agencies)))
        before = {(a, lrn) for a, lrn in session.execute(gone.returning(G.agency_id, G.learner_id))}
        rows = session.execute(
            select(EN.learner_id, EN.agency_id, C.partner_agency_ids, L.agency_id)
            .select_from(
                Enrollment.__table__.join(Course.__table__, C.id == EN.course_id).join(  # type: ignore[attr-defined]
                    Learner.__table__,  # type: ignore[attr-defined]
                    L.id == EN.learner_id,
                )
            )
            .where(EN.learner_id.in_(part))
        )
        pairs = {
            (a, learner)
            for learner, organiser, partners, home in rows
            for a in (organiser, *(partners or []))
            if a != home and (agencies is None or a in agencies)
        }
        _insert(session, pairs)
        tombstones.guests_gone(session, before - pairs)  # OneRoster's delta sync sees them go
        # the change feed: the agency that lost or gained the learner reads an entry (a
        # tombstone, or the learner it may now see)
        record_audience_change(
            session, ChangeType.learner, sorted((lrn, a) for a, lrn in before ^ pairs)
        )


def refresh_course(session: Session, course_id: str, *, agencies: set[str]) -> None:
    """The partners of ``course_id`` changed (``agencies``: those added or removed):
    recompute those agencies' pairs for every learner enrolled in the course, and tell each
    of them, in the change feed, of every enrolment of the course (a removed partner reads
    tombstones, an added one the enrolments it may now see)."""
    if not agencies:
        return
    cohorts = select(Cohort.__table__.c.id).where(Cohort.__table__.c.course_id == course_id)  # type: ignore[attr-defined]
    enrolments = session.execute(  # through the cohorts: ix_enrollment_cohort_id serves it
        select(EN.id, EN.learner_id).where(EN.cohort_id.in_(cohorts)).order_by(EN.id)
    ).all()
    record_audience_change(
        session,
        ChangeType.enrollment,
        ((e, a) for e, _ in enrolments for a in sorted(agencies)),
    )
    refresh(session, sorted({lrn for _, lrn in enrolments}), agencies=agencies)
