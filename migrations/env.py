"""Alembic environment: the URL comes from Bangkom's settings, the target from its models."""

from __future__ import annotations

import warnings

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.exc import SAWarning
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers every table)
from app.core.config import get_settings
from app.core.db import build_engine
from app.core.migrations import on_dialect

target_metadata = SQLModel.metadata

# On SQLite a batch migration copies its table and reflects the tables its foreign keys
# name, learner among them; SQLAlchemy cannot reflect learner's expression index
# lower(email) (0023) and warned on every fresh database. Learner is never copied, so it
# keeps the index (tests/test_xapi_ingest_plans.py reads it in a plan on both engines).
warnings.filterwarnings(
    "ignore",
    "Skipped unsupported reflection of expression-based index ix_learner_email_lower",
    SAWarning,
)


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=True,
        include_object=on_dialect(connection.dialect.name),
    )


def run_migrations_offline() -> None:
    context.configure(
        url=get_settings().database_url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = build_engine(get_settings())
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
