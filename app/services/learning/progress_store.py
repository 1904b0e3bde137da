"""Storing progress rows: one upsert for a whole batch, in which the database decides
what is newer.

``INSERT ... ON CONFLICT (enrollment_id, module_id) DO UPDATE ... WHERE excluded.occurred_at
> progress_record.occurred_at ... RETURNING`` the rows it wrote: a replay or an older
record (LMS platforms retry and reorder) changes nothing, also when two batches race (on
PostgreSQL the conflict check waits for the other transaction's row and then compares
with what it committed). Rows go in (enrolment, module) order, so two transactions lock
the rows they share in the same order and never deadlock. Nothing here commits.
"""

from __future__ import annotations

import base64
import functools
import itertools
import operator
import os
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Table, column, select, table
from sqlmodel import Session

from app.core.bulk import stamp_for
from app.models.base import UTCDateTime, utcnow
from app.models.progress import ProgressOutcome, ProgressRecord
from app.services.sync.changes import ChangeType, record_changes

T: Table = ProgressRecord.__table__  # type: ignore[attr-defined]
Out = ProgressOutcome
CHUNK = 500  # pairs per IN (...) list: well under every engine's bound-parameter limit


def _chunks(values: list[Any]) -> Any:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


_CROCKFORD = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", b"0123456789abcdefghjkmnpqrstvwxyz"
)


def new_ids(prefix: str, count: int) -> list[str]:
    """``count`` ids exactly as ``models.base.new_id`` makes them (the time in ms, then 80
    random bits, in Crockford base 32) but encoded in one ``base64`` call: 10,000 in ~5 ms
    instead of ~30. Each id is 20 bytes (4 zero, 6 of time, 10 random) = 32 base-32
    characters, of which the first 6 only encode the zero padding."""
    head = b"\0\0\0\0" + int(time.time() * 1000).to_bytes(6, "big")
    noise = os.urandom(10 * count)
    raw = b"".join([head + noise[n : n + 10] for n in range(0, 10 * count, 10)])
    text = base64.b32encode(raw).translate(_CROCKFORD).decode()
    return [f"{prefix}_{text[n + 6 : n + 32]}" for n in range(0, 32 * count, 32)]


# --- writing -----------------------------------------------------------------------------

# what each row brings; version, created_at and updated_at are the same for all
VARYING = (
    "id",
    "enrollment_id",
    "module_id",
    "status",
    "percent",
    "score_centi",
    "jp_earned_halves",
    "time_spent_minutes",
    "occurred_at",
    "source",
    "external_id",
)
_INSERTED = ", ".join((*VARYING, "version", "created_at", "updated_at"))
_UPDATED = (*VARYING[3:], "updated_at")
_CONFLICT = (
    " ON CONFLICT (enrollment_id, module_id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _UPDATED)
    + ", version = progress_record.version + 1"
    " WHERE excluded.occurred_at > progress_record.occurred_at"
    " RETURNING id, enrollment_id, module_id, version"
)
# The table without column types, to read stored values as the driver gives them.
LITE = table("progress_record", *(column(c.name) for c in T.columns))
ROWS_PER_STATEMENT = 2_000  # x 13 values: under SQLite's 32,766 bound parameters


@functools.lru_cache(maxsize=8)
def _sqlite_upsert(count: int) -> str:
    """``count`` rows in one multi-row INSERT. Hand-written, with the values in one flat
    list: SQLAlchemy's executemany (insertmanyvalues: the same statements) spent ~130 ms of
    Python per 10,000 rows on parameters, more than SQLite spent writing them."""
    one = "(" + ", ".join(["?"] * len(VARYING)) + ", 1, ?, ?)"
    return (
        f"INSERT INTO progress_record ({_INSERTED}) VALUES " + ", ".join([one] * count) + _CONFLICT
    )


def _pg_type(name: str) -> str:
    column = T.c[name]
    if isinstance(column.type, UTCDateTime):
        return "timestamptz"
    return "int" if isinstance(column.type, Integer) else "text"


