"""The xAPI document resources (State, Activity Profile, Agent Profile): documents kept
as sent with their ETag, the concurrency rules (If-Match, If-None-Match, 409 for a PUT
over a profile document without either), JSON merge on POST, ids by context and since,
and each agency's documents apart."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from tests.factories import auth_headers, make_agency, make_user
from tests.test_clients import register
from tests.xapi_helpers import V2, basic_headers

ACTIVITY = "http://lms.example.go.id/activities/latsar-1"
AGENT = {"objectType": "Agent", "mbox": "mailto:ani@example.go.id"}
STATE = "/xapi/activities/state"
ACTIVITY_PROFILE = "/xapi/activities/profile"
AGENT_PROFILE = "/xapi/agents/profile"


def lrs(client: TestClient, session: Session) -> dict[str, str]:
    """HTTP Basic headers of a new agency's integration client with the xAPI scopes."""
    agency = make_agency(session)
    admin = auth_headers(make_user(session, agency, "agency_admin"))
    created = register(client, admin, name="LMS", scopes=["statements/read", "statements/write"])
    return basic_headers(created["client_id"], created["client_secret"])


def state(state_id: str = "bookmark", **extra: Any) -> dict[str, str]:
    return {"activityId": ACTIVITY, "agent": json.dumps(AGENT), "stateId": state_id, **extra}


def profile(path: str, profile_id: str = "prefs") -> dict[str, str]:
    if path == AGENT_PROFILE:
        return {"agent": json.dumps(AGENT), "profileId": profile_id}
    return {"activityId": ACTIVITY, "profileId": profile_id}


