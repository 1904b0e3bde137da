"""`make bench`: Bangkom's endpoints against two ceilings, measured in one run.

Starts every server once per database engine (SQLite, and the local PostgreSQL that
scripts/postgres.sh starts; N uvicorn workers, 127.0.0.1 only), drives each row with
wrk (64 connections, warm-up then a timed run), repeats in interleaved rounds if
asked, and prints one table of medians and the targets, met or not. See
bench/README.md.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `python bench/run.py` puts bench/, not the repo, on the path

from bench import machine, wrk  # noqa: E402
from bench.rows import (  # noqa: E402
    ENGINE_LABELS,
    ENGINES,
    FASTAPI_CEILING,
    RAW_CEILING,
    ROWS,
    SERVERS,
    SETUPS,
    Row,
    Target,
    targets,
)
from bench.servers import Running  # noqa: E402
from bench.setups import Context  # noqa: E402

MAX_TOTAL_SECONDS = 600
PG_DATABASE = "bangkom_bench"
RESULTS = ROOT / "bench" / "results" / "latest.md"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/run.py", description=__doc__)
    p.add_argument("--workers", type=int, default=1, help="uvicorn workers per server (1)")
    p.add_argument("--duration", type=float, default=10, help="seconds per timed run (10)")
    p.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per run (2)")
    p.add_argument("--connections", type=int, default=64, help="wrk connections (64)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    p.add_argument("--repeat", type=int, default=1, help="rounds; the table shows medians (1)")
    p.add_argument("--only", help="regex: run only matching rows (the ceilings always run)")
    p.add_argument(
        "--engines",
        default=",".join(ENGINES),
        help="databases, comma-separated: sqlite,postgresql (both; PostgreSQL from "
        f"scripts/postgres.sh, database {PG_DATABASE})",
    )
    p.add_argument("--list", action="store_true", help="list the rows and exit")
    p.add_argument("--output", type=Path, default=RESULTS, help="Markdown copy of the table")
    args = p.parse_args(argv)
    if not (1 <= args.duration <= 60 and 0 <= args.warmup <= 10 and 1 <= args.repeat <= 10):
        p.error("keep --duration in 1..60, --warmup in 0..10 and --repeat in 1..10")
    if args.connections < 1 or args.threads < 1 or args.workers < 1:
        p.error("--connections, --threads and --workers must be positive")
    args.engines = tuple(e.strip() for e in args.engines.split(",") if e.strip())
    if not args.engines or not set(args.engines) <= set(ENGINES):
        p.error(f"--engines: a comma-separated subset of {','.join(ENGINES)}")
    if "sqlite" not in args.engines:
        args.engines = ("sqlite", *args.engines)  # the ceilings and /health/live run there
    return args


def select_rows(pattern: str | None, engines: tuple[str, ...] = ENGINES) -> list[Row]:
    names = {r.name for r in ROWS}
    for r in ROWS:
        if r.server not in SERVERS:
            raise SystemExit(f"row {r.name!r}: unknown server {r.server!r}")
        if r.baseline and r.baseline not in names:
            raise SystemExit(f"row {r.name!r}: unknown baseline {r.baseline!r}")
        for s in r.setup:
            if s not in SETUPS:
                raise SystemExit(f"row {r.name!r}: unknown setup {s!r}")
    rows = [r for r in ROWS if r.engine in engines]
    chosen = [r for r in rows if not pattern or re.search(pattern, r.name)]
    wanted = {r.name for r in chosen} | {RAW_CEILING, FASTAPI_CEILING}
    wanted |= {r.baseline for r in chosen if r.baseline}
    return [r for r in rows if r.name in wanted]


def bench_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANGKOM_")}
    env.update(
        BANGKOM_ENV="development",
        BANGKOM_DATABASE_URL=database_url,
        BANGKOM_SECRET_KEY="bench-secret-key-that-is-long-enough-0123456789",
        BANGKOM_ACCESS_LOG="false",
        BANGKOM_DEMO_DATA="false",
        BANGKOM_LOG_LEVEL="WARNING",
    )
    return env


def postgres_url() -> tuple[str, str]:
    """The local PostgreSQL (installed and started by scripts/postgres.sh), emptied, and
    its server version."""
    out = subprocess.run(
        [str(ROOT / "scripts" / "postgres.sh"), PG_DATABASE],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    url = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
    if out.returncode != 0 or not url.startswith("postgresql"):
        raise SystemExit(
            f"could not start PostgreSQL (scripts/postgres.sh): {out.stderr[-2000:]}\n"
            "run with --engines sqlite to measure SQLite only"
        )
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:  # a fresh schema: the setup hooks insert fixed codes
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
        version = str(conn.execute(text("SHOW server_version")).scalar())
    engine.dispose()
    return url, version


def prepare_database(env: dict[str, str], rows: list[Row]) -> dict[str, str]:
    from app.core.config import get_settings
    from app.core.db import get_engine

    subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    os.environ.update({k: v for k, v in env.items() if k.startswith("BANGKOM_")})
    get_engine().dispose()  # the hooks of the previous engine used it
    get_engine.cache_clear()
    get_settings.cache_clear()
    ctx = Context(database_url=env["BANGKOM_DATABASE_URL"])
    for name in dict.fromkeys(s for r in rows for s in r.setup):
        SETUPS[name](ctx)
    get_engine().dispose()
    return ctx.vars


def check_row(base: str, row: Row, variables: dict[str, str]) -> tuple[str, dict[str, str]]:
    import httpx

    path = row.path.format(**variables)
    headers = {k: v.format(**variables) for k, v in row.headers.items()}
    response = httpx.request(
        row.method, base + path, headers=headers, content=row.check_body, timeout=10
    )
    if response.status_code != row.expect_status:
        raise SystemExit(
            f"row {row.name!r}: {row.method} {path} answered {response.status_code}, "
            f"expected {row.expect_status}: {response.text[:300]}"
        )
    return base + path, headers


def render(
    rows: list[Row],
    res: dict[str, wrk.Result],
    facts: list[tuple[str, str]],
    settings: str,
    engines: tuple[str, ...] = ("sqlite",),
) -> str:
    def ratio(name: str, other: str | None) -> str:
        if not other or other not in res or res[other].rps == 0:
            return ""
        return f"{res[name].rps / res[other].rps:.2f}"

    lines = [
        "| row | req/s | p50 ms | p99 ms | vs raw ASGI | vs FastAPI | vs baseline | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        x = res[r.name]
        # Statuses >= 400 are errors unless the row expects one (e.g. a 404 row).
        errors = x.errors + (x.bad_status if r.expect_status < 400 else 0)
        baseline = f"{ratio(r.name, r.baseline)} ({r.baseline})" if r.baseline else ""
        lines.append(
            f"| {r.name} | {x.rps:,.0f} | {x.p50_ms:.2f} | {x.p99_ms:.2f} | "
            f"{ratio(r.name, RAW_CEILING)} | {ratio(r.name, FASTAPI_CEILING)} | {baseline} | "
            f"{errors} |"
        )
    lines += ["", *render_targets(targets(engines), res), "", settings, ""]
    lines += [f"- {k}: {v}" for k, v in facts]
    return "\n".join(lines) + "\n"


def render_targets(goals: list[Target], res: dict[str, wrk.Result]) -> list[str]:
    """The issue's targets as ratios within this run, each met or not met."""
    ceiling = res.get(FASTAPI_CEILING)
    lines = ["| target | row | measured | limit | verdict |", "|---|---|---:|---:|---|"]
    for t in goals:
        x = res.get(t.row)
        if x is None or ceiling is None:
            continue
        if t.measure == "p99/p50":
            value = x.p99_ms / x.p50_ms if x.p50_ms else float("inf")
        elif t.measure == "p99/ceiling p99":
            value = x.p99_ms / ceiling.p99_ms if ceiling.p99_ms else float("inf")
        else:
            value = x.rps / ceiling.rps if ceiling.rps else 0.0
        met = value <= t.limit if t.at_most else value >= t.limit
        sign = "<=" if t.at_most else ">="
        lines.append(
            f"| {t.text} | {t.row} | {t.measure} {value:.2f} | {sign} {t.limit:g} | "
            f"{'met' if met else '**not met**'} |"
        )
    if ceiling is not None and ceiling.p50_ms:
        spread = ceiling.p99_ms / ceiling.p50_ms
        lines.append(
            f"| (reference, not a target) | {FASTAPI_CEILING} | p99/p50 {spread:.2f} | <= 3 | "
            + (
                "quiet enough to judge the p99 targets |"
                if spread <= 3
                else "**the ceiling itself is over 3: the machine is too busy to judge p99** |"
            )
        )
    return lines


