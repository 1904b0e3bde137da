"""xAPI statements as the LRS keeps them (app/services/xapi/).

Each agency is its own LRS: a statement id is unique within an agency (the partition of
the client or person that sent it). Statements are immutable: the row is written once;
only ``voided`` changes, when a voiding statement names it. ``body`` is the statement
as the LRS returns it (with ``stored``, ``authority``, ``version``, ``timestamp``).

``xapi_statement_ref`` indexes the agents and activities of a statement for the query
parameters ``agent`` and ``activity`` (``direct``: actor/object; the rest only with
``related_agents``/``related_activities``), so a filtered page is an index range, not a
scan of the bodies. The ``authority`` (the same agent for every statement a client or
person sends) is not a reference row of each statement but the statement's ``authority``
column (its index key), and ``xapi_authority`` lists once which keys are authorities, so
``agent`` with ``related_agents`` adds the column's term only for an authority's key
(migration 0026: one reference row a statement fewer, ~10,000 rows per 10,000 statements).

What a stored statement costs is mostly its index entries (bench/xapi_statements.py): the
columns most statements leave empty (``registration``, ``target``) and ``unmatched`` (false
for most) are indexed only where set (partial indexes, which a filter on them uses), and
the reference rows are keyed by their lookup (no serial id, no second index): five index
entries a statement and one a reference, instead of eight and three (migration 0023).

What a statement did to progress: ``enrollment_id``/``module_id`` when it addressed a
module of an enrolment, ``progress`` the outcome of the write (created, updated,
unchanged, stale), and ``unmatched`` with ``note`` when a progress verb on a module
found no learner, module or enrolment, or the progress rules refused it: such
statements are kept and listed (GET /v1/xapi/unmatched), never dropped.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from pydantic import Field as PField
from sqlalchemy import Index, LargeBinary, PrimaryKeyConstraint, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.core.pagination import PageQuery
from app.models.base import UTCDateTime, id_field

HAS_REGISTRATION = "registration IS NOT NULL"
HAS_TARGET = "target IS NOT NULL"
UNMATCHED = {"sqlite": "unmatched IS 1", "postgresql": "unmatched IS true"}


class XapiStatement(SQLModel, table=True):
    __tablename__ = "xapi_statement"
    __table_args__ = (
        UniqueConstraint("agency_id", "statement_id", name="uq_xapi_statement_agency_id"),
        Index("ix_xapi_statement_agency_stored", "agency_id", "stored", "id"),
        Index("ix_xapi_statement_agency_verb", "agency_id", "verb_id", "stored"),
        Index(
            "ix_xapi_statement_agency_registration",
            "agency_id",
            "registration",
            "stored",
            sqlite_where=text(HAS_REGISTRATION),
            postgresql_where=text(HAS_REGISTRATION),
        ),
        # GET /v1/xapi/unmatched filters with this very term (SQLite uses a partial index
        # only for a query term written as in its WHERE)
        Index(
            "ix_xapi_statement_agency_unmatched",
            "agency_id",
            "id",
            sqlite_where=text(UNMATCHED["sqlite"]),
            postgresql_where=text(UNMATCHED["postgresql"]),
        ),
        Index("ix_xapi_statement_progress", "enrollment_id", "module_id"),
        Index(
            "ix_xapi_statement_agency_target",
            "agency_id",
            "target",
            sqlite_where=text(HAS_TARGET),
            postgresql_where=text(HAS_TARGET),
        ),
    )

    # time-ordered (models.base.new_id): with ``stored`` the stable order of every list
    id: str = id_field("xst")
    agency_id: str = Field(foreign_key="agency.id", max_length=40)
    statement_id: str = Field(max_length=36)
    verb_id: str = Field(max_length=600)
    registration: str | None = Field(default=None, max_length=36)
    timestamp: datetime = Field(sa_type=UTCDateTime, nullable=False)
    stored: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # the statement this one voids (its verb is .../voided)
    voids: str | None = Field(default=None, max_length=36)
    # the statement its object refers to (a StatementRef): filters also return statements
    # that refer to a statement they match (xAPI Communication 2.1.3, StatementRefs)
    target: str | None = Field(default=None, max_length=36)
    voided: bool = False
    body: str = Field(sa_type=Text)
    # the exact statement sent (without what the LRS sets), to compare a resend with
    signature: str = Field(max_length=64)
    enrollment_id: str | None = Field(default=None, max_length=40)
    module_id: str | None = Field(default=None, max_length=40)
    progress: str | None = Field(default=None, max_length=16)
    unmatched: bool = False
    note: str | None = Field(default=None, max_length=40)
    learner_ref: str | None = Field(default=None, max_length=400)
    # the index key of ``authority`` (app/services/xapi/refs.py); null only on a statement
    # stored before migration 0026 whose body it could not be read from
    authority: str | None = Field(default=None, max_length=600)


class XapiAuthority(SQLModel, table=True):
    """The agents that are the ``authority`` of some statement of an agency, by index key:
    written once per batch (a conflict is nothing), read before ``agent`` with
    ``related_agents`` to know whether the ``authority`` column can match at all."""

    __tablename__ = "xapi_authority"
    __table_args__ = (
        PrimaryKeyConstraint("agency_id", "key", name="pk_xapi_authority"),
        {"sqlite_with_rowid": False},
    )

    agency_id: str = Field(foreign_key="agency.id", max_length=40)
    key: str = Field(max_length=600)


class XapiStatementRef(SQLModel, table=True):
    __tablename__ = "xapi_statement_ref"
    # the lookup is the key: statements naming an agent or activity are one index range.
    # On SQLite a WITHOUT ROWID table: the key is the table, one B-tree instead of two.
    # No foreign key to xapi_statement: the rows are written with their statement, in the
    # same INSERT on PostgreSQL, and statements are never deleted; the key's check cost a
    # lookup of the statement per row (PostgreSQL: 30,000 rows in 1.06 s with it, 0.35 s
    # without, ~24 us a row: for 10,000 statements about the progress batch's whole server
    # time; migration 0026).
    __table_args__ = (
        PrimaryKeyConstraint(
            "agency_id", "kind", "value", "statement_pk", name="pk_xapi_statement_ref"
        ),
        {"sqlite_with_rowid": False},
    )

    statement_pk: str = Field(max_length=40)
    agency_id: str = Field(max_length=40)
    kind: str = Field(max_length=8)  # agent | activity
    value: str = Field(max_length=600)
    direct: bool = False


class XapiAttachment(SQLModel, table=True):
    """Attachment content sent in a multipart/mixed request, once per agency and SHA-256
    (statements name it by ``sha2``; many may share one)."""

    __tablename__ = "xapi_attachment"
    __table_args__ = (UniqueConstraint("agency_id", "sha2", name="uq_xapi_attachment_sha2"),)

    id: int | None = Field(default=None, primary_key=True)
    agency_id: str = Field(foreign_key="agency.id", max_length=40)
    sha2: str = Field(max_length=128)
    content_type: str = Field(max_length=255)
    content: bytes = Field(sa_type=LargeBinary)


class XapiDocument(SQLModel, table=True):
    """A document of the xAPI document resources (Communication 2.2): a State (activity,
    agent, registration), an Activity Profile or an Agent Profile document, kept per agency
    as the bytes and Content-Type it was sent with.

    ``scope`` is the SHA-256 of the document's context (kind, activity IRI, agent key,
    registration) and ``key`` of the context plus the document id: both fixed-length, so
    the unique key and the lookup index stay small whatever the length of an IRI or id.
    ``etag`` is the SHA-1 of the content (Communication 3.1, as 1.0.3 requires it).
    """

    __tablename__ = "xapi_document"
    __table_args__ = (
        UniqueConstraint("agency_id", "key", name="uq_xapi_document_key"),
        # ids of one context (GET without stateId/profileId, ``since``; DELETE of all state)
        Index("ix_xapi_document_scope", "agency_id", "scope", "updated"),
    )

    id: int | None = Field(default=None, primary_key=True)
    agency_id: str = Field(foreign_key="agency.id", max_length=40)
    kind: str = Field(max_length=8)  # state | activity | agent
    scope: str = Field(max_length=64)
    key: str = Field(max_length=64)
    activity_id: str | None = Field(default=None, sa_type=Text)
    agent: str | None = Field(default=None, sa_type=Text)  # the agent's index key
    registration: str | None = Field(default=None, max_length=36)
    document_id: str = Field(sa_type=Text)
    content_type: str = Field(max_length=255)
    content: bytes = Field(sa_type=LargeBinary)
    etag: str = Field(max_length=40)
    updated: datetime = Field(sa_type=UTCDateTime, nullable=False)


# --- Bangkom's own view of the statements that did not land as progress ----------------


class UnmatchedQuery(PageQuery):
    """The unmatched statements of the caller's agency, newest first."""


class UnmatchedStatement(BaseModel):
    statement_id: str
    stored: datetime
    timestamp: datetime
    verb: str
    activity: str | None = PField(description="The object's activity id, if an activity")
    learner: str | None = PField(description="The actor as read: account NIP or mbox")
    reason: str = PField(
        description="learner_unknown, module_unknown, not_enrolled, or the progress rule "
        "that refused it (enrollment_not_active, cohort_final, certificates_issued, ...)"
    )
    voided: bool
