"""Invitations: a one-time link with which a learner creates their own login."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from pydantic import Field as PField
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, created_at_field, id_field
from app.models.types import StrictInput
from app.models.user import Email, Password


class LearnerInvitation(SQLModel, table=True):
    """Stored as a SHA-256 hash of the token, like refresh tokens. Single use; a newer
    invitation of the same learner revokes the older ones."""

    __tablename__ = "learner_invitation"

    id: str = id_field("inv")
    token_hash: str = Field(max_length=64, unique=True, index=True)
    learner_id: str = Field(foreign_key="learner.id", index=True, max_length=40)
    created_by: str = Field(foreign_key="user.id", max_length=40)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()


class InvitationPublic(BaseModel):
    """Shown once: only a hash of the token is kept."""

    token: str = PField(description="One-time token; shown only in this answer")
    accept_url: str = PField(
        description="POST here the token, an email and a password: "
        "/v1/auth/invitations/accept (a front end may show its own page instead)"
    )
    learner_key: str
    expires_at: datetime


class InvitationAccept(StrictInput):
    token: str = PField(min_length=1, max_length=200, description="The invitation's token")
    email: Email = PField(description="The new login name; unique regardless of case")
    password: Password = PField(description="At least 12 characters, not the email address")
