"""The indexes the statement ingest and its lists rely on (migration 0023) are the ones
the queries use, on both engines: an ``mbox`` actor is found through ``lower(email)``'s
index, not by reading every learner, and the unmatched list and the registration filter
read their partial indexes (which hold only the rows they list)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlmodel import Session

from app.services.xapi import progress_match, query
from tests.factories import make_agency


@contextmanager
def _captured(session: Session) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []
    engine = session.get_bind()

    def keep(_c: Any, _cur: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", keep)


def _plan(session: Session, run: Callable[[], object]) -> str:
    """The plan of the one query ``run`` sends (PostgreSQL: with sequential scans priced
    out, so a small table shows whether an index can serve the query at all)."""
    with _captured(session) as seen:
        run()
    (sql, parameters), *_ = [q for q in seen if q[0].lstrip().upper().startswith("SELECT")]
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        rows = connection.exec_driver_sql("EXPLAIN " + sql, parameters).all()
        return "\n".join(r[0] for r in rows)
    rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, parameters).all()
    return "\n".join(str(r[-1]) for r in rows)


def test_an_mbox_actor_is_looked_up_through_the_lower_email_index(session: Session) -> None:
    plan = _plan(
        session,
        lambda: progress_match.learners(session, {"mbox:budi@example.go.id"}),
    )
    assert "ix_learner_email_lower" in plan, plan


def test_the_unmatched_list_reads_its_partial_index(session: Session) -> None:
    agency = make_agency(session)
    session.commit()
    plan = _plan(session, lambda: query.unmatched(session, agency.id, limit=10, cursor=None))
    assert "ix_xapi_statement_agency_unmatched" in plan, plan


def test_the_registration_filter_reads_its_partial_index(session: Session) -> None:
    agency = make_agency(session)
    session.commit()
    wanted = query.Query(registration="0b5d5b4e-6b7e-4f4c-9d0e-5a1f2c3d4e5f")
    plan = _plan(session, lambda: query.page(session, agency.id, wanted))
    assert "ix_xapi_statement_agency_registration" in plan, plan
