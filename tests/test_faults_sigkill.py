"""SIGKILL the real server mid-write, restart it, and check what a crash must not break.

- A 10,000-row bulk enrolment killed at random moments (20 kills across the test, each
  at a random delay between 0 and the measured request time): the cohort holds every row
  of the batch or none, the cohort counters equal the counted enrolments and SQLite's
  ``PRAGMA integrity_check`` is ok.
- A stream of single enrolments killed at a random moment: every enrolment answered 201
  before the kill is there after the restart (no acknowledged write lost).

Both run on SQLite and PostgreSQL (whichever the suite runs on). Extend ``WRITES`` style
checks here when progress batches and the change feed land: post them in the stream and
look each acknowledged one up after the restart.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from tests.conftest import serve
from tests.factories import (
    auth_headers,
    make_agency,
    make_learner_row,
    make_open_cohort,
    make_published_course,
    make_user,
)
from tests.fault_checks import count, counter_mismatches, sqlite_integrity

pytestmark = pytest.mark.slow

ROWS = 10_000
KILLS = 20


@dataclass
class World:
    admin: dict[str, str]
    course_id: str
    keys: list[str]


def _world(http: httpx.Client, session: Session, learners: int) -> World:
    agency = make_agency(session)
    admin = auth_headers(make_user(session, agency, "agency_admin"))
    keys = [make_learner_row(session, agency, i).learner_key for i in range(learners)]
    session.commit()
    session.rollback()
    course = make_published_course(http, admin)
    return World(admin, course["id"], keys)


def _cohort(http: httpx.Client, w: World, year: int, capacity: int) -> str:
    # one cohort a year: cohorts of one course must not overlap for the same learner
    made = make_open_cohort(
        http, w.admin, w.course_id, year=year, capacity=capacity, waitlist_enabled=True
    )
    return str(made["id"])


def _kill(proc: Any) -> None:
    proc.kill()  # SIGKILL: no shutdown handler, no rollback, no flush
    proc.wait(timeout=10)


def _start_into(out: list[tuple[Any, str]]) -> None:
    """Start a server in a thread; on a machine too busy to start one in 30 s, leave ``out``
    empty and let the caller start one itself."""
    try:
        out.append(serve({}))
    except RuntimeError:
        pass


def _check_database(engine: Engine) -> None:
    with engine.connect() as conn:
        assert counter_mismatches(conn) == {}
    if engine.dialect.name == "sqlite":
        assert sqlite_integrity(str(engine.url.database)) == ["ok"]


def _enrolled(engine: Engine, cohort_id: str) -> int:
    with engine.connect() as conn:
        return count(conn, "SELECT count(*) FROM enrollment WHERE cohort_id = :c", c=cohort_id)


def test_bulk_enrolment_killed_at_random_points_is_all_or_nothing(
    engine: Engine, session: Session
) -> None:
    rng = random.Random()
    proc, base = serve({})
    try:
        with httpx.Client(base_url=base, timeout=120) as http:
            w = _world(http, session, ROWS)
            body = ("NIP,Nama\n" + "".join(f"{k},Peserta\n" for k in w.keys)).encode()
            csv = {**w.admin, "Content-Type": "text/csv"}
            # the request time, measured with the same batch into a cohort of its own while
            # a spare server starts, as it does in each round below
            probe = _cohort(http, w, 2030, ROWS // 2)
            spare: list[tuple[Any, str]] = []
            starter = threading.Thread(target=_start_into, args=(spare,))
            starter.start()
            started = time.monotonic()
            first = http.post(f"/v1/cohorts/{probe}/enrollments/bulk", content=body, headers=csv)
            request_time = time.monotonic() - started
            assert first.status_code == 201, first.text
            starter.join()  # serve() gives up by itself after 30 s
            if spare:
                _kill(spare[0][0])
            cohorts = [_cohort(http, w, 2031 + n, ROWS // 2) for n in range(KILLS)]
        outcomes = []
        timings = {"check": 0.0, "wait": 0.0}
        for cohort_id in cohorts:
            delay = rng.uniform(0, request_time)
            answer: list[httpx.Response | Exception] = []
            url = f"{base}/v1/cohorts/{cohort_id}/enrollments/bulk"

            def post(url: str = url, answer: list[Any] = answer) -> None:
                try:
                    answer.append(httpx.post(url, content=body, headers=csv, timeout=120))
                except httpx.TransportError as exc:
                    answer.append(exc)

            # the next server starts while this one works: the restart costs no test time
            following: list[tuple[Any, str]] = []
            starter = threading.Thread(target=_start_into, args=(following,))
            sender = threading.Thread(target=post)
            sender.start()
            starter.start()
            time.sleep(delay)
            _kill(proc)
            sender.join(timeout=30)
            started = time.monotonic()
            enrolled = _enrolled(engine, cohort_id)
            assert enrolled in (0, ROWS), f"{enrolled} rows after a kill at {delay:.3f} s"
            if answer and isinstance(answer[0], httpx.Response):
                assert answer[0].status_code == 201 and enrolled == ROWS  # answered: kept
            _check_database(engine)
            timings["check"] += time.monotonic() - started
            outcomes.append(enrolled)
            started = time.monotonic()
            starter.join()  # serve() gives up by itself after 30 s
            timings["wait"] += time.monotonic() - started
            proc, base = following[0] if following else serve({})  # a slow start: again
        # both sides of the commit were hit at least once over the 20 kills (very likely;
        # the delays spread over the whole request)
        print(
            f"request {request_time:.2f} s; kept {outcomes.count(ROWS)}/{KILLS} batches; "
            f"checks {timings['check']:.1f} s, waiting for restarts {timings['wait']:.1f} s"
        )
        with httpx.Client(base_url=base, timeout=30) as http:
            assert http.get("/health/ready").status_code == 200
    finally:
        if proc.poll() is None:
            _kill(proc)


def test_no_acknowledged_enrolment_is_lost_when_the_server_is_killed(
    engine: Engine, session: Session
) -> None:
    proc, base = serve({})
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            w = _world(http, session, 400)
            cohort_id = _cohort(http, w, 2030, 200)  # 200 seats, the rest waitlisted
        acknowledged: list[str] = []
        stop = threading.Event()

        def stream() -> None:
            with httpx.Client(base_url=base, timeout=30) as http:
                for key in w.keys:
                    if stop.is_set():
                        return
                    try:
                        got = http.post(
                            f"/v1/cohorts/{cohort_id}/enrollments",
                            json={"learner_key": key},
                            headers=w.admin,
                        )
                    except httpx.TransportError:
                        return  # killed mid-request: not acknowledged
                    assert got.status_code == 201, got.text
                    acknowledged.append(got.json()["id"])

        writer = threading.Thread(target=stream)
        writer.start()
        while len(acknowledged) < 5:
            time.sleep(0.01)
        time.sleep(random.uniform(0, 1.0))
        _kill(proc)
        stop.set()
        writer.join(timeout=30)
        proc, base = serve({})
        with httpx.Client(base_url=base, timeout=30) as http:
            for enrollment_id in acknowledged:
                got = http.get(f"/v1/enrollments/{enrollment_id}", headers=w.admin)
                assert got.status_code == 200, f"acknowledged {enrollment_id} lost: {got.text}"
        assert _enrolled(engine, cohort_id) in (len(acknowledged), len(acknowledged) + 1)
        _check_database(engine)
    finally:
        if proc.poll() is None:
            _kill(proc)
