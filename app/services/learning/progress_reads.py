"""Reading progress: an enrolment's modules with their records and the totals, for whoever
sees the enrolment (``visibility.enrollment_visible``: organiser, partners, the learner's
home agency, the learner's own login); everyone else gets 404."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sqlmodel import Session, col, select

from app.core.errors import ProblemError
from app.core.etag import list_etag
from app.core.security import Principal
from app.models import Cohort
from app.models.catalogue import from_centi, halves_to_jp
from app.models.curriculum import Curriculum, CurriculumModule, LearningMode
from app.models.progress import EnrollmentProgress, ModuleProgress, ProgressRecord, ProgressStatus
from app.services.learning.enrollment_moves import visible


def _my_own(principal: Principal) -> None:
    if not principal.is_learner:
        raise ProblemError(
            403,
            "forbidden",
            "Only a learner login has progress of its own; staff read it at "
            "/v1/enrollments/{enrollment_id}/progress.",
            detail_id="Hanya login peserta yang memiliki kemajuan sendiri; staf membacanya di "
            "/v1/enrollments/{enrollment_id}/progress.",
        )


def read_progress(
    *, session: Session, principal: Principal, enrollment_id: str, own: bool = False
) -> tuple[EnrollmentProgress, str]:
    """An enrolment's modules with their records and totals; ``own``: a learner login's."""
    if own:
        _my_own(principal)
    enrollment, _learner, _course, _ = visible(session, principal, enrollment_id)
    cohort = session.get(Cohort, enrollment.cohort_id)
    assert cohort is not None
    curriculum = session.get(Curriculum, cohort.curriculum_id) if cohort.curriculum_id else None
    modules = list(
        session.exec(
            select(CurriculumModule)
            .where(col(CurriculumModule.curriculum_id) == cohort.curriculum_id)
            .order_by(col(CurriculumModule.position))
        )
        if curriculum
        else []
    )
    records = {
        r.module_id: r
        for r in session.exec(
            select(ProgressRecord).where(col(ProgressRecord.enrollment_id) == enrollment_id)
        )
    }
    by_mode = {m.value: 0 for m in LearningMode}
    earned_by_mode = dict(by_mode)
    weighted, items = Decimal(0), []
    for m in modules:
        r = records.get(m.id)
        earned = r.jp_earned_halves if r else 0
        by_mode[m.mode.value] += m.jp_halves
        earned_by_mode[m.mode.value] += earned
        weighted += Decimal(r.percent if r else 0) * m.jp_halves
        items.append(
            ModuleProgress(
                module_id=m.id,
                position=m.position,
                title=m.title,
                mode=m.mode,
                jp=halves_to_jp(m.jp_halves),
                assessed=m.assessed,
                weight=from_centi(m.weight_centi),
                status=r.status if r else ProgressStatus.not_started,
                percent=r.percent if r else 0,
                score=None if r is None or r.score_centi is None else from_centi(r.score_centi),
                jp_earned=halves_to_jp(earned),
                time_spent_minutes=r.time_spent_minutes if r else 0,
                occurred_at=r.occurred_at if r else None,
                source=r.source if r else None,
                external_id=r.external_id if r else None,
                version=r.version if r else None,
            )
        )
    total = sum(by_mode.values())
    percent = (weighted / total).quantize(Decimal("0.01"), ROUND_HALF_UP) if total else Decimal(0)
    answer = EnrollmentProgress(
        enrollment_id=enrollment.id,
        cohort_id=cohort.id,
        curriculum_id=cohort.curriculum_id,
        modules=items,
        total_jp=halves_to_jp(total),
        jp_earned=halves_to_jp(sum(earned_by_mode.values())),
        jp_by_mode={k: halves_to_jp(v) for k, v in by_mode.items()},
        jp_earned_by_mode={k: halves_to_jp(v) for k, v in earned_by_mode.items()},
        percent=from_centi(int(percent * 100)),
        modules_completed=sum(1 for i in items if i.status == ProgressStatus.completed),
    )
    etag = list_etag(
        [
            enrollment.id,
            cohort.curriculum_id,
            curriculum.revision if curriculum else 0,
            *sorted(f"{r.id}:{r.version}" for r in records.values()),
        ]
    )
    return answer, etag
