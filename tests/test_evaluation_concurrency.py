"""Parallel evaluations of one cohort against the real server end consistent: the cohort
row lock queues them, so each enrolment moves once (one history event) and a passed one
holds exactly one JP credit, whichever request won."""

from __future__ import annotations

from collections import Counter

import httpx
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from app.models.enrollment import EnrollmentEvent
from app.models.jp import JPRecord
from tests.factories_evaluation import add_session, attend, complete_all, make_evaluation
from tests.parallel import race

PARALLEL = 4


def test_concurrent_evaluations_end_consistent(
    live_server: str, session: Session, engine: Engine
) -> None:
    setup = make_evaluation(
        session, modules=[(10.0, "classroom", True, 100.0)], learners=12, max_absence_jp_halves=2
    )
    slot = add_session(session, setup, 2)
    for i, enrollment in enumerate(setup.enrollments):
        complete_all(session, setup, enrollment, "65" if i % 3 == 0 else "85")
        if i % 4 != 1:
            attend(session, setup, slot, enrollment, "present")
    session.rollback()  # release SQLite's write lock before the server writes
    url = f"{live_server}{setup.url}/evaluate"

    answers = race(PARALLEL, lambda http, _: http.post(url, headers=setup.admin))

    assert [a.status_code for a in answers] == [200] * PARALLEL, [a.text for a in answers]
    bodies = [a.json() for a in answers]
    outcomes = {
        tuple(sorted((i["enrollment_id"], i["outcome"]) for i in b["items"])) for b in bodies
    }
    assert len(outcomes) == 1  # every run judged alike
    assert sum(b["counts"]["changed"] for b in bodies) == 12  # each enrolment moved once
    passed = {i["enrollment_id"] for i in bodies[0]["items"] if i["outcome"] == "passed"}
    assert len(passed) == 6  # failed: i % 3 == 0 (score) or i % 4 == 1 (absence)
    ids = [e.id for e in setup.enrollments]
    with Session(engine) as reader:
        events = Counter(
            reader.exec(
                select(col(EnrollmentEvent.enrollment_id)).where(
                    col(EnrollmentEvent.enrollment_id).in_(ids)
                )
            ).all()
        )
        credited = reader.exec(
            select(col(JPRecord.enrollment_id), func.count())
            .where(col(JPRecord.enrollment_id).in_(ids))
            .group_by(col(JPRecord.enrollment_id))
        ).all()
    assert events == Counter(ids)
    assert dict(credited) == dict.fromkeys(passed, 1)
    with httpx.Client(base_url=live_server, headers=setup.admin) as http:
        again = http.post(f"{setup.url}/evaluate").json()
    assert again["counts"]["changed"] == 0
