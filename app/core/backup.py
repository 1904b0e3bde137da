"""``bangkom backup`` / ``bangkom restore``: a consistent copy of the SQLite database while
the service keeps writing, and bringing such a copy back.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies the database in
steps of ``PAGES_PER_STEP`` pages with a short sleep between them. The source connection
holds one read transaction for the whole copy, so every step reads the same snapshot (a
consistent prefix of the committed writes, never half a transaction) while writers carry
on: in WAL mode readers do not block writers, and the backup does not restart each time a
writer commits. The copy is written to a temporary file beside ``PATH``, checked with
``PRAGMA integrity_check`` and only then renamed over ``PATH``.

Restore copies a checked backup into the configured database file with the same API (the
-wal/-shm files stay coherent). The server must be stopped: a running worker would keep
answering from caches taken before the restore.

PostgreSQL: pg_dump / pg_restore are the tools; both commands print the exact command for
the configured database and exit 2 without running anything.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

PAGES_PER_STEP = 1024  # 4 MiB at SQLite's default 4 KiB page
STEP_SLEEP_SECONDS = 0.005  # between steps: the writers' share of the disk
BUSY_TIMEOUT_SECONDS = 30.0


class BackupError(Exception):
    """A backup or restore refused; the message says why and what to do."""


@dataclass(frozen=True)
class CopyResult:
    path: Path
    pages: int
    bytes: int


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL; None for another engine."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("an in-memory SQLite database has no file to back up")
    return Path(parsed.database)


def integrity_errors(path: Path) -> list[str]:
    """``PRAGMA integrity_check`` of the file at ``path``: empty when it says ok."""
    if not path.is_file():
        return [f"{path} does not exist"]
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS)
        try:
            rows = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return [f"{path} is not a readable SQLite database: {exc}"]
    return [] if rows == ["ok"] else rows


def _has_schema(path: Path) -> bool:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        found = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'"
        ).fetchone()
    finally:
        conn.close()
    return found is not None


def _copy(source: sqlite3.Connection, target: sqlite3.Connection, pages: int, sleep: float) -> int:
    # One read transaction over the whole copy: every step sees the same snapshot.
    source.execute("BEGIN")
    source.execute("SELECT count(*) FROM sqlite_master").fetchone()
    copied = 0

    def progress(_status: int, remaining: int, total: int) -> None:
        nonlocal copied
        copied = total - remaining

    try:
        source.backup(target, pages=pages, progress=progress, sleep=sleep)
    finally:
        source.execute("COMMIT")
    return copied


def backup_sqlite(
    database: Path,
    destination: Path,
    *,
    pages_per_step: int = PAGES_PER_STEP,
    sleep: float = STEP_SLEEP_SECONDS,
) -> CopyResult:
    """Copy the live database at ``database`` to ``destination`` (replaced atomically)."""
    if not database.is_file():
        raise BackupError(f"the database file {database} does not exist; check the URL")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(database, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    target = sqlite3.connect(partial, isolation_level=None)
    try:
        pages = _copy(source, target, pages_per_step, sleep)
        # a self-contained file: no -wal beside it to forget when it is moved
        target.execute("PRAGMA journal_mode=DELETE")
    finally:
        target.close()
        source.close()
    problems = integrity_errors(partial)
    if problems:
        partial.unlink(missing_ok=True)
        raise BackupError("the copy failed its integrity check: " + "; ".join(problems[:5]))
    os.replace(partial, destination)
    return CopyResult(destination, pages, destination.stat().st_size)


def restore_sqlite(backup: Path, database: Path) -> CopyResult:
    """Bring ``backup`` back as the database at ``database``; the server must be stopped."""
    problems = integrity_errors(backup)
    if problems:
        raise BackupError(
            f"{backup} failed its integrity check, nothing restored: " + "; ".join(problems[:5])
        )
    if not _has_schema(backup):
        raise BackupError(f"{backup} is not a Bangkom database (no alembic_version table)")
    database.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{backup}?mode=ro", uri=True, isolation_level=None)
    target = sqlite3.connect(database, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    try:
        source.backup(target, pages=-1)
        target.execute("PRAGMA journal_mode=WAL")  # the service's mode (app/core/db.py)
        target.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        target.close()
        source.close()
    after = integrity_errors(database)
    if after:
        raise BackupError("the restored database failed its integrity check: " + "; ".join(after))
    return CopyResult(database, 0, database.stat().st_size)


def _libpq_url(url: str) -> str:
    """The URL as pg_dump takes it: no SQLAlchemy driver suffix, the password hidden."""
    parsed: URL = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=True)


def pg_dump_command(url: str, path: Path) -> str:
    return f"pg_dump --format=custom --no-owner --file '{path}' '{_libpq_url(url)}'"


def pg_restore_command(url: str, path: Path) -> str:
    return (
        f"pg_restore --clean --if-exists --no-owner --single-transaction "
        f"--dbname '{_libpq_url(url)}' '{path}'"
    )
