"""The completion rules of a cohort: final score, absence, grade, and the verdict.

Pure Decimal arithmetic over integers read from the database (scores and weights in
hundredths, JP in halves); never a float. The decisions, also in the API description:

- **Final score**: the weighted mean of the assessed modules' scores, weights =
  ``weight_centi``; when every assessed module weighs 0 they count equally. A module
  without a score counts as 0 *and* fails the enrolment with reason ``score_missing``
  (so a missing LMS push never passes or fails silently; re-run once it arrives). The
  mean is rounded half-up to two decimals, and the rounded score is what is compared,
  stored and shown. A curriculum without assessed modules has no score and no score rule.
- **Passing**: score >= the course's ``passing_score`` (stored as hundredths; the default
  7001 means "more than 70.00": 70.00 fails, 70.01 passes).
- **Absence**: the JP of the cohort's sessions the learner missed: no attendance record,
  ``absent``, ``excused`` (an excuse explains an absence but still counts toward the cap),
  or ``present``/``late`` with minutes recorded (> 0) below ``present_share()`` of the
  session's length (a record without minutes is taken at its word). Passed when absence
  <= ``max_absence_jp`` (none: no cap).
- **Self-paced modules** (mode ``self_paced``) must each have progress ``completed``.
- **Grade** (*predikat*): the first of the course's bands whose ``above`` the score
  exceeds (strictly), the floor band otherwise; none without a score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from app.core.config import get_settings
from app.models.attendance import Attendance, AttendanceStatus
from app.models.catalogue import from_centi, halves_to_jp
from app.models.cohort import Cohort, CohortSession
from app.models.course import Course
from app.models.curriculum import CurriculumModule, LearningMode
from app.models.enrollment import Enrollment
from app.models.progress import ProgressRecord, ProgressStatus


def present_share() -> Decimal:
    """A present/late learner attended a session when there for at least this share of it:
    the setting the Zoom import uses too (``BANGKOM_ATTENDANCE_PRESENT_SHARE``, default 0.8),
    so "present for too short" means one thing."""
    return get_settings().attendance_present_share


CENT = Decimal("0.01")
MISSED = frozenset({AttendanceStatus.absent, AttendanceStatus.excused})


@dataclass(frozen=True)
class Module:
    id: str
    title: str
    weight_centi: int


@dataclass(frozen=True)
class SessionSlot:
    id: str
    jp_halves: int
    seconds: int


@dataclass(frozen=True)
class Rules:
    """What a cohort's enrolments are judged by (read once per evaluation)."""

    passing_centi: int
    max_absence_halves: int | None
    bands: tuple[tuple[Decimal | None, str], ...]
    assessed: tuple[Module, ...]
    self_paced: tuple[Module, ...]
    sessions: tuple[SessionSlot, ...]


@dataclass
class Verdict:
    passed: bool
    score_centi: int | None
    grade: str | None
    absent_halves: int
    reasons: list[dict[str, Any]] = field(default_factory=list)


Progress = Mapping[str, tuple[ProgressStatus, int | None]]  # module id -> (status, score)
Presence = Mapping[str, tuple[AttendanceStatus, int]]  # session id -> (status, minutes)


