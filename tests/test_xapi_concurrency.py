"""Parallel statement requests against the real server: the same statements sent at once
are stored once and answered 200 every time (a resend is not a conflict), and statements
racing on one module leave the newest as the module's progress."""

from __future__ import annotations

import httpx
from sqlmodel import Session, col, func, select
from starlette.testclient import TestClient

from app.models.xapi import XapiStatement
from tests.parallel import race
from tests.xapi_helpers import make_lrs, progress_of, statement

SENDERS = 8


def test_the_same_statements_sent_at_once_are_stored_once(
    client: TestClient, session: Session, live_server: str
) -> None:
    lrs = make_lrs(client, session, learners=2)
    batch = [
        statement(key, "completed", module)
        for key in lrs.setup.keys
        for module in (lrs.setup.assessed, lrs.setup.unassessed)
    ]

    def send(http: httpx.Client, _i: int) -> httpx.Response:
        return http.post(f"{live_server}/xapi/statements", json=batch, headers=lrs.basic)

    answers = race(SENDERS, send)
    assert {a.status_code for a in answers} == {200}, [a.text for a in answers]
    assert all(a.json() == [s["id"] for s in batch] for a in answers)
    count = session.exec(select(func.count()).select_from(XapiStatement)).one()
    assert count == len(batch)
    for index in range(2):
        modules = progress_of(client, lrs, index)
        assert {modules[m]["version"] for m in (lrs.setup.assessed, lrs.setup.unassessed)} == {1}


def test_statements_racing_on_one_module_leave_the_newest(
    client: TestClient, session: Session, live_server: str
) -> None:
    lrs = make_lrs(client, session, learners=1)
    key, module = lrs.setup.keys[0], lrs.setup.unassessed
    sent = [
        statement(key, "progressed", module, at=f"2025-05-15T{n:02d}:00:00Z")
        for n in range(SENDERS)
    ]

    def send(http: httpx.Client, i: int) -> httpx.Response:
        return http.post(f"{live_server}/xapi/statements", json=sent[i], headers=lrs.basic)

    answers = race(SENDERS, send)
    assert {a.status_code for a in answers} == {200}, [a.text for a in answers]
    assert progress_of(client, lrs)[module]["external_id"] == sent[-1]["id"]
    outcomes = session.exec(
        select(XapiStatement.progress).where(col(XapiStatement.unmatched).is_(False))
    ).all()
    assert sorted(o or "" for o in outcomes).count("created") == 1
