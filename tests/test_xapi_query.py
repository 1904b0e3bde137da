"""GET /xapi/statements: the filters, the order, pages with a ``more`` link that carries
the filters, the formats, and xAPI's 400s for parameters it does not allow."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from sqlmodel import Session
from starlette.testclient import TestClient

from tests.xapi_helpers import ADL, Lrs, make_lrs, post, statement


def _get(client: TestClient, lrs: Lrs, **params: Any) -> Any:
    answer = client.get("/xapi/statements", params=params, headers=lrs.basic)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _ids(result: dict[str, Any]) -> list[str]:
    return [s["id"] for s in result["statements"]]


def test_filters_order_and_pages(client: TestClient, session: Session) -> None:
    lrs = make_lrs(client, session, learners=2)
    a, b = lrs.setup.keys
    registration = str(uuid.uuid4())
    sent = []
    for n in range(5):
        body = statement(a if n % 2 == 0 else b, "progressed", lrs.setup.unassessed)
        body["context"] = {
            "registration": registration if n < 2 else str(uuid.uuid4()),
            "contextActivities": {"parent": {"id": "http://example.com/course/1"}},
        }
        assert post(client, lrs, body).status_code == 200
        sent.append(body)
        time.sleep(0.005)  # distinct stored instants
    newest_first = [s["id"] for s in reversed(sent)]
    assert _ids(_get(client, lrs)) == newest_first
    assert _ids(_get(client, lrs, ascending="true")) == newest_first[::-1]
    agent = json.dumps(sent[0]["actor"])
    assert _ids(_get(client, lrs, agent=agent)) == [sent[4]["id"], sent[2]["id"], sent[0]["id"]]
    assert _ids(_get(client, lrs, registration=registration)) == [sent[1]["id"], sent[0]["id"]]
    assert _ids(_get(client, lrs, verb=ADL + "completed")) == []
    assert _ids(_get(client, lrs, activity="http://example.com/course/1")) == []
    related = _get(client, lrs, activity="http://example.com/course/1", related_activities="true")
    assert _ids(related) == newest_first
    # pages of two, following ``more`` (which keeps the filters)
    seen: list[str] = []
    result = _get(client, lrs, limit=2, agent=agent)
    while True:
        seen += _ids(result)
        if not result["more"]:
            break
        answer = client.get(result["more"], headers=lrs.basic)
        assert answer.status_code == 200, answer.text
        result = answer.json()
    assert seen == [sent[4]["id"], sent[2]["id"], sent[0]["id"]]
    stored = _get(client, lrs, statementId=sent[2]["id"])["stored"]
    since = _ids(_get(client, lrs, since=stored, ascending="true"))
    assert since == [sent[3]["id"], sent[4]["id"]]
    assert _ids(_get(client, lrs, until=stored))[0] == sent[2]["id"]


def test_formats_ids_and_canonical(client: TestClient, session: Session) -> None:
    lrs = make_lrs(client, session, learners=1)
    body = statement(lrs.setup.keys[0], "completed", lrs.setup.unassessed)
    body["verb"]["display"] = {"en-US": "completed", "id-ID": "menyelesaikan"}
    body["object"]["definition"] = {"name": {"en-US": "Module", "id-ID": "Modul"}}
    assert post(client, lrs, body).status_code == 200
    ids = _get(client, lrs, format="ids")["statements"][0]
    assert ids["verb"] == {"id": body["verb"]["id"]}
    assert ids["object"] == {"id": body["object"]["id"]}
    assert set(ids["actor"]) == {"objectType", "account"}
    canonical = client.get(
        "/xapi/statements",
        params={"format": "canonical"},
        headers={**lrs.basic, "Accept-Language": "id-ID"},
    ).json()["statements"][0]
    assert canonical["verb"]["display"] == {"id-ID": "menyelesaikan"}
    assert canonical["object"]["definition"]["name"] == {"id-ID": "Modul"}


def test_parameters_xapi_does_not_allow_are_400(client: TestClient, session: Session) -> None:
    lrs = make_lrs(client, session, learners=0)
    some_id = str(uuid.uuid4())
    for params in (
        {"colour": "red"},
        {"statementId": some_id, "verb": ADL + "completed"},
        {"statementId": some_id, "voidedStatementId": some_id},
        {"limit": "-1"},
        {"since": "yesterday"},
        {"agent": "{not json"},
        {"agent": json.dumps({"name": "no identifier"})},
        {"format": "pretty"},
        {"ascending": "yes"},
        {"cursor": "!!!"},
    ):
        answer = client.get("/xapi/statements", params=params, headers=lrs.basic)
        assert answer.status_code == 400, (params, answer.text)
        assert answer.headers["X-Experience-API-Consistent-Through"]
    missing = client.get("/xapi/statements", params={"statementId": some_id}, headers=lrs.basic)
    assert missing.status_code == 404
    head = client.head("/xapi/statements", headers=lrs.basic)
    assert head.status_code == 200 and head.content == b""
