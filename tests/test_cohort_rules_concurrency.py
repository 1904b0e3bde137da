"""Parallel requests against the real server: one cohort never gets overlapping sessions.

The overlap check reads the cohort's sessions and then inserts: two requests could both
find the slot free. The cohort row lock (``SELECT ... FOR UPDATE`` on PostgreSQL; the
single ``BEGIN IMMEDIATE`` writer on SQLite) makes the second wait and then see the first.
"""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import Session

from tests.factories import auth_headers, make_agency, make_user
from tests.parallel import race


@pytest.mark.slow
def test_parallel_overlapping_sessions_in_one_cohort_give_one_201_and_409s(
    live_server: str, session: Session
) -> None:
    agency = make_agency(session)
    headers = auth_headers(make_user(session, agency, "agency_admin"))
    session.rollback()
    with httpx.Client(base_url=live_server, headers=headers, timeout=30) as http:
        course = http.post("/v1/courses", json={
            "code": "RACE-1", "title": "Pelatihan Balapan", "kind": "training",
            "competency_type": "technical", "delivery": "classroom", "total_jp": 40,
        }).json()  # fmt: skip
        modules = [{"title": "Klasikal", "jp": 40, "mode": "classroom"}]
        http.post(f"/v1/courses/{course['id']}/curricula", json={"modules": modules})
        assert http.post(f"/v1/courses/{course['id']}/curricula/1/publish").status_code == 200
        cohort = http.post("/v1/cohorts", json={
            "course_id": course["id"], "number": 1, "year": 2025,
            "starts_on": "2025-05-14", "ends_on": "2025-05-20",
        }).json()  # fmt: skip
    url = f"{live_server}/v1/cohorts/{cohort['id']}/sessions"
    count = 6

    def create(http: httpx.Client, i: int) -> httpx.Response:
        # all six overlap 09:00-10:00 on the same day, each starting a few minutes apart
        body = {"starts_at": f"2025-05-14T08:{10 * i:02d}:00+07:00",
                "ends_at": f"2025-05-14T10:{10 * i:02d}:00+07:00", "mode": "classroom", "jp": 2}  # fmt: skip
        return http.post(url, json=body, headers=headers)

    responses = race(count, create)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (count - 1), [r.text for r in responses]
    assert all(r.json()["code"] == "session_overlap" for r in responses if r.status_code == 409)
    listed = httpx.get(url, headers=headers, timeout=30).json()
    assert len(listed["items"]) == 1


@pytest.mark.slow
def test_parallel_patches_of_cohorts_to_one_number_give_one_200_and_409s(
    live_server: str, session: Session
) -> None:
    """Each PATCH locks only its own cohort, so the unique constraint settles it: the
    losers' commits fail and come back as 409 (never 500)."""
    agency = make_agency(session)
    headers = auth_headers(make_user(session, agency, "agency_admin"))
    session.rollback()
    count = 5
    with httpx.Client(base_url=live_server, headers=headers, timeout=30) as http:
        course = http.post("/v1/courses", json={
            "code": "RACE-2", "title": "Pelatihan Balapan", "kind": "training",
            "competency_type": "technical", "delivery": "classroom", "total_jp": 40,
        }).json()  # fmt: skip
        ids = [
            http.post(
                "/v1/cohorts",
                json={
                    "course_id": course["id"],
                    "number": i + 1,
                    "year": 2025,
                    "starts_on": "2025-05-14",
                    "ends_on": "2025-05-20",
                },
            ).json()["id"]  # fmt: skip
            for i in range(count)
        ]

    def patch(http: httpx.Client, i: int) -> httpx.Response:
        return http.patch(
            f"{live_server}/v1/cohorts/{ids[i]}", json={"number": 99}, headers=headers
        )

    responses = race(count, patch)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * (count - 1), [r.text for r in responses]
    assert all(r.json()["code"] == "duplicate_cohort" for r in responses if r.status_code == 409)
