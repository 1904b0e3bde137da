"""Parallel POSTs of one certificate for one learner against the real server: one 201, the
rest 409 naming it, never a 500 or a second credit."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import Session

from tests.factories import auth_headers, make_agency, make_user, nip
from tests.factories_jpledger import external
from tests.parallel import race


@pytest.mark.slow
def test_parallel_posts_of_one_certificate_credit_once(live_server: str, session: Session) -> None:
    headers = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    session.rollback()  # release SQLite's write lock before the server writes
    key = nip()
    put = httpx.put(
        f"{live_server}/v1/learners/{key}",
        json={"asn_type": "pns", "name": "Peserta Balapan"},
        headers=headers,
        timeout=30,
    )
    assert put.status_code == 201, put.text
    body = external(certificate_number="RACE/001")
    url = f"{live_server}/v1/learners/{key}/jp-records"
    count = 6

    def post(http: httpx.Client, _i: int) -> httpx.Response:
        return http.post(url, json=body, headers=headers)

    responses = race(count, post)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (count - 1), [r.text for r in responses]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"jp_record_exists"}
    year = httpx.get(f"{live_server}/v1/learners/{key}/jp?year=2025", headers=headers, timeout=30)
    assert year.json()["total_jp"] == 4
