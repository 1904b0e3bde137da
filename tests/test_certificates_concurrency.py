"""Issuing under real parallel requests: numbers never repeat, no certificate is doubled."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from tests.factories import auth_headers, make_agency, make_published_course, make_user
from tests.factories_certificates import evaluated_cohort
from tests.parallel import race

pytestmark = pytest.mark.slow


def test_parallel_issue_calls_never_duplicate_a_number(
    live_server: str, client: TestClient, session: Session
) -> None:
    admin = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    course = make_published_course(client, admin, code="PAR")
    cohorts = [
        evaluated_cohort(client, session, admin, passed=4, course=course, number=n) for n in (1, 2)
    ]

    def call(http: httpx.Client, i: int) -> httpx.Response:
        cohort_id = cohorts[i % 2].cohort["id"]
        return http.post(f"{live_server}/v1/cohorts/{cohort_id}/certificates", headers=admin)

    answers = race(6, call)
    assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers]
    for n in range(len(cohorts)):
        mine = [a.json() for i, a in enumerate(answers) if i % 2 == n]
        assert sum(m["issued"] for m in mine) == 4  # one call issued them, the others none
    numbers = []
    for made in cohorts:
        listed = client.get(f"/v1/cohorts/{made.cohort['id']}/certificates", headers=admin)
        items = listed.json()["items"]
        assert len(items) == 4
        numbers += [c["number"] for c in items]
    assert len(set(numbers)) == 8
    seqs = sorted(int(re.match(r"(\d+)/", n).group(1)) for n in numbers)  # type: ignore[union-attr]
    assert seqs == list(range(1, 9))
