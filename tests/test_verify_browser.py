"""The verification page as a person sees it: a real headless Chromium opens /verify/{code}
(what scanning the QR code does) for a valid and then a revoked certificate."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from tests.factories import auth_headers, make_agency, make_user, nip
from tests.factories_certificates import evaluated_cohort, issued
from tests.test_docs_browser import _dump_dom

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _visible_text(dom: str) -> str:
    body = dom.split("<body>", 1)[-1]
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", body)))


def test_a_person_sees_a_valid_and_then_a_revoked_certificate(
    live_server: str, client: TestClient, session: Session, tmp_path: Path
) -> None:
    admin = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    key = nip(birth="19900215")
    made = evaluated_cohort(
        client,
        session,
        admin,
        passed=1,
        learners=[{"key": key, "name": "Wayan Ṣuryadharma", "back_title": "S.T."}],
    )
    cert = issued(client, admin, made.cohort["id"])[0]
    url = live_server + "/verify/" + cert["verification_url"].rsplit("/", 1)[1]

    seen = _visible_text(_dump_dom(url, tmp_path / "valid"))
    assert "Sertifikat sah" in seen
    assert "Wayan Ṣuryadharma, S.T." in seen and cert["number"] in seen
    assert "*" * 14 + key[-4:] in seen and key not in seen and "19900215" not in seen
    assert "10 JP" in seen and "Angkatan I Tahun 2025" in seen

    revoked = client.post(
        f"/v1/certificates/{cert['id']}/revoke",
        json={"reason": "Peserta tidak memenuhi syarat kehadiran"},
        headers=admin,
    )
    assert revoked.status_code == 200, revoked.text
    seen = _visible_text(_dump_dom(url, tmp_path / "revoked"))
    assert "Sertifikat dicabut" in seen and "Sertifikat sah" not in seen
    assert "Peserta tidak memenuhi syarat kehadiran" in seen
    assert "no longer valid" in seen
