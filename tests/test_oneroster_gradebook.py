"""The gradebook PUT: an LMS's result becomes the learner's progress record through the
progress service, with its idempotency (the same result again changes nothing) and its
ordering (an older result never overwrites a newer one), also under parallel requests."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from app.models.client import Scope
from tests.factories_oneroster import (
    GRADEBOOK,
    ROSTER,
    OneRosterSetup,
    client_headers,
    setup_oneroster,
)
from tests.factories_progress import setup_progress, stored
from tests.parallel import race


@pytest.fixture
def world(client: TestClient, session: Session) -> OneRosterSetup:
    return setup_oneroster(client, session)


def _student(client: TestClient, world: OneRosterSetup, index: int = 0) -> str:
    got = client.get(
        f"{ROSTER}/enrollments/{world.progress.enrollments[index]}", headers=world.token
    )
    return str(got.json()["enrollment"]["user"]["sourcedId"])


def _body(client: TestClient, world: OneRosterSetup, **values: Any) -> dict[str, Any]:
    result = {
        "dateLastModified": "2025-05-20T08:00:00Z",
        "lineItem": {"sourcedId": f"{world.progress.cohort_id}.{world.progress.assessed}"},
        "student": {"sourcedId": _student(client, world)},
        "scoreStatus": "fully graded",
        "score": 85.5,
    }
    result.update(values)
    return {"result": result}


def _url(world: OneRosterSetup, index: int = 0, module: str | None = None) -> str:
    return f"{GRADEBOOK}/results/{world.progress.enrollments[index]}.{module or world.progress.assessed}"


def _progress(client: TestClient, world: OneRosterSetup) -> dict[str, Any]:
    got = client.get(
        f"/v1/enrollments/{world.progress.enrollments[0]}/progress", headers=world.progress.headers
    )
    return next(m for m in got.json()["modules"] if m["module_id"] == world.progress.assessed)


def test_a_pushed_result_becomes_progress_and_replaying_it_changes_nothing(
    client: TestClient, session: Session, world: OneRosterSetup
) -> None:
    first = client.put(_url(world), json=_body(client, world), headers=world.token)
    assert first.status_code == 201, first.text
    assert first.headers["Progress-Outcome"] == "created"
    result = first.json()["result"]
    assert (result["scoreStatus"], result["score"]) == ("fully graded", 85.5)
    module = _progress(client, world)
    assert (module["status"], module["score"], module["source"]) == ("completed", 85.5, "oneroster")
    before = stored(session)
    again = client.put(_url(world), json=_body(client, world), headers=world.token)
    assert again.status_code == 200
    assert again.headers["Progress-Outcome"] == "unchanged"
    assert stored(session) == before
    read = client.get(_url(world), headers=world.token)
    assert read.json()["result"]["score"] == 85.5


def test_an_older_result_never_overwrites_a_newer_one(
    client: TestClient, world: OneRosterSetup
) -> None:
    newer = _body(client, world, dateLastModified="2025-05-21T08:00:00Z", score=92)
    assert client.put(_url(world), json=newer, headers=world.token).status_code == 201
    older = _body(client, world, dateLastModified="2025-05-20T08:00:00Z", score=40)
    late = client.put(_url(world), json=older, headers=world.token)
    assert late.status_code == 200
    assert late.headers["Progress-Outcome"] == "stale"
    assert late.json()["result"]["score"] == 92
    newest = _body(
        client, world, dateLastModified="2025-05-22T08:00:00+07:00", scoreStatus="partially graded",
        score=60,
    )  # fmt: skip
    moved = client.put(_url(world), json=newest, headers=world.token)
    assert moved.headers["Progress-Outcome"] == "updated"
    assert moved.json()["result"]["scoreStatus"] == "partially graded"
    assert _progress(client, world)["status"] == "in_progress"


def test_parallel_pushes_end_with_the_newest(
    client: TestClient, world: OneRosterSetup, live_server: str
) -> None:
    bodies = [
        _body(client, world, dateLastModified=f"2025-05-20T{h:02d}:00:00Z", score=50 + h)
        for h in range(8)
    ]

    def send(http: httpx.Client, i: int) -> httpx.Response:
        return http.put(live_server + _url(world), json=bodies[i], headers=world.token)

    answers = race(len(bodies), send)
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201], [a.text for a in answers]
    assert sum(a.headers["Progress-Outcome"] == "created" for a in answers) == 1
    assert _progress(client, world)["score"] == 57


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"score": 101}, 422),
        ({"score": "90"}, 422),
        ({"scoreStatus": "exempt"}, 422),
        ({"status": "tobedeleted"}, 422),
        ({"dateLastModified": "2025-05-20T08:00:00"}, 422),  # no zone
        ({"shoeSize": 42}, 422),
        ({"sourcedId": "enr_other.mod_other"}, 422),
        ({"student": {"sourcedId": "lrn_someone_else"}}, 422),
    ],
)
def test_bad_results_are_refused_as_imsx(
    client: TestClient, world: OneRosterSetup, change: dict[str, Any], status: int
) -> None:
    got = client.put(_url(world), json=_body(client, world, **change), headers=world.token)
    assert got.status_code == status, got.text
    body = got.json()
    assert body["imsx_codeMajor"] == "failure"
    assert (
        body["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"]
        == "invaliddata"
    )


def test_unknown_or_unassessed_or_foreign_results_are_unknownobject(
    client: TestClient, session: Session, world: OneRosterSetup
) -> None:
    unassessed = client.put(
        _url(world, module=world.progress.unassessed),
        json=_body(client, world),
        headers=world.token,
    )
    assert unassessed.status_code == 404
    assert (
        client.put(
            f"{GRADEBOOK}/results/nothing.here", json=_body(client, world), headers=world.token
        ).status_code
        == 404
    )
    other = setup_progress(client, session, learners=0)
    theirs = client_headers(client, other.headers, [Scope.or_gradebook_write.value])
    foreign = client.put(_url(world), json=_body(client, world), headers=theirs)
    assert foreign.status_code == 404
    items = client.get(f"{GRADEBOOK}/lineItems", headers=theirs).json()["lineItems"]
    assert items and not [i for i in items if i["class"]["sourcedId"] == world.progress.cohort_id]


def test_writing_needs_gradebook_createput(client: TestClient, world: OneRosterSetup) -> None:
    reader = client_headers(client, world.progress.headers, [Scope.or_gradebook_read.value])
    refused = client.put(_url(world), json=_body(client, world), headers=reader)
    assert refused.status_code == 403
    assert client.get(f"{GRADEBOOK}/categories", headers=reader).status_code == 200


@pytest.mark.parametrize("signed_in", [True, False])
def test_a_body_that_is_no_json_is_refused_as_imsx(
    client: TestClient, world: OneRosterSetup, signed_in: bool
) -> None:
    headers = {**(world.token if signed_in else {}), "Content-Type": "application/json"}
    got = client.put(_url(world), content=b"s\xff\xfe{not json", headers=headers)
    assert got.status_code == 400, got.text
    assert got.headers["content-type"].startswith("application/json")
    body = got.json()
    assert body["imsx_codeMajor"] == "failure"
    assert "JSON" in body["imsx_description"]
