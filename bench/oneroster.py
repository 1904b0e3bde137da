"""OneRoster 1.2: a users / students / enrollments page at offset 0 and deep in the list.

    .venv/bin/python bench/oneroster.py [--learners 150000] [--offset 100000]
        [--engine sqlite|postgresql] [--repeat 20]

Fills a database with bench/scale.py's fill (``fill_learners``, ``fill_enrollments``: the
bench admin's agency holds every learner, one enrolment each over the cohorts), then
times, through the whole ASGI app in process (TestClient: middleware, auth, the
OneRoster route class), ``GET /ims/oneroster/rostering/v1p2/{users,students,enrollments}``
with ``limit=100`` at offset 0 and at ``--offset``, each with its ``X-Total-Count``.
Prints the median of ``--repeat`` and the deep/first ratio.

The binding pages by offset; the view reads the page's keys first on an index in the
sort order (``ix_learner_agency_id`` (agency_id, id) for home learners, learner_grant's
primary key for learners of other agencies, ``ix_enrollment_agency_id`` for enrolments)
and then only those rows, so a deep offset walks index entries instead of fetching and
sorting rows. X-Total-Count is a count per part over the same indexes. Enrollments
(students' then teachers') are read part after part; users merge their parts (SQLite
merges the ordered parts; PostgreSQL sorts each part's first offset + limit keys).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import scale  # noqa: E402  (sets the bench environment first)
from bench.inprocess import load_line  # noqa: E402

ROSTER = "/ims/oneroster/rostering/v1p2"
PATHS = ("users", "students", "enrollments")


def run(url: str, n: int, offset: int, repeat: int) -> dict[Any, Any]:
    from sqlalchemy import text
    from starlette.testclient import TestClient

    from app.main import create_app
    from tests.factories import make_open_cohort, make_published_course

    engine, headers, home = scale._prepare(url)
    started = time.perf_counter()
    out: dict[Any, Any] = {}
    with TestClient(create_app(), raise_server_exceptions=True) as client:
        course = make_published_course(client, headers)
        cohorts = []
        for year in scale.YEARS:
            made = make_open_cohort(client, headers, course["id"], year=year, capacity=None)
            cohorts.append((made["id"], course["id"], home))
        scale.fill_learners(engine, lambda _i: home, n)
        scale.fill_enrollments(engine, cohorts, [home], n, n)
        out["fill_s"] = time.perf_counter() - started
        if engine.dialect.name == "postgresql":
            # the state autovacuum reaches after a bulk insert: statistics, and a visibility
            # map that lets the offset walks and counts be index-only scans (without it
            # every index entry was also a heap fetch)
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        for path in PATHS:
            for at in (0, offset):
                url_ = f"{ROSTER}/{path}?limit=100&offset={at}"
                got = client.get(url_, headers=headers)
                assert got.status_code == 200, got.text[:300]
                assert len(next(iter(got.json().values()))) == 100
                out[f"{path}_total"] = int(got.headers["X-Total-Count"])

                def call(u: str = url_) -> None:
                    assert client.get(u, headers=headers).status_code == 200

                out[(path, at)] = scale._median_ms(call, repeat)
    engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--learners", type=int, default=150_000)
    parser.add_argument("--offset", type=int, default=100_000)
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        url = f"sqlite:///{work}/oneroster.db"
        if args.engine == "postgresql":  # a database of its own, not scale.py's
            script = ROOT / "scripts" / "postgres.sh"
            url = subprocess.check_output([str(script), "bangkom_oneroster_bench"], text=True)
            url = url.strip()
        got = run(url, args.learners, args.offset, args.repeat)
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {args.learners:,} learners and enrolments, "
          f"{args.engine}, fill {got['fill_s']:.1f} s, median of {args.repeat}")  # fmt: skip
    print(f"| collection | X-Total-Count | offset 0 | offset {args.offset:,} | deep/first |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for path in PATHS:
        first, deep = got[(path, 0)], got[(path, args.offset)]
        print(f"| {path} | {got[f'{path}_total']:,} | {first:.1f} ms | {deep:.1f} ms "
              f"| {deep / first:.2f}x |")  # fmt: skip
    print(load_line())


if __name__ == "__main__":
    main()
