"""Under concurrent load the real server answers: no request waits on a pooled connection
held by another request that itself waits for a thread (FastAPI validates responses of
sync routes in the thread pool, after the route, while the request's session is open)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlmodel import Session

from tests.factories import auth_headers, make_agency, make_user


@pytest.mark.slow
def test_many_concurrent_authenticated_reads_do_not_deadlock(
    live_server: str, session: Session
) -> None:
    user = make_user(session, make_agency(session), "agency_admin")
    headers = auth_headers(user)
    session.rollback()

    def fetch(i: int) -> int:
        path = "/v1/me" if i % 2 else "/v1/agencies"
        return httpx.get(live_server + path, headers=headers, timeout=15).status_code

    with ThreadPoolExecutor(max_workers=64) as pool:
        statuses = list(pool.map(fetch, range(256)))
    assert statuses == [200] * 256
