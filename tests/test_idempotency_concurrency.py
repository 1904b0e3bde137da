"""Idempotency-Key under real parallel requests (uvicorn in a child process): one request
with a key runs, its twins get 409 ``idempotency_in_progress`` or the replay; never a second
row."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from app.models.course import Course
from app.models.idempotency import IdempotencyRecord
from tests.factories import auth_headers, course_payload, make_agency, make_user
from tests.parallel import race


def _race(count: int, url: str, **kwargs: object) -> list[httpx.Response]:
    return race(count, lambda http, _i: http.post(url, **kwargs))  # type: ignore[arg-type]


@pytest.mark.slow
def test_parallel_requests_with_one_key_create_one_row(
    live_server: str, session: Session, engine: Engine
) -> None:
    agency = make_agency(session)
    headers = auth_headers(make_user(session, agency, "agency_admin"))
    session.rollback()  # release SQLite's write lock before the server writes
    for round_ in range(4):
        payload = course_payload()
        keyed = {**headers, "Idempotency-Key": f"race-{round_}"}
        responses = _race(8, f"{live_server}/v1/courses", json=payload, headers=keyed)
        firsts = [
            r for r in responses if r.status_code == 201 and "Idempotent-Replayed" not in r.headers
        ]
        assert len(firsts) == 1, [(r.status_code, r.text) for r in responses]
        for r in responses:
            if r.status_code == 409:
                assert r.json()["code"] == "idempotency_in_progress", r.text
                assert r.headers["Retry-After"] == "1"
            else:
                assert r.status_code == 201, r.text
                assert r.content == firsts[0].content
        with Session(engine) as s:
            rows = s.execute(
                select(func.count()).select_from(Course).where(Course.code == payload["code"])  # type: ignore[arg-type]
            ).scalar_one()
            assert rows == 1
        # once the first has answered, every retry is the replay
        again = httpx.post(f"{live_server}/v1/courses", json=payload, headers=keyed, timeout=30)
        assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
        assert again.content == firsts[0].content
    with Session(engine) as s:
        running = s.execute(
            select(func.count())
            .select_from(IdempotencyRecord)
            .where(IdempotencyRecord.completed_at.is_(None))  # type: ignore[union-attr]
        ).scalar_one()
        assert running == 0
