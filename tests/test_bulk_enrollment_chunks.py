"""Bulk enrolment decides and writes its rows a chunk at a time (memory), in one
transaction: a row rejected in a late chunk still leaves nothing written in
all_or_nothing mode (no enrolment, seat, history, change-log entry or grant), and seats
and the waitlist run on across chunk boundaries as one-by-one enrolment gives them."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, func, select
from starlette.testclient import TestClient

from app.models import Change, Enrollment, EnrollmentEvent, LearnerGrant
from app.services.learning import bulk_enrollment
from tests.test_bulk_enrollment import CSV, World, _csv, _world


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk_enrollment, "WRITE_CHUNK", 2)


def _written(session: Session, w: World) -> tuple[int, int, int, int]:
    """(enrolments, history events, enrolment change-log entries, grants) of the cohort."""
    session.rollback()
    cohort = w.cohort["id"]
    ids = select(Enrollment.id).where(col(Enrollment.cohort_id) == cohort)
    found = (
        session.exec(select(func.count()).select_from(ids.subquery())).one(),
        session.exec(select(func.count()).where(col(EnrollmentEvent.enrollment_id).in_(ids))).one(),
        session.exec(
            select(func.count()).where(
                col(Change.type) == "enrollment", col(Change.course_id) == w.cohort["course_id"]
            )
        ).one(),
        session.exec(
            select(func.count()).where(col(LearnerGrant.agency_id) == w.cohort["agency_id"])
        ).one(),
    )
    session.rollback()  # release SQLite's write lock before the next request writes
    return tuple(int(n) for n in found)  # type: ignore[return-value]


def test_a_row_rejected_in_the_last_chunk_leaves_nothing_of_the_earlier_chunks(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session, 6, capacity=10)
    body = _csv(["nip", *w.keys, "198001012019011999"])  # 7 rows: chunks of 2, 2, 2, 1
    refused = client.post(w.url, content=body, headers=w.organiser | CSV)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["written"] is False
    assert [r["outcome"] for r in problem["rows"]] == ["created"] * 6 + ["rejected"]
    assert _written(session, w) == (0, 0, 0, 0)
    cohort = client.get(f"/v1/cohorts/{w.cohort['id']}", headers=w.organiser).json()
    assert cohort["seats_taken"] == 0
    made = client.post(w.url, content=_csv(["nip", *w.keys]), headers=w.organiser | CSV)
    assert made.status_code == 201, made.text
    assert _written(session, w) == (6, 6, 6, 6)  # learners of another agency: granted


def test_seats_and_waitlist_run_on_across_chunks_and_partial_writes_every_good_chunk(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session, 7, capacity=3, waitlist_enabled=True)
    rows = [w.keys[0], w.keys[1], "12345", w.keys[2], w.keys[0], *w.keys[3:]]
    made = client.post(
        f"{w.url}?mode=partial", content=_csv(["nip", *rows]), headers=w.organiser | CSV
    )
    assert made.status_code == 201, made.text
    answer = made.json()
    assert [r["outcome"] for r in answer["rows"]] == [
        "created", "created", "rejected", "created", "rejected",
        "waitlisted", "waitlisted", "waitlisted", "waitlisted",
    ]  # fmt: skip
    assert answer["rows"][4]["errors"][0]["type"] == "duplicate_row"
    assert _written(session, w) == (7, 7, 7, 7)
    cohort = client.get(f"/v1/cohorts/{w.cohort['id']}", headers=w.organiser).json()
    assert (cohort["seats_taken"], cohort["waitlist_length"]) == (3, 4)
    last = answer["rows"][-1]["enrollment_id"]
    one = client.get(f"/v1/enrollments/{last}", headers=w.organiser).json()
    assert one["status"] == "waitlisted" and one["waitlist_position"] == 4
