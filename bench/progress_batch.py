"""Progress batch: 10,000 records in one ``POST /v1/progress/batch``, on both engines.

    .venv/bin/python bench/progress_batch.py [--learners 2000] [--modules 5] [--repeat 5]
        [--engines sqlite,postgresql]

A timed loop printing rows in the bench table's shape (like bench/bulk_enrol.py). Each
engine gets a fresh schema (SQLite: a temporary file; PostgreSQL: the database
``bangkom_progress_bench`` from ``scripts/postgres.sh``), an agency with ``--learners``
learners (Core inserts) enrolled in one open cohort of a course of ``--modules`` modules
(bulk enrolment). A batch is every (learner, module) pair once: 10,000 records by
default, half addressed by ``enrollment_id``, half by ``cohort_id`` + NIP. Requests go
through the whole ASGI app in process (starlette's TestClient: no socket). Rows, each the
best and median of ``--repeat`` (the table emptied before each ``created`` round):

- ``created``: every record new (INSERT);
- ``updated``: the same pairs with a newer ``occurred_at`` (the ON CONFLICT update);
- ``replayed``: the ``updated`` batch again (every record ``unchanged``);
- ``PUT one record`` one by one (``--single`` of them) for comparison.

Target: at least 20,000 records/s (10,000 records in at most 0.5 s) on both engines.
The notes column gives the process's CPU time per batch too (the app and the in-process
client; PostgreSQL's own work is not in it): on a shared 2-core machine the wall time
moves with the load, the CPU time much less. ``PROFILE=1`` first prints the CPU time of
each step (validation, address resolution, record rules, upsert, JSON) of a few batches
called without HTTP; ``PROFILE=cprofile`` adds a profile of each.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.inprocess import fresh_database, insert_learners  # noqa: E402  (after the path above)

os.environ.setdefault("BANGKOM_SECRET_KEY", "bench-secret-key-" + "x" * 32)
os.environ.setdefault("BANGKOM_ACCESS_LOG", "false")


def run_engine(engine_name: str, url: str, args: argparse.Namespace) -> list[str]:
    from sqlalchemy import delete
    from starlette.testclient import TestClient

    from app.main import create_app
    from app.models.progress import ProgressRecord
    from tests.factories import make_open_cohort

    engine, ctx = fresh_database(url)
    keys = insert_learners(engine, ctx.vars["agency_id"], args.learners)
    headers = {"Authorization": f"Bearer {ctx.vars['token']}"}
    lines: list[str] = []
    with TestClient(create_app(), raise_server_exceptions=True) as client:
        course = client.post("/v1/courses", headers=headers, json={
            "code": "PRG-1", "title": "Pelatihan Kemajuan", "kind": "training",
            "competency_type": "technical", "delivery": "blended", "total_jp": 5 * args.modules,
        }).json()  # fmt: skip
        modules = [
            {"title": f"Modul {n}", "jp": 5, "mode": "self_paced", "assessed": True,
             "weight": 100 if n == 0 else 0}
            for n in range(args.modules)
        ]  # fmt: skip
        cur = client.post(
            f"/v1/courses/{course['id']}/curricula", json={"modules": modules}, headers=headers
        )
        assert cur.status_code == 201, cur.text
        module_ids = [m["id"] for m in cur.json()["modules"]]
        assert client.post(
            f"/v1/courses/{course['id']}/curricula/1/publish", headers=headers
        ).is_success
        assert client.patch(
            f"/v1/courses/{course['id']}", json={"status": "published"}, headers=headers
        ).is_success
        cohort = make_open_cohort(client, headers, course["id"], capacity=args.learners + 10)
        csv = ("NIP\r\n" + "".join(f"{k}\r\n" for k in keys)).encode()
        bulk = client.post(
            f"/v1/cohorts/{cohort['id']}/enrollments/bulk",
            content=csv,
            headers=headers | {"Content-Type": "text/csv"},
        )
        assert bulk.status_code == 201, bulk.text[:300]
        enrolments = [r["enrollment_id"] for r in bulk.json()["rows"]]

        def body(day: int) -> bytes:
            records = []
            for i, (key, enrolment) in enumerate(zip(keys, enrolments, strict=True)):
                address = (
                    {"enrollment_id": enrolment}
                    if i % 2 == 0
                    else {"cohort_id": cohort["id"], "learner_key": key}
                )
                for m in module_ids:
                    records.append({
                        **address, "module_id": m, "status": "in_progress", "percent": 50,
                        "score": 81.25, "jp_earned": 2.5, "time_spent_minutes": 90,
                        "occurred_at": f"2025-05-{day:02d}T08:00:00+07:00",
                        "source": "moodle", "external_id": f"cmc-{i}-{m}-{day}",
                    })  # fmt: skip
            return json.dumps({"records": records}).encode()

        first, later = body(15), body(16)
        count = args.learners * args.modules
        json_headers = headers | {"Content-Type": "application/json"}

        cpu: dict[str, list[float]] = {"created": [], "updated": [], "unchanged": []}

        def post(data: bytes, outcome: str) -> float:
            started, used = time.perf_counter(), time.process_time()
            got = client.post("/v1/progress/batch", content=data, headers=json_headers)
            elapsed = time.perf_counter() - started
            cpu[outcome].append(time.process_time() - used)
            assert got.status_code == (200 if outcome == "unchanged" else 201), got.text[:300]
            assert got.json()["counts"][outcome] == count, got.json()["counts"]
            return elapsed

        def empty() -> None:
            with engine.begin() as conn:
                conn.execute(delete(ProgressRecord.__table__))  # type: ignore[attr-defined]

        empty()
        post(first, "created")  # warm-up
        if os.environ.get("PROFILE"):
            _profile(engine, empty, first, later, str(ctx.vars["token"]))
        times: dict[str, list[float]] = {"created": [], "updated": [], "replayed": []}
        for _ in range(args.repeat):
            empty()
            times["created"].append(post(first, "created"))
            times["updated"].append(post(later, "updated"))
            times["replayed"].append(post(later, "unchanged"))
        for (name, taken), used in zip(times.items(), cpu.values(), strict=True):
            best, median = min(taken), statistics.median(taken)
            lines.append(
                f"| POST progress batch, {count:,} records, {name} | {engine_name} "
                f"| {best * 1000:.0f} ms | {median * 1000:.0f} ms "
                f"| {count / median:,.0f} records/s | process CPU median "
                f"{statistics.median(used[-len(taken) :]) * 1000:.0f} ms; body "
                f"{len(first) / 2**20:.2f} MiB |"
            )
        started = time.perf_counter()
        for n in range(args.single):
            got = client.put(
                f"/v1/enrollments/{enrolments[n]}/progress/{module_ids[0]}",
                json={"status": "completed", "occurred_at": "2025-05-20T08:00:00Z",
                      "source": "moodle", "external_id": f"one-{n}"},
                headers=headers,
            )  # fmt: skip
            assert got.status_code == 200, got.text[:300]
        per_single = (time.perf_counter() - started) / args.single
        lines.append(
            f"| PUT one record (x{args.single}) | {engine_name} | - "
            f"| {per_single * 1000:.1f} ms each | {1 / per_single:,.0f} records/s "
            f"| the batch is {per_single * count / statistics.median(times['updated']):.0f}x "
            "faster |"
        )
    engine.dispose()
    return lines


def _profile(engine: object, empty: object, first: bytes, later: bytes, token: str) -> None:
    """Where one batch's time goes, step by step, without the HTTP layers (PROFILE=1)."""
    import cProfile
    import pstats

    from pydantic_core import to_json

    from app.core.db import new_session
    from app.core.security import decode_access_token
    from app.models.progress import ProgressBatchQuery
    from app.routers.progress import BATCH
    from app.services.learning import progress as service
    from app.services.learning import progress_batch as rules
    from app.services.learning import progress_store as store

    spent: dict[str, float] = {}

    def timed(name: str, call: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return call(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.thread_time() - started

        return wrapper

    for name in ("resolve", "check"):
        setattr(service.rules, name, timed(name, getattr(rules, name)))
    service.store.write = timed("write", store.write)
    principal = decode_access_token(token)
    for data in (first, later, first, later):
        spent.clear()
        assert callable(empty)
        empty()
        prof = cProfile.Profile()
        t0 = time.thread_time()
        body = BATCH.validate_json(data)
        t1 = time.thread_time()
        with new_session(write=True) as session:
            if os.environ.get("PROFILE") == "cprofile":
                prof.enable()
            answer = service.batch(
                session=session, principal=principal, items=body.records, query=ProgressBatchQuery()
            )
            prof.disable()
        t2 = time.thread_time()
        to_json(answer)
        t3 = time.thread_time()
        parts = ", ".join(f"{k} {v:.3f}" for k, v in spent.items())
        print(f"CPU s: validate {t1 - t0:.3f}, service {t2 - t1:.3f} ({parts}), dump {t3 - t2:.3f}")
        if os.environ.get("PROFILE") == "cprofile":
            pstats.Stats(prof).sort_stats("tottime").print_stats(18)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--learners", type=int, default=2_000)
    parser.add_argument("--modules", type=int, default=5)
    parser.add_argument("--single", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    rows = [
        "| row | engine | best | median | throughput (median) | notes |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    from bench.inprocess import engine_urls, load_line

    with tempfile.TemporaryDirectory() as work:
        for name, url in engine_urls(args.engines, work, "bangkom_progress_bench"):
            rows += run_engine(name, url, args)
    print("\n".join(rows))
    print(load_line())


if __name__ == "__main__":
    main()
