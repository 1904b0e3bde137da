"""The Agents resource (a Person object for any Agent: its identifier and the names the
agency's statements gave it) and the Activities resource (the full Activity object:
every definition the statements gave it merged; a Bangkom module its catalogue
definition), each reading only the caller's agency."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlmodel import Session
from starlette.testclient import TestClient

from tests.test_xapi_documents import lrs
from tests.xapi_helpers import make_lrs, module_iri

IRI = "http://lms.example.go.id/activities/orientasi"


def sent(headers: dict[str, str], client: TestClient, actor: dict[str, Any], obj: Any) -> None:
    body = {
        "id": str(uuid.uuid4()),
        "actor": actor,
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": obj,
    }
    answer = client.post("/xapi/statements", json=body, headers=headers)
    assert answer.status_code == 200, answer.text


def test_a_person_holds_the_agent_and_the_names_it_was_given(
    client: TestClient, session: Session
) -> None:
    mine, theirs = lrs(client, session), lrs(client, session)
    agent = {"mbox": "mailto:budi@example.go.id"}
    sent(mine, client, {**agent, "name": "Budi"}, {"id": IRI})
    sent(mine, client, {**agent, "name": "Budi Santoso"}, {"id": IRI})
    sent(theirs, client, {**agent, "name": "Someone Else"}, {"id": IRI})
    answer = client.get("/xapi/agents", params={"agent": json.dumps(agent)}, headers=mine)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "objectType": "Person",
        "name": ["Budi", "Budi Santoso"],
        "mbox": ["mailto:budi@example.go.id"],
    }
    assert answer.headers["ETag"].startswith('"')
    unknown = {"account": {"homePage": "https://lms.example.go.id", "name": "199001012015031001"}}
    person = client.get("/xapi/agents", params={"agent": json.dumps(unknown)}, headers=mine)
    assert person.json() == {"objectType": "Person", "account": [unknown["account"]]}
    for bad in ({}, {"agent": "{}"}, {"agent": json.dumps(agent), "extra": "1"}):
        assert client.get("/xapi/agents", params=bad, headers=mine).status_code == 400


def test_an_activity_merges_the_definitions_its_statements_gave(
    client: TestClient, session: Session
) -> None:
    mine, theirs = lrs(client, session), lrs(client, session)
    actor = {"mbox": "mailto:ani@example.go.id"}
    first = {"type": "http://adlnet.gov/expapi/activities/course", "name": {"en-US": "Orientation"}}
    sent(mine, client, actor, {"id": IRI, "definition": first})
    sent(mine, client, actor, {"id": IRI, "definition": {"name": {"id-ID": "Orientasi"}}})
    sent(theirs, client, actor, {"id": IRI, "definition": {"name": {"fr-FR": "Orientation"}}})
    answer = client.get("/xapi/activities", params={"activityId": IRI}, headers=mine)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "objectType": "Activity",
        "id": IRI,
        "definition": {
            "type": "http://adlnet.gov/expapi/activities/course",
            "name": {"en-US": "Orientation", "id-ID": "Orientasi"},
        },
    }
    never = IRI + "/never-seen"
    unseen = client.get("/xapi/activities", params={"activityId": never}, headers=mine)
    assert unseen.json() == {"objectType": "Activity", "id": never}
    assert client.get("/xapi/activities", headers=mine).status_code == 400
    bad = client.get("/xapi/activities", params={"activityId": "no iri"}, headers=mine)
    assert bad.status_code == 400


def test_a_module_activity_answers_its_catalogue_definition(
    client: TestClient, session: Session
) -> None:
    lrs_ = make_lrs(client, session, learners=0)
    iri = module_iri(lrs_.setup.assessed)
    answer = client.get("/xapi/activities", params={"activityId": iri}, headers=lrs_.basic)
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == iri
    assert answer.json()["definition"]["type"] == "http://adlnet.gov/expapi/activities/module"
