"""Zoom participant report import: matching, overlaps, the present threshold, both shapes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session
from starlette.testclient import TestClient

from app.services.learning import zoom_report as zoom
from tests.factories import auth_headers, make_agency, make_user
from tests.factories_attendance import attendance_setup, fixture

CSV = {"Content-Type": "text/csv"}


def _zoom_url(ctx: dict[str, Any]) -> str:
    """The session's Zoom report import, next to (not under) its attendance list."""
    return ctx["url"].removesuffix("/attendance") + "/zoom-report"


def _import(client: TestClient, ctx: dict[str, Any], name: str, **params: Any) -> Any:
    return client.post(
        _zoom_url(ctx),
        content=fixture(name),
        params=params,
        headers={**ctx["headers"], **CSV},
    )


def _by_name(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["learner_name"]: m for m in answer["matched"]}


def test_report_with_meeting_block_is_matched_summed_and_thresholded(
    client: TestClient, session: Session
) -> None:
    ctx = attendance_setup(client, session)
    r = _import(client, ctx, "zoom_participants_meeting.csv")
    assert r.status_code == 200, r.text
    answer = r.json()
    found = _by_name(answer)
    # rejoined three times with overlapping lines (30 + 35 + 45 min): 100 min, not 110
    assert found["Budi Santoso"]["minutes_attended"] == 100
    assert found["Budi Santoso"]["status"] == "present"
    assert found["Budi Santoso"]["matched_by"] == "email"
    assert found["Budi Santoso"]["rows"] == [7, 8, 9]
    # exactly 80 % of the 100-minute session: present (email matched in another case)
    assert (found["Siti Aminah"]["minutes_attended"], found["Siti Aminah"]["status"]) == (
        80,
        "present",
    )
    # one second under 80 %: absent
    assert found["Andi Wijaya"]["status"] == "absent"
    assert found["Andi Wijaya"]["minutes_attended"] == 79
    # no email: matched by name with titles stripped; joined 20 minutes late, stayed 80 %
    assert found["Dewi Lestari"]["matched_by"] == "name"
    assert found["Dewi Lestari"]["status"] == "late"
    assert found["Dewi Lestari"]["first_joined_at"] == "2025-05-14T08:20:00+07:00"
    # joined before the start, a second line after the end: clipped to 08:00-09:30
    assert found["Rudi Hartono"]["minutes_attended"] == 90
    assert found["Rudi Hartono"]["first_joined_at"] == "2025-05-14T08:00:00+07:00"
    unmatched = {(u["name"], u["reason"]): u for u in answer["unmatched"]}
    ambiguous = unmatched[("Agus Salim", "ambiguous_name")]
    agus = {ctx["enrollments"]["agus1"]["id"], ctx["enrollments"]["agus2"]["id"]}
    assert set(ambiguous["candidates"]) == agus and ambiguous["minutes"] == 100
    assert unmatched[("Tamu Umum", "no_match")]["email"] == "tamu@mail.example"
    assert unmatched[("Tamu Umum", "no_match")]["minutes"] == 30
    assert ("Host BKPSDM", "no_match") in unmatched
    assert unmatched[("Budi Santoso", "waiting_room")]["rows"] == [6]
    missing = {ctx["enrollments"][k]["id"] for k in ("agus1", "agus2", "eko")}
    assert set(answer["not_in_report"]) == missing
    assert answer["written"] == 5 and answer["timezone"] == "Asia/Jakarta"
    listed = client.get(ctx["url"], headers=ctx["headers"]).json()["items"]
    stored = {i["learner_name"]: (i["status"], i["minutes_attended"], i["source"]) for i in listed}
    assert stored["Budi Santoso"] == ("present", 100, "zoom")
    assert stored["Andi Wijaya"] == ("absent", 79, "zoom")
    assert stored["Eko Prasetyo"] == (None, None, None)


def test_dry_run_writes_nothing_and_present_share_is_a_parameter(
    client: TestClient, session: Session
) -> None:
    ctx = attendance_setup(client, session)
    r = _import(client, ctx, "zoom_participants_meeting.csv", dry_run="true", present_share="0.79")
    assert r.status_code == 200, r.text
    assert r.json()["written"] == 0 and r.json()["dry_run"] is True
    assert _by_name(r.json())["Andi Wijaya"]["status"] == "present"  # 79.98 % >= 79 %
    listed = client.get(ctx["url"], headers=ctx["headers"]).json()["items"]
    assert {i["status"] for i in listed} == {None}


def test_bom_semicolons_iso_times_and_original_name_in_a_multipart_upload(
    client: TestClient, session: Session
) -> None:
    ctx = attendance_setup(client, session)
    r = client.post(
        _zoom_url(ctx),
        files={
            "file": ("participants.csv", fixture("zoom_participants_semicolon.csv"), "text/csv")
        },
        headers=ctx["headers"],
    )
    assert r.status_code == 200, r.text
    found = _by_name(r.json())
    # "Santoso; Budi (Budi Santoso)": the quoted shown name fits nobody, the original does
    assert found["Budi Santoso"]["matched_by"] == "name"
    assert found["Budi Santoso"]["minutes_attended"] == 100  # 01:00Z-02:40Z is 08:00-09:40 WIB
    assert found["Siti Aminah"]["status"] == "absent"
    assert r.json()["unmatched"] == []


