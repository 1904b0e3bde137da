"""Scale: fill a database fast with realistic learners and enrolments, then time the first
page and a deep page of the learner and enrolment lists at each size.

    .venv/bin/python bench/scale.py --learners 10000,100000 [--enrollments M]
        [--progress P] [--modules K] [--engine sqlite|postgresql] [--repeat 30]

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

Also, on the filled database:
- ``GET /v1/learners/{key}/jp?year=2025``: one learner's yearly JP (target < 5 ms);
- ``GET /v1/reports/jp-compliance/summary?year=2025``: the compliance agency, which holds
  every 20th learner up to 1,000,000 and 50,000 learners from there on (target < 1 s on
  PostgreSQL);
- a 10,000-row bulk enrolment (CSV, into a new cohort) and a 10,000-record progress
  batch (5,000 of those enrolments x 2 modules), each timed once, and the same two on an
  empty database (10,000 learners and nothing else) in the same run: the ratio filled /
  empty is printed (target within 1.5x).

Measure only: ``--reuse-database URL`` times a database an earlier run filled (e.g. the
1,000,000-learner one) as it is: never dropped, refilled or migrated. With
``--writes-repeat 0`` it only reads; otherwise the write benches and the worker's memory
add a course, cohorts, their enrolments and progress records to it (the empty-database
writes then run in ``scripts/postgres.sh bangkom_scale_empty``).

``fill_progress`` writes ``--progress P`` records (default: 2 per enrolment, one per
module); ``fill_jp_ledger`` 2-3 external JP records per learner a year over 2023-2025.
TODO hook: ``fill_change_feed`` (change-feed entries) and its deep-page row.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
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
COMPLIANCE_SIZE = 50_000  # the agency of 50,000 learners


def compliance_every(n: int) -> int:
    """Every k-th learner belongs to the compliance agency: every 20th up to 1,000,000
    learners (50,000 there), then as many as make 50,000."""
    return max(20, n // COMPLIANCE_SIZE)


def nip(i: int) -> str:
    """The i-th valid NIP: a birth date a day apart per 999, CPNS start 18-30 years later,
    gender by parity, sequence 001-999."""
    birth = date(1966, 1, 1) + timedelta(days=i // 999)
    start = birth.year + 18 + i % 13
    return f"{birth:%Y%m%d}{start}{1 + i % 12:02d}{1 + i % 2}{i % 999 + 1:03d}"


def _copy_rows(engine: Any, table: Any, rows: Iterable[dict[str, Any]]) -> None:
    """PostgreSQL: COPY FROM STDIN through psycopg (one round trip a buffer, not a row).
    Only the columns the rows carry are named, so the others take their server defaults
    (as an INSERT would): a column added later with a default never arrives as NULL."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return
    columns = [c.name for c in table.columns if c.name in first]
    rows = itertools.chain([first], rows)
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


def fill_learners(engine: Any, agency_of: Callable[[int], str], n: int) -> None:
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
                "agency_id": agency_of(i),
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


