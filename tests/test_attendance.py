"""Attendance: reading a session's list, recording one or many, who may, and when."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from app.models.jp import JPRecord
from tests.factories import auth_headers, make_agency, make_learner_login, make_user
from tests.factories_attendance import add_session, attendance_setup

TWO = {"budi": {"name": "Budi Santoso"}, "siti": {"name": "Siti Aminah"}}


def _put(client: TestClient, ctx: dict[str, Any], who: str, headers: Any = None, **body: Any):
    enrollment = ctx["enrollments"][who]["id"]
    return client.put(f"{ctx['url']}/{enrollment}", json=body, headers=headers or ctx["headers"])


def test_list_shows_seated_learners_with_their_record_or_none(
    client: TestClient, session: Session
) -> None:
    ctx = attendance_setup(client, session, learners=TWO)
    put = _put(client, ctx, "budi", status="present")
    assert put.status_code == 200, put.text
    assert put.json()["minutes_attended"] == 100  # the whole 100-minute session by default
    assert put.headers["ETag"]
    listed = client.get(ctx["url"], headers=ctx["headers"], params={"limit": 1})
    assert listed.status_code == 200, listed.text
    assert 'rel="next"' in listed.headers["Link"]
    rest = client.get(
        ctx["url"], headers=ctx["headers"], params={"cursor": listed.json()["next_cursor"]}
    )
    items = {i["learner_name"]: i for i in listed.json()["items"] + rest.json()["items"]}
    assert items["Budi Santoso"]["status"] == "present"
    assert items["Budi Santoso"]["source"] == "manual"
    assert items["Siti Aminah"]["status"] is None and items["Siti Aminah"]["version"] is None


def test_put_updates_the_record_and_if_match_guards_it(
    client: TestClient, session: Session
) -> None:
    ctx = attendance_setup(client, session, learners=TWO)
    first = _put(client, ctx, "siti", status="late", minutes_attended=70)
    assert first.json()["minutes_attended"] == 70 and first.json()["version"] == 1
    again = client.put(
        f"{ctx['url']}/{ctx['enrollments']['siti']['id']}",
        json={"status": "excused"},
        headers={**ctx["headers"], "If-Match": first.headers["ETag"]},
    )
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "excused" and again.json()["minutes_attended"] == 0
    stale = client.put(
        f"{ctx['url']}/{ctx['enrollments']['siti']['id']}",
        json={"status": "absent"},
        headers={**ctx["headers"], "If-Match": first.headers["ETag"]},
    )
    assert stale.status_code == 412


def test_minutes_longer_than_the_session_are_refused(client: TestClient, session: Session) -> None:
    ctx = attendance_setup(client, session, learners=TWO)
    r = _put(client, ctx, "budi", status="present", minutes_attended=101)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "minutes_attended"]
    r_id = client.put(
        f"{ctx['url']}/{ctx['enrollments']['budi']['id']}",
        json={"status": "present", "minutes_attended": 101},
        headers={**ctx["headers"], "Accept-Language": "id"},
    )
    assert "paling banyak 100" in r_id.json()["detail"]


def test_session_instructor_records_but_an_instructor_of_another_session_may_not(
    client: TestClient, session: Session
) -> None:
    ctx = attendance_setup(client, session, learners=TWO)
    assert _put(client, ctx, "budi", ctx["teacher"], status="present").status_code == 200
    # the other instructor teaches a later session of the same cohort, not this one
    add_session(
        client,
        ctx["headers"],
        ctx["cohort"]["id"],
        "2025-05-15T08:00:00+07:00",
        "2025-05-15T09:40:00+07:00",
        instructor_ids=[ctx["other_teacher_id"]],
    )
    refused = _put(client, ctx, "budi", ctx["other_teacher"], status="absent")
    assert refused.status_code == 403
    # reading is open to the organiser's members
    assert client.get(ctx["url"], headers=ctx["other_teacher"]).status_code == 200
    listed = client.get(ctx["url"], headers=ctx["headers"]).json()["items"]
    assert {i["status"] for i in listed} == {"present", None}


def test_another_agency_gets_404_for_reads_and_writes(client: TestClient, session: Session) -> None:
    ctx = attendance_setup(client, session, learners=TWO)
    stranger = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    assert client.get(ctx["url"], headers=stranger).status_code == 404
    assert _put(client, ctx, "budi", stranger, status="present").status_code == 404
    bulk = client.put(
        ctx["url"],
        json={"items": [{"enrollment_id": ctx["enrollments"]["budi"]["id"], "status": "present"}]},
        headers=stranger,
    )
    assert bulk.status_code == 404


def test_bulk_is_all_or_nothing(client: TestClient, session: Session) -> None:
    ctx = attendance_setup(client, session, learners=TWO)
    budi, siti = ctx["enrollments"]["budi"]["id"], ctx["enrollments"]["siti"]["id"]
    bad = client.post(
        ctx["url"],
        json={
            "items": [
                {"enrollment_id": budi, "status": "present"},
                {"enrollment_id": siti, "status": "late", "minutes_attended": 500},
                {"enrollment_id": "enr_missing", "status": "absent"},
            ]
        },
        headers=ctx["headers"],
    )
    assert bad.status_code == 422, bad.text
    body = bad.json()
    assert body["code"] == "attendance_rejected"
    assert [bool(r["errors"]) for r in body["rows"]] == [False, True, True]
    assert body["rows"][2]["errors"][0]["type"] == "enrollment_not_found"
    listed = client.get(ctx["url"], headers=ctx["headers"]).json()["items"]
    assert {i["status"] for i in listed} == {None}  # nothing written
    good = client.put(
        ctx["url"],
        json={
            "items": [
                {"enrollment_id": budi, "status": "present"},
                {"enrollment_id": siti, "status": "late", "minutes_attended": 80},
            ]
        },
        headers=ctx["headers"],
    )
    assert good.status_code == 200, good.text
    assert good.json()["written"] == 2
    listed = client.get(ctx["url"], headers=ctx["headers"]).json()["items"]
    assert sorted((i["status"], i["minutes_attended"]) for i in listed) == [
        ("late", 80),
        ("present", 100),
    ]


def test_withdrawn_enrolments_are_not_recorded_nor_listed(
    client: TestClient, session: Session
) -> None:
    ctx = attendance_setup(client, session, learners=TWO)
    siti = ctx["enrollments"]["siti"]["id"]
    moved = client.post(
        f"/v1/enrollments/{siti}/transitions",
        json={"to": "withdrawn", "reason": "Sakit"},
        headers=ctx["headers"],
    )
    assert moved.status_code == 200, moved.text
    r = _put(client, ctx, "siti", status="present")
    assert r.status_code == 409 and r.json()["code"] == "enrollment_not_seated"
    listed = client.get(ctx["url"], headers=ctx["headers"]).json()["items"]
    assert [i["learner_name"] for i in listed] == ["Budi Santoso"]


def test_attendance_before_the_session_starts_is_409(client: TestClient, session: Session) -> None:
    ctx = attendance_setup(client, session, learners=TWO, year=2099)
    r = _put(client, ctx, "budi", status="present")
    assert r.status_code == 409 and r.json()["code"] == "session_not_started"


def _credit(session: Session, enrollment_id: str) -> tuple[int, str, int] | None:
    """The enrolment's ledger credit (JP halves, source, year), read without keeping the
    test session's write lock."""
    found = session.exec(
        select(JPRecord.jp_halves, JPRecord.source, JPRecord.year).where(
            col(JPRecord.enrollment_id) == enrollment_id,
            col(JPRecord.withdrawn_at).is_(None),  # a withdrawn credit is kept, not counted
        )
    ).first()
    session.rollback()
    return (found[0], str(found[1]), found[2]) if found else None


