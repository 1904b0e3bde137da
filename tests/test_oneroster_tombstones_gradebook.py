"""OneRoster gradebook delta sync of what leaves a collection without a row of its own
(``oneroster_tombstone``): the lineItems of a draft cohort whose curriculum is re-pinned,
and a result whose progress record xAPI voiding removes. A delta sync after the change
returns exactly the tombstones, later than anything seen; a full sync shows them
``tobedeleted``; restoring brings the same sourcedIds back active; another agency's client
sees nothing."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.testclient import TestClient

from app.models.client import Scope
from tests.factories import make_cohort
from tests.factories_oneroster import GRADEBOOK, client_headers
from tests.factories_progress import setup_progress
from tests.test_oneroster import OFFICIAL_GRADEBOOK, official, valid
from tests.xapi_helpers import make_lrs, post, statement

SCOPES = [Scope.or_gradebook_read.value, Scope.or_gradebook_write.value]
SETS = {"lineItems": "LineItemSetDType", "results": "ResultSetDType"}


def read(client: TestClient, token: dict[str, str], name: str, **params: str) -> Any:
    got = client.get(f"{GRADEBOOK}/{name}", params=params, headers=token)
    assert got.status_code == 200, got.text
    assert not valid(official(SETS[name], OFFICIAL_GRADEBOOK), got.json())
    return got.json()[name]


def mark(client: TestClient, token: dict[str, str], name: str) -> str:
    return max((i["dateLastModified"] for i in read(client, token, name)), default="2000-01-01")


def delta(client: TestClient, token: dict[str, str], name: str, since: str) -> Any:
    return read(client, token, name, filter=f"dateLastModified>'{since}'")


def brief(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((i["sourcedId"], i["status"]) for i in items)


# --- lineItems of a re-pinned draft cohort ------------------------------------------------


def _version_2(client: TestClient, headers: dict[str, str], course_id: str) -> str:
    """Publishes version 2 of the course's curriculum (one assessed module); its id."""
    modules = [{"title": "Aktualisasi", "jp": 10, "mode": "actualization", "assessed": True,
                "weight": 100}]  # fmt: skip
    made = client.post(
        f"/v1/courses/{course_id}/curricula", json={"modules": modules}, headers=headers
    )
    assert made.status_code == 201, made.text
    published = client.post(f"/v1/courses/{course_id}/curricula/2/publish", headers=headers)
    assert published.status_code == 200, published.text
    return str(made.json()["modules"][0]["id"])


def _pin(client: TestClient, headers: dict[str, str], cohort: str, version: int | None) -> None:
    pinned = client.patch(
        f"/v1/cohorts/{cohort}", json={"curriculum_version": version}, headers=headers
    )
    assert pinned.status_code == 200, pinned.text


def test_re_pinning_a_draft_cohort_turns_the_old_line_items_tobedeleted(
    client: TestClient, session: Session
) -> None:
    world = setup_progress(client, session, learners=0)
    other = setup_progress(client, session, learners=0)
    course = client.get(f"/v1/cohorts/{world.cohort_id}", headers=world.headers).json()
    draft = make_cohort(client, world.headers, course["course_id"], number=2,
                        curriculum_version=1)["id"]  # fmt: skip
    new_module = _version_2(client, world.headers, course["course_id"])
    token = client_headers(client, world.headers, SCOPES)
    theirs = client_headers(client, other.headers, SCOPES)
    old_item, new_item = f"{draft}.{world.assessed}", f"{draft}.{new_module}"
    assert (old_item, "active") in brief(read(client, token, "lineItems"))
    since, their_since = mark(client, token, "lineItems"), mark(client, theirs, "lineItems")
    _pin(client, world.headers, draft, 2)
    changed = delta(client, token, "lineItems", since)
    assert brief(changed) == sorted([(old_item, "tobedeleted"), (new_item, "active")])
    assert all(i["dateLastModified"] > since for i in changed)
    gone = next(i for i in changed if i["sourcedId"] == old_item)
    assert gone["class"]["sourcedId"] == draft and gone["metadata"]["bangkom.module"]
    single = client.get(f"{GRADEBOOK}/lineItems/{old_item}", headers=token)
    assert single.status_code == 200 and single.json()["lineItem"] == gone
    assert not valid(official("SingleLineItemDType", OFFICIAL_GRADEBOOK), single.json())
    in_class = client.get(f"{GRADEBOOK}/classes/{draft}/lineItems", headers=token).json()
    assert brief(in_class["lineItems"]) == brief(changed)
    # the first cohort keeps its lineItem; another agency sees nothing of any of it
    full = brief(read(client, token, "lineItems"))
    assert (f"{world.cohort_id}.{world.assessed}", "active") in full and len(full) == 3
    assert delta(client, theirs, "lineItems", their_since) == []
    assert client.get(f"{GRADEBOOK}/lineItems/{old_item}", headers=theirs).status_code == 404
    # pinned back: the old lineItem is active again, the other one goes
    since = mark(client, token, "lineItems")
    _pin(client, world.headers, draft, 1)
    back = delta(client, token, "lineItems", since)
    assert brief(back) == sorted([(old_item, "active"), (new_item, "tobedeleted")])
    assert all(i["dateLastModified"] > since for i in back)


