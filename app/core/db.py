"""Engine and sessions.

SQLite (the embedded default) runs in WAL mode with foreign keys on and a busy
timeout. Python's sqlite3 driver manages transactions poorly, so we take over:
reads start with a plain ``BEGIN``; sessions opened for writing start with
``BEGIN IMMEDIATE`` so that concurrent writers queue on the database lock (up to
the busy timeout) instead of failing with "database is locked" half-way through
a transaction. PostgreSQL needs none of this; writes that must not race use
row locks (``SELECT ... FOR UPDATE``) in the services.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.core.config import Settings, get_settings
from app.core.errors import ProblemError

WRITE_OPTION = "bangkom_write"


def build_engine(settings: Settings) -> Engine:
    """The pool holds ``db_pool_size`` connections for the sessions admitted to the
    database (``SessionDep`` in app/deps.py), plus one per worker thread
    (``threadpool_size``) and one for the event loop, for database work done outside a
    session: that never waits for a connection."""
    url = make_url(settings.database_url)
    headroom = settings.threadpool_size + 1
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": settings.sqlite_busy_timeout_ms / 1000,
            },
            pool_size=settings.db_pool_size,
            max_overflow=headroom,
            pool_timeout=30,
        )
        _configure_sqlite(engine, settings)
        return engine
    return create_engine(
        url,
        # a dead server is found at connect (fast) and a dropped connection before use
        # (pre-ping): both raise OperationalError, answered 503 (app/core/errors.py); once
        # the server is back the pool reconnects, no restart needed
        # JIT compiles a plan whose estimated cost is high, which a misestimated OLTP query
        # (an IN list over a 50-million-row table) reaches: 0.66 s of compiling for a few
        # milliseconds of index reads. Short queries are all this service runs: off.
        connect_args={
            "connect_timeout": settings.db_connect_timeout_seconds,
            "options": "-c jit=off",
        },
        pool_size=settings.db_pool_size,
        max_overflow=headroom,
        pool_pre_ping=True,
    )


def _configure_sqlite(engine: Engine, settings: Settings) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(settings.sqlite_busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


@lru_cache
def get_engine() -> Engine:
    return build_engine(get_settings())


def new_session(engine: Engine | None = None, *, write: bool = False) -> Session:
    """A session; ``write=True`` takes the SQLite write lock at the first statement."""
    engine = engine or get_engine()
    bind = engine.execution_options(**{WRITE_OPTION: True}) if write else engine
    return Session(bind=bind, expire_on_commit=False)


@contextmanager
def session_scope(*, write: bool = False, engine: Engine | None = None) -> Iterator[Session]:
    """For scripts and the CLI: a session that is closed (and rolled back if not committed)."""
    session = new_session(engine, write=write)
    try:
        yield session
    finally:
        session.close()


def commit_or_409(session: Session, conflict: ProblemError) -> None:
    """Commit; a unique constraint violated at commit (a concurrent write won) is ``conflict``.

    The one place a write turns an ``IntegrityError`` into a 409: every service that
    can hit a unique constraint commits through here, after checking for the clash
    itself (under ``session.no_autoflush``) so the usual case names the duplicate.
    """
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise conflict from exc


def flush_or_409(session: Session, conflict: ProblemError) -> None:
    """As :func:`commit_or_409` for a write that is one step of a larger transaction:
    flushed now (so a unique-constraint race shows here), committed by the caller."""
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise conflict from exc


def _install_session_hooks() -> None:
    """The change log (app/services/sync/changes.py) is written by session hooks, and a
    worker's course copies are dropped by one (app/services/course_cache.py): one
    registration for every session of the process."""
    from app.services import course_cache
    from app.services.sync import changes

    changes.install()
    course_cache.install()


_install_session_hooks()
