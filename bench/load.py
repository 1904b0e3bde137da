"""`make bench-load`: 60 seconds of mixed traffic, 64 connections, 2 workers, per engine.

    .venv/bin/python bench/load.py [--engines sqlite,postgresql] [--duration 60]
        [--learners 50000] [--courses 20] [--cohorts 100] [--enrolled 50]

For each engine (a temporary SQLite file; the local PostgreSQL's database ``bangkom_load``
from scripts/postgres.sh, its schema dropped and rebuilt) it fills a database in process
(courses with published curricula and open cohorts through the API, learners with Core
inserts, ``--enrolled`` learners per cohort through the bulk enrolment API), starts the
real server (``bangkom serve``, 2 uvicorn workers, 127.0.0.1) and runs one wrk process
per request type at the same time, each with a Lua script in bench/load/ that builds its
requests, counts statuses and notes every write acknowledged with a 2xx (``MIX`` below).

Then it checks, and exits non-zero unless all hold:
- no 5xx answer, and no traceback in the server's log;
- no lost write: every enrolment answered 201 is in the database with its learner, every
  progress record answered created/updated is stored (or a newer one of the same pair);
- the change log kept them: a change row for every acked enrolment and for every acked
  progress write, sequence numbers without a gap, and no follower of the feed skipped
  (or went back over) an entry that is in the log;
- seats: every cohort's seats_taken and waitlist_length equal its enrolments.
Prints a Markdown table per engine and writes it to bench/results/load-<engine>.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `python bench/load.py` puts bench/, not the repo, on the path

from bench import machine, wrk  # noqa: E402
from bench.rows import SERVERS  # noqa: E402
from bench.run import bench_env  # noqa: E402
from bench.servers import Running  # noqa: E402

PG_DATABASE = "bangkom_load"
RESULTS = ROOT / "bench" / "results"
LUA = ROOT / "bench" / "load"
BASE_EPOCH = int(datetime(2025, 6, 1, tzinfo=UTC).timestamp())  # progress occurred_at origin
CAPACITY = 5000  # seats per cohort: round-robin enrolment never fills one in a run
SEATED = ("proposed", "verified", "active")
CHUNK = 500


@dataclass(frozen=True)
class Kind:
    """One request type: one wrk process with ``connections`` over ``threads``."""

    name: str
    script: str
    connections: int
    threads: int


# 64 connections. Reads of the catalogue are most of a training portal's traffic (24);
# enrolments come from agency admins and their scripts (16); progress from LMS syncs (16,
# one connection a thread so each answer is matched to its batch); the change feed from a
# few integrators, each one sequential follower (8).
COURSE_LIST, ONE_COURSE, COHORT_LIST = "GET /v1/courses", "GET /v1/courses/{id}", "GET /v1/cohorts"
ENROL, PROGRESS, FEED = "POST enrolment", "POST /v1/progress/batch", "GET /v1/changes"
MIX = (
    Kind(COURSE_LIST, "catalogue.lua", 8, 1),
    Kind(ONE_COURSE, "catalogue.lua", 8, 1),
    Kind(COHORT_LIST, "catalogue.lua", 8, 1),
    Kind(ENROL, "enrol.lua", 16, 2),
    Kind(PROGRESS, "progress.lua", 16, 16),
    Kind(FEED, "changes.lua", 8, 8),
)
LABELS = {
    COURSE_LIST: "catalogue: GET /v1/courses?limit=50",
    ONE_COURSE: "catalogue: GET /v1/courses/{id}",
    COHORT_LIST: "catalogue: GET /v1/cohorts?limit=50[&course_id]",
    ENROL: "POST /v1/cohorts/{id}/enrollments (new learner, Idempotency-Key)",
    FEED: "GET /v1/changes?limit=100 following next_cursor",
}


@dataclass
class Setup:
    token: str
    courses: list[str]
    cohorts: list[str]
    pairs: list[tuple[str, str]]  # (enrolment, module) the progress batches write
    free_learners: list[str]  # NIPs of pre-registered learners not enrolled anywhere
    start_seq: int


@dataclass
class Outcome:
    requests: int = 0
    duration_us: int = 1
    p50_us: int = 0
    p99_us: int = 0
    errors: tuple[int, ...] = (0, 0, 0, 0)  # connect, read, write, timeout
    statuses: Counter[int] = field(default_factory=Counter)
    lines: list[list[str]] = field(default_factory=list)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/load.py", description=__doc__.split("\n")[0])
    p.add_argument("--engines", default="sqlite,postgresql", help="sqlite,postgresql (both)")
    p.add_argument("--duration", type=int, default=60, help="seconds of load (60)")
    p.add_argument("--workers", type=int, default=2, help="uvicorn workers (2)")
    p.add_argument("--learners", type=int, default=50_000, help="pre-registered (50,000)")
    p.add_argument("--courses", type=int, default=20, help="published courses (20)")
    p.add_argument("--cohorts", type=int, default=100, help="open cohorts (100)")
    p.add_argument("--enrolled", type=int, default=50, help="learners per cohort at start (50)")
    p.add_argument("--batch", type=int, default=20, help="records per progress batch (20)")
    p.add_argument("--output-dir", type=Path, default=RESULTS, help="load-<engine>.md here")
    args = p.parse_args(argv)
    args.engines = [e for e in args.engines.split(",") if e]
    if not args.engines or not set(args.engines) <= {"sqlite", "postgresql"}:
        p.error("--engines: sqlite, postgresql or both, comma-separated")
    if not 1 <= args.duration <= 300:
        p.error("--duration: 1 to 300 seconds")
    if args.learners < args.cohorts * args.enrolled + 1000:
        p.error("--learners must exceed --cohorts x --enrolled by 1,000 (the free learners)")
    return args


# --- set-up ------------------------------------------------------------------------------


def prepare(url: str, args: argparse.Namespace) -> Setup:
    """A fresh database at ``url`` filled for the run (in this process, before the server)."""
    from sqlalchemy import text
    from starlette.testclient import TestClient

    from app.main import create_app
    from bench.inprocess import fresh_database
    from bench.scale import fill_learners, nip
    from tests.factories import make_open_cohort, make_published_course

    engine, ctx = fresh_database(url)
    headers = {"Authorization": f"Bearer {ctx.vars['token']}"}
    with TestClient(create_app(), raise_server_exceptions=True) as client:
        courses, modules, cohorts = [], {}, []
        for c in range(args.courses):
            course = make_published_course(
                client, headers, code=f"BEBAN-{c:03d}", title=f"Pelatihan Uji Beban {c + 1}"
            )
            got = client.get(f"/v1/courses/{course['id']}/curricula/1", headers=headers)
            modules[course["id"]] = [m["id"] for m in got.json()["modules"]]
            courses.append(course["id"])
        for k in range(args.cohorts):
            course_id = courses[k % len(courses)]
            made = make_open_cohort(
                client, headers, course_id, number=k // len(courses) + 1, year=2027,
                capacity=CAPACITY,
            )  # fmt: skip
            cohorts.append(made["id"])
        agency_id = ctx.vars["agency_id"]
        fill_learners(engine, lambda _i: agency_id, args.learners)
        for k, cohort_id in enumerate(cohorts):
            rows = range(k * args.enrolled, (k + 1) * args.enrolled)
            body = "NIP,Nama\n" + "".join(f"{nip(i)},Peserta Skala {i}\n" for i in rows)
            got = client.post(
                f"/v1/cohorts/{cohort_id}/enrollments/bulk",
                content=body.encode(),
                headers={**headers, "Content-Type": "text/csv"},
            )
            assert got.status_code == 201, got.text[:500]
    with engine.begin() as conn:
        enrolled = conn.execute(text("SELECT id, course_id FROM enrollment ORDER BY id")).all()
        start_seq = int(conn.execute(text("SELECT coalesce(max(seq), 0) FROM change")).scalar())
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
    engine.dispose()
    first_free = args.cohorts * args.enrolled
    return Setup(
        token=ctx.vars["token"],
        courses=courses,
        cohorts=cohorts,
        pairs=[(e, m) for e, course in enrolled for m in modules[course]],
        free_learners=[nip(i) for i in range(first_free, args.learners)],
        start_seq=start_seq,
    )


def _lua(value: Any) -> str:
    """A Lua literal of strings, integers, lists and string-keyed dicts."""
    if isinstance(value, str):
        return '"' + value + '"'  # ids and NIPs: no quotes or backslashes to escape
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}={_lua(v)}" for k, v in value.items()) + "}"
    return "{" + ",".join(_lua(v) for v in value) + "}"


def write_data(work: Path, setup: Setup, salt: int) -> None:
    """Each thread's slice: enrolment threads a share of the free learners; progress
    threads a contiguous run of pairs (a batch spans few enrolments, threads share none)."""
    enrol = next(k for k in MIX if k.name == ENROL)
    for t in range(enrol.threads):
        data = {
            "salt": salt,
            "cohorts": setup.cohorts,
            "existing": setup.free_learners[t :: enrol.threads],
        }
        (work / f"enrol-{t}.lua").write_text("return " + _lua(data))
    progress = next(k for k in MIX if k.name == PROGRESS)
    n = len(setup.pairs)
    for t in range(progress.threads):
        part = setup.pairs[t * n // progress.threads : (t + 1) * n // progress.threads]
        data = {"base": BASE_EPOCH, "pairs": [list(p) for p in part]}
        (work / f"progress-{t}.lua").write_text("return " + _lua(data))


def catalogue_paths(kind: str, setup: Setup) -> list[str]:
    if kind == COURSE_LIST:
        return ["/v1/courses?limit=50"]
    if kind == ONE_COURSE:
        return [f"/v1/courses/{c}" for c in setup.courses]
    return ["/v1/cohorts?limit=50", *(f"/v1/cohorts?limit=50&course_id={c}" for c in setup.courses)]


# --- the run -----------------------------------------------------------------------------


def run_load(
    wrk_bin: str, base: str, setup: Setup, args: argparse.Namespace, work: Path
) -> dict[str, Outcome]:
    """Every request type at once, one wrk process each, for ``args.duration`` seconds."""
    reporter = (LUA / "report.lua").read_text()
    running = []
    for n, kind in enumerate(MIX):
        script = work / f"kind-{n}.lua"
        script.write_text((LUA / kind.script).read_text() + "\n" + reporter)
        env = {
            **os.environ,
            "LOAD_REPORT": str(work / f"kind-{n}.report"),
            "LOAD_DATA": str(work),
            "LOAD_BATCH": str(args.batch),
            "LOAD_FEED_LIMIT": "100",
            "LOAD_PATHS": "\n".join(catalogue_paths(kind.name, setup)),
        }
        cmd = [wrk_bin, f"-t{kind.threads}", f"-c{kind.connections}", f"-d{args.duration}s"]
        cmd += ["--timeout", "30s", "-s", str(script)]
        cmd += ["-H", f"Authorization: Bearer {setup.token}", base + "/"]
        log = (work / f"kind-{n}.out").open("wb")
        running.append((kind, subprocess.Popen(cmd, env=env, stdout=log, stderr=log), n))
    outcomes = {}
    for kind, proc, n in running:
        if proc.wait(timeout=args.duration + 120) != 0:
            out = (work / f"kind-{n}.out").read_text(errors="replace")
            raise RuntimeError(f"wrk for {kind.name} failed ({proc.returncode}): {out[-2000:]}")
        outcomes[kind.name] = read_report(work / f"kind-{n}.report")
    return outcomes


def read_report(path: Path) -> Outcome:
    got = Outcome()
    for raw in path.read_text().splitlines():
        parts = raw.split()
        if parts[0] == "summary":
            got.requests, got.duration_us, got.p50_us, got.p99_us = map(int, parts[1:5])
        elif parts[0] == "errors":
            got.errors = tuple(int(x) for x in parts[1:5])
        elif parts[0] == "status":
            got.statuses[int(parts[1])] += int(parts[2])
        else:
            got.lines.append(parts)
    return got


# --- the checks --------------------------------------------------------------------------


def _chunks(values: list[Any]) -> list[list[Any]]:
    return [values[i : i + CHUNK] for i in range(0, len(values), CHUNK)]


def check(setup: Setup, outcomes: dict[str, Outcome], server_log: Path) -> list[tuple[bool, str]]:
    """(held, what) for every invariant, from the scripts' notes and the database."""
    from sqlalchemy import bindparam, text

    from app.core.db import get_engine

    results: list[tuple[bool, str]] = []
    fives = {k: sum(n for s, n in o.statuses.items() if s >= 500) for k, o in outcomes.items()}
    results.append((not any(fives.values()), f"5xx answers: {sum(fives.values())}"))
    log = server_log.read_text(errors="replace")
    tracebacks = log.count("Traceback (most recent call last)")
    results.append((tracebacks == 0, f"tracebacks in the server log: {tracebacks}"))

    acked = {line[1]: line[2] for line in outcomes[ENROL].lines if line[0] == "e"}
    written = {
        (line[1], line[2]): (int(line[3]), int(line[4]))
        for line in outcomes[PROGRESS].lines
        if line[0] == "p"
    }
    engine = get_engine()
    with engine.connect() as conn:
        found: dict[str, str] = {}
        query = text(
            "SELECT e.id, l.learner_key FROM enrollment e JOIN learner l ON l.id = e.learner_id "
            "WHERE e.id IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
        for part in _chunks(sorted(acked)):
            found.update(dict(conn.execute(query, {"ids": part}).all()))
        lost = [i for i in acked if found.get(i) != acked[i]]
        results.append(
            (not lost, f"enrolments answered 201: {len(acked):,}; missing or another learner: "
             f"{len(lost)}{' e.g. ' + lost[0] if lost else ''}")
        )  # fmt: skip

        from app.models.progress import ProgressRecord

        table = ProgressRecord.__table__  # type: ignore[attr-defined]
        stored: dict[tuple[str, str], tuple[str, datetime]] = {}
        enrolments = sorted({e for e, _ in written})
        for part in _chunks(enrolments):
            rows = conn.execute(
                table.select()
                .with_only_columns(table.c.enrollment_id, table.c.module_id, table.c.id, table.c.occurred_at)
                .where(table.c.enrollment_id.in_(part))
            )  # fmt: skip
            stored.update({(e, m): (i, at) for e, m, i, at in rows})
        older = [
            pair
            for pair, (offset, _) in written.items()
            if pair not in stored
            or stored[pair][1] < datetime.fromtimestamp(BASE_EPOCH + offset, UTC)
        ]
        writes = sum(n for _, n in written.values())
        told: Counter[str] = Counter()
        for line in outcomes[PROGRESS].lines:
            if line[0] == "o":
                told[line[1]] += int(line[2])
        results.append(
            (not older, f"progress writes acked created/updated: {writes:,} over {len(written):,} "
             f"(enrolment, module) pairs; pairs missing or older than acked: {len(older)}; "
             f"outcomes: {', '.join(f'{k} {n:,}' for k, n in sorted(told.items()))}")
        )  # fmt: skip

        changed: Counter[str] = Counter()
        query = text(
            "SELECT resource_id, count(*) FROM change WHERE seq > :start AND type = :type "
            "AND resource_id IN :ids GROUP BY resource_id"
        ).bindparams(bindparam("ids", expanding=True))
        for part in _chunks(sorted(acked)):
            params = {"start": setup.start_seq, "type": "enrollment", "ids": part}
            changed.update(dict(conn.execute(query, params).all()))
        unlogged = [i for i in acked if not changed[i]]
        record_ids = {stored[p][0]: n for p, (_, n) in written.items() if p in stored}
        for part in _chunks(sorted(record_ids)):
            params = {"start": setup.start_seq, "type": "progress", "ids": part}
            changed.update(dict(conn.execute(query, params).all()))
        unlogged += [i for i, n in record_ids.items() if changed[i] < n]
        results.append(
            (not unlogged, f"acked writes without their change-log entries: {len(unlogged)}")
        )

        count, low, high = conn.execute(
            text("SELECT count(*), min(seq), max(seq) FROM change")
        ).one()
        results.append(
            (count == high - low + 1, f"change log: {count:,} entries, seq {low}..{high}")
        )
        followers = [line for line in outcomes[FEED].lines if line[0] == "f"]
        seen = sum(int(line[4]) for line in followers)
        reversed_ = [line for line in outcomes[FEED].lines if line[0] == "r"]
        skipped = 0
        between = text("SELECT count(*) FROM change WHERE seq > :a AND seq < :b")
        for line in outcomes[FEED].lines:
            if line[0] == "g":
                params = {"a": int(line[2]), "b": int(line[3])}
                skipped += conn.execute(between, params).scalar_one()
        results.append(
            (not skipped and not reversed_, f"feed: {len(followers)} followers read {seen:,} "
             f"entries; entries skipped: {skipped}, out of order: {len(reversed_)}")
        )  # fmt: skip

        seats = conn.execute(
            text(
                "SELECT c.id, c.seats_taken, c.waitlist_length, "
                "(SELECT count(*) FROM enrollment e WHERE e.cohort_id = c.id "
                " AND e.status IN ('proposed', 'verified', 'active')), "
                "(SELECT count(*) FROM enrollment e WHERE e.cohort_id = c.id "
                " AND e.status = 'waitlisted') FROM cohort c"
            )
        ).all()
        off = [r[0] for r in seats if (r[1], r[2]) != (r[3], r[4])]
        taken = sum(r[1] for r in seats)
        results.append(
            (not off, f"seats: {taken:,} taken in {len(seats)} cohorts; cohorts whose counters "
             f"differ from their enrolments: {len(off)}")
        )  # fmt: skip
    engine.dispose()
    return results


# --- the report --------------------------------------------------------------------------


def render(
    engine: str,
    outcomes: dict[str, Outcome],
    checks: list[tuple[bool, str]],
    facts: list[tuple[str, str]],
    settings: str,
    batch: int,
) -> str:
    lines = [
        f"### Load, {engine}",
        "",
        "| request type | conns | requests | req/s | p50 ms | p99 ms | non-2xx by status "
        "| socket errors / timeouts |",
        "|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for kind in MIX:
        o = outcomes[kind.name]
        other = ", ".join(f"{s}: {n:,}" for s, n in sorted(o.statuses.items()) if s >= 300)
        name = LABELS.get(kind.name, f"POST /v1/progress/batch ({batch} records)")
        lines.append(
            f"| {name} | {kind.connections} | {o.requests:,} "
            f"| {o.requests / (o.duration_us / 1e6):,.0f} | {o.p50_us / 1000:.1f} "
            f"| {o.p99_us / 1000:.1f} | {other or 'none'} | {sum(o.errors)} |"
        )
    total = sum(o.requests for o in outcomes.values())
    seconds = max(o.duration_us for o in outcomes.values()) / 1e6
    lines.append(f"| **all** | 64 | {total:,} | {total / seconds:,.0f} | | | | |")
    lines += ["", "Checks:", ""]
    lines += [f"- {'ok' if held else '**FAILED**'}: {what}" for held, what in checks]
    lines += ["", settings, ""]
    lines += [f"- {k}: {v}" for k, v in facts]
    return "\n".join(lines) + "\n"


def run_engine(engine: str, url: str, args: argparse.Namespace, wrk_bin: str, salt: int) -> bool:
    env = bench_env(url)
    os.environ.update({k: v for k, v in env.items() if k.startswith("BANGKOM_")})
    facts = machine.facts(wrk.version(wrk_bin))
    if engine == "postgresql":
        facts.insert(5, ("postgresql", f"local, database {PG_DATABASE} (scripts/postgres.sh)"))
    print(f"[{engine}] filling the database...", flush=True)
    started = time.monotonic()
    setup = prepare(url, args)
    fill = time.monotonic() - started
    with tempfile.TemporaryDirectory(prefix="bangkom-load-") as tmp:
        work = Path(tmp)
        write_data(work, setup, salt)
        server = Running(SERVERS["bangkom"], args.workers, env, work, label=engine)
        try:
            server.wait_ready(timeout=120)  # a busy shared machine starts it slowly
            print(f"[{engine}] {args.duration} s of load on {server.base}...", flush=True)
            load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
            outcomes = run_load(wrk_bin, server.base, setup, args, work)
        finally:
            server.stop()
        load_after = " ".join(f"{x:.2f}" for x in os.getloadavg())
        checks = check(setup, outcomes, server.log_path)
        args.output_dir.mkdir(parents=True, exist_ok=True)
        kept = args.output_dir / f"load-{engine}-server.log"  # for the tracebacks, if any
        kept.write_bytes(server.log_path.read_bytes())
    facts[-1] = ("load average before / after the load", f"{load_before} / {load_after}")
    settings = (
        f"{args.workers} uvicorn workers (`bangkom serve`), {engine}; "
        f"{args.duration} s, 64 connections, one wrk process per request type at once; "
        f"{args.learners:,} learners, {args.courses} courses, {args.cohorts} cohorts with "
        f"{args.enrolled} enrolled each at start (filled in {fill:.0f} s); "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC."
    )
    table = render(engine, outcomes, checks, facts, settings, args.batch)
    print("\n" + table, flush=True)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    out = args.output_dir / f"load-{engine}.md"
    out.write_text(table, encoding="utf-8")
    print(f"wrote {out}")
    return all(held for held, _ in checks)


def main(argv: list[str] | None = None) -> int:
    from bench.inprocess import engine_urls

    args = parse_args(argv)
    wrk_bin = wrk.ensure_wrk()
    ok = True
    salt = 1  # every run fills a fresh database, so NIPs and keys may repeat across runs
    with tempfile.TemporaryDirectory(prefix="bangkom-load-db-") as work:
        for engine, url in engine_urls(",".join(args.engines), work, PG_DATABASE):
            ok = run_engine(engine, url, args, wrk_bin, salt) and ok
    print("all checks held" if ok else "SOME CHECKS FAILED (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
