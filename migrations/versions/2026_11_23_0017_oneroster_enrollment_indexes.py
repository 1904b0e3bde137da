"""enrollment indexes for the OneRoster views: (agency_id, id) and (agency_id, learner_id)

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-22 23:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_enrollment_agency_id", "enrollment", ["agency_id", "id"], unique=False)
    op.create_index(
        "ix_enrollment_agency_learner", "enrollment", ["agency_id", "learner_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_enrollment_agency_learner", table_name="enrollment")
    op.drop_index("ix_enrollment_agency_id", table_name="enrollment")
