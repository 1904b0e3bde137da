"""self-enrolment: course.self_enrollment, enrollment.self_enrolled; learner search index

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 21:00:00.000000

On PostgreSQL the learner list's ``q`` (a substring of the casefolded name and key in
``learner.search``) is served by a pg_trgm GIN index; pg_trgm ships with the server
(Debian's postgresql package) and is a trusted extension since PostgreSQL 13.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('course') as batch:
        batch.add_column(
            sa.Column('self_enrollment', sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table('enrollment') as batch:
        batch.add_column(
            sa.Column('self_enrolled', sa.Boolean(), nullable=False, server_default=sa.false())
        )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        op.create_index(
            'ix_learner_search_trgm', 'learner', ['search'], unique=False,
            postgresql_using='gin', postgresql_ops={'search': 'gin_trgm_ops'},
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_learner_search_trgm', table_name='learner')
    with op.batch_alter_table('enrollment') as batch:
        batch.drop_column('self_enrolled')
    with op.batch_alter_table('course') as batch:
        batch.drop_column('self_enrollment')