def test_the_file_zone_parameter_shifts_times_without_offset(
    client: TestClient, session: Session
) -> None:
    ctx = attendance_setup(client, session)
    # read as WITA (UTC+8), 08:00-09:40 is 07:00-08:40 WIB: 40 of Budi's 100 minutes fall
    # inside the session
    r = _import(client, ctx, "zoom_participants_meeting.csv", timezone="Asia/Makassar")
    assert r.status_code == 200, r.text
    assert _by_name(r.json())["Budi Santoso"]["minutes_attended"] == 40


def test_a_file_without_the_participant_table_is_422_in_both_languages(
    client: TestClient, session: Session
) -> None:
    ctx = attendance_setup(client, session, learners={})
    body = b"Nama,Email\nBudi,budi@x.example\n"
    r = client.post(_zoom_url(ctx), content=body, headers={**ctx["headers"], **CSV})
    assert r.status_code == 422 and r.json()["code"] == "zoom_report_unreadable"
    assert "Join Time" in r.json()["detail"]
    r_id = client.post(
        _zoom_url(ctx),
        content=body,
        headers={**ctx["headers"], **CSV, "Accept-Language": "id"},
    )
    assert r_id.json()["detail"].startswith("Tabel peserta tidak ditemukan")
    wrong = client.post(
        _zoom_url(ctx),
        content=b"{}",
        headers={**ctx["headers"], "Content-Type": "application/json"},
    )
    assert wrong.status_code == 415


def test_zoom_import_needs_a_recorder_and_hides_other_agencies(
    client: TestClient, session: Session
) -> None:
    ctx = attendance_setup(client, session, learners={"budi": {"name": "Budi Santoso"}})
    data = fixture("zoom_participants_meeting.csv")
    viewer = auth_headers(make_user(session, ctx["agency"], "viewer"))
    stranger = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    assert client.post(_zoom_url(ctx), content=data, headers={**viewer, **CSV}).status_code == 403
    assert client.post(_zoom_url(ctx), content=data, headers={**stranger, **CSV}).status_code == 404
    ok = client.post(_zoom_url(ctx), content=data, headers={**ctx["teacher"], **CSV})
    assert ok.status_code == 200, ok.text


def test_overlapping_spans_count_once() -> None:
    start = datetime(2025, 5, 14, 1, 0, tzinfo=UTC)
    end = datetime(2025, 5, 14, 2, 40, tzinfo=UTC)

    def at(h: int, m: int, s: int = 0) -> datetime:
        return datetime(2025, 5, 14, h, m, s, tzinfo=UTC)

    spans = [(at(0, 50), at(1, 30)), (at(1, 10), at(1, 20)), (at(1, 25), at(2, 0)),
             (at(2, 50), at(3, 0))]  # fmt: skip
    seconds, first = zoom.attended_seconds(spans, start, end)
    assert (seconds, first) == (60 * 60, start)
    share = Decimal("0.8")
    assert zoom.decide(4800, start, start=start, end=end, share=share, late_after=15) == "present"
    assert zoom.decide(4799, start, start=start, end=end, share=share, late_after=15) == "absent"


def test_name_keys_drop_titles_but_keep_the_name() -> None:
    assert zoom.name_key("Prof. Dr. KH. Said Agil Siroj") == "said agil siroj"
    assert zoom.name_key("Dewi  Lestari, S.Sos., M.H.") == "dewi lestari"
    assert zoom.name_key("Budi Santoso S.Kom") == "budi santoso"
    assert zoom.name_key("Hj. Siti Aminah") == "siti aminah"
    assert zoom.split_name("Budi (HP) ") == ("budi", "hp")


def test_zoom_times_read_both_clocks_and_never_guess_day_first() -> None:
    wib = ZoneInfo("Asia/Jakarta")
    assert zoom.parse_time("05/14/2025 12:05:00 AM", wib) == datetime(2025, 5, 14, 0, 5, tzinfo=wib)
    assert zoom.parse_time("5/14/2025 1:05 PM", wib) == datetime(2025, 5, 14, 13, 5, tzinfo=wib)
    assert zoom.parse_time("05/14/2025 13:05:00", wib) == datetime(2025, 5, 14, 13, 5, tzinfo=wib)
    assert zoom.parse_time("2025-05-14T06:05:00Z", wib) == datetime(2025, 5, 14, 6, 5, tzinfo=UTC)
    assert zoom.parse_time("14/05/2025 08:00:00", wib) is None
    assert zoom.parse_time("05/14/2025 13:00 PM", wib) is None


def test_lines_with_unreadable_times_are_listed_not_dropped(
    client: TestClient, session: Session
) -> None:
    ctx = attendance_setup(client, session, learners={"budi": {"name": "Budi Santoso"}})
    body = (
        b"Name (Original Name),User Email,Join Time,Leave Time\n"
        b"Budi Santoso,,14/05/2025 08:00:00,14/05/2025 09:40:00\n"
    )
    r = client.post(_zoom_url(ctx), content=body, headers={**ctx["headers"], **CSV})
    assert r.status_code == 200, r.text
    assert r.json()["matched"] == []
    assert [(u["name"], u["reason"], u["rows"]) for u in r.json()["unmatched"]] == [
        ("Budi Santoso", "unreadable_times", [2])
    ]
