"""Revoking takes a certificate's JP out of the learner's year; re-issuing a revoked one gives
a new numbered, signed certificate and credits the JP again, once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from app.core import migrations
from app.models import Certificate, JPRecord
from app.models.change import Change
from app.models.enrollment import EnrollmentStatus
from app.models.jp import JPSource
from tests.factories import (
    auth_headers,
    make_agency,
    make_learner_login,
    make_published_course,
    make_user,
)
from tests.factories_certificates import evaluated_cohort, issue, issued, set_outcome


@pytest.fixture
def admin(session: Session) -> dict[str, str]:
    return auth_headers(make_user(session, make_agency(session), "agency_admin"))


def _one(client: TestClient, session: Session, admin: dict[str, str], **kw: Any) -> dict:
    made = evaluated_cohort(client, session, admin, passed=1, **kw)
    cert = issued(client, admin, made.cohort["id"])[0]
    cert["learner_key"] = made.learners[0]["learner_key"]
    return cert


def _year(client: TestClient, admin: dict[str, str], cert: dict) -> dict:
    year = int(cert["ends_on"][:4])
    answer = client.get(f"/v1/learners/{cert['learner_key']}/jp?year={year}", headers=admin)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _compliance(client: TestClient, admin: dict[str, str], cert: dict) -> dict:
    year = int(cert["ends_on"][:4])
    answer = client.get(f"/v1/reports/jp-compliance?year={year}", headers=admin)
    assert answer.status_code == 200, answer.text
    [row] = [r for r in answer.json()["items"] if r["learner_id"] == cert["learner_id"]]
    return dict(row)


def _ledger(
    session: Session, enrollment_id: str, *, withdrawn: bool = False
) -> list[tuple[int, str | None]]:
    """The enrolment's live credits (withdrawn=True: its withdrawn ones, oldest first)."""
    session.expire_all()
    rows = session.exec(
        select(JPRecord)
        .where(
            col(JPRecord.enrollment_id) == enrollment_id,
            col(JPRecord.withdrawn_at).is_not(None)
            if withdrawn
            else col(JPRecord.withdrawn_at).is_(None),
        )
        .order_by(col(JPRecord.id))
    ).all()
    session.commit()
    return [(r.jp_halves, r.certificate_number) for r in rows]


def _revoke(client: TestClient, admin: dict[str, str], cert_id: str) -> Any:
    return client.post(
        f"/v1/certificates/{cert_id}/revoke", json={"reason": "Nama salah ketik"}, headers=admin
    )


def _reissue(client: TestClient, headers: dict[str, str], cert_id: str) -> Any:
    return client.post(f"/v1/certificates/{cert_id}/reissue", headers=headers)


