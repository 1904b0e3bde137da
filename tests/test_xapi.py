"""/xapi/statements: statements an LMS sends become module progress; replays change
nothing; voiding takes progress back; unmatched statements are kept and listed."""

from __future__ import annotations

import uuid

from sqlmodel import Session
from starlette.testclient import TestClient

from tests.factories import make_learner
from tests.xapi_helpers import ADL, V2, make_lrs, module_iri, post, progress_of, statement


def test_about_names_both_versions_without_credentials(client: TestClient) -> None:
    answer = client.get("/xapi/about")
    assert answer.status_code == 200
    assert answer.json()["version"] == ["2.0.0", "1.0.3"]
    assert answer.headers["X-Experience-API-Version"] == "2.0.0"


def test_a_request_without_the_version_header_is_400(client: TestClient, session: Session) -> None:
    lrs = make_lrs(client, session, learners=0)
    headers = {k: v for k, v in lrs.basic.items() if k != "X-Experience-API-Version"}
    answer = client.get("/xapi/statements", headers=headers)
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "X-Experience-API-Version" in answer.json()["detail"]
    old = client.get("/xapi/statements", headers={**headers, "X-Experience-API-Version": "1.0.3"})
    assert old.status_code == 200 and old.headers["X-Experience-API-Version"] == "1.0.3"


def test_a_statement_sent_with_basic_credentials_is_stored_as_sent(
    client: TestClient, session: Session
) -> None:
    lrs = make_lrs(client, session, learners=1)
    body = statement(lrs.setup.keys[0], "experienced", lrs.setup.assessed)
    answer = post(client, lrs, body)
    assert answer.status_code == 200, answer.text
    assert answer.json() == [body["id"]]
    read = client.get("/xapi/statements", params={"statementId": body["id"]}, headers=lrs.basic)
    assert read.status_code == 200, read.text
    stored = read.json()
    assert {k: stored[k] for k in body} == body
    assert stored["version"] == "2.0.0" and stored["stored"].endswith("Z")
    assert stored["authority"]["account"]["name"] == lrs.client_id
    assert read.headers["X-Experience-API-Consistent-Through"]
    assert read.headers["Last-Modified"].endswith("GMT")


def test_completed_with_score_and_duration_becomes_progress(
    client: TestClient, session: Session
) -> None:
    lrs = make_lrs(client, session, learners=1)
    result = {"score": {"raw": 42.5, "min": 0, "max": 50}, "duration": "PT1H29M31S"}
    body = statement(lrs.setup.keys[0], "passed", lrs.setup.assessed, result=result)
    assert post(client, lrs, body).status_code == 200
    module = progress_of(client, lrs)[lrs.setup.assessed]
    assert module["status"] == "completed" and module["percent"] == 100
    assert module["score"] == 85 and module["time_spent_minutes"] == 90
    assert module["jp_earned"] == 6
    assert (module["source"], module["external_id"]) == ("xapi", body["id"])


def test_progressed_uses_the_cmi5_progress_and_failed_earns_no_jp(
    client: TestClient, session: Session
) -> None:
    lrs = make_lrs(client, session, learners=2)
    progress_ext = {"https://w3id.org/xapi/cmi5/result/extensions/progress": 40}
    first = statement(
        lrs.setup.keys[0], "progressed", lrs.setup.unassessed, result={"extensions": progress_ext}
    )
    failed = statement(
        lrs.setup.keys[1], "failed", lrs.setup.assessed, result={"score": {"scaled": 0.5}}
    )
    assert post(client, lrs, [first, failed]).status_code == 200
    assert progress_of(client, lrs, 0)[lrs.setup.unassessed]["percent"] == 40
    module = progress_of(client, lrs, 1)[lrs.setup.assessed]
    assert (module["status"], module["score"], module["jp_earned"]) == ("in_progress", 50, 0)


