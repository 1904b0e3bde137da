"""xapi lean indexes: fewer index entries per stored statement; learners by e-mail

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-23 06:00:00

Storing a statement cost eight index entries, and each of its agent and activity
references a row with three (a serial id, ``statement_pk`` and the lookup) and a sequence
call. Measured in bench/xapi_statements.py, those entries were most of PostgreSQL's work
per statement, beyond the progress write itself:

- ``xapi_statement``: the registration and target indexes hold only the rows that have
  one (``IS NOT NULL``; most statements have neither) and the unmatched index only the
  unmatched rows (as ``(agency_id, id)``, the order of GET /v1/xapi/unmatched);
- ``xapi_statement_ref``: keyed by its lookup (agency, kind, value, statement); the serial
  ``id`` and the ``statement_pk`` index go (statements are immutable and never deleted, so
  nothing looks references up by statement);
- ``learner``: ``lower(email)``, so an ``mbox`` actor is matched by an index, not a scan
  of every learner.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HAS_REGISTRATION = "registration IS NOT NULL"
HAS_TARGET = "target IS NOT NULL"
UNMATCHED = {"sqlite": "unmatched IS 1", "postgresql": "unmatched IS true"}


def _partial(name: str, columns: list[str], where: str | dict[str, str]) -> None:
    where = where if isinstance(where, dict) else {"sqlite": where, "postgresql": where}
    op.create_index(
        name,
        "xapi_statement",
        columns,
        unique=False,
        sqlite_where=sa.text(where["sqlite"]),
        postgresql_where=sa.text(where["postgresql"]),
    )


def upgrade() -> None:
    op.drop_index("ix_xapi_statement_agency_registration", table_name="xapi_statement")
    op.drop_index("ix_xapi_statement_agency_target", table_name="xapi_statement")
    op.drop_index("ix_xapi_statement_agency_unmatched", table_name="xapi_statement")
    _partial(
        "ix_xapi_statement_agency_registration",
        ["agency_id", "registration", "stored"],
        HAS_REGISTRATION,
    )
    _partial("ix_xapi_statement_agency_target", ["agency_id", "target"], HAS_TARGET)
    _partial("ix_xapi_statement_agency_unmatched", ["agency_id", "id"], UNMATCHED)
    op.drop_index("ix_xapi_ref_lookup", table_name="xapi_statement_ref")
    op.drop_index("ix_xapi_statement_ref_statement_pk", table_name="xapi_statement_ref")
    with op.batch_alter_table("xapi_statement_ref", recreate="auto") as batch_op:
        batch_op.drop_column("id")
        batch_op.create_primary_key(
            "pk_xapi_statement_ref", ["agency_id", "kind", "value", "statement_pk"]
        )
    op.create_index("ix_learner_email_lower", "learner", [sa.text("lower(email)")])


def downgrade() -> None:
    op.drop_index("ix_learner_email_lower", table_name="learner")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE xapi_statement_ref DROP CONSTRAINT pk_xapi_statement_ref")
        op.execute("ALTER TABLE xapi_statement_ref ADD COLUMN id SERIAL PRIMARY KEY")
    else:
        with op.batch_alter_table("xapi_statement_ref", recreate="always") as batch_op:
            batch_op.drop_constraint("pk_xapi_statement_ref", type_="primary")
            batch_op.add_column(sa.Column("id", sa.Integer(), nullable=False))
            batch_op.create_primary_key("xapi_statement_ref_pkey", ["id"])
    op.create_index(
        "ix_xapi_statement_ref_statement_pk", "xapi_statement_ref", ["statement_pk"], unique=False
    )
    op.create_index(
        "ix_xapi_ref_lookup",
        "xapi_statement_ref",
        ["agency_id", "kind", "value", "statement_pk"],
        unique=False,
    )
    for name in (
        "ix_xapi_statement_agency_unmatched",
        "ix_xapi_statement_agency_target",
        "ix_xapi_statement_agency_registration",
    ):
        op.drop_index(name, table_name="xapi_statement")
    op.create_index(
        "ix_xapi_statement_agency_unmatched",
        "xapi_statement",
        ["agency_id", "unmatched", "id"],
        unique=False,
    )
    op.create_index(
        "ix_xapi_statement_agency_target", "xapi_statement", ["agency_id", "target"], unique=False
    )
    op.create_index(
        "ix_xapi_statement_agency_registration",
        "xapi_statement",
        ["agency_id", "registration", "stored"],
        unique=False,
    )
