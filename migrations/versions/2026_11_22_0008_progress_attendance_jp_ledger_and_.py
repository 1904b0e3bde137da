"""progress, attendance, the JP ledger, enrolment outcomes, cohort certificates_issued_at

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 20:25:16.980298
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


import app.models.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attendance",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("cohort_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("session_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("enrollment_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "present",
                "late",
                "excused",
                "absent",
                name="attendancestatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("minutes_attended", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cohort_id"],
            ["cohort.id"],
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollment.id"],
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["cohort_session.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id", "enrollment_id", name="uq_attendance_session_enrollment"),
    )
    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attendance_cohort_id"), ["cohort_id"], unique=False)
        batch_op.create_index(
            "ix_attendance_enrollment", ["enrollment_id", "session_id"], unique=False
        )

    op.create_table(
        "jp_record",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("learner_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("jp_halves", sa.Integer(), nullable=False),
        sa.Column(
            "source",
            sa.Enum("course", "event", "external", name="jpsource", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("enrollment_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("course_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
        sa.Column("organiser", sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column(
            "certificate_number", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True
        ),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["course.id"],
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollment.id"],
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["learner.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("enrollment_id", name="uq_jp_record_enrollment"),
        sa.UniqueConstraint(
            "learner_id", "organiser", "certificate_number", name="uq_jp_record_external"
        ),
    )
    with op.batch_alter_table("jp_record", schema=None) as batch_op:
        batch_op.create_index(
            "ix_jp_record_learner_year", ["learner_id", "year", "id"], unique=False
        )
        batch_op.create_index("ix_jp_record_year_learner", ["year", "learner_id"], unique=False)

    op.create_table(
        "progress_record",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("enrollment_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("module_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "not_started",
                "in_progress",
                "completed",
                name="progressstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("score_centi", sa.Integer(), nullable=True),
        sa.Column("jp_earned_halves", sa.Integer(), nullable=False),
        sa.Column("time_spent_minutes", sa.Integer(), nullable=False),
        sa.Column("occurred_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollment.id"],
        ),
        sa.ForeignKeyConstraint(
            ["module_id"],
            ["curriculum_module.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("enrollment_id", "module_id", name="uq_progress_enrollment_module"),
    )
    with op.batch_alter_table("progress_record", schema=None) as batch_op:
        batch_op.create_index(
            "ix_progress_source_external", ["source", "external_id"], unique=False
        )

    with op.batch_alter_table("cohort", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "certificates_issued_at", app.models.base.UTCDateTime(timezone=True), nullable=True
            )
        )

    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("final_score_centi", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("grade", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True)
        )
        batch_op.add_column(sa.Column("absent_jp_halves", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("outcome_reasons", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("evaluated_at", app.models.base.UTCDateTime(timezone=True), nullable=True)
        )



def downgrade() -> None:
    with op.batch_alter_table("cohort", schema=None) as batch_op:
        batch_op.drop_column("certificates_issued_at")

    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.drop_column("evaluated_at")
        batch_op.drop_column("outcome_reasons")
        batch_op.drop_column("absent_jp_halves")
        batch_op.drop_column("grade")
        batch_op.drop_column("final_score_centi")

    with op.batch_alter_table("progress_record", schema=None) as batch_op:
        batch_op.drop_index("ix_progress_source_external")

    op.drop_table("progress_record")
    with op.batch_alter_table("jp_record", schema=None) as batch_op:
        batch_op.drop_index("ix_jp_record_year_learner")
        batch_op.drop_index("ix_jp_record_learner_year")

    op.drop_table("jp_record")
    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.drop_index("ix_attendance_enrollment")
        batch_op.drop_index(batch_op.f("ix_attendance_cohort_id"))

    op.drop_table("attendance")
