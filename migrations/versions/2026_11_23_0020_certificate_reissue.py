"""certificate re-issue: one valid certificate per enrolment, successors linked both ways

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-23 03:00:00

``uq_certificate_enrollment`` (one certificate per enrolment, revoked or not) becomes the
partial unique index ``uq_certificate_enrollment_valid`` (one certificate per enrolment
whose ``revoked_at`` is null), on both engines, so a revoked certificate can be re-issued.
``replaces_id`` (unique) and ``replaced_by_id`` link a re-issue and the certificate it
replaces.

Data: revoking now withdraws the certificate's JP from the ledger; the credits of the
certificates revoked before this revision are withdrawn here, so the yearly totals and the
compliance report agree with the rule from the start (until now an enrolment had one
certificate at most, so a revoked certificate's enrolment has no valid one). A downgrade
does not credit them back: it restores the old constraint only, and fails if an enrolment
has more than one certificate by then.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VALID = "revoked_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("replaces_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True)
        )
        batch_op.add_column(
            sa.Column("replaced_by_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True)
        )
        batch_op.create_foreign_key(
            "fk_certificate_replaces_id_certificate", "certificate", ["replaces_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_certificate_replaced_by_id_certificate", "certificate", ["replaced_by_id"], ["id"]
        )
        batch_op.create_unique_constraint("uq_certificate_replaces", ["replaces_id"])
        batch_op.drop_constraint("uq_certificate_enrollment", type_="unique")
    op.create_index(
        "uq_certificate_enrollment_valid",
        "certificate",
        ["enrollment_id"],
        unique=True,
        sqlite_where=sa.text(VALID),
        postgresql_where=sa.text(VALID),
    )
    op.execute(
        "DELETE FROM jp_record WHERE enrollment_id IN "
        "(SELECT enrollment_id FROM certificate WHERE revoked_at IS NOT NULL)"
    )


def downgrade() -> None:
    op.drop_index("uq_certificate_enrollment_valid", table_name="certificate")
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_certificate_enrollment", ["enrollment_id"])
        batch_op.drop_constraint("uq_certificate_replaces", type_="unique")
        batch_op.drop_constraint("fk_certificate_replaced_by_id_certificate", type_="foreignkey")
        batch_op.drop_constraint("fk_certificate_replaces_id_certificate", type_="foreignkey")
        batch_op.drop_column("replaced_by_id")
        batch_op.drop_column("replaces_id")
