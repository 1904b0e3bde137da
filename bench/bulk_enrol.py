"""Bulk enrolment: a 10,000-row CSV roster in one request vs the same rows one by one.

    .venv/bin/python bench/bulk_enrol.py [--rows 10000] [--single 300] [--repeat 3]
        [--engines sqlite,postgresql]

A file per request does not suit wrk, so this is a timed loop printing rows in the
bench table's shape. Each engine gets a fresh schema (SQLite: a temporary file;
PostgreSQL: the database ``bangkom_bulk_bench`` from ``scripts/postgres.sh``), an agency
with ``--rows`` + ``--single`` learners (Core inserts), an open course cohort per round
with room for everyone. Requests go through the whole ASGI app (middleware, auth,
idempotency, problem handling) in process with starlette's TestClient: no socket, so
the figures are the service's cost without the network. Rows:

- ``POST /v1/cohorts/{id}/enrollments/bulk``, a ``--rows`` CSV (BOM, ';', CRLF): wall time
  per file (best and median of ``--repeat``), and the peak Python allocation during one
  request (tracemalloc, separate run: it slows the code) next to the file's size;
- ``POST /v1/cohorts/{id}/enrollments`` one by one for ``--single`` learners: time per
  enrolment and the same ``--rows`` extrapolated;
- ``GET /v1/cohorts/{id}/enrollments?limit=50`` (a roster page) over the full cohort.

Targets: the 10,000-row file under 1 s on SQLite, at least 10x faster than the same
rows posted one by one, peak memory of the order of the rows themselves.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.inprocess import fresh_database, insert_learners, timed  # noqa: E402  (after the path above)

os.environ.setdefault("BANGKOM_SECRET_KEY", "bench-secret-key-" + "x" * 32)
os.environ.setdefault("BANGKOM_ACCESS_LOG", "false")


def run_engine(engine_name: str, url: str, args: argparse.Namespace) -> list[str]:
    from starlette.testclient import TestClient

    from app.main import create_app
    from tests.factories import make_open_cohort, make_published_course

    engine, ctx = fresh_database(url)
    total = args.rows + args.single
    keys = insert_learners(engine, ctx.vars["agency_id"], total)
    assert len(set(keys)) == total
    headers = {"Authorization": f"Bearer {ctx.vars['token']}"}
    body = ("\ufeffNIP;Nama\r\n" + "".join(f"{k};Peserta\r\n" for k in keys[: args.rows])).encode()
    lines: list[str] = []
    with TestClient(create_app(), raise_server_exceptions=True) as client:
        course = make_published_course(client, headers)

        def cohort() -> str:
            made = make_open_cohort(client, headers, course["id"], capacity=total + 10)
            return str(made["id"])

        def bulk() -> None:
            got = client.post(
                f"/v1/cohorts/{cohort()}/enrollments/bulk",
                content=body,
                headers=headers | {"Content-Type": "text/csv"},
            )
            assert got.status_code == 201, got.text[:500]

        def fresh_bulk() -> None:  # a new course each round: no overlapping enrolments
            nonlocal course
            course = make_published_course(client, headers)
            bulk()

        fresh_bulk()  # warm-up (imports, caches)
        times = timed(fresh_bulk, args.repeat)
        tracemalloc.start()
        fresh_bulk()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        best, median = min(times), statistics.median(times)
        per_bulk_row = median / args.rows
        lines.append(
            f"| POST bulk, {args.rows:,}-row CSV | {engine_name} | {best * 1000:.0f} ms "
            f"| {median * 1000:.0f} ms | {per_bulk_row * 1e6:.0f} µs "
            f"| peak {peak / 2**20:.1f} MiB (file {len(body) / 2**20:.2f} MiB) |"
        )
        course = make_published_course(client, headers)
        one = cohort()
        singles = keys[args.rows :]
        started = time.perf_counter()
        for k in singles:
            got = client.post(
                f"/v1/cohorts/{one}/enrollments", json={"learner_key": k}, headers=headers
            )
            assert got.status_code == 201, got.text[:500]
        per_single = (time.perf_counter() - started) / len(singles)
        lines.append(
            f"| POST one enrolment (x{len(singles)}) | {engine_name} "
            f"| - | {per_single * 1000:.1f} ms each | {per_single * 1e6:.0f} µs "
            f"| {args.rows:,} rows one by one ≈ {per_single * args.rows:.1f} s: bulk is "
            f"{per_single / per_bulk_row:.0f}x faster |"
        )
        page_url = f"/v1/cohorts/{one}/enrollments?limit=50"
        page_times = timed(lambda: client.get(page_url, headers=headers), 50)
        lines.append(
            f"| GET roster page (50) | {engine_name} | {min(page_times) * 1000:.1f} ms "
            f"| {statistics.median(page_times) * 1000:.1f} ms | - | - |"
        )
    engine.dispose()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--single", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    rows = [
        "| row | engine | best | median | per row | notes |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    from bench.inprocess import engine_urls, load_line

    with tempfile.TemporaryDirectory() as work:
        for name, url in engine_urls(args.engines, work, "bangkom_bulk_bench"):
            rows += run_engine(name, url, args)
    print("\n".join(rows))
    print(load_line())


if __name__ == "__main__":
    main()
