"""learner_grant under real parallel requests: bulk and single enrolments racing changes
of the course's partner agencies on a live server leave exactly the pairs the live rule
computes from the enrolments (no grant lost to a race, none left stale)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlmodel import Session

from tests.factories import auth_headers, make_agency, make_learner_row, make_user
from tests.test_learner_grants import _grants, _truth


@pytest.mark.slow
def test_enrolments_racing_partner_changes_keep_the_grants_exact(
    live_server: str, session: Session
) -> None:
    home, organiser = make_agency(session), make_agency(session)
    first, second = make_agency(session).id, make_agency(session).id
    h_home = auth_headers(make_user(session, home, "agency_admin"))
    h_org = auth_headers(make_user(session, organiser, "agency_admin"))
    keys = [make_learner_row(session, home, i).learner_key for i in range(40)]
    session.commit()
    session.rollback()  # release SQLite's write lock before the server writes
    with httpx.Client(base_url=live_server, headers=h_org, timeout=60) as http:
        course = http.post("/v1/courses", json={
            "code": "HAK-1", "title": "Pelatihan Hak Lihat", "kind": "training",
            "competency_type": "technical", "delivery": "classroom", "total_jp": 40,
            "partner_agency_ids": [first],
        }).json()  # fmt: skip
        modules = [{"title": "Klasikal", "jp": 40, "mode": "classroom"}]
        http.post(f"/v1/courses/{course['id']}/curricula", json={"modules": modules})
        assert http.post(f"/v1/courses/{course['id']}/curricula/1/publish").status_code == 200
        assert http.patch(f"/v1/courses/{course['id']}", json={"status": "published"}).is_success
        cohorts = []
        for number, start, end in (
            (1, "2025-05-14", "2025-05-20"),
            (2, "2025-06-14", "2025-06-20"),
        ):
            made = http.post("/v1/cohorts", json={
                "course_id": course["id"], "number": number, "year": 2025, "starts_on": start,
                "ends_on": end, "capacity": None,
            })  # fmt: skip
            assert made.status_code == 201, made.text
            cohorts.append(made.json()["id"])
            assert http.post(
                f"/v1/cohorts/{cohorts[-1]}/transitions", json={"to": "open"}
            ).is_success
    base = f"{live_server}/v1"

    def bulk(part: list[str]) -> httpx.Response:
        body = ("nip\n" + "\n".join(part) + "\n").encode()
        return httpx.post(
            f"{base}/cohorts/{cohorts[0]}/enrollments/bulk",
            content=body,
            headers=h_org | {"Content-Type": "text/csv"},
            timeout=60,
        )

    def single(key: str) -> httpx.Response:
        return httpx.post(
            f"{base}/cohorts/{cohorts[1]}/enrollments",
            json={"learner_key": key},
            headers=h_home,
            timeout=60,
        )

    def partners(ids: list[str]) -> httpx.Response:
        return httpx.patch(
            f"{base}/courses/{course['id']}",
            json={"partner_agency_ids": ids},
            headers=h_org,
            timeout=60,
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        calls = [pool.submit(bulk, keys[0:10]), pool.submit(bulk, keys[10:20])]
        calls += [pool.submit(single, key) for key in keys[20:40]]
        for ids in ([second], [first, second], [], [first], [second]):
            calls.insert(len(calls) // 2, pool.submit(partners, ids))
        answers = [c.result() for c in calls]
    assert all(a.is_success for a in answers), [a.text for a in answers if not a.is_success]
    grants = _grants(session)
    assert grants == _truth(session)
    now = httpx.get(f"{base}/courses/{course['id']}", headers=h_org).json()["partner_agency_ids"]
    # each of the 40 learners: the organiser and whichever partners the last change left
    assert grants == {(a, lrn) for a in {organiser.id, *now} for _, lrn in grants}
    assert len(grants) == 40 * (1 + len(now))
