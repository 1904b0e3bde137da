"""Parallel enrolments against the real server: a cohort's capacity is never exceeded.

200 requests from 32 clients at once for a 40-seat cohort: the cohort row lock
(``SELECT ... FOR UPDATE`` on PostgreSQL; the single ``BEGIN IMMEDIATE`` writer on
SQLite) makes each enrolment see the seats the previous ones took.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from tests.factories import auth_headers, make_agency, make_learner_row, make_user

CLIENTS = 32


def _parallel(count: int, call: Callable[[httpx.Client, int], httpx.Response]) -> list[Any]:
    """``count`` calls on ``CLIENTS`` threads, each with its own connection, started together."""
    local = threading.local()
    barrier = threading.Barrier(CLIENTS)
    clients: list[httpx.Client] = []
    lock = threading.Lock()

    def one(i: int) -> httpx.Response:
        if not hasattr(local, "http"):
            local.http = httpx.Client(timeout=60)
            with lock:
                clients.append(local.http)
            barrier.wait()
        return call(local.http, i)

    try:
        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            return list(pool.map(one, range(count)))
    finally:
        for http in clients:
            http.close()


def _setup(
    live_server: str, session: Session, learners: int, **cohort: Any
) -> tuple[dict[str, str], str, list[str]]:
    agency = make_agency(session)
    headers = auth_headers(make_user(session, agency, "agency_admin"))
    keys = [make_learner_row(session, agency, i).learner_key for i in range(learners)]
    session.commit()
    session.rollback()  # release SQLite's write lock before the server writes
    with httpx.Client(base_url=live_server, headers=headers, timeout=30) as http:
        course = http.post("/v1/courses", json={
            "code": "SEAT-1", "title": "Pelatihan Kursi", "kind": "training",
            "competency_type": "technical", "delivery": "classroom", "total_jp": 40,
        }).json()  # fmt: skip
        modules = [{"title": "Klasikal", "jp": 40, "mode": "classroom"}]
        http.post(f"/v1/courses/{course['id']}/curricula", json={"modules": modules})
        assert http.post(f"/v1/courses/{course['id']}/curricula/1/publish").status_code == 200
        assert http.patch(f"/v1/courses/{course['id']}", json={"status": "published"}).is_success
        made = http.post("/v1/cohorts", json={
            "course_id": course["id"], "number": 1, "year": 2025, "starts_on": "2025-05-14",
            "ends_on": "2025-05-20", "capacity": 40, **cohort,
        })  # fmt: skip
        assert made.status_code == 201, made.text
        cohort_id = made.json()["id"]
        assert http.post(f"/v1/cohorts/{cohort_id}/transitions", json={"to": "open"}).is_success
    return headers, cohort_id, keys


def _roster(live_server: str, headers: dict[str, str], cohort_id: str) -> list[dict[str, Any]]:
    url = f"{live_server}/v1/cohorts/{cohort_id}/enrollments?limit=200"
    items: list[dict[str, Any]] = []
    while url:
        page = httpx.get(url, headers=headers, timeout=30)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        nxt = page.links.get("next")
        url = nxt["url"] if nxt else ""
    return items


def _check_counts(
    live_server: str, headers: dict[str, str], cohort_id: str
) -> tuple[int, list[dict[str, Any]]]:
    """Seats on the roster, the cohort's counters and the waitlist positions agree."""
    roster = _roster(live_server, headers, cohort_id)
    seated = [e for e in roster if e["status"] in ("proposed", "verified", "active")]
    waiting = [e for e in roster if e["status"] == "waitlisted"]
    cohort = httpx.get(f"{live_server}/v1/cohorts/{cohort_id}", headers=headers).json()
    assert (cohort["seats_taken"], cohort["waitlist_length"]) == (len(seated), len(waiting))
    assert sorted(e["waitlist_position"] for e in waiting) == list(range(1, len(waiting) + 1))
    return len(seated), waiting


@pytest.mark.slow
@pytest.mark.parametrize("waitlist", [True, False])
def test_200_parallel_enrolments_fill_exactly_40_seats(
    live_server: str, session: Session, waitlist: bool
) -> None:
    headers, cohort_id, keys = _setup(live_server, session, 200, waitlist_enabled=waitlist)
    url = f"{live_server}/v1/cohorts/{cohort_id}/enrollments"

    def post(http: httpx.Client, i: int) -> httpx.Response:
        return http.post(url, json={"learner_key": keys[i]}, headers=headers)

    responses = _parallel(200, post)
    assert all(r.status_code < 500 for r in responses), [r.text for r in responses][:3]
    statuses = Counter(
        r.json()["status"] if r.status_code == 201 else r.json()["code"] for r in responses
    )
    if waitlist:
        assert statuses == {"proposed": 40, "waitlisted": 160}
    else:
        assert statuses == {"proposed": 40, "cohort_full": 160}
    seated, waiting = _check_counts(live_server, headers, cohort_id)
    assert (seated, len(waiting)) == (40, 160 if waitlist else 0)


