"""``bangkom backup`` / ``restore``: a consistent copy of the SQLite database while
enrolments keep being written, and the copy brought back."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from app import cli
from app.core import backup
from app.core.config import get_settings
from tests.factories import (
    auth_headers,
    make_agency,
    make_learner_row,
    make_open_cohort,
    make_published_course,
    make_user,
)
from tests.fault_checks import counter_mismatches, sqlite_integrity

sqlite_only = pytest.mark.skipif(
    not get_settings().is_sqlite, reason="SQLite's online backup; PostgreSQL uses pg_dump"
)


def _enrolment_count(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM enrollment").fetchone()[0])
    finally:
        conn.close()


def _world(
    http: httpx.Client, session: Session, learners: int
) -> tuple[dict[str, str], Any, list[str]]:
    agency = make_agency(session)
    admin = auth_headers(make_user(session, agency, "agency_admin"))
    keys = [make_learner_row(session, agency, i).learner_key for i in range(learners)]
    session.commit()
    session.rollback()
    course = make_published_course(http, admin)
    # a small cohort with a waitlist: both counters move while the backup runs
    cohort = make_open_cohort(http, admin, course["id"], capacity=25, waitlist_enabled=True)
    return admin, cohort, keys


@sqlite_only
def test_backup_while_enrolments_are_written_is_a_consistent_prefix(
    live_server: str, engine: Engine, session: Session, tmp_path: Path
) -> None:
    database = backup.sqlite_path(get_settings().database_url)
    assert database is not None
    with httpx.Client(base_url=live_server, timeout=30) as http:
        admin, cohort, keys = _world(http, session, 120)
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:
        with httpx.Client(base_url=live_server, timeout=30) as http:
            for key in keys:
                if stop.is_set():
                    return
                got = http.post(
                    f"/v1/cohorts/{cohort['id']}/enrollments",
                    json={"learner_key": key},
                    headers=admin,
                )
                assert got.status_code == 201, got.text
                written.append(1)

    thread = threading.Thread(target=writer)
    thread.start()
    copies = []
    try:
        while len(written) < 5:
            stop.wait(0.01)
        for n in range(3):  # small steps with sleeps: the writer commits between steps
            target = tmp_path / f"copy{n}.db"
            before = len(written)
            backup.backup_sqlite(database, target, pages_per_step=2, sleep=0.01)
            copies.append((target, before, len(written)))
    finally:
        stop.set()
        thread.join(timeout=60)
    assert len(written) > 5
    assert any(after > before for _, before, after in copies), "no write during a copy"
    for target, before, after in copies:
        assert sqlite_integrity(str(target)) == ["ok"]
        conn = sqlite3.connect(target)
        try:
            assert counter_mismatches(conn) == {}
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        finally:
            conn.close()
        # a prefix: what was acknowledged before the copy began, at most what was by its
        # end (plus the one in flight)
        assert before <= _enrolment_count(target) <= after + 1


@sqlite_only
def test_restore_brings_back_the_backup_and_refuses_a_damaged_file(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "live.db"
    conn = sqlite3.connect(source)
    conn.executescript(
        "PRAGMA journal_mode=WAL; CREATE TABLE alembic_version (version_num TEXT);"
        "CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2);"
    )
    conn.close()
    copy = tmp_path / "backup.db"
    backup.backup_sqlite(source, copy)
    conn = sqlite3.connect(source)
    conn.execute("INSERT INTO t VALUES (3)")
    conn.commit()
    conn.close()

    restored = backup.restore_sqlite(copy, source)
    assert restored.path == source
    conn = sqlite3.connect(source)
    assert [r[0] for r in conn.execute("SELECT x FROM t ORDER BY x")] == [1, 2]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()

    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(copy.read_bytes()[:4096] + b"\x00garbage" * 1000)
    with pytest.raises(backup.BackupError, match="integrity"):
        backup.restore_sqlite(damaged, source)
    stranger = tmp_path / "other.db"
    sqlite3.connect(stranger).executescript("CREATE TABLE t (x INTEGER);")
    with pytest.raises(backup.BackupError, match="not a Bangkom database"):
        backup.restore_sqlite(stranger, source)
    conn = sqlite3.connect(source)
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 2  # untouched
    conn.close()


@sqlite_only
def test_cli_backup_and_restore_round_trip_the_configured_database(
    engine: Engine, session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    agency = make_agency(session)
    target = tmp_path / "bangkom.bak"
    assert cli.main(["backup", str(target)]) == 0
    assert "integrity ok" in capsys.readouterr().out
    session.delete(agency)
    session.commit()
    engine.dispose()  # the test's pooled connections: the server is "stopped"
    assert cli.main(["restore", str(target)]) == 0
    assert "start the server again" in capsys.readouterr().out
    session.rollback()
    assert session.get(type(agency), agency.id) is not None
    assert cli.main(["restore", str(tmp_path / "missing.db")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_backup_on_postgresql_prints_the_pg_dump_command(tmp_path: Path) -> None:
    url = "postgresql+psycopg://bangkom:secret@db.example:5432/bangkom"
    dump = backup.pg_dump_command(url, tmp_path / "b.dump")
    assert dump.startswith("pg_dump --format=custom")
    assert "postgresql://bangkom:***@db.example:5432/bangkom" in dump
    assert "secret" not in dump
    restore = backup.pg_restore_command(url, tmp_path / "b.dump")
    assert restore.startswith("pg_restore --clean --if-exists")


@pytest.mark.skipif(get_settings().is_sqlite, reason="the PostgreSQL answer of the CLI")
def test_cli_on_postgresql_prints_the_commands_and_runs_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["backup", str(tmp_path / "b.dump")]) == 2
    out = capsys.readouterr()
    assert out.out.startswith("pg_dump --format=custom") and "nothing was run" in out.err
    assert cli.main(["restore", str(tmp_path / "b.dump")]) == 2
    assert capsys.readouterr().out.startswith("pg_restore --clean")
    assert not (tmp_path / "b.dump").exists()
