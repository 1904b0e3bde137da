"""Evaluating a cohort: each seated enrolment passed or failed, with reasons, and its JP.

``evaluate`` runs under the cohort row lock (``seats.lock_cohort``: ``SELECT ... FOR
UPDATE`` on PostgreSQL, the single ``BEGIN IMMEDIATE`` writer on SQLite), so two
concurrent runs queue and the second finds the first's outcomes: one history event per
change, one ledger credit per passed enrolment. Outcome, history and JP credit are written
in one transaction. Re-runnable while the cohort is in ``evaluation`` until its
certificates are issued. The rules themselves are in ``completion``.

Evaluated: proposed, verified, active and (again) passed and failed enrolments; skipped:
withdrawn, waitlisted, dropped. An outcome keeps the seat it had (``seats_taken`` is not
changed: the cohort takes no enrolments any more).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app.core.errors import ProblemError
from app.core.security import Principal
from app.models import Agency, Cohort, Course, Enrollment, Learner
from app.models.base import utcnow
from app.models.catalogue import from_centi, halves_to_jp
from app.models.cohort import CohortStatus
from app.models.enrollment import (
    SEATED,
    EnrollmentStatus,
    EvaluationCounts,
    EvaluationItem,
    EvaluationOutcome,
    EvaluationResult,
    EvaluationRules,
    OutcomeReason,
)
from app.models.jp import JPRecord
from app.services.cohorts import name_of
from app.services.learning import completion, jp_ledger, seats
from app.services.learning import learners as core
from app.services.visibility import owns

E = EnrollmentStatus
EVALUATED = SEATED | {E.passed, E.failed}
REASON = "evaluation"  # the history events' reason, followed by the failure codes


def _not_found(cohort_id: str) -> ProblemError:
    return ProblemError(
        404,
        "not_found",
        f"No cohort of yours has id {cohort_id}; check the id (only the organiser evaluates).",
        detail_id=f"Tidak ada angkatan Anda dengan id {cohort_id}; periksa id tersebut (hanya "
        "penyelenggara yang menilai).",
    )


def _organised(
    session: Session, principal: Principal, cohort_id: str, *, lock: bool
) -> tuple[Cohort, Course]:
    """The cohort (under its row lock when ``lock``) if the caller organises it, else 404."""
    cohort = seats.lock_cohort(session, cohort_id) if lock else session.get(Cohort, cohort_id)
    if cohort is None or not owns(principal, cohort.agency_id):
        raise _not_found(cohort_id)
    course = session.get(Course, cohort.course_id)
    assert course is not None
    return cohort, course


def _check_evaluable(cohort: Cohort) -> None:
    name = name_of(cohort.number)
    if cohort.certificates_issued_at is not None:
        when = cohort.certificates_issued_at.isoformat()
        raise ProblemError(
            409,
            "certificates_issued",
            f"Certificates of {name} were issued at {when}; its evaluation is final and "
            "cannot run again. Revoke a wrong certificate instead.",
            detail_id=f"Sertifikat {name} telah diterbitkan pada {when}; penilaiannya final "
            "dan tidak dapat dijalankan lagi. Cabut sertifikat yang keliru sebagai gantinya.",
            extra={"certificates_issued_at": when},
        )
    if cohort.status != CohortStatus.evaluation:
        status = cohort.status.value
        raise ProblemError(
            409,
            "cohort_not_in_evaluation",
            f"{name} is {status}; a cohort is evaluated only in status evaluation. Move a "
            f"running cohort there (POST /v1/cohorts/{cohort.id}/transitions with "
            "to=evaluation) once its last session has ended.",
            detail_id=f"{name} berstatus {status}; angkatan hanya dapat dinilai pada status "
            f"evaluation. Pindahkan angkatan yang berjalan ke sana (POST "
            f"/v1/cohorts/{cohort.id}/transitions dengan to=evaluation) setelah sesi "
            "terakhirnya selesai.",
            extra={"cohort_status": status},
        )


def _rules_public(rules: completion.Rules) -> EvaluationRules:
    cap = rules.max_absence_halves
    return EvaluationRules(
        passing_score=from_centi(rules.passing_centi),
        max_absence_jp=None if cap is None else halves_to_jp(cap),
        present_share=float(completion.present_share()),
        sessions_counted=len(rules.sessions),
        assessed_modules=len(rules.assessed),
        self_paced_modules=len(rules.self_paced),
    )


@dataclass
class _Run:
    """One evaluation (or preview) of a cohort: its rules, facts and ledger, read once."""

    session: Session
    principal: Principal
    cohort: Cohort
    course: Course
    rules: completion.Rules
    write: bool
    now: datetime = field(default_factory=utcnow)
    progress: dict[str, dict[str, Any]] = field(default_factory=dict)
    presence: dict[str, dict[str, Any]] = field(default_factory=dict)
    credited: set[str] = field(default_factory=set)  # enrolments holding a JP credit
    # held so the session's identity map keeps it for the ledger's lookups of the organiser
    organiser: Agency | None = None

    def item(self, enrollment: Enrollment, learner: Learner) -> EvaluationItem:
        was = enrollment.status
        item = EvaluationItem(
            enrollment_id=enrollment.id,
            learner_id=learner.id,
            learner_key=learner.learner_key,
            learner_name=core.public(learner, None).display_name,
            previous_status=was,
            status=was,
            outcome=EvaluationOutcome.skipped,
            changed=False,
            final_score=None,
            grade=None,
            absent_jp=None,
            reasons=[],
        )
        if was not in EVALUATED:
            return item
        verdict = completion.judge(
            self.rules, self.progress.get(enrollment.id, {}), self.presence.get(enrollment.id, {})
        )
        to = E.passed if verdict.passed else E.failed
        item.status, item.outcome, item.changed = to, EvaluationOutcome(to.value), to != was
        score = verdict.score_centi
        item.final_score = None if score is None else from_centi(score)
        item.grade = verdict.grade
        item.absent_jp = halves_to_jp(verdict.absent_halves)
        item.reasons = [OutcomeReason.model_validate(r) for r in verdict.reasons]
        if self.write:
            self.store(enrollment, verdict)
        return item

    def store(self, enrollment: Enrollment, verdict: completion.Verdict) -> None:
        """The outcome on the enrolment, a history event if its status moves, its JP."""
        to = E.passed if verdict.passed else E.failed
        enrollment.final_score_centi = verdict.score_centi
        enrollment.grade = verdict.grade
        enrollment.absent_jp_halves = verdict.absent_halves
        enrollment.outcome_reasons = verdict.reasons
        enrollment.evaluated_at = self.now
        if to != enrollment.status:
            codes = ", ".join(dict.fromkeys(r["code"] for r in verdict.reasons))
            reason = f"{REASON}: {codes}" if codes else REASON
            seats.move(self.session, enrollment, to, principal=self.principal, reason=reason)
        self.session.add(enrollment)
        if verdict.passed:
            jp_ledger.credit_enrollment(
                self.session, enrollment=enrollment, cohort=self.cohort, course=self.course
            )
        elif enrollment.id in self.credited:
            jp_ledger.withdraw_credit(self.session, enrollment_id=enrollment.id)


def _run(
    session: Session,
    principal: Principal,
    cohort: Cohort,
    course: Course,
    *,
    write: bool,
    until: datetime | None,
) -> EvaluationResult:
    rules = completion.load_rules(session, cohort, course, until=until)
    run = _Run(session, principal, cohort, course, rules, write)
    run.progress, run.presence = completion.load_facts(session, cohort.id)
    of_cohort = select(col(Enrollment.id)).where(col(Enrollment.cohort_id) == cohort.id)
    if write:
        credits = select(col(JPRecord.enrollment_id)).where(
            col(JPRecord.enrollment_id).in_(of_cohort)
        )
        run.credited = {e for e in session.exec(credits).all() if e is not None}
    # Measured (bench/evaluate.py, 40 learners, SQLite): one flush at commit instead of
    # one per enrolment (no_autoflush), the organiser kept in the identity map for the
    # ledger's lookups, deletes only where a credit exists: 178 -> 38 statements.
    run.organiser = session.get(Agency, cohort.agency_id)
    statement = select(Enrollment, Learner).join(
        Learner, col(Learner.id) == col(Enrollment.learner_id)
    )
    rows = session.exec(
        statement.where(col(Enrollment.cohort_id) == cohort.id).order_by(col(Enrollment.id))
    ).all()
    with session.no_autoflush:
        items = [run.item(enrollment, learner) for enrollment, learner in rows]
    if write:
        session.commit()
    counts = {o: sum(1 for i in items if i.outcome == o) for o in EvaluationOutcome}
    return EvaluationResult(
        cohort_id=cohort.id,
        written=write,
        evaluated_at=run.now,
        rules=_rules_public(rules),
        counts=EvaluationCounts(
            passed=counts[EvaluationOutcome.passed],
            failed=counts[EvaluationOutcome.failed],
            skipped=counts[EvaluationOutcome.skipped],
            changed=sum(1 for i in items if i.changed),
        ),
        items=items,
    )


def evaluate(*, session: Session, principal: Principal, cohort_id: str) -> EvaluationResult:
    """Judge every seated enrolment and store the outcomes (organiser; 404 otherwise)."""
    cohort, course = _organised(session, principal, cohort_id, lock=True)
    _check_evaluable(cohort)
    return _run(session, principal, cohort, course, write=True, until=None)


def preview(*, session: Session, principal: Principal, cohort_id: str) -> EvaluationResult:
    """What ``evaluate`` would answer now, writing nothing; in any status (before the
    cohort ends, only the sessions ended so far count toward absence)."""
    cohort, course = _organised(session, principal, cohort_id, lock=False)
    until = None if cohort.status == CohortStatus.evaluation else utcnow()
    return _run(session, principal, cohort, course, write=False, until=until)


# --- dropped (POST /v1/enrollments/{id}/transitions {"to": "dropped"}) ---------------------


def check_drop(session: Session, *, enrollment: Enrollment, cohort: Cohort, course: Course) -> None:
    """While the cohort runs, an enrolment whose absence (sessions ended so far) already
    exceeds the course's cap may be dropped: store that absence and take back any JP."""
    name = name_of(cohort.number)
    if cohort.status != CohortStatus.running:
        status = cohort.status.value
        raise ProblemError(
            409,
            "cohort_not_running",
            f"{name} is {status}; an enrolment is dropped only while its cohort is running. "
            "After that, evaluate the cohort: the absence then fails the enrolment.",
            detail_id=f"{name} berstatus {status}; pendaftaran hanya dapat dikeluarkan "
            "selama angkatan berjalan. Setelah itu, nilai angkatan: ketidakhadiran akan "
            "membuat pendaftaran tidak lulus.",
            extra={"cohort_status": status},
        )
    rules = completion.load_rules(session, cohort, course, until=utcnow())
    _, presence = completion.load_facts(session, cohort.id, enrollment.id)
    absent = completion.absent_halves(presence.get(enrollment.id, {}), rules.sessions)
    cap = rules.max_absence_halves
    if cap is None or absent <= cap:
        limit = "no limit" if cap is None else f"the limit of {halves_to_jp(cap)} JP"
        limit_id = "tanpa batas" if cap is None else f"batas {halves_to_jp(cap)} JP"
        raise ProblemError(
            409,
            "absence_within_limit",
            f"The learner has missed {halves_to_jp(absent)} JP so far, within {limit}; "
            "only an enrolment whose absence exceeds the course's max_absence_jp is dropped.",
            detail_id=f"Peserta sejauh ini tidak hadir {halves_to_jp(absent)} JP, masih dalam "
            f"{limit_id}; hanya pendaftaran yang ketidakhadirannya melebihi max_absence_jp "
            "pelatihan yang dapat dikeluarkan.",
            extra={
                "absent_jp": halves_to_jp(absent),
                "limit": None if cap is None else halves_to_jp(cap),
            },
        )
    enrollment.absent_jp_halves = absent
    enrollment.outcome_reasons = [completion.over_limit(absent, cap)]
    jp_ledger.withdraw_credit(session, enrollment_id=enrollment.id)
