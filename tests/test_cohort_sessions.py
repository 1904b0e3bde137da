"""Sessions: local-date bounds in the cohort's zone, JP length, instructor overlaps, warnings."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.testclient import TestClient

from tests.factories import auth_headers, make_agency, make_cohort, make_published_course, make_user


def _setup(client: TestClient, session: Session, zone: str = "Asia/Jakarta") -> dict[str, Any]:
    agency = make_agency(session, timezone=zone if zone != "Asia/Jayapura" else "Asia/Jakarta")
    admin = make_user(session, agency, "agency_admin")
    teacher = make_user(session, agency, "instructor")
    headers = auth_headers(admin)
    course = make_published_course(client, headers)
    cohort = make_cohort(client, headers, course["id"], timezone=zone,
                         starts_on="2025-05-14", ends_on="2025-05-16")  # fmt: skip
    return {"headers": headers, "cohort": cohort, "teacher": teacher.id, "agency": agency}


def _post(client: TestClient, ctx: dict[str, Any], **body: Any) -> Any:
    body.setdefault("mode", "classroom")
    body.setdefault("jp", 2)
    return client.post(
        f"/v1/cohorts/{ctx['cohort']['id']}/sessions", json=body, headers=ctx["headers"]
    )


def test_session_is_stored_utc_and_shown_in_cohort_offset(
    client: TestClient, session: Session
) -> None:
    ctx = _setup(client, session, "Asia/Makassar")
    r = _post(client, ctx, starts_at="2025-05-14T00:30:00Z", ends_at="2025-05-14T02:00:00Z")
    assert r.status_code == 201, r.text
    assert r.json()["starts_at"] == "2025-05-14T08:30:00+08:00"
    assert r.json()["warnings"] == []
    assert r.headers["Location"].endswith(r.json()["id"])


def test_naive_datetimes_are_refused(client: TestClient, session: Session) -> None:
    ctx = _setup(client, session)
    r = _post(client, ctx, starts_at="2025-05-14T08:00:00", ends_at="2025-05-14T10:00:00")
    assert r.status_code == 422


def test_near_midnight_in_jayapura_uses_the_cohorts_local_date(
    client: TestClient, session: Session
) -> None:
    ctx = _setup(client, session, "Asia/Jayapura")
    # 07:00 WIT on 14 May is 22:00 UTC on 13 May: inside the cohort's local dates.
    early = _post(
        client, ctx, starts_at="2025-05-14T07:00:00+09:00", ends_at="2025-05-14T08:30:00+09:00"
    )
    assert early.status_code == 201, early.text
    assert early.json()["starts_at"] == "2025-05-14T07:00:00+09:00"
    # 00:30 WIT on 17 May is still 16 May in UTC, but after the cohort's last local day.
    late = _post(client, ctx, starts_at="2025-05-16T15:30:00Z", ends_at="2025-05-16T17:00:00Z")
    assert late.status_code == 422
    assert "Asia/Jayapura" in late.json()["detail"]
    before = _post(
        client, ctx, starts_at="2025-05-13T23:00:00+09:00", ends_at="2025-05-14T00:30:00+09:00"
    )
    assert before.status_code == 422


def test_session_must_be_long_enough_for_its_jp(client: TestClient, session: Session) -> None:
    ctx = _setup(client, session)
    short = _post(
        client,
        ctx,
        jp=2,
        starts_at="2025-05-14T08:00:00+07:00",
        ends_at="2025-05-14T09:29:00+07:00",
    )
    assert short.status_code == 422
    assert "90 minutes" in short.json()["detail"]
    exact = _post(
        client,
        ctx,
        jp=2,
        starts_at="2025-05-14T08:00:00+07:00",
        ends_at="2025-05-14T09:30:00+07:00",
    )
    assert exact.status_code == 201


def test_instructor_in_overlapping_sessions_is_409(client: TestClient, session: Session) -> None:
    ctx = _setup(client, session)
    # The instructor's other session belongs to another cohort (two sessions of one
    # cohort may not overlap at all: tests/test_cohort_rules.py).
    parallel = make_cohort(client, ctx["headers"], ctx["cohort"]["course_id"], number=2,
                           starts_on="2025-05-14", ends_on="2025-05-16")  # fmt: skip
    first = _post(client, {**ctx, "cohort": parallel}, instructor_ids=[ctx["teacher"]],
                  starts_at="2025-05-14T08:00:00+07:00", ends_at="2025-05-14T10:00:00+07:00")  # fmt: skip
    assert first.status_code == 201
    clash = _post(client, ctx, instructor_ids=[ctx["teacher"]],
                  starts_at="2025-05-14T09:00:00+07:00", ends_at="2025-05-14T11:00:00+07:00")  # fmt: skip
    assert clash.status_code == 409 and clash.json()["code"] == "instructor_busy"
    after = _post(client, ctx, instructor_ids=[ctx["teacher"]],
                  starts_at="2025-05-14T10:00:00+07:00", ends_at="2025-05-14T12:00:00+07:00")  # fmt: skip
    assert after.status_code == 201
    moved = client.patch(
        f"/v1/cohorts/{ctx['cohort']['id']}/sessions/{after.json()['id']}",
        json={"starts_at": "2025-05-14T09:30:00+07:00"},
        headers=ctx["headers"],
    )
    assert moved.status_code == 409


def test_more_than_nine_jp_a_day_is_a_warning(client: TestClient, session: Session) -> None:
    ctx = _setup(client, session)
    # The curriculum has 4 JP classroom and 6 JP self-paced: neither mode goes over.
    morning = _post(
        client,
        ctx,
        jp=4,
        starts_at="2025-05-15T07:00:00+07:00",
        ends_at="2025-05-15T11:00:00+07:00",
    )
    assert morning.json()["warnings"] == []
    afternoon = _post(
        client,
        ctx,
        jp=6,
        mode="self_paced",
        starts_at="2025-05-15T11:30:00+07:00",
        ends_at="2025-05-15T16:00:00+07:00",
    )
    assert afternoon.status_code == 201
    assert "10 JP are scheduled on 2025-05-15" in afternoon.json()["warnings"][0]


def test_sessions_follow_cohort_visibility_and_tenancy(
    client: TestClient, session: Session
) -> None:
    ctx = _setup(client, session)
    created = _post(
        client, ctx, starts_at="2025-05-14T08:00:00+07:00", ends_at="2025-05-14T10:00:00+07:00"
    )
    sid = created.json()["id"]
    base = f"/v1/cohorts/{ctx['cohort']['id']}/sessions"
    other = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    assert client.get(base).status_code == 404  # draft cohort
    assert client.get(f"{base}/{sid}", headers=other).status_code == 404
    assert client.patch(f"{base}/{sid}", json={"jp": 1}, headers=other).status_code == 404
    assert client.delete(f"{base}/{sid}", headers=other).status_code == 404
    assert _post(client, {**ctx, "headers": other}, starts_at="2025-05-14T11:00:00+07:00",
                 ends_at="2025-05-14T13:00:00+07:00").status_code == 404  # fmt: skip
    listed = client.get(base, headers=ctx["headers"])
    assert [s["id"] for s in listed.json()["items"]] == [sid]
    assert (
        client.get(
            base, headers={**ctx["headers"], "If-None-Match": listed.headers["ETag"]}
        ).status_code
        == 304
    )
    etag = client.get(f"{base}/{sid}", headers=ctx["headers"]).headers["ETag"]
    ok = client.patch(
        f"{base}/{sid}", json={"location": "Aula"}, headers={**ctx["headers"], "If-Match": etag}
    )
    assert ok.status_code == 200
    stale = client.patch(
        f"{base}/{sid}", json={"location": "Aula 2"}, headers={**ctx["headers"], "If-Match": etag}
    )
    assert stale.status_code == 412
    assert client.delete(f"{base}/{sid}", headers=ctx["headers"]).status_code == 204


def test_instructor_must_belong_to_the_agency(client: TestClient, session: Session) -> None:
    ctx = _setup(client, session)
    stranger = make_user(session, make_agency(session), "instructor")
    r = _post(client, ctx, instructor_ids=[stranger.id],
              starts_at="2025-05-14T08:00:00+07:00", ends_at="2025-05-14T10:00:00+07:00")  # fmt: skip
    assert r.status_code == 422


def test_jayapura_sessions_up_to_local_midnight_of_the_last_day(
    client: TestClient, session: Session
) -> None:
    ctx = _setup(client, session, "Asia/Jayapura")
    # 22:30-24:00 WIT on 16 May (13:30-15:00 UTC): ends exactly at local midnight, allowed
    to_midnight = _post(
        client, ctx, starts_at="2025-05-16T22:30:00+09:00", ends_at="2025-05-17T00:00:00+09:00"
    )
    assert to_midnight.status_code == 201, to_midnight.text
    assert to_midnight.json()["ends_at"] == "2025-05-17T00:00:00+09:00"
    # 23:00 WIT on 16 May to 00:30 WIT on 17 May: crosses into a day after the cohort
    across = _post(client, ctx, starts_at="2025-05-16T14:00:00Z", ends_at="2025-05-16T15:30:00Z")
    assert across.status_code == 422
    assert "2025-05-17" in across.json()["detail"]
