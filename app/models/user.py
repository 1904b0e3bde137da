"""People who log in, their refresh tokens, and the login attempts that throttle abuse."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, model_validator
from pydantic import Field as PField
from pydantic_core import PydanticCustomError
from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, created_at_field, id_field, updated_at_field
from app.models.types import UNSET, Ident, SincePageQuery, StrictBool, StrictInput, line


class Role(StrEnum):
    platform_admin = "platform_admin"
    agency_admin = "agency_admin"
    instructor = "instructor"
    viewer = "viewer"
    # A learner's own login, bound to one learner record (``User.learner_id``); the only
    # role such an account has. See app/services/learning/learner_accounts.py.
    learner = "learner"


class User(SQLModel, table=True):
    id: str = id_field("usr")
    agency_id: str = Field(foreign_key="agency.id", index=True, max_length=40)
    # Set for learner logins only: one login per learner. The account's agency_id follows
    # the learner's home agency (also on transfer).
    learner_id: str | None = Field(
        default=None, foreign_key="learner.id", unique=True, index=True, max_length=40
    )
    email: str = Field(max_length=254, description="As the user typed it")
    email_normalized: str = Field(max_length=254, unique=True, index=True)
    full_name: str = Field(max_length=200)
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    is_active: bool = True
    password_hash: str = Field(max_length=255)
    password_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Carried in every access token as ``gen``; bumped when the password changes, which
    # ends every token issued before, whatever the clock says (see app/services/auth.py).
    token_generation: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
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


# --- API schemas --------------------------------------------------------------

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def password_problem(password: str, email: str) -> str | None:
    """Why ``password`` breaks the policy for the account ``email`` (None when it is fine)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must have at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"must have at most {MAX_PASSWORD_LENGTH} characters"
    lowered = password.strip().lower()
    email = normalize_email(email)
    if lowered in {email, email.split("@")[0]}:
        return "must not be the email address"
    return None


def _valid_email(value: str) -> str:
    value = value.strip()
    if not _EMAIL.match(value):
        raise PydanticCustomError(
            "email_format", "Write an email address such as nama@instansi.go.id"
        )
    return value


def _valid_roles(value: list[Role]) -> list[Role]:
    return sorted(set(value), key=list(Role).index)


Email = Annotated[
    str,
    PField(max_length=254, json_schema_extra={"format": "email"}),
    AfterValidator(_valid_email),
]
Roles = Annotated[list[Role], PField(min_length=1, max_length=4), AfterValidator(_valid_roles)]
Password = Annotated[str, PField(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)]


class UserCreate(StrictInput):
    email: Email = PField(description="Login name; unique regardless of case")
    full_name: str = line(
        min_length=1, max_length=200, description="As written, titles included: 'Dr. Siti, M.Si.'"
    )
    roles: Roles = PField(description="At least one role")
    password: Password = PField(description="At least 12 characters, not the email address")
    agency_id: Ident | None = PField(
        default=None,
        description="Defaults to the caller's agency; only platform admins set another. "
        "Left out for learner logins (their agency is the learner's home agency)",
    )
    learner_key: str | None = PField(
        default=None,
        min_length=1,
        max_length=140,
        pattern=r"^[A-Za-z0-9 .:_-]+$",
        description='With roles ["learner"] (and only then): the learner this login belongs '
        "to, by NIP, pppk:<NI PPPK> or ext:<agency-slug>:<external_ref>",
    )

    @model_validator(mode="after")
    def _password_policy(self) -> UserCreate:
        if password_problem(self.password, self.email):
            raise PydanticCustomError(
                "password_is_email", "Choose a password that is not the email address"
            )
        return self


class UserUpdate(StrictInput):
    """Only the fields sent change."""

    full_name: str = line(min_length=1, max_length=200, default=None)
    roles: Roles = PField(default=UNSET)
    is_active: StrictBool = PField(
        default=UNSET, description="false disables the account and revokes its refresh tokens"
    )


class PasswordChange(StrictInput):
    current_password: str | None = PField(
        default=None,
        max_length=MAX_PASSWORD_LENGTH,
        description="Required when changing your own password",
    )
    new_password: Password


class UserPublic(SQLModel):
    id: str
    agency_id: str
    email: str
    full_name: str
    roles: list[str]
    is_active: bool
    created_at: datetime
    updated_at: datetime
    learner_id: str | None = Field(
        default=None, description="The learner this login belongs to (learner logins only)"
    )


class UserPage(SQLModel):
    items: list[UserPublic]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )


class TokenResponse(SQLModel):
    """RFC 6749 §5.1 access token response."""

    access_token: str
    token_type: str = Field(default="bearer", description="Always 'bearer'")
    expires_in: int = Field(description="Lifetime of the access token in seconds")
    refresh_token: str | None = Field(
        default=None,
        description="Opaque, single use; exchange it at the token endpoint. "
        "Left out for client_credentials",
    )
    scope: str = Field(
        default="",
        description="Space-separated scopes granted. Empty for people, whose rights come "
        "from roles",
    )


class UserQuery(SincePageQuery):
    """Page of the user list, optionally one agency's (platform admins)."""

    agency_id: Ident | None = None
