"""certificates, their numbering and signing keys, course certificate_number_pattern

Courses get certificate_number_pattern (server default: the default pattern); their stored
public JSON shows it after `bangkom rebuild-docs`.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 20:36:00.229131
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


import app.models.base

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('certificate_key',
    sa.Column('kid', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('algorithm', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('public_jwk', sa.JSON(), nullable=False),
    sa.Column('private_pem', sa.Text(), nullable=True),
    sa.Column('generated', sa.Boolean(), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('kid')
    )
    op.create_table('certificate_sequence',
    sa.Column('agency_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], ),
    sa.PrimaryKeyConstraint('agency_id', 'year')
    )
    op.create_table('certificate',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('enrollment_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('learner_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('cohort_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('course_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('agency_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('verification_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('holder_name', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('holder_id_kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    sa.Column('holder_id_number', sqlmodel.sql.sqltypes.AutoString(length=18), nullable=True),
    sa.Column('holder_rank', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('holder_position', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('holder_agency_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('course_title', sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
    sa.Column('course_code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('course_kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('cohort_name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('cohort_year', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('place', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('jp_halves', sa.Integer(), nullable=False),
    sa.Column('score_centi', sa.Integer(), nullable=True),
    sa.Column('grade', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('issuer_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('verification_url', sqlmodel.sql.sqltypes.AutoString(length=600), nullable=False),
    sa.Column('jws', sa.Text(), nullable=False),
    sa.Column('kid', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('issued_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoke_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('revoked_by', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], ),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohort.id'], ),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], ),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollment.id'], ),
    sa.ForeignKeyConstraint(['learner_id'], ['learner.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('agency_id', 'number', name='uq_certificate_agency_number'),
    sa.UniqueConstraint('enrollment_id', name='uq_certificate_enrollment'),
    sa.UniqueConstraint('verification_code', name='uq_certificate_verification_code')
    )
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.create_index('ix_certificate_cohort', ['cohort_id', 'id'], unique=False)
        batch_op.create_index('ix_certificate_learner', ['learner_id', 'id'], unique=False)

    with op.batch_alter_table('course', schema=None) as batch_op:
        batch_op.add_column(sa.Column('certificate_number_pattern', sqlmodel.sql.sqltypes.AutoString(length=120), server_default='{seq:04d}/{course_code}/{cohort_roman}/{year}', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('course', schema=None) as batch_op:
        batch_op.drop_column('certificate_number_pattern')

    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_index('ix_certificate_learner')
        batch_op.drop_index('ix_certificate_cohort')

    op.drop_table('certificate')
    op.drop_table('certificate_sequence')
    op.drop_table('certificate_key')
