"""Parallel PUTs of one new NIP against the real server: one 201, the rest 200, never a
500 or a second learner (the loser's insert fails on the unique key and is retried as an
update: upsert semantics that just work for sync scripts)."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import Session

from tests.factories import auth_headers, learner_payload, make_agency, make_user, nip
from tests.parallel import race


@pytest.mark.slow
def test_parallel_puts_of_one_new_nip_give_one_201_and_200s(
    live_server: str, session: Session
) -> None:
    headers = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    session.rollback()  # release SQLite's write lock before the server writes
    count = 6
    for _ in range(3):
        url = f"{live_server}/v1/learners/{nip()}"

        def put(http: httpx.Client, i: int, url: str = url) -> httpx.Response:
            body = learner_payload(name="Peserta Balapan", work_unit=f"Unit {i}")
            return http.put(url, json=body, headers=headers)

        responses = race(count, put)
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] * (count - 1) + [201], [r.text for r in responses]
        ids = {r.json()["id"] for r in responses}
        assert len(ids) == 1
    listed = httpx.get(f"{live_server}/v1/learners", headers=headers, timeout=30).json()
    assert len(listed["items"]) == 3