def test_event_attendance_credits_the_jp_of_attended_sessions(
    client: TestClient, session: Session
) -> None:
    ctx = attendance_setup(client, session, learners=TWO, kind="webinar", total_jp=5)
    second = add_session(
        client,
        ctx["headers"],
        ctx["cohort"]["id"],
        "2025-05-15T08:00:00+07:00",
        "2025-05-15T10:15:00+07:00",
        jp=3,
    )
    second_url = f"/v1/cohorts/{ctx['cohort']['id']}/sessions/{second['id']}/attendance"
    budi = ctx["enrollments"]["budi"]["id"]
    assert _put(client, ctx, "budi", status="late").status_code == 200
    record = _credit(session, budi)
    assert record == (4, "event", 2025)
    both = client.put(f"{second_url}/{budi}", json={"status": "present"}, headers=ctx["headers"])
    assert both.status_code == 200, both.text
    assert _credit(session, budi) == (10, "event", 2025)  # 2 + 3 JP
    assert _put(client, ctx, "budi", status="absent").status_code == 200
    assert _credit(session, budi) == (6, "event", 2025)
    gone = client.put(f"{second_url}/{budi}", json={"status": "excused"}, headers=ctx["headers"])
    assert gone.status_code == 200
    assert _credit(session, budi) is None
    assert _credit(session, ctx["enrollments"]["siti"]["id"]) is None


def test_training_attendance_credits_nothing(client: TestClient, session: Session) -> None:
    ctx = attendance_setup(client, session, learners=TWO)
    assert _put(client, ctx, "budi", status="present").status_code == 200
    assert _credit(session, ctx["enrollments"]["budi"]["id"]) is None


def test_partner_agency_reads_but_does_not_record_and_a_learner_login_sees_nothing(
    client: TestClient, session: Session
) -> None:
    partner = make_agency(session)
    ctx = attendance_setup(client, session, learners=TWO, partner_agency_ids=[partner.id])
    partner_admin = auth_headers(make_user(session, partner, "agency_admin"))
    listed = client.get(ctx["url"], headers=partner_admin)
    assert listed.status_code == 200, listed.text
    assert len(listed.json()["items"]) == 2
    assert _put(client, ctx, "budi", partner_admin, status="present").status_code == 403
    learner = make_learner_login(client, ctx["headers"], ctx["enrollments"]["budi"]["learner_key"])
    assert client.get(ctx["url"], headers=learner).status_code == 404
    assert _put(client, ctx, "budi", learner, status="present").status_code == 404


def test_event_credit_is_capped_at_the_course_total(client: TestClient, session: Session) -> None:
    ctx = attendance_setup(client, session, learners=TWO, kind="workshop", total_jp=4.5)
    second = add_session(
        client,
        ctx["headers"],
        ctx["cohort"]["id"],
        "2025-05-15T08:00:00+07:00",
        "2025-05-15T10:15:00+07:00",
        jp=3,
    )
    second_url = f"/v1/cohorts/{ctx['cohort']['id']}/sessions/{second['id']}/attendance"
    budi = ctx["enrollments"]["budi"]["id"]
    items = {"items": [{"enrollment_id": budi, "status": "present"}]}
    assert client.put(ctx["url"], json=items, headers=ctx["headers"]).status_code == 200
    assert client.post(second_url, json=items, headers=ctx["headers"]).status_code == 200
    assert _credit(session, budi) == (9, "event", 2025)  # 2 + 3 JP attended, 4.5 JP total