def final_score(scores: Mapping[str, int | None], assessed: Sequence[Module]) -> Decimal | None:
    """The weighted mean of ``scores`` (hundredths; missing = 0), rounded half-up to 0.01."""
    if not assessed:
        return None
    weights = [Decimal(m.weight_centi) for m in assessed]
    if sum(weights) == 0:
        weights = [Decimal(1)] * len(assessed)
    total = sum(
        (Decimal(scores.get(m.id) or 0) * w for m, w in zip(assessed, weights, strict=True)),
        Decimal(0),
    )
    return (total / sum(weights) / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def attended(status: AttendanceStatus, minutes: int, seconds: int) -> bool:
    """Whether a record counts as attendance of a session ``seconds`` long."""
    if status in MISSED:
        return False
    return minutes <= 0 or Decimal(minutes * 60) >= present_share() * seconds


def absent_halves(presence: Presence, sessions: Sequence[SessionSlot]) -> int:
    missed = 0
    for slot in sessions:
        record = presence.get(slot.id)
        if record is None or not attended(record[0], record[1], slot.seconds):
            missed += slot.jp_halves
    return missed


def grade_of(score: Decimal | None, bands: Sequence[tuple[Decimal | None, str]]) -> str | None:
    if score is None:
        return None
    for above, label in bands:
        if above is None or score > above:
            return label
    return None


def judge(rules: Rules, progress: Progress, presence: Presence) -> Verdict:
    scores = {module_id: score for module_id, (_, score) in progress.items()}
    score = final_score(scores, rules.assessed)
    score_centi = None if score is None else int(score * 100)
    verdict = Verdict(
        passed=True,
        score_centi=score_centi,
        grade=grade_of(score, rules.bands),
        absent_halves=absent_halves(presence, rules.sessions),
    )
    reasons = verdict.reasons
    for module in rules.assessed:
        if scores.get(module.id) is None:
            reasons.append({"code": "score_missing", "module_id": module.id, "title": module.title})
    if score_centi is not None and score_centi < rules.passing_centi:
        reasons.append(
            {
                "code": "score_below_passing",
                "score": from_centi(score_centi),
                "passing": from_centi(rules.passing_centi),
            }
        )
    cap = rules.max_absence_halves
    if cap is not None and verdict.absent_halves > cap:
        reasons.append(over_limit(verdict.absent_halves, cap))
    for module in rules.self_paced:
        found = progress.get(module.id)
        if found is None or found[0] != ProgressStatus.completed:
            reasons.append(
                {"code": "module_incomplete", "module_id": module.id, "title": module.title}
            )
    verdict.passed = not reasons
    return verdict


def over_limit(absent: int, cap: int) -> dict[str, Any]:
    return {
        "code": "absence_over_limit",
        "absent_jp": halves_to_jp(absent),
        "limit": halves_to_jp(cap),
    }


# --- reading the facts ------------------------------------------------------------------


def _bands(course: Course) -> tuple[tuple[Decimal | None, str], ...]:
    return tuple(
        (None if b.get("above") is None else Decimal(str(b["above"])), str(b["label"]))
        for b in course.grade_bands
    )


def load_rules(
    session: Session, cohort: Cohort, course: Course, *, until: datetime | None = None
) -> Rules:
    """The cohort's rules; with ``until``, only the sessions ended by then count."""
    modules = session.execute(
        select(CurriculumModule)
        .where(col(CurriculumModule.curriculum_id) == cohort.curriculum_id)
        .order_by(col(CurriculumModule.position))
    ).scalars()
    assessed: list[Module] = []
    self_paced: list[Module] = []
    for m in modules:
        if m.assessed:
            assessed.append(Module(m.id, m.title, m.weight_centi))
        if m.mode == LearningMode.self_paced:
            self_paced.append(Module(m.id, m.title, m.weight_centi))
    statement = select(
        col(CohortSession.id), col(CohortSession.jp_halves), col(CohortSession.starts_at),
        col(CohortSession.ends_at),
    ).where(col(CohortSession.cohort_id) == cohort.id)  # fmt: skip
    if until is not None:
        statement = statement.where(col(CohortSession.ends_at) <= until)
    sessions = tuple(
        SessionSlot(sid, halves, int((ends - starts).total_seconds()))
        for sid, halves, starts, ends in session.execute(statement).all()
    )
    return Rules(
        passing_centi=course.passing_score_centi,
        max_absence_halves=course.max_absence_jp_halves,
        bands=_bands(course),
        assessed=tuple(assessed),
        self_paced=tuple(self_paced),
        sessions=sessions,
    )


def load_facts(
    session: Session, cohort_id: str, enrollment_id: str | None = None
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Progress and attendance of the cohort's enrolments (or one), by enrolment id."""
    progress: dict[str, dict[str, Any]] = {}
    p = select(
        col(ProgressRecord.enrollment_id), col(ProgressRecord.module_id),
        col(ProgressRecord.status), col(ProgressRecord.score_centi),
    ).join(Enrollment, col(Enrollment.id) == col(ProgressRecord.enrollment_id))  # fmt: skip
    p = p.where(col(Enrollment.cohort_id) == cohort_id)
    a = select(
        col(Attendance.enrollment_id), col(Attendance.session_id), col(Attendance.status),
        col(Attendance.minutes_attended),
    ).where(col(Attendance.cohort_id) == cohort_id)  # fmt: skip
    if enrollment_id is not None:
        p = p.where(col(ProgressRecord.enrollment_id) == enrollment_id)
        a = a.where(col(Attendance.enrollment_id) == enrollment_id)
    for enrollment, module_id, status, score in session.execute(p).all():
        progress.setdefault(enrollment, {})[module_id] = (ProgressStatus(status), score)
    presence: dict[str, dict[str, Any]] = {}
    for enrollment, session_id, status, minutes in session.execute(a).all():
        presence.setdefault(enrollment, {})[session_id] = (AttendanceStatus(status), minutes)
    return progress, presence
