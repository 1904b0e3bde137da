"""OneRoster 1.2: a users / students / enrollments page at offset 0 and deep in the list.

    .venv/bin/python bench/oneroster.py [--learners 150000] [--offset 100000]
        [--engine sqlite|postgresql] [--repeat 20] [--guest-every 3]

Fills a database with bench/scale.py's fill (``fill_learners``, ``fill_enrollments``: one
enrolment each over the bench agency's cohorts; the bench admin's agency holds every
learner but every ``--guest-every``-th, which belongs to a second agency and is seen
through ``learner_grant``, so users and students merge two large parts), then
times, through the whole ASGI app in process (TestClient: middleware, auth, the
OneRoster route class), ``GET /ims/oneroster/rostering/v1p2/{users,students,enrollments}``
with ``limit=100`` at offset 0 and at ``--offset``, each with its ``X-Total-Count``.
Prints the median of ``--repeat`` and the deep/first ratio, and a delta poll of each
(``filter=dateLastModified>'<after the fill>'``: nothing to return, what an LMS asks most
often), which reads the keys changed since (app/services/oneroster/people.py,
enrollments.py ``_changed_since``) instead of computing every row's date.

The binding pages by offset; the view reads the page's keys first on an index in the
sort order (``ix_learner_agency_id`` (agency_id, id) for home learners, learner_grant's
primary key for learners of other agencies, ``ix_enrollment_agency_id`` for enrolments)
and then only those rows, so a deep offset walks index entries instead of fetching and
sorting rows. X-Total-Count is a count per part over the same indexes (PostgreSQL asked
in key order, so it counts on the index instead of a parallel scan of the table).
Enrollments (students' then teachers') are read part after part; users and students
merge their ordered parts (PostgreSQL: a Merge Append of index-only scans, each part
limited to offset + limit keys; the guests' keys come from learner_grant alone, without
the join to learner that made PostgreSQL hash and sort every guest for a deep page).

``--explain`` prints PostgreSQL's plans (EXPLAIN (ANALYZE, BUFFERS)) of the users page's
key and count queries at both offsets, after the timings.
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


def fill(url: str, n: int, guest_every: int) -> tuple[Any, dict[str, str], float]:
    """A fresh database: ``n`` learners, one enrolment each in the bench agency's cohorts;
    every ``guest_every``-th learner (0: none) belongs to a second agency and reaches the
    bench agency's lists through ``learner_grant`` (so users and students merge two large
    parts, as an organiser's lists do). Answers (engine, headers, fill seconds)."""
    from datetime import UTC as utc

    from sqlalchemy import text
    from starlette.testclient import TestClient

    from app.main import create_app
    from app.models import Agency
    from bench.scale_feed import fill_grants
    from tests.factories import make_open_cohort, make_published_course

    engine, headers, home = scale._prepare(url)
    guest_agency = "agc_" + "0" * 25 + "g"
    with engine.begin() as conn:
        conn.execute(
            Agency.__table__.insert(),  # type: ignore[attr-defined]
            {"id": guest_agency, "name": "Instansi Tamu", "slug": "instansi-tamu",
             "kind": "regency_city", "timezone": "Asia/Jakarta",
             "created_at": datetime.now(utc), "updated_at": datetime.now(utc)},
        )  # fmt: skip
    started = time.perf_counter()
    with TestClient(create_app(), raise_server_exceptions=True) as client:
        course = make_published_course(client, headers)
        cohorts = []
        for year in scale.YEARS:
            made = make_open_cohort(client, headers, course["id"], year=year, capacity=None)
            cohorts.append((made["id"], course["id"], home))

        def agency_of(i: int) -> str:
            return guest_agency if guest_every and i % guest_every == 0 else home

        scale.fill_learners(engine, agency_of, n)
        scale.fill_enrollments(engine, cohorts, [home], n, n)
        fill_grants(engine)
    filled = time.perf_counter() - started
    if engine.dialect.name == "postgresql":
        # the state autovacuum reaches after a bulk insert: statistics, and a visibility
        # map that lets the offset walks and counts be index-only scans (without it
        # every index entry was also a heap fetch)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    return engine, headers, filled


def plans(engine: Any, client: Any, headers: dict[str, str], url: str) -> list[str]:
    """PostgreSQL's plans of the count and key queries one request of ``url`` runs."""
    from sqlalchemy import event

    seen: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, params: Any, *_rest: Any) -> None:
        if statement.lstrip().startswith("SELECT") and (
            "count(" in statement or "LIMIT" in statement
        ):
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        assert client.get(url, headers=headers).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    out = []
    with engine.connect() as conn:
        for statement, params in seen:
            explain = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement
            out += [*conn.exec_driver_sql(explain, params).scalars(), ""]
    return out


def run(
    url: str, n: int, offset: int, repeat: int, guest_every: int, explain: bool = False
) -> dict[Any, Any]:
    from starlette.testclient import TestClient

    from app.main import create_app

    engine, headers, filled = fill(url, n, guest_every)
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    out: dict[Any, Any] = {"fill_s": filled}
    with TestClient(create_app(), raise_server_exceptions=True) as client:
        if explain and engine.dialect.name == "postgresql":
            for at in (0, offset):
                url_ = f"{ROSTER}/users?limit=100&offset={at}"
                out[("plans", at)] = plans(engine, client, headers, url_)
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
            poll = f"{ROSTER}/{path}?limit=100&filter=dateLastModified>'{since}'"
            got = client.get(poll, headers=headers)
            assert got.status_code == 200 and got.headers["X-Total-Count"] == "0", got.text

            def delta(u: str = poll) -> None:
                assert client.get(u, headers=headers).status_code == 200

            out[(path, "delta")] = scale._median_ms(delta, repeat)
    engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--learners", type=int, default=150_000)
    parser.add_argument("--offset", type=int, default=100_000)
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--guest-every", type=int, default=3,
                        help="every k-th learner is another agency's, seen through "
                        "learner_grant (0: none)")  # fmt: skip
    parser.add_argument("--explain", action="store_true", help="PostgreSQL: print the plans")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        url = f"sqlite:///{work}/oneroster.db"
        if args.engine == "postgresql":  # a database of its own, not scale.py's
            script = ROOT / "scripts" / "postgres.sh"
            url = subprocess.check_output([str(script), "bangkom_oneroster_bench"], text=True)
            url = url.strip()
        got = run(url, args.learners, args.offset, args.repeat, args.guest_every, args.explain)
    guests = f"1 in {args.guest_every} of another agency" if args.guest_every else "no guests"
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {args.learners:,} learners and enrolments "
          f"({guests}), {args.engine}, fill {got['fill_s']:.1f} s, median of {args.repeat}")  # fmt: skip
    print(f"| collection | X-Total-Count | offset 0 | offset {args.offset:,} | deep/first "
          "| delta poll |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for path in PATHS:
        first, deep = got[(path, 0)], got[(path, args.offset)]
        print(f"| {path} | {got[f'{path}_total']:,} | {first:.1f} ms | {deep:.1f} ms "
              f"| {deep / first:.2f}x | {got[(path, 'delta')]:.1f} ms |")  # fmt: skip
    print(load_line())
    for at in (0, args.offset):
        if ("plans", at) in got:
            print(f"\nPlans of /users?limit=100&offset={at} (count per part, then the keys):")
            print("\n".join(got[("plans", at)]))


if __name__ == "__main__":
    main()
