"""course changes notify channel bangkom_course (PostgreSQL)

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-23 18:10:00

Each worker keeps a copy of the course rows it reads (app/services/course_cache.py) and
drops a row when PostgreSQL says it changed. The trigger makes every change say so,
whoever writes it (the service, ``bangkom rebuild-docs``, a hand-written UPDATE): an
UPDATE or DELETE notifies the course's id, a TRUNCATE an empty payload (everything).
Notifications are sent at commit, and not at all on rollback. SQLite keeps no copy.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION bangkom_course_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'TRUNCATE' THEN
                PERFORM pg_notify('bangkom_course', '');
            ELSE
                PERFORM pg_notify('bangkom_course', OLD.id);
            END IF;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER course_changed AFTER UPDATE OR DELETE ON course "
        "FOR EACH ROW EXECUTE FUNCTION bangkom_course_changed()"
    )
    op.execute(
        "CREATE TRIGGER course_truncated AFTER TRUNCATE ON course "
        "FOR EACH STATEMENT EXECUTE FUNCTION bangkom_course_changed()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER course_truncated ON course")
    op.execute("DROP TRIGGER course_changed ON course")
    op.execute("DROP FUNCTION bangkom_course_changed()")
