"""Who may see which catalogue rows: published for everyone, drafts for the owning agency."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, or_, true

from app.core.security import Principal
from app.models import Cohort, Course
from app.models.cohort import CohortStatus
from app.models.course import CourseStatus

HIDDEN_COHORT_STATUSES = (CohortStatus.draft.value, CohortStatus.cancelled.value)


def owns(principal: Principal | None, agency_id: str) -> bool:
    return principal is not None and (
        principal.is_platform_admin or principal.agency_id == agency_id
    )


def course_visible(principal: Principal | None, agency_id: str, status: str) -> bool:
    return status == CourseStatus.published.value or owns(principal, agency_id)


def cohort_visible(
    principal: Principal | None, agency_id: str, course_status: str, status: str
) -> bool:
    if owns(principal, agency_id):
        return True
    return course_status == CourseStatus.published.value and status not in HIDDEN_COHORT_STATUSES


def _own_rows(column: Any, principal: Principal | None) -> ColumnElement[bool] | None:
    if principal is None:
        return None
    if principal.is_platform_admin:
        return true()
    return column == principal.agency_id


def course_filter(principal: Principal | None) -> ColumnElement[bool]:
    public = Course.__table__.c.status == CourseStatus.published.value  # type: ignore[attr-defined]
    own = _own_rows(Course.__table__.c.agency_id, principal)  # type: ignore[attr-defined]
    return public if own is None else or_(public, own)


def cohort_filter(principal: Principal | None) -> ColumnElement[bool]:
    """Needs Course joined: a public cohort belongs to a published course."""
    cohort = Cohort.__table__.c  # type: ignore[attr-defined]
    course = Course.__table__.c  # type: ignore[attr-defined]
    public = and_(
        course.status == CourseStatus.published.value,
        cohort.status.not_in(HIDDEN_COHORT_STATUSES),
    )
    own = _own_rows(cohort.agency_id, principal)
    return public if own is None else or_(public, own)
