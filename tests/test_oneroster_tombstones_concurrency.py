"""OneRoster tombstones under real parallel requests: changes of a course's partner agencies
racing each other and enrolments on a live server all succeed (no deadlock between the
grants and the tombstones they write), and each partner's OneRoster users end up exactly
as the last change left them: every enrolled learner active for a partner it names, and
for one it dropped only tombstones, of learners it once saw."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlmodel import Session

from app.models.client import Scope
from tests.factories import auth_headers, make_agency, make_learner_row, make_user
from tests.factories_oneroster import ROSTER, client_headers


@pytest.mark.slow
def test_partner_changes_racing_enrolments_leave_each_partners_users_exact(
    live_server: str, session: Session
) -> None:
    home, organiser = make_agency(session), make_agency(session)
    first, second = make_agency(session), make_agency(session)
    h_home = auth_headers(make_user(session, home, "agency_admin"))
    h_org = auth_headers(make_user(session, organiser, "agency_admin"))
    admins = {a.id: auth_headers(make_user(session, a, "agency_admin")) for a in (first, second)}
    learners = [make_learner_row(session, home, i) for i in range(12)]
    keys = {row.learner_key: row.id for row in learners}
    session.commit()
    session.rollback()  # release SQLite's write lock before the server writes
    with httpx.Client(base_url=live_server, headers=h_org, timeout=60) as http:
        course = http.post("/v1/courses", json={
            "code": "TMB-1", "title": "Pelatihan Jejak Hapus", "kind": "training",
            "competency_type": "technical", "delivery": "classroom", "total_jp": 40,
            "partner_agency_ids": [first.id],
        }).json()  # fmt: skip
        modules = [{"title": "Klasikal", "jp": 40, "mode": "classroom"}]
        http.post(f"/v1/courses/{course['id']}/curricula", json={"modules": modules})
        assert http.post(f"/v1/courses/{course['id']}/curricula/1/publish").status_code == 200
        assert http.patch(f"/v1/courses/{course['id']}", json={"status": "published"}).is_success
        made = http.post("/v1/cohorts", json={
            "course_id": course["id"], "number": 1, "year": 2025, "starts_on": "2025-05-14",
            "ends_on": "2025-05-20", "capacity": None,
        })  # fmt: skip
        assert made.status_code == 201, made.text
        cohort = made.json()["id"]
        assert http.post(f"/v1/cohorts/{cohort}/transitions", json={"to": "open"}).is_success
    ordered = list(keys)
    seen_by_first = ordered[:6]  # enrolled while the first partner is the course's

    def enrol(key: str) -> httpx.Response:
        return httpx.post(f"{live_server}/v1/cohorts/{cohort}/enrollments",
                          json={"learner_key": key}, headers=h_home, timeout=60)  # fmt: skip

    def partners(ids: list[str]) -> httpx.Response:
        return httpx.patch(f"{live_server}/v1/courses/{course['id']}",
                           json={"partner_agency_ids": ids}, headers=h_org, timeout=60)  # fmt: skip

    for key in seen_by_first:
        assert enrol(key).status_code == 201
    with ThreadPoolExecutor(max_workers=8) as pool:
        calls = [pool.submit(enrol, key) for key in ordered[6:]]
        for ids in ([second.id], [], [first.id, second.id], [second.id], [first.id], []):
            calls.insert(len(calls) // 2, pool.submit(partners, ids))
        answers = [c.result() for c in calls]
    assert all(a.is_success for a in answers), [a.text for a in answers if not a.is_success]
    with httpx.Client(base_url=live_server, timeout=60) as http:
        now = http.get(f"/v1/courses/{course['id']}", headers=h_org).json()["partner_agency_ids"]
        for agency, headers in admins.items():
            token = client_headers(http, headers, [Scope.or_roster.value])
            got = http.get(f"{ROSTER}/users", params={"limit": "100"}, headers=token)
            assert got.status_code == 200, got.text
            status = {u["sourcedId"]: u["status"] for u in got.json()["users"]}
            if agency in now:
                assert status == dict.fromkeys(keys.values(), "active")
                continue
            assert set(status.values()) <= {"tobedeleted"}
            assert set(status) <= set(keys.values())
            if agency == first.id:
                assert {keys[k] for k in seen_by_first} <= set(status)
