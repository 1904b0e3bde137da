"""A credit taken back is kept, withdrawn: a client syncing a learner's JP records with
``updated_since`` sees it go (revoked certificate, changed outcome, attendance back to
nothing), and a re-issue's new credit appear; no total counts a withdrawn record."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, text, update
from sqlmodel import Session
from starlette.testclient import TestClient

from app.core import migrations
from app.models import Learner
from app.models.progress import ProgressRecord
from tests.factories import (
    auth_headers,
    make_agency,
    make_learner_login,
    make_user,
)
from tests.factories_attendance import attendance_setup
from tests.factories_certificates import evaluated_cohort, issued
from tests.factories_evaluation import centi, complete_all, make_evaluation


@pytest.fixture
def admin(session: Session) -> dict[str, str]:
    return auth_headers(make_user(session, make_agency(session), "agency_admin"))


def _certified(client: TestClient, session: Session, admin: dict[str, str]) -> dict[str, Any]:
    made = evaluated_cohort(client, session, admin, passed=1)
    cert = issued(client, admin, made.cohort["id"])[0]
    cert["learner_key"] = made.learners[0]["learner_key"]
    return cert


def _records(
    client: TestClient, headers: dict[str, str], key: str, **params: Any
) -> list[dict[str, Any]]:
    answer = client.get(f"/v1/learners/{key}/jp-records", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def _totals(client: TestClient, admin: dict[str, str], cert: dict[str, Any]) -> tuple[Any, ...]:
    """The learner's year total, its entries, and the agency's compliance summary."""
    year = int(cert["ends_on"][:4])
    mine = client.get(f"/v1/learners/{cert['learner_key']}/jp?year={year}", headers=admin).json()
    summary = client.get(f"/v1/reports/jp-compliance/summary?year={year}", headers=admin).json()
    below = client.get(f"/v1/reports/jp-compliance?year={year}", headers=admin).json()
    [row] = [r for r in below["items"] if r["learner_id"] == cert["learner_id"]]
    return (
        mine["total_jp"],
        [e["certificate_number"] for e in mine["entries"]],
        (summary["meeting_floor"], summary["below_floor"]),
        row["total_jp"],
    )


def test_a_sync_since_before_a_revocation_sees_the_credit_withdrawn_and_the_reissue_added(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    cert = _certified(client, session, admin)
    key = cert["learner_key"]
    [held] = _records(client, admin, key)
    assert held["certificate_number"] == cert["number"] and held["withdrawn_at"] is None
    assert _totals(client, admin, cert) == (10, [cert["number"]], (0, 1), 10)

    revoked = client.post(
        f"/v1/certificates/{cert['id']}/revoke", json={"reason": "Nama salah"}, headers=admin
    )
    assert revoked.status_code == 200, revoked.text
    # the sync passes the greatest updated_at it holds: the record comes back, withdrawn
    [gone] = _records(client, admin, key, updated_since=held["updated_at"])
    assert gone["id"] == held["id"] and gone["version"] == held["version"] + 1
    assert gone["withdrawn_at"] is not None and gone["updated_at"] > held["updated_at"]
    assert gone["withdrawn_reason"] == "certificate_revoked"
    assert gone["certificate_number"] == cert["number"] and gone["jp"] == 10
    # counted nowhere, listed by default nowhere; asked for, it is there
    assert _totals(client, admin, cert) == (0, [], (0, 1), 0)
    assert _records(client, admin, key) == []
    assert [r["id"] for r in _records(client, admin, key, include_withdrawn="true")] == [held["id"]]
    one = client.get(f"/v1/learners/{key}/jp-records/{held['id']}", headers=admin)
    assert one.status_code == 200 and one.json()["withdrawn_reason"] == "certificate_revoked"
    [siasn] = _records(client, admin, key, updated_since=held["updated_at"], format="siasn")
    assert siasn["nomorSertipikat"] == cert["number"] and siasn["withdrawn_at"] is not None

    new = client.post(f"/v1/certificates/{cert['id']}/reissue", headers=admin)
    assert new.status_code == 201, new.text
    # a sync since the revocation: the new credit appears; the withdrawn one, at that very
    # instant, comes again unchanged (ties are listed again)
    again, added = _records(client, admin, key, updated_since=gone["updated_at"])
    assert again == gone
    assert added["id"] != held["id"] and added["withdrawn_at"] is None
    assert added["certificate_number"] == new.json()["number"] and added["jp"] == 10
    assert added["enrollment_id"] == cert["enrollment_id"]
    since_start = _records(client, admin, key, updated_since=held["updated_at"])
    assert [(r["id"], r["withdrawn_reason"]) for r in since_start] == [
        (held["id"], "certificate_revoked"),
        (added["id"], None),
    ]
    assert _records(client, admin, key) == [added]
    assert _totals(client, admin, cert) == (10, [new.json()["number"]], (0, 1), 10)


def test_the_learner_sees_its_withdrawn_credit_and_another_agency_sees_nothing(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    cert = _certified(client, session, admin)
    key = cert["learner_key"]
    learner = make_learner_login(client, admin, key)
    stranger = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    revoked = client.post(
        f"/v1/certificates/{cert['id']}/revoke", json={"reason": "Nama salah"}, headers=admin
    )
    assert revoked.status_code == 200, revoked.text
    [mine] = _records(client, learner, key, include_withdrawn="true")
    assert mine["withdrawn_reason"] == "certificate_revoked"
    hidden = client.get(
        f"/v1/learners/{key}/jp-records",
        params={"updated_since": "2000-01-01T00:00:00Z"},
        headers=stranger,
    )
    assert hidden.status_code == 404 and hidden.json()["code"] == "not_found"


def test_include_withdrawn_takes_true_or_false_only(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    cert = _certified(client, session, admin)
    for value in ("1", "yes", ""):
        refused = client.get(
            f"/v1/learners/{cert['learner_key']}/jp-records",
            params={"include_withdrawn": value},
            headers={**admin, "Accept-Language": "id"},
        )
        assert refused.status_code == 422, (value, refused.text)
        assert refused.json()["errors"][0]["loc"] == ["query", "include_withdrawn"]
    assert len(_records(client, admin, cert["learner_key"], include_withdrawn="false")) == 1


def test_a_failed_reevaluation_withdraws_the_credit_and_passing_again_brings_it_back(
    client: TestClient, session: Session
) -> None:
    setup = make_evaluation(session, modules=[(10.0, "classroom", True, 100.0)])
    [enrollment] = setup.enrollments
    complete_all(session, setup, enrollment, "88")
    learner = session.get(Learner, enrollment.learner_id)
    assert learner is not None
    key = learner.learner_key
    session.commit()

    def evaluate(score: str) -> None:
        session.exec(update(ProgressRecord).values(score_centi=centi(score)))  # type: ignore[call-overload]
        session.commit()
        answer = client.post(f"{setup.url}/evaluate", headers=setup.admin)
        assert answer.status_code == 200, answer.text

    evaluate("88")
    [credit] = _records(client, setup.admin, key)
    evaluate("55.5")
    [failed] = _records(client, setup.admin, key, updated_since=credit["updated_at"])
    assert failed["id"] == credit["id"] and failed["withdrawn_reason"] == "outcome_changed"
    assert _records(client, setup.admin, key) == []
    evaluate("90")
    [back] = _records(client, setup.admin, key, updated_since=failed["updated_at"])
    assert back["id"] == credit["id"] and back["withdrawn_at"] is None
    assert back["withdrawn_reason"] is None and back["version"] == failed["version"] + 1
    assert _records(client, setup.admin, key, include_withdrawn="true") == [back]


def test_an_events_credit_with_nothing_attended_is_withdrawn_as_attendance_changed(
    client: TestClient, session: Session
) -> None:
    ctx = attendance_setup(
        client, session, learners={"budi": {"name": "Budi"}}, kind="webinar", total_jp=5
    )
    budi = ctx["enrollments"]["budi"]["id"]
    url = f"{ctx['url']}/{budi}"
    key = ctx["enrollments"]["budi"]["learner_key"]
    assert client.put(url, json={"status": "present"}, headers=ctx["headers"]).status_code == 200
    [credit] = _records(client, ctx["headers"], key)
    assert credit["source"] == "event"
    assert client.put(url, json={"status": "absent"}, headers=ctx["headers"]).status_code == 200
    [gone] = _records(client, ctx["headers"], key, updated_since=credit["updated_at"])
    assert gone["id"] == credit["id"] and gone["withdrawn_reason"] == "attendance_changed"
    assert _records(client, ctx["headers"], key) == []


def test_the_migration_keeps_live_credits_and_a_downgrade_drops_withdrawn_ones(
    client: TestClient, session: Session, engine: Engine, admin: dict[str, str]
) -> None:
    """Revision 0021 both ways on a database with data: down to 0020 deletes the withdrawn
    credits (0020 had none) and keeps the live ones; up again, the ledger works as before."""
    made = evaluated_cohort(client, session, admin, passed=2)
    kept, gone = issued(client, admin, made.cohort["id"])
    revoked = client.post(
        f"/v1/certificates/{gone['id']}/revoke", json={"reason": "Nama salah"}, headers=admin
    )
    assert revoked.status_code == 200, revoked.text
    session.close()
    try:
        migrations.downgrade(engine, "0020")
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT enrollment_id, certificate_number FROM jp_record"))
            assert {tuple(r) for r in rows} >= {(kept["enrollment_id"], kept["number"])}
            left = conn.execute(
                text("SELECT count(*) FROM jp_record WHERE enrollment_id = :e"),
                {"e": gone["enrollment_id"]},
            ).scalar_one()
            assert left == 0
    finally:
        migrations.upgrade(engine, "head")
    new = client.post(f"/v1/certificates/{gone['id']}/reissue", headers=admin)
    assert new.status_code == 201, new.text
    [key] = [x["learner_key"] for x in made.learners if x["id"] == gone["learner_id"]]
    assert [r["certificate_number"] for r in _records(client, admin, key)] == [new.json()["number"]]