def test_unpinning_a_draft_cohort_turns_its_line_items_tobedeleted(
    client: TestClient, session: Session
) -> None:
    world = setup_progress(client, session, learners=0)
    course = client.get(f"/v1/cohorts/{world.cohort_id}", headers=world.headers).json()
    draft = make_cohort(client, world.headers, course["course_id"], number=2)["id"]
    token = client_headers(client, world.headers, SCOPES)
    since = mark(client, token, "lineItems")
    _pin(client, world.headers, draft, None)
    assert brief(delta(client, token, "lineItems", since)) == [
        (f"{draft}.{world.assessed}", "tobedeleted")
    ]


# --- results removed by xAPI voiding ------------------------------------------------------


def _void(key: str, module: str, target: str) -> dict[str, Any]:
    body = statement(key, "voided", module)
    body["object"] = {"objectType": "StatementRef", "id": target}
    return body


def test_a_result_removed_by_xapi_voiding_is_tobedeleted_and_back_when_scored_again(
    client: TestClient, session: Session
) -> None:
    lrs = make_lrs(client, session, learners=2)
    setup = lrs.setup
    other = setup_progress(client, session, learners=1)
    token = client_headers(client, setup.headers, SCOPES)
    theirs = client_headers(client, other.headers, SCOPES)
    key, module = setup.keys[0], setup.assessed
    passed = statement(key, "passed", module, result={"score": {"scaled": 0.9}})
    kept = statement(setup.keys[1], "passed", module, result={"score": {"scaled": 0.8}})
    assert post(client, lrs, [passed, kept]).status_code == 200
    result_id = f"{setup.enrollments[0]}.{module}"
    assert brief(read(client, token, "results")) == sorted(
        [(result_id, "active"), (f"{setup.enrollments[1]}.{module}", "active")]
    )
    since = mark(client, token, "results")
    assert post(client, lrs, _void(key, module, passed["id"])).status_code == 200
    gone = delta(client, token, "results", since)
    assert brief(gone) == [(result_id, "tobedeleted")]
    assert gone[0]["dateLastModified"] > since and "score" not in gone[0]
    assert gone[0]["lineItem"]["sourcedId"] == f"{setup.cohort_id}.{module}"
    single = client.get(f"{GRADEBOOK}/results/{result_id}", headers=token)
    assert single.status_code == 200 and single.json()["result"] == gone[0]
    assert not valid(official("SingleResultDType", OFFICIAL_GRADEBOOK), single.json())
    assert len(read(client, token, "results")) == 2  # the full sync shows it tobedeleted
    assert read(client, theirs, "results") == []
    assert client.get(f"{GRADEBOOK}/results/{result_id}", headers=theirs).status_code == 404
    # scored again (here through the gradebook itself): the same sourcedId, active
    since = mark(client, token, "results")
    pushed = client.put(
        f"{GRADEBOOK}/results/{result_id}",
        json={"result": {
            "sourcedId": result_id, "status": "active",
            "dateLastModified": "2025-05-20T08:00:00Z",
            "lineItem": {"sourcedId": f"{setup.cohort_id}.{module}"},
            "student": {"sourcedId": gone[0]["student"]["sourcedId"]},
            "scoreStatus": "fully graded", "score": 75,
        }},
        headers=token,
    )  # fmt: skip
    assert pushed.status_code == 201, pushed.text
    back = delta(client, token, "results", since)
    assert brief(back) == [(result_id, "active")] and back[0]["score"] == 75


def test_voiding_that_puts_an_earlier_statement_back_shows_the_new_state(
    client: TestClient, session: Session
) -> None:
    lrs = make_lrs(client, session, learners=1)
    setup = lrs.setup
    token = client_headers(client, setup.headers, SCOPES)
    key, module = setup.keys[0], setup.assessed
    first = statement(key, "failed", module, at="2025-05-15T08:00:00Z",
                      result={"score": {"scaled": 0.5}})  # fmt: skip
    second = statement(key, "passed", module, at="2025-05-16T08:00:00Z",
                       result={"score": {"scaled": 0.9}})  # fmt: skip
    assert post(client, lrs, [first, second]).status_code == 200
    since = mark(client, token, "results")
    assert post(client, lrs, _void(key, module, second["id"])).status_code == 200
    changed = delta(client, token, "results", since)
    assert brief(changed) == [(f"{setup.enrollments[0]}.{module}", "active")]
    assert changed[0]["score"] == 50
