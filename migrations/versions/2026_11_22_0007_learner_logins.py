"""learner logins: user.learner_id (one login per learner) and learner invitations

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 19:05:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.base

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('learner_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True)
        )
        batch_op.create_index(batch_op.f('ix_user_learner_id'), ['learner_id'], unique=True)
        batch_op.create_foreign_key('fk_user_learner_id_learner', 'learner', ['learner_id'], ['id'])
    op.create_table(
        'learner_invitation',
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('learner_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('expires_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['created_by'], ['user.id'], ),
        sa.ForeignKeyConstraint(['learner_id'], ['learner.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('learner_invitation', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_learner_invitation_learner_id'), ['learner_id'], unique=False
        )
        batch_op.create_index(
            batch_op.f('ix_learner_invitation_token_hash'), ['token_hash'], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table('learner_invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_learner_invitation_token_hash'))
        batch_op.drop_index(batch_op.f('ix_learner_invitation_learner_id'))
    op.drop_table('learner_invitation')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint('fk_user_learner_id_learner', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_user_learner_id'))
        batch_op.drop_column('learner_id')
