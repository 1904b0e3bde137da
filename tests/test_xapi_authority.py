"""What migration 0026 changed in how statements are kept still answers the same: the
authority (a column and ``xapi_authority`` now, not a reference row per statement) is
returned exactly and found by ``agent`` with ``related_agents``; a statement whose row
holds a signature of the first form still compares with a resend; and statements stored
before 0026 get their authority from their bodies."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import Engine, text
from sqlmodel import Session, select
from starlette.testclient import TestClient

from app.core import migrations
from app.core.config import get_settings
from app.models.xapi import XapiAuthority, XapiStatement
from app.services.xapi import query
from app.services.xapi.signature import form_1
from tests.factories import make_agency
from tests.xapi_helpers import Lrs, make_lrs, post, statement


def _ids(client: TestClient, lrs: Lrs, **params: str) -> list[str]:
    got = client.get("/xapi/statements", params=params, headers=lrs.basic)
    assert got.status_code == 200, got.text
    return [s["id"] for s in got.json()["statements"]]


def _authority(lrs: Lrs) -> dict[str, Any]:
    home = get_settings().public_url.rstrip("/")
    return {"objectType": "Agent", "account": {"homePage": home, "name": lrs.client_id}}


def test_the_authority_is_returned_exactly_and_found_with_related_agents_only(
    client: TestClient, session: Session
) -> None:
    lrs = make_lrs(client, session, learners=1)
    other = make_lrs(client, session, learners=1)
    sent = [statement(lrs.setup.keys[0], "experienced", lrs.setup.assessed) for _ in range(3)]
    assert post(client, lrs, sent).status_code == 200
    assert (
        post(client, other, [statement(other.setup.keys[0], "experienced", "m")]).status_code == 200
    )
    one = client.get("/xapi/statements", params={"statementId": sent[0]["id"]}, headers=lrs.basic)
    home = get_settings().public_url.rstrip("/")
    assert one.json()["authority"] == {
        "objectType": "Agent",
        "name": lrs.client_id,
        "account": {"homePage": home, "name": lrs.client_id},
    }
    agent = json.dumps(_authority(lrs))
    mine = sorted(s["id"] for s in sent)  # one batch: stored at the same instant
    assert sorted(_ids(client, lrs, agent=agent, related_agents="true")) == mine
    assert _ids(client, lrs, agent=agent) == []  # the authority is not the actor or object
    # another agency's client is not an authority here, nor are ours there
    assert _ids(client, lrs, agent=json.dumps(_authority(other)), related_agents="true") == []
    assert _ids(client, other, agent=agent, related_agents="true") == []
    # the actor is still found either way, and the Agents resource names the authority
    actor = json.dumps(sent[0]["actor"])
    assert sorted(_ids(client, lrs, agent=actor)) == mine
    assert sorted(_ids(client, lrs, agent=actor, related_agents="true")) == mine
    person = client.get("/xapi/agents", params={"agent": agent}, headers=lrs.basic)
    assert person.status_code == 200, person.text
    assert person.json()["name"] == [lrs.client_id]


def test_the_authority_is_listed_once_however_many_statements(
    client: TestClient, session: Session
) -> None:
    lrs = make_lrs(client, session, learners=1)
    for _ in range(2):
        batch = [statement(lrs.setup.keys[0], "experienced", "m") for _ in range(5)]
        assert post(client, lrs, batch).status_code == 200
    session.rollback()
    listed = session.exec(select(XapiAuthority)).all()
    home = get_settings().public_url.rstrip("/")
    assert [(a.agency_id, a.key) for a in listed] == [
        (lrs.setup.agency_id, f"account:{home}|{lrs.client_id}")
    ]
    keys = set(session.exec(select(XapiStatement.authority)).all())
    assert keys == {f"account:{home}|{lrs.client_id}"}


def test_a_row_signed_in_the_first_form_still_compares_with_a_resend(
    client: TestClient, session: Session
) -> None:
    lrs = make_lrs(client, session, learners=1)
    body = statement(lrs.setup.keys[0], "completed", lrs.setup.unassessed)
    body["context"] = {"extensions": {"http://lms.example.go.id/x": {"b": 1, "a": [1.5, "ü"]}}}
    assert post(client, lrs, [body]).status_code == 200
    row = session.exec(select(XapiStatement)).one()
    assert row.signature.startswith("2:") and len(row.signature) == 64
    row.signature = form_1(body)  # as a row stored before the second form
    session.add(row)
    session.commit()
    reordered = dict(reversed(list(body.items())))
    assert post(client, lrs, [reordered]).status_code == 200  # the same statement
    changed = {**body, "result": {"completion": True}}
    conflict = post(client, lrs, [changed])
    assert conflict.status_code == 409, conflict.text
    session.rollback()
    assert len(session.exec(select(XapiStatement)).all()) == 1


def test_a_statement_orjson_cannot_write_is_signed_in_the_first_form(
    client: TestClient, session: Session
) -> None:
    lrs = make_lrs(client, session, learners=1)
    body = statement(lrs.setup.keys[0], "experienced", "m")
    body["result"] = {"extensions": {"http://lms.example.go.id/besar": 2**70}}
    assert post(client, lrs, [body]).status_code == 200
    assert post(client, lrs, [body]).status_code == 200
    body["result"]["extensions"]["http://lms.example.go.id/besar"] = 2**70 + 1
    assert post(client, lrs, [body]).status_code == 409
    session.rollback()
    row = session.exec(select(XapiStatement)).one()
    assert not row.signature.startswith("2:")


def test_statements_stored_before_0026_get_their_authority_from_their_bodies(
    engine: Engine, session: Session
) -> None:
    agency = make_agency(session)
    home = "https://bangkom.lama.example.go.id"
    key = f"account:{home}|cli_lama"
    body = {
        "id": str(uuid.uuid4()),
        "actor": {"mbox": "mailto:ani@example.go.id"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": "http://lms.example.go.id/a"},
        "timestamp": "2025-05-15T01:00:00.000Z",
        "stored": "2025-05-15T01:00:00.000Z",
        "authority": {"objectType": "Agent", "account": {"homePage": home, "name": "cli_lama"}},
        "version": "2.0.0",
    }
    migrations.downgrade(engine, "0025")
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO xapi_statement (id, agency_id, statement_id, verb_id, "
                    "timestamp, stored, voided, body, signature, unmatched) VALUES ('xst_lama', "
                    ":agency, :sid, :verb, :at, :at, false, :body, :sig, false)"
                ),
                {
                    "agency": agency.id,
                    "sid": body["id"],
                    "verb": body["verb"]["id"],
                    "at": "2025-05-15 01:00:00.000000",
                    "body": json.dumps(body),
                    "sig": form_1(body),
                },
            )
            refs = [("agent", "mbox:mailto:ani@example.go.id", True), ("agent", key, False)]
            for kind, value, direct in refs:
                conn.execute(
                    text(
                        "INSERT INTO xapi_statement_ref (statement_pk, agency_id, kind, value, "
                        "direct) VALUES ('xst_lama', :agency, :kind, :value, :direct)"
                    ),
                    {"agency": agency.id, "kind": kind, "value": value, "direct": direct},
                )
    finally:
        migrations.upgrade(engine, "head")
    session.rollback()
    row = session.exec(select(XapiStatement)).one()
    assert row.authority == key
    listed = session.exec(select(XapiAuthority)).all()
    assert [(a.agency_id, a.key) for a in listed] == [(agency.id, key)]
    found, _ = query.page(session, agency.id, query.Query(agent=key, related_agents=True))
    assert [r.statement_id for r in found] == [body["id"]]
    found, _ = query.page(session, agency.id, query.Query(agent=key))
    assert found == []
