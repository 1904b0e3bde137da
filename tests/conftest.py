"""Test setup: one real database per run (SQLite file by default, PostgreSQL when
BANGKOM_TEST_DATABASE_URL says so), migrated with Alembic, emptied after each test.

Every test also checks the contract: each (method, route, status) its HTTP clients saw
must be declared by that route's operation in the OpenAPI document
(`_statuses_are_declared`). Every test passes alone and in any order (pytest-randomly
shuffles them); the run's files live in one temporary folder removed at the end.
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

# This process's files (the SQLite database and its -wal/-shm, the live servers' and the
# README walk-through's); removed when the session ends (pytest_sessionfinish below).
TMP_ROOT = Path(tempfile.mkdtemp(prefix="bangkom-tests-"))


def _own_database(url: str) -> str:
    """Under pytest-xdist each worker gets its own PostgreSQL database (`<name>_gw0`, ...),
    created if missing: the workers reset their schema and empty tables independently.
    SQLite needs nothing: each worker's file is in its own TMP_ROOT."""
    from sqlalchemy import create_engine
    from sqlalchemy import text as sql
    from sqlalchemy.engine import make_url

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    parsed = make_url(url)
    if not worker or parsed.get_backend_name() != "postgresql":
        return url
    name = f"{parsed.database}_{worker}"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        found = conn.scalar(sql("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if found is None:
            conn.execute(sql(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


TEST_DATABASE_URL = _own_database(
    os.environ.get("BANGKOM_TEST_DATABASE_URL") or f"sqlite:///{TMP_ROOT / 'test.db'}"
)

# Settings are read from the environment once; set them before the app is imported.
os.environ.update(
    {
        "BANGKOM_ENV": "test",
        "BANGKOM_DATABASE_URL": TEST_DATABASE_URL,
        "BANGKOM_SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "BANGKOM_ACCESS_LOG": "false",
        "BANGKOM_DEMO_DATA": "false",
        "BANGKOM_LOG_LEVEL": "WARNING",
    }
)

from sqlalchemy import Engine, text  # noqa: E402
from sqlmodel import Session, SQLModel  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

import app.models  # noqa: E402,F401
from app.core import metrics, migrations  # noqa: E402
from app.core.config import get_settings  # noqa: E402
from app.core.db import get_engine, new_session  # noqa: E402
from app.main import create_app  # noqa: E402


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Leave nothing in the temporary folder. Session fixtures (the engine, the live
    servers) are torn down before this runs, so their files are closed."""
    shutil.rmtree(TMP_ROOT, ignore_errors=True)


def pytest_report_header(config: pytest.Config) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(TEST_DATABASE_URL)
    return f"database: {url.get_backend_name()} ({url.render_as_string(hide_password=True)})"


def _reset_schema(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    get_settings.cache_clear()
    get_engine.cache_clear()
    eng = get_engine()
    _reset_schema(eng)
    migrations.upgrade(eng)
    yield eng
    eng.dispose()


def _empty_tables(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(autouse=True)
def _clean_database(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "engine" in request.fixturenames:
        _empty_tables(request.getfixturevalue("engine"))


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with new_session(engine, write=True) as s:
        yield s


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c


Observation = tuple[str, str, str]  # (method, route template, status)


def observed_requests() -> dict[Observation, float]:
    """How many requests this process has answered, by method, route template and status
    (the middleware's Prometheus counter; live servers count theirs in their own process)."""
    counts: dict[Observation, float] = {}
    for family in metrics.REQUESTS.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                key = (sample.labels["method"], sample.labels["route"], sample.labels["status"])
                counts[key] = sample.value
    return counts


@functools.cache
def _openapi_paths() -> dict[str, Any]:
    paths: dict[str, Any] = create_app().openapi()["paths"]
    return paths


def undeclared_statuses(seen: Iterable[Observation], paths: dict[str, Any]) -> list[str]:
    """The observations whose status the route's operation does not declare. Routes the
    document does not have (unmatched paths, test-only apps, the docs pages, 405 for a
    method with no route) are not the contract's business."""
    undeclared = []
    for method, route, status in sorted(seen):
        operation = paths.get(route, {}).get(method.lower())
        if operation is not None and status not in operation["responses"]:
            undeclared.append(f"{method} {route} -> {status} ({operation['operationId']})")
    return undeclared


@pytest.fixture(autouse=True)
def _statuses_are_declared() -> Iterator[None]:
    """The contract tells the truth: fail the test (at teardown) that saw a route answer
    a status its OpenAPI operation does not declare. Checked per test, from the counter's
    increase during that test, so it needs no particular order and works in parallel."""
    before = observed_requests()
    yield
    seen = [key for key, n in observed_requests().items() if n > before.get(key, 0)]
    if seen:
        undeclared = undeclared_statuses(seen, _openapi_paths())
        if undeclared:
            pytest.fail("statuses not declared in the OpenAPI document: " + "; ".join(undeclared))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(extra_env: dict[str, str], *, workers: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    """Start the real service under uvicorn in a child process, on a free loopback port."""
    port = _free_port()
    env = {**os.environ, "BANGKOM_PORT": str(port), **extra_env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                "server exited: " + (proc.stderr.read().decode() if proc.stderr else "")
            )
        try:
            if httpx.get(base + "/health/live", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError("server did not start in 30 s")
    return proc, base


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def live_server(engine: Engine) -> Iterator[str]:
    """The real service under uvicorn in a child process, on a free loopback port."""
    proc, base = serve({})
    yield base
    stop(proc)


@pytest.fixture
def small_pool_server(engine: Engine) -> Iterator[str]:
    """The real service with a database pool of two connections (contention comes fast)."""
    proc, base = serve({"BANGKOM_DB_POOL_SIZE": "2"})
    yield base
    stop(proc)
