"""Parallel document writes against the real server: creating one document at once with
If-None-Match: * lets exactly one in, and simultaneous POST merges into one document lose
none of the properties (each merge reads what the one before it wrote)."""

from __future__ import annotations

import json

import httpx
from sqlmodel import Session
from starlette.testclient import TestClient

from tests.parallel import race
from tests.test_xapi_documents import ACTIVITY_PROFILE, AGENT, STATE, lrs, profile

WRITERS = 8


def test_creating_one_profile_document_at_once_lets_exactly_one_in(
    client: TestClient, session: Session, live_server: str
) -> None:
    headers = lrs(client, session)
    params = profile(ACTIVITY_PROFILE, "race")

    def send(http: httpx.Client, i: int) -> httpx.Response:
        return http.put(
            f"{live_server}{ACTIVITY_PROFILE}",
            params=params,
            json={"writer": i},
            headers={**headers, "If-None-Match": "*"},
        )

    answers = race(WRITERS, send)
    codes = sorted(a.status_code for a in answers)
    assert codes == [204] + [412] * (WRITERS - 1), [a.text for a in answers]
    winner = next(i for i, a in enumerate(answers) if a.status_code == 204)
    read = client.get(ACTIVITY_PROFILE, params=params, headers=headers)
    assert read.json() == {"writer": winner}


def test_simultaneous_merges_into_one_state_keep_every_property(
    client: TestClient, session: Session, live_server: str
) -> None:
    headers = lrs(client, session)
    params = {
        "activityId": "http://lms.example.go.id/activities/merge",
        "agent": json.dumps(AGENT),
        "stateId": "progress",
    }

    def send(http: httpx.Client, i: int) -> httpx.Response:
        return http.post(f"{live_server}{STATE}", params=params, json={f"k{i}": i}, headers=headers)

    answers = race(WRITERS, send)
    assert {a.status_code for a in answers} == {204}, [a.text for a in answers]
    merged = client.get(STATE, params=params, headers=headers).json()
    assert merged == {f"k{i}": i for i in range(WRITERS)}
