"""Writing the change log: one place, a session hook, in the transaction of the change.

How rows get there
------------------
``after_flush`` collects the new, changed and deleted instances of the tracked models
(``TRACKED``) into ``session.info``; ``before_commit`` flushes what is left, then writes one
``change`` row per (type, id) the transaction touched (the last operation wins: created then
deleted is one delete). Bulk paths that write with Core (bulk enrolment, the progress batch)
do not pass through the ORM, so they call :func:`record_changes` once. A rollback drops what
was collected. Nothing outside this module decides what is logged.

Why the sequence has no gaps a reader could fall into
-----------------------------------------------------
A reader asks for ``seq > n`` in seq order. It must never see seq 8 while 7 is still
uncommitted (it would move its cursor past 7 and never see it). So seqs are handed out in
commit order: allocation happens as late as possible (in ``before_commit``, after the last
flush) and under a lock that is held until the transaction ends.

* PostgreSQL: ``pg_advisory_xact_lock(LOCK_KEY)`` and then ``UPDATE change_counter`` (whose
  row lock would serialise on its own). The lock is released only after the commit is
  visible (PostgreSQL marks a transaction committed in the proc array before it releases its
  locks), so the next allocator starts after the previous one is visible: commit order ==
  seq order, and any snapshot holds a prefix of the sequence.
* SQLite: one writer at a time. Updating the counter makes the transaction the writer (if
  ``BEGIN IMMEDIATE`` did not already) until it commits, so again no other transaction can
  allocate between our allocation and our commit; WAL readers see a committed prefix.

Transactions that change no tracked row never take the lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from sqlalchemy import event, insert, inspect, select, text, update
from sqlalchemy.orm import Session, SessionTransaction, UOWTransaction

from app.core import bulk
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
from app.models.base import utcnow
from app.models.change import Change, ChangeCounter, ChangeOp, ChangeType
from app.models.jp import JPWithdrawal
from app.services.visibility import HIDDEN_COHORT_STATUSES as HIDDEN
from app.services.visibility import PUBLISHED

__all__ = ["ChangeType", "install", "record_audience_change", "record_changes"]

LOCK_KEY = 0x62616E676B6F6D  # "bangkom": the advisory lock of sequence allocation
_KEY = "bangkom_changes"
CHUNK = 1000

TRACKED: dict[type, ChangeType] = {
    Course: ChangeType.course,
    Cohort: ChangeType.cohort,
    CohortSession: ChangeType.session,
    Learner: ChangeType.learner,
    Enrollment: ChangeType.enrollment,
    ProgressRecord: ChangeType.progress,
    Attendance: ChangeType.attendance,
    Certificate: ChangeType.certificate,
    JPRecord: ChangeType.jp_record,
}
# types whose visibility follows an enrolment: resolved by SQL at commit
_VIA_ENROLMENT = {
    ChangeType.enrollment: Enrollment,
    ChangeType.progress: ProgressRecord,
    ChangeType.attendance: Attendance,
    ChangeType.certificate: Certificate,
}

E = Enrollment.__table__.c  # type: ignore[attr-defined]
L = Learner.__table__.c  # type: ignore[attr-defined]
P = ProgressRecord.__table__.c  # type: ignore[attr-defined]
_FACTS = (E.agency_id, E.course_id, E.learner_id, L.agency_id)
CH = Change.__table__  # type: ignore[attr-defined]
_COLUMNS = (
    "seq", "type", "resource_id", "op", "agency_id", "learner_agency_id", "course_id",
    "learner_id", "event", "public", "committed_at",
)  # fmt: skip
COUNTER = ChangeCounter.__table__  # type: ignore[attr-defined]


@dataclass(slots=True)
class Facts:
    """What one pending change will write besides its type and id: the operation, the
    webhook event, and who may see it (what the database must tell is looked up at commit,
    a chunk at a time: :func:`_resolve`). Slots, not dicts, and the upserts of one
    :func:`record_changes` call share one object: a 10,000-row bulk import keeps an entry a
    row to the commit (dicts were ~4.6 MB of one worker's peak). So facts are not changed
    in place, except a catalogue change's ``public`` (:func:`_resolve_public`), whose facts
    are always the session hook's own."""

    op: str = ChangeOp.upsert.value
    event: str | None = None
    resolved: bool = False  # agency, course and learner known (no lookup at commit)
    agency_id: str | None = None
    learner_agency_id: str | None = None
    course_id: str | None = None
    learner_id: str | None = None
    cohort_id: str | None = None  # a session's cohort (for ``public``)
    enrollment_id: str | None = None  # a deleted record's enrolment: who may see it
    public: bool | None = None
    cohort_shown: bool | None = None  # a cohort shown to others before or after the change


# (type, id), or (type, id, agency) for an entry addressed to one agency only
# (:func:`record_audience_change`), beside the resource's own entry
Key = tuple[ChangeType, str] | tuple[ChangeType, str, str]
Pending = dict[Key, Facts]

# The webhook event of a change (app/models/webhook.py). Within one transaction the
# strongest wins: created before completed before updated.
_DEFAULT_EVENT: dict[ChangeType, str | None] = {
    ChangeType.course: "course.updated",
    ChangeType.cohort: "cohort.updated",
    ChangeType.enrollment: "enrollment.updated",
    ChangeType.progress: "progress.updated",
    ChangeType.attendance: "attendance.recorded",
    ChangeType.session: None,
    ChangeType.learner: None,
    ChangeType.certificate: None,
    ChangeType.jp_record: None,  # the ledger is personal data: the feed only, no webhook
}
_EVENT_RANK = {
    None: 0,
    "enrollment.updated": 1,
    "enrollment.completed": 2,
    "certificate.revoked": 2,
    "enrollment.created": 3,
    "certificate.issued": 3,
}
_COMPLETED = {"passed", "failed"}


def _pending(session: Session) -> Pending:
    found: Pending = session.info.setdefault(_KEY, {})
    return found


def _facts(obj: Any, kind: ChangeType, op: str, event: str | None) -> Facts:
    """What the instance itself says about who may see it (the rest is resolved at commit)."""
    if kind is ChangeType.learner:
        history = inspect(obj).attrs.agency_id.history
        before = history.deleted[0] if history.deleted else obj.agency_id
        return Facts(op, event, agency_id=obj.agency_id, learner_agency_id=before,
                     learner_id=obj.id)  # fmt: skip
    facts = Facts(op, event, agency_id=getattr(obj, "agency_id", None))
    if kind is ChangeType.course:
        facts.course_id = obj.id
        facts.public = PUBLISHED in _before_after(obj, "status")
    elif kind is ChangeType.cohort:
        facts.course_id = obj.course_id
        facts.cohort_shown = not set(_before_after(obj, "status")) <= set(HIDDEN)
    elif kind is ChangeType.session:
        facts.cohort_id = obj.cohort_id
    elif kind in _VIA_ENROLMENT and kind is not ChangeType.enrollment:
        facts.enrollment_id = obj.enrollment_id
    return facts


def _before_after(obj: Any, name: str) -> tuple[str, ...]:
    """The attribute's values before this flush (if it was loaded) and now, as strings."""
    history = getattr(inspect(obj).attrs, name).history
    values = [*history.deleted, getattr(obj, name)]
    return tuple(str(getattr(v, "value", v)) for v in values if v is not None)


def _event(obj: Any, kind: ChangeType, *, new: bool) -> str | None:
    """The webhook event of one flushed change of ``obj`` (a delete: the type's default)."""
    if kind is ChangeType.enrollment:
        if new:
            return "enrollment.created"
        added = inspect(obj).attrs.status.history.added
        return "enrollment.completed" if added and added[0] in _COMPLETED else _DEFAULT_EVENT[kind]
    if kind is ChangeType.certificate:
        if new:
            return "certificate.issued"
        revoked = inspect(obj).attrs.revoked_at.history
        return "certificate.revoked" if revoked.added and revoked.added[0] is not None else None
    return _DEFAULT_EVENT[kind]


def _op(obj: Any, kind: ChangeType) -> str:
    """A row kept as a trace of its deletion (a deleted external JP record) is logged as a
    delete: the feed shows a tombstone, as its URL answers 410."""
    if kind is ChangeType.jp_record and obj.withdrawn_reason == JPWithdrawal.deleted:
        return ChangeOp.delete.value
    return ChangeOp.upsert.value


def _stronger(earlier: str | None, event: str | None) -> str | None:
    return event if _EVENT_RANK.get(event, 1) >= _EVENT_RANK.get(earlier, 1) else earlier


def _after_flush(session: Session, _context: UOWTransaction) -> None:
    pending = _pending(session)
    for obj in list(session.new) + list(session.dirty):
        kind = TRACKED.get(type(obj))
        if kind is not None and (obj in session.new or session.is_modified(obj)):
            before = pending.get((kind, obj.id))
            event = _event(obj, kind, new=obj in session.new)
            facts = _facts(obj, kind, _op(obj, kind), event)
            if before is not None:
                facts.event = _stronger(before.event, event)
                if kind is ChangeType.learner and before.learner_agency_id:
                    facts.learner_agency_id = before.learner_agency_id  # home before the tx
                if before.public:  # shown before the transaction counts
                    facts.public = True
                if before.cohort_shown:
                    facts.cohort_shown = True
            pending[(kind, obj.id)] = facts
    for obj in session.deleted:
        kind = TRACKED.get(type(obj))
        if kind is not None:
            pending[(kind, obj.id)] = _facts(obj, kind, ChangeOp.delete.value, _DEFAULT_EVENT[kind])


def record_changes(
    session: Session,
    kind: ChangeType,
    ids: Iterable[str] = (),
    *,
    progress: Iterable[tuple[str, str]] = (),
    event: str | None = None,
) -> None:
    """For rows written with Core (no ORM instances): log them as upserts of ``kind``,
    announcing ``event`` (default: the type's, e.g. ``enrollment.updated``).
    ``progress``: progress records written, as (record id, enrolment id)."""
    pending = _pending(session)
    event = event or _DEFAULT_EVENT[kind]
    shared = Facts(event=event)  # one object for all: facts are never changed in place
    for ident in ids:
        earlier = pending.get((kind, ident))
        if earlier is None or _stronger(earlier.event, event) == event:
            pending[(kind, ident)] = shared
        else:
            pending[(kind, ident)] = Facts(event=earlier.event)
    records = list(progress)
    if records:  # who sees each enrolment (one query a chunk); its records share its facts
        facts: dict[str, Facts] = {}
        for part in _chunks(sorted({e for _, e in records})):
            for e, (organiser, course_id, learner_id, home) in _enrolment_audience(
                session, part
            ).items():
                facts[e] = Facts(
                    event=event,
                    resolved=True,
                    agency_id=organiser,
                    course_id=course_id,
                    learner_id=learner_id,
                    learner_agency_id=home,
                )
        for ident, e in records:
            if e in facts:
                pending[(ChangeType.progress, ident)] = facts[e]


def record_audience_change(
    session: Session, kind: ChangeType, entries: Iterable[tuple[str, str]]
) -> None:
    """Log ``(id, agency)`` pairs: the agency's sight of the resource changed, not the
    resource (a course's partner added or removed: the course's enrolments and the learners
    it granted). Each is an entry that only that agency (and platform admins) read; the
    feed then shows it the resource as it may see it now: the current representation, or a
    tombstone when it no longer may. Without these, a removed partner's copy kept those
    enrolments and learners, and an added one never received them."""
    pending = _pending(session)
    for ident, agency in entries:
        pending[(kind, ident, agency)] = Facts(
            event=None, resolved=True, agency_id=agency
        )  # no webhook: the resource did not change


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


Who = tuple[str | None, str | None, str | None, str | None]  # agency, course, learner, home


def _enrolment_audience(session: Session, ids: Sequence[str]) -> dict[str, Who]:
    """(organiser, course, learner, home agency) of each enrolment of ``ids``: who may see
    the enrolment and what hangs off it (primary-key reads)."""
    joined = Enrollment.__table__.join(Learner.__table__, L.id == E.learner_id)  # type: ignore[attr-defined]
    rows = session.execute(select(E.id, *_FACTS).select_from(joined).where(E.id.in_(ids)))
    return {e: (organiser, course, learner, home) for e, organiser, course, learner, home in rows}


def _resolve(
    session: Session, part: list[tuple[Key, Facts]], same: dict[Any, Any]
) -> dict[Key, Who]:
    """Who may see each change of ``part`` (a chunk of the pending changes) that the
    database must tell: organiser, course, learner and the learner's home agency for the
    types seen through an enrolment (an enrolment by its row; a deleted progress,
    attendance or certificate row by its enrolment, which stays: without it the tombstone
    had no agency and only platform admins saw it; an upserted one by its own row), and for
    JP records. One query per type. The answers are used for this chunk's rows and
    dropped, not kept in the facts: a 10,000-row import kept them all to the end (~2 MB of
    its peak). ``same`` keeps one string object per agency and course across the chunks."""
    wanted: dict[ChangeType, list[str]] = {}
    by_enrolment: dict[str, list[Key]] = {}  # enrolment -> the changes it tells of
    for key, facts in part:
        if facts.resolved:
            continue
        kind, ident = key[0], key[1]
        upsert = facts.op == ChangeOp.upsert.value
        if kind is ChangeType.enrollment and upsert:
            by_enrolment.setdefault(ident, []).append(key)
        elif kind is ChangeType.jp_record or (kind in _VIA_ENROLMENT and upsert):
            wanted.setdefault(kind, []).append(ident)
        elif facts.enrollment_id is not None:
            by_enrolment.setdefault(facts.enrollment_id, []).append(key)
    found: dict[Key, Who] = {}
    if by_enrolment:
        for enrolment, (organiser, course, learner, home) in _enrolment_audience(
            session, list(by_enrolment)
        ).items():
            who = (same.setdefault(organiser, organiser), same.setdefault(course, course),
                   learner, same.setdefault(home, home))  # fmt: skip
            found.update(dict.fromkeys(by_enrolment[enrolment], who))
    for kind, ids in wanted.items():
        if kind is ChangeType.jp_record:
            # JP records are the learner's personal data: the feed shows them to the
            # learner's home agency (``agency_id`` and ``learner_agency_id`` both the home,
            # no ``course_id``, so neither the organiser nor a partner is told) and to the
            # learner's own login
            J = JPRecord.__table__.c  # type: ignore[attr-defined]
            joined = JPRecord.__table__.join(Learner.__table__, L.id == J.learner_id)  # type: ignore[attr-defined]
            for ident, learner_id, home in session.execute(
                select(J.id, J.learner_id, L.agency_id).select_from(joined).where(J.id.in_(ids))
            ):
                home = same.setdefault(home, home)
                found[(kind, ident)] = (home, None, learner_id, home)
            continue
        table = _VIA_ENROLMENT[kind].__table__  # type: ignore[attr-defined]
        joined = table.join(Enrollment.__table__, E.id == table.c.enrollment_id).join(  # type: ignore[attr-defined]
            Learner.__table__,  # type: ignore[attr-defined]
            L.id == E.learner_id,
        )
        for ident, organiser, course_id, learner_id, home in session.execute(
            select(table.c.id, *_FACTS).select_from(joined).where(table.c.id.in_(ids))
        ):
            found[(kind, ident)] = (
                same.setdefault(organiser, organiser),
                same.setdefault(course_id, course_id),
                learner_id,
                same.setdefault(home, home),
            )
    return found


def _resolve_public(session: Session, pending: Pending) -> None:
    """``public`` of catalogue changes: whether agencies other than the owner could see the
    resource before or after the change (else the change is the owner's business only, and
    the feed does not show others even a tombstone). Errs towards True: a needless
    tombstone shows an id, a missing one leaves a stale copy."""
    courses = {k[1]: f for k, f in pending.items() if k[0] is ChangeType.course}
    cohorts = {k[1]: f for k, f in pending.items() if k[0] is ChangeType.cohort}
    sessions = {k[1]: f for k, f in pending.items() if k[0] is ChangeType.session}
    if not cohorts and not sessions:
        return
    C = Course.__table__.c  # type: ignore[attr-defined]
    H = Cohort.__table__.c  # type: ignore[attr-defined]
    wanted = {f.cohort_id for f in sessions.values() if f.cohort_id} | set(cohorts)
    shown_now: dict[str, tuple[bool, bool]] = {}  # cohort -> (course published, cohort shown)
    for part in _chunks(sorted(wanted)):
        joined = Cohort.__table__.join(Course.__table__, C.id == H.course_id)  # type: ignore[attr-defined]
        for ident, course_id, course_status, status in session.execute(
            select(H.id, H.course_id, C.status, H.status).select_from(joined).where(H.id.in_(part))
        ):
            course = courses.get(course_id)
            earlier = bool(course is not None and course.public)
            shown_now[ident] = (course_status == PUBLISHED or earlier, status not in HIDDEN)
    for ident, facts in cohorts.items():
        course_public, _ = shown_now.get(ident, (True, True))
        facts.public = facts.cohort_shown is not False and course_public
    for facts in sessions.values():
        cohort = str(facts.cohort_id)
        if cohort in cohorts:
            facts.public = cohorts[cohort].public
        else:
            facts.public = all(shown_now.get(cohort, (True, True)))


def _allocate(session: Session, count: int) -> int:
    """Reserve ``count`` sequence numbers; the first. Holds the allocation lock to commit."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    bumped = session.execute(
        update(COUNTER).where(COUNTER.c.id == 1).values(last_seq=COUNTER.c.last_seq + count)
    )
    if bumped.rowcount == 0:  # type: ignore[attr-defined]  # a fresh schema without the row
        session.execute(insert(COUNTER).values(id=1, last_seq=count))
        return 1
    last = session.execute(select(COUNTER.c.last_seq).where(COUNTER.c.id == 1)).scalar_one()
    return int(last) - count + 1


def _before_commit(session: Session) -> None:
    session.flush()
    pending = session.info.pop(_KEY, None)
    if not pending:
        return
    _resolve_public(session, pending)
    first = _allocate(session, len(pending))
    connection = session.connection()
    now = bulk.stamp_for(connection.dialect.name)(utcnow())
    same: dict[Any, Any] = {}
    items = iter(pending.items())
    seq = first
    # a chunk at a time: 10,000 entries at once were 6 MB of dicts (bulk import); as
    # tuples in one multi-row INSERT (app/core/bulk.py), not SQLAlchemy's executemany
    while part := list(islice(items, CHUNK)):
        found = _resolve(session, part, same)
        rows = []
        for key, facts in part:
            agency, course, learner, home = found.get(key) or (
                facts.agency_id, facts.course_id, facts.learner_id, facts.learner_agency_id
            )  # fmt: skip
            rows.append(
                (
                    seq, key[0].value, key[1], facts.op, agency, home, course, learner,
                    facts.event, facts.public, now,
                )
            )  # fmt: skip
            seq += 1
        bulk.insert(connection, CH, _COLUMNS, rows)


def _forget(session: Session, transaction: SessionTransaction) -> None:
    """The outermost transaction ended (committed, rolled back, closed): drop what is left
    (after a commit nothing is; a rolled-back savepoint keeps the rest of the transaction)."""
    if transaction.parent is None:
        session.info.pop(_KEY, None)


def install() -> None:
    """Register the hooks on every session (idempotent); app/core/db.py calls it."""
    if event.contains(Session, "after_flush", _after_flush):
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "before_commit", _before_commit)
    event.listen(Session, "after_transaction_end", _forget)