@pytest.mark.slow
def test_parallel_enrolments_and_withdrawals_never_exceed_capacity_and_promote_in_order(
    live_server: str, session: Session
) -> None:
    headers, cohort_id, keys = _setup(live_server, session, 200, waitlist_enabled=True)
    url = f"{live_server}/v1/cohorts/{cohort_id}/enrollments"
    with httpx.Client(timeout=30, headers=headers) as http:
        first = [http.post(url, json={"learner_key": k}).json() for k in keys[:60]]
    assert Counter(e["status"] for e in first) == {"proposed": 40, "waitlisted": 20}
    leaving = [e["id"] for e in first[:30]]  # 30 seated withdraw while 140 more enrol
    calls: list[tuple[str, str]] = [("withdraw", i) for i in leaving]
    calls += [("enrol", k) for k in keys[60:]]
    random.Random(8).shuffle(calls)

    def act(http: httpx.Client, i: int) -> httpx.Response:
        kind, value = calls[i]
        if kind == "withdraw":
            return http.post(
                f"{live_server}/v1/enrollments/{value}/transitions",
                json={"to": "withdrawn", "reason": "Mutasi jabatan"},
                headers=headers,
            )
        return http.post(url, json={"learner_key": value}, headers=headers)

    responses = _parallel(len(calls), act)
    assert all(r.status_code in (200, 201) for r in responses), [
        r.text for r in responses if r.status_code not in (200, 201)
    ][:3]
    seated, waiting = _check_counts(live_server, headers, cohort_id)
    assert seated == 40  # 30 seats freed, all refilled from the waitlist at once
    assert len(waiting) == 200 - 30 - 40
    # the 20 who waited first were the first promoted, in their order
    for e in first[40:]:
        got = httpx.get(f"{live_server}/v1/enrollments/{e['id']}", headers=headers).json()
        assert got["status"] == "proposed", got


@pytest.mark.slow
def test_two_withdrawals_at_once_promote_the_first_two_waitlisted(
    live_server: str, session: Session
) -> None:
    headers, cohort_id, keys = _setup(live_server, session, 5, capacity=2, waitlist_enabled=True)
    url = f"{live_server}/v1/cohorts/{cohort_id}/enrollments"
    with httpx.Client(timeout=30, headers=headers) as http:
        made = [http.post(url, json={"learner_key": k}).json() for k in keys]
    assert [e["status"] for e in made] == ["proposed"] * 2 + ["waitlisted"] * 3
    barrier = threading.Barrier(2)

    def withdraw(i: int) -> httpx.Response:
        with httpx.Client(timeout=30) as http:
            barrier.wait()
            return http.post(
                f"{live_server}/v1/enrollments/{made[i]['id']}/transitions",
                json={"to": "withdrawn", "reason": "Sakit"},
                headers=headers,
            )

    with ThreadPoolExecutor(max_workers=2) as pool:
        responses = list(pool.map(withdraw, range(2)))
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    after = [
        httpx.get(f"{live_server}/v1/enrollments/{e['id']}", headers=headers).json() for e in made
    ]
    assert [(e["status"], e["waitlist_position"]) for e in after] == [
        ("withdrawn", None),
        ("withdrawn", None),
        ("proposed", None),
        ("proposed", None),
        ("waitlisted", 1),
    ]
    _check_counts(live_server, headers, cohort_id)


@pytest.mark.slow
def test_parallel_re_enrolments_after_withdrawal_stay_exact(
    live_server: str, session: Session
) -> None:
    """Withdrawn learners enrolled again (each twice at once), new learners and more
    withdrawals, all in parallel: one enrolment row a learner, seats exact."""
    headers, cohort_id, keys = _setup(live_server, session, 60, waitlist_enabled=True)
    url = f"{live_server}/v1/cohorts/{cohort_id}/enrollments"
    with httpx.Client(timeout=30, headers=headers) as http:
        first = [http.post(url, json={"learner_key": k}).json() for k in keys[:40]]
        for e in first[:20]:
            gone = http.post(
                f"{live_server}/v1/enrollments/{e['id']}/transitions",
                json={"to": "withdrawn", "reason": "Mutasi jabatan"},
            )
            assert gone.status_code == 200, gone.text
    calls: list[tuple[str, str]] = [("enrol", k) for k in keys[:20] * 2]  # back, twice each
    calls += [("enrol", k) for k in keys[40:]]  # 20 new
    calls += [("withdraw", e["id"]) for e in first[20:30]]  # 10 seated leave
    random.Random(9).shuffle(calls)

    def act(http: httpx.Client, i: int) -> httpx.Response:
        kind, value = calls[i]
        if kind == "withdraw":
            return http.post(
                f"{live_server}/v1/enrollments/{value}/transitions",
                json={"to": "withdrawn", "reason": "Sakit"},
                headers=headers,
            )
        return http.post(url, json={"learner_key": value}, headers=headers)

    responses = _parallel(len(calls), act)
    assert all(r.status_code < 500 for r in responses), [r.text for r in responses][:3]
    made = Counter(
        calls[i][1] for i, r in enumerate(responses) if calls[i][0] == "enrol" and r.is_success
    )
    refused = Counter(r.json()["code"] for i, r in enumerate(responses) if r.status_code == 409)
    assert all(made[k] == 1 for k in keys[:20] + keys[40:]), made
    assert refused == {"duplicate_enrollment": 20}
    back = {r.json()["id"] for i, r in enumerate(responses) if r.status_code == 201}
    assert {e["id"] for e in first[:20]} <= back  # the same rows came back
    seated, waiting = _check_counts(live_server, headers, cohort_id)
    assert (seated, len(waiting)) == (40, 10)
    roster = _roster(live_server, headers, cohort_id)
    assert len(roster) == 60 and len({e["learner_id"] for e in roster}) == 60