def median(results: list[wrk.Result]) -> wrk.Result:
    return wrk.Result(
        rps=statistics.median(r.rps for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        errors=sum(r.errors for r in results),
        bad_status=sum(r.bad_status for r in results),
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows = select_rows(args.only, args.engines)
    engines = tuple(e for e in args.engines if any(r.engine == e for r in rows))
    if args.list:
        for r in rows:
            print(f"{r.name}  [{r.server}, {r.engine}] {r.method} {r.path}")
        return 0
    setup_seconds = 30 * len(engines)  # migrations and 2,000 courses per database
    estimate = len(rows) * args.repeat * (args.duration + args.warmup) + setup_seconds
    if estimate > MAX_TOTAL_SECONDS:
        raise SystemExit(f"about {estimate:.0f} s of load: over the {MAX_TOTAL_SECONDS} s budget")
    wrk_bin = wrk.ensure_wrk()
    facts = machine.facts(wrk.version(wrk_bin))
    print(f"{len(rows)} rows x {args.repeat} round(s), about {estimate / 60:.1f} min", flush=True)

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bangkom-bench-") as tmp:
        urls = {"sqlite": f"sqlite:///{Path(tmp) / 'bench.db'}"}
        if "postgresql" in engines:
            urls["postgresql"], pg_version = postgres_url()
            facts.insert(5, ("postgresql", f"{pg_version} (local, fsync off)"))
        variables: dict[str, dict[str, str]] = {}
        envs: dict[str, dict[str, str]] = {}
        for engine in engines:
            envs[engine] = bench_env(urls[engine])
            variables[engine] = prepare_database(
                envs[engine], [r for r in rows if r.engine == engine]
            )
        servers: dict[tuple[str, str], Running] = {}
        try:
            for key in dict.fromkeys((r.server, r.engine) for r in rows):
                name, engine = key
                servers[key] = Running(
                    SERVERS[name], args.workers, envs[engine], Path(tmp), label=engine
                )
            for s in servers.values():
                s.wait_ready()
            urls_by_row = {
                r.name: check_row(servers[r.server, r.engine].base, r, variables[r.engine])
                for r in rows
            }
            runs: dict[str, list[wrk.Result]] = {r.name: [] for r in rows}
            salts = {r.name: itertools.count(1) for r in rows}  # a script's run number
            for round_no in range(1, args.repeat + 1):
                for r in rows:  # interleaved rounds: drift on a shared machine hits all rows
                    url, headers = urls_by_row[r.name]
                    opts: dict[str, Any] = {
                        "connections": r.connections or args.connections,
                        "threads": args.threads,
                        "script": r.script,
                    }
                    if args.warmup:
                        salt = (str(next(salts[r.name])),)
                        wrk.run(
                            wrk_bin, url, headers=headers, seconds=args.warmup,
                            script_args=salt, **opts,
                        )  # fmt: skip
                    salt = (str(next(salts[r.name])),)
                    result = wrk.run(
                        wrk_bin, url, headers=headers, seconds=args.duration,
                        script_args=salt, **opts,
                    )  # fmt: skip
                    runs[r.name].append(result)
                    print(
                        f"  [{round_no}/{args.repeat}] {r.name}: {result.rps:,.0f} req/s, "
                        f"p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms",
                        flush=True,
                    )
        finally:
            for s in servers.values():
                s.stop()

    results = {name: median(rs) for name, rs in runs.items()}
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    facts.append(("load average at end", load))
    databases = " and ".join(ENGINE_LABELS[e] for e in engines)
    settings = (
        f"{args.workers} uvicorn worker(s) per server (uvloop + httptools), {databases}, "
        f"wrk -t{args.threads} -c{args.connections}, {args.warmup:g} s warm-up + "
        f"{args.duration:g} s per run, median of {args.repeat} round(s); "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, took {time.monotonic() - started:.0f} s."
    )
    table = render(rows, results, facts, settings, engines)
    print()
    print(table)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(table, encoding="utf-8")
    print(
        f"wrote {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