def test_a_state_document_is_kept_as_sent_with_its_etag(
    client: TestClient, session: Session
) -> None:
    headers = lrs(client, session)
    content = b"\x00\x01 binary bookmark \xff"
    put = client.put(
        STATE,
        params=state(),
        content=content,
        headers={**headers, "Content-Type": "application/octet-stream"},
    )
    assert put.status_code == 204, put.text
    assert put.headers["X-Experience-API-Version"] == "2.0.0"
    read = client.get(STATE, params=state(), headers=headers)
    assert read.status_code == 200, read.text
    assert read.content == content
    assert read.headers["content-type"] == "application/octet-stream"
    assert read.headers["ETag"] == '"' + hashlib.sha1(content).hexdigest() + '"'
    assert read.headers["Last-Modified"].endswith("GMT")
    head = client.head(STATE, params=state(), headers=headers)
    assert head.status_code == 200 and head.headers["ETag"] == read.headers["ETag"]
    missing = client.get(STATE, params=state("nothing-here"), headers=headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


def test_state_put_replaces_without_concurrency_headers(
    client: TestClient, session: Session
) -> None:
    headers = lrs(client, session)
    assert client.put(STATE, params=state(), json={"a": 1}, headers=headers).status_code == 204
    assert client.put(STATE, params=state(), json={"b": 2}, headers=headers).status_code == 204
    assert client.get(STATE, params=state(), headers=headers).json() == {"b": 2}


def test_put_keeps_any_json_value_not_only_objects(client: TestClient, session: Session) -> None:
    # a document is whatever the client sends: a JSON scalar or array is stored as is (the
    # contract declares PUT's JSON body as any value; only POST's merge needs an object)
    headers = lrs(client, session)
    json_type = {**headers, "Content-Type": "application/json"}
    for number, body in enumerate((b"true", b"[1, 2]", b'"text"', b"null")):
        params = state(f"value-{number}")
        assert client.put(STATE, params=params, content=body, headers=json_type).status_code == 204
        assert client.get(STATE, params=params, headers=headers).content == body


@pytest.mark.parametrize("path", [ACTIVITY_PROFILE, AGENT_PROFILE])
def test_profile_put_over_an_existing_document_needs_a_precondition(
    client: TestClient, session: Session, path: str
) -> None:
    headers = lrs(client, session)
    params = profile(path)
    created = client.put(
        path, params=params, json={"v": 1}, headers={**headers, "If-None-Match": "*"}
    )
    assert created.status_code == 204, created.text
    blind = client.put(path, params=params, json={"v": 2}, headers=headers)
    assert blind.status_code == 409
    assert "If-Match" in blind.json()["detail"]
    again = client.put(
        path, params=params, json={"v": 2}, headers={**headers, "If-None-Match": "*"}
    )
    assert again.status_code == 412
    stale = client.put(path, params=params, json={"v": 2}, headers={**headers, "If-Match": '"0"'})
    assert stale.status_code == 412
    read = client.get(path, params=params, headers=headers)
    assert read.json() == {"v": 1}
    fresh = client.put(
        path, params=params, json={"v": 3}, headers={**headers, "If-Match": read.headers["ETag"]}
    )
    assert fresh.status_code == 204, fresh.text
    assert client.get(path, params=params, headers=headers).json() == {"v": 3}


@pytest.mark.parametrize("path", [STATE, ACTIVITY_PROFILE, AGENT_PROFILE])
def test_post_and_delete_honour_if_match(client: TestClient, session: Session, path: str) -> None:
    headers = lrs(client, session)
    params = state() if path == STATE else profile(path)
    assert client.post(path, params=params, json={"v": 1}, headers=headers).status_code == 204
    etag = client.get(path, params=params, headers=headers).headers["ETag"]
    stale = {**headers, "If-Match": '"1234"'}
    assert client.post(path, params=params, json={"v": 2}, headers=stale).status_code == 412
    assert client.delete(path, params=params, headers=stale).status_code == 412
    assert client.get(path, params=params, headers=headers).json() == {"v": 1}
    assert (
        client.delete(path, params=params, headers={**headers, "If-Match": etag}).status_code == 204
    )
    assert client.get(path, params=params, headers=headers).status_code == 404
    # If-Match names a document that must exist
    assert (
        client.post(path, params=params, json={}, headers={**headers, "If-Match": etag}).status_code
        == 412
    )


def test_post_merges_top_level_properties_of_json_objects(
    client: TestClient, session: Session
) -> None:
    headers = lrs(client, session)
    first = {"x": "foo", "y": "bar", "nested": {"keep": 1, "drop": 2}}
    assert client.post(STATE, params=state(), json=first, headers=headers).status_code == 204
    second = {"x": "bash", "z": "faz", "nested": {"new": 3}}
    assert client.post(STATE, params=state(), json=second, headers=headers).status_code == 204
    merged = client.get(STATE, params=state(), headers=headers)
    assert merged.json() == {"x": "bash", "y": "bar", "z": "faz", "nested": {"new": 3}}
    assert merged.headers["content-type"].startswith("application/json")


def test_post_refuses_what_is_not_two_json_objects(client: TestClient, session: Session) -> None:
    headers = lrs(client, session)
    json_type = {**headers, "Content-Type": "application/json"}
    # bad JSON, or JSON that is not an object, is refused even for a new document
    for body in (b"{not json", b"[1, 2]", b'"text"'):
        answer = client.post(STATE, params=state("new"), content=body, headers=json_type)
        assert answer.status_code == 400, body
        assert "JSON object" in answer.json()["detail"]
    assert client.get(STATE, params=state("new"), headers=headers).status_code == 404
    # a JSON document and a text one do not merge, either way round; nothing changes
    assert client.post(STATE, params=state(), json={"a": 1}, headers=headers).status_code == 204
    text = {**headers, "Content-Type": "text/plain"}
    assert client.post(STATE, params=state(), content=b"plain", headers=text).status_code == 400
    assert client.get(STATE, params=state(), headers=headers).json() == {"a": 1}
    assert client.put(STATE, params=state("t"), content=b"plain", headers=text).status_code == 204
    assert client.post(STATE, params=state("t"), json={"a": 1}, headers=headers).status_code == 400
    assert client.get(STATE, params=state("t"), headers=headers).content == b"plain"


def test_ids_of_a_context_with_since_and_registration(client: TestClient, session: Session) -> None:
    headers = lrs(client, session)
    registration = "2f5b9a4e-8c1d-4e7a-9b3f-1a2b3c4d5e6f"
    context = {"activityId": ACTIVITY, "agent": json.dumps(AGENT)}
    assert client.put(STATE, params=state("a"), json={}, headers=headers).status_code == 204
    time.sleep(0.01)
    since = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    with_registration = state("b", registration=registration)
    assert client.put(STATE, params=with_registration, json={}, headers=headers).status_code == 204
    other = {**state("c"), "activityId": ACTIVITY + "/other"}
    assert client.put(STATE, params=other, json={}, headers=headers).status_code == 204

    listed = client.get(STATE, params=context, headers=headers)
    assert listed.status_code == 200 and listed.json() == ["a", "b"]
    assert listed.headers["ETag"] and listed.headers["Last-Modified"]
    assert client.get(STATE, params={**context, "since": since}, headers=headers).json() == ["b"]
    scoped = {**context, "registration": registration}
    assert client.get(STATE, params=scoped, headers=headers).json() == ["b"]
    # DELETE without stateId removes the context's documents (of the registration if given)
    assert client.delete(STATE, params=scoped, headers=headers).status_code == 204
    assert client.get(STATE, params=context, headers=headers).json() == ["a"]
    assert client.delete(STATE, params=context, headers=headers).status_code == 204
    assert client.get(STATE, params=context, headers=headers).json() == []
    assert client.get(STATE, params=other, headers=headers).status_code == 200


def test_another_agency_sees_and_changes_none_of_the_documents(
    client: TestClient, session: Session
) -> None:
    mine, theirs = lrs(client, session), lrs(client, session)
    create = {"If-None-Match": "*"}
    for path in (STATE, ACTIVITY_PROFILE, AGENT_PROFILE):
        params = state() if path == STATE else profile(path)
        written = client.put(path, params=params, json={"mine": 1}, headers={**mine, **create})
        assert written.status_code == 204, written.text
        assert client.get(path, params=params, headers=theirs).status_code == 404
        ids = {k: v for k, v in params.items() if k not in ("stateId", "profileId")}
        assert client.get(path, params=ids, headers=theirs).json() == []
        # for them the document does not exist: If-None-Match holds, and mine is untouched
        theirs_put = client.put(path, params=params, json={"x": 1}, headers={**theirs, **create})
        assert theirs_put.status_code == 204, theirs_put.text
        assert client.delete(path, params=params, headers=theirs).status_code == 204
        assert client.get(path, params=params, headers=mine).json() == {"mine": 1}


@pytest.mark.parametrize("path", [ACTIVITY_PROFILE, AGENT_PROFILE])
def test_a_profile_put_without_either_header_is_refused(
    client: TestClient, session: Session, path: str
) -> None:
    headers = lrs(client, session)
    answer = client.put(path, params=profile(path, "new"), json={"v": 1}, headers=headers)
    assert answer.status_code == 400
    assert "If-None-Match" in answer.json()["detail"]
    assert client.get(path, params=profile(path, "new"), headers=headers).status_code == 404


def test_parameters_are_checked_as_xapi_says(client: TestClient, session: Session) -> None:
    headers = lrs(client, session)
    bad = [
        {k: v for k, v in state().items() if k != "activityId"},
        {k: v for k, v in state().items() if k != "agent"},
        {k: v for k, v in state().items() if k != "stateId"},
        {**state(), "agent": "not JSON"},
        {**state(), "agent": "true"},
        {**state(), "agent": json.dumps({"mbox": "ani@example.go.id"})},
        {**state(), "agent": json.dumps({**AGENT, "openid": "http://openid.example.com/ani"})},
        {**state(), "agent": json.dumps({"objectType": "Group", "member": [AGENT]})},
        {**state(), "activityId": "not an iri"},
        {**state(), "registration": "true"},
        {**state(), "unknown": "1"},
        {**state(), "stateId": "s" * 10_000},
    ]
    for params in bad:
        answer = client.put(STATE, params=params, json={}, headers=headers)
        assert answer.status_code == 400, (params, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    listing = {"activityId": ACTIVITY, "agent": json.dumps(AGENT), "since": "yesterday"}
    assert client.get(STATE, params=listing, headers=headers).status_code == 400
    no_profile = {"activityId": ACTIVITY}
    assert client.delete(ACTIVITY_PROFILE, params=no_profile, headers=headers).status_code == 400
    assert (
        client.get(
            STATE, params=state(), headers={"Authorization": headers["Authorization"]}
        ).status_code
        == 400
    )
    assert client.get(STATE, params=state(), headers=V2).status_code == 401


def test_a_document_over_one_mebibyte_is_413(client: TestClient, session: Session) -> None:
    headers = lrs(client, session)
    huge = b"x" * (1024 * 1024 + 1)
    answer = client.put(STATE, params=state(), content=huge, headers=headers)
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "1048576" in answer.json()["detail"]
    indonesian = client.put(
        STATE, params=state(), content=huge, headers={**headers, "Accept-Language": "id"}
    )
    assert "bita" in indonesian.json()["detail"]
    assert client.get(STATE, params=state(), headers=headers).status_code == 404
    exact = b"x" * (1024 * 1024)
    assert client.put(STATE, params=state(), content=exact, headers=headers).status_code == 204


def test_hostile_bodies_and_parameters_are_400_not_500(
    client: TestClient, session: Session
) -> None:
    headers = lrs(client, session)
    json_type = {**headers, "Content-Type": "application/json"}
    for body in (b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe{}", b'{"a": NaN'):
        answer = client.post(STATE, params=state("hostile"), content=body, headers=json_type)
        assert answer.status_code == 400, body[:20]
    long_iri = {**state(), "activityId": "http://example.com/" + "a" * 10_000}
    assert client.put(STATE, params=long_iri, json={}, headers=headers).status_code == 400
    long_agent = {**state(), "agent": json.dumps({**AGENT, "name": "n" * 10_000})}
    assert client.get(STATE, params=long_agent, headers=headers).status_code == 400
    empty_id = {**state(), "stateId": ""}
    assert client.put(STATE, params=empty_id, json={}, headers=headers).status_code == 400
    # ids of any other length and character are the client's to choose
    odd = state("ruang kelas/Angkatan II?&#ü" + "x" * 990)  # ids hold up to 1,024 characters
    assert client.put(STATE, params=odd, json={"ok": 1}, headers=headers).status_code == 204
    assert client.get(STATE, params=odd, headers=headers).json() == {"ok": 1}
