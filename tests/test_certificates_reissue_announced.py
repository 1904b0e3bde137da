"""What an integrator sees of a revocation and a re-issue: the PDF of the new certificate
names the number it replaces, the change feed carries both certificates, and the webhooks
announce certificate.revoked and certificate.issued (the new one naming the old)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from tests.factories import auth_headers, make_agency, make_user
from tests.factories_certificates import evaluated_cohort, issued
from tests.factories_webhooks import (
    ALL_EVENTS,
    Receiver,
    events_of,
    find,
    make_subscription,
    receiving,
    run_worker,
    webhook_settings,
)


@pytest.fixture
def admin(session: Session) -> dict[str, str]:
    return auth_headers(make_user(session, make_agency(session), "agency_admin"))


def _revoked_and_reissued(
    client: TestClient, session: Session, admin: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    made = evaluated_cohort(client, session, admin, passed=1)
    [old] = issued(client, admin, made.cohort["id"])
    revoked = client.post(
        f"/v1/certificates/{old['id']}/revoke", json={"reason": "Nama salah"}, headers=admin
    )
    assert revoked.status_code == 200, revoked.text
    new = client.post(f"/v1/certificates/{old['id']}/reissue", headers=admin)
    assert new.status_code == 201, new.text
    return old, new.json()


def _pdf_text(client: TestClient, admin: dict[str, str], cert: dict[str, Any]) -> str:
    answer = client.get(cert["pdf_url"], headers=admin)
    assert answer.status_code == 200, answer.text
    reader = PdfReader(io.BytesIO(answer.content))
    assert len(reader.pages) == 1
    return " ".join(reader.pages[0].extract_text().split())


def test_the_reissued_pdf_names_the_number_it_replaces_and_the_old_one_its_successor(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    old, new = _revoked_and_reissued(client, session, admin)
    text = _pdf_text(client, admin, new)
    assert f"Nomor: {new['number']}" in text
    assert f"Menggantikan sertifikat nomor {old['number']}" in text
    assert f"Replaces certificate number {old['number']}" in text
    old_code = old["verification_url"].rsplit("/", 1)[1]
    assert old_code not in text and "DICABUT" not in text  # the number only; valid
    assert new["verification_url"] in text

    revoked = _pdf_text(client, admin, old)
    assert "DICABUT / REVOKED" in revoked
    assert f"Digantikan oleh sertifikat nomor {new['number']}" in revoked
    assert f"Replaced by certificate number {new['number']}" in revoked
    assert new["verification_url"].rsplit("/", 1)[1] not in revoked
    assert "Menggantikan" not in revoked  # the first certificate replaces none


def test_a_certificate_never_reissued_prints_no_link(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    made = evaluated_cohort(client, session, admin, passed=1)
    [cert] = issued(client, admin, made.cohort["id"])
    text = _pdf_text(client, admin, cert)
    assert "Menggantikan" not in text and "Replace" not in text and "Digantikan" not in text


def test_the_change_feed_carries_the_revocation_and_the_new_certificate(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    old, new = _revoked_and_reissued(client, session, admin)
    feed = client.get("/v1/changes", params={"types": "certificate"}, headers=admin)
    assert feed.status_code == 200, feed.text
    entries = [(e["id"], e["operation"]) for e in feed.json()["items"]]
    assert entries == [
        (old["id"], "upsert"),  # issued
        (old["id"], "upsert"),  # revoked
        (new["id"], "upsert"),  # the re-issue, then the old one's link to it
        (old["id"], "upsert"),
    ]
    data = {e["id"]: e["data"] for e in feed.json()["items"]}  # the current representations
    assert data[new["id"]]["replaces_id"] == old["id"] and data[new["id"]]["valid"] is True
    assert data[old["id"]]["replaced_by_id"] == new["id"] and data[old["id"]]["valid"] is False
    assert data[old["id"]]["revocation"]["reason"] == "Nama salah"
    # another agency is shown nothing of them
    stranger = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    theirs = client.get("/v1/changes", params={"types": "certificate"}, headers=stranger).json()
    assert {e["id"] for e in theirs["items"]} & {old["id"], new["id"]} == set()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_settings(), receiving() as r:
        yield r


def test_webhooks_announce_the_revocation_and_the_reissue_naming_the_old_certificate(
    client: TestClient, session: Session, engine: Engine, receiver: Receiver, admin: dict[str, str]
) -> None:
    made = evaluated_cohort(client, session, admin, passed=1)
    agency = made.cohort["agency_id"]
    sub = make_subscription(session, agency, receiver.url(f"/agency/{agency}"), ALL_EVENTS)
    receiver.expect(sub, f"/agency/{agency}")
    [old] = issued(client, admin, made.cohort["id"])
    revoked = client.post(
        f"/v1/certificates/{old['id']}/revoke", json={"reason": "Nama salah"}, headers=admin
    )
    assert revoked.status_code == 200, revoked.text
    made_new = client.post(f"/v1/certificates/{old['id']}/reissue", headers=admin)
    assert made_new.status_code == 201, made_new.text
    new = made_new.json()
    run_worker(engine)
    assert receiver.bad == []
    bodies = sorted(  # delivered concurrently: in the change log's order by seq
        (b for b in receiver.bodies() if b["type"].startswith("certificate.")),
        key=lambda b: int(b["data"]["seq"]),
    )
    assert [(b["type"], b["data"]["id"]) for b in bodies] == [
        ("certificate.issued", old["id"]),
        ("certificate.revoked", old["id"]),
        ("certificate.issued", new["id"]),  # the old one's link to it announces nothing more
    ]
    issued_new = find(bodies, "certificate.issued", new["id"])["data"]["resource"]
    assert issued_new["replaces_id"] == old["id"] and issued_new["number"] == new["number"]
    assert "certificate.revoked" in events_of(bodies)
