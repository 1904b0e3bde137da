"""bench/scale.py's change feed, grants and memory: fill the change log and the
cross-agency grants as the app would have written them, and measure the peak RSS of one
server worker (a real ``bangkom serve --workers 1`` process on the filled database) during a
10,000-row bulk enrolment and during 1,000-entry change-feed pages."""

from __future__ import annotations

import itertools
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]


def fill_grants(engine: Any) -> int:
    """learner_grant for the filled enrolments (the bench's course has no partners): the
    organiser of each enrolment of a learner from another agency; answers the rows."""
    from sqlalchemy import text

    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO learner_grant (agency_id, learner_id) SELECT DISTINCT e.agency_id, "
                "e.learner_id FROM enrollment e JOIN learner l ON l.id = e.learner_id "
                "WHERE e.agency_id <> l.agency_id"
            )
        )
        return int(conn.execute(text("SELECT count(*) FROM learner_grant")).scalar() or 0)


def fill_change_feed(
    engine: Any,
    bulk: Callable[[Any, Any, Iterable[dict[str, Any]]], None],
    learners: Iterable[tuple[str, str]],
    enrolments: Iterable[tuple[str, str, str, str, str]],
) -> tuple[int, int]:
    """One change-log entry per learner ``(id, home)`` and per enrolment ``(id, organiser,
    course, learner, home)``, as the session hook writes them, numbered after the entries
    the set-up already wrote, alternating (so every page holds the same mix: enrolments
    cost more to render than learners); the counter moves on. Answers (first seq, last
    seq)."""
    from sqlalchemy import text

    from app.models import Change

    with engine.connect() as conn:
        start = int(conn.execute(text("SELECT last_seq FROM change_counter")).scalar() or 0)
    now = datetime.now(UTC)
    seq = start

    def learner_rows() -> Iterable[dict[str, Any]]:
        for learner, home in learners:
            yield {"type": "learner", "resource_id": learner, "op": "upsert",
                   "agency_id": home, "learner_agency_id": home, "course_id": None,
                   "learner_id": learner, "committed_at": now}  # fmt: skip

    def enrolment_rows() -> Iterable[dict[str, Any]]:
        for enrolment, organiser, course, learner, home in enrolments:
            yield {"type": "enrollment", "resource_id": enrolment, "op": "upsert",
                   "agency_id": organiser, "learner_agency_id": home, "course_id": course,
                   "learner_id": learner, "committed_at": now}  # fmt: skip

    def rows() -> Iterable[dict[str, Any]]:
        nonlocal seq
        for pair in itertools.zip_longest(learner_rows(), enrolment_rows()):
            for row in pair:
                if row is not None:
                    seq += 1
                    yield {"seq": seq, **row}

    bulk(engine, Change.__table__, rows())  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(text("UPDATE change_counter SET last_seq = :s"), {"s": seq})
    return start + 1, seq


def admin_headers(agency_id: str) -> dict[str, str]:
    """An agency admin of ``agency_id`` and a bearer token for it."""
    from app.core.db import session_scope
    from app.core.security import Principal, create_access_token
    from app.models import User

    with session_scope(write=True) as session:
        email = f"admin-{secrets.token_hex(4)}@{agency_id}.example".lower()
        user = User(agency_id=agency_id, email=email, email_normalized=email,
                    full_name="Admin Skala", roles=["agency_admin"], password_hash="!no-login")  # fmt: skip
        session.add(user)
        session.commit()
        principal = Principal(subject=user.id, agency_id=agency_id, roles=frozenset(user.roles))
        token, _ = create_access_token(principal, ttl_seconds=3600)
    return {"Authorization": f"Bearer {token}"}


def _peak_mb(pid: int) -> tuple[float, float]:
    """(VmHWM, VmRSS) of ``pid`` in MB: the peak and the current resident set."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            found[name] = int(value.split()[0]) / 1024
    return found["VmHWM"], found["VmRSS"]


class Worker:
    """``bangkom serve --workers 1`` on ``url``: one process, which is the worker."""

    def __init__(self, url: str) -> None:
        from bench.servers import free_port

        self.base = f"http://127.0.0.1:{free_port()}"
        env = os.environ | {"BANGKOM_DATABASE_URL": url}
        self.log = tempfile.TemporaryFile()
        port = self.base.rsplit(":", 1)[1]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", port,
             "--workers", "1"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(self.log.read().decode(errors="replace")[-3000:])
            try:
                if httpx.get(f"{self.base}/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("the server did not start in 60 s")

    def peak_mb(self) -> tuple[float, float]:
        return _peak_mb(self.proc.pid)

    def reset_peak(self) -> None:
        """Start VmHWM afresh (Linux: 5 > /proc/PID/clear_refs), so the peak is the next
        request's, not start-up's: importing app.core.security hashes the Argon2 dummy
        password (64 MiB of memory cost) once, which no request repeats but a login."""
        Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.log.close()


def measure_rss(
    url: str, headers: dict[str, str], csv_body: bytes, feed_urls: list[str]
) -> dict[str, float]:
    """RSS (MB) of one worker: after start and a first request (``rss_base``: resident;
    ``rss_start``: the peak of start-up); the peak during a bulk enrolment of ``csv_body``
    into a new cohort (``rss_bulk``); in a second, fresh worker, the peak during the
    change-feed pages ``feed_urls`` (``rss_feed``)."""
    from tests.factories import make_open_cohort, make_published_course

    figures: dict[str, float] = {}
    worker = Worker(url)
    try:
        with httpx.Client(base_url=worker.base, headers=headers, timeout=300) as http:
            assert http.get("/v1/learners?limit=50").status_code == 200
            figures["rss_start"], figures["rss_base"] = worker.peak_mb()
            course = make_published_course(http, headers, code=f"RSS-{secrets.token_hex(4)}")
            cohort = make_open_cohort(http, headers, course["id"], year=2025, capacity=None)
            worker.reset_peak()
            got = http.post(
                f"/v1/cohorts/{cohort['id']}/enrollments/bulk",
                content=csv_body,
                headers={"Content-Type": "text/csv"},
            )
            assert got.status_code == 201, got.text[:300]
            figures["rss_bulk"] = worker.peak_mb()[0]
    finally:
        worker.stop()
    worker = Worker(url)
    try:
        with httpx.Client(base_url=worker.base, headers=headers, timeout=300) as http:
            assert http.get("/v1/learners?limit=50").status_code == 200
            worker.reset_peak()
            for feed in feed_urls:
                got = http.get(feed)
                assert got.status_code == 200, got.text[:300]
                assert len(got.json()["items"]) == 1000, len(got.json()["items"])
            figures["rss_feed"] = worker.peak_mb()[0]
    finally:
        worker.stop()
    return figures
