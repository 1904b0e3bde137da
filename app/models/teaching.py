"""Who teaches in a cohort, kept for OneRoster's delta sync: one row per (cohort, instructor)
pair of ``cohort_session_instructor``, kept with ``removed_at`` when the instructor is taken
off the cohort's last session (as a withdrawn enrolment keeps its row), so a client syncing
with ``dateLastModified>`` sees the teacher enrollment turn ``tobedeleted`` instead of
vanishing. Kept by app/services/oneroster/teaching.py at every change of a session's
instructors; never shown through Bangkom's own API.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, created_at_field, updated_at_field
from app.models.change import Change


class CohortTeacher(SQLModel, table=True):
    __tablename__ = "cohort_teacher"
    __table_args__ = (Index("ix_cohort_teacher_agency_user", "agency_id", "user_id"),)

    cohort_id: str = Field(foreign_key="cohort.id", primary_key=True, max_length=40)
    user_id: str = Field(foreign_key="user.id", primary_key=True, max_length=40)
    agency_id: str = Field(foreign_key="agency.id", max_length=40)  # the cohort's
    # null while the instructor teaches a session of the cohort
    removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


# OneRoster's tombstones of deleted courses are the change log's delete rows (kept for
# ``change_retention_days``): a partial index holds just those, per agency, so the courses
# collection reads them without walking the log (app/services/oneroster/rostering.py).
_CH = Change.__table__.c  # type: ignore[attr-defined]
CHANGE_DELETES_INDEX = Index(
    "ix_change_deletes",
    _CH.agency_id,
    _CH.type,
    _CH.resource_id,
    postgresql_where=_CH.op == "delete",
    sqlite_where=_CH.op == "delete",
)
