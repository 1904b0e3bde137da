"""Cross-agency grants: the agencies that see a learner of another agency because it
organises a cohort the learner is enrolled in, or partners that cohort's course.

A materialised form of the "enrolled with me" visibility branch
(app/services/visibility.py): the learner list walks this table's primary key
(agency_id, learner_id) from the cursor instead of reading all of an organiser's
enrolments. Kept by app/services/learning/grants.py; never shown through the API.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime


class LearnerGrant(SQLModel, table=True):
    __tablename__ = "learner_grant"
    __table_args__ = (
        Index("ix_learner_grant_learner_id", "learner_id"),
        # OneRoster's delta sync of users: the agency's grants made since
        Index("ix_learner_grant_agency_granted", "agency_id", "granted_at"),
    )

    agency_id: str = Field(foreign_key="agency.id", primary_key=True, max_length=40)
    learner_id: str = Field(foreign_key="learner.id", primary_key=True, max_length=40)
    # when the agency began to see the learner (OneRoster's delta sync of users: a guest
    # appears with this as dateLastModified); null: granted before migration 0025
    granted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
