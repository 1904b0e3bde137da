"""Catalogue reads in process: per-request CPU of the cohort list against one cohort read,
the course list and the single course read (200 and 304), on both engines.

    .venv/bin/python bench/catalogue_reads.py [--agencies 5] [--courses 8] [--cohorts 8]
        [--repeat 300] [--engines sqlite,postgresql] [--only ROW] [--profile ROW]

Each engine gets a fresh schema (SQLite: a temporary file; PostgreSQL: the database
``bangkom_catalogue_reads_bench`` from ``scripts/postgres.sh``). The fill: ``--agencies``
agencies, each with ``--courses`` courses (three in four published, the rest draft or
archived; every other course names the next agency as a partner) and ``--cohorts`` cohorts
per course spread over every status, so anonymous callers see about half of them and an
agency member its own drafts besides.

Requests go straight to the ASGI app (no socket, no HTTP client: the figures are the
server's own work, middleware, dependencies and auth included) from one event loop, one at a
time. Each row: the median wall time and the mean CPU time (``time.process_time``, all
threads) per request over ``--repeat`` requests after a warm-up, and each list row's ratio to
one cohort read; ``vs ceiling`` is the FastAPI ceiling's CPU per request over the row's
(its requests per second against the ceiling's if CPU bound, without the HTTP parsing both
would add under wrk). ``--profile ROW`` prints a cProfile of that row instead (a substring of
its name; ``BENCH_PROFILE_SORT=tottime`` to sort by own time). The profiler sees the event
loop's thread only: profile sync routes through their services.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.inprocess import engine_urls, fresh_database, load_line  # noqa: E402

os.environ.setdefault("BANGKOM_SECRET_KEY", "bench-secret-key-" + "x" * 32)
os.environ.setdefault("BANGKOM_ACCESS_LOG", "false")
os.environ.setdefault("BANGKOM_LOG_LEVEL", "WARNING")

STATUSES = ("draft", "open", "closed", "running", "evaluation", "completed", "cancelled", "open")


def fill(ctx: Any, agencies: int, courses: int, cohorts: int) -> dict[str, str]:
    """The catalogue; answers the ids the rows read."""
    from app.core.db import session_scope
    from app.core.security import Principal
    from app.models import Agency, Cohort
    from app.models.agency import AgencyKind
    from app.models.cohort import CohortStatus
    from app.models.course import (
        CompetencyType,
        CourseCreate,
        CourseKind,
        CourseStatus,
        Delivery,
    )
    from app.services.courses import create_course

    with session_scope(write=True) as session:
        agency_ids = [ctx.vars["agency_id"]]
        for a in range(1, agencies):
            agency = Agency(
                name=f"Instansi Bench {a}",
                slug=f"instansi-bench-{a}",
                kind=AgencyKind.regency_city,
                timezone="Asia/Makassar",
            )
            session.add(agency)
            session.flush()
            agency_ids.append(agency.id)
        session.commit()
        out: dict[str, str] = {}
        for a, agency_id in enumerate(agency_ids):
            principal = Principal(
                subject=ctx.vars["user_id"], agency_id=agency_id, roles=frozenset({"agency_admin"})
            )
            partner = agency_ids[(a + 1) % len(agency_ids)]
            for c in range(courses):
                status = (
                    CourseStatus.published
                    if c % 4 != 3
                    else (CourseStatus.draft if c % 8 == 3 else CourseStatus.archived)
                )
                doc = create_course(
                    session=session,
                    principal=principal,
                    data=CourseCreate(
                        code=f"B{a}-{c:03d}",
                        title=f"Pelatihan Kepemimpinan Pengawas {a}.{c}",
                        summary="Pelatihan blended learning, 73 JP.",
                        kind=CourseKind.training,
                        competency_type=CompetencyType.managerial,
                        delivery=Delivery.blended,
                        total_jp=Decimal(73),
                        partner_agency_ids=[partner] if c % 2 and len(agency_ids) > 1 else [],
                        status=status,
                    ),
                )
                out.setdefault("course_id", doc.id)
                out.setdefault("course_etag", doc.etag)
                for n in range(cohorts):
                    starts = date(2026, 1, 5) + timedelta(days=7 * (n + c * cohorts) % 700)
                    cohort = Cohort(
                        agency_id=agency_id,
                        course_id=doc.id,
                        number=n + 1,
                        year=starts.year,
                        starts_on=starts,
                        ends_on=starts + timedelta(days=12),
                        timezone="Asia/Jakarta",
                        capacity=40 if n % 3 else None,
                        platform="ASN Berpijar",
                        venue="Aula BKPSDM",
                        status=CohortStatus(STATUSES[n % len(STATUSES)]),
                        seats_taken=n % 40,
                    )
                    session.add(cohort)
                    session.flush()
                    if status == CourseStatus.published and cohort.status == "open":
                        out.setdefault("cohort_id", cohort.id)
        session.commit()
    return out


def _scope(path: str, headers: dict[str, str]) -> dict[str, Any]:
    raw_path, _, query = path.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"host", b"bench")],
        "client": ("127.0.0.1", 40000),
        "server": ("bench", 80),
    }


async def _request(app: Any, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    status = 0
    body = bytearray()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    await app(_scope(path, headers), receive, send)
    return status, bytes(body)


async def _measure(
    app: Any, path: str, headers: dict[str, str], expect: int, repeat: int
) -> tuple[float, float]:
    """(median wall seconds, mean CPU seconds) per request."""
    for _ in range(max(repeat // 10, 5)):  # warm-up: caches, pool, statements
        status, body = await _request(app, path, headers)
        if status != expect:
            raise SystemExit(f"{path}: {status} (expected {expect}): {body[:300]!r}")
    walls = []
    cpu_started = time.process_time()
    for _ in range(repeat):
        started = time.perf_counter()
        await _request(app, path, headers)
        walls.append(time.perf_counter() - started)
    cpu = (time.process_time() - cpu_started) / repeat
    return statistics.median(walls), cpu


def rows(ids: dict[str, str], token: str) -> list[tuple[str, str, dict[str, str], int]]:
    auth = {"Authorization": f"Bearer {token}"}
    course, cohort = ids["course_id"], ids["cohort_id"]
    return [
        ("GET /v1/cohorts/{id}", f"/v1/cohorts/{cohort}", auth, 200),
        ("GET /v1/cohorts?limit=50 anonymous", "/v1/cohorts?limit=50", {}, 200),
        ("GET /v1/cohorts?limit=50", "/v1/cohorts?limit=50", auth, 200),
        ("GET /v1/cohorts?limit=50&status=open", "/v1/cohorts?limit=50&status=open", auth, 200),
        ("GET /v1/courses?limit=50", "/v1/courses?limit=50", auth, 200),
        ("GET /v1/courses/{id}", f"/v1/courses/{course}", auth, 200),
        (
            "GET /v1/courses/{id} If-None-Match (304)",
            f"/v1/courses/{course}",
            {**auth, "If-None-Match": ids["course_etag"]},
            304,
        ),
        (
            "GET /v1/courses/{id} If-None-Match (304) anonymous",
            f"/v1/courses/{course}",
            {"If-None-Match": ids["course_etag"]},
            304,
        ),
        ("GET /health/live", "/health/live", {}, 200),
    ]


def run_engine(name: str, url: str, args: argparse.Namespace) -> list[str]:
    import gc

    from app.main import create_app

    _engine, ctx = fresh_database(url)
    ids = fill(ctx, args.agencies, args.courses, args.cohorts)
    app = create_app()
    gc.collect()
    gc.freeze()
    table = rows(ids, ctx.vars["token"])
    if args.only:  # the cohort read stays: the ratios are to it
        table = table[:1] + [r for r in table[1:] if args.only in r[0]]
    if args.profile:
        label, path, headers, expect = next(r for r in table if args.profile in r[0])
        profiler = cProfile.Profile()

        async def profiled() -> None:
            await _measure(app, path, headers, expect, 20)
            profiler.enable()
            await _measure(app, path, headers, expect, args.repeat)
            profiler.disable()

        asyncio.run(profiled())
        print(f"## {label} [{name}]")
        pstats.Stats(profiler).sort_stats(
            os.environ.get("BENCH_PROFILE_SORT", "cumulative")
        ).print_stats(60)
        return []

    from bench.ceilings import hello_app

    async def measure_all() -> tuple[float, list[tuple[str, float, float]]]:
        _, ceiling = await _measure(hello_app, "/hello", {}, 200, args.repeat)
        return ceiling, [
            (label, *await _measure(app, path, headers, expect, args.repeat))
            for label, path, headers, expect in table
        ]

    ceiling, measured = asyncio.run(measure_all())
    one_cohort_cpu = measured[0][2]
    lines = [f"| FastAPI ceiling (bench/ceilings.py) [{name}] | | {ceiling * 1e6:,.0f} | | 1.00 |"]
    lines += [
        f"| {label} [{name}] | {wall * 1e6:,.0f} | {cpu * 1e6:,.0f} | {cpu / one_cohort_cpu:.2f} "
        f"| {ceiling / cpu:.2f} |"
        for label, wall, cpu in measured
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--agencies", type=int, default=5)
    parser.add_argument("--courses", type=int, default=8, help="per agency")
    parser.add_argument("--cohorts", type=int, default=8, help="per course")
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--profile", default=None, help="a row name (substring) to profile")
    parser.add_argument("--only", default=None, help="only the rows whose name has this")
    args = parser.parse_args(argv)
    out = [
        "| row | median wall us | CPU us / request | CPU vs one cohort read | vs ceiling |",
        "|---|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as work:
        for name, url in engine_urls(args.engines, work, "bangkom_catalogue_reads_bench"):
            out += run_engine(name, url, args)
    if not args.profile:
        total = args.agencies * args.courses * args.cohorts
        print(f"{args.agencies} agencies, {args.agencies * args.courses} courses, {total} cohorts")
        print("\n".join(out))
        print(load_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
