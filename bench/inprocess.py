"""What the in-process benches share (bulk_enrol, progress_batch, evaluate, jp_ledger, xapi_statements,
changes, scale): a fresh migrated database on each engine with the bench admin, the
engines' URLs, the bench learners, a timer, and the machine-load line under every table."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def fresh_database(url: str) -> tuple[Any, Any]:
    """Point the app at ``url``, empty it (PostgreSQL: a new public schema), migrate, and
    make the bench admin: ``(engine, ctx)`` with ``ctx.vars`` token, user_id, agency_id."""
    os.environ["BANGKOM_DATABASE_URL"] = url
    from sqlalchemy import text

    from app.core import migrations
    from app.core.config import get_settings
    from app.core.db import get_engine
    from bench.setups import Context, bearer_token

    get_settings.cache_clear()
    get_engine.cache_clear()
    engine = get_engine()
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    migrations.upgrade(engine)
    ctx = Context(database_url=url)
    bearer_token(ctx)
    return engine, ctx


def attach_database(url: str) -> Any:
    """Point the app at an already filled ``url`` as it is: nothing dropped, nothing
    migrated. Every table and column the models name must be there (the revision stamp
    is not checked: a database filled on a branch may carry another number for the same
    schema); the engine."""
    os.environ["BANGKOM_DATABASE_URL"] = url
    from sqlalchemy import inspect
    from sqlmodel import SQLModel

    import app.models  # noqa: F401  (every table in the metadata)
    from app.core.config import get_settings
    from app.core.db import get_engine

    get_settings.cache_clear()
    get_engine.cache_clear()
    engine = get_engine()
    found = inspect(engine)
    tables = set(found.get_table_names())
    missing: list[str] = []
    for table in SQLModel.metadata.sorted_tables:
        if table.name not in tables:
            missing.append(table.name)
            continue
        there = {c["name"] for c in found.get_columns(table.name)}
        missing += [f"{table.name}.{c.name}" for c in table.columns if c.name not in there]
    if missing:
        raise SystemExit(f"{url} lacks {', '.join(missing)}: migrate it first")
    return engine


def engine_urls(engines: str, work: str, pg_database: str) -> Iterator[tuple[str, str]]:
    """``(name, url)`` for each of the comma-separated ``engines``: SQLite a file in
    ``work``, PostgreSQL the database ``pg_database`` of ``scripts/postgres.sh``."""
    for name in engines.split(","):
        if name == "sqlite":
            yield name, f"sqlite:///{work}/bench.db"
        else:
            script = ROOT / "scripts" / "postgres.sh"
            yield name, subprocess.check_output([str(script), pg_database], text=True).strip()


def bench_nip(i: int) -> str:
    """The i-th valid NIP of the in-process benches: birth 1980-MM-01, CPNS start 2005-2016,
    sequence 001-999 (distinct for i below 143,856)."""
    return f"1980{1 + i // 11_988 % 12:02d}01{2005 + i // 999 % 12}011{i % 999 + 1:03d}"


def insert_learners(engine: Any, agency_id: str, count: int) -> list[str]:
    """``count`` PNS learners of ``agency_id`` (ids ``lrn_bench...``, NIPs ``bench_nip(i)``)
    in one Core insert; their keys, in order."""
    from sqlalchemy import insert

    from app.models import Learner

    keys = [bench_nip(i) for i in range(count)]
    with engine.begin() as conn:
        conn.execute(
            insert(Learner.__table__),  # type: ignore[attr-defined]
            [
                {"id": f"lrn_bench{i:021d}", "learner_key": k, "agency_id": agency_id,
                 "asn_type": "pns", "nip": k, "name": f"Peserta Massal {i}",
                 "search": f"peserta massal {i} {k}", "version": 1}
                for i, k in enumerate(keys)
            ],
        )  # fmt: skip
    return keys


def timed(call: Callable[[], object], repeat: int) -> list[float]:
    """Seconds each of ``repeat`` calls took."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def load_line() -> str:
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"\nload average: {load} on {os.cpu_count()} cores"