def test_sending_the_same_statements_again_changes_nothing(
    client: TestClient, session: Session
) -> None:
    lrs = make_lrs(client, session, learners=1)
    body = statement(lrs.setup.keys[0], "completed", lrs.setup.unassessed)
    assert post(client, lrs, [body]).status_code == 200
    before = progress_of(client, lrs)[lrs.setup.unassessed]
    again = post(client, lrs, [body])
    assert again.status_code == 200 and again.json() == [body["id"]]
    put = client.put(
        "/xapi/statements", params={"statementId": body["id"]}, json=body, headers=lrs.basic
    )
    assert put.status_code == 204
    assert progress_of(client, lrs)[lrs.setup.unassessed] == before
    listed = client.get("/xapi/statements", headers=lrs.basic).json()["statements"]
    assert [s["id"] for s in listed] == [body["id"]]


def test_another_statement_under_a_used_id_is_409_and_nothing_is_kept(
    client: TestClient, session: Session
) -> None:
    lrs = make_lrs(client, session, learners=1)
    body = statement(lrs.setup.keys[0], "progressed", lrs.setup.unassessed)
    assert post(client, lrs, body).status_code == 200
    changed = {**body, "verb": {"id": ADL + "completed"}}
    fresh = statement(lrs.setup.keys[0], "completed", lrs.setup.unassessed)
    answer = post(client, lrs, [fresh, changed])
    assert answer.status_code == 409, answer.text
    assert body["id"] in answer.json()["detail"]
    missing = client.get("/xapi/statements", params={"statementId": fresh["id"]}, headers=lrs.basic)
    assert missing.status_code == 404
    assert progress_of(client, lrs)[lrs.setup.unassessed]["status"] == "in_progress"


def test_an_older_statement_does_not_overwrite_a_newer_one(
    client: TestClient, session: Session
) -> None:
    lrs = make_lrs(client, session, learners=1)
    newer = statement(
        lrs.setup.keys[0], "completed", lrs.setup.unassessed, at="2025-05-16T08:00:00Z"
    )
    older = statement(
        lrs.setup.keys[0], "progressed", lrs.setup.unassessed, at="2025-05-15T08:00:00Z"
    )
    assert post(client, lrs, newer).status_code == 200
    assert post(client, lrs, older).status_code == 200
    assert progress_of(client, lrs)[lrs.setup.unassessed]["external_id"] == newer["id"]


def test_voiding_takes_the_statement_s_progress_back(client: TestClient, session: Session) -> None:
    lrs = make_lrs(client, session, learners=1)
    key, module = lrs.setup.keys[0], lrs.setup.unassessed
    started = statement(key, "progressed", module, at="2025-05-15T08:00:00Z")
    done = statement(key, "completed", module, at="2025-05-16T08:00:00Z")
    assert post(client, lrs, [started, done]).status_code == 200
    assert progress_of(client, lrs)[module]["status"] == "completed"

    def void(target: str) -> dict[str, object]:
        body = statement(key, "voided", module)
        body["object"] = {"objectType": "StatementRef", "id": target}
        return body

    assert post(client, lrs, void(done["id"])).status_code == 200
    back = progress_of(client, lrs)[module]
    assert (back["status"], back["external_id"]) == ("in_progress", started["id"])
    gone = client.get("/xapi/statements", params={"statementId": done["id"]}, headers=lrs.basic)
    assert gone.status_code == 404
    kept = client.get(
        "/xapi/statements", params={"voidedStatementId": done["id"]}, headers=lrs.basic
    )
    assert kept.status_code == 200 and kept.json()["id"] == done["id"]
    assert post(client, lrs, void(started["id"])).status_code == 200
    assert progress_of(client, lrs)[module]["status"] == "not_started"
    listed = client.get("/xapi/statements", headers=lrs.basic).json()["statements"]
    assert {s["verb"]["id"] for s in listed} == {ADL + "voided"}


