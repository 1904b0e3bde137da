"""enrollments: learners in cohorts, their history, the cohort's seat counters

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 19:05:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.base

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUS = ('proposed', 'verified', 'active', 'waitlisted', 'withdrawn')


def upgrade() -> None:
    with op.batch_alter_table('cohort') as batch:
        batch.add_column(sa.Column('waitlist_enabled', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('seats_taken', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('waitlist_length', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('waitlist_seq', sa.Integer(), nullable=False, server_default='0'))
    op.create_table('enrollment',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('cohort_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('course_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('agency_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('learner_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('status', sa.Enum(*_STATUS, name='enrollmentstatus', native_enum=False, length=32), nullable=False),
    sa.Column('queue_no', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], ),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohort.id'], ),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], ),
    sa.ForeignKeyConstraint(['learner_id'], ['learner.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('cohort_id', 'learner_id', name='uq_enrollment_cohort_learner')
    )
    op.create_index('ix_enrollment_cohort_id', 'enrollment', ['cohort_id', 'id'], unique=False)
    op.create_index('ix_enrollment_cohort_queue', 'enrollment', ['cohort_id', 'status', 'queue_no'], unique=False)
    op.create_index('ix_enrollment_learner_id', 'enrollment', ['learner_id', 'id'], unique=False)
    op.create_table('enrollment_event',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('enrollment_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('from_status', sa.Enum(*_STATUS, name='enrollmentstatus', native_enum=False, length=32), nullable=True),
    sa.Column('to_status', sa.Enum(*_STATUS, name='enrollmentstatus', native_enum=False, length=32), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('actor_user_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('actor_agency_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollment.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('enrollment_id', 'seq', name='uq_enrollment_event_seq')
    )


def downgrade() -> None:
    op.drop_table('enrollment_event')
    op.drop_index('ix_enrollment_learner_id', table_name='enrollment')
    op.drop_index('ix_enrollment_cohort_queue', table_name='enrollment')
    op.drop_index('ix_enrollment_cohort_id', table_name='enrollment')
    op.drop_table('enrollment')
    with op.batch_alter_table('cohort') as batch:
        batch.drop_column('waitlist_seq')
        batch.drop_column('waitlist_length')
        batch.drop_column('seats_taken')
        batch.drop_column('waitlist_enabled')
