"""The change feed (GET /v1/changes): the change log in seq order, filtered to what the
caller may see, each entry with the resource's current representation.

Visibility, in two steps. SQL first, on the agency copies the log keeps (cheap, indexed by
seq): catalogue entries (course, cohort, session) reach every caller (their visibility
depends on the current status, checked next); the others reach the platform, the learner's
home agency (also the home it had before a transfer), the cohort's organiser and the
course's partner agencies (for a learner: the agencies of cohorts they are enrolled in), and
a learner login for its own rows; a JP record (the learner's ledger, personal data) is logged
with the home agency as both agency copies and no course, so it reaches the home agency,
the platform and the learner only. Then each entry's resource is loaded (batched per type,
app/services/sync/representations.py) with the rules of app/services/visibility.py: an
entry whose resource is gone or no longer visible to the caller (archived course, learner
moved away) is a tombstone ``{"id": ..., "deleted": true}``, so applying the feed keeps a
copy equal to what the lists show. A catalogue change of a resource no other agency could
see before or after it (a draft course edited, a draft cohort created) reaches its owner
only (``Change.public``), so other agencies are not shown tombstones of drafts they never
saw; a course archived after being published is a tombstone for them.

Several entries of one resource in a page each carry the resource's current state (not the
state at that change): applying them in order ends in the current state either way, and a
client that only wants the latest may keep the last entry per (type, id).

Cursors are opaque (base64url of the last seq). Retention: ``change_retention_days``; rows
older are deleted by ``bangkom prune-changes``. A cursor from before the oldest retained
change would silently skip pruned changes, so it is a 410 ``cursor_expired``.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, false, func, or_, select, true
from sqlmodel import Session, col

from app.core.config import get_settings
from app.core.errors import ProblemError
from app.core.security import Principal
from app.models import Course, Enrollment
from app.models.base import utcnow
from app.models.change import Change, ChangeCounter, ChangeEntry, ChangeOp, ChangeType
from app.services import visibility as vis
from app.services.sync import representations

CH = Change.__table__.c  # type: ignore[attr-defined]
DEFAULT_LIMIT = 100
CATALOGUE = (ChangeType.course.value, ChangeType.cohort.value, ChangeType.session.value)


def encode(seq: int) -> str:
    return base64.urlsafe_b64encode(f"s{seq}".encode()).decode().rstrip("=")


def _bad_cursor() -> ProblemError:
    msg = (
        "The cursor is not one this feed gave out; send next_cursor exactly as received, "
        "or start again without it."
    )
    msg_id = (
        "Cursor ini bukan pemberian feed ini; kirim next_cursor persis seperti yang "
        "diterima, atau mulai lagi tanpa cursor."
    )
    return ProblemError(
        422,
        "invalid_cursor",
        msg,
        detail_id=msg_id,
        errors=[
            {"loc": ["query", "after"], "msg": msg, "msg_id": msg_id, "type": "invalid_cursor"}
        ],
    )


def decode(token: str) -> int:
    try:
        raw = base64.urlsafe_b64decode((token + "=" * (-len(token) % 4)).encode()).decode()
        if not raw.startswith("s") or not raw[1:].isdigit() or len(raw) > 19:  # int64
            raise ValueError(raw)
        return int(raw[1:])
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad_cursor() from exc


def _expired() -> ProblemError:
    days = get_settings().change_retention_days
    return ProblemError(
        410,
        "cursor_expired",
        f"This cursor points before the oldest change still kept (changes are kept {days} "
        "days), so changes after it may be missing. Resync in full: read every list "
        "endpoint again, then follow the feed from a cursor taken before that resync "
        "(GET /v1/changes without `after` starts at the oldest kept change).",
        detail_id=f"Cursor ini menunjuk sebelum perubahan tertua yang masih disimpan "
        f"(perubahan disimpan {days} hari), sehingga perubahan sesudahnya mungkin hilang. "
        "Sinkronkan ulang secara penuh: baca lagi setiap endpoint daftar, lalu ikuti feed "
        "dari cursor yang diambil sebelum sinkronisasi ulang itu (GET /v1/changes tanpa "
        "`after` mulai dari perubahan tertua yang disimpan).",
    )


def visible_sql(principal: Principal) -> Any:
    """The changes ``principal`` may see (before the representation's own check); the
    webhook fan-out (app/services/webhooks/fanout.py) asks the same for each agency."""
    if principal.is_platform_admin and not principal.is_learner:
        return true()
    # a catalogue change reaches everyone when others could see the resource before or
    # after it (``public``; null: logged before the flag existed), else its owner only
    catalogue = CH.type.in_(CATALOGUE) & or_(CH.public.is_(None), CH.public == true())
    if principal.is_learner:
        own = CH.learner_id == principal.learner_id if principal.learner_id else false()
        return or_(catalogue, own)
    me = principal.agency_id
    partnered = select(Course.id).where(vis.partner_sql(me))  # type: ignore[call-overload]
    # correlated: probes the entry's learner's enrolments (ix_enrollment_learner_id) for the
    # entries the cheaper terms left; an IN (...) of every enrolment with the caller read
    # them all on every page (1,000,000 learners: bench/scale.py)
    enrolled_with_me = exists().where(
        col(Enrollment.learner_id) == CH.resource_id,
        or_(col(Enrollment.agency_id) == me, col(Enrollment.course_id).in_(partnered)),
    )
    return or_(
        catalogue,
        CH.agency_id == me,
        CH.learner_agency_id == me,
        CH.course_id.in_(partnered),
        (CH.type == ChangeType.learner.value) & enrolled_with_me,
    )


def read(
    *,
    session: Session,
    principal: Principal,
    after: str | None,
    types: list[ChangeType] | None,
    limit: int | None,
) -> tuple[list[ChangeEntry], str]:
    """One page of the feed and the cursor to continue from (always given: poll with it)."""
    position = decode(after) if after else 0
    # the newest seq first: every seq up to it is committed and visible (the sequence is
    # handed out in commit order), so the page below reads a gap-free prefix even though
    # each statement takes its own snapshot on PostgreSQL
    newest, oldest = session.execute(select(func.max(CH.seq), func.min(CH.seq))).one()
    if newest is None:
        last = session.execute(select(ChangeCounter.last_seq)).scalar()  # type: ignore[call-overload]
        newest = int(last or 0)
        oldest = newest + 1
    if after is not None and position + 1 < oldest:
        raise _expired()
    size = limit or DEFAULT_LIMIT
    stmt = select(CH.seq, CH.type, CH.resource_id, CH.op, CH.committed_at).where(
        CH.seq > position, CH.seq <= newest, visible_sql(principal)
    )
    if types:
        stmt = stmt.where(CH.type.in_([t.value for t in types]))
    rows = session.execute(stmt.order_by(CH.seq).limit(size)).all()
    wanted: dict[ChangeType, set[str]] = defaultdict(set)
    for row in rows:
        if row.op == ChangeOp.upsert.value:
            wanted[ChangeType(row.type)].add(row.resource_id)
    reps = representations.load(session, principal, wanted)
    entries = []
    for row in rows:
        kind = ChangeType(row.type)
        data = reps.get((kind, row.resource_id)) if row.op == ChangeOp.upsert.value else None
        entries.append(  # our own values: no validation (a tenth of a 1,000-entry page)
            ChangeEntry.model_construct(
                seq=row.seq,
                type=kind,
                id=row.resource_id,
                operation=ChangeOp(row.op),
                changed_at=row.committed_at,
                data=data if data is not None else {"id": row.resource_id, "deleted": True},
            )
        )
    # a short page has read everything up to ``newest`` (entries hidden from the caller
    # included): continue from there, so a reader never rescans what it may not see
    reached = rows[-1].seq if len(rows) == size else max(newest, position)
    return entries, encode(max(reached, oldest - 1))


def retention_cutoff(days: int | None = None) -> datetime:
    """The instant before which changes (and OneRoster tombstones) are no longer kept:
    ``days`` ago, by default ``change_retention_days``."""
    keep = get_settings().change_retention_days if days is None else days
    return utcnow() - timedelta(days=keep)


def prune(*, session: Session, days: int | None = None) -> int:
    """Delete changes older than the retention (default ``change_retention_days``); how many.
    While a webhook subscription is active, changes the worker has not fanned out yet are
    kept whatever their age (app/services/webhooks/fanout.py ``announced_through``)."""
    from app.services.webhooks.fanout import announced_through

    old = CH.committed_at < retention_cutoff(days)
    floor = announced_through(session)
    if floor is not None:
        old = old & (CH.seq <= floor)
    result = session.execute(delete(Change).where(old))
    session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
