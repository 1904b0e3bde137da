"""learner_grant: the agencies that see another agency's learner through an enrolment

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-23 00:00:00

Backfilled from the existing enrolments: the cohort's organiser and the course's partner
agencies of every enrolment, where that agency is not the learner's home (the same pairs
app/services/learning/grants.py keeps from now on).
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the partner agency ids of a course, one row each: a JSON array on both engines
_PARTNERS = {
    'postgresql': 'json_array_elements_text(c.partner_agency_ids) AS p(value)',
    'sqlite': 'json_each(c.partner_agency_ids) AS p',
}


def backfill_sql(dialect: str) -> str:
    """The pairs of every existing enrolment (tests/test_learner_grants.py runs it too)."""
    return (
        'INSERT INTO learner_grant (agency_id, learner_id) '
        'SELECT g.agency_id, g.learner_id FROM ('
        ' SELECT e.agency_id AS agency_id, e.learner_id AS learner_id FROM enrollment e'
        ' UNION'
        ' SELECT p.value AS agency_id, e.learner_id AS learner_id FROM enrollment e'
        f' JOIN course c ON c.id = e.course_id CROSS JOIN {_PARTNERS[dialect]}'
        ') g JOIN learner l ON l.id = g.learner_id '
        'WHERE g.agency_id <> l.agency_id AND g.agency_id IN (SELECT id FROM agency)'
    )


def upgrade() -> None:
    op.create_table('learner_grant',
    sa.Column('agency_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('learner_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], ),
    sa.ForeignKeyConstraint(['learner_id'], ['learner.id'], ),
    sa.PrimaryKeyConstraint('agency_id', 'learner_id')
    )
    op.create_index('ix_learner_grant_learner_id', 'learner_grant', ['learner_id'], unique=False)
    op.execute(backfill_sql(op.get_bind().dialect.name))


def downgrade() -> None:
    op.drop_index('ix_learner_grant_learner_id', table_name='learner_grant')
    op.drop_table('learner_grant')
