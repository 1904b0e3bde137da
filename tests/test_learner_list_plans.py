"""PostgreSQL plans of the learner list: a page from a cursor through the "enrolled with
me" branch (learner_grant) runs without parallel workers. At 1,000,000 learners the
planner chose a Gather Merge over 2 workers for it: 25-36 ms of worker start-up for a
0.25 ms index walk (app/services/learning/learners.serial_plans)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlmodel import Session, select

from app.core.pagination import encode_cursor
from app.core.security import Principal
from app.models import Learner, LearnerGrant
from app.services.learning.learners import list_learners
from app.services.visibility import learner_list_branches, who
from tests.factories import make_agency, make_learner_row

# Parallel plans made free: the planner then picks one wherever it may.
FREE_WORKERS = (
    "parallel_setup_cost = 0",
    "parallel_tuple_cost = 0",
    "min_parallel_index_scan_size = 0",
    "min_parallel_table_scan_size = 0",
)


def test_an_organisers_deep_learner_page_is_planned_without_parallel_workers(
    session: Session,
) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("parallel plans are PostgreSQL's")
    organiser, home = make_agency(session), make_agency(session)
    learners = [make_learner_row(session, home, i) for i in range(60)]
    session.flush()
    for learner in learners:
        session.add(LearnerGrant(agency_id=organiser.id, learner_id=learner.id))
    session.commit()
    principal = Principal(
        subject="usr_plan", agency_id=organiser.id, roles=frozenset({"agency_admin"})
    )
    ordered = sorted(learner.id for learner in learners)
    granted, keys = learner_list_branches(select(Learner), who(principal), organiser.id)[1]
    deep = granted.where(*(k > ordered[10] for k in keys)).order_by(keys[0]).limit(51)
    sql = str(deep.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))

    def plan() -> str:
        return "\n".join(session.execute(text(f"EXPLAIN {sql}")).scalars())

    session.execute(text("ANALYZE learner, learner_grant"))
    for setting in FREE_WORKERS:
        session.execute(text(f"SET LOCAL {setting}"))
    assert "Gather" in plan()  # the test can see the plan it guards against
    session.expire_all()  # read the rows back as the service would
    items, _ = list_learners(
        session=session, principal=principal, agency=None, asn_type=None,
        position_type=None, rank=None, q=None,
        cursor=encode_cursor("id", None, ordered[10]), limit=50,
    )  # fmt: skip
    assert [i.id for i in items] == ordered[11:]
    assert "Gather" not in plan()  # the list's transaction plans that branch serially
    session.rollback()
