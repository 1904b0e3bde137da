"""The catalogue rules a user expects: status locks, the calendar, session overlaps, the
year, unique clashes on every write path, partners, and details in both languages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from app.models.base import utcnow
from tests.factories import (
    auth_headers,
    course_payload,
    make_agency,
    make_cohort,
    make_published_course,
    make_user,
    module,
)

ID = {"Accept-Language": "id"}


def _ctx(client: TestClient, session: Session, **cohort: Any) -> dict[str, Any]:
    """An admin, a published 10-JP course (6 JP self-paced, 4 JP classroom), a draft cohort."""
    headers = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    course = make_published_course(client, headers)
    values = {"starts_on": "2025-05-14", "ends_on": "2025-05-16", "year": 2025, **cohort}
    made = make_cohort(client, headers, course["id"], **values)
    return {
        "headers": headers,
        "course": course,
        "cohort": made,
        "url": f"/v1/cohorts/{made['id']}",
    }


def _move(client: TestClient, ctx: dict[str, Any], *statuses: str, headers: Any = None) -> Any:
    r = None
    for status in statuses:
        r = client.post(
            f"{ctx['url']}/transitions", json={"to": status}, headers=headers or ctx["headers"]
        )
        if r.status_code != 200:
            return r
    return r


def _session(client: TestClient, ctx: dict[str, Any], start: str, end: str, **body: Any) -> Any:
    extra_headers = body.pop("extra_headers", {})
    body.setdefault("mode", "classroom")
    body.setdefault("jp", 2)
    return client.post(
        f"{ctx['url']}/sessions",
        json={"starts_at": start, "ends_at": end, **body},
        headers={**ctx["headers"], **extra_headers},
    )


# --- unique constraints: 409 on every write path -------------------------------------


def test_patching_a_cohort_to_another_cohorts_number_is_409_not_500(
    client: TestClient, session: Session
) -> None:
    ctx = _ctx(client, session)
    make_cohort(client, ctx["headers"], ctx["course"]["id"], number=2,
                starts_on="2025-06-02", ends_on="2025-06-04")  # fmt: skip
    r = client.patch(ctx["url"], json={"number": 2}, headers={**ctx["headers"], **ID})
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "duplicate_cohort"
    assert r.json()["detail"].startswith("Pelatihan ini sudah memiliki Angkatan II pada 2025")
    # nothing changed
    assert client.get(ctx["url"], headers=ctx["headers"]).json()["number"] == 1


# --- the year is the year of starts_on --------------------------------------------------


def test_a_cohorts_year_must_be_the_year_it_starts(client: TestClient, session: Session) -> None:
    ctx = _ctx(client, session)
    body = {"course_id": ctx["course"]["id"], "number": 5, "year": 2026,
            "starts_on": "2027-03-01", "ends_on": "2027-03-05"}  # fmt: skip
    r = client.post("/v1/cohorts", json=body, headers=ctx["headers"])
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "year"]
    assert "2027-03-01" in r.json()["detail"]
    moved = client.patch(
        ctx["url"],
        json={"starts_on": "2026-05-14", "ends_on": "2026-05-16"},
        headers=ctx["headers"],
    )
    assert moved.status_code == 422
    both = client.patch(
        ctx["url"],
        json={"year": 2026, "starts_on": "2026-05-14", "ends_on": "2026-05-16"},
        headers=ctx["headers"],
    )
    assert both.status_code == 200, both.text


# --- what may change in each status -----------------------------------------------------


def test_a_completed_cohort_takes_no_sessions_and_no_capacity_change(
    client: TestClient, session: Session
) -> None:
    ctx = _ctx(client, session)
    assert (
        _move(client, ctx, "open", "closed", "running", "evaluation", "completed").status_code
        == 200
    )
    added = _session(client, ctx, "2025-05-14T08:00:00+07:00", "2025-05-14T10:00:00+07:00",
                     extra_headers=ID)  # fmt: skip
    assert added.status_code == 409, added.text
    assert added.json()["code"] == "cohort_locked"
    assert "completed" in added.json()["detail"] and "tidak ada" in added.json()["detail"]
    capacity = client.patch(ctx["url"], json={"capacity": 99}, headers=ctx["headers"])
    assert capacity.status_code == 409
    assert capacity.json()["editable"] == []
    # sending a field unchanged is not a change
    same = client.patch(ctx["url"], json={"capacity": 40}, headers=ctx["headers"])
    assert same.status_code == 200, same.text


def test_a_running_cohort_keeps_its_start_but_may_extend_and_schedule(
    client: TestClient, session: Session
) -> None:
    ctx = _ctx(client, session)
    assert _move(client, ctx, "open", "closed", "running").status_code == 200
    start = client.patch(ctx["url"], json={"starts_on": "2025-05-13"}, headers=ctx["headers"])
    assert start.status_code == 409
    assert start.json()["editable"] == ["ends_on", "meeting_url", "platform", "sessions", "venue"]
    longer = client.patch(ctx["url"], json={"ends_on": "2025-05-17"}, headers=ctx["headers"])
    assert longer.status_code == 200, longer.text
    added = _session(client, ctx, "2025-05-17T08:00:00+07:00", "2025-05-17T10:00:00+07:00")
    assert added.status_code == 201, added.text


def test_the_curriculum_is_pinned_once_the_cohort_leaves_draft(
    client: TestClient, session: Session
) -> None:
    ctx = _ctx(client, session)
    assert _move(client, ctx, "open").status_code == 200
    r = client.patch(ctx["url"], json={"curriculum_version": 1}, headers=ctx["headers"])
    assert r.status_code == 200  # unchanged
    client.post(f"/v1/courses/{ctx['course']['id']}/curricula", json={}, headers=ctx["headers"])
    client.post(f"/v1/courses/{ctx['course']['id']}/curricula/2/publish", headers=ctx["headers"])
    r = client.patch(ctx["url"], json={"curriculum_version": 2}, headers=ctx["headers"])
    assert r.status_code == 409 and r.json()["code"] == "cohort_locked"


def test_new_dates_must_still_hold_the_sessions(client: TestClient, session: Session) -> None:
    ctx = _ctx(client, session)
    made = _session(client, ctx, "2025-05-16T08:00:00+07:00", "2025-05-16T10:00:00+07:00")
    assert made.status_code == 201
    r = client.patch(ctx["url"], json={"ends_on": "2025-05-15"}, headers=ctx["headers"])
    assert r.status_code == 422, r.text
    assert made.json()["id"] in r.json()["detail"]


# --- the calendar ------------------------------------------------------------------------


def test_running_waits_for_the_first_day(client: TestClient, session: Session) -> None:
    ctx = _ctx(client, session, year=2099, starts_on="2099-05-14", ends_on="2099-05-16")
    assert _move(client, ctx, "open", "closed").status_code == 200
    early = _move(client, ctx, "running", headers={**ctx["headers"], **ID})
    assert early.status_code == 409, early.text
    assert early.json()["code"] == "transition_too_early"
    assert "2099-05-14" in early.json()["detail"] and "Asia/Jakarta" in early.json()["detail"]
    assert client.get(ctx["url"], headers=ctx["headers"]).json()["status"] == "closed"


def test_the_first_day_is_the_cohorts_local_day(client: TestClient, session: Session) -> None:
    """Today in Jayapura (UTC+9) may be tomorrow in UTC: running is allowed by local date."""
    zone = "Asia/Jayapura"
    today = utcnow().astimezone(ZoneInfo(zone)).date()
    ctx = _ctx(client, session, timezone=zone, year=today.year, starts_on=today.isoformat(),
               ends_on=(today + timedelta(days=2)).isoformat())  # fmt: skip
    assert _move(client, ctx, "open", "closed", "running").status_code == 200


def test_evaluation_waits_for_the_last_session_or_the_last_day(
    client: TestClient, session: Session
) -> None:
    zone = ZoneInfo("Asia/Jakarta")
    today = utcnow().astimezone(zone).date()
    start = today - timedelta(days=1)
    end = today + timedelta(days=3)
    ctx = _ctx(client, session, year=start.year, starts_on=start.isoformat(),
               ends_on=end.isoformat())  # fmt: skip
    assert _move(client, ctx, "open", "closed", "running").status_code == 200
    no_sessions = _move(client, ctx, "evaluation")
    assert no_sessions.status_code == 409, no_sessions.text
    assert end.isoformat() in no_sessions.json()["detail"]
    past = _session(client, ctx, f"{start}T08:00:00+07:00", f"{start}T10:00:00+07:00")
    assert past.status_code == 201, past.text
    # every session is over: the move no longer waits for the last day
    assert _move(client, ctx, "evaluation").status_code == 200


def test_completed_waits_for_a_session_still_to_come(client: TestClient, session: Session) -> None:
    zone = ZoneInfo("Asia/Jakarta")
    today = utcnow().astimezone(zone).date()
    start, end = today - timedelta(days=1), today + timedelta(days=3)
    ctx = _ctx(client, session, year=start.year, starts_on=start.isoformat(),
               ends_on=end.isoformat())  # fmt: skip
    later = _session(client, ctx, f"{end}T08:00:00+07:00", f"{end}T10:00:00+07:00")
    assert later.status_code == 201
    assert _move(client, ctx, "open", "closed", "running").status_code == 200
    r = _move(client, ctx, "evaluation")
    assert r.status_code == 409 and f"{end}T10:00+07:00" in r.json()["detail"]


# --- sessions ----------------------------------------------------------------------------


def test_two_sessions_of_one_cohort_cannot_overlap(client: TestClient, session: Session) -> None:
    ctx = _ctx(client, session)
    first = _session(client, ctx, "2025-05-14T08:00:00+07:00", "2025-05-14T10:00:00+07:00")
    assert first.status_code == 201
    clash = _session(client, ctx, "2025-05-14T09:00:00+07:00", "2025-05-14T11:00:00+07:00",
                     extra_headers=ID)  # fmt: skip
    assert clash.status_code == 409, clash.text
    body = clash.json()
    assert body["code"] == "session_overlap"
    assert body["conflicting_session_id"] == first.json()["id"]
    assert first.json()["id"] in body["detail"] and body["detail"].startswith("Sesi ")
    after = _session(client, ctx, "2025-05-14T10:00:00+07:00", "2025-05-14T12:00:00+07:00")
    assert after.status_code == 201  # touching end to start is not an overlap
    moved = client.patch(
        f"{ctx['url']}/sessions/{after.json()['id']}",
        json={"starts_at": "2025-05-14T09:30:00+07:00"},
        headers=ctx["headers"],
    )
    assert moved.status_code == 409 and moved.json()["code"] == "session_overlap"


def test_a_mode_the_curriculum_does_not_have_is_refused(
    client: TestClient, session: Session
) -> None:
    ctx = _ctx(client, session)
    r = _session(client, ctx, "2025-05-14T08:00:00+07:00", "2025-05-14T10:00:00+07:00",
                 mode="synchronous_virtual")  # fmt: skip
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "mode"]
    assert "use one of its modes: self_paced, classroom." in r.json()["detail"]


def test_a_classroom_session_without_classroom_jp_is_refused(
    client: TestClient, session: Session
) -> None:
    headers = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    course = client.post("/v1/courses", json=course_payload(total_jp=6), headers=headers).json()
    client.post(f"/v1/courses/{course['id']}/curricula", json={"modules": [module(6)]},
                headers=headers)  # fmt: skip
    client.post(f"/v1/courses/{course['id']}/curricula/1/publish", headers=headers)
    cohort = make_cohort(
        client, headers, course["id"], starts_on="2025-05-14", ends_on="2025-05-16"
    )
    ctx = {"headers": headers, "url": f"/v1/cohorts/{cohort['id']}"}
    r = _session(client, ctx, "2025-05-14T08:00:00+07:00", "2025-05-14T10:00:00+07:00",
                 extra_headers=ID)  # fmt: skip
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("Kurikulum angkatan (versi 1) tidak memiliki JP classroom")


def test_more_jp_of_a_mode_than_the_curriculum_has_is_a_warning(
    client: TestClient, session: Session
) -> None:
    ctx = _ctx(client, session)  # 4 JP classroom in the curriculum
    first = _session(client, ctx, "2025-05-14T08:00:00+07:00", "2025-05-14T11:00:00+07:00", jp=4)
    assert first.status_code == 201 and first.json()["warnings"] == []
    extra = _session(client, ctx, "2025-05-15T08:00:00+07:00", "2025-05-15T10:00:00+07:00", jp=2)
    assert extra.status_code == 201, extra.text
    assert extra.json()["warnings"] == [
        "6 JP of classroom sessions are scheduled; the curriculum (version 1) has 4 JP of classroom."
    ]


# --- partners -----------------------------------------------------------------------------


def test_partner_ids_that_are_not_active_agencies_get_one_answer(
    client: TestClient, session: Session
) -> None:
    headers = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    active = make_agency(session)
    inactive = make_agency(session, is_active=False)
    ok = client.post("/v1/courses", json=course_payload(partner_agency_ids=[active.id]),
                     headers=headers)  # fmt: skip
    assert ok.status_code == 201, ok.text
    answers = []
    for ident in (inactive.id, "agc_does_not_exist"):
        r = client.post("/v1/courses", json=course_payload(partner_agency_ids=[ident]),
                        headers=headers)  # fmt: skip
        assert r.status_code == 422
        body = r.json()
        answers.append((body["code"], body["errors"][0]["type"],
                        body["detail"].replace(ident, "<id>")))  # fmt: skip
        patched = client.patch(f"/v1/courses/{ok.json()['id']}",
                               json={"partner_agency_ids": [ident]}, headers=headers)  # fmt: skip
        assert patched.status_code == 422
    assert answers[0] == answers[1]


# --- both languages -----------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["id", "en"])
def test_catalogue_details_speak_the_asked_language(
    client: TestClient, session: Session, lang: str
) -> None:
    headers = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    asked = {**headers, "Accept-Language": lang}
    course = client.post("/v1/courses", json=course_payload(total_jp=73), headers=headers).json()
    client.post(f"/v1/courses/{course['id']}/curricula", json={"modules": [module(72)]},
                headers=headers)  # fmt: skip
    publish = client.post(f"/v1/courses/{course['id']}/curricula/1/publish", headers=asked)
    ctx = _ctx(client, session)
    outside = client.post(
        f"{ctx['url']}/sessions",
        json={"starts_at": "2025-05-20T08:00:00+07:00", "ends_at": "2025-05-20T10:00:00+07:00",
              "mode": "classroom", "jp": 2},
        headers={**ctx["headers"], "Accept-Language": lang},
    )  # fmt: skip
    _move(client, ctx, "cancelled")
    final = client.post(f"{ctx['url']}/transitions", json={"to": "open"},
                        headers={**ctx["headers"], "Accept-Language": lang})  # fmt: skip
    missing = client.get("/v1/cohorts/coh_missing", headers=asked)
    details = [
        publish.json()["detail"],
        publish.json()["errors"][0]["msg"],
        outside.json()["detail"],
        outside.json()["errors"][0]["msg"],
        final.json()["detail"],
        missing.json()["detail"],
    ]
    english = ("modules add up", "the cohort runs", "none (it is final)", "allowed", "No cohort")
    indonesian = ("jumlah JP modul", "jadwalkan sesi", "tidak ada (status ini final)",
                  "Tidak ada angkatan")  # fmt: skip
    if lang == "id":
        assert not any(w in d for d in details for w in english), details
        assert all(any(w in d for w in indonesian) for d in details), details
    else:
        assert all(any(w in d for w in english) for d in details), details
