"""The scale benchmark runs: ``bench/scale.py`` at 10,000 learners on the suite's engine,
with a small repeat, completes and prints every row of its tables (issue 11's smoke run in
CI). Timings are the benchmark's business and never asserted here.

On PostgreSQL it uses a database of its own (``<test database>_scale``): the benchmark
drops and rebuilds its schema, which the suite's session-wide schema must not see.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def _own_postgres_database() -> str:
    parsed = make_url(TEST_DATABASE_URL)
    name = f"{parsed.database}_scale"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        found = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if found is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def test_scale_benchmark_at_10000_learners_prints_every_row() -> None:
    command = [sys.executable, str(ROOT / "bench" / "scale.py"), "--learners", "10000"]
    command += ["--repeat", "2", "--writes-repeat", "1"]
    if make_url(TEST_DATABASE_URL).get_backend_name() == "postgresql":
        command += ["--database-url", _own_postgres_database()]
    env = {k: v for k, v in os.environ.items() if k != "BANGKOM_DATABASE_URL"}
    done = subprocess.run(
        command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    sizes = [line for line in lines if line.startswith("| 10,000 |")]
    assert len(sizes) == 3, done.stdout  # the lists, the JP / writes, the feed / memory table
    assert any(line.startswith("| empty (10,000) |") for line in lines), done.stdout
    for row in sizes:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert all(cells), f"an empty cell: {row}"
        assert "x)" in row or "x |" in row, row  # ratios printed
    assert "load average:" in done.stdout
