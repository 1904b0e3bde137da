"""JP records in the change feed: every ledger write is one ``jp_record`` entry, in commit
order, seen only by those who may read the learner's ledger (the home agency, platform
admins, the learner's own login), never by the organiser of the cohort or a partner."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session

from app.models import Learner
from app.models.progress import ProgressRecord
from tests.factories import (
    auth_headers,
    make_agency,
    make_learner,
    make_learner_login,
    make_published_course,
    make_user,
)
from tests.factories_attendance import attendance_setup
from tests.factories_certificates import evaluated_cohort, issued
from tests.factories_evaluation import centi, complete_all, make_evaluation
from tests.factories_jpledger import external


def _feed(
    client: TestClient, headers: dict[str, str], after: str | None, **params: str
) -> list[dict[str, Any]]:
    """Every entry after ``after`` the caller sees (all pages)."""
    entries: list[dict[str, Any]] = []
    while True:
        query = {"limit": "50", **params, **({"after": after} if after else {})}
        got = client.get("/v1/changes", params=query, headers=headers)
        assert got.status_code == 200, got.text
        page = got.json()
        entries += page["items"]
        if not page["items"]:
            return entries
        after = page["next_cursor"]


def _jp(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["id"], e["operation"]) for e in entries if e["type"] == "jp_record"]


def _cursor(client: TestClient, headers: dict[str, str]) -> str:
    """Where the feed ends now (any caller's cursor is a position in the one sequence)."""
    got = client.get("/v1/changes", params={"limit": "1000"}, headers=headers).json()
    while got["items"]:
        got = client.get(
            "/v1/changes", params={"limit": "1000", "after": got["next_cursor"]}, headers=headers
        ).json()
    return str(got["next_cursor"])


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response


def test_each_ledger_write_is_one_entry_in_commit_order_seen_by_the_home_agency_only(
    client: TestClient, session: Session
) -> None:
    organiser_agency, home_agency = make_agency(session), make_agency(session)
    partner_agency, stranger_agency = make_agency(session), make_agency(session)
    organiser = auth_headers(make_user(session, organiser_agency, "agency_admin"))
    home = auth_headers(make_user(session, home_agency, "agency_admin"))
    partner = auth_headers(make_user(session, partner_agency, "agency_admin"))
    stranger = auth_headers(make_user(session, stranger_agency, "agency_admin"))
    platform = auth_headers(make_user(session, stranger_agency, "platform_admin"))
    session.commit()
    session.rollback()  # release SQLite's write lock before the app writes
    course = make_published_course(client, organiser, partner_agency_ids=[partner_agency.id])
    made = evaluated_cohort(
        client, session, organiser, passed=1, course=course, learner_headers=home
    )
    key = made.learners[0]["learner_key"]
    learner = make_learner_login(client, home, key)
    start = _cursor(client, platform)

    [cert] = issued(client, organiser, made.cohort["id"])  # 1: the course's credit
    _ok(
        client.post(
            f"/v1/certificates/{cert['id']}/revoke", json={"reason": "Salah"}, headers=organiser
        )
    )
    reissued = _ok(client.post(f"/v1/certificates/{cert['id']}/reissue", headers=organiser), 201)
    records = f"/v1/learners/{key}/jp-records"
    outside = _ok(client.post(records, json=external(), headers=home), 201)
    url = outside.headers["Location"]
    changed = _ok(
        client.patch(url, json={"jp": 6}, headers=home | {"If-Match": outside.headers["ETag"]})
    )
    _ok(client.delete(url, headers=home | {"If-Match": changed.headers["ETag"]}), 204)

    [first, second, deleted] = client.get(
        records, params={"include_withdrawn": "true"}, headers=home
    ).json()["items"]
    assert first["withdrawn_reason"] == "certificate_revoked"
    assert second["certificate_number"] == reissued.json()["number"]
    other = outside.json()["id"]
    assert (deleted["id"], deleted["withdrawn_reason"]) == (other, "deleted")
    expected = [
        (first["id"], "upsert"),  # issued: credited with the certificate's number
        (first["id"], "upsert"),  # revoked: withdrawn (a Core UPDATE, named to the log)
        (second["id"], "upsert"),  # re-issued: a new credit
        (other, "upsert"),  # recorded
        (other, "upsert"),  # corrected
        (other, "delete"),  # deleted: kept as a trace, a tombstone in the feed
    ]
    for seen_by in (home, platform, learner):
        entries = [e for e in _feed(client, seen_by, start) if e["type"] == "jp_record"]
        assert _jp(entries) == expected
        seqs = [e["seq"] for e in entries]
        assert seqs == sorted(set(seqs))
        # the data is the record as its GET shows it now; a deleted one is a tombstone
        assert entries[0]["data"] == client.get(f"{records}/{first['id']}", headers=home).json()
        assert entries[2]["data"] == second
        assert entries[5]["data"] == {"id": other, "deleted": True}
        assert entries[4]["data"] == {"id": other, "deleted": True}
    # the organiser saw the enrolment and certificate changes, but none of the ledger
    for outsider in (organiser, partner, stranger):
        entries = _feed(client, outsider, start)
        assert _jp(entries) == []
    assert any(e["type"] == "certificate" for e in _feed(client, organiser, start))
    only = _feed(client, home, start, types="jp_record")
    assert _jp(only) == expected and {e["type"] for e in only} == {"jp_record"}


def test_credit_on_pass_withdrawal_on_fail_and_event_attendance_each_log_once(
    client: TestClient, session: Session
) -> None:
    setup = make_evaluation(session, modules=[(10.0, "classroom", True, 100.0)])
    [enrollment] = setup.enrollments
    complete_all(session, setup, enrollment, "88")
    learner = session.get(Learner, enrollment.learner_id)
    assert learner is not None
    key = learner.learner_key
    session.commit()
    start = _cursor(client, setup.admin)

    def evaluate(score: str) -> None:
        session.exec(update(ProgressRecord).values(score_centi=centi(score)))  # type: ignore[call-overload]
        session.commit()
        _ok(client.post(f"{setup.url}/evaluate", headers=setup.admin))

    evaluate("88")  # passed: credited
    evaluate("55.5")  # failed: withdrawn (Core)
    evaluate("90")  # passed again: the same record comes back
    evaluate("91")  # passed with the same credit: nothing written, nothing logged
    [credit] = client.get(f"/v1/learners/{key}/jp-records", headers=setup.admin).json()["items"]
    entries = [e for e in _feed(client, setup.admin, start) if e["type"] == "jp_record"]
    assert _jp(entries) == [(credit["id"], "upsert")] * 3
    assert credit["version"] == 3 and credit["withdrawn_at"] is None
    assert entries[-1]["data"] == credit

    ctx = attendance_setup(
        client, session, learners={"budi": {"name": "Budi"}}, kind="webinar", total_jp=5
    )
    start = _cursor(client, ctx["headers"])
    url = f"{ctx['url']}/{ctx['enrollments']['budi']['id']}"
    for status in ("present", "absent"):
        _ok(client.put(url, json={"status": status}, headers=ctx["headers"]))
    event_key = ctx["enrollments"]["budi"]["learner_key"]
    [gone] = client.get(
        f"/v1/learners/{event_key}/jp-records",
        params={"include_withdrawn": "true"},
        headers=ctx["headers"],
    ).json()["items"]
    assert (gone["source"], gone["withdrawn_reason"]) == ("event", "attendance_changed")
    entries = [e for e in _feed(client, ctx["headers"], start) if e["type"] == "jp_record"]
    assert _jp(entries) == [(gone["id"], "upsert")] * 2
    assert entries[-1]["data"] == gone


def test_integration_clients_need_learners_read_for_jp_records(
    client: TestClient, session: Session
) -> None:
    agency = make_agency(session)
    admin = auth_headers(make_user(session, agency, "agency_admin"))
    session.commit()
    session.rollback()
    start = _cursor(client, admin)
    key = make_learner(client, admin)["learner_key"]
    _ok(client.post(f"/v1/learners/{key}/jp-records", json=external(), headers=admin), 201)

    def token(scopes: list[str]) -> dict[str, str]:
        made = _ok(
            client.post("/v1/clients", json={"name": "LMS", "scopes": scopes}, headers=admin), 201
        ).json()
        got = _ok(
            client.post(
                "/v1/auth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": made["client_id"],
                    "client_secret": made["client_secret"],
                },
            )
        )
        return {"Authorization": f"Bearer {got.json()['access_token']}"}

    catalogue = token(["catalog:read"])
    assert _jp(_feed(client, catalogue, start)) == []
    refused = client.get(
        "/v1/changes", params={"types": "jp_record"}, headers=catalogue | {"Accept-Language": "id"}
    )
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"
    ledger = token(["catalog:read", "learners:read"])
    assert [op for _, op in _jp(_feed(client, ledger, start, types="jp_record"))] == ["upsert"]


def test_the_contract_states_the_jp_record_type_the_deleted_reason_and_the_410s() -> None:
    """What a generated client learns from the committed document (kept equal to the
    served one by tests/test_openapi*.py)."""
    document = json.loads((Path(__file__).parents[1] / "openapi/openapi.json").read_text())
    schemas = document["components"]["schemas"]
    assert "jp_record" in schemas["ChangeType"]["enum"]
    assert "deleted" in schemas["JPWithdrawal"]["enum"]
    [types] = [
        p for p in document["paths"]["/v1/changes"]["get"]["parameters"] if p["name"] == "types"
    ]
    assert re.fullmatch(types["schema"]["anyOf"][0]["pattern"], "course,jp_record")
    one = document["paths"]["/v1/learners/{learner_key}/jp-records/{record_id}"]
    assert all("410" in one[method]["responses"] for method in ("get", "patch", "delete"))