# PostgreSQL: one statement for the whole batch, each column one array literal (unnest).
# As multi-row VALUES, psycopg spent ~0.9 s per 10,000 rows finding 140,000 placeholders
# in the query text; as Python lists, ~0.25 s adapting their 110,000 elements; as array
# literals built with str.join, a few ms.
PG_UPSERT = (
    f"INSERT INTO progress_record ({_INSERTED}) SELECT *, 1, %s::timestamptz, %s::timestamptz "
    "FROM unnest(" + ", ".join(f"%s::{_pg_type(name)}[]" for name in VARYING) + ")" + _CONFLICT
)
_ESCAPE = str.maketrans({"\\": "\\\\", '"': '\\"'})


def _pg_array(name: str, values: tuple[Any, ...]) -> str:
    """A PostgreSQL array literal: text quoted (backslash and quote escaped), NULL bare."""
    if _pg_type(name) == "int":
        return "{" + ",".join("NULL" if v is None else str(v) for v in values) + "}"
    if name == "external_id":  # the only free text; the others are ids, names, stamps
        values = tuple(v.translate(_ESCAPE) for v in values)
    return '{"' + '","'.join(values) + '"}'


Pair = tuple[str, str]


def write(session: Session, rows: list[dict[str, Any]]) -> dict[Pair, Out]:
    """Upsert ``rows`` (one per (enrolment, module), values as :func:`stamp_for` and the
    record rules give them); the outcome of each pair. Does not commit."""
    if not rows:
        return {}
    rows.sort(key=operator.itemgetter("enrollment_id", "module_id"))
    dialect = session.get_bind().dialect.name
    stamp = stamp_for(dialect)
    now = stamp(utcnow())
    for row, ident in zip(rows, new_ids("prg", len(rows)), strict=True):
        row["id"] = ident
    values = operator.itemgetter(*VARYING)
    connection = session.connection()
    written: list[Any] = []
    if dialect == "postgresql":
        columns = zip(*map(values, rows), strict=True)
        arrays = [_pg_array(name, column) for name, column in zip(VARYING, columns, strict=True)]
        written = list(connection.exec_driver_sql(PG_UPSERT, (now, now, *arrays)).all())
    else:
        tail = (now, now)
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            part = rows[start : start + ROWS_PER_STATEMENT]
            flat = tuple(itertools.chain.from_iterable(values(r) + tail for r in part))
            written += connection.exec_driver_sql(_sqlite_upsert(len(part)), flat).all()
    record_changes(session, ChangeType.progress, progress=[(i, e) for i, e, _, _ in written])
    outcomes: dict[Pair, Out] = {
        (e, m): Out.created if version == 1 else Out.updated for _, e, m, version in written
    }
    rest = [p for p in ((r["enrollment_id"], r["module_id"]) for r in rows) if p not in outcomes]
    if rest:
        stored = _stored(session, rest, stamp)
        for row in rows:
            pair = (row["enrollment_id"], row["module_id"])
            if pair not in outcomes:
                same = stored.get(pair) == (row["source"], row["external_id"], row["occurred_at"])
                outcomes[pair] = Out.unchanged if same else Out.stale
    return outcomes


def _stored(
    session: Session, pairs: list[Pair], stamp: Callable[[datetime], str]
) -> dict[Pair, tuple[str, str, str]]:
    """Source, external id and stamped time of the stored rows of ``pairs``: by enrolment
    (a plain IN list, few statements), keeping the pairs asked for."""
    wanted = set(pairs)
    found: dict[Pair, tuple[str, str, str]] = {}
    old = LITE.c
    for part in _chunks(sorted({e for e, _ in pairs})):
        rows = session.execute(
            select(
                old.enrollment_id, old.module_id, old.source, old.external_id, old.occurred_at
            ).where(old.enrollment_id.in_(part))
        ).all()
        for e, m, source, external_id, at in rows:
            if (e, m) in wanted:
                found[(e, m)] = (source, external_id, at if isinstance(at, str) else stamp(at))
    return found
