"""``GET /v1/courses/{id}`` answers plain reads without FastAPI's dependency solving
(app/routers/courses.py ``_conditional_read``) and leaves everything else to the declared
route. Every request here is asked both ways, the quick path and the declared route alone,
and must get the same answer: status, body, ETag, Vary, content type, challenge."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine
from sqlmodel import Session
from starlette.testclient import TestClient

from app.core import migrations
from app.core.config import get_settings
from app.core.db import get_engine
from app.routers import courses as course_routes
from app.services import course_cache
from tests.conftest import serve, stop
from tests.factories import (
    auth_headers,
    course_payload,
    make_agency,
    make_learner,
    make_learner_login,
    make_published_course,
    make_user,
)
from tests.test_clients import bearer, client_token, register
from tests.test_db_unavailable import Cluster, _assert_unavailable, _timed, own_cluster

__all__ = ["own_cluster"]  # the fixture, from the database-gone tests

COMPARED = ("etag", "vary", "content-type", "www-authenticate", "retry-after")


@pytest.fixture
def catalogue(client: TestClient, session: Session) -> dict[str, Any]:
    home, other = make_agency(session), make_agency(session)
    admin = auth_headers(make_user(session, home, "agency_admin"))
    stranger = auth_headers(make_user(session, other, "agency_admin"))
    platform = auth_headers(make_user(session, make_agency(session), "platform_admin"))
    gone_user = make_user(session, home, "agency_admin")
    gone = auth_headers(gone_user)
    gone_user.is_active = False
    session.add(gone_user)
    session.commit()
    published = make_published_course(client, admin)
    draft = client.post("/v1/courses", json=course_payload(), headers=admin)
    assert draft.status_code == 201, draft.text
    reader = register(client, admin, scopes=["catalog:read"])
    writer = register(client, admin, name="Penulis", scopes=["learners:read"])
    learner = make_learner(client, admin)
    return {
        "published": published["id"],
        "etag": client.get(f"/v1/courses/{published['id']}").headers["ETag"],
        "draft": draft.json()["id"],
        "draft_etag": draft.headers["ETag"],
        "headers": {
            "anonymous": {},
            "admin": admin,
            "stranger": stranger,
            "platform": platform,
            "disabled": gone,
            "learner": make_learner_login(client, admin, learner["learner_key"]),
            "reader client": bearer(
                client_token(client, reader["client_id"], reader["client_secret"])
            ),
            "client without catalog:read": bearer(
                client_token(client, writer["client_id"], writer["client_secret"])
            ),
            "bad token": {"Authorization": "Bearer not-a-token"},
            "empty bearer": {"Authorization": "Bearer "},
            "basic": {"Authorization": "Basic YTpi"},
        },
    }


def _requests(data: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    pub, draft = f"/v1/courses/{data['published']}", f"/v1/courses/{data['draft']}"
    out = []
    for who, headers in data["headers"].items():
        out += [
            (who, pub, headers),
            (who, draft, headers),
            (who, pub, {**headers, "If-None-Match": data["etag"]}),
            (who, pub, {**headers, "If-None-Match": f'W/{data["etag"]}, "other"'}),
            (who, pub, {**headers, "If-None-Match": "*"}),
            (who, pub, {**headers, "If-None-Match": '"stale-1"'}),
            (who, draft, {**headers, "If-None-Match": data["draft_etag"]}),
        ]
    admin = data["headers"]["admin"]
    out += [
        ("query", f"{pub}?fields=title", admin),
        ("query", f"{pub}?", {}),
        ("too long", "/v1/courses/" + "c" * 41, {}),
        ("forty", "/v1/courses/" + "c" * 40, {}),
        ("newline", f"{pub}%0A", {}),
        ("dot", "/v1/courses/crs.x", {}),
        ("unknown", "/v1/courses/crs_unknown", admin),
    ]
    return out


def _answer(client: TestClient, path: str, headers: dict[str, str]) -> tuple[Any, ...]:
    r = client.get(path, headers=headers)
    body = r.json() if r.content else None
    if isinstance(body, dict):
        body.pop("instance", None)
        body.pop("request_id", None)
    return (r.status_code, body, *(r.headers.get(h) for h in COMPARED))


def test_the_quick_path_answers_exactly_as_the_declared_route(
    client: TestClient, catalogue: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    requests = _requests(catalogue)
    quick = [_answer(client, path, headers) for _, path, headers in requests]

    async def declared_only(_request: Any) -> None:
        return None

    monkeypatch.setattr(course_routes, "_conditional_read", declared_only)
    declared = [_answer(client, path, headers) for _, path, headers in requests]
    for (who, path, headers), a, b in zip(requests, quick, declared, strict=True):
        assert a == b, (who, path, headers.get("If-None-Match"))
    statuses: dict[tuple[str, str], int] = {}  # each (caller, path)'s first, plain request
    for (who, path, _), answer in zip(requests, quick, strict=True):
        statuses.setdefault((who, path), answer[0])
    pub, draft = f"/v1/courses/{catalogue['published']}", f"/v1/courses/{catalogue['draft']}"
    # the rules the comparison rests on, so that two equally wrong paths cannot pass
    assert statuses[("anonymous", pub)] == 200
    assert statuses[("anonymous", draft)] == 404
    assert statuses[("learner", draft)] == 404
    assert statuses[("stranger", draft)] == 404
    assert statuses[("admin", draft)] == 200
    assert statuses[("platform", draft)] == 200
    assert statuses[("reader client", pub)] == 200
    assert statuses[("client without catalog:read", pub)] == 403
    assert statuses[("disabled", pub)] == 401
    assert statuses[("bad token", pub)] == 401
    assert statuses[("basic", pub)] == 401
    assert statuses[("query", f"{pub}?fields=title")] == 422
    assert statuses[("too long", "/v1/courses/" + "c" * 41)] == 422
    assert statuses[("newline", f"{pub}%0A")] == 422
    assert statuses[("forty", "/v1/courses/" + "c" * 40)] == 404


def test_plain_reads_and_revalidations_skip_the_declared_route(
    client: TestClient, catalogue: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reads apps make all day are answered before the dependencies are solved."""
    answered: list[int] = []
    quick = course_routes._conditional_read

    async def counting(request: Any) -> Any:
        answer = await quick(request)
        answered.append(0 if answer is None else answer.status_code)
        return answer

    monkeypatch.setattr(course_routes, "_conditional_read", counting)
    pub = f"/v1/courses/{catalogue['published']}"
    admin = catalogue["headers"]["admin"]
    reader = catalogue["headers"]["reader client"]
    for headers in ({}, admin, reader):
        assert client.get(pub, headers=headers).status_code == 200
        again = {**headers, "If-None-Match": catalogue["etag"]}
        assert client.get(pub, headers=again).status_code == 304
    assert answered == [200, 304] * 3
    answered.clear()
    assert client.get(f"{pub}?x=1", headers=admin).status_code == 422
    assert client.get(pub, headers=catalogue["headers"]["basic"]).status_code == 401
    assert (
        client.get(pub, headers=catalogue["headers"]["client without catalog:read"]).status_code
        == 403
    )
    assert answered == [0, 0, 0]  # left to the declared route


