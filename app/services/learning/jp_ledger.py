"""Writing the yearly JP ledger (``jp_record``): one credit per passed enrolment or attended
event, taken back when a re-evaluation says otherwise.

Callers hold the transaction: these functions add rows to the session and never commit, so a
credit and the outcome that earned it are written together or not at all. The year is the
year of the cohort's end date, which is already a date in the cohort's own time zone (a
cohort ending 31 December in Asia/Jayapura credits that year, whatever the UTC instant).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, delete, select

from app.models.agency import Agency
from app.models.base import utcnow
from app.models.cohort import Cohort
from app.models.course import Course
from app.models.enrollment import Enrollment
from app.models.jp import JPRecord, JPSource


def credit_enrollment(
    session: Session,
    *,
    enrollment: Enrollment,
    cohort: Cohort,
    course: Course,
    source: JPSource = JPSource.course,
    jp_halves: int | None = None,
    certificate_number: str | None = None,
) -> JPRecord:
    """Credit ``jp_halves`` (default: the course's total) to the learner's year for this
    enrolment; a second call updates the same credit (an enrolment credits once)."""
    record = session.exec(
        select(JPRecord).where(col(JPRecord.enrollment_id) == enrollment.id)
    ).first()
    organiser = session.get(Agency, cohort.agency_id)
    values: dict[str, Any] = {
        "learner_id": enrollment.learner_id,
        "year": cohort.ends_on.year,
        "jp_halves": course.total_jp_halves if jp_halves is None else jp_halves,
        "source": source,
        "course_id": course.id,
        "title": course.title,
        "organiser": organiser.name if organiser else "",
        "starts_on": cohort.starts_on,
        "ends_on": cohort.ends_on,
    }
    if certificate_number is not None:
        values["certificate_number"] = certificate_number
    if record is None:
        record = JPRecord(enrollment_id=enrollment.id, **values)
    else:
        for name, value in values.items():
            setattr(record, name, value)
        record.version += 1
        record.updated_at = utcnow()
    session.add(record)
    return record


def withdraw_credit(session: Session, *, enrollment_id: str) -> None:
    """Take back the credit of an enrolment (re-evaluated as failed, or dropped)."""
    session.exec(delete(JPRecord).where(col(JPRecord.enrollment_id) == enrollment_id))
