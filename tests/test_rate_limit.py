"""Rate limits per integration client (the ``limits`` library, moving window of a minute):
RateLimit-* headers on every answer to a client token, 429 with Retry-After past the limit,
exact under parallel requests, shared between servers through a real Redis."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from app.core import ratelimit
from tests.conftest import serve, stop
from tests.factories import auth_headers, make_agency, make_user
from tests.parallel import race
from tests.test_clients import bearer, client_token, register

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def admin(session: Session) -> dict[str, str]:
    return auth_headers(make_user(session, make_agency(session), "agency_admin"))


def _client_headers(client: Any, admin: dict[str, str], **overrides: Any) -> dict[str, str]:
    created = register(client, admin, **overrides)
    return bearer(client_token(client, created["client_id"], created["client_secret"]))


def test_headers_count_down_then_429_with_retry_after(
    client: TestClient, admin: dict[str, str]
) -> None:
    headers = _client_headers(client, admin, rate_limit_per_minute=5)
    for remaining in (4, 3, 2, 1, 0):
        response = client.get("/v1/courses", headers=headers)
        assert response.status_code == 200
        assert response.headers["ratelimit-limit"] == "5"
        assert response.headers["ratelimit-remaining"] == str(remaining)
        assert 0 <= int(response.headers["ratelimit-reset"]) <= 60
    refused = client.get("/v1/courses", headers={**headers, "Accept-Language": "id"})
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-remaining"] == "0"
    assert refused.json()["code"] == "rate_limited" and "detik" in refused.json()["detail"]


def test_errors_carry_the_headers_and_people_are_not_limited(
    client: TestClient, admin: dict[str, str]
) -> None:
    headers = _client_headers(client, admin, scopes=["catalog:read"])
    missing = client.get("/v1/courses/crs_nosuchcourse", headers=headers)
    assert missing.status_code == 404 and missing.headers["ratelimit-limit"] == "600"
    forbidden = client.get("/v1/learners", headers=headers)
    assert forbidden.status_code == 403 and "ratelimit-remaining" in forbidden.headers
    assert "ratelimit-limit" not in client.get("/v1/courses", headers=admin).headers
    assert "ratelimit-limit" not in client.get("/v1/courses").headers


def test_the_601st_request_in_a_minute_is_429_with_the_default_limit(
    client: TestClient, admin: dict[str, str]
) -> None:
    headers = _client_headers(client, admin)
    statuses = [client.get("/v1/courses/x1", headers=headers).status_code for _ in range(600)]
    assert set(statuses) == {404}
    assert client.get("/v1/courses/x1", headers=headers).status_code == 429


def test_the_limit_is_exact_under_parallel_requests(live_server: str, session: Session) -> None:
    admin = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    with httpx.Client(base_url=live_server) as http:
        headers = _client_headers(http, admin, rate_limit_per_minute=10)
    responses = race(24, lambda h, _i: h.get(f"{live_server}/v1/courses", headers=headers))
    codes = sorted(r.status_code for r in responses)
    assert codes.count(200) == 10 and codes.count(429) == 14


def test_a_broken_storage_lets_requests_through() -> None:
    assert ratelimit.hit("cli_x", 1, storage_uri="redis://127.0.0.1:9/0") is None


@pytest.fixture(scope="module")
def redis_url() -> str:
    script = ROOT / "scripts" / "redis.sh"
    try:
        done = subprocess.run([str(script)], capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"scripts/redis.sh could not run: {exc}")
    if done.returncode != 0 or not done.stdout.strip().startswith("redis://"):
        pytest.skip("scripts/redis.sh could not install or start Redis: " + done.stderr[-500:])
    assert shutil.which("redis-server")
    return done.stdout.strip().splitlines()[-1]


def test_two_servers_share_one_count_in_redis(
    redis_url: str, engine: Any, session: Session
) -> None:
    admin = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    env = {"BANGKOM_RATE_LIMIT_STORAGE": redis_url}
    first, a = serve(env)
    try:
        second, b = serve(env)
        try:
            with httpx.Client() as http:
                created = register_remote(http, a, admin)
                token = http.post(
                    f"{a}/v1/auth/token",
                    data={"grant_type": "client_credentials", **created},
                )
                headers = bearer(token)
                codes = [
                    http.get(f"{base}/v1/courses", headers=headers).status_code
                    for base in (a, b, a, b, a)
                ]
                assert codes == [200, 200, 200, 200, 429]
                last = http.get(f"{b}/v1/courses", headers=headers)
                assert last.status_code == 429 and last.headers["ratelimit-limit"] == "4"
        finally:
            stop(second)
    finally:
        stop(first)


def register_remote(http: httpx.Client, base: str, admin: dict[str, str]) -> dict[str, str]:
    body = {"name": "shared", "scopes": ["catalog:read"], "rate_limit_per_minute": 4}
    response = http.post(f"{base}/v1/clients", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return {
        "client_id": response.json()["client_id"],
        "client_secret": response.json()["client_secret"],
    }
