"""Set-ups for the xAPI tests: the progress set-up (an organiser, a cohort whose
curriculum has an assessed and an unassessed module, enrolled learners) plus an
integration client with the xAPI scopes, and statements in the shapes LMSs send."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session
from starlette.testclient import TestClient

from app.core.config import get_settings
from tests.factories_progress import Setup, setup_progress
from tests.test_clients import register

ADL = "http://adlnet.gov/expapi/verbs/"
V2 = {"X-Experience-API-Version": "2.0.0"}


@dataclass
class Lrs:
    setup: Setup
    basic: dict[str, str]  # HTTP Basic of the client + the version header
    client_id: str
    secret: str


def basic_headers(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}", **V2}


def make_lrs(client: TestClient, session: Session, learners: int = 2) -> Lrs:
    setup = setup_progress(client, session, learners=learners)
    created = register(
        client, setup.headers, name="Moodle xAPI", scopes=["statements/write", "statements/read"]
    )
    cid, secret = created["client_id"], created["client_secret"]
    return Lrs(setup, basic_headers(cid, secret), cid, secret)


def module_iri(module_id: str) -> str:
    return get_settings().public_url.rstrip("/") + "/activities/modules/" + module_id


def statement(
    nip: str,
    verb: str,
    module_id: str,
    *,
    at: str = "2025-05-15T08:00:00+07:00",
    result: dict[str, Any] | None = None,
    ident: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": ident or str(uuid.uuid4()),
        "actor": {
            "objectType": "Agent",
            "name": "Peserta",
            "account": {"homePage": get_settings().public_url, "name": nip},
        },
        "verb": {"id": ADL + verb, "display": {"en-US": verb}},
        "object": {"objectType": "Activity", "id": module_iri(module_id)},
        "timestamp": at,
    }
    if result is not None:
        body["result"] = result
    return body


def post(client: TestClient, lrs: Lrs, body: Any) -> Any:
    return client.post("/xapi/statements", json=body, headers=lrs.basic)


def progress_of(client: TestClient, lrs: Lrs, index: int = 0) -> dict[str, Any]:
    enrollment = lrs.setup.enrollments[index]
    answer = client.get(f"/v1/enrollments/{enrollment}/progress", headers=lrs.setup.headers)
    assert answer.status_code == 200, answer.text
    return {m["module_id"]: m for m in answer.json()["modules"]}
