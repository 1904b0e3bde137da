"""Revoking a certificate, and re-issuing a revoked one; both keep the JP ledger in step.

A certificate is what credits a passed enrolment's JP to the learner's year, so the ledger
follows it in the same transaction:

* **Revoking** marks the certificate revoked (when, why, by whom: shown on its verification
  page) and withdraws the enrolment's credit from the ledger (``jp_ledger.withdraw_credit``,
  as a failed re-evaluation does): the learner's ``/jp`` year and the agency's compliance
  report both lose those JP. The credit is kept, withdrawn (``withdrawn_at``,
  ``withdrawn_reason`` ``certificate_revoked``, the revoked number in
  ``certificate_number``), so a client syncing ``/jp-records`` with ``updated_since`` sees
  it go; the revoked certificate keeps its number, JP, reason, time and author, and the
  change log says ``certificate.revoked``.
* **Re-issuing** (``POST /v1/certificates/{id}/reissue``) gives a revoked certificate of a
  still-passed enrolment a successor: a new number from the agency's sequence, a new
  verification code, QR and signature, the learner's and course's facts as they are now (a
  revocation is usually a wrong name or rank), and the JP the old one certified, credited
  again under the new number, as a new ledger record beside the withdrawn one. The two
  are linked both ways (``replaces_id`` / ``replaced_by_id``); the old one stays revoked,
  its verification page and PDF name its successor's number, and the successor's name the
  number it replaces. A certificate is replaced once: to replace the successor, revoke it
  and re-issue it.

Who: the issuing (organising) agency's admins; the home agency and partners, who may read
the certificate, get 403; anyone else 404 (``certificate_reads.visible``).

Concurrency: both lock the certificate's row (``SELECT ... FOR UPDATE`` on PostgreSQL; the
single ``BEGIN IMMEDIATE`` writer on SQLite) and re-read it, so two re-issues of one
certificate give one successor (the second finds ``replaced_by_id`` and answers 409), and a
revocation racing a re-issue is either before it (the re-issue then succeeds) or after it
(the re-issue finds a valid certificate: 409). The database backs this up: one valid
certificate per enrolment (partial unique index), one successor per certificate (unique
``replaces_id``), one live credit per enrolment (``uq_jp_record_enrollment_live``).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.core import i18n
from app.core.db import commit_or_409, flush_or_409
from app.core.errors import ProblemError
from app.core.etag import check_if_match
from app.core.security import Principal
from app.models import Agency, Cohort, Course, Enrollment, JPRecord
from app.models.base import utcnow
from app.models.certificate import Certificate, CertificatePublic, CertificateRevoke
from app.models.enrollment import EnrollmentStatus
from app.models.jp import JPWithdrawal
from app.services.learning import jp_ledger
from app.services.learning.certificate_reads import etag_of, public_of, visible
from app.services.learning.certificates import Writer, draw_seqs, number_taken
from app.services.visibility import owns

Saved = tuple[CertificatePublic, str]  # a certificate and its ETag

i18n.MESSAGES.update(
    {
        "certificate_revoked": {
            "en": ("Certificate already revoked", "This certificate is revoked already."),
            "id": ("Sertifikat sudah dicabut", "Sertifikat ini sudah dicabut."),
        },
        "certificate_not_revoked": {
            "en": ("Certificate still valid", "Only a revoked certificate is re-issued."),
            "id": (
                "Sertifikat masih berlaku",
                "Hanya sertifikat yang dicabut yang diterbitkan ulang.",
            ),
        },
        "certificate_replaced": {
            "en": ("Certificate already re-issued", "This certificate has a successor."),
            "id": (
                "Sertifikat sudah diterbitkan ulang",
                "Sertifikat ini sudah memiliki pengganti.",
            ),
        },
        "enrollment_not_passed": {
            "en": ("Enrolment not passed", "Only a passed enrolment gets a certificate."),
            "id": (
                "Pendaftaran tidak lulus",
                "Hanya pendaftaran yang lulus yang mendapat sertifikat.",
            ),
        },
        "certificate_valid_exists": {
            "en": ("Enrolment has a valid certificate", "An enrolment has one valid certificate."),
            "id": (
                "Pendaftaran sudah bersertifikat",
                "Satu pendaftaran memiliki satu sertifikat yang berlaku.",
            ),
        },
    }
)


def url_of(certificate_id: str) -> str:
    return f"/v1/certificates/{certificate_id}"


def _locked(
    session: Session, principal: Principal, certificate_id: str, if_match: str | None
) -> Certificate:
    """The certificate under its row lock, as committed now, if the caller issued it."""
    visible(session, principal, certificate_id)
    cert = session.exec(
        select(Certificate)
        .where(col(Certificate.id) == certificate_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if not owns(principal, cert.agency_id):
        raise ProblemError(
            403,
            "forbidden",
            "Only the issuing (organising) agency's admins may revoke or re-issue a "
            "certificate; ask them.",
            detail_id="Hanya admin instansi penerbit (penyelenggara) yang dapat mencabut atau "
            "menerbitkan ulang sertifikat; mintalah kepada mereka.",
        )
    check_if_match(if_match, etag_of(cert))
    return cert


# --- revoking --------------------------------------------------------------------------


def revoke(
    *,
    session: Session,
    principal: Principal,
    certificate_id: str,
    data: CertificateRevoke,
    if_match: str | None,
) -> Saved:
    cert = _locked(session, principal, certificate_id, if_match)
    if cert.revoked_at is not None:
        raise ProblemError(
            409,
            "certificate_revoked",
            f"Certificate {cert.number} was revoked already on {cert.revoked_at.isoformat()}; "
            "a revocation cannot be repeated or changed.",
            detail_id=f"Sertifikat {cert.number} sudah dicabut pada "
            f"{cert.revoked_at.isoformat()}; pencabutan tidak dapat diulang atau diubah.",
        )
    cert.revoked_at = utcnow()
    cert.revoke_reason = data.reason
    cert.revoked_by = principal.subject
    cert.version += 1
    cert.updated_at = cert.revoked_at
    session.add(cert)
    # the enrolment's only valid certificate is gone: so is its credit to the learner's year
    jp_ledger.withdraw_credit(
        session, enrollment_id=cert.enrollment_id, reason=JPWithdrawal.certificate_revoked
    )
    session.commit()
    return public_of(cert), etag_of(cert)


# --- re-issuing ------------------------------------------------------------------------


def _check_reissuable(session: Session, old: Certificate) -> Enrollment:
    if old.revoked_at is None:
        raise ProblemError(
            409,
            "certificate_not_revoked",
            f"Certificate {old.number} is valid; only a revoked certificate is re-issued. "
            f"To replace it, revoke it first (POST {url_of(old.id)}/revoke with the reason), "
            "then re-issue it.",
            detail_id=f"Sertifikat {old.number} masih berlaku; hanya sertifikat yang dicabut "
            f"yang dapat diterbitkan ulang. Untuk menggantinya, cabut dulu (POST "
            f"{url_of(old.id)}/revoke dengan alasannya), lalu terbitkan ulang.",
        )
    if old.replaced_by_id is not None:
        successor = url_of(old.replaced_by_id)
        raise ProblemError(
            409,
            "certificate_replaced",
            f"Certificate {old.number} was re-issued already: its successor is {successor}. "
            "A certificate is replaced once; to replace the successor, revoke it and "
            "re-issue it.",
            detail_id=f"Sertifikat {old.number} sudah diterbitkan ulang: penggantinya "
            f"{successor}. Satu sertifikat hanya diganti sekali; untuk mengganti "
            "penggantinya, cabut lalu terbitkan ulang sertifikat itu.",
            headers={"Location": successor},
            extra={"replaced_by_id": old.replaced_by_id},
        )
    enrollment = session.exec(
        select(Enrollment)
        .where(col(Enrollment.id) == old.enrollment_id)
        .execution_options(populate_existing=True)
    ).one()
    if enrollment.status != EnrollmentStatus.passed:
        status = enrollment.status.value
        raise ProblemError(
            409,
            "enrollment_not_passed",
            f"Enrolment {enrollment.id} is {status}, not passed: only a passed enrolment gets "
            f"a certificate, so certificate {old.number} stays revoked without a successor. "
            "If that outcome is wrong, correct it first, then re-issue.",
            detail_id=f"Pendaftaran {enrollment.id} berstatus {status}, bukan passed: hanya "
            f"pendaftaran yang lulus yang mendapat sertifikat, jadi sertifikat {old.number} "
            "tetap dicabut tanpa pengganti. Jika hasil itu keliru, perbaiki dulu, lalu "
            "terbitkan ulang.",
            extra={"enrollment_status": status},
        )
    _no_valid_twin(session, old.enrollment_id)
    return enrollment


def _no_valid_twin(session: Session, enrollment_id: str) -> None:
    twin = session.exec(
        select(Certificate).where(
            col(Certificate.enrollment_id) == enrollment_id,
            col(Certificate.revoked_at).is_(None),
        )
    ).first()
    if twin is not None:
        raise ProblemError(
            409,
            "certificate_valid_exists",
            f"Enrolment {enrollment_id} already has a valid certificate, {twin.number} "
            f"({url_of(twin.id)}); an enrolment has one valid certificate at a time. Use "
            "that one, or revoke it and re-issue it.",
            detail_id=f"Pendaftaran {enrollment_id} sudah memiliki sertifikat yang berlaku, "
            f"{twin.number} ({url_of(twin.id)}); satu pendaftaran hanya memiliki satu "
            "sertifikat yang berlaku. Gunakan sertifikat itu, atau cabut lalu terbitkan ulang.",
            headers={"Location": url_of(twin.id)},
        )


def reissue(
    *, session: Session, principal: Principal, certificate_id: str, if_match: str | None
) -> Saved:
    """A new certificate for the revoked ``certificate_id`` (see the module docstring)."""
    old = _locked(session, principal, certificate_id, if_match)
    enrollment = _check_reissuable(session, old)
    cohort = session.get(Cohort, old.cohort_id)
    course = session.get(Course, old.course_id)
    organiser = session.get(Agency, old.agency_id)
    assert cohort is not None and course is not None and organiser is not None
    # the source of the enrolment's credit (course or event): the live one, if a revocation
    # from before revocations withdrew JP left it (taken over, not doubled), else the newest
    # withdrawn one
    credit = session.exec(
        select(JPRecord)
        .where(col(JPRecord.enrollment_id) == enrollment.id)
        .order_by(col(JPRecord.withdrawn_at).is_not(None), col(JPRecord.id).desc())
    ).first()
    now = utcnow()
    seq = draw_seqs(session, cohort.agency_id, cohort.year, 1)
    new = Writer(session, cohort, course, organiser, [enrollment.learner_id]).write(
        enrollment,
        seq=seq,
        jp_halves=old.jp_halves,
        source=credit.source if credit is not None else jp_ledger.JPSource.course,
        now=now,
        replaces_id=old.id,
    )
    # The clashes left after the checks above, made under the row lock: a number of another
    # course's pattern (the one-valid-certificate and one-successor indexes back the lock).
    flush_or_409(session, number_taken())  # the successor first: replaced_by_id refers to it
    old.replaced_by_id = new.id
    old.version += 1
    old.updated_at = now
    session.add(old)
    commit_or_409(session, number_taken())
    return public_of(new), etag_of(new)