def test_a_changed_course_is_never_answered_304(
    client: TestClient, catalogue: dict[str, Any]
) -> None:
    pub = f"/v1/courses/{catalogue['published']}"
    admin = catalogue["headers"]["admin"]
    changed = client.patch(pub, json={"title": "Judul Baru"}, headers=admin)
    assert changed.status_code == 200, changed.text
    for headers in ({}, admin):
        got = client.get(pub, headers={**headers, "If-None-Match": catalogue["etag"]})
        assert got.status_code == 200 and got.json()["title"] == "Judul Baru"
        assert got.headers["ETag"] == changed.headers["ETag"] != catalogue["etag"]


@pytest.mark.skipif(get_settings().is_sqlite, reason="psycopg's autocommit")
def test_postgresql_read_leaves_pooled_connections_transactional(
    client: TestClient, catalogue: dict[str, Any]
) -> None:
    """The read runs in autocommit; the connection goes back to the pool as it came (no
    autocommit, no open transaction), so the sessions that take it next still commit or
    roll back their work as one transaction."""
    pub = f"/v1/courses/{catalogue['published']}"
    for _ in range(5):
        course_cache.cache.forget([catalogue["published"]])  # read the database each time
        assert client.get(pub).status_code == 200
    engine = get_engine()
    held = [engine.raw_connection() for _ in range(3)]
    try:
        for raw in held:
            driver: Any = raw.driver_connection
            assert driver.autocommit is False
            assert driver.info.transaction_status == 0  # IDLE
    finally:
        for raw in held:
            raw.close()
    made = client.post("/v1/courses", json=course_payload(), headers=catalogue["headers"]["admin"])
    assert made.status_code == 201, made.text


def test_a_client_past_its_rate_limit_gets_429_on_the_course_read(
    client: TestClient, catalogue: dict[str, Any]
) -> None:
    """The quick path counts the request against the client's limit once, and answers 429
    past it, as the declared route does."""
    admin = catalogue["headers"]["admin"]
    limited = register(
        client, admin, name="Terbatas", scopes=["catalog:read"], rate_limit_per_minute=3
    )
    headers = bearer(client_token(client, limited["client_id"], limited["client_secret"]))
    pub = f"/v1/courses/{catalogue['published']}"
    answers = [client.get(pub, headers=headers) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers.get("ratelimit-limit") for a in answers] == ["3"] * 4
    revalidated = client.get(pub, headers={**headers, "If-None-Match": catalogue["etag"]})
    assert revalidated.status_code == 429


@pytest.mark.skipif(
    get_settings().is_sqlite,
    reason="stops a PostgreSQL server; run with BANGKOM_TEST_DATABASE_URL set to PostgreSQL",
)
def test_course_read_with_postgresql_stopped_is_503_and_recovers(own_cluster: Cluster) -> None:
    """The read's raw pooled connection (autocommit, driver errors of its own) answers as
    the rest of the API does with the database gone: 503 within a second, then back
    without a restart."""
    engine = create_engine(own_cluster.url)
    migrations.upgrade(engine)
    engine.dispose()
    proc, base = serve({"BANGKOM_DATABASE_URL": own_cluster.url})
    path = "/v1/courses/crs_not_there"
    try:
        with httpx.Client(base_url=base, timeout=10) as http:
            assert http.get(path).status_code == 404  # the pool holds a connection
            own_cluster.stop()
            for headers in ({}, {"If-None-Match": '"crs_not_there-1"'}, {}):
                got, elapsed = _timed(http, "GET", path, headers=headers)
                _assert_unavailable(got, elapsed)
            own_cluster.start()
            deadline = time.monotonic() + 15
            while http.get(path).status_code != 404:
                assert time.monotonic() < deadline, "not back 15 s after the database returned"
                time.sleep(0.1)
            assert proc.poll() is None
    finally:
        stop(proc)
