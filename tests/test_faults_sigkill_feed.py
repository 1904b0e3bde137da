"""SIGKILL the real server while enrolments, bulk enrolments and learner changes arrive,
restart it, a few times, and check the change feed (issue 11, on whichever engine the suite
runs): a change feed that lost an entry is a lost write for every integrator.

- every write answered 2xx before a kill has its entry after the restart (one entry per
  resource a transaction changed, so a learner changed k times has at least k entries);
- the sequence stays gap-free: the seqs run consecutively from the first retained to the
  counter, whatever the kills cut off (the counter moves in the writing transaction);
- a follower reading the feed from the start rebuilds the state the lists show.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from tests.conftest import serve
from tests.factories import auth_headers, make_agency, make_learner_row, make_open_cohort, make_user
from tests.factories_progress import make_course_with_modules
from tests.fault_checks import sqlite_integrity

pytestmark = pytest.mark.slow

LEARNERS = 600
KILLS = 3
BULK = 20  # rows of a bulk enrolment in the stream


def _letters(n: int) -> str:
    """n as a word of letters (a name takes no digits): 0 'A', 25 'Z', 26 'Ba'..."""
    word = ""
    while True:
        n, r = divmod(n, 26)
        word = "abcdefghijklmnopqrstuvwxyz"[r] + word
        if n == 0:
            return word.capitalize()


def _kill(proc: Any) -> None:
    proc.kill()  # SIGKILL: no shutdown handler, no rollback, no flush
    proc.wait(timeout=10)


class Writers:
    """Two clients writing until stopped; what was acknowledged, by (type, id)."""

    def __init__(self, base: str, admin: dict[str, str], cohort: str, keys: list[str]) -> None:
        self.base, self.admin, self.cohort, self.keys = base, admin, cohort, keys
        self.acked: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.next_learner = 0
        self.errors: list[str] = []  # answers other than success (asserted by the test)

    def _ack(self, kind: str, ident: str) -> None:
        with self.lock:
            self.acked[(kind, ident)] += 1

    def _take(self, n: int) -> list[str]:
        with self.lock:
            start = self.next_learner
            self.next_learner = min(start + n, len(self.keys))
            return self.keys[start : self.next_learner]

    def enrol(self) -> None:
        """Single enrolments and, every fifth request, a bulk enrolment of 20 rows."""
        with httpx.Client(base_url=self.base, headers=self.admin, timeout=30) as http:
            for n in range(100_000):
                keys = self._take(BULK if n % 5 == 4 else 1)
                if self.stop.is_set() or not keys:
                    return
                url = f"/v1/cohorts/{self.cohort}/enrollments"
                try:
                    if len(keys) == 1:
                        got = http.post(url, json={"learner_key": keys[0]})
                    else:
                        body = ("nip\n" + "\n".join(keys) + "\n").encode()
                        got = http.post(
                            f"{url}/bulk", content=body, headers={"Content-Type": "text/csv"}
                        )
                except httpx.TransportError:
                    return  # killed mid-request: not acknowledged
                if got.status_code != 201:
                    self.errors.append(got.text)
                    return
                if len(keys) == 1:
                    self._ack("enrollment", got.json()["id"])
                else:
                    for row in got.json()["rows"]:
                        self._ack("enrollment", row["enrollment_id"])

    def rename(self) -> None:
        """Changes of learners (the first 50, over and over)."""
        with httpx.Client(base_url=self.base, headers=self.admin, timeout=30) as http:
            for n in range(100_000):
                if self.stop.is_set():
                    return
                key = self.keys[n % 50]
                try:
                    got = http.patch(f"/v1/learners/{key}", json={"name": f"Peserta {_letters(n)}"})
                except httpx.TransportError:
                    return
                if got.status_code != 200:
                    self.errors.append(got.text)
                    return
                self._ack("learner", got.json()["id"])


def _seqs(engine: Engine) -> tuple[list[int], int]:
    with engine.connect() as conn:
        seqs = [int(s) for s in conn.execute(text("SELECT seq FROM change ORDER BY seq")).scalars()]
        counter = int(conn.execute(text("SELECT last_seq FROM change_counter")).scalar_one())
    return seqs, counter


def _follow(http: httpx.Client) -> list[dict[str, Any]]:
    """Every entry of the feed from the start, page by page."""
    entries: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        url = "/v1/changes?limit=500" + (f"&after={after}" if after else "")
        page = http.get(url)
        assert page.status_code == 200, page.text
        entries += page.json()["items"]
        after = page.json()["next_cursor"]
        if len(page.json()["items"]) < 500:
            return entries


def _listed(http: httpx.Client, path: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    url: str | None = f"{path}?limit=200"
    while url:
        page = http.get(url)
        assert page.status_code == 200, page.text
        found.update({item["id"]: item for item in page.json()["items"]})
        cursor = page.json()["next_cursor"]
        url = f"{path}?limit=200&cursor={cursor}" if cursor else None
    return found


def test_every_acknowledged_write_keeps_its_feed_entry_and_the_feed_stays_gap_free(
    engine: Engine, session: Session
) -> None:
    rng = random.Random()
    agency = make_agency(session)
    admin = auth_headers(make_user(session, agency, "agency_admin"))
    keys = [make_learner_row(session, agency, i).learner_key for i in range(LEARNERS)]
    session.commit()
    session.rollback()  # release SQLite's write lock before the server writes
    proc, base = serve({})
    try:
        with httpx.Client(base_url=base, timeout=60) as http:
            course_id, _ = make_course_with_modules(http, admin)
            cohort = make_open_cohort(http, admin, course_id, capacity=None)["id"]
        acked: Counter[tuple[str, str]] = Counter()
        kills = start_at = 0
        for _ in range(KILLS):
            writers = Writers(base, admin, cohort, keys)
            writers.next_learner = start_at
            threads = [
                threading.Thread(target=writers.enrol),
                threading.Thread(target=writers.rename),
            ]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 60
            while sum(writers.acked.values()) < 10 and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0, 0.5))
            _kill(proc)
            kills += 1
            writers.stop.set()
            for t in threads:
                t.join(timeout=60)
            acked.update(writers.acked)
            assert writers.errors == []
            if engine.dialect.name == "sqlite":
                assert sqlite_integrity(str(engine.url.database)) == ["ok"]
            proc, base = serve({})
            # the next round enrols after every learner already in (a request cut off by
            # the kill may have committed unanswered)
            with engine.connect() as conn:
                start_at = int(
                    conn.execute(
                        text("SELECT count(*) FROM enrollment WHERE cohort_id = :c"), {"c": cohort}
                    ).scalar_one()
                )
        seqs, counter = _seqs(engine)
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "a gap in the sequence"
        assert seqs[-1] == counter, (seqs[-1], counter)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT type, resource_id FROM change")).all()
        logged = Counter((str(t), str(r)) for t, r in rows)
        lost = {
            k: (n, logged[k])
            for k, n in acked.items()
            if k[0] in ("enrollment", "learner") and logged[k] < n
        }
        assert lost == {}, f"acknowledged writes without their entry: {list(lost.items())[:5]}"
        with httpx.Client(base_url=base, headers=admin, timeout=60) as http:
            state: dict[tuple[str, str], dict[str, Any]] = {}
            for entry in _follow(http):
                state[(entry["type"], entry["id"])] = entry["data"]
            enrolments = _listed(http, f"/v1/cohorts/{cohort}/enrollments")
            learners = _listed(http, "/v1/learners")
        rebuilt = {i: d for (t, i), d in state.items() if t == "enrollment"}
        assert rebuilt.keys() == enrolments.keys()
        assert all(rebuilt[i]["version"] == e["version"] for i, e in enrolments.items())
        people = {i: d for (t, i), d in state.items() if t == "learner"}
        renamed = {i for t, i in acked if t == "learner"}
        assert renamed <= people.keys()
        assert all(people[i]["name"] == learners[i]["name"] for i in renamed)
        written = sum(n for k, n in acked.items() if k[0] in ("enrollment", "learner"))
        print(
            f"{kills} kills; {written} acknowledged writes, each with its entry; {len(seqs)} seqs"
        )
    finally:
        if proc.poll() is None:
            _kill(proc)
