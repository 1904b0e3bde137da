"""The NIP table: each wrong part of a NIP (or NI PPPK) is a 422 that names it, in
English and in Indonesian; good ones are accepted with spaces removed."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from app.core.errors import ProblemError
from app.models.learner import Gender
from app.services.learning.keys import parse_key
from app.services.learning.nip import check_ni_pppk, check_nip
from tests.factories import auth_headers, learner_payload, make_agency, make_user

TODAY = date(2026, 11, 22)


@pytest.mark.parametrize(
    ("raw", "born", "gender"),
    [
        ("198001012005011001", date(1980, 1, 1), Gender.male),
        ("19800101 200501 1 001", date(1980, 1, 1), Gender.male),
        ("198402292010022015", date(1984, 2, 29), Gender.female),  # 29 Feb of a leap year
        ("200002292026111001", date(2000, 2, 29), Gender.male),  # 2000 is a leap year
        ("199512312026111999", date(1995, 12, 31), Gender.male),  # start this month
    ],
)
def test_valid_nips_are_accepted_and_read(raw: str, born: date, gender: Gender) -> None:
    parts = check_nip(raw, today=TODAY)
    assert parts.digits == raw.replace(" ", "")
    assert parts.birth_date == born
    assert parts.gender == gender


BAD = [
    # (NIP, English part named, Indonesian part named)
    ("198102292005011001", "Digits 1-8 of the NIP (birth date 19810229)", "Angka ke-1 sampai ke-8 NIP"),
    ("190002292005011001", "birth date 19000229", "tanggal lahir 19000229"),  # 1900: not leap
    ("198013012005011001", "birth date 19801301", "bukan tanggal yang ada"),
    ("203001012005011001", "birth date 2030-01-01) are in the future", "masa depan"),
    ("198001012031051001", "Digits 9-14 of the NIP (CPNS start 2031-05) are in the future",
     "Angka ke-9 sampai ke-14 NIP (TMT CPNS 2031-05) ada di masa depan"),
    ("198001012026121001", "CPNS start 2026-12) are in the future", "TMT CPNS 2026-12"),
    ("198001012005131001", "CPNS start 200513) are not a year and month", "bukan tahun dan bulan"),
    ("198001011979051001", "CPNS start 1979-05) are not after the birth date",
     "tidak sesudah tanggal lahir"),
    ("198005012005133001", "Digits 9-14", "Angka ke-9"),
    ("198001012005013001", "Digit 15 of the NIP (gender) is 3", "Angka ke-15 NIP (jenis kelamin) bernilai 3"),
    ("198001012005011000", "Digits 16-18 of the NIP (sequence) are 000",
     "Angka ke-16 sampai ke-18 NIP (nomor urut) bernilai 000"),
    ("19800101200501100", "A NIP has 18 digits; this one has 17", "NIP terdiri dari 18 angka; yang ini 17"),
    ("1980010120050110011", "this one has 19", "yang ini 19"),
    ("19800101200501100A", "digits and spaces; remove 'A'", "hanya boleh berisi angka dan spasi"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "english", "indonesian"), BAD)
def test_each_wrong_part_is_named(raw: str, english: str, indonesian: str) -> None:
    with pytest.raises(ProblemError) as caught:
        check_nip(raw, today=TODAY)
    assert caught.value.status == 422
    assert english in (caught.value.detail or "")
    assert indonesian in (caught.value.detail_id or "")


def test_ni_pppk_checks_length_and_birth_date_only() -> None:
    assert check_ni_pppk("19900315 202101 3 000", today=TODAY) == (
        "199003152021013000",
        date(1990, 3, 15),
    )
    with pytest.raises(ProblemError, match="Digits 1-8 of the NI PPPK"):
        check_ni_pppk("199002302021011001", today=TODAY)
    with pytest.raises(ProblemError, match="18 digits; this one has 10"):
        check_ni_pppk("1990031520", today=TODAY)


def test_keys_by_kind_of_learner() -> None:
    assert parse_key("19800101 200501 1 001", today=TODAY).key == "198001012005011001"
    assert parse_key("pppk:199003152021011001", today=TODAY).key == "pppk:199003152021011001"
    guest = parse_key("ext:kota-batu:TAMU-0001", today=TODAY)
    assert (guest.key, guest.agency_slug, guest.external_ref) == (
        "ext:kota-batu:TAMU-0001",
        "kota-batu",
        "TAMU-0001",
    )
    with pytest.raises(ProblemError, match="not a slug"):
        parse_key("ext:Kota_Batu:1", today=TODAY)
    with pytest.raises(ProblemError, match="external_ref"):
        parse_key("ext:kota-batu:", today=TODAY)


# Through the API "today" is the real date: leave out the row that is only future in 2026.
API_BAD = [row for row in BAD if "2026-12" not in row[1]]


@pytest.mark.parametrize(("raw", "english", "indonesian"), API_BAD)
def test_put_with_a_bad_nip_is_a_422_naming_the_part_in_both_languages(
    client: TestClient, session: Session, raw: str, english: str, indonesian: str
) -> None:
    headers = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    url = f"/v1/learners/{raw}"
    answer = client.put(url, json=learner_payload(), headers=headers)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert english in body["detail"]
    assert body["errors"][0]["loc"] == ["path", "learner_key"]
    answer_id = client.put(url, json=learner_payload(), headers=headers | {"Accept-Language": "id"})
    assert indonesian in answer_id.json()["detail"]
    assert indonesian in answer_id.json()["errors"][0]["msg"]


def test_put_with_spaces_in_the_nip_stores_it_without(client: TestClient, session: Session) -> None:
    headers = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    answer = client.put(
        "/v1/learners/19800101 200501 1 001", json=learner_payload(), headers=headers
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["nip"] == "198001012005011001"
    assert answer.headers["Location"] == "/v1/learners/198001012005011001"
    again = client.get("/v1/learners/198001012005011001", headers=headers)
    assert again.status_code == 200
