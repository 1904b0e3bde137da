"""Who may see which catalogue rows: published for everyone, drafts for the owning agency."""

from __future__ import annotations

from app.core.security import Principal
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
