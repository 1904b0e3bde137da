"""cohort_teacher: the (cohort, instructor) pairs of the sessions, kept when removed;
the change log's delete rows indexed per agency (OneRoster's tombstones of deleted courses)

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-23 06:00:00

OneRoster's teacher enrollments (``teach-<cohort>.<user>``) were derived from
``cohort_session_instructor`` alone, so an instructor taken off a cohort's last session
left no row, and a delta sync (``dateLastModified>``) never saw the removal. The pairs are
now kept in ``cohort_teacher`` with ``removed_at`` (app/services/oneroster/teaching.py).
Backfilled from the current sessions: every pair taught now, active, last modified when
the latest of its sessions was (what its ``dateLastModified`` was until now). Removals
before this revision left nothing to backfill from.

``ix_change_deletes`` (partial: ``op = 'delete'``) lets the OneRoster courses collection
list the agency's deleted courses as ``tobedeleted`` from the change log without walking it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.base

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = (
    "INSERT INTO cohort_teacher (cohort_id, user_id, agency_id, removed_at, created_at, "
    "updated_at) "
    "SELECT s.cohort_id, i.user_id, s.agency_id, NULL, MIN(s.created_at), MAX(s.updated_at) "
    "FROM cohort_session_instructor i JOIN cohort_session s ON s.id = i.session_id "
    "GROUP BY s.cohort_id, i.user_id, s.agency_id"
)


def upgrade() -> None:
    op.create_table(
        "cohort_teacher",
        sa.Column("cohort_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("agency_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("removed_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
        sa.ForeignKeyConstraint(["cohort_id"], ["cohort.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("cohort_id", "user_id"),
    )
    op.create_index(
        "ix_cohort_teacher_agency_user", "cohort_teacher", ["agency_id", "user_id"], unique=False
    )
    op.execute(BACKFILL)
    op.create_index(
        "ix_change_deletes",
        "change",
        ["agency_id", "type", "resource_id"],
        unique=False,
        postgresql_where=sa.text("op = 'delete'"),
        sqlite_where=sa.text("op = 'delete'"),
    )


def downgrade() -> None:
    op.drop_index("ix_change_deletes", table_name="change")
    op.drop_index("ix_cohort_teacher_agency_user", table_name="cohort_teacher")
    op.drop_table("cohort_teacher")
