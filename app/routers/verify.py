"""``/verify/{code}``: the public check behind a certificate's QR code (no login).

JSON for API clients; an HTML page for browsers (``Accept`` naming ``text/html`` before
``application/json``). Unknown codes are 404 in the same two forms. Codes carry 192 random
bits, so guessing one is hopeless and the page needs no throttle of its own.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from app.core.config import get_settings
from app.core.errors import ProblemError, error_responses
from app.core.etag import none_match
from app.deps import IfNoneMatch, SessionDep
from app.models.certificate import CertificateVerification
from app.services.learning import certificate_page, certificate_reads

router = APIRouter(tags=["certificates"])

CodePath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The verification code printed on the certificate (its QR code)",
    ),
]


def wants_html(accept: str) -> bool:
    """text/html named before application/json (q ignored: browsers never rank JSON higher)."""
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in {"text/html", "application/xhtml+xml"}:
            return True
        if media in {"application/json", "application/problem+json"}:
            return False
    return False


@router.get(
    "/verify/{code}",
    name="certificates-verify",
    summary="Check a certificate by its verification code (public): valid or revoked",
    description="What the certificate prints (the NIP with all but its last four digits "
    "hidden; never a birth date, email or phone), whether it is valid, when and why it was "
    "revoked (once re-issued: its successor's number), and its signed form (compact JWS, "
    "ES256; keys at `/.well-known/jwks.json`). "
    "Browsers (`Accept: text/html`) get a self-contained page instead of JSON.",
    responses={
        200: {
            "model": CertificateVerification,
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
        304: {"description": "Not modified"},
        **error_responses(404, 422),
    },
)
def verify_certificate(
    request: Request, code: CodePath, session: SessionDep, if_none_match: IfNoneMatch = None
) -> Response:
    html = wants_html(request.headers.get("accept", ""))
    headers = {"Vary": "Accept", "Cache-Control": "no-cache"}
    cert = certificate_reads.by_code(session, code)
    if cert is None:
        if html:
            return Response(
                certificate_page.render_unknown(),
                status_code=404,
                media_type="text/html",
                headers={**headers, "Content-Security-Policy": certificate_page.CSP},
            )
        raise ProblemError(
            404,
            "not_found",
            "No certificate has this verification code; check that the whole code was "
            "copied, or scan the QR code again.",
            detail_id="Tidak ada sertifikat dengan kode verifikasi ini; periksa apakah kode "
            "disalin lengkap, atau pindai ulang kode QR.",
        )
    etag = certificate_reads.etag_of(cert)[:-1] + ('-h"' if html else '-j"')
    if none_match(if_none_match, etag):
        return Response(status_code=304, headers={**headers, "ETag": etag})
    found = certificate_reads.verification_of(session, cert, get_settings().public_url)
    headers["ETag"] = etag
    if html:
        headers["Content-Security-Policy"] = certificate_page.CSP
        return Response(certificate_page.render(found), media_type="text/html", headers=headers)
    return Response(found.model_dump_json(), media_type="application/json", headers=headers)
