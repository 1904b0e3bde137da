"""What left a OneRoster collection, kept for delta sync: one row per (agency, kind, object)
that stopped being visible to the agency's clients without a row of its own to carry the
change (a grant ended, a home learner moved away, the instructor role taken, a result
removed by xAPI voiding, the lineItems of a re-pinned curriculum). The collection shows it
``tobedeleted`` with ``removed_at`` as ``dateLastModified`` while the object stays gone
(until pruned, below); when it comes back, its live row hides the tombstone (a later
removal moves ``removed_at`` again). Written by app/services/oneroster/tombstones.py in the
transaction of the change; never shown through Bangkom's own API.

Why not the change log's delete rows (as deleted courses use): the log's types and
operations are the public feed's (GET /v1/changes) and the webhooks' vocabulary, where a
``learner`` delete would tell every agency that still sees the learner that they are gone;
and its ``resource_id`` holds one id, while a result or lineItem is two. Both are kept for
``change_retention_days``: ``bangkom prune-changes`` deletes log entries and tombstones
older than that.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime


class TombstoneKind(StrEnum):
    student = "student"  # object: a learner; the agency no longer sees them
    teacher = "teacher"  # object: a user of the agency who lost the instructor role
    line_item = "lineItem"  # object: a cohort, module: a module of its former curriculum
    result = "result"  # object: an enrolment, module: the module whose record was removed


class OneRosterTombstone(SQLModel, table=True):
    __tablename__ = "oneroster_tombstone"

    agency_id: str = Field(foreign_key="agency.id", primary_key=True, max_length=40)
    kind: str = Field(primary_key=True, max_length=16)
    object_id: str = Field(primary_key=True, max_length=40)
    module_id: str = Field(default="", primary_key=True, max_length=40)  # "" for users
    removed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
