"""Test setup: one real database per run (SQLite file by default, PostgreSQL when
BANGKOM_TEST_DATABASE_URL says so), migrated with Alembic, emptied after each test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

_TMP = Path(tempfile.mkdtemp(prefix="bangkom-tests-"))
TEST_DATABASE_URL = os.environ.get("BANGKOM_TEST_DATABASE_URL") or f"sqlite:///{_TMP / 'test.db'}"

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
from app.core import migrations  # noqa: E402
from app.core.config import get_settings  # noqa: E402
from app.core.db import get_engine, new_session  # noqa: E402
from app.main import create_app  # noqa: E402

LAST = "test_every_status_the_suite_saw_is_declared_in_openapi"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the contract check that reads what every other test observed last."""
    items.sort(key=lambda item: item.name == LAST)


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(extra_env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """Start the real service under uvicorn in a child process, on a free loopback port."""
    port = _free_port()
    env = {**os.environ, "BANGKOM_PORT": str(port), **extra_env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "1"],
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


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def live_server(engine: Engine) -> Iterator[str]:
    """The real service under uvicorn in a child process, on a free loopback port."""
    proc, base = _serve({})
    yield base
    _stop(proc)


@pytest.fixture
def small_pool_server(engine: Engine) -> Iterator[str]:
    """The real service with a database pool of two connections (contention comes fast)."""
    proc, base = _serve({"BANGKOM_DB_POOL_SIZE": "2"})
    yield base
    _stop(proc)
