"""SIGKILL the real server while LMS progress batches arrive, restart it, and check that
no acknowledged progress is lost (issue 11, on whichever engine the suite runs).

- A stream of 200-record batches (each newer than the last) killed at a random moment:
  every record of every batch answered 201 is stored after the restart with the state it
  was acknowledged with, or a newer one.
- A 10,000-record batch killed at random moments of its request: the service writes a
  batch in one transaction (services/learning/progress.py commits once), so after each
  kill the batch is stored whole or not at all, and whole when it was answered 201.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from app.models.progress import ProgressRecord
from tests.conftest import serve
from tests.factories import auth_headers, make_agency, make_learner_row, make_open_cohort, make_user
from tests.factories_progress import make_course_with_modules
from tests.fault_checks import count, sqlite_integrity

pytestmark = pytest.mark.slow

LEARNERS = 5_000  # x 2 modules: 10,000 records in one batch
STREAM_BATCH = 100  # enrolments a batch of the stream: 200 records
BIG_KILLS = 3
START = datetime(2025, 5, 15, 1, 0, tzinfo=UTC)


@dataclass
class World:
    admin: dict[str, str]
    modules: list[str]
    enrollments: list[str]


def _world(http: httpx.Client, session: Session) -> World:
    agency = make_agency(session)
    admin = auth_headers(make_user(session, agency, "agency_admin"))
    keys = [make_learner_row(session, agency, i).learner_key for i in range(LEARNERS)]
    session.commit()
    session.rollback()
    course_id, modules = make_course_with_modules(http, admin)
    cohort = make_open_cohort(http, admin, course_id, capacity=None)["id"]
    body = ("NIP,Nama\n" + "".join(f"{k},Peserta\n" for k in keys)).encode()
    bulk = http.post(
        f"/v1/cohorts/{cohort}/enrollments/bulk",
        content=body,
        headers={**admin, "Content-Type": "text/csv"},
    )
    assert bulk.status_code == 201, bulk.text
    with session.get_bind().connect() as conn:
        rows = conn.execute(
            text("SELECT id FROM enrollment WHERE cohort_id = :c ORDER BY id"), {"c": cohort}
        )
        enrollments = [str(r[0]) for r in rows]
    assert len(enrollments) == LEARNERS
    return World(admin, modules, enrollments)


def _records(w: World, first: int, count_: int, at: datetime, tag: str) -> list[dict[str, Any]]:
    out = []
    for j in range(first, first + count_):
        for m, module in enumerate(w.modules):
            out.append(
                {
                    "enrollment_id": w.enrollments[j % LEARNERS],
                    "module_id": module,
                    "status": "in_progress",
                    "percent": (j + m) % 100,
                    "occurred_at": at.isoformat(),
                    "source": "moodle",
                    "external_id": f"{tag}-{j % LEARNERS}-{m}",
                }
            )
    return out


def _stored(engine: Engine) -> dict[tuple[str, str], tuple[datetime, int]]:
    with Session(engine) as s:
        rows = s.exec(select(ProgressRecord)).all()
        return {(r.enrollment_id, r.module_id): (r.occurred_at, r.percent) for r in rows}


def _kill(proc: Any) -> None:
    proc.kill()  # SIGKILL: no shutdown handler, no rollback, no flush
    proc.wait(timeout=10)


def _check_engine(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        assert sqlite_integrity(str(engine.url.database)) == ["ok"]


def test_no_acknowledged_progress_batch_is_lost_when_the_server_is_killed(
    engine: Engine, session: Session
) -> None:
    proc, base = serve({})
    try:
        with httpx.Client(base_url=base, timeout=60) as http:
            w = _world(http, session)
        acknowledged: list[list[dict[str, Any]]] = []
        stop = threading.Event()

        def stream() -> None:
            with httpx.Client(base_url=base, timeout=60) as http:
                for n in range(10_000):
                    if stop.is_set():
                        return
                    at = START + timedelta(seconds=n)
                    batch = _records(w, n * STREAM_BATCH, STREAM_BATCH, at, f"s{n}")
                    try:
                        got = http.post(
                            "/v1/progress/batch", json={"records": batch}, headers=w.admin
                        )
                    except httpx.TransportError:
                        return  # killed mid-request: not acknowledged
                    assert got.status_code == 201, got.text
                    assert got.json()["counts"]["rejected"] == 0
                    acknowledged.append(batch)

        writer = threading.Thread(target=stream)
        writer.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 3 and writer.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(acknowledged) >= 3, "the stream did not start"
        time.sleep(random.uniform(0, 1.0))
        _kill(proc)
        stop.set()
        writer.join(timeout=60)
        proc, base = serve({})
        stored = _stored(engine)
        lost = []
        for batch in acknowledged:
            for r in batch:
                at, percent = stored.get((r["enrollment_id"], r["module_id"]), (None, None))
                sent = datetime.fromisoformat(r["occurred_at"])
                if at is None or at < sent or (at == sent and percent != r["percent"]):
                    lost.append((r["external_id"], at, percent))
        assert lost == [], f"{len(lost)} acknowledged records lost or older: {lost[:5]}"
        _check_engine(engine)
        last = acknowledged[-1][0]
        with httpx.Client(base_url=base, timeout=30) as http:
            got = http.get(f"/v1/enrollments/{last['enrollment_id']}/progress", headers=w.admin)
            assert got.status_code == 200, got.text
        print(f"{len(acknowledged)} batches of {2 * STREAM_BATCH} acknowledged before the kill")
    finally:
        if proc.poll() is None:
            _kill(proc)


def _big_rows(engine: Engine, tag: str) -> int:
    with engine.connect() as conn:
        query = "SELECT count(*) FROM progress_record WHERE external_id LIKE :p"
        return count(conn, query, p=f"{tag}-%")


def test_a_10000_record_progress_batch_killed_mid_request_is_all_or_nothing(
    engine: Engine, session: Session
) -> None:
    rng = random.Random()
    proc, base = serve({})
    try:
        with httpx.Client(base_url=base, timeout=120) as http:
            w = _world(http, session)
            probe = _records(w, 0, LEARNERS, START, "probe")
            first = http.post("/v1/progress/batch", json={"records": probe}, headers=w.admin)
            assert first.status_code == 201, first.text
            assert first.json()["counts"]["created"] == 2 * LEARNERS
            # the request time of an update of every record, as each round below sends
            probe = _records(w, 0, LEARNERS, START + timedelta(minutes=1), "probe2")
            started = time.monotonic()
            again = httpx.post(
                f"{base}/v1/progress/batch", json={"records": probe}, headers=w.admin, timeout=120
            )
            request_time = time.monotonic() - started
            assert again.json()["counts"]["updated"] == 2 * LEARNERS
        outcomes: list[int] = []
        delays: list[float] = []
        for round_ in range(BIG_KILLS):
            tag = f"big{round_}"
            records = _records(w, 0, LEARNERS, START + timedelta(hours=round_ + 1), tag)
            answer: list[httpx.Response | Exception] = []

            def post(
                url: str = f"{base}/v1/progress/batch",
                records: list[dict[str, Any]] = records,
                answer: list[Any] = answer,
            ) -> None:
                try:
                    answer.append(
                        httpx.post(url, json={"records": records}, headers=w.admin, timeout=120)
                    )
                except httpx.TransportError as exc:
                    answer.append(exc)

            sender = threading.Thread(target=post)
            sender.start()
            # spread over the request and a little past it: both sides of the commit
            delay = request_time * 1.5 * (round_ + rng.random()) / BIG_KILLS
            time.sleep(delay)
            _kill(proc)
            delays.append(delay)
            sender.join(timeout=60)
            written = _big_rows(engine, tag)
            assert written in (0, 2 * LEARNERS), f"{written} records after a kill at {delay:.2f}s"
            if answer and isinstance(answer[0], httpx.Response):
                assert answer[0].status_code == 201, answer[0].text
                assert written == 2 * LEARNERS  # answered: kept
            _check_engine(engine)
            outcomes.append(written)
            proc, base = serve({})
        print(
            f"request {request_time:.2f} s; kept {outcomes.count(2 * LEARNERS)}/{BIG_KILLS} "
            f"killed batches (kills at {', '.join(f'{d:.2f}' for d in delays)} s)"
        )
        with httpx.Client(base_url=base, timeout=30) as http:
            assert http.get("/health/ready").status_code == 200
    finally:
        if proc.poll() is None:
            _kill(proc)
