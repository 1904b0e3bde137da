"""Bulk enrolments racing single enrolments and each other on a live server: the cohort
row lock keeps capacity, counters and the waitlist exact."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlmodel import Session

from tests.test_enrollments_concurrency import _check_counts, _setup


@pytest.mark.slow
def test_parallel_bulk_files_and_single_enrolments_never_overbook(
    live_server: str, session: Session
) -> None:
    headers, cohort_id, keys = _setup(live_server, session, 80, waitlist_enabled=True)
    url = f"{live_server}/v1/cohorts/{cohort_id}/enrollments"
    files = [keys[0:30], keys[30:60]]
    singles = keys[60:80]

    def bulk(part: list[str]) -> httpx.Response:
        body = ("nip\n" + "\n".join(part) + "\n").encode()
        return httpx.post(
            f"{url}/bulk", content=body, headers=headers | {"Content-Type": "text/csv"}, timeout=60
        )

    def single(key: str) -> httpx.Response:
        return httpx.post(url, json={"learner_key": key}, headers=headers, timeout=60)

    with ThreadPoolExecutor(max_workers=8) as pool:
        bulks = [pool.submit(bulk, part) for part in files]
        ones = [pool.submit(single, key) for key in singles]
        answers = [f.result() for f in bulks + ones]
    assert all(a.status_code == 201 for a in answers), [
        a.text for a in answers if a.status_code != 201
    ]
    seated, waiting = _check_counts(live_server, headers, cohort_id)
    assert seated == 40 and len(waiting) == 40
