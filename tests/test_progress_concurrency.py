"""Parallel progress batches against the real server: whatever order they commit in, each
(enrolment, module) ends with the newest record, and the replays of the losers change
nothing. The guard is the upsert's ``WHERE excluded.occurred_at > stored`` (on PostgreSQL
evaluated against the row the other transaction committed), not Python."""

from __future__ import annotations

import httpx
from sqlmodel import Session
from starlette.testclient import TestClient

from tests.factories_progress import record, setup_progress, stored
from tests.parallel import race

BATCHES = 8


def test_parallel_batches_on_the_same_modules_end_with_the_newest(
    client: TestClient, session: Session, live_server: str
) -> None:
    s = setup_progress(client, session, learners=4)
    pairs = [(e, m) for e in s.enrollments for m in (s.assessed, s.unassessed)]

    def batch(n: int) -> list[dict[str, object]]:
        # batch n reports hour n for every pair, in its own order (reversed for odd n)
        order = pairs if n % 2 == 0 else pairs[::-1]
        return [
            {**record(percent=10 + n, occurred_at=f"2025-05-15T{n:02d}:00:00Z",
                      external_id=f"lms-{n}-{e}-{m}"),
             "enrollment_id": e, "module_id": m}
            for e, m in order
        ]  # fmt: skip

    def send(http: httpx.Client, i: int) -> httpx.Response:
        return http.post(
            f"{live_server}/v1/progress/batch", json={"records": batch(i)}, headers=s.headers
        )

    answers = race(BATCHES, send)
    assert {a.status_code for a in answers} <= {200, 201}, [a.text for a in answers]
    rows = stored(session)
    newest = BATCHES - 1
    assert len(rows) == len(pairs)
    assert {(r[3], r[8].split("-")[1]) for r in rows} == {(10 + newest, str(newest))}
    outcomes = {r["outcome"] for a in answers for r in a.json()["results"]}
    assert outcomes <= {"created", "updated", "stale"}
    # every pair was created exactly once, whichever batch came first
    created = sum(a.json()["counts"]["created"] for a in answers)
    assert created == len(pairs)
    replays = race(BATCHES, send)
    assert {a.status_code for a in replays} == {200}  # nothing new: nothing written
    assert all(r["outcome"] in {"unchanged", "stale"} for a in replays for r in a.json()["results"])
    assert stored(session) == rows
