"""oneroster_tombstone: what left a OneRoster collection without a row of its own;
learner_grant.granted_at

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-23 09:30:00

A OneRoster client syncing with ``dateLastModified>`` saw nothing when a learner of
another agency stopped being visible (the grant ended) or a home learner moved away, when
a user lost the instructor role without teaching, when xAPI voiding removed a progress
record, or when a draft cohort's curriculum was re-pinned (its lineItems). Those are now
kept in ``oneroster_tombstone`` (app/models/oneroster.py) and shown ``tobedeleted``. A
guest now appears with the grant's time (``granted_at``) as ``dateLastModified``, not the
learner's older one; grants made before this revision have none (the learner's stands in).
``ix_learner_grant_agency_granted`` finds an agency's grants made since a delta sync's date.

Backfill: the learners who moved away from a home agency, from the change log (a
``learner`` row whose home before the change, ``learner_agency_id``, is not the home
after it), for as long as the log kept them; the views show such a row only while the old
home does not see the learner. The other removals left nothing to backfill from (grants
are deleted, roles overwritten, removed progress records' log rows name no enrolment).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.base

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = (
    "INSERT INTO oneroster_tombstone (agency_id, kind, object_id, module_id, removed_at) "
    "SELECT c.learner_agency_id, 'student', c.resource_id, '', MAX(c.committed_at) "
    "FROM change c JOIN agency a ON a.id = c.learner_agency_id "
    "WHERE c.type = 'learner' AND c.agency_id IS NOT NULL "
    "AND c.learner_agency_id <> c.agency_id "
    "GROUP BY c.learner_agency_id, c.resource_id"
)


def upgrade() -> None:
    op.create_table(
        "oneroster_tombstone",
        sa.Column("agency_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("object_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("module_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("removed_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
        sa.PrimaryKeyConstraint("agency_id", "kind", "object_id", "module_id"),
    )
    with op.batch_alter_table("learner_grant") as batch:
        batch.add_column(
            sa.Column("granted_at", app.models.base.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_index("ix_learner_grant_agency_granted", "learner_grant", ["agency_id", "granted_at"])
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_index("ix_learner_grant_agency_granted", table_name="learner_grant")
    with op.batch_alter_table("learner_grant") as batch:
        batch.drop_column("granted_at")
    op.drop_table("oneroster_tombstone")
