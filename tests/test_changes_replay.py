"""Following the change feed from the start and applying each entry rebuilds exactly the
server's state, while writers run in parallel against the live server: single and bulk
enrolments, withdrawals, progress batches, course, cohort and learner edits."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from app.models import ProgressRecord
from app.services.learning import progress
from tests.factories import make_learner
from tests.factories_progress import record, setup_progress

State = dict[tuple[str, str], dict[str, Any]]


def _apply(state: State, items: list[dict[str, Any]]) -> None:
    for entry in items:
        key = (entry["type"], entry["id"])
        if entry["data"].get("deleted") is True:
            state.pop(key, None)
        else:
            state[key] = entry["data"]


def _everything(http: httpx.Client, path: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    params: dict[str, str] = {"limit": "200"}
    while True:
        page = http.get(path, params=params)
        assert page.status_code == 200, page.text
        found.update({item["id"]: item for item in page.json()["items"]})
        if not page.json()["next_cursor"]:
            return found
        params["cursor"] = page.json()["next_cursor"]


def _of(state: State, kind: str) -> dict[str, dict[str, Any]]:
    return {ident: data for (k, ident), data in state.items() if k == kind}


@pytest.mark.slow
def test_following_the_feed_rebuilds_the_state_under_concurrent_writers(
    client: TestClient, session: Session, live_server: str
) -> None:
    s = setup_progress(client, session, learners=6)
    singles = [make_learner(client, s.headers)["learner_key"] for _ in range(6)]
    bulk = [make_learner(client, s.headers)["learner_key"] for _ in range(6)]
    cohort = client.get(f"/v1/cohorts/{s.cohort_id}", headers=s.headers).json()
    course_id = cohort["course_id"]
    http = httpx.Client(base_url=live_server, headers=s.headers, timeout=60)

    state: State = {}
    writing = threading.Event()
    writing.set()
    pages: list[int] = []

    def reader() -> None:
        after: str | None = None
        with httpx.Client(base_url=live_server, headers=s.headers, timeout=60) as feed:
            while True:
                done = not writing.is_set()  # read before the page: one more empty page after
                params = {"limit": "7", **({"after": after} if after else {})}
                got = feed.get("/v1/changes", params=params)
                assert got.status_code == 200, got.text
                _apply(state, got.json()["items"])
                pages.append(len(got.json()["items"]))
                after = got.json()["next_cursor"]
                if done and not got.json()["items"]:
                    return

    def enrol_one(key: str) -> httpx.Response:
        return http.post(f"/v1/cohorts/{s.cohort_id}/enrollments", json={"learner_key": key})

    def enrol_file() -> httpx.Response:
        body = ("nip\n" + "\n".join(bulk) + "\n").encode()
        return http.post(
            f"/v1/cohorts/{s.cohort_id}/enrollments/bulk",
            content=body,
            headers={"Content-Type": "text/csv"},
        )

    def withdraw(enrollment_id: str) -> httpx.Response:
        return http.post(
            f"/v1/enrollments/{enrollment_id}/transitions",
            json={"to": "withdrawn", "reason": "Tugas dinas mendesak"},
        )

    def batch(n: int) -> httpx.Response:
        records = [
            {**record(percent=10 + n, occurred_at=f"2025-05-15T{n:02d}:00:00Z",
                      external_id=f"lms-{n}-{e}-{m}"),
             "enrollment_id": e, "module_id": m}
            for e in s.enrollments for m in (s.assessed, s.unassessed)
        ]  # fmt: skip
        return http.post("/v1/progress/batch", json={"records": records})

    def edit_course(n: int) -> httpx.Response:
        return http.patch(f"/v1/courses/{course_id}", json={"summary": f"Ringkasan {n}"})

    def edit_cohort(n: int) -> httpx.Response:
        return http.patch(f"/v1/cohorts/{s.cohort_id}", json={"venue": f"Aula {n}"})

    def edit_learner(key: str) -> httpx.Response:
        return http.patch(f"/v1/learners/{key}", json={"work_unit": "Bagian Umum"})

    with ThreadPoolExecutor(max_workers=8) as pool:
        following = pool.submit(reader)
        jobs = [pool.submit(enrol_one, k) for k in singles]
        jobs.append(pool.submit(enrol_file))
        jobs += [pool.submit(withdraw, e) for e in s.enrollments[:3]]
        jobs += [pool.submit(batch, n) for n in range(1, 5)]
        jobs += [pool.submit(edit_course, n) for n in range(3)]
        jobs += [pool.submit(edit_cohort, n) for n in range(3)]
        jobs += [pool.submit(edit_learner, k) for k in s.keys[:3]]
        answers = [j.result() for j in jobs]
        writing.clear()
        following.result()
    assert all(a.status_code in (200, 201) for a in answers), [
        a.text for a in answers if a.status_code not in (200, 201)
    ]
    assert len(pages) > 3  # the reader followed while the writers wrote

    assert _of(state, "course") == _everything(http, "/v1/courses")
    assert _of(state, "cohort") == _everything(http, "/v1/cohorts")
    assert _of(state, "learner") == _everything(http, "/v1/learners")
    roster = _everything(http, f"/v1/cohorts/{s.cohort_id}/enrollments")
    assert len(roster) == 18 and _of(state, "enrollment") == roster
    assert sum(1 for e in roster.values() if e["status"] == "withdrawn") == 3
    session.rollback()
    rows = session.exec(select(ProgressRecord)).all()
    assert _of(state, "progress") == {
        r.id: progress.public(r).model_dump(mode="json") for r in rows
    }
    assert len(rows) >= 6  # the seated enrolments have both modules (withdrawn: maybe not)
    http.close()
