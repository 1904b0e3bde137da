"""Login throttling: attempts are counted before the password is checked, so parallel
guesses cannot outrun the limit; the limits stop a guesser long before the owner; and
X-Forwarded-For is believed only from proxies named in BANGKOM_TRUSTED_PROXIES."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from app.models import LoginAttempt
from app.models.base import utcnow
from tests.conftest import serve, stop
from tests.factories import PASSWORD, make_agency, make_user
from tests.parallel import race

WRONG = "wrong-password-123"


def _login(http: Any, base: str, email: str, password: str, **headers: str) -> httpx.Response:
    return http.post(
        f"{base}/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": password},
        headers=headers,
    )


def _failures(session: Session, email: str, address: str, count: int) -> None:
    now = utcnow()
    session.add_all(
        LoginAttempt(email_normalized=email, address=address, created_at=now - timedelta(seconds=i))
        for i in range(count)
    )
    session.commit()


@pytest.mark.slow
def test_parallel_wrong_passwords_for_one_account_are_checked_at_most_five_times(
    live_server: str, session: Session
) -> None:
    user = make_user(session, make_agency(session), "viewer")
    responses = race(30, lambda http, _i: _login(http, live_server, user.email, WRONG))
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {400, 429}, statuses
    assert 1 <= statuses.count(400) <= 5, statuses  # each 400 cost one Argon2 check
    for response in responses:
        if response.status_code == 429:
            assert int(response.headers["retry-after"]) >= 1
    # Attempts refused under the burst are not counted, so a few guesses may be left: the
    # next ones are checked until five in all were, then this address waits (the owner too).
    checked = statuses.count(400)
    later = [_login(httpx, live_server, user.email, WRONG).status_code for _ in range(6 - checked)]
    assert later == [400] * (5 - checked) + [429], (checked, later)
    assert _login(httpx, live_server, user.email, PASSWORD).status_code == 429


@pytest.mark.slow
def test_x_forwarded_for_from_an_untrusted_peer_does_not_reset_the_limit(
    live_server: str, session: Session
) -> None:
    user = make_user(session, make_agency(session), "viewer")
    for i in range(5):
        forged = {"X-Forwarded-For": f"203.0.113.{i}"}
        assert _login(httpx, live_server, user.email, WRONG, **forged).status_code == 400
    fresh_address = {"X-Forwarded-For": "198.51.100.77"}
    assert _login(httpx, live_server, user.email, WRONG, **fresh_address).status_code == 429
    session.rollback()  # a fresh read
    addresses = session.exec(select(LoginAttempt.address)).all()
    assert addresses == ["127.0.0.1"] * 5  # the TCP peer, not what the caller claimed


@pytest.fixture
def proxied_server(engine: Any) -> Iterator[str]:
    """The real service behind a trusted proxy on the loopback address."""
    proc, base = serve({"BANGKOM_TRUSTED_PROXIES": "127.0.0.1"})
    yield base
    stop(proc)


@pytest.mark.slow
def test_a_trusted_proxy_forwards_the_client_address(proxied_server: str, session: Session) -> None:
    user = make_user(session, make_agency(session), "viewer")
    office = {"X-Forwarded-For": "198.51.100.10"}
    for _ in range(5):
        assert _login(httpx, proxied_server, user.email, WRONG, **office).status_code == 400
    assert _login(httpx, proxied_server, user.email, PASSWORD, **office).status_code == 429
    home = {"X-Forwarded-For": "198.51.100.20"}  # the owner elsewhere is not locked out
    assert _login(httpx, proxied_server, user.email, PASSWORD, **home).status_code == 200


def test_a_guesser_elsewhere_does_not_lock_the_owner_out(
    client: TestClient, session: Session
) -> None:
    user = make_user(session, make_agency(session), "viewer")
    _failures(session, user.email, "203.0.113.9", 20)  # far past the 5 per account+address
    assert _login(client, "", user.email, PASSWORD).status_code == 200


def test_guessing_from_many_addresses_hits_the_account_cap(
    client: TestClient, session: Session
) -> None:
    user = make_user(session, make_agency(session), "viewer")
    for i in range(100):
        _failures(session, user.email, f"203.0.113.{i}", 1)
    response = _login(client, "", user.email, PASSWORD)
    assert response.status_code == 429
    assert 1 <= int(response.headers["retry-after"]) <= 900


def test_a_refused_attempt_is_not_counted_against_the_next_window(
    client: TestClient, session: Session
) -> None:
    user = make_user(session, make_agency(session), "viewer")
    _failures(session, user.email, "testclient", 5)
    for _ in range(3):
        assert _login(client, "", user.email, PASSWORD).status_code == 429
    stored = session.exec(
        LoginAttempt.__table__.select().where(LoginAttempt.__table__.c.address == "testclient")
    ).all()
    assert len(stored) == 5


def test_throttled_login_speaks_indonesian(client: TestClient, session: Session) -> None:
    user = make_user(session, make_agency(session), "viewer")
    _failures(session, user.email, "testclient", 5)
    body = _login(client, "", user.email, PASSWORD, **{"Accept-Language": "id"}).json()
    assert body["detail"].startswith("Terlalu banyak percobaan masuk gagal")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, {"proxy_headers": False, "forwarded_allow_ips": None}),
        (
            {"BANGKOM_TRUSTED_PROXIES": "10.0.0.1, 10.0.1.0/24"},
            {"proxy_headers": True, "forwarded_allow_ips": ["10.0.0.1", "10.0.1.0/24"]},
        ),
    ],
)
def test_serve_trusts_forwarded_headers_only_from_named_proxies(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: dict[str, Any]
) -> None:
    import uvicorn

    from app.cli import main
    from app.core.config import get_settings

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *_a, **kw: seen.update(kw))
    monkeypatch.delenv("BANGKOM_TRUSTED_PROXIES", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        assert main(["serve"]) == 0
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert {k: seen.get(k) for k in expected} == expected
