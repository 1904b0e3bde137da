"""Rows for the evaluation tests, inserted through the models: a course with its modules, a
cohort in any status, enrolments, sessions, attendance and progress (the progress and
attendance endpoints are built elsewhere; these rows are what they store)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from app.models import Agency, Cohort, Course, Enrollment
from app.models.attendance import Attendance, AttendanceStatus
from app.models.base import utcnow
from app.models.cohort import CohortSession, CohortStatus
from app.models.course import DEFAULT_GRADE_BANDS, CourseStatus
from app.models.curriculum import Curriculum, CurriculumModule, CurriculumStatus, LearningMode
from app.models.enrollment import EnrollmentStatus
from app.models.progress import ProgressRecord, ProgressStatus
from tests.factories import auth_headers, make_agency, make_learner_row, make_user

_seq = itertools.count(1)
# (jp, mode, assessed, weight): the default curriculum is one assessed self-paced module
# (weight 60), one assessed classroom module (weight 40) and an unassessed classroom one.
DEFAULT_MODULES: list[tuple[float, str, bool, float]] = [
    (4, "self_paced", True, 60),
    (4, "classroom", True, 40),
    (2, "classroom", False, 0),
]


def centi(value: str | float | int) -> int:
    return int(Decimal(str(value)) * 100)


@dataclass
class Setup:
    agency: Agency
    admin: dict[str, str]  # bearer headers of the organiser's agency admin
    course: Course
    cohort: Cohort
    modules: list[CurriculumModule]
    enrollments: list[Enrollment] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"/v1/cohorts/{self.cohort.id}"


def make_evaluation(
    session: Session,
    *,
    modules: list[tuple[float, str, bool, float]] | None = None,
    learners: int = 1,
    status: CohortStatus = CohortStatus.evaluation,
    enrolment_status: EnrollmentStatus = EnrollmentStatus.active,
    **course: Any,
) -> Setup:
    """A published course (``course`` overrides its columns), its published curriculum,
    a cohort in ``status`` with ``learners`` enrolments."""
    agency = make_agency(session)
    admin = auth_headers(make_user(session, agency, "agency_admin"))
    n = next(_seq)
    shape = modules if modules is not None else DEFAULT_MODULES
    values: dict[str, Any] = {
        "agency_id": agency.id,
        "code": f"EVA-{n}",
        "title": f"Pelatihan Penilaian {n}",
        "kind": "training",
        "competency_type": "socio_cultural",
        "delivery": "blended",
        "total_jp_halves": int(sum(Decimal(str(m[0])) for m in shape) * 2),
        "grade_bands": DEFAULT_GRADE_BANDS,
        "status": CourseStatus.published,
    }
    values.update(course)
    row = Course(**values)
    session.add(row)
    session.flush()
    curriculum = Curriculum(
        agency_id=agency.id,
        course_id=row.id,
        version=1,
        status=CurriculumStatus.published,
        published_at=utcnow(),
    )
    session.add(curriculum)
    session.flush()
    made = [
        CurriculumModule(
            curriculum_id=curriculum.id,
            position=i,
            title=f"Mata Pelatihan {i}",
            jp_halves=int(Decimal(str(jp)) * 2),
            mode=LearningMode(mode),
            assessed=assessed,
            weight_centi=centi(weight),
        )
        for i, (jp, mode, assessed, weight) in enumerate(shape, start=1)
    ]
    session.add_all(made)
    cohort = Cohort(
        agency_id=agency.id,
        course_id=row.id,
        curriculum_id=curriculum.id,
        curriculum_version=1,
        number=n % 3999 + 1,
        year=2025,
        starts_on=utcnow().date() - timedelta(days=10),
        ends_on=utcnow().date() - timedelta(days=1),
        timezone="Asia/Jakarta",
        capacity=max(learners, 1),
        status=status,
    )
    session.add(cohort)
    session.flush()
    setup = Setup(agency, admin, row, cohort, made)
    for i in range(learners):
        learner = make_learner_row(session, agency, n * 50 + i)
        session.flush()
        enrollment = Enrollment(
            cohort_id=cohort.id,
            course_id=row.id,
            agency_id=agency.id,
            learner_id=learner.id,
            status=enrolment_status,
        )
        session.add(enrollment)
        setup.enrollments.append(enrollment)
    cohort.seats_taken = learners
    session.commit()
    return setup


def add_session(
    session: Session, setup: Setup, jp: float, *, minutes: int = 90, ended_hours_ago: float = 30
) -> CohortSession:
    """A session of the cohort, ``minutes`` long, that ended ``ended_hours_ago`` (negative:
    still to come)."""
    ends = utcnow() - timedelta(hours=ended_hours_ago)
    row = CohortSession(
        agency_id=setup.agency.id,
        cohort_id=setup.cohort.id,
        starts_at=ends - timedelta(minutes=minutes),
        ends_at=ends,
        mode=LearningMode.classroom,
        jp_halves=int(Decimal(str(jp)) * 2),
    )
    session.add(row)
    session.commit()
    return row


def attend(
    session: Session,
    setup: Setup,
    slot: CohortSession,
    enrollment: Enrollment,
    status: str = "present",
    minutes: int = 0,
) -> None:
    session.add(
        Attendance(
            cohort_id=setup.cohort.id,
            session_id=slot.id,
            enrollment_id=enrollment.id,
            status=AttendanceStatus(status),
            minutes_attended=minutes,
        )
    )
    session.commit()


def progress(
    session: Session,
    enrollment: Enrollment,
    module: CurriculumModule,
    status: str = "completed",
    score: str | None = None,
) -> None:
    session.add(
        ProgressRecord(
            enrollment_id=enrollment.id,
            module_id=module.id,
            status=ProgressStatus(status),
            percent=100 if status == "completed" else 50,
            score_centi=None if score is None else centi(score),
            occurred_at=utcnow(),
            source="lms-uji",
            external_id=f"rec-{next(_seq)}",
        )
    )
    session.commit()


def complete_all(
    session: Session, setup: Setup, enrollment: Enrollment, *scores: str | None
) -> None:
    """Every module completed; the assessed ones get ``scores`` in curriculum order."""
    given = iter(scores)
    for module in setup.modules:
        progress(session, enrollment, module, score=next(given, None) if module.assessed else None)
