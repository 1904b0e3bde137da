"""Statements in Moodle's and Open edX's own shapes (tests/fixtures/xapi/) land as
progress; sending them again changes nothing; voiding takes the progress back."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from sqlmodel import Session
from starlette.testclient import TestClient

from tests.xapi_helpers import Lrs, make_lrs, module_iri, post, progress_of

FIXTURES = Path(__file__).parent / "fixtures" / "xapi"


def fixture(name: str, **values: str) -> dict[str, Any]:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    body: dict[str, Any] = json.loads(text)
    return body


def _moodle(lrs: Lrs) -> list[dict[str, Any]]:
    nip = lrs.setup.keys[0]
    # Moodle sends no statement id (the LRS assigns one) and its own account homePage
    return [
        fixture("moodle_completion.json", NIP=nip, MODULE_IRI=module_iri(lrs.setup.unassessed)),
        fixture("moodle_quiz_attempt.json", NIP=nip, MODULE_IRI=module_iri(lrs.setup.assessed)),
    ]


def test_moodle_statements_land_as_progress(client: TestClient, session: Session) -> None:
    lrs = make_lrs(client, session, learners=1)
    answer = post(client, lrs, _moodle(lrs))
    assert answer.status_code == 200, answer.text
    modules = progress_of(client, lrs)
    lesson, quiz = modules[lrs.setup.unassessed], modules[lrs.setup.assessed]
    assert (lesson["status"], lesson["jp_earned"], lesson["score"]) == ("completed", 4, None)
    assert (quiz["status"], quiz["score"], quiz["time_spent_minutes"]) == ("completed", 85, 26)
    assert quiz["external_id"] == answer.json()[1]
    unmatched = client.get("/v1/xapi/unmatched", headers=lrs.setup.headers).json()
    assert unmatched["items"] == []


def test_open_edx_statements_land_as_progress_and_replays_change_nothing(
    client: TestClient, session: Session
) -> None:
    lrs = make_lrs(client, session, learners=1)
    email = "siti.rahmawati@bkpsdm.example.go.id"
    key = lrs.setup.keys[0]
    assert client.patch(
        f"/v1/learners/{key}", json={"email": email}, headers=lrs.setup.headers
    ).is_success
    progressed = fixture(
        "openedx_progress.json",
        ID=str(uuid.uuid4()),
        EMAIL=email,
        MODULE_IRI=module_iri(lrs.setup.unassessed),
    )
    passed = fixture(
        "openedx_passed.json",
        ID=str(uuid.uuid4()),
        EMAIL=email,
        MODULE_IRI=module_iri(lrs.setup.assessed),
    )
    headers = {**lrs.basic, "X-Experience-API-Version": "1.0.3"}
    for body in (progressed, passed):
        answer = client.post("/xapi/statements", json=body, headers=headers)
        assert answer.status_code == 200, answer.text
    before = progress_of(client, lrs)
    assert before[lrs.setup.unassessed]["percent"] == 60
    assert before[lrs.setup.assessed]["score"] == 91.25
    for body in (progressed, passed):
        assert client.post("/xapi/statements", json=body, headers=headers).status_code == 200
    assert progress_of(client, lrs) == before


def test_voiding_a_moodle_statement_takes_its_progress_back(
    client: TestClient, session: Session
) -> None:
    lrs = make_lrs(client, session, learners=1)
    ids = post(client, lrs, _moodle(lrs)).json()
    void = {
        "actor": {"mbox": "mailto:admin@bkpsdm.example.go.id"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided", "display": {"en": "voided"}},
        "object": {"objectType": "StatementRef", "id": ids[1]},
    }
    assert post(client, lrs, void).status_code == 200
    quiz = progress_of(client, lrs)[lrs.setup.assessed]
    assert (quiz["status"], quiz["score"], quiz["version"]) == ("not_started", None, None)
    assert progress_of(client, lrs)[lrs.setup.unassessed]["status"] == "completed"
