"""This worker's copy of the course rows ``GET /v1/courses/{id}`` answers from, on PostgreSQL.

On SQLite that read is a ~10 us look-up in a local file and needs no copy. On PostgreSQL it
is a pooled connection's pre-ping and a query, two network round trips through a worker
thread: 0.12 of the FastAPI ceiling under wrk where a 304 should cost next to nothing.

The copy is kept exact by the database, not by a time to live:
- every UPDATE, DELETE or TRUNCATE of ``course`` notifies channel ``bangkom_course`` (a
  trigger, migration 0027; so do writes made by hand or by another tool), at commit;
- each worker listens on a connection of its own (:func:`listen`) and drops what it hears;
- the worker that commits a change drops its own copy at once (``after_commit``), so its
  next read is the new row even before the notification is processed;
- a copy is only used while the listening connection is up. When it is lost (or not yet
  open) every read goes to the database, and the copy is emptied when listening resumes.
- A row read before a change and stored after it is refused (``generation``).

Other workers see a change when its notification reaches them: PostgreSQL sends it at
commit, before the writer's answer leaves, so a client that reads after its own write
reaches a worker that has (in practice) already dropped the row. The bound is that
delivery, not a time to live.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session

from app.models import Course

log = logging.getLogger("bangkom.course_cache")

CHANNEL = "bangkom_course"
APPLICATION_NAME = "bangkom course cache"
EVERYTHING = ""  # the payload of a TRUNCATE: drop every row
_KEY = "bangkom_course_cache_ids"

# agency_id, status, version, doc: what the read needs (services/courses._ONE_SQL)
Row = tuple[str, str, int, str]


class CourseCache:
    def __init__(self, size: int) -> None:
        self.size = size
        self.active = False  # listening: the copy may be used
        self._rows: dict[str, Row] = {}
        self._generation = 0
        self._lock = threading.Lock()  # forget (a writer's thread) against store

    def get(self, course_id: str) -> Row | None:
        return self._rows.get(course_id) if self.active else None

    def generation(self) -> int:
        return self._generation

    def store(self, course_id: str, row: Row, generation: int) -> None:
        """Keep ``row``, read when :meth:`generation` was ``generation``, unless something
        was dropped since (it may be this row's change, committed during the read)."""
        with self._lock:
            if not self.active or generation != self._generation:
                return
            if len(self._rows) >= self.size:  # the oldest stored goes first
                self._rows.pop(next(iter(self._rows)))
            self._rows[course_id] = row

    def forget(self, course_ids: Iterable[str]) -> None:
        with self._lock:
            self._generation += 1
            for course_id in course_ids:
                if course_id == EVERYTHING:
                    self._rows.clear()
                else:
                    self._rows.pop(course_id, None)

    def reset(self, *, active: bool) -> None:
        with self._lock:
            self._generation += 1
            self._rows.clear()
            self.active = active


cache = CourseCache(0)


def configure(size: int) -> None:
    cache.reset(active=False)
    cache.size = size


# --- this worker's own commits ---------------------------------------------------------


def _after_flush(session: Session, _context: Any) -> None:
    ids = [
        obj.id for group in (session.dirty, session.deleted) for obj in group if type(obj) is Course
    ]
    if ids:
        session.info.setdefault(_KEY, set()).update(ids)


def _after_commit(session: Session) -> None:
    ids = session.info.pop(_KEY, None)
    if ids:
        cache.forget(ids)


def _forget_ids(session: Session, transaction: SessionTransaction) -> None:
    """The outermost transaction ended without a commit (after one, ``_after_commit``
    has run first and nothing is left): its changes never happened."""
    if transaction.parent is None:
        session.info.pop(_KEY, None)


def install() -> None:
    """Register the session hooks (idempotent); app/core/db.py calls it."""
    if event.contains(Session, "after_flush", _after_flush):
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_transaction_end", _forget_ids)


# --- other workers' commits --------------------------------------------------------------

KEEPALIVE_SECONDS = 5.0  # a silent listening connection is checked this often
RETRY_MAX_SECONDS = 5.0


def _conninfo(engine: Engine) -> tuple[str, dict[str, Any]]:
    url = engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False), {
        "autocommit": True,
        "connect_timeout": 5,
        "application_name": APPLICATION_NAME,  # pg_stat_activity tells it apart
        # a peer that vanishes without a reset is noticed by the kernel too
        "keepalives": 1,
        "keepalives_idle": 5,
        "keepalives_interval": 2,
        "keepalives_count": 2,
    }


async def listen(engine: Engine) -> None:
    """Run for the life of the worker (a task of the app's lifespan): listen on
    ``bangkom_course`` and drop what changes; the copy is used only while this listens."""
    import psycopg

    conninfo, options = _conninfo(engine)
    delay = 0.1
    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(conninfo, **options)
            async with conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                cache.reset(active=True)
                delay = 0.1
                while True:
                    heard = False
                    async for note in conn.notifies(timeout=KEEPALIVE_SECONDS):
                        heard = True
                        cache.forget((note.payload,))
                    if not heard:  # quiet: is the connection still there?
                        await asyncio.wait_for(conn.execute("SELECT 1"), KEEPALIVE_SECONDS)
        except asyncio.CancelledError:
            cache.reset(active=False)
            raise
        except Exception as exc:  # lost, refused, timed out: read the database meanwhile
            if cache.active:
                log.warning("course cache off: listening connection lost (%s)", exc)
            cache.reset(active=False)
        await asyncio.sleep(delay)
        delay = min(delay * 2, RETRY_MAX_SECONDS)
