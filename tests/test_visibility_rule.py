"""The visibility rule's SQL form and Python form agree on every row for every caller.

Rows of every status (courses x cohorts x curriculum versions) are written
straight into the tables; each kind of caller (anonymous, member of the owning
agency, partner agency, another agency, platform admin) then asks the database
through the SQL form and the Python form decides on the loaded rows. The lists
split the SQL form into disjoint branches: their union must be the same set and
no row may come out of two branches (it would be listed twice).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import Session

from app.core.security import Principal
from app.models import Cohort, Course, Curriculum
from app.models.cohort import CohortStatus
from app.models.course import CourseStatus
from app.models.curriculum import CurriculumStatus
from app.services import visibility as v
from tests.factories import make_agency

C, H, K = v.C, v.H, v.K


def _callers(owner: str, partner: str, other: str) -> dict[str, Principal | None]:
    def member(agency: str, *roles: str) -> Principal:
        return Principal(subject=f"usr_{agency}", agency_id=agency, roles=frozenset(roles))

    return {
        "anonymous": None,
        "owner viewer": member(owner, "viewer"),
        "owner admin": member(owner, "agency_admin"),
        "partner agency": member(partner, "agency_admin"),
        "other agency": member(other, "viewer"),
        "platform admin": member(other, "platform_admin"),
    }


@pytest.fixture
def rows(session: Session) -> dict[str, Any]:
    owner, partner, other = (make_agency(session) for _ in range(3))
    courses: list[Course] = []
    cohorts: list[Cohort] = []
    curricula: list[Curriculum] = []
    for i, status in enumerate(CourseStatus):
        course = Course(
            agency_id=owner.id,
            code=f"VIS-{i}",
            title=f"Pelatihan {status.value}",
            kind="training",
            competency_type="technical",
            delivery="online",
            total_jp_halves=20,
            grade_bands=[],
            partner_agency_ids=[partner.id],
            status=status,
        )
        courses.append(course)
        for n, cohort_status in enumerate(CohortStatus, start=1):
            cohorts.append(
                Cohort(
                    agency_id=owner.id,
                    course_id=course.id,
                    number=n,
                    year=2025,
                    starts_on=date(2025, 5, 14),
                    ends_on=date(2025, 5, 26),
                    timezone="Asia/Jakarta",
                    status=cohort_status,
                )
            )
        for n, curriculum_status in enumerate(CurriculumStatus, start=1):
            curricula.append(
                Curriculum(
                    agency_id=owner.id, course_id=course.id, version=n, status=curriculum_status
                )
            )
    session.add_all(courses)
    session.flush()
    session.add_all([*cohorts, *curricula])
    session.commit()
    return {
        "callers": _callers(owner.id, partner.id, other.id),
        "courses": {c.id: c for c in courses},
        "cohorts": {h.id: h for h in cohorts},
        "curricula": {k.id: k for k in curricula},
    }


def _ids(session: Session, stmt: Any) -> list[str]:
    return list(session.execute(stmt).scalars())


def _check_branches(
    session: Session, base: Any, branches: list[Any], predicate: Any, expected: set[str]
) -> None:
    single = _ids(session, base.where(predicate))
    assert set(single) == expected
    per_branch = [i for b in branches for i in _ids(session, base.where(b))]
    assert sorted(per_branch) == sorted(expected), "branches overlap or miss rows"


def test_course_rule_sql_and_python_agree(session: Session, rows: dict[str, Any]) -> None:
    courses: dict[str, Course] = rows["courses"]
    for name, p in rows["callers"].items():
        caller, me = v.who(p), p.agency_id if p else None
        expected = {
            c.id for c in courses.values() if v.course_visible(p, c.agency_id, c.status.value)
        }
        base = select(C.id)
        branches = v.course_branches(caller, me)
        _check_branches(session, base, branches, v.course_visible_sql(caller, me), expected)
        if name in ("anonymous", "partner agency", "other agency"):
            assert {courses[i].status for i in expected} == {CourseStatus.published}, name
        else:
            assert len(expected) == len(CourseStatus), name


def test_cohort_rule_sql_and_python_agree(session: Session, rows: dict[str, Any]) -> None:
    courses: dict[str, Course] = rows["courses"]
    cohorts: dict[str, Cohort] = rows["cohorts"]
    base = select(H.id).select_from(Cohort.__table__.join(Course.__table__, H.course_id == C.id))  # type: ignore[attr-defined]
    for name, p in rows["callers"].items():
        caller, me = v.who(p), p.agency_id if p else None
        expected = {
            h.id
            for h in cohorts.values()
            if v.cohort_visible(p, h.agency_id, courses[h.course_id].status.value, h.status.value)
        }
        branches = v.cohort_branches(caller, me)
        _check_branches(session, base, branches, v.cohort_visible_sql(caller, me), expected)
        seen = {(courses[cohorts[i].course_id].status, cohorts[i].status) for i in expected}
        if name in ("anonymous", "partner agency", "other agency"):
            public = {
                s for s in CohortStatus if s not in (CohortStatus.draft, CohortStatus.cancelled)
            }
            assert seen == {(CourseStatus.published, s) for s in public}, name
        else:
            assert len(expected) == len(cohorts), name


def test_curriculum_rule_sql_and_python_agree(session: Session, rows: dict[str, Any]) -> None:
    courses: dict[str, Course] = rows["courses"]
    curricula: dict[str, Curriculum] = rows["curricula"]
    base = select(K.id)
    for name, p in rows["callers"].items():
        caller, me = v.who(p), p.agency_id if p else None
        expected = {
            k.id
            for k in curricula.values()
            if v.curriculum_visible(p, courses[k.course_id].agency_id, k.status.value)
        }
        assert set(_ids(session, base.where(v.curriculum_visible_sql(caller, me)))) == expected
        statuses = {curricula[i].status for i in expected}
        if name in ("anonymous", "partner agency", "other agency"):
            assert statuses == {CurriculumStatus.published}, name
        else:
            assert len(expected) == len(curricula), name