def test_statements_matching_no_learner_or_module_are_kept_and_listed(
    client: TestClient, session: Session
) -> None:
    lrs = make_lrs(client, session, learners=1)
    stranger = statement("199001012015011001", "completed", lrs.setup.unassessed)
    outsider = make_learner(client, lrs.setup.headers)["learner_key"]  # not enrolled
    absent = statement(outsider, "completed", lrs.setup.unassessed)
    no_module = statement(lrs.setup.keys[0], "completed", "mod_01JD3XXXXXXXXXXXXXXXXXXXXX")
    by_mail = statement(lrs.setup.keys[0], "completed", lrs.setup.unassessed)
    by_mail["actor"] = {"mbox": "mailto:nobody@example.go.id"}
    other = statement(lrs.setup.keys[0], "experienced", lrs.setup.unassessed)
    assert post(client, lrs, [stranger, absent, no_module, by_mail, other]).status_code == 200
    page = client.get("/v1/xapi/unmatched", headers=lrs.setup.headers)
    assert page.status_code == 200, page.text
    reasons = {i["statement_id"]: i["reason"] for i in page.json()["items"]}
    assert reasons == {
        stranger["id"]: "learner_unknown",
        absent["id"]: "not_enrolled",
        no_module["id"]: "module_unknown",
        by_mail["id"]: "learner_unknown",
    }
    listed = client.get("/xapi/statements", headers=lrs.basic).json()["statements"]
    assert len(listed) == 5


def test_a_learner_named_by_mbox_gets_the_progress(client: TestClient, session: Session) -> None:
    lrs = make_lrs(client, session, learners=1)
    key = lrs.setup.keys[0]
    patched = client.patch(
        f"/v1/learners/{key}", json={"email": "Ani@Example.go.id"}, headers=lrs.setup.headers
    )
    assert patched.status_code == 200, patched.text
    body = statement(key, "completed", lrs.setup.unassessed)
    body["actor"] = {"mbox": "mailto:ani@example.go.id", "name": "Ani"}
    assert post(client, lrs, body).status_code == 200
    assert progress_of(client, lrs)[lrs.setup.unassessed]["status"] == "completed"


def test_another_agency_sees_none_of_the_statements(client: TestClient, session: Session) -> None:
    mine = make_lrs(client, session, learners=1)
    theirs = make_lrs(client, session, learners=0)
    body = statement(mine.setup.keys[0], "completed", mine.setup.unassessed)
    assert post(client, mine, body).status_code == 200
    one = client.get("/xapi/statements", params={"statementId": body["id"]}, headers=theirs.basic)
    assert one.status_code == 404
    assert client.get("/xapi/statements", headers=theirs.basic).json()["statements"] == []
    # their statements name modules and learners of another agency: unmatched, no progress
    assert post(client, theirs, {**body, "id": str(uuid.uuid4())}).status_code == 200
    assert progress_of(client, mine)[mine.setup.unassessed]["external_id"] == body["id"]


def test_the_module_activity_definition_is_served(client: TestClient, session: Session) -> None:
    lrs = make_lrs(client, session, learners=0)
    answer = client.get(f"/activities/modules/{lrs.setup.assessed}")
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == module_iri(lrs.setup.assessed)
    assert answer.json()["definition"]["type"] == "http://adlnet.gov/expapi/activities/module"
    assert client.get("/activities/modules/mod_01JD3XXXXXXXXXXXXXXXXXXXXX").status_code == 404


def test_version_2_and_1_statements_get_their_version(client: TestClient, session: Session) -> None:
    lrs = make_lrs(client, session, learners=1)
    body = statement(lrs.setup.keys[0], "experienced", lrs.setup.assessed)
    headers = {**lrs.basic, "X-Experience-API-Version": "1.0.3"}
    assert client.post("/xapi/statements", json=body, headers=headers).status_code == 200
    read = client.get(
        "/xapi/statements", params={"statementId": body["id"]}, headers=V2 | lrs.basic
    )
    assert read.json()["version"] == "1.0.0"
