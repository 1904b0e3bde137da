"""webhooks: subscriptions, deliveries, attempts, fan-out; change.event and change.public

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-22 23:13:39
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.base

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('webhook_fanout',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('webhook_subscription',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('agency_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('event_types', sa.JSON(), nullable=False),
    sa.Column('secret', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('disabled_reason', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('disabled_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('start_seq', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('webhook_subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_subscription_agency_id'), ['agency_id'], unique=False)

    op.create_table('webhook_delivery',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('subscription_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('agency_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('event_type', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('change_seq', sa.BigInteger(), nullable=True),
    sa.Column('resource_type', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('resource_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_owner', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('lease_expires_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_attempt_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['subscription_id'], ['webhook_subscription.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subscription_id', 'change_seq', name='uq_webhook_delivery_change')
    )
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_delivery_due', ['next_attempt_at'], unique=False)
        batch_op.create_index('ix_webhook_delivery_subscription', ['subscription_id', 'id'], unique=False)

    op.create_table('webhook_attempt',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('delivery_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('started_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('latency_ms', sa.Integer(), nullable=False),
    sa.Column('response_body', sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('worker', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.ForeignKeyConstraint(['delivery_id'], ['webhook_delivery.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('webhook_attempt', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_attempt_delivery', ['delivery_id', 'number'], unique=False)

    with op.batch_alter_table('change', schema=None) as batch_op:
        batch_op.add_column(sa.Column('event', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.add_column(sa.Column('public', sa.Boolean(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('change', schema=None) as batch_op:
        batch_op.drop_column('public')
        batch_op.drop_column('event')

    with op.batch_alter_table('webhook_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_attempt_delivery')

    op.drop_table('webhook_attempt')
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_delivery_subscription')
        batch_op.drop_index('ix_webhook_delivery_due')

    op.drop_table('webhook_delivery')
    with op.batch_alter_table('webhook_subscription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_subscription_agency_id'))

    op.drop_table('webhook_subscription')
    op.drop_table('webhook_fanout')
