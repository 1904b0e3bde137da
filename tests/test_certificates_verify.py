"""What a certificate shows the world: its JWS checked with the published keys (by another
JOSE library than ours), the public /verify page (JSON and HTML), the PDF and the QR code."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import zxingcpp
from jwcrypto import jwk, jws
from PIL import Image
from pypdf import PdfReader
from sqlmodel import Session
from starlette.testclient import TestClient

from app.core.config import Settings, get_settings
from app.core.security import TokenError, verify_certificate
from app.main import create_app
from tests.factories import auth_headers, make_agency, make_user, nip
from tests.factories_certificates import evaluated_cohort, issued, signing_key_pem

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
BIRTH = "19851231"
NAME = {
    "name": "Ni Luh Ṣāliḥah Nur’aini",
    "front_title": "Dr.",
    "back_title": "S.Sos., M.H.",
    "email": "saliha@mail.example",
    "phone": "0812-3456-7890",
    "position_title": "Analis Kebijakan Ahli Muda",
    "rank": "III/c",
}
SHOWN = "Dr. Ni Luh Ṣāliḥah Nur’aini, S.Sos., M.H."


@pytest.fixture
def admin(session: Session) -> dict[str, str]:
    return auth_headers(make_user(session, make_agency(session), "agency_admin"))


@pytest.fixture
def cert(client: TestClient, session: Session, admin: dict[str, str]) -> dict[str, Any]:
    key = nip(birth=BIRTH)
    made = evaluated_cohort(
        client,
        session,
        admin,
        passed=1,
        learners=[{**NAME, "key": key}],
        venue="Gedung Diklat, Tigaraksa",
    )
    return issued(client, admin, made.cohort["id"])[0]


def _code(cert: dict[str, Any]) -> str:
    return str(cert["verification_url"].rsplit("/", 1)[1])


def test_the_jws_verifies_with_the_published_jwks_and_a_tampered_one_does_not(
    client: TestClient, cert: dict[str, Any]
) -> None:
    keys = client.get("/.well-known/jwks.json").json()["keys"]
    header = json.loads(jws.base64url_decode(cert["jws"].split(".")[0]))
    assert header["alg"] == "ES256"
    published = next(k for k in keys if k["kid"] == header["kid"])
    token = jws.JWS()
    token.deserialize(cert["jws"])
    token.verify(jwk.JWK(**published), alg="ES256")
    claims = json.loads(token.payload)
    assert claims["number"] == cert["number"] and claims["holder"]["name"] == SHOWN
    assert claims["verification_url"] == cert["verification_url"]
    assert claims["verification_url"].startswith(claims["iss"] + "/verify/")
    assert claims["sub"] == cert["id"]
    assert isinstance(claims["iat"], int) and claims["jp"] == cert["jp"]
    assert "valid" not in claims and "revocation" not in claims

    head, payload, signature = cert["jws"].split(".")
    forged = dict(claims, jp=claims["jp"] + 100)
    forged_b64 = jws.base64url_encode(json.dumps(forged).encode())
    tampered = jws.JWS()
    tampered.deserialize(f"{head}.{forged_b64}.{signature}")
    with pytest.raises(jws.InvalidJWSSignature):
        tampered.verify(jwk.JWK(**published), alg="ES256")
    # ours agrees
    assert verify_certificate(cert["jws"], keys)["sub"] == cert["id"]
    with pytest.raises(TokenError):
        verify_certificate(f"{head}.{forged_b64}.{signature}", keys)


def test_the_generated_key_is_kept_so_every_certificate_names_the_same_kid(
    client: TestClient, session: Session, admin: dict[str, str], cert: dict[str, Any]
) -> None:
    later = evaluated_cohort(client, session, admin, passed=1, number=5)
    second = issued(client, admin, later.cohort["id"])[0]
    kid = [json.loads(jws.base64url_decode(c["jws"].split(".")[0]))["kid"] for c in (cert, second)]
    assert kid[0] == kid[1]
    with TestClient(create_app()) as restarted:  # a new app finds the key in the database
        keys = restarted.get("/.well-known/jwks.json").json()["keys"]
    assert [k["kid"] for k in keys] == [kid[0]]


def test_a_configured_key_signs_and_a_rotated_out_key_stays_published(
    client: TestClient, session: Session, admin: dict[str, str], cert: dict[str, Any]
) -> None:
    settings = get_settings()
    old_kid = json.loads(jws.base64url_decode(cert["jws"].split(".")[0]))["kid"]
    pem = signing_key_pem()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "certificate_signing_key", pem)
        patch.setattr(settings, "certificate_kid", "bangkom-2026-1")
        later = evaluated_cohort(client, session, admin, passed=1, number=6)
        second = issued(client, admin, later.cohort["id"])[0]
        keys = client.get("/.well-known/jwks.json").json()["keys"]
    assert json.loads(jws.base64url_decode(second["jws"].split(".")[0]))["kid"] == "bangkom-2026-1"
    assert {"bangkom-2026-1", old_kid} <= {k["kid"] for k in keys}
    assert all("d" not in k for k in keys)  # public halves only
    assert verify_certificate(second["jws"], keys)["number"] == second["number"]


def test_verify_is_public_and_shows_no_more_than_the_certificate_prints(
    client: TestClient, cert: dict[str, Any]
) -> None:
    response = client.get(f"/verify/{_code(cert)}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["valid"] is True and body["revocation"] is None
    assert body["number"] == cert["number"] and body["holder"]["name"] == SHOWN
    assert body["holder"]["id_number"] == "*" * 14 + cert["holder"]["id_number"][-4:]
    assert body["place"] == "Gedung Diklat, Tigaraksa" and body["issuer"]
    assert body["jwks_url"].endswith("/.well-known/jwks.json")
    text = response.text
    for private in (BIRTH, "1985-12-31", "saliha@mail.example", "+62812"):
        assert private not in text, private
    names = set(body) | set(body["holder"])
    assert not {n for n in names if any(w in n for w in ("birth", "email", "phone", "gender"))}
    assert not {"id", "learner_id", "enrollment_id"} & set(body)


def test_verify_page_for_a_browser_is_self_contained_html(
    client: TestClient, cert: dict[str, Any]
) -> None:
    page = client.get(f"/verify/{_code(cert)}", headers=HTML)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    html = page.text
    assert "Sertifikat sah" in html and cert["number"] in html
    assert "Ṣāliḥah" in html and "S.Sos., M.H." in html
    assert BIRTH not in html and "saliha@" not in html
    assert "<script" not in html and "http" not in html.split("</footer>")[0].split("<footer>")[0]
    assert page.headers["Vary"] == "Accept"


def test_revocation_shows_on_the_verify_json_and_page(
    client: TestClient, admin: dict[str, str], cert: dict[str, Any]
) -> None:
    before = client.get(f"/verify/{_code(cert)}")
    revoked = client.post(
        f"/v1/certificates/{cert['id']}/revoke",
        json={"reason": "Nilai <salah> input"},
        headers=admin,
    )
    assert revoked.status_code == 200, revoked.text
    body = client.get(f"/verify/{_code(cert)}").json()
    assert body["valid"] is False
    assert body["revocation"]["reason"] == "Nilai <salah> input"
    assert body["revocation"]["revoked_at"] == revoked.json()["revocation"]["revoked_at"]
    stale = client.get(f"/verify/{_code(cert)}", headers={"If-None-Match": before.headers["ETag"]})
    assert stale.status_code == 200  # the ETag moved with the revocation
    html = client.get(f"/verify/{_code(cert)}", headers=HTML).text
    assert "Sertifikat dicabut" in html and "Nilai &lt;salah&gt; input" in html
    assert "Sertifikat sah" not in html


def test_an_unknown_code_is_404_for_both_kinds_of_client(client: TestClient) -> None:
    api = client.get("/verify/bukan-kode-yang-ada", headers={"Accept-Language": "id"})
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"
    assert api.json()["detail"].startswith("Tidak ada sertifikat")
    page = client.get("/verify/bukan-kode-yang-ada", headers=HTML)
    assert page.status_code == 404 and "Sertifikat tidak ditemukan" in page.text


def test_the_pdf_prints_the_number_and_an_indonesian_name(
    client: TestClient, admin: dict[str, str], cert: dict[str, Any]
) -> None:
    response = client.get(f"/v1/certificates/{cert['id']}.pdf", headers=admin)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 1
    width, height = reader.pages[0].mediabox.width, reader.pages[0].mediabox.height
    assert (round(float(width)), round(float(height))) == (842, 595)  # A4 landscape, points
    text = reader.pages[0].extract_text()
    nip_ = cert["holder"]["id_number"]
    spaced = f"{nip_[:8]} {nip_[8:14]} {nip_[14]} {nip_[15:]}"
    for shown in (cert["number"], "Ṣāliḥah", "Nur’aini", spaced, "III/c"):
        assert shown in text, shown
    assert "SURAT TANDA TAMAT PELATIHAN" in text and "10 JP" in text


def test_the_pdf_without_its_font_is_a_503_saying_what_to_install(
    client: TestClient, admin: dict[str, str], cert: dict[str, Any]
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(get_settings(), "certificate_font_dir", "/nonexistent/fonts")
        response = client.get(f"/v1/certificates/{cert['id']}.pdf", headers=admin)
    assert response.status_code == 503
    assert response.json()["code"] == "certificate_font_missing"
    assert "fonts-dejavu-core" in response.json()["detail"]


def test_the_qr_code_decodes_to_the_verification_url(
    client: TestClient, admin: dict[str, str], cert: dict[str, Any]
) -> None:
    png = client.get(f"/v1/certificates/{cert['id']}/qr", headers={**admin, "Accept": "image/png"})
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert found.format == zxingcpp.BarcodeFormat.QRCode
    assert found.text == cert["verification_url"]
    svg = client.get(f"/v1/certificates/{cert['id']}/qr", headers=admin)
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.text.lstrip().startswith("<?xml") and "<svg" in svg.text and "<path" in svg.text


def test_production_refuses_to_start_without_a_certificate_key() -> None:
    safe = {"env": "production", "secret_key": "s" * 40, "public_url": "https://x.go.id"}
    with pytest.raises(RuntimeError, match="BANGKOM_CERTIFICATE_SIGNING_KEY"):
        create_app(Settings(**safe))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="PEM"):
        Settings(certificate_signing_key="not a key")
    assert create_app(Settings(**safe, certificate_signing_key=signing_key_pem()))  # type: ignore[arg-type]
