"""Certificates: issuing a cohort's (revoking and re-issuing one: certificates_reissue.py).

Issuing (the organiser's admins) is allowed once the cohort is in ``evaluation`` or
``completed``: outcomes exist from evaluation on, and a completed cohort may still get the
certificates of enrolments passed late. It issues one certificate for every ``passed``
enrolment that has none, so running it again issues only the missing ones, and it sets
``cohort.certificates_issued_at``: evaluation is final from then on.

Concurrency: the cohort row is locked first (two issue calls on one cohort run one after
the other; the second finds the certificates of the first), then the agency's
``certificate_sequence`` row for the cohort's year (two cohorts of one agency never draw the
same ``{seq}``); the unique (agency, number) constraint backs both up.

Who sees a certificate is who sees its enrolment (``visibility.enrollment_visible``): the
learner's home agency, the organiser, the course's partner agencies, platform admins and
the learner's own login; anyone else gets 404.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlmodel import Session, col, select

from app.core import i18n
from app.core.config import get_settings
from app.core.db import commit_or_409
from app.core.errors import ProblemError
from app.core.security import Principal, sign_certificate
from app.models import Agency, Cohort, Course, Enrollment, JPRecord, Learner
from app.models.base import utcnow
from app.models.catalogue import roman
from app.models.certificate import (
    Certificate,
    CertificateSequence,
    IssueResult,
    render_number,
)
from app.models.cohort import CohortStatus
from app.models.enrollment import EnrollmentStatus
from app.services.cohorts import name_of
from app.services.learning import certificate_keys, jp_ledger
from app.services.learning import learners as core
from app.services.learning.certificate_reads import claims_of
from app.services.tenancy import get_owned

ISSUABLE = (CohortStatus.evaluation, CohortStatus.completed)

i18n.MESSAGES.update(
    {
        "cohort_not_evaluated": {
            "en": ("Cohort not evaluated yet", "Certificates wait for the cohort's evaluation."),
            "id": ("Angkatan belum dievaluasi", "Sertifikat menunggu evaluasi angkatan."),
        },
        "no_passed_enrollments": {
            "en": ("No passed enrolment", "No enrolment of this cohort has passed."),
            "id": ("Tidak ada peserta lulus", "Belum ada peserta angkatan ini yang lulus."),
        },
        "certificate_number_taken": {
            "en": ("Certificate number taken", "Another certificate has this number."),
            "id": ("Nomor sertifikat terpakai", "Sertifikat lain memakai nomor ini."),
        },
    }
)


def verify_url(code: str) -> str:
    return f"{get_settings().public_url.rstrip('/')}/verify/{code}"


# --- issuing ---------------------------------------------------------------------------


def _lock_cohort(session: Session, principal: Principal, cohort_id: str) -> Cohort:
    cohort = get_owned(session, Cohort, cohort_id, principal, what="cohort", for_update=True)
    session.refresh(cohort)  # as committed now, under the lock
    if cohort.status not in ISSUABLE:
        raise ProblemError(
            409,
            "cohort_not_evaluated",
            f"Cohort {cohort_id} is {cohort.status.value}; certificates are issued once it is "
            "in evaluation or completed. Move it to evaluation and evaluate it first.",
            detail_id=f"Angkatan {cohort_id} berstatus {cohort.status.value}; sertifikat "
            "diterbitkan setelah angkatan berstatus evaluation atau completed. Pindahkan ke "
            "evaluation dan evaluasi dulu.",
        )
    return cohort


def draw_seqs(session: Session, agency_id: str, year: int, count: int) -> int:
    """Reserve ``count`` sequence numbers of the agency's year under its row lock; the first."""

    def locked() -> CertificateSequence | None:
        return session.exec(
            select(CertificateSequence)
            .where(
                col(CertificateSequence.agency_id) == agency_id,
                col(CertificateSequence.year) == year,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        ).first()

    row = locked()
    if row is None:
        certificate_keys.insert_once(
            session, CertificateSequence(agency_id=agency_id, year=year, last_seq=0)
        )
        row = locked()
    assert row is not None
    first = row.last_seq + 1
    row.last_seq += count
    session.add(row)
    return first


def issue(*, session: Session, principal: Principal, cohort_id: str) -> IssueResult:
    cohort = _lock_cohort(session, principal, cohort_id)
    course = session.get(Course, cohort.course_id)
    organiser = session.get(Agency, cohort.agency_id)
    assert course is not None and organiser is not None
    passed = session.exec(
        select(Enrollment)
        .where(
            col(Enrollment.cohort_id) == cohort.id,
            col(Enrollment.status) == EnrollmentStatus.passed,
        )
        .order_by(col(Enrollment.id))
    ).all()
    if not passed:
        raise ProblemError(
            409,
            "no_passed_enrollments",
            f"No enrolment of cohort {cohort_id} has passed; evaluate the cohort first "
            "(certificates are for passed enrolments only).",
            detail_id=f"Belum ada pendaftaran angkatan {cohort_id} yang lulus; evaluasi "
            "angkatan dulu (sertifikat hanya untuk peserta yang lulus).",
        )
    have = set(
        session.exec(
            select(col(Certificate.enrollment_id)).where(col(Certificate.cohort_id) == cohort.id)
        ).all()
    )
    missing = [e for e in passed if e.id not in have]
    now = utcnow()
    if missing:
        _issue_all(session, cohort, course, organiser, missing, now)
    if cohort.certificates_issued_at is None:
        cohort.certificates_issued_at = now
        session.add(cohort)
    result = IssueResult(
        cohort_id=cohort.id,
        issued=len(missing),
        already_issued=len(passed) - len(missing),
        certificates_issued_at=cohort.certificates_issued_at,
        certificates_url=f"/v1/cohorts/{cohort.id}/certificates",
    )
    commit_or_409(session, number_taken())
    return result


def number_taken() -> ProblemError:
    return ProblemError(
        409,
        "certificate_number_taken",
        "A certificate number of this pattern is taken already in your agency; change the "
        "course's certificate_number_pattern (e.g. add {course_code}) and issue again.",
        detail_id="Nomor sertifikat dengan pola ini sudah terpakai di instansi Anda; ubah "
        "certificate_number_pattern pelatihan (misalnya tambahkan {course_code}) lalu "
        "terbitkan lagi.",
    )


def _issue_all(
    session: Session,
    cohort: Cohort,
    course: Course,
    organiser: Agency,
    missing: list[Enrollment],
    now: datetime,
) -> None:
    seq = draw_seqs(session, cohort.agency_id, cohort.year, len(missing))
    credits = {
        r.enrollment_id: r
        for r in session.exec(
            select(JPRecord).where(
                col(JPRecord.enrollment_id).in_([e.id for e in missing]),
                col(JPRecord.withdrawn_at).is_(None),
            )
        )
    }
    writer = Writer(session, cohort, course, organiser, [e.learner_id for e in missing])
    for offset, enrollment in enumerate(missing):
        credit = credits.get(enrollment.id)
        writer.write(
            enrollment,
            seq=seq + offset,
            jp_halves=credit.jp_halves if credit is not None else course.total_jp_halves,
            source=credit.source if credit is not None else jp_ledger.JPSource.course,
            now=now,
        )


class Writer:
    """Writes certificates of one cohort (a cohort's issue, or one re-issue): the snapshot of
    the learner, course and cohort as they are now, the signature, and the JP credit that
    carries the certificate's number, all in the caller's transaction."""

    def __init__(
        self,
        session: Session,
        cohort: Cohort,
        course: Course,
        organiser: Agency,
        learner_ids: list[str],
    ) -> None:
        self.session, self.cohort, self.course, self.organiser = session, cohort, course, organiser
        self.signer = certificate_keys.signer(session)
        found = session.exec(select(Learner).where(col(Learner.id).in_(learner_ids)))
        self.learners = {r.id: r for r in found}
        home_ids = {r.agency_id for r in self.learners.values()}
        homes = session.exec(select(Agency).where(col(Agency.id).in_(home_ids)))
        self.homes = {r.id: r.name for r in homes}

    def write(
        self,
        enrollment: Enrollment,
        *,
        seq: int,
        jp_halves: int,
        source: jp_ledger.JPSource,
        now: datetime,
        replaces_id: str | None = None,
    ) -> Certificate:
        cohort, course = self.cohort, self.course
        learner = self.learners[enrollment.learner_id]
        number = render_number(
            course.certificate_number_pattern,
            seq=seq,
            course_code=course.code,
            cohort_roman=roman(cohort.number),
            cohort_number=cohort.number,
            year=cohort.year,
        )
        code = secrets.token_urlsafe(24)  # 192 random bits
        cert = Certificate(
            enrollment_id=enrollment.id,
            learner_id=learner.id,
            cohort_id=cohort.id,
            course_id=course.id,
            agency_id=cohort.agency_id,
            number=number,
            verification_code=code,
            holder_name=core.public(learner, None).display_name,
            holder_id_kind="NIP" if learner.nip else ("NI PPPK" if learner.ni_pppk else None),
            holder_id_number=learner.nip or learner.ni_pppk,
            holder_rank=learner.rank,
            holder_position=learner.position_title,
            holder_agency_name=self.homes.get(learner.agency_id, ""),
            course_title=course.title,
            course_code=course.code,
            course_kind=course.kind.value,
            cohort_name=name_of(cohort.number),
            cohort_year=cohort.year,
            starts_on=cohort.starts_on,
            ends_on=cohort.ends_on,
            place=cohort.venue or cohort.platform,
            jp_halves=jp_halves,
            score_centi=enrollment.final_score_centi,
            grade=enrollment.grade,
            issuer_name=self.organiser.name,
            verification_url=verify_url(code),
            jws="",
            kid=self.signer.kid,
            issued_at=now,
            replaces_id=replaces_id,
        )
        cert.jws = sign_certificate(claims_of(cert), self.signer)
        self.session.add(cert)
        jp_ledger.credit_enrollment(
            self.session,
            enrollment=enrollment,
            cohort=cohort,
            course=course,
            source=source,
            jp_halves=jp_halves,
            certificate_number=number,
        )
        return cert
