"""Change feed and ``updated_since``, on both engines.

    .venv/bin/python bench/changes.py [--learners 1000] [--modules 2] [--courses 300]
        [--repeat 7] [--engines sqlite,postgresql]

Each engine gets a fresh schema (SQLite: a temporary file; PostgreSQL: the database
``bangkom_changes_bench`` from ``scripts/postgres.sh``). Set-up through the app in process
(starlette's TestClient): ``--courses`` courses, one open cohort, ``--learners`` learners
bulk-enrolled and a progress batch for every (learner, module): the log then holds about
learners x (modules + 1) + courses entries of every type but session. Rows, best and median
of ``--repeat``:

- ``GET /v1/changes?limit=1000``, a page of 1,000 entries of mixed types (enrolments and
  progress records) as the organiser; notes: SQL statements per page (batch loading: a
  handful, never one per entry) and the body size;
- the same page for another agency (every entry filtered out but the catalogue's);
- ``GET /v1/courses?updated_since=...&limit=200`` (the newest tenth changed) beside the
  plain first page.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.inprocess import fresh_database, insert_learners  # noqa: E402  (after the path above)

os.environ.setdefault("BANGKOM_SECRET_KEY", "bench-secret-key-" + "x" * 32)
os.environ.setdefault("BANGKOM_ACCESS_LOG", "false")


def _timed(repeat: int, call: Any) -> tuple[float, float, Any]:
    call()  # warm-up
    taken, last = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        last = call()
        taken.append(time.perf_counter() - started)
    return min(taken), statistics.median(taken), last


def run_engine(engine_name: str, url: str, args: argparse.Namespace) -> list[str]:
    from sqlalchemy import event
    from starlette.testclient import TestClient

    from app.main import create_app
    from tests.factories import (
        assessed_modules,
        auth_headers,
        course_payload,
        make_agency,
        make_open_cohort,
        make_published_course,
        make_user,
    )

    engine, ctx = fresh_database(url)
    keys = insert_learners(engine, ctx.vars["agency_id"], args.learners)
    from app.core.db import new_session

    with new_session(engine, write=True) as session:
        stranger = auth_headers(make_user(session, make_agency(session), "agency_admin"))
        session.commit()
    headers = {"Authorization": f"Bearer {ctx.vars['token']}"}
    statements = [0]
    event.listen(
        engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1)
    )
    lines: list[str] = []
    with TestClient(create_app(), raise_server_exceptions=True) as client:
        course = make_published_course(
            client, headers, assessed_modules(args.modules), total_jp=5 * args.modules
        )
        cur = client.get(f"/v1/courses/{course['id']}/curricula/1", headers=headers).json()
        module_ids = [m["id"] for m in cur["modules"]]
        cohort = make_open_cohort(client, headers, course["id"], capacity=args.learners + 10)
        csv = ("NIP\r\n" + "".join(f"{k}\r\n" for k in keys)).encode()
        bulk = client.post(
            f"/v1/cohorts/{cohort['id']}/enrollments/bulk",
            content=csv,
            headers=headers | {"Content-Type": "text/csv"},
        )
        assert bulk.status_code == 201, bulk.text[:300]
        enrolments = [r["enrollment_id"] for r in bulk.json()["rows"]]
        records = [
            {"enrollment_id": e, "module_id": m, "status": "in_progress", "percent": 50,
             "occurred_at": "2025-05-15T08:00:00+07:00", "source": "moodle",
             "external_id": f"cmc-{e}-{m}"}
            for e in enrolments for m in module_ids
        ]  # fmt: skip
        batch = client.post("/v1/progress/batch", json={"records": records}, headers=headers)
        assert batch.status_code == 201, batch.text[:300]
        course_ids = [
            client.post("/v1/courses", json=course_payload(), headers=headers).json()["id"]
            for _ in range(args.courses)
        ]
        time.sleep(0.01)
        since = datetime.now(UTC).isoformat()
        for ident in course_ids[-max(1, args.courses // 10) :]:
            client.patch(f"/v1/courses/{ident}", json={"summary": "Diubah"}, headers=headers)

        start = client.get("/v1/changes", params={"limit": "1000"}, headers=headers).json()
        after = start["next_cursor"]  # the second page: enrolments and progress records

        def page(who: dict[str, str], cursor: str | None) -> Any:
            statements[0] = 0
            params = {"limit": "1000", **({"after": cursor} if cursor else {})}
            got = client.get("/v1/changes", params=params, headers=who)
            assert got.status_code == 200, got.text[:300]
            return got, statements[0]

        best, median, (got, count) = _timed(args.repeat, lambda: page(headers, after))
        kinds = sorted({e["type"] for e in got.json()["items"]})
        lines.append(
            f"| GET /v1/changes, page of {len(got.json()['items']):,} ({', '.join(kinds)}) "
            f"| {engine_name} | {best * 1000:.0f} ms | {median * 1000:.0f} ms "
            f"| {len(got.json()['items']) / median:,.0f} entries/s | {count} SQL statements "
            f"a page; body {len(got.content) / 2**20:.2f} MiB |"
        )
        best, median, (got, count) = _timed(args.repeat, lambda: page(stranger, after))
        lines.append(
            f"| GET /v1/changes, same range, another agency ({len(got.json()['items'])} "
            f"visible) | {engine_name} | {best * 1000:.1f} ms | {median * 1000:.1f} ms | - "
            f"| {count} SQL statements |"
        )
        for label, params in (
            ("updated_since (newest tenth)", {"updated_since": since, "limit": "200"}),
            ("first page, no filter", {"limit": "200"}),
        ):
            best, median, got = _timed(
                args.repeat, lambda p=params: client.get("/v1/courses", params=p, headers=headers)
            )
            assert got.status_code == 200, got.text[:300]
            lines.append(
                f"| GET /v1/courses {label}, {args.courses + 1} courses | {engine_name} "
                f"| {best * 1000:.1f} ms | {median * 1000:.1f} ms "
                f"| {len(got.json()['items'])} items | - |"
            )
    engine.dispose()
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=1000)
    parser.add_argument("--modules", type=int, default=2)
    parser.add_argument("--courses", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    print("| case | engine | best | median | rate | notes |")
    print("|---|---|---|---|---|---|")
    for name in args.engines.split(","):
        if name == "sqlite":
            folder = tempfile.mkdtemp(prefix="bangkom-changes-")
            url = f"sqlite:///{folder}/bench.db"
        else:
            url = subprocess.run(
                [str(ROOT / "scripts/postgres.sh"), "bangkom_changes_bench"],
                check=True, capture_output=True, text=True,
            ).stdout.strip()  # fmt: skip
        for line in run_engine(name, url, args):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
