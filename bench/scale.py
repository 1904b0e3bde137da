"""Scale: fill a database fast with realistic learners and enrolments, then time the first
page and a deep page of the learner and enrolment lists at each size.

    .venv/bin/python bench/scale.py --learners 10000,100000 [--enrollments M]
        [--engine sqlite|postgresql] [--repeat 30]

The fill uses Core ``executemany`` on SQLite and ``COPY`` (psycopg's ``cursor.copy``) on
PostgreSQL: NIPs that pass the service's own check (``check_nip``), eight agencies over
the four zones (Asia/Jakarta, Asia/Pontianak, Asia/Makassar, Asia/Jayapura), one course
with a cohort a year over 2021-2026, and ``--enrollments`` enrolments (default: one per
learner) spread over the cohorts, each with its history row, counters kept consistent.
Courses, cohorts and the admin go through the service; the bulk rows do not.

Timed through the whole ASGI app in process (starlette's TestClient: middleware, auth,
problem handling; no socket):
- ``GET /v1/learners?limit=50``: the first page, and a page in the middle of the agency's
  learners (the cursor the service would give there, built with its own encoder);
- ``GET /v1/cohorts/{id}/enrollments?limit=50``: the largest cohort's first and middle page.
Prints a table with the median of ``--repeat`` and how each grows with N. Keyset cursors
mean a deep page should cost what the first does (target: within 1.3x).

TODO hooks (named so the next feature adds a filler and a row): ``fill_progress`` (progress
records, ``--progress P``), ``fill_jp_ledger`` (yearly JP per learner), ``fill_change_feed``
(change-feed entries); rows for one learner's yearly JP, the 50,000-learner compliance
report and a change-feed deep page.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BANGKOM_SECRET_KEY", "bench-secret-key-" + "x" * 32)
os.environ.setdefault("BANGKOM_ACCESS_LOG", "false")
os.environ.setdefault("BANGKOM_LOG_LEVEL", "WARNING")

ZONES = ["Asia/Jakarta", "Asia/Pontianak", "Asia/Makassar", "Asia/Jayapura"]
AGENCIES = 8
YEARS = range(2021, 2027)
CHUNK = 20_000


def nip(i: int) -> str:
    """The i-th valid NIP: a birth date a day apart per 999, CPNS start 18-30 years later,
    gender by parity, sequence 001-999."""
    birth = date(1966, 1, 1) + timedelta(days=i // 999)
    start = birth.year + 18 + i % 13
    return f"{birth:%Y%m%d}{start}{1 + i % 12:02d}{1 + i % 2}{i % 999 + 1:03d}"


def _copy_rows(engine: Any, table: Any, rows: Iterable[dict[str, Any]]) -> None:
    """PostgreSQL: COPY FROM STDIN through psycopg (one round trip a buffer, not a row)."""
    columns = [c.name for c in table.columns]
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur:
            names = ", ".join(f'"{c}"' for c in columns)
            with cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row.get(c) for c in columns])
        raw.commit()
    finally:
        raw.close()


def _insert_rows(engine: Any, table: Any, rows: Iterable[dict[str, Any]]) -> None:
    """SQLite: Core executemany in chunks, one transaction."""
    from sqlalchemy import insert

    with engine.begin() as conn:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= CHUNK:
                conn.execute(insert(table), batch)
                batch.clear()
        if batch:
            conn.execute(insert(table), batch)


def bulk(engine: Any, table: Any, rows: Iterable[dict[str, Any]]) -> None:
    if engine.dialect.name == "postgresql":
        _copy_rows(engine, table, rows)
    else:
        _insert_rows(engine, table, rows)


def fill_learners(engine: Any, agencies: Sequence[str], n: int) -> None:
    from app.models import Learner

    now = datetime.now(UTC)
    table = Learner.__table__  # type: ignore[attr-defined]

    def rows() -> Iterable[dict[str, Any]]:
        for i in range(n):
            key = nip(i)
            name = f"Peserta Skala {i}"
            yield {
                "id": f"lrn_{i:026d}",
                "learner_key": key,
                "agency_id": agencies[i % len(agencies)],
                "asn_type": "pns",
                "nip": key,
                "name": name,
                "rank": "III/a",
                "position_type": "pelaksana",
                "search": f"{name.casefold()} {key}",
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }

    bulk(engine, table, rows())


def fill_enrollments(
    engine: Any, cohorts: Sequence[tuple[str, str, str]], agencies: Sequence[str], n: int, m: int
) -> None:
    """``m`` enrolments: learner i in cohort i % len(cohorts) (then the next learners), all
    proposed, each with its history row; the cohorts' seats_taken updated to match."""
    from sqlalchemy import text

    from app.models import Enrollment, EnrollmentEvent

    now = datetime.now(UTC)
    per_cohort = [0] * len(cohorts)

    def enrolments() -> Iterable[dict[str, Any]]:
        for j in range(m):
            c = j % len(cohorts)
            learner = (j // len(cohorts) + c * 7919) % n if m > n else j
            per_cohort[c] += 1
            cohort_id, course_id, organiser = cohorts[c]
            yield {
                "id": f"enr_{j:026d}",
                "cohort_id": cohort_id,
                "course_id": course_id,
                "agency_id": organiser,
                "learner_id": f"lrn_{learner:026d}",
                "status": "proposed",
                "queue_no": None,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }

    def events() -> Iterable[dict[str, Any]]:
        for j in range(m):
            yield {
                "id": f"eev_{j:026d}",
                "enrollment_id": f"enr_{j:026d}",
                "seq": 1,
                "from_status": None,
                "to_status": "proposed",
                "reason": None,
                "actor_user_id": None,
                "actor_agency_id": None,
                "at": now,
            }

    bulk(engine, Enrollment.__table__, enrolments())  # type: ignore[attr-defined]
    bulk(engine, EnrollmentEvent.__table__, events())  # type: ignore[attr-defined]
    with engine.begin() as conn:
        for (cohort_id, _, _), taken in zip(cohorts, per_cohort, strict=True):
            conn.execute(
                text("UPDATE cohort SET seats_taken = :t, capacity = NULL WHERE id = :c"),
                {"t": taken, "c": cohort_id},
            )


def _median_ms(call: Callable[[], Any], repeat: int) -> float:
    call()  # warm
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def run_size(url: str, n: int, m: int, repeat: int) -> dict[str, float]:
    os.environ["BANGKOM_DATABASE_URL"] = url
    from sqlalchemy import text
    from starlette.testclient import TestClient

    from app.core import migrations
    from app.core.config import get_settings
    from app.core.db import get_engine
    from app.core.pagination import encode_cursor
    from app.main import create_app
    from app.models import Agency
    from app.services.learning.nip import check_nip
    from bench.setups import Context, bearer_token
    from tests.factories import make_open_cohort, make_published_course

    assert all(check_nip(nip(i), today=date.today()) for i in (0, n // 2, n - 1))
    get_settings.cache_clear()
    get_engine.cache_clear()
    engine = get_engine()
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    migrations.upgrade(engine)
    ctx = Context(database_url=url)
    bearer_token(ctx)  # the admin's agency holds every learner (one agency of 4.7 million)
    home = ctx.vars["agency_id"]
    others = []
    with engine.begin() as conn:
        for a in range(AGENCIES - 1):
            others.append(f"agc_{a:026d}")
            conn.execute(
                Agency.__table__.insert(),  # type: ignore[attr-defined]
                {
                    "id": others[-1],
                    "name": f"Instansi Skala {a}",
                    "slug": f"instansi-skala-{a}",
                    "kind": "regency_city",
                    "timezone": ZONES[a % len(ZONES)],
                    "created_at": datetime.now(UTC),
                    "updated_at": datetime.now(UTC),
                },
            )
    headers = {"Authorization": f"Bearer {ctx.vars['token']}"}
    started = time.perf_counter()
    figures: dict[str, float] = {}
    with TestClient(create_app(), raise_server_exceptions=True) as client:
        course = make_published_course(client, headers)
        cohorts = []
        for year in YEARS:
            made = make_open_cohort(client, headers, course["id"], year=year, capacity=None)
            cohorts.append((made["id"], course["id"], home))
        fill_learners(engine, [home], n)  # the admin's agency: the list spans all of them
        fill_enrollments(engine, cohorts, [home, *others], n, m)
        figures["fill_s"] = time.perf_counter() - started
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))

        def get(url: str) -> Callable[[], Any]:
            def call() -> None:
                got = client.get(url, headers=headers)
                assert got.status_code == 200, got.text[:300]

            return call

        middle_learner = encode_cursor("id", None, f"lrn_{n // 2:026d}")
        figures["learners_first"] = _median_ms(get("/v1/learners?limit=50"), repeat)
        figures["learners_deep"] = _median_ms(
            get(f"/v1/learners?limit=50&cursor={middle_learner}"), repeat
        )
        cohort = cohorts[0][0]
        with engine.connect() as conn:
            ids = conn.execute(
                text("SELECT id FROM enrollment WHERE cohort_id = :c ORDER BY id"), {"c": cohort}
            ).scalars()
            ordered = list(ids)
        middle = encode_cursor("id", None, ordered[len(ordered) // 2])
        base = f"/v1/cohorts/{cohort}/enrollments?limit=50"
        figures["roster_rows"] = len(ordered)
        figures["roster_first"] = _median_ms(get(base), repeat)
        figures["roster_deep"] = _median_ms(get(f"{base}&cursor={middle}"), repeat)
    engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--learners", default="10000,100000", help="sizes, comma-separated")
    parser.add_argument("--enrollments", type=int, default=None, help="default: = learners")
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    sizes = [int(s) for s in args.learners.split(",")]
    results = []
    with tempfile.TemporaryDirectory() as work:
        for n in sizes:
            if args.engine == "sqlite":
                url = f"sqlite:///{work}/scale-{n}.db"
            else:
                script = ROOT / "scripts" / "postgres.sh"
                url = subprocess.check_output([str(script), "bangkom_scale_bench"], text=True)
            m = args.enrollments if args.enrollments is not None else n
            results.append((n, m, run_size(url.strip(), n, m, args.repeat)))
    print(
        "| learners | enrolments | engine | fill | learners p1 | learners deep "
        "| deep/p1 | roster p1 | roster deep (of rows) | deep/p1 |"
    )
    print("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n, m, f in results:
        print(
            f"| {n:,} | {m:,} | {args.engine} | {f['fill_s']:.1f} s "
            f"| {f['learners_first']:.1f} ms | {f['learners_deep']:.1f} ms "
            f"| {f['learners_deep'] / f['learners_first']:.2f}x "
            f"| {f['roster_first']:.1f} ms | {f['roster_deep']:.1f} ms ({int(f['roster_rows']):,}) "
            f"| {f['roster_deep'] / f['roster_first']:.2f}x |"
        )
    if len(results) > 1:
        (n0, _, f0), (n1, _, f1) = results[0], results[-1]
        grow = ", ".join(
            f"{k} x{f1[k] / f0[k]:.2f}"
            for k in ("learners_first", "learners_deep", "roster_first", "roster_deep")
        )
        print(f"\nfrom {n0:,} to {n1:,} learners ({n1 / n0:.0f}x): {grow}")
    print(
        f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
