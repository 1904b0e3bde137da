"""Parallel attendance writes against the real server: the event credit counts every
session, and one record per learner and session whatever the interleaving."""

from __future__ import annotations

import httpx
from sqlmodel import Session, col, select

from app.models.attendance import Attendance
from app.models.jp import JPRecord
from tests.factories_attendance import add_session, attendance_setup
from tests.parallel import race


def test_parallel_writes_of_one_learner_credit_every_session_once(
    live_server: str, session: Session
) -> None:
    with httpx.Client(base_url=live_server, timeout=30) as http:
        ctx = attendance_setup(
            http, session, learners={"budi": {"name": "Budi Santoso"}}, kind="seminar", total_jp=8
        )
        cohort_id = ctx["cohort"]["id"]
        urls = [ctx["url"]]
        for day in (15, 16, 19):
            item = add_session(
                http,
                ctx["headers"],
                cohort_id,
                f"2025-05-{day}T08:00:00+07:00",
                f"2025-05-{day}T09:40:00+07:00",
            )
            urls.append(f"/v1/cohorts/{cohort_id}/sessions/{item['id']}/attendance")
    budi = ctx["enrollments"]["budi"]["id"]
    # four sessions at once, then the same session eight times at once
    answers = race(
        4,
        lambda h, i: h.put(
            f"{live_server}{urls[i]}/{budi}", json={"status": "present"}, headers=ctx["headers"]
        ),
    )
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    answers = race(
        8,
        lambda h, i: h.put(
            f"{live_server}{urls[0]}/{budi}",
            json={"status": "late" if i % 2 else "present"},
            headers=ctx["headers"],
        ),
    )
    assert [a.status_code for a in answers] == [200] * 8, [a.text for a in answers]
    credit = session.exec(
        select(JPRecord.jp_halves).where(col(JPRecord.enrollment_id) == budi)
    ).all()
    records = session.exec(
        select(Attendance.version).where(
            col(Attendance.enrollment_id) == budi,
            col(Attendance.session_id) == ctx["session"]["id"],
        )
    ).all()
    session.rollback()
    assert credit == [16]  # 4 sessions x 2 JP, each counted once
    assert records == [9]  # one record, every write applied in turn
