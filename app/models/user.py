"""People who log in, their refresh tokens, and the login attempts that throttle abuse."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, created_at_field, id_field, updated_at_field


class Role(StrEnum):
    platform_admin = "platform_admin"
    agency_admin = "agency_admin"
    instructor = "instructor"
    viewer = "viewer"


class User(SQLModel, table=True):
    id: str = id_field("usr")
    agency_id: str = Field(foreign_key="agency.id", index=True, max_length=40)
    email: str = Field(max_length=254, description="As the user typed it")
    email_normalized: str = Field(max_length=254, unique=True, index=True)
    full_name: str = Field(max_length=200)
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    is_active: bool = True
    password_hash: str = Field(max_length=255)
    password_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class RefreshToken(SQLModel, table=True):
    """Opaque refresh token, stored as a SHA-256 hash. Single use; reuse kills the family."""

    __tablename__ = "refresh_token"

    id: str = id_field("rft")
    token_hash: str = Field(max_length=64, unique=True, index=True)
    family_id: str = Field(max_length=40, index=True)
    user_id: str = Field(foreign_key="user.id", index=True, max_length=40)
    agency_id: str = Field(foreign_key="agency.id", max_length=40)
    scope: str = Field(default="", max_length=1000)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()


class LoginAttempt(SQLModel, table=True):
    """Failed logins, kept in the database so limits hold across workers and restarts."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_account_time", "email_normalized", "created_at"),
        Index("ix_login_attempt_address_time", "address", "created_at"),
    )

    id: str = id_field("lga")
    email_normalized: str = Field(max_length=254)
    address: str = Field(max_length=64)
    created_at: datetime = created_at_field()
