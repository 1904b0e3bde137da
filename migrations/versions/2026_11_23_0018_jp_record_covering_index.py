"""jp_record (learner_id, year, id) covers jp_halves on PostgreSQL (the compliance report)

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-23 01:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no INCLUDE; its index stays as it is
    op.drop_index("ix_jp_record_learner_year", table_name="jp_record")
    op.create_index(
        "ix_jp_record_learner_year",
        "jp_record",
        ["learner_id", "year", "id"],
        postgresql_include=["jp_halves"],
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_jp_record_learner_year", table_name="jp_record")
    op.create_index("ix_jp_record_learner_year", "jp_record", ["learner_id", "year", "id"])
