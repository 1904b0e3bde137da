"""Integration clients (LMS platforms, HR systems): OAuth 2.0 client_credentials logins
of one agency with scopes, optional expiry, allowed IP ranges and a rate limit.

A client holds at most two live secrets (rotation: add the new one, switch, retire the
old). Secrets are 256-bit random strings shown once; only their SHA-256 is stored: they
cannot be guessed, so a slow hash (Argon2) would only slow the token endpoint down.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel
from pydantic import Field as PField
from pydantic_core import PydanticCustomError
from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.core import i18n
from app.models.base import UTCDateTime, created_at_field, id_field, updated_at_field
from app.models.types import (
    UNSET,
    AwareDateTime,
    Ident,
    SincePageQuery,
    StrictBool,
    StrictInput,
    integer,
    line,
)

MAX_LIVE_SECRETS = 2


class Scope(StrEnum):
    catalog_read = "catalog:read"
    catalog_write = "catalog:write"
    learners_read = "learners:read"
    learners_write = "learners:write"
    enrollments_read = "enrollments:read"
    enrollments_write = "enrollments:write"
    progress_read = "progress:read"
    progress_write = "progress:write"
    certificates_read = "certificates:read"
    certificates_write = "certificates:write"
    webhooks_manage = "webhooks:manage"
    # xAPI's own scope names (xAPI 2.0 Communication 4.2), for /xapi/statements
    xapi_statements_read = "statements/read"
    xapi_statements_write = "statements/write"
    # IMS OneRoster 1.2 (app/routers/oneroster.py): the binding's own scope names
    or_roster = "https://purl.imsglobal.org/spec/or/v1p2/scope/roster.readonly"
    or_roster_core = "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly"
    or_gradebook_read = "https://purl.imsglobal.org/spec/or/v1p2/scope/gradebook.readonly"
    or_gradebook_write = "https://purl.imsglobal.org/spec/or/v1p2/scope/gradebook.createput"


SCOPE_DESCRIPTIONS: dict[str, str] = {
    "catalog:read": "Read courses, curricula, cohorts and sessions (drafts of your agency too)",
    "catalog:write": "Create and change courses, curricula, cohorts and sessions",
    "learners:read": "Read learners and their JP ledger",
    "learners:write": "Create and change learners and their external JP records",
    "enrollments:read": "Read enrolments and roster exports",
    "enrollments:write": "Enrol, change enrolments, upload enrolment files",
    "progress:read": "Read progress, attendance, evaluation results and JP reports",
    "progress:write": "Record progress and attendance",
    "certificates:read": "Read certificates",
    "certificates:write": "Evaluate cohorts, issue and revoke certificates",
    "webhooks:manage": "Manage webhook subscriptions",
    "statements/read": "xAPI: read the agency's statements (GET /xapi/statements)",
    "statements/write": "xAPI: send statements (POST/PUT /xapi/statements); progress verbs "
    "on modules update progress",
    Scope.or_roster: "OneRoster 1.2: every rostering read (orgs, academic sessions, courses, "
    "classes, users, enrollments)",
    Scope.or_roster_core: "OneRoster 1.2: the core rostering reads (the same collections)",
    Scope.or_gradebook_read: "OneRoster 1.2: read line items, results and categories",
    Scope.or_gradebook_write: "OneRoster 1.2: PUT results (they become progress records)",
}


class Client(SQLModel, table=True):
    __tablename__ = "integration_client"

    # The public client_id too (``cli_...``): it names the client in logs and tokens (sub).
    id: str = id_field("cli")
    agency_id: str = Field(foreign_key="agency.id", index=True, max_length=40)
    name: str = Field(max_length=200)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    allowed_ranges: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rate_limit_per_minute: int | None = Field(default=None)
    disabled: bool = False
    version: int = 1
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class ClientSecret(SQLModel, table=True):
    __tablename__ = "integration_client_secret"

    id: str = id_field("sec")
    client_id: str = Field(foreign_key="integration_client.id", index=True, max_length=40)
    secret_hash: str = Field(max_length=64, unique=True)
    hint: str = Field(max_length=12, description="The secret's first characters")
    created_at: datetime = created_at_field()


# --- API schemas --------------------------------------------------------------------


i18n.FIELD_MESSAGES.setdefault(
    "cidr_format",
    (
        "Write an IP range in CIDR form, such as 10.1.0.0/16 or 2001:db8::/32.",
        "Tulis rentang IP dalam bentuk CIDR, seperti 10.1.0.0/16 atau 2001:db8::/32.",
    ),
)


def _cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise PydanticCustomError(
            "cidr_format", "Write an IP range in CIDR form, such as 10.1.0.0/16 or 2001:db8::/32"
        ) from None


def _unique(value: list[str]) -> list[str]:
    return sorted(set(value))


Cidr = Annotated[
    str,
    PField(min_length=2, max_length=43, pattern=r"^[0-9A-Fa-f:./]+$"),
    AfterValidator(_cidr),
]
Ranges = Annotated[list[Cidr], PField(max_length=20), AfterValidator(_unique)]
Scopes = Annotated[
    list[Scope], PField(min_length=1, max_length=len(Scope)), AfterValidator(_unique)
]
ClientName = Annotated[str, line(min_length=1, max_length=200)]
RatePerMinute = Annotated[
    int, integer(ge=1, le=100_000, description="Requests a minute; null: the server default")
]


class ClientCreate(StrictInput):
    name: ClientName = PField(description="What the integration is, e.g. 'ASN Berpijar sync'")
    scopes: Scopes = PField(description="What its tokens may do")
    expires_at: AwareDateTime | None = PField(
        default=None, description="After this instant no token is issued and none works"
    )
    allowed_ranges: Ranges = PField(
        default_factory=list,
        description="IP ranges (CIDR) tokens may be requested and used from; empty: anywhere",
    )
    rate_limit_per_minute: RatePerMinute | None = None
    agency_id: Ident | None = PField(
        default=None,
        description="Defaults to the caller's agency; only platform admins set another",
    )


class ClientUpdate(StrictInput):
    """Only the fields sent change."""

    name: ClientName = PField(default=UNSET)
    scopes: Scopes = PField(default=UNSET)
    allowed_ranges: Ranges = PField(default=UNSET)
    expires_at: AwareDateTime | None = PField(default=UNSET)
    rate_limit_per_minute: RatePerMinute | None = PField(default=UNSET)
    disabled: StrictBool = PField(
        default=UNSET, description="true: no new tokens, and issued ones stop working"
    )


class SecretPublic(BaseModel):
    id: str
    hint: str = PField(description="The secret's first characters, to tell them apart")
    created_at: datetime


class ClientPublic(BaseModel):
    client_id: str
    agency_id: str
    name: str
    scopes: list[str]
    allowed_ranges: list[str]
    expires_at: datetime | None
    rate_limit_per_minute: int | None
    disabled: bool
    secrets: list[SecretPublic]
    version: int
    created_at: datetime
    updated_at: datetime


class ClientCreated(ClientPublic):
    client_secret: str = PField(description="Shown once: store it now")


class SecretCreated(SecretPublic):
    client_id: str
    client_secret: str = PField(description="Shown once: store it now")


class ClientPage(BaseModel):
    items: list[ClientPublic]
    next_cursor: str | None


class ClientQuery(SincePageQuery):
    agency_id: Ident | None = PField(default=None, description="Platform admins: one agency's")
