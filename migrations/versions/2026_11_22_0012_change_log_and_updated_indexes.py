"""change log (change, change_counter) and (updated_at, id) indexes for updated_since

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22 21:55:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.base

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UPDATED = ('course', 'cohort', 'learner', 'enrollment')


def upgrade() -> None:
    op.create_table('change',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('resource_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('op', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('agency_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('learner_agency_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('course_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('learner_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('committed_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_index('ix_change_committed_at', 'change', ['committed_at'], unique=False)
    op.create_table('change_counter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.execute("INSERT INTO change_counter (id, last_seq) VALUES (1, 0)")
    for table in _UPDATED:
        op.create_index(f'ix_{table}_updated_at_id', table, ['updated_at', 'id'], unique=False)


def downgrade() -> None:
    for table in _UPDATED:
        op.drop_index(f'ix_{table}_updated_at_id', table_name=table)
    op.drop_table('change_counter')
    op.drop_index('ix_change_committed_at', table_name='change')
    op.drop_table('change')
