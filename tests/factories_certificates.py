"""Builders for the certificate tests: a cohort in evaluation with passed enrolments.

The evaluation that sets ``passed``, ``final_score_centi`` and ``grade`` is built in
parallel (services/learning/evaluation.py); until then these tests set the outcome
directly on the rows, as the evaluation would leave them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlmodel import Session

from app.core.security import new_certificate_key_pem
from app.models import Cohort, Enrollment
from app.models.cohort import CohortStatus
from app.models.enrollment import EnrollmentStatus
from tests.factories import enrol, make_learner, make_open_cohort, make_published_course


@cache
def signing_key_pem() -> str:
    return new_certificate_key_pem()


@dataclass
class Evaluated:
    course: dict[str, Any]
    cohort: dict[str, Any]
    passed: list[dict[str, Any]] = field(default_factory=list)  # enrolments
    failed: list[dict[str, Any]] = field(default_factory=list)
    learners: list[dict[str, Any]] = field(default_factory=list)


def set_outcome(
    session: Session,
    enrollment_id: str,
    status: EnrollmentStatus,
    score_centi: int | None = None,
    grade: str | None = None,
) -> None:
    row = session.get(Enrollment, enrollment_id)
    assert row is not None
    row.status = status
    row.final_score_centi = score_centi
    row.grade = grade
    row.version += 1
    session.add(row)
    session.commit()


def set_cohort_status(session: Session, cohort_id: str, status: CohortStatus) -> None:
    row = session.get(Cohort, cohort_id)
    assert row is not None
    row.status = status
    session.add(row)
    session.commit()


def evaluated_cohort(
    client: Any,
    session: Session,
    headers: dict[str, str],
    *,
    passed: int = 2,
    failed: int = 0,
    learners: list[dict[str, Any]] | None = None,
    course: dict[str, Any] | None = None,
    learner_headers: dict[str, str] | None = None,
    status: CohortStatus = CohortStatus.evaluation,
    **cohort: Any,
) -> Evaluated:
    """A published course, a cohort of it moved to ``status``, ``passed`` enrolments passed
    (scores 85.50, 86.50 ...) and ``failed`` ones failed. ``learners``: learner payloads
    (overrides of tests.factories.learner_payload) for the first passed enrolments."""
    course = course or make_published_course(client, headers)
    made = make_open_cohort(client, headers, course["id"], **cohort)
    out = Evaluated(course=course, cohort=made)
    specs = list(learners or [])
    for i in range(passed + failed):
        spec = specs[i] if i < len(specs) else {}
        learner = make_learner(client, learner_headers or headers, **spec)
        enrolment = enrol(client, headers, made["id"], learner["learner_key"])
        out.learners.append(learner)
        if i < passed:
            set_outcome(
                session, enrolment["id"], EnrollmentStatus.passed, 8550 + 100 * i, "memuaskan"
            )
            out.passed.append(enrolment)
        else:
            set_outcome(session, enrolment["id"], EnrollmentStatus.failed, 5000, "kurang")
            out.failed.append(enrolment)
    set_cohort_status(session, made["id"], status)
    return out


def issue(client: Any, headers: dict[str, str], cohort_id: str) -> Any:
    return client.post(f"/v1/cohorts/{cohort_id}/certificates", headers=headers)


def issued(client: Any, headers: dict[str, str], cohort_id: str) -> list[dict[str, Any]]:
    """Issue the cohort's certificates and answer them, oldest first."""
    response = issue(client, headers, cohort_id)
    assert response.status_code in (200, 201), response.text
    listed = client.get(f"/v1/cohorts/{cohort_id}/certificates", headers=headers)
    assert listed.status_code == 200, listed.text
    return list(listed.json()["items"])