def enrolment_of(j: int, n: int, m: int, cohorts: int) -> tuple[int, int]:
    """Enrolment j: (cohort index, learner index)."""
    c = j % cohorts
    return c, (j // cohorts + c * 7919) % n if m > n else j


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
            c, learner = enrolment_of(j, n, m, len(cohorts))
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


def fill_progress(engine: Any, modules: Sequence[str], m: int, p: int) -> None:
    """``p`` progress records: record j for enrolment j // len(modules), module j % len;
    the enrolments are those ``fill_enrollments`` wrote (``p`` at most m x modules)."""
    from app.models.progress import ProgressRecord

    now = datetime.now(UTC)
    start = datetime(2025, 5, 14, 1, 0, tzinfo=UTC)
    p = min(p, m * len(modules))

    def rows() -> Iterable[dict[str, Any]]:
        for j in range(p):
            e, k = divmod(j, len(modules))
            done = j % 3 == 0
            yield {
                "id": f"prg_{j:026d}",
                "enrollment_id": f"enr_{e:026d}",
                "module_id": modules[k],
                "status": "completed" if done else "in_progress",
                "percent": 100 if done else j % 100,
                "score_centi": None,
                "jp_earned_halves": 0,
                "time_spent_minutes": j % 600,
                "occurred_at": start + timedelta(minutes=j % 10_000),
                "source": "moodle",
                "external_id": f"cmc-{j}",
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }

    bulk(engine, ProgressRecord.__table__, rows())  # type: ignore[attr-defined]


JP_YEARS = range(2023, 2026)


def fill_jp_ledger(engine: Any, n: int) -> int:
    """2 or 3 external JP records per learner a year over ``JP_YEARS`` (4-12 JP each, so
    some learners reach the 20-JP floor and some do not); answers the rows written."""
    from app.models.jp import JPRecord

    now = datetime.now(UTC)
    written = 0

    def rows() -> Iterable[dict[str, Any]]:
        nonlocal written
        for i in range(n):
            for year in JP_YEARS:
                for r in range(2 + (i + year) % 2):
                    day = date(year, 1 + (i + r) % 12, 1 + i % 28)
                    written += 1
                    yield {
                        "id": f"jpr_{i:020d}{year % 100:02d}{r:04d}",
                        "learner_id": f"lrn_{i:026d}",
                        "year": year,
                        "jp_halves": 8 + 2 * ((i + r) % 9),
                        "source": "external",
                        "enrollment_id": None,
                        "course_id": None,
                        "title": f"Webinar Kompetensi {r + 1}",
                        "organiser": "LAN RI",
                        "starts_on": day,
                        "ends_on": day,
                        "certificate_number": f"{i}/{year}/{r}",
                        "recorded_by": None,
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                    }

    bulk(engine, JPRecord.__table__, rows())  # type: ignore[attr-defined]
    return written


def _median_ms(call: Callable[[], Any], repeat: int) -> float:
    call()  # warm
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def _modules(client: Any, headers: dict[str, str], course_id: str) -> list[str]:
    got = client.get(f"/v1/courses/{course_id}/curricula/1", headers=headers)
    return [m["id"] for m in got.json()["modules"]]


def _prepare(url: str) -> tuple[Any, dict[str, str], str]:
    """A fresh, migrated database with the bench admin: (engine, headers, agency id)."""
    from bench.inprocess import fresh_database

    engine, ctx = fresh_database(url)
    return engine, {"Authorization": f"Bearer {ctx.vars['token']}"}, ctx.vars["agency_id"]


WRITE_ROWS = 10_000
WARM_ROWS = 200


def measure_writes(
    client: Any, engine: Any, headers: dict[str, str], repeat: int
) -> dict[str, float]:
    """A 10,000-row bulk enrolment (learners 0-9,999 by NIP, into a cohort of a new
    course) and a 10,000-record progress batch (its first 5,000 enrolments x 2 modules):
    the median seconds of ``repeat`` (a new course each), after the same with 200 rows
    (warm code paths)."""
    _writes(client, engine, headers, WARM_ROWS)
    runs = [_writes(client, engine, headers, WRITE_ROWS) for _ in range(repeat)]
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def _writes(client: Any, engine: Any, headers: dict[str, str], rows: int) -> dict[str, float]:
    from sqlalchemy import text

    from tests.factories import make_open_cohort, make_published_course

    # a code of its own: a reused database keeps the courses of earlier runs
    course = make_published_course(client, headers, code=f"SKALA-{secrets.token_hex(4)}")
    modules = _modules(client, headers, course["id"])
    cohort = make_open_cohort(client, headers, course["id"], year=2025, capacity=None)["id"]
    body = ("NIP,Nama\n" + "".join(f"{nip(i)},Peserta\n" for i in range(rows))).encode()
    started = time.perf_counter()
    got = client.post(
        f"/v1/cohorts/{cohort}/enrollments/bulk",
        content=body,
        headers={**headers, "Content-Type": "text/csv"},
    )
    bulk_s = time.perf_counter() - started
    assert got.status_code == 201, got.text[:300]
    with engine.connect() as conn:
        query = "SELECT id FROM enrollment WHERE cohort_id = :c ORDER BY id"
        ids = list(conn.execute(text(query), {"c": cohort}).scalars())
    assert len(ids) == rows, len(ids)
    per = rows // len(modules)
    records = [
        {
            "enrollment_id": ids[e],
            "module_id": module,
            "status": "completed",
            "occurred_at": "2025-05-20T10:00:00+07:00",
            "source": "moodle",
            "external_id": f"bench-{e}-{k}",
        }
        for e in range(per)
        for k, module in enumerate(modules)
    ]
    data = json.dumps({"records": records}).encode()
    started = time.perf_counter()
    got = client.post(
        "/v1/progress/batch", content=data, headers={**headers, "Content-Type": "application/json"}
    )
    batch_s = time.perf_counter() - started
    assert got.status_code == 201, got.text[:300]
    assert got.json()["counts"]["created"] == len(records)
    return {"bulk_s": bulk_s, "batch_s": batch_s}


def run_empty(url: str, repeat: int) -> dict[str, float]:
    """The writes on a database holding only the 10,000 learners they need."""
    from starlette.testclient import TestClient

    from app.main import create_app

    engine, headers, home = _prepare(url)
    fill_learners(engine, lambda _: home, WRITE_ROWS)
    with TestClient(create_app(), raise_server_exceptions=True) as client:
        figures = measure_writes(client, engine, headers, repeat)
    engine.dispose()
    return figures


def run_size(
    url: str, n: int, m: int, p: int | None, repeat: int, writes: int, modules_per_course: int = 2
) -> dict[str, float]:
    from sqlalchemy import text
    from starlette.testclient import TestClient

    from app.main import create_app
    from app.models import Agency
    from app.services.learning.nip import check_nip
    from bench.scale_feed import admin_headers, fill_change_feed, fill_grants
    from tests.factories import assessed_modules, make_open_cohort, make_published_course

    every = compliance_every(n)
    assert all(check_nip(nip(i), today=date.today()) for i in (0, n // 2, n - 1))
    engine, headers, home = _prepare(url)
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
    started = time.perf_counter()
    figures: dict[str, float] = {}
    with TestClient(create_app(), raise_server_exceptions=True) as client:
        course = make_published_course(
            client, headers, assessed_modules(modules_per_course), total_jp=5 * modules_per_course
        )
        modules = _modules(client, headers, course["id"])
        cohorts = []
        for year in YEARS:
            made = make_open_cohort(client, headers, course["id"], year=year, capacity=None)
            cohorts.append((made["id"], course["id"], home))

        # the admin's agency holds all learners but every k-th (compliance_every), which
        # belong to the compliance agency (50,000 at 1,000,000) and reach the admin's
        # list as grants
        def agency_of(i: int) -> str:
            return others[0] if i % every == 0 else home

        fill_learners(engine, agency_of, n)
        fill_enrollments(engine, cohorts, [home, *others], n, m)
        figures["grants"] = fill_grants(engine)
        progress = p if p is not None else m * len(modules)
        fill_progress(engine, modules, m, progress)
        figures["progress_rows"] = min(progress, m * len(modules))
        figures["jp_rows"] = fill_jp_ledger(engine, n)

        def enrolled() -> Iterable[tuple[str, str, str, str, str]]:
            for j in range(m):
                c, i = enrolment_of(j, n, m, len(cohorts))
                yield f"enr_{j:026d}", home, course["id"], f"lrn_{i:026d}", agency_of(i)

        learner_rows = ((f"lrn_{i:026d}", agency_of(i)) for i in range(n))
        first_seq, last_seq = fill_change_feed(engine, bulk, learner_rows, enrolled())
        figures["feed_rows"] = last_seq - first_seq + 1
        figures["fill_s"] = time.perf_counter() - started
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        filled = Filled(n, cohorts[0][0], others[0], first_seq, last_seq)
        headers = admin_headers(home)  # the set-up's token may have expired in a long fill
        figures.update(measure(client, engine, headers, filled, repeat, writes))
    figures.update(measure_memory(url, headers, filled))
    engine.dispose()
    return figures


@dataclass
class Filled:
    """What the timings need to know of a filled database."""

    learners: int
    cohort: str  # the first cohort: its roster is timed
    compliance_agency: str
    first_seq: int  # the change-feed entries of the fill
    last_seq: int

    def feed_urls(self) -> list[str]:
        from app.services.sync.feed import encode as feed_cursor

        middle = self.first_seq + (self.last_seq - self.first_seq) // 2
        return [FEED, f"{FEED}&after={feed_cursor(middle)}"]


FEED = "/v1/changes?limit=1000"


def measure(
    client: Any,
    engine: Any,
    headers: dict[str, str],
    filled: Filled,
    repeat: int,
    writes: int,
    audit: dict[str, str] | None = None,
) -> dict[str, float]:
    """The read timings on a filled database, then (``writes`` > 0) the write benches,
    which add a course, its cohorts, enrolments and progress records to it."""
    from sqlalchemy import text

    from app.core.pagination import encode_cursor
    from bench.scale_feed import admin_headers

    n = filled.learners
    figures: dict[str, float] = {"bulk_s": math.nan, "batch_s": math.nan}

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
    with engine.connect() as conn:
        ids = conn.execute(
            text("SELECT id FROM enrollment WHERE cohort_id = :c ORDER BY id"), {"c": filled.cohort}
        ).scalars()
        ordered = list(ids)
    middle = encode_cursor("id", None, ordered[len(ordered) // 2])
    base = f"/v1/cohorts/{filled.cohort}/enrollments?limit=50"
    figures["roster_rows"] = len(ordered)
    figures["roster_first"] = _median_ms(get(base), repeat)
    figures["roster_deep"] = _median_ms(get(f"{base}&cursor={middle}"), repeat)
    jp_of = nip(n // 2 + 1)  # a learner of the admin's agency (its JP is the home's to read)
    figures["jp_year"] = _median_ms(get(f"/v1/learners/{jp_of}/jp?year=2025"), repeat)
    feed, feed_deep = filled.feed_urls()
    feed_repeat = max(3, repeat // 3)
    figures["feed_first"] = _median_ms(get(feed), feed_repeat)
    figures["feed_deep"] = _median_ms(get(feed_deep), feed_repeat)
    figures["compliance_learners"] = len(range(0, n, compliance_every(n)))
    audit = audit or admin_headers(filled.compliance_agency)
    summary = "/v1/reports/jp-compliance/summary?year=2025"
    figures["compliance"] = _median_ms(
        lambda: client.get(summary, headers=audit).raise_for_status(), max(3, repeat // 10)
    )
    if writes:
        figures.update(measure_writes(client, engine, headers, writes))
    return figures


def measure_memory(url: str, headers: dict[str, str], filled: Filled) -> dict[str, float]:
    """One real worker's RSS (bench/scale_feed.measure_rss): its bulk import adds a
    course, a cohort and 10,000 enrolments."""
    from bench.scale_feed import measure_rss

    body = ("NIP,Nama\n" + "".join(f"{nip(i)},Peserta\n" for i in range(WRITE_ROWS))).encode()
    return measure_rss(url, headers, body, filled.feed_urls())


def run_existing(url: str, repeat: int, writes: int) -> dict[str, float]:
    """Time a database ``run_size`` filled earlier, as it is: nothing dropped, refilled or
    migrated. Reads only, unless ``writes`` > 0: then the write benches and the worker's
    memory run too, and add to it a course with cohorts, 10,000 + 200 enrolments and
    10,000 + 200 progress records per write run, and a cohort with 10,000 enrolments."""
    from sqlalchemy import text
    from starlette.testclient import TestClient

    from app.core.security import Principal, create_access_token
    from app.main import create_app
    from bench.inprocess import attach_database
    from bench.scale_feed import admin_headers

    engine = attach_database(url)
    zeros = "0" * 26

    def one(sql: str, **params: Any) -> Any:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def token_of(agency: str) -> dict[str, str]:
        """A bearer token for an existing agency admin of ``agency`` (one is added only if
        the agency has none)."""
        with engine.connect() as conn:
            users = conn.execute(
                text('SELECT id, roles FROM "user" WHERE agency_id = :a ORDER BY created_at'),
                {"a": agency},
            ).all()
        for user_id, roles in users:
            if "agency_admin" in (json.loads(roles) if isinstance(roles, str) else roles):
                who = Principal(
                    subject=user_id, agency_id=agency, roles=frozenset(["agency_admin"])
                )
                return {"Authorization": f"Bearer {create_access_token(who, ttl_seconds=7200)[0]}"}
        # a fill that stopped before timing never made the compliance agency's admin
        return admin_headers(agency)

    home = one("SELECT id FROM agency WHERE slug = 'instansi-bench'")
    # the fill's ids are lrn_/enr_ and 26 digits; the app's (ULIDs, 01...) never start 00
    n = int(one("SELECT count(*) FROM learner WHERE id LIKE 'lrn\\_00%'"))
    m = int(one("SELECT count(*) FROM enrollment WHERE id LIKE 'enr\\_00%'"))
    if home is None or n == 0:
        raise SystemExit(f"{url} holds no bench/scale.py fill")
    first = int(one("SELECT min(seq) FROM change"))
    filled = Filled(n, one(f"SELECT cohort_id FROM enrollment WHERE id = 'enr_{zeros}'"),
                    f"agc_{zeros}", first, first + n + m - 1)  # fmt: skip
    headers = token_of(home)
    figures: dict[str, float] = {
        "fill_s": 0.0,
        "progress_rows": one("SELECT count(*) FROM progress_record"),
        "jp_rows": one("SELECT count(*) FROM jp_record"),
        "grants": one("SELECT count(*) FROM learner_grant"),
        "feed_rows": n + m,
        "learners": n,
        "enrolments": m,
    }
    with TestClient(create_app(), raise_server_exceptions=True) as client:
        audit = token_of(filled.compliance_agency)
        figures.update(measure(client, engine, headers, filled, repeat, writes, audit))
    if writes:
        figures.update(measure_memory(url, headers, filled))
    else:
        figures.update(dict.fromkeys(["rss_base", "rss_start", "rss_bulk", "rss_feed"], math.nan))
    engine.dispose()
    return figures


def _url(
    engine: str, work: str, name: str, given: str | None, pg_name: str = "bangkom_scale_bench"
) -> str:
    if given:
        return given
    if engine == "sqlite":
        return f"sqlite:///{work}/scale-{name}.db"
    script = ROOT / "scripts" / "postgres.sh"
    return subprocess.check_output([str(script), pg_name], text=True).strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--learners", default="10000,100000", help="sizes, comma-separated")
    parser.add_argument("--enrollments", type=int, default=None, help="default: = learners")
    parser.add_argument(
        "--progress", type=int, default=None, help="default: 2 per enrolment (one a module)"
    )
    parser.add_argument(
        "--modules",
        type=int,
        default=2,
        help="assessed modules in the bench course (progress is at most enrolments x modules)",
    )
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument(
        "--writes-repeat", type=int, default=3, help="bulk enrolments / batches timed a size"
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL database to use (its public schema is dropped and rebuilt each "
        "run); default: scripts/postgres.sh bangkom_scale_bench",
    )
    parser.add_argument(
        "--reuse-database",
        default=None,
        metavar="URL",
        help="measure a database an earlier run filled, as it is (never dropped, refilled or "
        "migrated; --learners is read from it). Reads only with --writes-repeat 0; else the "
        "write benches add a course, cohorts and their enrolments and progress to it, and "
        "the empty-database writes run in scripts/postgres.sh bangkom_scale_empty",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.learners.split(",")]
    results = []
    with tempfile.TemporaryDirectory() as work:
        if args.database_url and not args.database_url.startswith("postgresql"):
            parser.error("--database-url takes a PostgreSQL URL (SQLite uses temporary files)")
        if args.database_url or (args.reuse_database or "").startswith("postgresql"):
            args.engine = "postgresql"
        nan = {"bulk_s": math.nan, "batch_s": math.nan}
        if args.reuse_database:
            empty = nan
            if args.writes_repeat:
                other = _url(args.engine, work, "empty", None, pg_name="bangkom_scale_empty")
                assert other != args.reuse_database, "the empty database is the reused one"
                empty = run_empty(other, args.writes_repeat)
            f = run_existing(args.reuse_database, args.repeat, args.writes_repeat)
            sizes = []
            results.append((int(f["learners"]), int(f["enrolments"]), f))
        else:
            empty = run_empty(
                _url(args.engine, work, "empty", args.database_url), args.writes_repeat
            )
        for n in sizes:
            m = args.enrollments if args.enrollments is not None else n
            url = _url(args.engine, work, str(n), args.database_url)
            results.append(
                (
                    n,
                    m,
                    run_size(
                        url, n, m, args.progress, args.repeat, args.writes_repeat, args.modules
                    ),
                )
            )
            if args.engine == "sqlite":
                Path(url.removeprefix("sqlite:///")).unlink()
    print(
        "| learners | enrolments | progress | JP records | engine | fill | learners p1 "
        "| learners deep | deep/p1 | roster p1 | roster deep (of rows) | deep/p1 |"
    )
    print("| ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n, m, f in results:
        print(
            f"| {n:,} | {m:,} | {int(f['progress_rows']):,} | {int(f['jp_rows']):,} "
            f"| {args.engine} | {f['fill_s']:.1f} s "
            f"| {f['learners_first']:.1f} ms | {f['learners_deep']:.1f} ms "
            f"| {f['learners_deep'] / f['learners_first']:.2f}x "
            f"| {f['roster_first']:.1f} ms | {f['roster_deep']:.1f} ms ({int(f['roster_rows']):,}) "
            f"| {f['roster_deep'] / f['roster_first']:.2f}x |"
        )
    print(
        "\n| learners | engine | learner's yearly JP | compliance summary (of learners) "
        "| bulk 10,000 (vs empty) | progress batch 10,000 (vs empty) |"
    )
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    print(
        f"| empty (10,000) | {args.engine} | | | {empty['bulk_s']:.2f} s "
        f"| {empty['batch_s']:.2f} s |"
    )
    for n, _, f in results:
        print(
            f"| {n:,} | {args.engine} | {f['jp_year']:.1f} ms "
            f"| {f['compliance']:.0f} ms ({int(f['compliance_learners']):,}) "
            f"| {f['bulk_s']:.2f} s ({f['bulk_s'] / empty['bulk_s']:.2f}x) "
            f"| {f['batch_s']:.2f} s ({f['batch_s'] / empty['batch_s']:.2f}x) |"
        )
    print(
        "\n| learners | engine | grants | feed entries | feed p1 (1,000) | feed deep | deep/p1 "
        "| worker RSS: idle (start-up peak) | peak in bulk 10,000 | peak in feed pages |"
    )
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n, _, f in results:
        print(
            f"| {n:,} | {args.engine} | {int(f['grants']):,} | {int(f['feed_rows']):,} "
            f"| {f['feed_first']:.0f} ms | {f['feed_deep']:.0f} ms "
            f"| {f['feed_deep'] / f['feed_first']:.2f}x "
            f"| {f['rss_base']:.0f} MB ({f['rss_start']:.0f} MB) "
            f"| {f['rss_bulk']:.0f} MB | {f['rss_feed']:.0f} MB |"
        )
    if len(results) > 1:
        (n0, _, f0), (n1, _, f1) = results[0], results[-1]
        keys = ["learners_first", "learners_deep", "roster_first", "roster_deep", "jp_year"]
        keys += ["feed_first", "feed_deep"]
        keys += ["compliance", "bulk_s", "batch_s"]
        grow = ", ".join(f"{k} x{f1[k] / f0[k]:.2f}" for k in keys)
        print(f"\nfrom {n0:,} to {n1:,} learners ({n1 / n0:.0f}x): {grow}")
    print(
        f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
