"""What the fault tests check after a crash, a backup or a restore: the cohort counters
agree with the enrolment rows, and SQLite's own integrity check. Plain SQL, so it runs on
a SQLAlchemy connection to either engine or on a bare ``sqlite3`` connection to a copy.

Extend ``COUNTER_CHECKS`` when a feature keeps another counter (progress batches, the
change feed's sequence): one row per rule, each query answering the rows that break it.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Connection, text

COUNTER_CHECKS: dict[str, str] = {
    "seats_taken = enrolments proposed/verified/active": """
        SELECT c.id, c.seats_taken, (SELECT count(*) FROM enrollment e
            WHERE e.cohort_id = c.id AND e.status IN ('proposed', 'verified', 'active'))
        FROM cohort c
        WHERE c.seats_taken <> (SELECT count(*) FROM enrollment e
            WHERE e.cohort_id = c.id AND e.status IN ('proposed', 'verified', 'active'))""",
    "waitlist_length = enrolments waitlisted": """
        SELECT c.id, c.waitlist_length, (SELECT count(*) FROM enrollment e
            WHERE e.cohort_id = c.id AND e.status = 'waitlisted')
        FROM cohort c
        WHERE c.waitlist_length <> (SELECT count(*) FROM enrollment e
            WHERE e.cohort_id = c.id AND e.status = 'waitlisted')""",
}


def counter_mismatches(conn: Connection | sqlite3.Connection) -> dict[str, list[Any]]:
    """Every broken counter rule with the rows that break it (empty: all consistent)."""
    found: dict[str, list[Any]] = {}
    for rule, query in COUNTER_CHECKS.items():
        if isinstance(conn, sqlite3.Connection):
            rows = conn.execute(query).fetchall()
        else:
            rows = list(conn.execute(text(query)).all())
        if rows:
            found[rule] = [tuple(r) for r in rows]
    return found


def count(conn: Connection | sqlite3.Connection, query: str, **params: Any) -> int:
    if isinstance(conn, sqlite3.Connection):
        return int(conn.execute(query.replace(":", "@"), params).fetchone()[0])
    return int(conn.execute(text(query), params).scalar_one())


def sqlite_integrity(path: str) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()
