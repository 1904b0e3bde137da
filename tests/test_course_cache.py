"""``GET /v1/courses/{id}`` on PostgreSQL answers from the worker's copy of the course
row (app/services/course_cache.py), and the copy is never stale: the database notifies
every change (trigger, migration 0027), the writing worker drops its own copy at commit,
and while the worker is not listening every read goes to the database."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session
from starlette.testclient import TestClient

from app.core.config import get_settings
from app.services import course_cache
from app.services.course_cache import CourseCache
from tests.conftest import serve, stop
from tests.factories import (
    auth_headers,
    course_payload,
    make_agency,
    make_published_course,
    make_user,
)

postgresql_only = pytest.mark.skipif(
    get_settings().is_sqlite,
    reason="PostgreSQL's notifications; SQLite reads its file every time and keeps no copy",
)


def _until(check: Callable[[], bool], what: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not {what} after {seconds} s"
        time.sleep(0.02)


def _write_behind_the_service(engine: Engine, course_id: str) -> None:
    """Another worker's (or a person's) UPDATE: a new version, through no session of ours."""
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE course SET version = version + 1 WHERE id = :id"), {"id": course_id}
        )


def _trigger(engine: Engine, enabled: bool) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(f"ALTER TABLE course {'ENABLE' if enabled else 'DISABLE'} TRIGGER course_changed")
        )


def _notifications_settled(engine: Engine) -> None:
    """Wait until this worker has heard every notification committed so far (the publish
    just made, the previous test's DELETEs emptying the tables): PostgreSQL delivers them in
    commit order, so once a marker sent now has been heard, so have they. Without this, one
    arriving late may drop the row a test has just read into the copy."""
    marker, heard = f"crs_marker_{time.monotonic_ns()}", []
    cache = course_cache.cache

    def forget(ids: Iterable[str]) -> None:
        ids = list(ids)
        heard.extend(ids)
        CourseCache.forget(cache, ids)

    cache.forget = forget  # type: ignore[method-assign]  # what the listener calls
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_notify(:channel, :id)"),
                         {"channel": course_cache.CHANNEL, "id": marker})  # fmt: skip
        _until(lambda: marker in heard, "the marker heard")
    finally:
        del cache.forget


def _read_into_the_copy(
    client: TestClient, path: str, course_id: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    """Read until the copy keeps the row. A read is refused a place in the copy when a
    notification lands while it runs (the generation check): the publish just committed
    notifies too, and may arrive during the first read."""
    answers: list[httpx.Response] = []

    def kept() -> bool:
        answers.append(client.get(path, headers=headers))
        assert answers[-1].status_code == 200, answers[-1].text
        return course_cache.cache.get(course_id) is not None

    _until(kept, "kept in the copy", 5)  # the copy is used
    return answers[-1]


@pytest.fixture
def course(client: TestClient, session: Session, engine: Engine) -> Iterator[dict[str, Any]]:
    admin = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    published = make_published_course(client, admin)
    _until(lambda: course_cache.cache.active, "listening")
    _notifications_settled(engine)
    path = f"/v1/courses/{published['id']}"
    first = _read_into_the_copy(client, path, published["id"])
    yield {"id": published["id"], "path": path, "etag": first.headers["ETag"], "admin": admin}
    _trigger(engine, True)


def _etag_is(client: TestClient, path: str, etag: str) -> bool:
    got = client.get(path, headers={"If-None-Match": etag})
    return got.status_code == 304


@postgresql_only
def test_a_change_written_elsewhere_reaches_the_copy_by_notification(
    client: TestClient, engine: Engine, course: dict[str, Any]
) -> None:
    path, old = course["path"], course["etag"]
    # without the notification the copy would keep answering 304: that is what it saves
    _trigger(engine, False)
    _write_behind_the_service(engine, course["id"])
    assert _etag_is(client, path, old)
    _trigger(engine, True)
    _write_behind_the_service(engine, course["id"])
    _until(lambda: not _etag_is(client, path, old), "dropped after the notification", 5)
    new = client.get(path)
    assert new.status_code == 200
    assert new.headers["ETag"] != old
    with engine.connect() as conn:
        version = conn.execute(
            text("SELECT version FROM course WHERE id = :id"), {"id": course["id"]}
        ).scalar_one()
    assert new.headers["ETag"] == f'"{course["id"]}-{version}"'


@postgresql_only
def test_the_writing_worker_reads_its_own_change_at_once(
    client: TestClient, engine: Engine, course: dict[str, Any]
) -> None:
    # no notification at all: the commit drops this worker's copy by itself
    _trigger(engine, False)
    path, etag = course["path"], course["etag"]
    for n in range(5):
        changed = client.patch(
            path, json={"title": f"Pelatihan Sosial Kultural {n}"}, headers=course["admin"]
        )
        assert changed.status_code == 200, changed.text
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 200
        assert again.headers["ETag"] == changed.headers["ETag"] != etag
        assert again.json()["title"] == f"Pelatihan Sosial Kultural {n}"
        etag = again.headers["ETag"]


@postgresql_only
def test_a_deleted_course_is_404_at_once(
    client: TestClient, engine: Engine, course: dict[str, Any]
) -> None:
    _trigger(engine, False)  # this worker's own commit, no notification
    assert client.delete(course["path"], headers=course["admin"]).status_code == 204
    assert client.get(course["path"]).status_code == 404


@postgresql_only
def test_without_the_listening_connection_every_read_goes_to_the_database(
    client: TestClient, engine: Engine, course: dict[str, Any]
) -> None:
    path, old = course["path"], course["etag"]
    _trigger(engine, False)  # only the connection's loss can keep the copy exact now
    with engine.begin() as conn:
        ended = conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                "application_name = :name AND datname = current_database() "
                "AND pid <> pg_backend_pid()"
            ),
            {"name": course_cache.APPLICATION_NAME},
        ).all()
    assert ended, "no listening connection"
    _until(lambda: not course_cache.cache.active, "off after losing the connection", 10)
    _write_behind_the_service(engine, course["id"])
    assert not _etag_is(client, path, old)  # read from the database
    _until(lambda: course_cache.cache.active, "listening again", 10)
    fresh = _read_into_the_copy(client, path, course["id"])
    _write_behind_the_service(engine, course["id"])
    # listening again, but this change was not announced: the copy from before it stays
    assert _etag_is(client, path, fresh.headers["ETag"])


@postgresql_only
def test_drafts_stay_with_their_agency_when_read_from_the_copy(
    client: TestClient, session: Session, course: dict[str, Any]
) -> None:
    stranger = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    draft = client.post("/v1/courses", json=course_payload(), headers=course["admin"])
    assert draft.status_code == 201, draft.text
    path = f"/v1/courses/{draft.json()['id']}"
    _read_into_the_copy(client, path, draft.json()["id"], course["admin"])
    for headers in ({}, stranger):
        assert client.get(path, headers=headers).status_code == 404


def _listeners(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE application_name = :name AND datname = current_database()"
                ),
                {"name": course_cache.APPLICATION_NAME},
            ).scalar_one()
        )


@postgresql_only
def test_every_worker_of_a_server_drops_its_copy_when_another_changes_the_course(
    client: TestClient, session: Session, engine: Engine
) -> None:
    """``bangkom serve`` with two worker processes: each listens on its own connection, and
    a change made through either reaches both. Each request comes on a new connection, which
    the kernel hands to either worker."""
    admin = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    path = f"/v1/courses/{make_published_course(client, admin)['id']}"
    before = _listeners(engine)
    proc, base = serve({}, workers=2)
    try:
        _until(lambda: _listeners(engine) - before == 2, "two workers listening", 30)
        old = httpx.get(base + path).headers["ETag"]
        for _ in range(20):  # both workers keep a copy
            assert httpx.get(base + path, headers={"If-None-Match": old}).status_code == 304
        changed = httpx.patch(base + path, json={"title": "Judul Baru"}, headers=admin)
        assert changed.status_code == 200, changed.text
        new = changed.headers["ETag"]

        def everyone_sees_it() -> bool:
            answers = [httpx.get(base + path, headers={"If-None-Match": old}) for _ in range(20)]
            return all(a.status_code == 200 and a.headers["ETag"] == new for a in answers)

        _until(everyone_sees_it, "read new by every worker", 5)
    finally:
        stop(proc)


def test_a_row_read_before_a_change_is_not_kept_after_it() -> None:
    cache = CourseCache(2)
    cache.reset(active=True)
    row = ("agy_1", "published", 1, "{}")
    generation = cache.generation()
    cache.forget(["crs_1"])  # committed while the row was being read
    cache.store("crs_1", row, generation)
    assert cache.get("crs_1") is None
    cache.store("crs_1", row, cache.generation())
    assert cache.get("crs_1") == row


def test_the_copy_is_bounded_and_unused_while_not_listening() -> None:
    cache = CourseCache(2)
    cache.store("crs_0", ("a", "published", 1, "{}"), cache.generation())
    assert cache.get("crs_0") is None  # not listening: nothing kept
    cache.reset(active=True)
    for n in range(3):
        cache.store(f"crs_{n}", ("a", "published", 1, "{}"), cache.generation())
    assert [cache.get(f"crs_{n}") is not None for n in range(3)] == [False, True, True]
    cache.forget([course_cache.EVERYTHING])  # a TRUNCATE
    assert cache.get("crs_2") is None
    cache.store("crs_2", ("a", "published", 1, "{}"), cache.generation())
    cache.reset(active=False)
    assert cache.get("crs_2") is None
