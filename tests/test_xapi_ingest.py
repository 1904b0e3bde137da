"""The fast statement ingest (app/services/xapi/rows.py, progress.py): whatever text a
statement carries comes back exactly, a full batch of many activities is indexed, and
the learner matching keeps its rules (seated enrolment first, NIP or mbox)."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from sqlmodel import Session, func, select
from starlette.testclient import TestClient

from app.models.xapi import XapiStatement, XapiStatementRef
from tests.xapi_helpers import make_lrs, post, progress_of, statement

LRS_SET = ("stored", "authority", "version")
HOSTILE = 'kutip " garis miring \\ kurung {a,b} NULL "NULL" , ; \'x\' Ø 日本 😀\n\tbaris'


def _sent_back(client: TestClient, headers: dict[str, str], ident: str) -> dict[str, Any]:
    got = client.get("/xapi/statements", params={"statementId": ident}, headers=headers)
    assert got.status_code == 200, got.text
    return {k: v for k, v in got.json().items() if k not in LRS_SET}


def test_text_with_quotes_backslashes_braces_and_emoji_comes_back_exactly(
    client: TestClient, session: Session
) -> None:
    lrs = make_lrs(client, session, learners=1)
    activity = "http://lms.example.go.id/kegiatan/a,b'c(Ø);NULL"
    body = statement(lrs.setup.keys[0], "experienced", lrs.setup.assessed)
    body["actor"] = {
        "name": HOSTILE,
        "account": {"homePage": "https://lms.example.go.id", "name": HOSTILE},
    }
    body["verb"]["display"] = {"id-ID": HOSTILE, "en-US": "\\"}
    body["object"] = {
        "objectType": "Activity",
        "id": activity,
        "definition": {"name": {"id": HOSTILE}, "extensions": {activity: {"x": [HOSTILE]}}},
    }
    body["result"] = {"response": HOSTILE, "extensions": {activity: None}}
    body["context"] = {
        "registration": str(uuid.uuid4()).upper(),
        "contextActivities": {"grouping": {"id": activity + "/kelompok"}},
        "extensions": {"http://lms.example.go.id/x": '\\"\\'},
    }
    sent = copy.deepcopy(body)
    assert post(client, lrs, [body]).status_code == 200
    assert _sent_back(client, lrs.basic, body["id"]) == {
        **sent,
        "context": {**sent["context"], "contextActivities": {"grouping": [{"id": activity + "/kelompok"}]}},
    }  # fmt: skip
    # the index holds the same text: the agent and the activity find the statement
    agent = '{"account": {"homePage": "https://lms.example.go.id", "name": %s}}'
    for params in (
        {"agent": agent % json.dumps(HOSTILE)},
        {"activity": activity},
        {"activity": activity + "/kelompok", "related_activities": "true"},
        {"registration": sent["context"]["registration"].lower()},
    ):
        found = client.get("/xapi/statements", params=params, headers=lrs.basic)
        assert found.status_code == 200, found.text
        assert [s["id"] for s in found.json()["statements"]] == [body["id"]], params
    # sent again, it is the same statement: nothing changes
    assert post(client, lrs, [sent]).status_code == 200


def test_a_full_batch_of_statements_with_many_activities_is_indexed(
    client: TestClient, session: Session
) -> None:
    """1,000 statements of 8 index entries each: more values than one SQLite statement
    takes, so the index rows go in parts; every one is found."""
    lrs = make_lrs(client, session, learners=1)
    base = "http://lms.example.go.id/kursus/"
    batch = []
    for n in range(1000):
        body = statement(lrs.setup.keys[0], "experienced", lrs.setup.unassessed)
        body["object"] = {"id": f"{base}{n}"}
        body["context"] = {
            "contextActivities": {"other": [{"id": f"{base}{n}/bagian/{k}"} for k in range(5)]}
        }
        batch.append(body)
    answer = post(client, lrs, batch)
    assert answer.status_code == 200, answer.text
    assert answer.json() == [b["id"] for b in batch]
    for n in (0, 499, 999):
        found = client.get(
            "/xapi/statements",
            params={"activity": f"{base}{n}/bagian/4", "related_activities": "true"},
            headers=lrs.basic,
        )
        assert [s["id"] for s in found.json()["statements"]] == [batch[n]["id"]]
    session.rollback()  # a fresh snapshot
    rows = session.exec(select(func.count()).select_from(XapiStatement)).one()
    refs = session.exec(select(func.count()).select_from(XapiStatementRef)).one()
    assert (rows, refs) == (1000, 7000)  # actor, object, 5 context activities (authority: a column)


def test_a_batch_names_learners_by_spaced_nip_and_by_mbox(
    client: TestClient, session: Session
) -> None:
    lrs = make_lrs(client, session, learners=2)
    first, second = lrs.setup.keys
    patched = client.patch(
        f"/v1/learners/{second}", json={"email": "Budi@Example.go.id"}, headers=lrs.setup.headers
    )
    assert patched.status_code == 200, patched.text
    spaced = f"{first[:8]} {first[8:14]} {first[14]} {first[15:]}"
    by_nip = statement(spaced, "completed", lrs.setup.unassessed)
    by_nip["actor"]["account"]["homePage"] = "https://moodle.example.go.id"
    by_nip_again = statement(first, "completed", lrs.setup.assessed, result={"score": {"raw": 9, "max": 10}})  # fmt: skip
    by_mail = statement(second, "completed", lrs.setup.unassessed)
    by_mail["actor"] = {"mbox": "mailto:BUDI@example.go.id"}
    stranger = statement(second, "completed", lrs.setup.assessed)
    stranger["actor"] = {"mbox": "mailto:tidak.ada@example.go.id"}
    answer = post(client, lrs, [by_nip, by_nip_again, by_mail, stranger])
    assert answer.status_code == 200, answer.text
    mine = progress_of(client, lrs, 0)
    assert mine[lrs.setup.unassessed]["status"] == "completed"
    assert mine[lrs.setup.assessed]["score"] == 90
    assert progress_of(client, lrs, 1)[lrs.setup.unassessed]["status"] == "completed"
    assert progress_of(client, lrs, 1)[lrs.setup.assessed]["status"] == "not_started"
    page = client.get("/v1/xapi/unmatched", headers=lrs.setup.headers).json()
    assert [(i["statement_id"], i["reason"]) for i in page["items"]] == [
        (stranger["id"], "learner_unknown")
    ]


def test_progress_goes_to_the_seated_enrolment_not_the_newer_withdrawn_one(
    client: TestClient, session: Session
) -> None:
    lrs = make_lrs(client, session, learners=1)
    headers, key = lrs.setup.headers, lrs.setup.keys[0]
    course_id = client.get(f"/v1/cohorts/{lrs.setup.cohort_id}", headers=headers).json()[
        "course_id"
    ]
    later = client.post(
        "/v1/cohorts",
        json={"course_id": course_id, "number": 2, "year": 2025, "starts_on": "2025-06-02",
              "ends_on": "2025-06-13", "capacity": 40},
        headers=headers,
    )  # fmt: skip
    assert later.status_code == 201, later.text
    opened = client.post(
        f"/v1/cohorts/{later.json()['id']}/transitions", json={"to": "open"}, headers=headers
    )
    assert opened.status_code == 200, opened.text
    second = client.post(
        f"/v1/cohorts/{later.json()['id']}/enrollments", json={"learner_key": key}, headers=headers
    )
    assert second.status_code == 201, second.text
    withdrawn = client.post(
        f"/v1/enrollments/{second.json()['id']}/transitions",
        json={"to": "withdrawn", "reason": "pindah angkatan"},
        headers=headers,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert post(client, lrs, statement(key, "completed", lrs.setup.unassessed)).status_code == 200
    assert progress_of(client, lrs)[lrs.setup.unassessed]["status"] == "completed"
    stored = client.get("/xapi/statements", headers=lrs.basic).json()["statements"]
    assert len(stored) == 1
    page = client.get("/v1/xapi/unmatched", headers=headers).json()
    assert page["items"] == []


def test_a_long_timestamp_is_read_like_a_short_one(client: TestClient, session: Session) -> None:
    """Timestamps are parsed once and remembered only up to 64 characters; a longer one
    (many fractional digits) is still read, and a long malformed one still refused."""
    lrs = make_lrs(client, session, learners=1)
    key, module = lrs.setup.keys[0], lrs.setup.assessed
    digits = "1" * 60
    older = statement(key, "completed", module, at=f"2025-05-15T08:00:00.{digits}+07:00",
                      result={"score": {"scaled": 0.5}})  # fmt: skip
    newer = statement(key, "completed", module, at="2025-05-15T08:00:01+07:00",
                      result={"score": {"scaled": 0.75}})  # fmt: skip
    assert post(client, lrs, [newer, older]).status_code == 200
    assert progress_of(client, lrs)[module]["score"] == 75
    broken = statement(key, "completed", module, at=f"2025-05-15T08:00:00.{digits}+07:00x")
    refused = post(client, lrs, broken)
    assert refused.status_code == 400, refused.text
    assert refused.json()["where"] == "statement.timestamp"
    again = post(client, lrs, broken)
    assert again.status_code == 400 and again.json()["where"] == "statement.timestamp"
    long_duration = statement(key, "progressed", lrs.setup.unassessed,
                              result={"duration": "PT" + "0" * 70 + "90M"})  # fmt: skip
    assert post(client, lrs, long_duration).status_code == 200
    assert progress_of(client, lrs)[lrs.setup.unassessed]["time_spent_minutes"] == 90


def test_values_postgresql_text_cannot_hold_are_kept_and_found(
    client: TestClient, session: Session
) -> None:
    """A NUL character (valid in a JSON string), an e-mail longer than any learner's, an
    activity id under the module prefix longer than any module id: the statements are
    kept and found, never a 500."""
    lrs = make_lrs(client, session, learners=1)
    key = lrs.setup.keys[0]
    nul_account = statement(key, "experienced", lrs.setup.unassessed)
    nul_account["actor"] = {"account": {"homePage": "https://lms.example.go.id", "name": "a\0b"}}
    nul_verb = statement(key, "experienced", lrs.setup.unassessed)
    nul_verb["verb"] = {"id": "http://lms.example.go.id/verb/a\0b"}
    long_mail = statement(key, "completed", lrs.setup.unassessed)
    long_mail["actor"] = {"mbox": "mailto:" + "a" * 500 + "@example.go.id"}
    nul_mail = statement(key, "completed", lrs.setup.unassessed)
    nul_mail["actor"] = {"mbox": "mailto:a\0b@example.go.id"}
    long_module = statement(key, "completed", lrs.setup.unassessed)
    long_module["object"]["id"] += "x" * 100
    foreign = statement(key, "completed", lrs.setup.unassessed + "x" * 100)
    foreign["actor"]["account"] = {"homePage": "https://lms.example.go.id", "name": "budi"}
    batch = [nul_account, nul_verb, long_mail, nul_mail, long_module, foreign]
    answer = post(client, lrs, batch)
    assert answer.status_code == 200, answer.text
    for body in batch:
        got = client.get("/xapi/statements", params={"statementId": body["id"]}, headers=lrs.basic)
        assert got.status_code == 200 and got.json()["actor"] == body["actor"], got.text
    for params, wanted in (
        ({"agent": json.dumps(nul_account["actor"])}, nul_account),
        ({"verb": nul_verb["verb"]["id"]}, nul_verb),
        ({"agent": json.dumps(long_mail["actor"])}, long_mail),
    ):
        found = client.get("/xapi/statements", params=params, headers=lrs.basic)
        assert found.status_code == 200, found.text
        assert [s["id"] for s in found.json()["statements"]] == [wanted["id"]]
    unmatched = client.get("/v1/xapi/unmatched", headers=lrs.setup.headers).json()["items"]
    assert {i["statement_id"]: i["reason"] for i in unmatched} == {
        long_mail["id"]: "learner_unknown",
        nul_mail["id"]: "learner_unknown",
        long_module["id"]: "module_unknown",
        foreign["id"]: "learner_unknown",
    }
    assert progress_of(client, lrs)[lrs.setup.unassessed]["status"] == "not_started"
