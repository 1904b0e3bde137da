"""jp_record: a withdrawn credit is kept (withdrawn_at, withdrawn_reason), not deleted

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-23 06:00:00

A credit taken back (its certificate revoked, its outcome or attendance changed) was
deleted, so a client syncing ``/v1/learners/{key}/jp-records`` with ``updated_since`` never
learnt it was gone. From here it stays, with ``withdrawn_at`` and ``withdrawn_reason``, and
counts in no total. ``uq_jp_record_enrollment`` (one credit per enrolment) becomes the
partial unique index ``uq_jp_record_enrollment_live`` (one credit per enrolment whose
``withdrawn_at`` is null), so a re-issued certificate's credit sits beside the revoked one's.
On PostgreSQL the covering index ``ix_jp_record_learner_year`` also includes
``withdrawn_at``: the compliance report filters on it and keeps its index-only scans.

Data: none to move. The credits withdrawn before this revision (and those of certificates
revoked before 0020, which 0020 deleted) are gone with their ids; nothing here can tell a
client about them (the change feed's ``certificate.revoked`` entries do, for revocations).
A downgrade deletes the withdrawn records (the old schema had none) and restores the
constraint.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.models.base import UTCDateTime

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "withdrawn_at IS NULL"


def _covering(include: list[str]) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no INCLUDE; its index stays as it is
    op.drop_index("ix_jp_record_learner_year", table_name="jp_record")
    op.create_index(
        "ix_jp_record_learner_year",
        "jp_record",
        ["learner_id", "year", "id"],
        postgresql_include=include,
    )


def upgrade() -> None:
    with op.batch_alter_table("jp_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withdrawn_at", UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "withdrawn_reason",
                sa.Enum(
                    "certificate_revoked",
                    "outcome_changed",
                    "attendance_changed",
                    name="jpwithdrawal",
                    native_enum=False,
                    length=32,
                ),
                nullable=True,
            )
        )
        batch_op.drop_constraint("uq_jp_record_enrollment", type_="unique")
    op.create_index(
        "uq_jp_record_enrollment_live",
        "jp_record",
        ["enrollment_id"],
        unique=True,
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )
    _covering(["jp_halves", "withdrawn_at"])


def downgrade() -> None:
    op.execute("DELETE FROM jp_record WHERE withdrawn_at IS NOT NULL")
    _covering(["jp_halves"])
    op.drop_index("uq_jp_record_enrollment_live", table_name="jp_record")
    with op.batch_alter_table("jp_record", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_jp_record_enrollment", ["enrollment_id"])
        batch_op.drop_column("withdrawn_reason")
        batch_op.drop_column("withdrawn_at")
