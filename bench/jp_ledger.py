"""The yearly JP ledger: one learner's year, and an agency's compliance report, at scale.

    .venv/bin/python bench/jp_ledger.py [--learners 50000] [--repeat 200]
        [--engines sqlite,postgresql] [--explain]

Each engine gets a fresh schema (SQLite: a temporary file; PostgreSQL: the database
``bangkom_jp_bench`` from ``scripts/postgres.sh``), one agency with ``--learners`` PNS
(Core inserts) and their ledger: learner i has i % 4 records in 2025 (0 to 3: a quarter have
no JP at all, many are below the 20 JP floor) and one in 2024, about 2.5 records a learner
(125,000 rows at 50,000 learners). Requests go through the whole ASGI app in process with
starlette's TestClient (no socket). Rows:

- ``GET /v1/learners/{key}/jp?year=2025``: best and median of ``--repeat`` (target < 5 ms),
  next to ``GET /v1/learners/{key}`` (the same learner look-up without the ledger) as its
  baseline;
- ``GET /v1/reports/jp-compliance/summary?year=2025`` (the counts),
  ``GET /v1/reports/jp-compliance?year=2025`` (first page of 50), the next page by cursor,
  and the whole list as CSV: best and median of 5 (target < 1 s on PostgreSQL).

``--explain`` prints PostgreSQL's plans of the report's two queries.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.inprocess import bench_nip, fresh_database, timed  # noqa: E402  (after the path above)

os.environ.setdefault("BANGKOM_SECRET_KEY", "bench-secret-key-" + "x" * 32)
os.environ.setdefault("BANGKOM_ACCESS_LOG", "false")


def _populate(engine: object, agency_id: str, learners: int) -> int:
    from sqlalchemy import insert

    from app.models import JPRecord, Learner

    keys = [bench_nip(i) for i in range(learners)]
    assert len(set(keys)) == learners, "NIP generator repeats: lower --learners"
    records = []
    for i in range(learners):
        lid = f"lrn_bench{i:021d}"
        for n in range(i % 4):
            records.append((lid, 2025, 8 + (i * 7 + n * 13) % 33, n, date(2025, 3 + n, 1)))
        records.append((lid, 2024, 40, 9, date(2024, 6, 1)))
    with engine.begin() as conn:  # type: ignore[attr-defined]
        for start in range(0, learners, 10_000):
            conn.execute(
                insert(Learner.__table__),  # type: ignore[attr-defined]
                [
                    {
                        "id": f"lrn_bench{i:021d}",
                        "learner_key": keys[i],
                        "agency_id": agency_id,
                        "asn_type": "pns" if i % 10 else "cpns",
                        "nip": keys[i],
                        "name": f"Peserta Massal {i}",
                        "search": f"peserta massal {i} {keys[i]}",
                        "version": 1,
                    }
                    for i in range(start, min(start + 10_000, learners))
                ],
            )
        for start in range(0, len(records), 20_000):
            conn.execute(
                insert(JPRecord.__table__),  # type: ignore[attr-defined]
                [
                    {
                        "id": f"jpr_bench{start + j:021d}",
                        "learner_id": lid,
                        "year": year,
                        "jp_halves": halves,
                        "source": "external",
                        "title": "Webinar Literasi Digital",
                        "organiser": "LAN RI",
                        "starts_on": day,
                        "ends_on": day,
                        "certificate_number": f"{lid}/{year}/{n}",
                        "version": 1,
                    }
                    for j, (lid, year, halves, n, day) in enumerate(records[start : start + 20_000])
                ],
            )
    return len(records)


def run_engine(engine_name: str, url: str, args: argparse.Namespace) -> list[str]:
    from sqlalchemy import text
    from starlette.testclient import TestClient

    from app.main import create_app

    engine, ctx = fresh_database(url)
    started = time.perf_counter()
    count = _populate(engine, ctx.vars["agency_id"], args.learners)
    loaded = time.perf_counter() - started
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))  # fresh statistics, as autovacuum would have
    headers = {"Authorization": f"Bearer {ctx.vars['token']}"}
    lines: list[str] = []
    size = f"{args.learners:,} learners, {count:,} records (loaded in {loaded:.1f} s)"
    with TestClient(create_app(), raise_server_exceptions=True) as client:
        key = bench_nip(args.learners // 2 + 3)  # i % 4 == 3: three 2025 records

        def year() -> None:
            got = client.get(f"/v1/learners/{key}/jp?year=2025", headers=headers)
            assert got.status_code == 200 and len(got.json()["entries"]) == 3, got.text[:300]

        year()
        times = timed(year, args.repeat)
        lines.append(
            f"| GET /v1/learners/{{key}}/jp?year=2025 | {engine_name} | "
            f"{min(times) * 1000:.2f} ms | {statistics.median(times) * 1000:.2f} ms | {size} |"
        )

        from app.core.db import session_scope
        from app.core.security import Principal
        from app.services.learning import jp_reports

        admin = Principal(
            subject=ctx.vars["user_id"],
            agency_id=ctx.vars["agency_id"],
            roles=frozenset({"agency_admin"}),
        )

        def service() -> None:  # the service alone: key look-up, the year's records, totals
            with session_scope() as session:
                jp_reports.learner_year(session=session, principal=admin, raw_key=key, year=2025)

        times = timed(service, args.repeat)
        lines.append(
            f"| jp_reports.learner_year (service only) | {engine_name} | "
            f"{min(times) * 1000:.2f} ms | {statistics.median(times) * 1000:.2f} ms | |"
        )

        def learner() -> None:  # the baseline: the learner alone, by the same key
            got = client.get(f"/v1/learners/{key}", headers=headers)
            assert got.status_code == 200, got.text[:300]

        times = timed(learner, args.repeat)
        lines.append(
            f"| baseline: GET /v1/learners/{{key}} | {engine_name} | "
            f"{min(times) * 1000:.2f} ms | {statistics.median(times) * 1000:.2f} ms | |"
        )
        report = "/v1/reports/jp-compliance?year=2025"
        counted: dict[str, object] = {}

        def summary() -> None:
            got = client.get("/v1/reports/jp-compliance/summary?year=2025", headers=headers)
            assert got.status_code == 200, got.text[:300]
            counted.update(got.json())

        times = timed(summary, 5)
        lines.append(
            f"| GET jp-compliance/summary (counts) | {engine_name} | "
            f"{min(times) * 1000:.0f} ms | {statistics.median(times) * 1000:.0f} ms | "
            f"{counted['learners']:,} PNS/CPNS, {counted['meeting_floor']:,} meet the floor, "
            f"{counted['below_floor']:,} below |"
        )
        first: dict[str, object] = {}

        def page() -> None:
            got = client.get(report, headers=headers)
            assert got.status_code == 200, got.text[:300]
            first.update(got.json())

        times = timed(page, 5)
        lines.append(
            f"| GET jp-compliance (first page of 50) | {engine_name} | "
            f"{min(times) * 1000:.0f} ms | {statistics.median(times) * 1000:.0f} ms | |"
        )
        cursor = first["next_cursor"]

        def next_page() -> None:
            got = client.get(f"{report}&cursor={cursor}", headers=headers)
            assert got.status_code == 200, got.text[:300]

        times = timed(next_page, 5)
        lines.append(
            f"| GET jp-compliance, next page by cursor | {engine_name} | "
            f"{min(times) * 1000:.0f} ms | {statistics.median(times) * 1000:.0f} ms | |"
        )
        body: list[bytes] = []

        def export() -> None:
            got = client.get(report, headers=headers | {"Accept": "text/csv"})
            assert got.status_code == 200, got.text[:300]
            body[:] = [got.content]

        times = timed(export, 5)
        newlines = body[0].count(b"\n") - 1
        lines.append(
            f"| GET jp-compliance as CSV (whole list) | {engine_name} | "
            f"{min(times) * 1000:.0f} ms | {statistics.median(times) * 1000:.0f} ms | "
            f"{newlines:,} rows, {len(body[0]) / 2**20:.1f} MiB |"
        )
    if args.explain and engine.dialect.name == "postgresql":
        _explain(engine, ctx.vars["agency_id"])
    engine.dispose()
    return lines


def _explain(engine: object, agency_id: str) -> None:
    from sqlalchemy import case, func, select

    from app.services.learning.jp_reports import L, _totals

    totals, total = _totals(agency_id, 2025)
    grouped = totals.subquery()
    queries = {
        "counts": select(
            func.count(), func.sum(case((grouped.c.total >= 40, 1), else_=0))
        ).select_from(grouped),
        "page": totals.having(total < 40).order_by(L.id).limit(51),
    }
    with engine.connect() as conn:  # type: ignore[attr-defined]
        for name, query in queries.items():
            compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
            plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, COSTS OFF) {compiled}").all()
            print(f"-- {name}\n" + "\n".join(r[0] for r in plan), file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--learners", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    rows = [
        "| row | engine | best | median | notes |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    with tempfile.TemporaryDirectory() as work:
        for name in args.engines.split(","):
            if name == "sqlite":
                url = f"sqlite:///{work}/bench.db"
            else:
                script = ROOT / "scripts" / "postgres.sh"
                url = subprocess.check_output([str(script), "bangkom_jp_bench"], text=True).strip()
            rows += run_engine(name, url, args)
    print("\n".join(rows))
    print(
        f"\nload average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
