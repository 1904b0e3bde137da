"""xapi authority as a column: no reference row per statement; references without a key

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-23 09:30:00

The ``authority`` of a statement (the client or person that sent it: the same agent for
every statement they send) was one of each statement's reference rows. It becomes the
statement's ``authority`` column (its index key) and a row of ``xapi_authority``, written
once per agency and key, which ``agent`` with ``related_agents`` reads first so that the
column is looked at only for an authority's key. ``xapi_statement_ref`` loses its foreign
key to ``xapi_statement`` (a lookup of the statement per reference row written; statements
are never deleted and their references are written with them) and, on SQLite, becomes a
WITHOUT ROWID table (its key is the table: one B-tree per row instead of two).

Data: each stored statement's ``authority`` is read from its body and the authorities are
listed in ``xapi_authority``. The reference rows older statements have for their authority
stay: they name an agent the statement names, so every query answers the same with them.
A downgrade writes the authority reference row of every statement (where missing).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 1000
REF_COLUMNS = "statement_pk, agency_id, kind, value, direct"


def _ref_table_sqlite(with_rowid: bool, foreign_key: bool) -> None:
    """SQLite: xapi_statement_ref rebuilt (its rows copied) with or without rowid and key."""
    reference = ", FOREIGN KEY(statement_pk) REFERENCES xapi_statement (id)" if foreign_key else ""
    op.execute(
        "CREATE TABLE _xapi_statement_ref_new (statement_pk VARCHAR(40) NOT NULL, "
        "agency_id VARCHAR(40) NOT NULL, kind VARCHAR(8) NOT NULL, value VARCHAR(600) NOT NULL, "
        "direct BOOLEAN NOT NULL, CONSTRAINT pk_xapi_statement_ref PRIMARY KEY "
        f"(agency_id, kind, value, statement_pk){reference})"
        + ("" if with_rowid else " WITHOUT ROWID")
    )
    op.execute(
        f"INSERT INTO _xapi_statement_ref_new ({REF_COLUMNS}) "
        f"SELECT {REF_COLUMNS} FROM xapi_statement_ref"
    )
    op.execute("DROP TABLE xapi_statement_ref")
    op.execute("ALTER TABLE _xapi_statement_ref_new RENAME TO xapi_statement_ref")


# --- the index key of an agent, as app/services/xapi/refs.py made it at this revision ---


def _agent_key(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    if "mbox" in value:
        key = "mbox:" + value["mbox"]
    elif "mbox_sha1sum" in value:
        key = "sha1:" + value["mbox_sha1sum"].lower()
    elif "openid" in value:
        key = "openid:" + value["openid"]
    elif isinstance(value.get("account"), dict):
        key = "account:" + value["account"]["homePage"] + "|" + value["account"]["name"]
    else:
        return None
    if "\x00" not in key and (len(key) <= 128 or len(key.encode()) <= 512):
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _statements(connection: sa.Connection) -> Iterator[list[tuple[str, str, str]]]:
    """(id, agency, body) of the stored statements, a chunk at a time in id order."""
    after = ""
    while True:
        rows = connection.execute(
            sa.text(
                "SELECT id, agency_id, body FROM xapi_statement WHERE id > :after "
                "ORDER BY id LIMIT :n"
            ),
            {"after": after, "n": CHUNK},
        ).all()
        if not rows:
            return
        yield [(r[0], r[1], r[2]) for r in rows]
        after = rows[-1][0]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.add_column("xapi_statement", sa.Column("authority", sa.String(length=600), nullable=True))
    op.create_table(
        "xapi_authority",
        sa.Column("agency_id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=600), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
        sa.PrimaryKeyConstraint("agency_id", "key", name="pk_xapi_authority"),
        sqlite_with_rowid=False,
    )
    connection = op.get_bind()
    authorities: set[tuple[str, str]] = set()
    for chunk in _statements(connection):
        keys = []
        for ident, agency_id, body in chunk:
            try:
                key = _agent_key(json.loads(body).get("authority"))
            except (ValueError, AttributeError, KeyError, TypeError):
                key = None
            if key is not None:
                keys.append({"id": ident, "key": key})
                authorities.add((agency_id, key))
        if keys:
            connection.execute(
                sa.text("UPDATE xapi_statement SET authority = :key WHERE id = :id"), keys
            )
    if authorities:
        connection.execute(
            sa.text("INSERT INTO xapi_authority (agency_id, key) VALUES (:agency_id, :key)"),
            [{"agency_id": a, "key": k} for a, k in sorted(authorities)],
        )
    if dialect == "postgresql":
        op.execute(
            "ALTER TABLE xapi_statement_ref DROP CONSTRAINT xapi_statement_ref_statement_pk_fkey"
        )
    else:
        _ref_table_sqlite(with_rowid=False, foreign_key=False)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.execute(
        f"INSERT INTO xapi_statement_ref ({REF_COLUMNS}) "
        "SELECT id, agency_id, 'agent', authority, false FROM xapi_statement "
        "WHERE authority IS NOT NULL "
        "ON CONFLICT (agency_id, kind, value, statement_pk) DO NOTHING"
    )
    op.drop_table("xapi_authority")
    # before the reference rows' key to xapi_statement is back (SQLite rebuilds the table)
    with op.batch_alter_table("xapi_statement") as batch_op:
        batch_op.drop_column("authority")
    if dialect == "postgresql":
        op.create_foreign_key(
            "xapi_statement_ref_statement_pk_fkey",
            "xapi_statement_ref",
            "xapi_statement",
            ["statement_pk"],
            ["id"],
        )
    else:
        _ref_table_sqlite(with_rowid=True, foreign_key=True)
