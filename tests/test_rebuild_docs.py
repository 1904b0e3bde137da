"""Stored course documents are what the code renders now, and ``bangkom rebuild-docs`` fixes
the ones that are not (after a deploy changes the course's public shape).
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, select
from starlette.testclient import TestClient

from app.cli import main
from app.core.db import session_scope
from app.models import Agency, Course
from app.services import course_docs
from app.services.catalogue_demo import seed_catalogue
from app.services.course_docs import stale_docs
from app.services.courses import refresh_doc
from tests.factories import (
    auth_headers,
    course_payload,
    make_agency,
    make_cohort,
    make_published_course,
    make_user,
)


def _fresh(session: Session) -> dict[str, tuple[str, str]]:
    """Each course's stored doc and a fresh render of the same row."""
    session.expire_all()
    out = {}
    for course in session.exec(select(Course)):
        stored = course.doc
        refresh_doc(course, bump=False)
        out[course.id] = (stored, course.doc)
    session.rollback()
    return out


def _catalogue(client: TestClient, session: Session) -> None:
    """The demo catalogue plus every kind of write that touches what a course shows."""
    seed_catalogue(session)
    agency, partner = make_agency(session), make_agency(session)
    headers = auth_headers(make_user(session, agency, "agency_admin"))
    course = make_published_course(client, headers, partner_agency_ids=[partner.id])
    base = f"/v1/courses/{course['id']}/curricula"
    assert client.post(base, json={"modules": [{"title": "Daring", "jp": 10,
                                                "mode": "synchronous_virtual"}]},
                       headers=headers).status_code == 201  # fmt: skip
    assert client.post(f"{base}/2/publish", headers=headers).status_code == 200
    make_cohort(client, headers, course["id"])
    archived = make_published_course(client, headers, grade_bands=[
        {"label": "lulus", "above": 75.5}, {"label": "belum lulus", "above": None}])  # fmt: skip
    client.patch(f"/v1/courses/{archived['id']}", json={"status": "archived"}, headers=headers)
    client.post("/v1/courses", json=course_payload(max_absence_jp=4.5), headers=headers)
    # rows a course refers to change: the partner agency is renamed
    session.execute(update(Agency).where(Agency.id == partner.id).values(name="Nama Baru"))  # type: ignore[arg-type]
    session.commit()


def test_every_stored_course_document_equals_a_fresh_render(
    client: TestClient, session: Session
) -> None:
    _catalogue(client, session)
    docs = _fresh(session)
    assert len(docs) >= 8
    for ident, (stored, fresh) in docs.items():
        assert stored == fresh, ident
    assert stale_docs(session) == []


def test_rebuild_docs_rewrites_stale_documents_and_changes_their_etag(
    client: TestClient, session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    _catalogue(client, session)
    courses = list(session.exec(select(Course).where(Course.status == "published")))
    stale, fine = courses[0], courses[1]
    # a document in an older shape, as left behind by the previous release
    old = json.loads(stale.doc)
    old.pop("modes")
    session.execute(update(Course).where(Course.id == stale.id).values(doc=json.dumps(old)))  # type: ignore[arg-type]
    session.commit()
    before = client.get(f"/v1/courses/{stale.id}")
    assert "modes" not in before.json()
    untouched = client.get(f"/v1/courses/{fine.id}")

    assert main(["rebuild-docs", "--check"]) == 1
    assert f"stale: {stale.id}" in capsys.readouterr().out
    assert main(["rebuild-docs"]) == 0
    out = capsys.readouterr().out
    assert f"rebuilt: {stale.id}" in out and "rebuilt 1" in out

    after = client.get(f"/v1/courses/{stale.id}", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200, "a client holding the old shape must get the new one"
    assert after.json()["modes"] == stale.modes
    assert after.json()["version"] == stale.version + 1
    assert after.json()["updated_at"] == before.json()["updated_at"]
    assert client.get(f"/v1/courses/{fine.id}").headers["ETag"] == untouched.headers["ETag"]
    assert main(["rebuild-docs", "--check"]) == 0
    assert main(["rebuild-docs"]) == 0
    assert "rebuilt 0" in capsys.readouterr().out


@pytest.mark.slow
def test_rebuild_docs_running_alongside_course_writes_loses_nothing(
    live_server: str, session: Session, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def slow_render(course: Course, *, bump: bool = True) -> None:
        time.sleep(0.05)  # widen the gap between reading a course and storing its doc
        refresh_doc(course, bump=bump)

    monkeypatch.setattr(course_docs, "refresh_doc", slow_render)
    agency = make_agency(session)
    headers = auth_headers(make_user(session, agency, "agency_admin"))
    session.rollback()  # release SQLite's write lock before the server writes
    ids = []
    for _ in range(12):
        r = httpx.post(f"{live_server}/v1/courses", json=course_payload(), headers=headers)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    with engine.begin() as conn:  # every doc in an older shape
        conn.execute(update(Course).values(doc='{"old": true}'))  # type: ignore[arg-type]
    titles = {ident: f"Judul Baru {n}" for n, ident in enumerate(ids)}
    barrier = threading.Barrier(2)

    def rebuild() -> int:
        barrier.wait()
        with session_scope(write=True, engine=engine) as s:
            return len(course_docs.rebuild_docs(s, batch=2).rebuilt)

    def patch_all() -> list[int]:
        barrier.wait()
        with httpx.Client(timeout=30) as http:
            return [
                http.patch(
                    f"{live_server}/v1/courses/{i}", json={"title": t}, headers=headers
                ).status_code
                for i, t in titles.items()
            ]

    with ThreadPoolExecutor(max_workers=2) as pool:
        rebuilt, statuses = pool.submit(rebuild), pool.submit(patch_all)
        assert statuses.result() == [200] * len(ids)
        assert rebuilt.result() <= len(ids)
    with session_scope(engine=engine) as s:
        assert stale_docs(s) == []
    for ident, title in titles.items():
        body = httpx.get(f"{live_server}/v1/courses/{ident}", headers=headers).json()
        assert body["title"] == title
