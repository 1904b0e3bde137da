"""Webhook deliveries per second, one worker, to a local receiver, on both engines.

    .venv/bin/python bench/webhooks.py [--deliveries 2000] [--concurrency 32]
        [--fanout 2000] [--engines sqlite,postgresql]

Each engine gets a fresh schema (SQLite: a temporary file; PostgreSQL: the database
``bangkom_webhooks_bench`` from ``scripts/postgres.sh``). The receiver is uvicorn
(httptools) in a child process answering 200 at once, so the worker is what is measured.
Rows, each the time until every delivery has succeeded (the worker in this process, as
``bangkom worker --once``: claim with a lease, sign with standardwebhooks, POST through
the SSRF guard, record the attempt and settle the delivery):

- ``--deliveries`` pending deliveries of one subscription (a 1 KiB enrolment-like body);
- the same spread over 20 subscriptions;
- fan-out: ``--fanout`` course changes in the log (one course each) made into deliveries
  for one subscription (visibility and representation per agency), without sending.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.inprocess import engine_urls, fresh_database, load_line  # noqa: E402

os.environ.setdefault("BANGKOM_SECRET_KEY", "bench-secret-key-" + "x" * 32)
os.environ.setdefault("BANGKOM_ACCESS_LOG", "false")
os.environ.setdefault("BANGKOM_LOG_LEVEL", "WARNING")
os.environ["BANGKOM_OUTBOUND_ALLOWED_NETWORKS"] = "127.0.0.1/32"


async def receiver_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The receiver: reads the body, answers 200 ``ok``."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"ok"})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_receiver() -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.webhooks:receiver_app", "--port", str(port),
         "--http", "httptools", "--loop", "uvloop", "--no-access-log", "--log-level", "warning"],
        cwd=ROOT,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"http://127.0.0.1:{port}/hook"
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the receiver did not start")


def _body(i: int) -> str:
    resource = {"id": f"enr_bench{i:021d}", "status": "active", "learner_name": "Peserta Massal",
                "note": "x" * 700}  # fmt: skip
    return json.dumps({"type": "enrollment.created", "timestamp": "2026-11-22T00:00:00Z",
                       "data": {"seq": i, "id": resource["id"], "operation": "upsert",
                                "resource": resource}})  # fmt: skip


def _subscriptions(engine: Any, agency_id: str, url: str, count: int) -> list[str]:
    from app.core.db import new_session
    from app.models.webhook import WebhookSubscription
    from tests.factories_webhooks import ALL_EVENTS, new_secret

    with new_session(engine, write=True) as session:
        subs = [
            WebhookSubscription(agency_id=agency_id, url=url, event_types=ALL_EVENTS,
                                secret=new_secret(), start_seq=0)
            for _ in range(count)
        ]  # fmt: skip
        session.add_all(subs)
        session.commit()
        return [s.id for s in subs]


def _pending(engine: Any, agency_id: str, subs: list[str], count: int) -> None:
    from sqlalchemy import insert

    from app.models.base import new_id, utcnow
    from app.models.webhook import WebhookDelivery

    now = utcnow()
    rows = [
        {"id": new_id("msg"), "subscription_id": subs[i % len(subs)], "agency_id": agency_id,
         "event_type": "enrollment.created", "payload": _body(i), "status": "pending",
         "attempts": 0, "next_attempt_at": now, "created_at": now, "updated_at": now}
        for i in range(count)
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(WebhookDelivery.__table__), rows)  # type: ignore[attr-defined]


def _deliver(engine: Any, concurrency: int) -> tuple[float, Any]:
    from app.services.webhooks.worker import Worker

    worker = Worker(engine=engine, concurrency=concurrency, poll_interval=0.05)
    started = time.perf_counter()
    stats = asyncio.run(worker.run(once=True))
    return time.perf_counter() - started, stats


def _clear(engine: Any) -> None:
    from app.models.webhook import WebhookAttempt, WebhookDelivery, WebhookSubscription

    with engine.begin() as conn:
        for model in (WebhookAttempt, WebhookDelivery, WebhookSubscription):
            conn.execute(model.__table__.delete())  # type: ignore[union-attr]


def _fanout(engine: Any, agency_id: str, url: str, count: int) -> tuple[float, int]:
    """``count`` course changes (one course each, committed in one go) fanned out."""
    from app.core.db import new_session
    from app.models import Course
    from app.models.course import DEFAULT_GRADE_BANDS, CompetencyType, CourseKind, Delivery
    from app.models.webhook import WebhookFanout
    from app.services.webhooks import fanout

    _clear(engine)
    _subscriptions(engine, agency_id, url, 1)
    with engine.begin() as conn:
        conn.execute(WebhookFanout.__table__.delete())  # type: ignore[attr-defined]
    with new_session(engine, write=True) as session:
        fanout.fan_out(session=session)  # the position: now
        courses = [
            Course(agency_id=agency_id, code=f"FAN-{i}", title=f"Pelatihan {i}",
                   kind=CourseKind.training, competency_type=CompetencyType.technical,
                   delivery=Delivery.online, total_jp_halves=4, grade_bands=DEFAULT_GRADE_BANDS)
            for i in range(count)
        ]  # fmt: skip
        session.add_all(courses)
        session.commit()
    made = 0
    started = time.perf_counter()
    more = True
    while more:
        with new_session(engine, write=True) as session:
            n, more = fanout.fan_out(session=session)
            made += n
    return time.perf_counter() - started, made


def run_engine(name: str, url: str, args: argparse.Namespace, receiver: str) -> list[str]:
    engine, ctx = fresh_database(url)
    agency_id = ctx.vars["agency_id"]
    lines = []
    for subs_count in (1, 20):
        _clear(engine)
        subs = _subscriptions(engine, agency_id, receiver, subs_count)
        _pending(engine, agency_id, subs, args.deliveries)
        seconds, stats = _deliver(engine, args.concurrency)
        assert stats.succeeded == args.deliveries, stats
        lines.append(
            f"| {name} | deliver {args.deliveries:,} to {subs_count} subscription(s), "
            f"concurrency {args.concurrency} | {seconds:.2f} s | "
            f"{args.deliveries / seconds:,.0f} deliveries/s |"
        )
    seconds, made = _fanout(engine, agency_id, receiver, args.fanout)
    assert made == args.fanout, made
    lines.append(
        f"| {name} | fan out {args.fanout:,} course changes to 1 subscription | "
        f"{seconds:.2f} s | {made / seconds:,.0f} deliveries made/s |"
    )
    engine.dispose()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--fanout", type=int, default=2000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    receiver, url = start_receiver()
    try:
        with tempfile.TemporaryDirectory(prefix="bangkom-webhooks-bench-") as work:
            lines = ["| engine | what | time | rate |", "|---|---|---|---|"]
            for name, db_url in engine_urls(args.engines, work, "bangkom_webhooks_bench"):
                lines += run_engine(name, db_url, args, url)
        print("\n".join(lines))
        print(load_line())
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)


if __name__ == "__main__":
    main()
