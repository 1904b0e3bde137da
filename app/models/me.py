"""What ``GET /v1/me`` shows: the caller, their agency, and for a learner login the learner."""

from __future__ import annotations

from sqlmodel import Field, SQLModel

from app.models.agency import AgencyPublic
from app.models.learner import LearnerPublic
from app.models.user import UserPublic


class Me(SQLModel):
    """The caller, as ``GET /v1/me`` shows them."""

    user: UserPublic
    agency: AgencyPublic
    learner: LearnerPublic | None = Field(
        default=None,
        description="For a learner login (role learner): their own learner record, personal "
        "data included; null for staff",
    )
    roles: list[str] = Field(description="Roles in effect for this token")
    scope: str = Field(description="Scopes of this token (empty for people)")
