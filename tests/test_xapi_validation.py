"""Statements that break xAPI's rules are 400 naming where, in both languages, and
nothing of the request is kept; credentials and scopes are checked like elsewhere."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from tests.test_clients import bearer, client_token, register
from tests.xapi_helpers import V2, basic_headers, make_lrs, post, statement

Change = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Change:
    def change(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = body
        for name in parents:
            node = node.setdefault(name, {})
        node[last] = value

    return change


def _drop(name: str) -> Change:
    return lambda body: body.pop(name)


BROKEN: dict[str, Change] = {
    "unknown property": _set("colour", "red"),
    "no actor": _drop("actor"),
    "agent with two identifiers": _set("actor.mbox", "mailto:ani@example.go.id"),
    "mbox without mailto": _set("actor", {"mbox": "ani@example.go.id"}),
    "anonymous group without members": _set("actor", {"objectType": "Group"}),
    "verb id not an IRI": _set("verb.id", "completed"),
    "display not a language map": _set("verb.display", {"not a tag!": "x"}),
    "statement id not a UUID": _set("id", "not-a-uuid"),
    "scaled score above 1": _set("result", {"score": {"scaled": 1.5}}),
    "raw above max": _set("result", {"score": {"raw": 11, "max": 10}}),
    "duration not ISO 8601": _set("result", {"duration": "90 minutes"}),
    "success not a boolean": _set("result", {"success": "yes"}),
    "timestamp without seconds": _set("timestamp", "2025-05-15T08:00+07:00"),
    "timestamp with -00:00": _set("timestamp", "2025-05-15T08:00:00-00:00"),
    "registration not a UUID": _set("context", {"registration": "abc"}),
    "revision with an agent object": lambda body: body.update(
        object={"mbox": "mailto:b@example.go.id", "objectType": "Agent"},
        context={"revision": "2"},
    ),
    "voiding without a StatementRef": _set("verb", {"id": "http://adlnet.gov/expapi/verbs/voided"}),
    "substatement in a substatement": _set(
        "object",
        {
            "objectType": "SubStatement",
            "actor": {"mbox": "mailto:a@example.go.id"},
            "verb": {"id": "http://example.com/v"},
            "object": {
                "objectType": "SubStatement",
                "actor": {"mbox": "mailto:a@example.go.id"},
                "verb": {"id": "http://example.com/v"},
                "object": {"id": "http://example.com/a"},
            },
        },
    ),
    "interaction type unknown": _set("object.definition", {"interactionType": {"not": "a string"}}),
    "attachment without fileUrl": _set(
        "attachments",
        [
            {
                "usageType": "http://example.com/usage",
                "display": {"en": "x"},
                "contentType": "text/plain",
                "length": 3,
                "sha2": "ab",
            }
        ],
    ),
    "version 3": _set("version", "3.0.0"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_statement_is_400_and_nothing_is_kept(
    client: TestClient, session: Session, case: str
) -> None:
    lrs = make_lrs(client, session, learners=1)
    good = statement(lrs.setup.keys[0], "completed", lrs.setup.unassessed)
    bad = copy.deepcopy(statement(lrs.setup.keys[0], "completed", lrs.setup.unassessed))
    BROKEN[case](bad)
    answer = post(client, lrs, [good, bad])
    assert answer.status_code == 400, (case, answer.text)
    problem = answer.json()
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert problem["detail"].startswith("statement[1]")
    indonesian = client.post(
        "/xapi/statements", json=[good, bad], headers={**lrs.basic, "Accept-Language": "id"}
    )
    assert indonesian.json()["detail"] != problem["detail"]
    listed = client.get("/xapi/statements", headers=lrs.basic).json()["statements"]
    assert listed == []


def test_a_body_that_is_not_json_is_400(client: TestClient, session: Session) -> None:
    lrs = make_lrs(client, session, learners=0)
    headers = {**lrs.basic, "Content-Type": "application/json"}
    assert client.post("/xapi/statements", content=b"{nope", headers=headers).status_code == 400
    text = {**lrs.basic, "Content-Type": "text/plain"}
    assert client.post("/xapi/statements", content=b"{}", headers=text).status_code == 400


def _multipart(statements: Any, files: list[tuple[str, bytes]], **part_headers: str) -> bytes:
    chunks = [b"--b0\r\nContent-Type: application/json\r\n\r\n", json.dumps(statements).encode()]
    for sha2, content in files:
        extra = "".join(f"{k}: {v}\r\n" for k, v in part_headers.items())
        chunks.append(
            f"\r\n--b0\r\nContent-Type: text/plain\r\n{extra}"
            f"X-Experience-API-Hash: {sha2}\r\n\r\n".encode()
        )
        chunks.append(content)
    chunks.append(b"\r\n--b0--\r\n")
    return b"".join(chunks)


def test_attachment_content_comes_as_multipart_and_goes_back_with_attachments_true(
    client: TestClient, session: Session
) -> None:
    lrs = make_lrs(client, session, learners=1)
    content = b"Laporan aktualisasi"
    sha2 = hashlib.sha256(content).hexdigest()
    body = statement(lrs.setup.keys[0], "completed", lrs.setup.unassessed)
    body["attachments"] = [
        {
            "usageType": "http://id.tincanapi.com/attachment/supporting_media",
            "display": {"id-ID": "Laporan"},
            "contentType": "text/plain",
            "length": len(content),
            "sha2": sha2,
        }
    ]
    headers = {**lrs.basic, "Content-Type": "multipart/mixed; boundary=b0"}
    binary = {"Content-Transfer-Encoding": "binary"}
    missing = client.post("/xapi/statements", content=_multipart([body], []), headers=headers)
    assert missing.status_code == 400 and "fileUrl" in missing.json()["detail"]
    no_encoding = _multipart([body], [(sha2, content)])
    assert client.post("/xapi/statements", content=no_encoding, headers=headers).status_code == 400
    stray = _multipart([body], [(sha2, content), ("ab" * 32, b"x")], **binary)
    assert client.post("/xapi/statements", content=stray, headers=headers).status_code == 400
    good = _multipart([body], [(sha2, content)], **binary)
    stored = client.post("/xapi/statements", content=good, headers=headers)
    assert stored.status_code == 200, stored.text
    plain = client.get("/xapi/statements", params={"statementId": body["id"]}, headers=lrs.basic)
    assert plain.headers["content-type"].startswith("application/json")
    both = client.get(
        "/xapi/statements",
        params={"statementId": body["id"], "attachments": "true"},
        headers=lrs.basic,
    )
    assert both.headers["content-type"].startswith("multipart/mixed")
    assert f"X-Experience-API-Hash: {sha2}".encode() in both.content and content in both.content


def test_a_signed_statement_must_match_its_signature(client: TestClient, session: Session) -> None:
    lrs = make_lrs(client, session, learners=1)
    body = statement(lrs.setup.keys[0], "completed", lrs.setup.unassessed)

    def signed(payload: dict[str, Any], alg: str = "RS256") -> tuple[dict[str, Any], bytes]:
        def part(value: Any) -> str:
            raw = json.dumps(value).encode()
            return base64.urlsafe_b64encode(raw).decode().rstrip("=")

        jws = f"{part({'alg': alg})}.{part(payload)}.c2ln".encode()
        sha2 = hashlib.sha256(jws).hexdigest()
        attachment = {
            "usageType": "http://adlnet.gov/expapi/attachments/signature",
            "display": {"en-US": "signature"},
            "contentType": "application/octet-stream",
            "length": len(jws),
            "sha2": sha2,
        }
        return {**body, "attachments": [attachment]}, _multipart(
            [{**body, "attachments": [attachment]}],
            [(sha2, jws)],
            **{"Content-Transfer-Encoding": "binary"},
        )

    headers = {**lrs.basic, "Content-Type": "multipart/mixed; boundary=b0"}
    _, wrong_alg = signed(body, alg="HS256")
    assert client.post("/xapi/statements", content=wrong_alg, headers=headers).status_code == 400
    _, other = signed({**body, "verb": {"id": "http://example.com/other"}})
    assert client.post("/xapi/statements", content=other, headers=headers).status_code == 400
    _, good = signed(body)
    assert client.post("/xapi/statements", content=good, headers=headers).status_code == 200


def test_wrong_basic_credentials_are_401_and_a_missing_scope_403(
    client: TestClient, session: Session
) -> None:
    lrs = make_lrs(client, session, learners=0)
    wrong = client.get("/xapi/statements", headers=basic_headers(lrs.client_id, "nope"))
    assert wrong.status_code == 401 and "Basic" in wrong.headers["www-authenticate"]
    none = client.get("/xapi/statements", headers=V2)
    assert none.status_code == 401
    reader = register(client, lrs.setup.headers, name="reader", scopes=["statements/read"])
    headers = basic_headers(reader["client_id"], reader["client_secret"])
    assert client.get("/xapi/statements", headers=headers).status_code == 200
    body = statement(lrs.setup.keys[0] if lrs.setup.keys else "x", "completed", "mod_x")
    refused = client.post("/xapi/statements", json=body, headers=headers)
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"


def test_a_bearer_token_of_the_client_works_too(client: TestClient, session: Session) -> None:
    lrs = make_lrs(client, session, learners=1)
    token = bearer(client_token(client, lrs.client_id, lrs.secret, scope="statements/write"))
    body = statement(lrs.setup.keys[0], "completed", lrs.setup.unassessed)
    assert client.post("/xapi/statements", json=body, headers={**token, **V2}).status_code == 200
    # the token was narrowed to statements/write: reading is refused
    assert client.get("/xapi/statements", headers={**token, **V2}).status_code == 403
    # an agency admin's own login reads and writes
    admin = {**lrs.setup.headers, **V2}
    assert client.get("/xapi/statements", headers=admin).json()["statements"][0]["id"] == body["id"]


def test_put_needs_a_matching_statement_id(client: TestClient, session: Session) -> None:
    lrs = make_lrs(client, session, learners=1)
    body = statement(lrs.setup.keys[0], "completed", lrs.setup.unassessed)
    other = statement(lrs.setup.keys[0], "completed", lrs.setup.unassessed)["id"]
    mismatch = client.put(
        "/xapi/statements", params={"statementId": other}, json=body, headers=lrs.basic
    )
    assert mismatch.status_code == 400
    missing = client.put("/xapi/statements", json=body, headers=lrs.basic)
    assert missing.status_code == 400
    del body["id"]
    stored = client.put(
        "/xapi/statements", params={"statementId": other}, json=body, headers=lrs.basic
    )
    assert stored.status_code == 204
