"""The database gone: requests answer 503 problem+json (``database_unavailable``, with
Retry-After) within a second instead of 500 or a hang, ``/health/ready`` says not ready,
and once the database is back the same server process answers again."""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine
from sqlmodel import Session

from app.core import migrations
from app.core.config import get_settings
from tests.conftest import _free_port, serve, stop
from tests.factories import auth_headers, learner_payload, make_agency, make_user, nip


def _assert_unavailable(got: httpx.Response, elapsed: float, within: float = 1.0) -> None:
    assert got.status_code == 503, got.text
    assert elapsed < within, f"503 took {elapsed:.2f} s"
    assert got.headers["content-type"] == "application/problem+json"
    assert int(got.headers["retry-after"]) > 0
    body = got.json()
    assert body["code"] == "database_unavailable"
    assert "retry" in body["detail"]


def _timed(call: httpx.Client, method: str, url: str, **kw: object) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    got = call.request(method, url, **kw)  # type: ignore[arg-type]
    return got, time.monotonic() - started


# --- SQLite: locked past the busy timeout ---------------------------------------------


@pytest.mark.skipif(not get_settings().is_sqlite, reason="SQLite's file lock")
def test_sqlite_locked_past_busy_timeout_is_503_and_recovers(
    engine: Engine, session: Session
) -> None:
    admin = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    session.rollback()
    proc, base = serve({"BANGKOM_SQLITE_BUSY_TIMEOUT_MS": "200"})
    database = get_settings().database_url.removeprefix("sqlite:///")
    try:
        with httpx.Client(base_url=base, timeout=10) as http:
            key = nip()
            holder = sqlite3.connect(database, isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock (a long job)
            try:
                got, elapsed = _timed(
                    http, "PUT", f"/v1/learners/{key}", json=learner_payload(), headers=admin
                )
                # the busy timeout (0.2 s) and then the answer; room for a loaded machine
                _assert_unavailable(got, elapsed, within=3.0)
                got_id = http.put(
                    f"/v1/learners/{key}",
                    json=learner_payload(),
                    headers={**admin, "Accept-Language": "id"},
                )
                assert got_id.status_code == 503
                assert got_id.json()["detail"].startswith("Basis data sedang tidak tersedia")
            finally:
                holder.execute("ROLLBACK")
                holder.close()
            again = http.put(f"/v1/learners/{key}", json=learner_payload(), headers=admin)
            assert again.status_code == 201, again.text  # the lock gone, the write goes through
    finally:
        stop(proc)


# --- PostgreSQL: the server stopped and started again ---------------------------------


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.getuid() == 0 else args


class Cluster:
    """A throwaway PostgreSQL cluster of this test's own, on a free loopback port."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="bangkom-pgfault-"))
        self.data = self.root / "data"
        if os.getuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._pg(["initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8"])
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _pg(self, args: list[str]) -> None:
        cmd = _as_postgres([str(self.bin / args[0]), *args[1:]])
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self._pg(
            [
                "pg_ctl",
                "-D",
                str(self.data),
                "-l",
                str(self.root / "log"),
                "-w",
                "-o",
                options,
                "start",
            ]
        )

    def stop(self) -> None:
        self._pg(["pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"])

    def remove(self) -> None:
        subprocess.run(
            _as_postgres(
                [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]
            ),
            capture_output=True,
        )
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def own_cluster() -> Iterator[Cluster]:
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("no PostgreSQL binaries (scripts/postgres.sh installs them)")
    cluster = Cluster(bin_dir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@pytest.mark.skipif(
    get_settings().is_sqlite,
    reason="stops a PostgreSQL server; run with BANGKOM_TEST_DATABASE_URL set to PostgreSQL",
)
def test_postgresql_stopped_is_503_within_a_second_and_recovers_without_restart(
    own_cluster: Cluster,
) -> None:
    engine = create_engine(own_cluster.url)
    migrations.upgrade(engine)
    engine.dispose()
    proc, base = serve({"BANGKOM_DATABASE_URL": own_cluster.url})
    try:
        with httpx.Client(base_url=base, timeout=10) as http:
            assert http.get("/health/ready").status_code == 200
            assert http.get("/v1/courses").status_code == 200  # the pool holds a connection

            own_cluster.stop()
            for _ in range(3):  # not just the first request: every one, each fast
                got, elapsed = _timed(http, "GET", "/v1/courses")
                _assert_unavailable(got, elapsed)
            got, elapsed = _timed(http, "GET", "/health/ready")
            _assert_unavailable(got, elapsed)
            got, elapsed = _timed(
                http,
                "POST",
                "/v1/auth/token",
                data={"grant_type": "password", "username": "a@b.example", "password": "x" * 12},
            )
            _assert_unavailable(got, elapsed)

            own_cluster.start()
            deadline = time.monotonic() + 15
            while http.get("/health/ready").status_code != 200:
                assert time.monotonic() < deadline, "not ready 15 s after the database returned"
                time.sleep(0.1)
            assert http.get("/v1/courses").status_code == 200
            assert proc.poll() is None  # the same process: recovered without a restart
    finally:
        stop(proc)
