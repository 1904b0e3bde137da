"""Bulk enrolment from a roster: CSV, XLSX and JSON rows, all_or_nothing / partial /
dry_run, seats and waitlist as single enrolment gives them, and Idempotency-Key."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from sqlmodel import Session, col, func, select
from starlette.testclient import TestClient

from app.models import Enrollment
from tests.factories import (
    auth_headers,
    make_agency,
    make_learner,
    make_learner_row,
    make_open_cohort,
    make_published_course,
    make_user,
)

CSV = {"Content-Type": "text/csv"}
ID = {"Accept-Language": "id"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class World:
    organiser: dict[str, str]
    stranger: dict[str, str]
    keys: list[str]
    cohort: dict[str, Any]

    @property
    def url(self) -> str:
        return f"/v1/cohorts/{self.cohort['id']}/enrollments/bulk"


def _world(client: TestClient, session: Session, learners: int = 5, **cohort: Any) -> World:
    org, home, other = make_agency(session), make_agency(session), make_agency(session)
    organiser = auth_headers(make_user(session, org, "agency_admin"))
    stranger = auth_headers(make_user(session, other, "agency_admin"))
    keys = [make_learner_row(session, home, i).learner_key for i in range(learners)]
    session.commit()
    session.rollback()
    course = make_published_course(client, organiser)
    made = make_open_cohort(client, organiser, course["id"], **cohort)
    return World(organiser, stranger, keys, made)


def _csv(lines: list[str], *, sep: str = ",", bom: bool = False, eol: str = "\n") -> bytes:
    text = eol.join(lines) + eol
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


def _roster(client: TestClient, w: World) -> list[dict[str, Any]]:
    got = client.get(f"/v1/cohorts/{w.cohort['id']}/enrollments?limit=100", headers=w.organiser)
    assert got.status_code == 200, got.text
    return list(got.json()["items"])


def _count(session: Session, cohort_id: str) -> int:
    session.rollback()
    found = session.exec(
        select(func.count()).select_from(Enrollment).where(col(Enrollment.cohort_id) == cohort_id)
    ).one()
    session.rollback()  # release SQLite's write lock before the next request writes
    return int(found)


def test_csv_with_bom_semicolons_crlf_and_spaced_nip_enrols_every_row(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session, 3)
    spaced = f"{w.keys[1][:8]} {w.keys[1][8:14]} {w.keys[1][14]} {w.keys[1][15:]}"
    body = _csv(
        ["NIP;Nama", f"{w.keys[0]};Satu", f"{spaced};Dua", f"{w.keys[2]};Tiga"],
        bom=True,
        eol="\r\n",
    )
    made = client.post(w.url, content=body, headers=w.organiser | CSV)
    assert made.status_code == 201, made.text
    answer = made.json()
    assert answer["written"] is True and answer["counts"]["created"] == 3
    assert [r["row"] for r in answer["rows"]] == [2, 3, 4]
    assert [r["learner_key"] for r in answer["rows"]] == w.keys
    assert sorted(e["learner_key"] for e in _roster(client, w)) == sorted(w.keys)
    cohort = client.get(f"/v1/cohorts/{w.cohort['id']}", headers=w.organiser).json()
    assert cohort["seats_taken"] == 3
    again = client.post(w.url, content=body, headers=w.organiser | CSV)
    assert again.status_code == 200, again.text  # nothing new to write
    assert again.json()["counts"]["already_enrolled"] == 3


def test_scientific_nip_is_rejected_with_the_fix_and_all_or_nothing_writes_nothing(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session, 2)
    body = _csv(["nip,name", f"{w.keys[0]},Satu", "1.98001E+17,Dua", f"{w.keys[1]},Tiga"])
    refused = client.post(w.url, content=body, headers=w.organiser | CSV)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["code"] == "bulk_rejected" and problem["written"] is False
    rows = {r["row"]: r for r in problem["rows"]}
    assert rows[3]["outcome"] == "rejected"
    assert rows[3]["errors"][0]["type"] == "nip_scientific"
    assert "Text" in rows[3]["errors"][0]["msg"]
    assert rows[2]["outcome"] == rows[4]["outcome"] == "created"  # as it would have gone
    assert _count(session, w.cohort["id"]) == 0


def test_partial_writes_the_good_rows_and_lists_the_bad_one(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session, 2)
    body = _csv(["nip,name", f"{w.keys[0]},Satu", "12345,Dua", f"{w.keys[1]},Tiga"])
    made = client.post(f"{w.url}?mode=partial", content=body, headers=w.organiser | CSV)
    assert made.status_code == 201, made.text
    answer = made.json()
    assert answer["counts"] == {
        "created": 2, "already_enrolled": 0, "waitlisted": 0, "rejected": 1
    }  # fmt: skip
    bad = answer["rows"][1]
    assert bad["row"] == 3 and bad["errors"][0]["loc"] == ["body", 3, "nip"]
    assert _count(session, w.cohort["id"]) == 2


def test_unknown_learner_row_is_rejected_not_created(client: TestClient, session: Session) -> None:
    w = _world(client, session, 1)
    unknown = "198001012019011999"
    body = _csv(["nip", w.keys[0], unknown])
    made = client.post(f"{w.url}?mode=partial", content=body, headers=w.organiser | CSV)
    assert made.status_code == 201, made.text
    row = made.json()["rows"][1]
    assert row["outcome"] == "rejected" and row["errors"][0]["type"] == "learner_not_found"
    assert client.get(f"/v1/learners/{unknown}", headers=w.organiser).status_code == 404


def test_dry_run_writes_nothing(client: TestClient, session: Session) -> None:
    w = _world(client, session, 3)
    body = _csv(["nip", *w.keys])
    checked = client.post(f"{w.url}?dry_run=true", content=body, headers=w.organiser | CSV)
    assert checked.status_code == 200, checked.text
    assert checked.json()["written"] is False and checked.json()["counts"]["created"] == 3
    assert _count(session, w.cohort["id"]) == 0


def test_windows_1252_empty_and_non_roster_files_are_clear_4xx(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session, 1)
    latin = "nip,nama\n198001012005011001,Jos\xe9\n".encode("cp1252")
    refused = client.post(w.url, content=latin, headers=w.organiser | CSV)
    assert refused.status_code == 422 and refused.json()["code"] == "roster_unreadable"
    assert "CSV UTF-8" in refused.json()["detail"]
    empty = client.post(w.url, content=b"", headers=w.organiser | CSV)
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]
    pdf = client.post(
        w.url, content=b"%PDF-1.4", headers=w.organiser | {"Content-Type": "application/pdf"}
    )
    assert pdf.status_code == 415, pdf.text


def test_a_file_past_10000_rows_is_refused_naming_the_limit(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session, 1)
    body = _csv(["nip", *(f"19800101200501{i % 2}{i:03d}"[:18] for i in range(10_001))])
    refused = client.post(w.url, content=body, headers=w.organiser | CSV)
    assert refused.status_code == 413, refused.text
    assert refused.json()["code"] == "roster_too_many_rows"
    assert "10000" in refused.json()["detail"].replace(",", "")
    assert _count(session, w.cohort["id"]) == 0


def test_xlsx_upload_as_multipart_file(client: TestClient, session: Session) -> None:
    w = _world(client, session, 2)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["NIP", "Nama Lengkap"])
    sheet.append([w.keys[0], "Satu"])
    sheet.append([float(w.keys[1]), "Dua"])  # a NIP the spreadsheet turned into a number
    buffer = io.BytesIO()
    book.save(buffer)
    files = {"file": ("peserta.xlsx", buffer.getvalue(), XLSX)}
    made = client.post(f"{w.url}?mode=partial", files=files, headers=w.organiser)
    assert made.status_code == 201, made.text
    rows = made.json()["rows"]
    assert rows[0]["outcome"] == "created"
    assert rows[1]["outcome"] == "rejected" and rows[1]["errors"][0]["type"] == "nip_scientific"


def test_csv_as_multipart_file_and_a_form_without_file(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session, 1)
    files = {"file": ("peserta.csv", _csv(["nip", w.keys[0]]), "text/csv")}
    assert client.post(w.url, files=files, headers=w.organiser).status_code == 201
    files = {"other": ("x.csv", b"nip\n", "text/csv")}
    missing = client.post(w.url, files=files, headers=w.organiser)
    assert missing.status_code == 422 and missing.json()["errors"][0]["loc"] == ["body", "file"]


def test_json_rows_use_the_file_field_names(client: TestClient, session: Session) -> None:
    w = _world(client, session, 2)
    rows = [{"nip": w.keys[0], "name": "Satu"}, {"nip": w.keys[1]}, {"nip": w.keys[0]}]
    refused = client.post(w.url, json=rows, headers=w.organiser)
    assert refused.status_code == 422, refused.text
    assert refused.json()["rows"][2]["errors"][0]["type"] == "duplicate_row"
    made = client.post(f"{w.url}?mode=partial", json=rows, headers=w.organiser)
    assert made.status_code == 201 and made.json()["counts"]["created"] == 2
    unknown_field = client.post(w.url, json=[{"nip": w.keys[0], "gaji": 1}], headers=w.organiser)
    assert unknown_field.status_code == 422 and unknown_field.json()["code"] != "bulk_rejected"


def test_unknown_query_parameter_and_bad_mode_are_422(client: TestClient, session: Session) -> None:
    w = _world(client, session, 1)
    body = _csv(["nip", w.keys[0]])
    assert (
        client.post(f"{w.url}?mode=some", content=body, headers=w.organiser | CSV).status_code
        == 422
    )
    assert (
        client.post(f"{w.url}?force=1", content=body, headers=w.organiser | CSV).status_code == 422
    )


def test_another_agency_cannot_bulk_enrol_into_a_cohort_or_see_its_learners(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session, 1)
    body = _csv(["nip", w.keys[0]])
    made = client.post(f"{w.url}?mode=partial", content=body, headers=w.stranger | CSV)
    # the cohort is open (visible), but the learner belongs to neither caller's agency
    assert made.status_code == 200, made.text
    assert made.json()["rows"][0]["errors"][0]["type"] == "learner_not_found"
    hidden = client.post(
        "/v1/cohorts/coh_nothere/enrollments/bulk", content=body, headers=w.organiser | CSV
    )
    assert hidden.status_code == 404


def test_same_bulk_twice_with_one_idempotency_key_enrols_once(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session, 3)
    body = _csv(["nip", *w.keys])
    headers = w.organiser | CSV | {"Idempotency-Key": "bulk-roster-1"}
    first = client.post(w.url, content=body, headers=headers)
    second = client.post(w.url, content=body, headers=headers)
    assert first.status_code == second.status_code == 201, second.text
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.json() == first.json()
    assert _count(session, w.cohort["id"]) == 3


def test_fifty_rows_into_forty_seats_with_waitlist(client: TestClient, session: Session) -> None:
    w = _world(client, session, 50, capacity=40, waitlist_enabled=True)
    made = client.post(w.url, content=_csv(["nip", *w.keys]), headers=w.organiser | CSV)
    assert made.status_code == 201, made.text
    assert made.json()["counts"]["created"] == 40 and made.json()["counts"]["waitlisted"] == 10
    cohort = client.get(f"/v1/cohorts/{w.cohort['id']}", headers=w.organiser).json()
    assert (cohort["seats_taken"], cohort["waitlist_length"]) == (40, 10)
    last = made.json()["rows"][-1]["enrollment_id"]
    one = client.get(f"/v1/enrollments/{last}", headers=w.organiser).json()
    assert one["status"] == "waitlisted" and one["waitlist_position"] == 10


def test_fifty_rows_into_forty_seats_without_waitlist(client: TestClient, session: Session) -> None:
    w = _world(client, session, 50, capacity=40, waitlist_enabled=False)
    body = _csv(["nip", *w.keys])
    refused = client.post(w.url, content=body, headers=w.organiser | CSV)
    assert refused.status_code == 422, refused.text
    full = [r for r in refused.json()["rows"] if r["outcome"] == "rejected"]
    assert len(full) == 10 and {r["errors"][0]["type"] for r in full} == {"cohort_full"}
    assert _count(session, w.cohort["id"]) == 0
    made = client.post(f"{w.url}?mode=partial", content=body, headers=w.organiser | CSV)
    assert made.status_code == 201 and made.json()["counts"]["created"] == 40
    assert _count(session, w.cohort["id"]) == 40
    cohort = client.get(f"/v1/cohorts/{w.cohort['id']}", headers=w.organiser).json()
    assert cohort["seats_taken"] == 40 and cohort["seats_left"] == 0


def test_xlsx_workbook_as_the_body(client: TestClient, session: Session) -> None:
    w = _world(client, session, 1)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Daftar peserta pelatihan"])  # a title line above the header
    sheet.append(["NIP", "Nama"])
    sheet.append([w.keys[0], "Satu"])
    buffer = io.BytesIO()
    book.save(buffer)
    made = client.post(
        w.url, content=buffer.getvalue(), headers=w.organiser | {"Content-Type": XLSX}
    )
    assert made.status_code == 201, made.text
    assert made.json()["rows"][0] | {"enrollment_id": None} == {
        "row": 3, "learner_key": w.keys[0], "outcome": "created", "enrollment_id": None,
        "errors": [],
    }  # fmt: skip


def test_an_anonymous_upload_is_401_before_the_form_is_read(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session, 1)
    fields = {f"x{i}": "1" for i in range(8)}  # past the form's field limit
    files = {"file": ("peserta.csv", b"nip\n", "text/csv")}
    got = client.post(w.url, data=fields, files=files)
    assert got.status_code == 401, got.text


def test_a_bulk_enrols_withdrawn_learners_again_on_their_enrolments(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session, 3, capacity=2, waitlist_enabled=True)
    body = _csv(["nip", w.keys[0], w.keys[1]])
    first = client.post(w.url, content=body, headers=w.organiser | CSV).json()
    ids = [r["enrollment_id"] for r in first["rows"]]
    for enrollment_id in ids:
        gone = client.post(
            f"/v1/enrollments/{enrollment_id}/transitions",
            json={"to": "withdrawn", "reason": "Mutasi"},
            headers=w.organiser,
        )
        assert gone.status_code == 200, gone.text
    again = client.post(
        w.url, content=_csv(["nip", w.keys[2], w.keys[0], w.keys[1]]), headers=w.organiser | CSV
    )
    assert again.status_code == 201, again.text
    rows = again.json()["rows"]
    assert [r["outcome"] for r in rows] == ["created", "created", "waitlisted"]
    assert [r["enrollment_id"] for r in rows[1:]] == ids  # the same rows, not new ones
    assert _count(session, w.cohort["id"]) == 3
    cohort = client.get(f"/v1/cohorts/{w.cohort['id']}", headers=w.organiser).json()
    assert (cohort["seats_taken"], cohort["waitlist_length"]) == (2, 1)
    waiting = client.get(f"/v1/enrollments/{ids[1]}", headers=w.organiser).json()
    assert (waiting["status"], waiting["waitlist_position"], waiting["version"]) == (
        "waitlisted", 1, 3,
    )  # fmt: skip
    history = client.get(f"/v1/enrollments/{ids[1]}/history", headers=w.organiser).json()
    assert [(e["seq"], e["from_status"], e["to_status"]) for e in history["items"]] == [
        (1, None, "proposed"),
        (2, "proposed", "withdrawn"),
        (3, "withdrawn", "waitlisted"),
    ]
    resent = client.post(
        w.url, content=_csv(["nip", w.keys[0], w.keys[1]]), headers=w.organiser | CSV
    )
    assert resent.status_code == 200, resent.text  # nothing to write
    assert resent.json()["counts"]["already_enrolled"] == 2


def test_bulk_rows_name_guests_by_ext_key_and_pppk_staff_by_pppk_key(
    client: TestClient, session: Session
) -> None:
    org = make_agency(session)
    organiser = auth_headers(make_user(session, org, "agency_admin"))
    session.rollback()
    course = make_published_course(client, organiser, open_to_non_asn=True)
    cohort = make_open_cohort(client, organiser, course["id"])
    url = f"/v1/cohorts/{cohort['id']}/enrollments/bulk"
    guest = make_learner(
        client, organiser, f"ext:{org.slug}:TAMU-001", asn_type="non_asn", rank=None
    )
    pppk = make_learner(client, organiser, "pppk:199003152021011001", asn_type="pppk", rank="IX")
    body = _csv(
        ["kunci peserta;nip;nama", f"{guest['learner_key']};;Tamu", f";{pppk['learner_key']};P"],
        sep=";",
    )
    made = client.post(url, content=body, headers=organiser | CSV)
    assert made.status_code == 201, made.text
    rows = made.json()["rows"]
    assert [(r["learner_key"], r["outcome"]) for r in rows] == [
        (guest["learner_key"], "created"),
        (pppk["learner_key"], "created"),
    ]
    unknown = client.post(
        url, json=[{"learner_key": f"ext:{org.slug}:TAMU-999"}], headers=organiser | ID
    )
    assert unknown.status_code == 422, unknown.text
    error = unknown.json()["rows"][0]["errors"][0]
    assert error["type"] == "learner_not_found" and error["loc"] == ["body", 1, "learner_key"]
    bad = client.post(url, json=[{"learner_key": "ext:bukan slug:X"}], headers=organiser)
    assert bad.json()["rows"][0]["errors"][0]["type"] == "nip_invalid"
