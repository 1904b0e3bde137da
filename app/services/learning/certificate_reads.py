"""Certificate reads: one certificate, a cohort's, a learner's own, and the public facts.

What the public sees (``/verify/{code}`` and the signed JWS) is what the certificate prints,
less what it need not: the NIP shows only its last four digits, since its first eight are
the holder's birth date, and the verify page never shows a birth date, email or phone (a
certificate snapshot holds none of them). The authenticated reads show the whole NIP.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app.core.errors import ProblemError
from app.core.etag import resource_etag
from app.core.pagination import since_page
from app.core.security import Principal
from app.models import Course, Learner
from app.models.catalogue import from_centi, halves_to_jp
from app.models.certificate import (
    Certificate,
    CertificateFacts,
    CertificatePublic,
    CertificateVerification,
    Holder,
    Revocation,
)
from app.services.cohorts import visible_cohort
from app.services.visibility import enrollment_visible, owns, partner_of

JWKS_PATH = "/.well-known/jwks.json"


def not_found(certificate_id: str) -> ProblemError:
    return ProblemError(
        404,
        "not_found",
        f"No certificate has id {certificate_id}; check the id.",
        detail_id=f"Tidak ada sertifikat dengan id {certificate_id}; periksa id tersebut.",
    )


def masked(number: str | None) -> str | None:
    """All but the last four digits hidden: 198001012005011001 -> **************1001."""
    if number is None:
        return None
    return "*" * (len(number) - 4) + number[-4:]


def etag_of(cert: Certificate) -> str:
    return resource_etag(cert.id, cert.version)


def _facts(cert: Certificate, *, public: bool) -> dict[str, Any]:
    revocation = None
    if cert.revoked_at is not None:
        revocation = Revocation(revoked_at=cert.revoked_at, reason=cert.revoke_reason or "")
    return {
        "number": cert.number,
        "holder": Holder(
            name=cert.holder_name,
            id_kind=cert.holder_id_kind,
            id_number=masked(cert.holder_id_number) if public else cert.holder_id_number,
            rank=cert.holder_rank,
            position=cert.holder_position,
            agency_name=cert.holder_agency_name,
        ),
        "course_title": cert.course_title,
        "course_code": cert.course_code,
        "cohort": cert.cohort_name,
        "year": cert.cohort_year,
        "starts_on": cert.starts_on,
        "ends_on": cert.ends_on,
        "place": cert.place,
        "jp": halves_to_jp(cert.jp_halves),
        "score": None if cert.score_centi is None else from_centi(cert.score_centi),
        "grade": cert.grade,
        "issuer": cert.issuer_name,
        "issued_at": cert.issued_at,
        "valid": cert.revoked_at is None,
        "revocation": revocation,
    }


def claims_of(cert: Certificate) -> dict[str, Any]:
    """The signed payload: the public facts as issued (valid, revocation left out: they
    change; the verify page says them), the verification URL, ``iat``, ``iss`` (this
    service's public URL) and ``sub`` (the certificate id)."""
    facts = CertificateFacts(**_facts(cert, public=True)).model_dump(
        mode="json", exclude={"valid", "revocation"}
    )
    return {
        "iss": cert.verification_url.rsplit("/verify/", 1)[0],  # this service, as published
        "sub": cert.id,
        "iat": int(cert.issued_at.timestamp()),
        **facts,
        "verification_url": cert.verification_url,
    }


def public_of(cert: Certificate) -> CertificatePublic:
    base = f"/v1/certificates/{cert.id}"
    return CertificatePublic(
        **_facts(cert, public=False),
        id=cert.id,
        enrollment_id=cert.enrollment_id,
        learner_id=cert.learner_id,
        cohort_id=cert.cohort_id,
        course_id=cert.course_id,
        agency_id=cert.agency_id,
        verification_url=cert.verification_url,
        pdf_url=f"{base}.pdf",
        qr_url=f"{base}/qr",
        jws=cert.jws,
        replaces_id=cert.replaces_id,
        replaced_by_id=cert.replaced_by_id,
        version=cert.version,
        created_at=cert.created_at,
        updated_at=cert.updated_at,
    )


def linked_numbers(session: Session, cert: Certificate) -> tuple[str | None, str | None]:
    """The numbers (never the codes) of the certificate this one replaces and of the one
    that replaced it: a revoked paper's holder learns that a successor exists, not how to
    open its page. Printed on the PDF and shown on the verification page."""
    numbers: dict[str, str] = {}
    links = [i for i in (cert.replaces_id, cert.replaced_by_id) if i is not None]
    if links:
        found = session.exec(
            select(col(Certificate.id), col(Certificate.number)).where(
                col(Certificate.id).in_(links)
            )
        ).all()
        numbers = dict(found)
    return numbers.get(cert.replaces_id or ""), numbers.get(cert.replaced_by_id or "")


def verification_of(session: Session, cert: Certificate, base_url: str) -> CertificateVerification:
    """The public facts, the numbers of the linked certificates (``linked_numbers``)."""
    replaces, replaced_by = linked_numbers(session, cert)
    return CertificateVerification(
        **_facts(cert, public=True),
        verification_url=cert.verification_url,
        jws=cert.jws,
        jwks_url=base_url.rstrip("/") + JWKS_PATH,
        replaces=replaces,
        replaced_by=replaced_by,
    )


def visible(session: Session, principal: Principal, certificate_id: str) -> Certificate:
    """The certificate if the caller may see its enrolment, else 404."""
    cert = session.get(Certificate, certificate_id)
    if cert is None:
        raise not_found(certificate_id)
    learner = session.get(Learner, cert.learner_id)
    course = session.get(Course, cert.course_id)
    assert learner is not None and course is not None
    if not enrollment_visible(
        principal, learner.agency_id, cert.agency_id, course.partner_agency_ids, cert.learner_id
    ):
        raise not_found(certificate_id)
    return cert


def read(*, session: Session, principal: Principal, certificate_id: str) -> tuple[Any, str]:
    cert = visible(session, principal, certificate_id)
    return public_of(cert), etag_of(cert)


def by_code(session: Session, code: str) -> Certificate | None:
    return session.exec(
        select(Certificate).where(col(Certificate.verification_code) == code)
    ).first()


def _page(
    session: Session,
    statement: Any,
    cursor: str | None,
    limit: int,
    updated_since: datetime | None,
) -> tuple[list[CertificatePublic], str | None]:
    rows, next_cursor = since_page(
        session, statement, Certificate, limit=limit, cursor=cursor, updated_since=updated_since
    )
    return [public_of(r) for r in rows], next_cursor


def cohort_certificates(
    *,
    session: Session,
    principal: Principal,
    cohort_id: str,
    cursor: str | None,
    limit: int,
    updated_since: datetime | None = None,
) -> tuple[list[CertificatePublic], str | None]:
    """Organiser, partners, platform admins: all; another agency: its own learners'; a
    learner login: its own."""
    cohort, course = visible_cohort(session=session, principal=principal, cohort_id=cohort_id)
    statement = select(Certificate).where(col(Certificate.cohort_id) == cohort.id)
    if principal.is_learner:
        statement = statement.where(col(Certificate.learner_id) == principal.learner_id)
    elif not (
        owns(principal, cohort.agency_id) or partner_of(principal, course.partner_agency_ids)
    ):
        mine = select(col(Learner.id)).where(col(Learner.agency_id) == principal.agency_id)
        statement = statement.where(col(Certificate.learner_id).in_(mine))
    return _page(session, statement, cursor, limit, updated_since)


def my_certificates(
    *,
    session: Session,
    principal: Principal,
    cursor: str | None,
    limit: int,
    updated_since: datetime | None = None,
) -> tuple[list[CertificatePublic], str | None]:
    if not principal.is_learner or principal.learner_id is None:
        raise ProblemError(
            403,
            "forbidden",
            "Only a learner login has certificates of its own; staff read a cohort's "
            "certificates at /v1/cohorts/{id}/certificates.",
            detail_id="Hanya login peserta yang memiliki sertifikat sendiri; staf membaca "
            "sertifikat angkatan di /v1/cohorts/{id}/certificates.",
        )
    statement = select(Certificate).where(col(Certificate.learner_id) == principal.learner_id)
    return _page(session, statement, cursor, limit, updated_since)