def test_revoking_takes_the_jp_out_of_the_learners_year_and_the_compliance_report(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    cert = _one(client, session, admin, learner_headers=admin)
    before = _year(client, admin, cert)
    assert before["total_jp"] == 10 and [e["certificate_number"] for e in before["entries"]] == [
        cert["number"]
    ]
    assert _compliance(client, admin, cert)["total_jp"] == 10

    revoked = _revoke(client, admin, cert["id"])
    assert revoked.status_code == 200, revoked.text

    after = _year(client, admin, cert)
    assert after["total_jp"] == 0 and after["entries"] == []
    assert after["entitlement"]["missing_jp"] == 20
    row = _compliance(client, admin, cert)
    assert row["total_jp"] == 0 and row["missing_jp"] == 20
    assert _ledger(session, cert["enrollment_id"]) == []
    assert _ledger(session, cert["enrollment_id"], withdrawn=True) == [(20, cert["number"])]
    # the audit trail is the certificate: what it credited, when, why, by whom
    kept = client.get(f"/v1/certificates/{cert['id']}", headers=admin).json()
    assert kept["jp"] == 10 and kept["valid"] is False
    assert kept["revocation"]["reason"] == "Nama salah ketik"


def test_reissue_gives_a_new_number_code_and_signature_and_credits_the_jp_once(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    course = make_published_course(client, admin, code="PSK")
    cert = _one(client, session, admin, course=course, number=2, year=2025)
    assert cert["number"] == "0001/PSK/II/2025"
    assert _revoke(client, admin, cert["id"]).status_code == 200

    made = _reissue(client, admin, cert["id"])
    assert made.status_code == 201, made.text
    new = made.json()
    assert made.headers["Location"] == f"/v1/certificates/{new['id']}"
    assert (
        made.headers["ETag"] == client.get(made.headers["Location"], headers=admin).headers["ETag"]
    )
    assert new["number"] == "0002/PSK/II/2025"  # the agency's sequence, not a reuse
    assert new["valid"] is True and new["replaces_id"] == cert["id"]
    assert new["replaced_by_id"] is None
    assert new["verification_url"] != cert["verification_url"] and new["jws"] != cert["jws"]
    assert new["enrollment_id"] == cert["enrollment_id"] and new["jp"] == cert["jp"] == 10
    assert new["score"] == cert["score"] and new["grade"] == cert["grade"]
    assert client.get(new["qr_url"], headers=admin).status_code == 200
    old = client.get(f"/v1/certificates/{cert['id']}", headers=admin).json()
    assert old["valid"] is False and old["replaced_by_id"] == new["id"]

    assert _ledger(session, cert["enrollment_id"]) == [(20, new["number"])]
    assert _year(client, admin, cert)["total_jp"] == 10

    again = _reissue(client, {**admin, "Accept-Language": "id"}, cert["id"])
    assert again.status_code == 409 and again.json()["code"] == "certificate_replaced"
    assert again.headers["Location"] == f"/v1/certificates/{new['id']}"
    assert again.json()["detail"].startswith("Sertifikat 0001/PSK/II/2025 sudah diterbitkan")
    # running the cohort's issue again does not undo a revocation either
    assert issue(client, admin, cert["cohort_id"]).json()["issued"] == 0
    assert _ledger(session, cert["enrollment_id"]) == [(20, new["number"])]

    # the successor is revoked and re-issued in its turn: still one credit, never two
    assert _revoke(client, admin, new["id"]).status_code == 200
    assert _year(client, admin, cert)["total_jp"] == 0
    third = _reissue(client, admin, new["id"]).json()
    assert third["number"] == "0003/PSK/II/2025" and third["replaces_id"] == new["id"]
    assert _ledger(session, cert["enrollment_id"]) == [(20, third["number"])]
    assert _ledger(session, cert["enrollment_id"], withdrawn=True) == [
        (20, cert["number"]),
        (20, new["number"]),
    ]
    year = _year(client, admin, cert)
    assert year["total_jp"] == 10 and len(year["entries"]) == 1
    listed = client.get(f"/v1/cohorts/{cert['cohort_id']}/certificates", headers=admin).json()
    assert [(c["number"], c["valid"]) for c in listed["items"]] == [
        ("0001/PSK/II/2025", False),
        ("0002/PSK/II/2025", False),
        ("0003/PSK/II/2025", True),
    ]


def test_the_new_certificate_prints_the_learners_corrected_name(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    cert = _one(client, session, admin, learners=[{"name": "Ni Luh Ayu"}])
    fixed = client.patch(
        f"/v1/learners/{cert['learner_key']}", json={"name": "Ni Luh Putu Ayu"}, headers=admin
    )
    assert fixed.status_code == 200, fixed.text
    assert _revoke(client, admin, cert["id"]).status_code == 200
    new = _reissue(client, admin, cert["id"]).json()
    assert cert["holder"]["name"] == "Ni Luh Ayu" and new["holder"]["name"] == "Ni Luh Putu Ayu"


def test_a_valid_certificate_is_revoked_before_it_is_reissued(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    cert = _one(client, session, admin)
    for language, start in (("en", "Certificate"), ("id", "Sertifikat")):
        refused = _reissue(client, {**admin, "Accept-Language": language}, cert["id"])
        assert refused.status_code == 409, refused.text
        body = refused.json()
        assert body["code"] == "certificate_not_revoked" and body["detail"].startswith(start)
        assert f"/v1/certificates/{cert['id']}/revoke" in body["detail"]
    assert _ledger(session, cert["enrollment_id"]) == [(20, cert["number"])]


def test_an_enrolment_no_longer_passed_gets_no_new_certificate(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    cert = _one(client, session, admin)
    assert _revoke(client, admin, cert["id"]).status_code == 200
    set_outcome(session, cert["enrollment_id"], EnrollmentStatus.failed, 5000, "kurang")
    refused = _reissue(client, {**admin, "Accept-Language": "id"}, cert["id"])
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert body["code"] == "enrollment_not_passed" and body["enrollment_status"] == "failed"
    assert body["detail"].startswith(f"Pendaftaran {cert['enrollment_id']} berstatus failed")
    assert _ledger(session, cert["enrollment_id"]) == []
    listed = client.get(f"/v1/cohorts/{cert['cohort_id']}/certificates", headers=admin).json()
    assert [c["id"] for c in listed["items"]] == [cert["id"]]


def test_only_the_issuer_reissues_and_another_agency_does_not_see_the_certificate(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    home = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    partner_agency = make_agency(session)
    partner = auth_headers(make_user(session, partner_agency, "agency_admin"))
    stranger = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    course = make_published_course(client, admin, partner_agency_ids=[partner_agency.id])
    cert = _one(client, session, admin, course=course, learner_headers=home)
    assert _revoke(client, admin, cert["id"]).status_code == 200
    learner = make_learner_login(client, home, cert["learner_key"])

    missing = _reissue(client, stranger, cert["id"])
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert _reissue(client, stranger, "crt_nonexistent").status_code == 404
    for reader in (home, partner):
        refused = _reissue(client, reader, cert["id"])
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert _reissue(client, learner, cert["id"]).status_code == 403
    assert _reissue(client, {}, cert["id"]).status_code == 401
    assert _ledger(session, cert["enrollment_id"]) == []
    assert _reissue(client, admin, cert["id"]).status_code == 201


def test_reissue_honours_if_match_and_an_idempotency_key(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    cert = _one(client, session, admin)
    revoked = _revoke(client, admin, cert["id"])
    stale = client.post(
        f"/v1/certificates/{cert['id']}/reissue",
        headers={**admin, "If-Match": f'"{cert["id"]}-1"'},
    )
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    keyed = {**admin, "If-Match": revoked.headers["ETag"], "Idempotency-Key": "reissue-1"}
    first = client.post(f"/v1/certificates/{cert['id']}/reissue", headers=keyed)
    assert first.status_code == 201, first.text
    replay = client.post(f"/v1/certificates/{cert['id']}/reissue", headers=keyed)
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first.json()["id"]
    assert _ledger(session, cert["enrollment_id"]) == [(20, first.json()["number"])]


def test_verify_pages_link_the_two_certificates_by_number_only(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    cert = _one(client, session, admin)
    assert _revoke(client, admin, cert["id"]).status_code == 200
    new = _reissue(client, admin, cert["id"]).json()

    old_json = client.get(cert["verification_url"]).json()
    assert old_json["valid"] is False and old_json["replaced_by"] == new["number"]
    assert old_json["replaces"] is None
    new_json = client.get(new["verification_url"]).json()
    assert new_json["valid"] is True and new_json["replaces"] == cert["number"]
    assert new_json["replaced_by"] is None

    page = client.get(cert["verification_url"], headers={"Accept": "text/html"}).text
    assert "Sertifikat dicabut" in page and f"replaced by certificate number {new['number']}" in (
        page
    )
    new_code = new["verification_url"].rsplit("/", 1)[1]
    assert new_code not in page and new_code not in str(old_json)  # the number, not the key
    new_page = client.get(new["verification_url"], headers={"Accept": "text/html"}).text
    assert "Sertifikat sah" in new_page and "Menggantikan" in new_page


def test_the_change_log_announces_the_revocation_and_the_new_certificate(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    cert = _one(client, session, admin)
    assert _revoke(client, admin, cert["id"]).status_code == 200
    new = _reissue(client, admin, cert["id"]).json()
    session.expire_all()
    rows = session.exec(
        select(Change.resource_id, Change.event)
        .where(col(Change.resource_id).in_([cert["id"], new["id"]]))
        .order_by(col(Change.seq))
    ).all()
    session.commit()
    assert [tuple(r) for r in rows] == [
        (cert["id"], "certificate.issued"),
        (cert["id"], "certificate.revoked"),
        (new["id"], "certificate.issued"),  # one transaction: the new one, then the old one
        (cert["id"], None),  # replaced_by_id set: an update, announced by no webhook
    ]


def test_a_credit_left_by_an_older_revocation_is_taken_over_not_doubled(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    """Before revocations withdrew JP (migration 0020 withdraws those credits), a revoked
    certificate's credit stayed: a re-issue must update it, never add a second."""
    cert = _one(client, session, admin)
    assert _revoke(client, admin, cert["id"]).status_code == 200
    # as 0019 left it: the revoked certificate's credit still live (changed on purpose:
    # the credit is withdrawn now, not deleted, so the old state is made by un-withdrawing)
    record = session.exec(
        select(JPRecord).where(col(JPRecord.enrollment_id) == cert["enrollment_id"])
    ).one()
    assert record.source == JPSource.course
    record.withdrawn_at, record.withdrawn_reason = None, None
    session.add(record)
    session.commit()
    new = _reissue(client, admin, cert["id"]).json()
    assert _ledger(session, cert["enrollment_id"]) == [(20, new["number"])]
    assert _ledger(session, cert["enrollment_id"], withdrawn=True) == []
    assert _year(client, admin, cert)["total_jp"] == 10


def test_the_migration_withdraws_the_credits_of_certificates_revoked_before_it(
    client: TestClient, session: Session, engine: Engine, admin: dict[str, str]
) -> None:
    """Revision 0020 on a database with data: the credit a revoked certificate kept under
    0019 is withdrawn, a valid certificate's stays, and re-issue works afterwards."""
    made = evaluated_cohort(client, session, admin, passed=2)
    kept, gone = issued(client, admin, made.cohort["id"])
    try:
        migrations.downgrade(engine, "0019")
        with engine.begin() as conn:  # what 0019 allowed: revoked, its credit still there
            conn.execute(
                text("UPDATE certificate SET revoked_at = :now WHERE id = :id"),
                {"now": datetime.now(UTC), "id": gone["id"]},
            )
    finally:
        migrations.upgrade(engine, "head")
    assert _ledger(session, kept["enrollment_id"]) == [(20, kept["number"])]
    assert _ledger(session, gone["enrollment_id"]) == []
    session.expire_all()
    new = _reissue(client, admin, gone["id"])
    assert new.status_code == 201, new.text
    assert _ledger(session, gone["enrollment_id"]) == [(20, new.json()["number"])]


def test_an_enrolment_with_another_valid_certificate_gets_no_second_one(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    """Should a valid certificate sit beside a revoked one without being its successor
    (none of today's paths makes one), re-issue names it instead of adding a second."""
    cert = _one(client, session, admin)
    assert _revoke(client, admin, cert["id"]).status_code == 200
    row = session.get(Certificate, cert["id"])
    assert row is not None
    twin = Certificate.model_validate(
        row.model_dump(exclude={"id", "revoked_at", "revoke_reason", "revoked_by"})
        | {"number": "LAIN/2025", "verification_code": "twin-code"}
    )
    session.add(twin)
    session.commit()
    refused = _reissue(client, {**admin, "Accept-Language": "id"}, cert["id"])
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "certificate_valid_exists"
    assert refused.headers["Location"] == f"/v1/certificates/{twin.id}"
    assert "LAIN/2025" in refused.json()["detail"]
