"""jp_record: a deleted external record is kept, withdrawn with reason ``deleted``

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-23 09:00:00

``DELETE /v1/learners/{key}/jp-records/{id}`` removed the row, so a client syncing a
learner's records with ``updated_since`` (or following the change feed) never learnt it was
gone. From here the row stays, withdrawn (``withdrawn_at`` set, ``withdrawn_reason``
``deleted``; the column is a plain string, so the new value needs no schema change).

A deleted record must not hold its certificate: the same organiser and certificate number
may be recorded again. So ``uq_jp_record_external`` (one record per learner, organiser and
certificate number) becomes the partial unique index ``uq_jp_record_external_kept`` over
the records not deleted. Records withdrawn for other reasons (a revoked certificate's credit)
still hold their number, as before.

Data: none to move; records deleted before this revision are gone with their ids. A
downgrade deletes the deleted records (the old schema removed them) and restores the
constraint.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOT_DELETED = "withdrawn_reason IS NULL OR withdrawn_reason <> 'deleted'"
COLUMNS = ["learner_id", "organiser", "certificate_number"]


def upgrade() -> None:
    with op.batch_alter_table("jp_record", schema=None) as batch_op:
        batch_op.drop_constraint("uq_jp_record_external", type_="unique")
    op.create_index(
        "uq_jp_record_external_kept",
        "jp_record",
        COLUMNS,
        unique=True,
        sqlite_where=sa.text(NOT_DELETED),
        postgresql_where=sa.text(NOT_DELETED),
    )


def downgrade() -> None:
    op.execute("DELETE FROM jp_record WHERE withdrawn_reason = 'deleted'")
    op.drop_index("uq_jp_record_external_kept", table_name="jp_record")
    with op.batch_alter_table("jp_record", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_jp_record_external", COLUMNS)
