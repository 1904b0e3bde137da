"""Under concurrent load the real server answers: no request waits on a pooled connection
held by another request that itself waits for a thread (FastAPI validates responses of
sync routes in the thread pool, after the route, while the request's session is open)."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from app.core.config import get_settings
from app.main import create_app
from app.services import auth
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


@pytest.mark.slow
def test_racing_refreshes_of_one_token_issue_at_most_one_pair(
    live_server: str, session: Session
) -> None:
    from tests.factories import PASSWORD

    user = make_user(session, make_agency(session), "viewer")
    session.rollback()
    token_url = live_server + "/v1/auth/token"
    first = httpx.post(
        token_url,
        data={"grant_type": "password", "username": user.email, "password": PASSWORD},
        timeout=15,
    ).json()

    def use(_: int) -> httpx.Response:
        return httpx.post(
            token_url,
            data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
            timeout=15,
        )

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(use, range(6)))
    winners = [r.json() for r in responses if r.status_code == 200]
    assert len(winners) == 1
    assert all(r.status_code == 400 for r in responses if r.status_code != 200)
    # the losers presented a used token: that is reuse, so the winner's pair is dead too
    again = httpx.post(
        token_url,
        data={"grant_type": "refresh_token", "refresh_token": winners[0]["refresh_token"]},
        timeout=15,
    )
    assert again.status_code == 400


@pytest.mark.slow
def test_first_requests_of_a_new_token_do_not_deadlock_a_small_pool(
    small_pool_server: str, session: Session
) -> None:
    # /v1/me and /v1/agencies take their session before their principal; on a cold
    # account cache each request also loads the account. With more such requests at
    # once than pool connections, a non-reentrant DB gate deadlocked the worker.
    users = [make_user(session, make_agency(session), "agency_admin") for _ in range(4)]
    session.rollback()

    def fetch(i: int) -> int:
        headers = auth_headers(users[i % len(users)])
        path = "/v1/me" if i % 2 else "/v1/agencies"
        return httpx.get(small_pool_server + path, headers=headers, timeout=10).status_code

    with ThreadPoolExecutor(max_workers=32) as pool:
        statuses = list(pool.map(fetch, range(64)))
    assert statuses == [200] * 64


def test_pool_lends_a_connection_to_every_admitted_request_and_every_worker_thread(
    engine: Engine,
) -> None:
    # Admission (SessionDep) lets db_pool_size sessions at the database; the account
    # look-up of a new token, /health/ready and course reads run outside it, one per
    # worker thread plus one on the event loop. If the pool could not lend all of them a
    # connection at once, a worker thread would wait for one held by a request that
    # waits for a thread, or the event loop would block on the pool.
    settings = get_settings()
    wanted = settings.db_pool_size + settings.threadpool_size + 1
    held = []
    try:
        for _ in range(wanted):
            held.append(engine.pool.connect())  # raises TimeoutError when the pool is dry
    finally:
        for conn in held:
            conn.close()
    assert len(held) == wanted


def test_requests_of_one_token_that_miss_the_account_cache_together_read_it_once(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The cached account state of a busy token expires for all its in-flight requests at
    # once. Each of them reading it again (a thread and a connection apiece) stalled the
    # worker every auth_recheck_seconds; one read must serve them all.
    user = make_user(session, make_agency(session), "viewer")
    session.rollback()
    headers = auth_headers(user)
    loads: list[str] = []
    real = auth.load_account_state

    def slow_counting_load(db: Session, user_id: str, ttl: float) -> Any:
        loads.append(user_id)
        time.sleep(0.05)  # long enough for every request to arrive meanwhile
        return real(db, user_id, ttl)

    monkeypatch.setattr(auth, "load_account_state", slow_counting_load)
    auth.forget_account()
    app = create_app()

    async def together() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bangkom") as client:
            # a course read resolves its caller before it is admitted to the database
            calls = [client.get("/v1/courses/no-such-course", headers=headers) for _ in range(16)]
            return list(await asyncio.gather(*calls))

    responses = asyncio.run(together())
    assert [r.status_code for r in responses] == [404] * 16
    assert loads == [user.id]


def test_a_busy_token_s_account_state_is_read_again_before_it_expires_without_a_wait(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # At expiry, a busy token's requests all waited for the one read (the token's p99.9
    # in make bench). In the last fifth of its ttl a request is answered from the cache
    # and starts the read in the background: requests go on while it is in flight.
    user = make_user(session, make_agency(session), "viewer")
    session.rollback()
    headers = auth_headers(user)
    loads: list[str] = []
    release = threading.Event()
    real = auth.load_account_state

    def held_load(db: Session, user_id: str, ttl: float) -> Any:
        loads.append(user_id)
        if len(loads) > 1:
            assert release.wait(10)  # the background read is held until the test lets it go
        return real(db, user_id, ttl)

    monkeypatch.setattr(auth, "load_account_state", held_load)
    auth.forget_account()
    app = create_app()
    ttl = get_settings().auth_recheck_seconds

    async def scenario() -> tuple[list[int], float, float]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bangkom") as client:
            first = await client.get("/v1/courses/no-such-course", headers=headers)
            assert first.status_code == 404 and loads == [user.id]
            expires, state = auth._account_cache[user.id]
            ageing = time.monotonic() + ttl * auth.REFRESH_AHEAD / 2  # due, not expired
            auth._account_cache[user.id] = (ageing, state)
            answered = [
                (await client.get("/v1/courses/no-such-course", headers=headers)).status_code
                for _ in range(5)
            ]  # all answered while the read is held: none waited for it
            for _ in range(200):  # the read starts in a worker thread
                if len(loads) > 1:
                    break
                await asyncio.sleep(0.01)
            assert len(loads) == 2  # one background read for the five, still held
            release.set()
            for _ in range(200):
                if auth._account_cache[user.id][0] > ageing:
                    break
                await asyncio.sleep(0.01)
            return answered, ageing, auth._account_cache[user.id][0]

    answered, ageing, renewed = asyncio.run(scenario())
    assert answered == [404] * 5
    assert renewed > ageing + ttl / 2  # the state was read again and kept a full ttl
