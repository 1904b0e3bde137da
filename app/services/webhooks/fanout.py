"""Fan-out: the change log becomes deliveries, one per (subscription, change).

In one transaction: lock the fan-out row (``webhook_fanout`` id 1), read the changes after
its ``last_seq`` that name a webhook event (seq order, ``BATCH`` at a time), and for each
agency with active subscriptions ask the change feed's own questions with a principal of
that agency (app/services/sync/feed.py ``visible_sql``, then the representations of
app/services/sync/representations.py): a webhook never shows what that agency's feed would
not. Then one ``WebhookDelivery`` per (subscription, change) the subscription asked for
(event type, ``start_seq < seq``) with its payload fixed, and ``last_seq`` moves: nothing
is announced that did not commit (the log is written in the change's transaction), nothing
that committed is skipped (seqs are handed out in commit order, so reading up to the
newest seq reads a gap-free prefix).

What an agency is told: what its feed shows, less the catalogue rows it cannot see now (an
edit of another agency's draft course is not news to it; the feed shows those as bare
tombstones). Enrolment-side changes it is related to (organiser, learner's home, course
partner) and deletes come as the feed gives them, a tombstone when the row is gone.

Two workers never fan out the same seqs: PostgreSQL locks the row with
``FOR UPDATE SKIP LOCKED`` (the second worker skips its turn instead of waiting); SQLite's
``BEGIN IMMEDIATE`` makes the transaction the only writer. The unique constraint
(subscription_id, change_seq) is the backstop (``ON CONFLICT DO NOTHING``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from app.core.security import Principal
from app.models.base import new_id, utcnow
from app.models.change import Change, ChangeCounter, ChangeOp, ChangeType
from app.models.webhook import DeliveryStatus, WebhookDelivery, WebhookFanout, WebhookSubscription
from app.services.sync import feed, representations

BATCH = 500
CH = Change.__table__.c  # type: ignore[attr-defined]
FO = WebhookFanout.__table__  # type: ignore[attr-defined]
SUB = WebhookSubscription.__table__.c  # type: ignore[attr-defined]
DELIVERY = WebhookDelivery.__table__  # type: ignore[attr-defined]
CATALOGUE = {ChangeType(t) for t in feed.CATALOGUE}
_TIME = TypeAdapter(datetime)


def _insert(session: Session, table: Any) -> Any:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _counter(session: Session) -> int:
    last = session.execute(select(ChangeCounter.last_seq)).scalar()  # type: ignore[call-overload]
    return int(last or 0)


def _start(session: Session) -> int:
    """Where a fresh fan-out starts: now, or earlier if an active subscription was made
    earlier (its changes since are owed to it)."""
    earliest = session.execute(select(func.min(SUB.start_seq)).where(SUB.active)).scalar()
    now = _counter(session)
    return now if earliest is None else min(now, int(earliest))


def _ensure_row(session: Session) -> None:
    stmt = _insert(session, FO).values(id=1, last_seq=_start(session))
    session.execute(stmt.on_conflict_do_nothing(index_elements=["id"]))


def _lock(session: Session) -> int | None:
    """The fan-out position, locked for this transaction; None when another worker holds
    the lock (PostgreSQL; on SQLite this transaction is the only writer)."""
    stmt = select(FO.c.last_seq).where(FO.c.id == 1)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    found = session.execute(stmt).scalar()
    if found is not None:
        return int(found)
    if session.execute(select(FO.c.id).where(FO.c.id == 1)).scalar() is not None:
        return None  # locked by a worker fanning out right now
    _ensure_row(session)
    found = session.execute(stmt).scalar()
    return None if found is None else int(found)


def subscription_start(session: Session) -> int:
    """The ``start_seq`` of a subscription created in this transaction. On PostgreSQL it
    waits for a fan-out in progress (``FOR SHARE`` on the fan-out row), so a fan-out never
    passes changes a subscription it did not see was owed."""
    _ensure_row(session)
    stmt = select(FO.c.last_seq).where(FO.c.id == 1)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(stmt.with_for_update(read=True))
    return _counter(session)


def announced_through(session: Session) -> int | None:
    """The last seq fanned out while a subscription is active (``prune-changes`` keeps
    every change after it); None when no subscription is active."""
    if session.execute(select(SUB.id).where(SUB.active).limit(1)).scalar() is None:
        return None
    last = session.execute(select(FO.c.last_seq).where(FO.c.id == 1)).scalar()
    return _start(session) if last is None else int(last)


def agency_principal(agency_id: str) -> Principal:
    """Who a subscription reads as: a member of its agency (no platform role)."""
    return Principal(subject=f"webhooks:{agency_id}", agency_id=agency_id)


def _timestamp(value: datetime) -> str:
    return str(_TIME.dump_python(value, mode="json"))


def payload(event: str, row: Any, resource: dict[str, Any]) -> str:
    """The exact body (Standard Webhooks shape), fixed at fan-out so every attempt signs
    the same bytes."""
    body = {
        "type": event,
        "timestamp": _timestamp(row.committed_at),
        "data": {
            "seq": row.seq,
            "id": row.resource_id,
            "operation": row.op,
            "resource": resource,
        },
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _for_agency(
    session: Session, agency_id: str, subs: list[Any], first: int, last: int
) -> list[dict[str, Any]]:
    """The deliveries one agency's subscriptions are owed for changes first..last."""
    events = {e for s in subs for e in s.event_types}
    oldest = min(s.start_seq for s in subs)
    principal = agency_principal(agency_id)
    rows = session.execute(
        select(CH.seq, CH.type, CH.resource_id, CH.op, CH.event, CH.committed_at)
        .where(
            CH.seq >= max(first, oldest + 1),
            CH.seq <= last,
            CH.event.in_(sorted(events)),
            feed.visible_sql(principal),
        )
        .order_by(CH.seq)
    ).all()
    wanted: dict[ChangeType, set[str]] = defaultdict(set)
    for row in rows:
        if row.op == ChangeOp.upsert.value:
            wanted[ChangeType(row.type)].add(row.resource_id)
    reps = representations.load(session, principal, wanted)
    now = utcnow()
    out = []
    for row in rows:
        kind = ChangeType(row.type)
        resource = reps.get((kind, row.resource_id)) if row.op == ChangeOp.upsert.value else None
        if resource is None and row.op == ChangeOp.upsert.value and kind in CATALOGUE:
            continue  # a catalogue row this agency cannot see: not its news
        body = payload(row.event, row, resource or {"id": row.resource_id, "deleted": True})
        for sub in subs:
            if row.event in sub.event_types and sub.start_seq < row.seq:
                out.append(
                    {
                        "id": new_id("msg"),
                        "subscription_id": sub.id,
                        "agency_id": agency_id,
                        "event_type": row.event,
                        "change_seq": row.seq,
                        "resource_type": kind.value,
                        "resource_id": row.resource_id,
                        "payload": body,
                        "status": DeliveryStatus.pending.value,
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
    return out


def _chunks(rows: list[dict[str, Any]], size: int = 500) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def fan_out(*, session: Session, batch: int = BATCH) -> tuple[int, bool]:
    """One batch: ``(deliveries made, more to do)``. ``session`` writes (BEGIN IMMEDIATE on
    SQLite); committed here."""
    last = _lock(session)
    if last is None:
        session.rollback()
        return 0, False
    newest = session.execute(select(func.max(CH.seq))).scalar()
    if newest is None or newest <= last:
        session.commit()
        return 0, False
    seqs = (
        session.execute(
            select(CH.seq)
            .where(CH.seq > last, CH.seq <= newest, CH.event.is_not(None))
            .order_by(CH.seq)
            .limit(batch)
        )
        .scalars()
        .all()
    )
    full = len(seqs) == batch
    reached = seqs[-1] if full else int(newest)
    made: list[dict[str, Any]] = []
    if seqs:
        subs = session.execute(
            select(SUB.id, SUB.agency_id, SUB.event_types, SUB.start_seq).where(
                SUB.active, SUB.start_seq < reached
            )
        ).all()
        by_agency: dict[str, list[Any]] = defaultdict(list)
        for sub in subs:
            by_agency[sub.agency_id].append(sub)
        for agency_id, theirs in sorted(by_agency.items()):
            made.extend(_for_agency(session, agency_id, theirs, seqs[0], reached))
    for part in _chunks(made):
        stmt = _insert(session, DELIVERY).on_conflict_do_nothing(
            index_elements=["subscription_id", "change_seq"]
        )
        session.execute(stmt, part)
    session.execute(update(FO).where(FO.c.id == 1).values(last_seq=reached))
    session.commit()
    return len(made), full
