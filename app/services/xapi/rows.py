"""The statement lookups written as raw SQL (app/core/bulk.py writes the rows)."""

from __future__ import annotations

from sqlalchemy import Connection

from app.core.bulk import any_of


def stored_signatures(connection: Connection, agency_id: str, ids: list[str]) -> dict[str, str]:
    """Statement id -> stored signature, of those of ``ids`` the agency has stored."""
    dialect = connection.dialect.name
    wanted, values = any_of(dialect, "statement_id", ids)
    agency = "%s" if dialect == "postgresql" else "?"
    found = connection.exec_driver_sql(
        f"SELECT statement_id, signature FROM xapi_statement WHERE agency_id = {agency} AND "
        + wanted,
        (agency_id, *values),
    )
    return {r[0]: r[1] for r in found}
