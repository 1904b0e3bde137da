"""Certificates: issue a cohort's, list them, read one (JSON, PDF, QR), revoke and re-issue one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.core.errors import error_responses
from app.core.etag import json_response
from app.core.idempotency import idempotent
from app.core.pagination import clamp_limit, page_response
from app.deps import (
    AgencyAdmin,
    CurrentPrincipal,
    IfMatch,
    IfNoneMatch,
    SessionDep,
    humans_only,
    require_scope,
)
from app.models.certificate import (
    CertificatePage,
    CertificatePublic,
    CertificateQuery,
    CertificateRevoke,
    IssueResult,
)
from app.routers.params import IdPath
from app.services.learning import (
    certificate_pdf,
    certificate_reads,
    certificates,
    certificates_reissue,
)

router = APIRouter(tags=["certificates"])
_DOC: dict[int | str, dict[str, Any]] = {
    200: {"model": CertificatePublic, "description": "The certificate; ETag header set."}
}


def _one(cert: CertificatePublic, etag: str, if_none_match: str | None = None) -> Response:
    return json_response(cert.model_dump_json(), etag, if_none_match=if_none_match)


def _page(request: Request, items: list[CertificatePublic], next_cursor: str | None) -> Response:
    page = CertificatePage(items=items, next_cursor=next_cursor)
    return page_response(request, page)


@router.post(
    "/cohorts/{cohort_id}/certificates",
    name="certificates-issue",
    dependencies=[require_scope("certificates:write")],
    summary="Issue a certificate to every passed enrolment of a cohort that has none",
    description="The organiser's admins, once the cohort is `evaluation` or `completed` "
    "(else 409 `cohort_not_evaluated`); at least one enrolment must have passed (409 "
    "`no_passed_enrollments`). Running it again issues only the missing ones (200 when "
    "none was missing, 201 when some were). Numbers follow the course's "
    "`certificate_number_pattern`; each certificate is signed (ES256 JWS, keys at "
    "`/.well-known/jwks.json`) and its number goes into the learner's JP ledger. Sets the "
    "cohort's `certificates_issued_at`: the evaluation is final from then on. An enrolment "
    "whose certificate was revoked gets no new one here: re-issue that certificate.",
    status_code=201,
    responses={
        200: {"model": IssueResult, "description": "Nothing was missing; nothing issued."},
        201: {"model": IssueResult, "description": "Issued; Location: the cohort's list."},
        **error_responses(401, 403, 404, 409, 422),
    },
)
@idempotent
def issue_certificates(cohort_id: IdPath, principal: AgencyAdmin, session: SessionDep) -> Response:
    result = certificates.issue(session=session, principal=principal, cohort_id=cohort_id)
    return Response(
        result.model_dump_json(),
        status_code=201 if result.issued else 200,
        media_type="application/json",
        headers={"Location": result.certificates_url} if result.issued else None,
    )


@router.get(
    "/cohorts/{cohort_id}/certificates",
    name="certificates-of-cohort",
    dependencies=[require_scope("certificates:read")],
    summary="A cohort's certificates (organiser and partners: all; a home agency: its "
    "learners'; a learner login: its own)",
    responses={200: {"model": CertificatePage}, **error_responses(401, 404, 422)},
)
def cohort_certificates(
    request: Request,
    cohort_id: IdPath,
    principal: CurrentPrincipal,
    session: SessionDep,
    query: Annotated[CertificateQuery, Query()],
) -> Response:
    items, next_cursor = certificate_reads.cohort_certificates(
        session=session,
        principal=principal,
        cohort_id=cohort_id,
        cursor=query.cursor,
        limit=clamp_limit(query.limit),
        updated_since=query.updated_since,
    )
    return _page(request, items, next_cursor)


@router.get(
    "/me/certificates",
    name="me-certificates",
    dependencies=[humans_only],
    summary="A learner login's own certificates (a staff login is 403)",
    responses={200: {"model": CertificatePage}, **error_responses(401, 403, 422)},
)
def my_certificates(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    query: Annotated[CertificateQuery, Query()],
) -> Response:
    items, next_cursor = certificate_reads.my_certificates(
        session=session,
        principal=principal,
        cursor=query.cursor,
        limit=clamp_limit(query.limit),
        updated_since=query.updated_since,
    )
    return _page(request, items, next_cursor)


# Before /certificates/{certificate_id}: that one would take "crt_x.pdf" as an id.
@router.get(
    "/certificates/{certificate_id}.pdf",
    name="certificates-pdf",
    dependencies=[require_scope("certificates:read")],
    summary="The certificate as a printable A4 PDF with its QR code",
    responses={
        200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
        **error_responses(401, 404, 503),
    },
    response_class=Response,
)
def certificate_pdf_file(
    certificate_id: IdPath, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    cert = certificate_reads.visible(session, principal, certificate_id)
    name = "sertifikat-" + "".join(c if c.isalnum() else "-" for c in cert.number)
    replaces, replaced_by = certificate_reads.linked_numbers(session, cert)
    return Response(
        certificate_pdf.pdf_bytes(cert, replaces=replaces, replaced_by=replaced_by),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{name}.pdf"',
            "Cache-Control": "private, no-cache",
        },
    )


@router.get(
    "/certificates/{certificate_id}/qr",
    name="certificates-qr",
    dependencies=[require_scope("certificates:read")],
    summary="The certificate's QR code (the verification URL): SVG, or PNG with Accept: image/png",
    responses={
        200: {
            "content": {
                "image/svg+xml": {"schema": {"type": "string"}},
                "image/png": {"schema": {"type": "string", "format": "binary"}},
            }
        },
        **error_responses(401, 404),
    },
    response_class=Response,
)
def certificate_qr(
    request: Request, certificate_id: IdPath, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    cert = certificate_reads.visible(session, principal, certificate_id)
    headers = {"Vary": "Accept, Authorization", "Cache-Control": "private, max-age=3600"}
    if _wants_png(request.headers.get("accept", "")):
        return Response(certificate_pdf.qr_png(cert), media_type="image/png", headers=headers)
    return Response(certificate_pdf.qr_svg(cert), media_type="image/svg+xml", headers=headers)


def _wants_png(accept: str) -> bool:
    """image/png named before image/svg+xml (q ignored); anything else gets the SVG."""
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media == "image/png":
            return True
        if media == "image/svg+xml":
            return False
    return False


@router.get(
    "/certificates/{certificate_id}",
    name="certificates-get",
    dependencies=[require_scope("certificates:read")],
    summary="One certificate (the learner's home agency, the organiser, partners, the learner)",
    responses={**_DOC, 304: {"description": "Not modified"}, **error_responses(401, 404)},
)
def get_certificate(
    certificate_id: IdPath,
    principal: CurrentPrincipal,
    session: SessionDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    cert, etag = certificate_reads.read(
        session=session, principal=principal, certificate_id=certificate_id
    )
    return _one(cert, etag, if_none_match)


@router.post(
    "/certificates/{certificate_id}/revoke",
    name="certificates-revoke",
    dependencies=[require_scope("certificates:write")],
    summary="Revoke a certificate, with the reason the verify page shows (the issuer's admins)",
    description="Final: a revoked certificate is 409 `certificate_revoked`. The JP it credited "
    "leave the learner's yearly total (`/v1/learners/{key}/jp`, the compliance report) in the "
    "same transaction; a re-issue (`POST /v1/certificates/{id}/reissue`) credits them again. "
    "Partners and the home agency may read the certificate but not revoke it (403).",
    responses={**_DOC, **error_responses(401, 403, 404, 409, 412, 422)},
)
def revoke_certificate(
    certificate_id: IdPath,
    data: CertificateRevoke,
    principal: AgencyAdmin,
    session: SessionDep,
    if_match: IfMatch = None,
) -> Response:
    cert, etag = certificates_reissue.revoke(
        session=session,
        principal=principal,
        certificate_id=certificate_id,
        data=data,
        if_match=if_match,
    )
    return _one(cert, etag)


@router.post(
    "/certificates/{certificate_id}/reissue",
    name="certificates-reissue",
    dependencies=[require_scope("certificates:write")],
    summary="Issue a new certificate in place of a revoked one (the issuer's admins)",
    description="For a revoked certificate whose enrolment is still `passed`: a new number "
    "from the agency's sequence, a new verification code, QR code and signature, the "
    "learner's and course's facts as they are now, and the JP of the old one credited again "
    "(once). The old certificate stays revoked; its `replaced_by_id` and its verify page "
    "name the successor. 409: `certificate_not_revoked` (revoke it first), "
    "`certificate_replaced` (re-issued already; `Location`: the successor), "
    "`enrollment_not_passed`. `If-Match`: the old certificate's ETag.",
    status_code=201,
    responses={
        201: {
            "model": CertificatePublic,
            "description": "The new certificate; Location: its URL; ETag header set.",
        },
        **error_responses(401, 403, 404, 409, 412, 422),
    },
)
@idempotent
def reissue_certificate(
    certificate_id: IdPath,
    principal: AgencyAdmin,
    session: SessionDep,
    if_match: IfMatch = None,
) -> Response:
    cert, etag = certificates_reissue.reissue(
        session=session, principal=principal, certificate_id=certificate_id, if_match=if_match
    )
    return json_response(
        cert.model_dump_json(),
        etag,
        status_code=201,
        headers={"Location": certificates_reissue.url_of(cert.id)},
    )
