"""External JP records (courses taken elsewhere): credited once, corrected with If-Match,
course credits read-only, and the SIASN export."""

from __future__ import annotations

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from tests.factories import make_learner
from tests.factories_jpledger import Home, credited_course, external, make_home


@pytest.fixture
def home(session: Session) -> Home:
    return make_home(session)


def test_external_record_credits_once(client: TestClient, home: Home) -> None:
    key = make_learner(client, home.admin)["learner_key"]
    body = external(jp=7.5, organiser="Kemenko  Polhukam", certificate_number="12/KP/2025")
    made = client.post(f"/v1/learners/{key}/jp-records", json=body, headers=home.admin)
    assert made.status_code == 201, made.text
    record = made.json()
    assert made.headers["Location"] == f"/v1/learners/{key}/jp-records/{record['id']}"
    assert (record["source"], record["jp"], record["year"]) == ("external", 7.5, 2025)
    assert record["organiser"] == "Kemenko Polhukam"  # spacing normalised
    again = client.post(
        f"/v1/learners/{key}/jp-records",
        json=body | {"organiser": "Kemenko Polhukam", "title": "Another title"},
        headers=home.admin,
    )
    assert again.status_code == 409
    assert again.json()["code"] == "jp_record_exists"
    assert again.json()["record_url"] == made.headers["Location"]
    assert client.get(made.headers["Location"], headers=home.admin).json() == record
    year = client.get(f"/v1/learners/{key}/jp?year=2025", headers=home.admin).json()
    assert year["total_jp"] == 7.5


def test_idempotent_retry_replays_the_first_answer(client: TestClient, home: Home) -> None:
    key = make_learner(client, home.admin)["learner_key"]
    headers = home.admin | {"Idempotency-Key": "jp-record-retry-1"}
    body = external()
    first = client.post(f"/v1/learners/{key}/jp-records", json=body, headers=headers)
    retry = client.post(f"/v1/learners/{key}/jp-records", json=body, headers=headers)
    assert first.status_code == retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    listed = client.get(f"/v1/learners/{key}/jp-records", headers=home.admin).json()
    assert [r["id"] for r in listed["items"]] == [first.json()["id"]]


def test_input_is_checked(client: TestClient, home: Home) -> None:
    key = make_learner(client, home.admin)["learner_key"]
    url = f"/v1/learners/{key}/jp-records"
    bad = [
        external(jp=0),
        external(jp=2.25),
        external(jp=1000.5),
        external(jp="4"),
        external(ends_on="2025-03-09"),  # before starts_on
        external(certificate_number=""),
        external(organiser="LAN\nRI"),
        external(extra=1),
    ]
    for body in bad:
        answer = client.post(url, json=body, headers=home.admin | {"Accept-Language": "id"})
        assert answer.status_code == 422, body
    dates = client.post(url, json=external(ends_on="2025-03-09"), headers=home.admin)
    assert dates.json()["errors"][0]["loc"] == ["body", "ends_on"]


def test_patch_with_if_match_and_delete(client: TestClient, home: Home) -> None:
    key = make_learner(client, home.admin)["learner_key"]
    made = client.post(f"/v1/learners/{key}/jp-records", json=external(), headers=home.admin)
    url, etag = made.headers["Location"], made.headers["ETag"]
    moved = client.patch(
        url, json={"jp": 6, "ends_on": "2026-01-05", "starts_on": "2026-01-04"},
        headers=home.admin | {"If-Match": etag},
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    assert (moved.json()["jp"], moved.json()["year"], moved.json()["version"]) == (6, 2026, 2)
    stale = client.patch(url, json={"jp": 1}, headers=home.admin | {"If-Match": etag})
    assert stale.status_code == 412
    nulled = client.patch(url, json={"title": None}, headers=home.admin)
    assert nulled.status_code == 422
    assert (
        client.get(f"/v1/learners/{key}/jp?year=2025", headers=home.admin).json()["total_jp"] == 0
    )
    gone = client.delete(url, headers=home.admin | {"If-Match": etag})
    assert gone.status_code == 412
    gone = client.delete(url, headers=home.admin | {"If-Match": moved.headers["ETag"]})
    assert gone.status_code == 204
    assert client.get(url, headers=home.admin).status_code == 410  # deleted: gone, not unknown
    assert (
        client.get(f"/v1/learners/{key}/jp?year=2026", headers=home.admin).json()["total_jp"] == 0
    )


def test_patch_into_another_records_certificate_is_409(client: TestClient, home: Home) -> None:
    key = make_learner(client, home.admin)["learner_key"]
    url = f"/v1/learners/{key}/jp-records"
    first = client.post(url, json=external(certificate_number="A-1"), headers=home.admin)
    second = client.post(url, json=external(certificate_number="A-2"), headers=home.admin)
    clash = client.patch(
        second.headers["Location"], json={"certificate_number": "A-1"}, headers=home.admin
    )
    assert clash.status_code == 409
    assert clash.json()["record_url"] == first.headers["Location"]


def test_course_credits_are_read_only_here(
    client: TestClient, session: Session, home: Home
) -> None:
    key = make_learner(client, home.admin)["learner_key"]
    credited_course(client, session, home, [key])
    records = client.get(f"/v1/learners/{key}/jp-records", headers=home.admin).json()["items"]
    assert [r["source"] for r in records] == ["course"]
    url = f"/v1/learners/{key}/jp-records/{records[0]['id']}"
    patched = client.patch(url, json={"jp": 1}, headers=home.admin)
    assert patched.status_code == 409
    assert patched.json()["code"] == "jp_record_read_only"
    assert client.delete(url, headers=home.admin).status_code == 409
    assert client.get(url, headers=home.admin).json()["jp"] == 10


def test_viewer_reads_but_cannot_write(client: TestClient, session: Session, home: Home) -> None:
    from tests.factories import auth_headers, make_user

    key = make_learner(client, home.admin)["learner_key"]
    viewer = auth_headers(make_user(session, home.agency, "viewer"))
    assert client.get(f"/v1/learners/{key}/jp?year=2025", headers=viewer).status_code == 200
    posted = client.post(f"/v1/learners/{key}/jp-records", json=external(), headers=viewer)
    assert posted.status_code == 403


def test_siasn_format_field_names_and_dates(client: TestClient, home: Home) -> None:
    key = make_learner(client, home.admin)["learner_key"]
    client.post(
        f"/v1/learners/{key}/jp-records",
        json=external(
            title="Bimtek Penyusunan SKP", organiser="BKPSDM Kabupaten Tangerang",
            starts_on="2025-05-14", ends_on="2025-05-26", jp=73, certificate_number="0001/X",
        ),
        headers=home.admin,
    )  # fmt: skip
    client.post(
        f"/v1/learners/{key}/jp-records",
        json=external(starts_on="2024-12-30", ends_on="2024-12-31", jp=2.5),
        headers=home.admin,
    )
    page = client.get(
        f"/v1/learners/{key}/jp-records", params={"format": "siasn"}, headers=home.admin
    )
    assert page.status_code == 200, page.text
    first = page.json()["items"][0]
    assert first == {
        "namaKursus": "Bimtek Penyusunan SKP",
        "jumlahJam": 73,
        "nomorSertipikat": "0001/X",
        "tanggalKursus": "14-05-2025",
        "tanggalSelesaiKursus": "26-05-2025",
        "tahunKursus": 2025,
        "institusiPenyelenggara": "BKPSDM Kabupaten Tangerang",
        "withdrawn_at": None,  # not a SIASN field: added with withdrawn credits (0021)
    }
    only_2024 = client.get(
        f"/v1/learners/{key}/jp-records",
        params={"format": "siasn", "year": 2024},
        headers=home.admin,
    ).json()["items"]
    assert [(i["tahunKursus"], i["jumlahJam"]) for i in only_2024] == [(2024, 2.5)]
    assert (
        client.get(
            f"/v1/learners/{key}/jp-records", params={"format": "xml"}, headers=home.admin
        ).status_code
        == 422
    )


def test_records_list_in_pages_with_link(client: TestClient, home: Home) -> None:
    key = make_learner(client, home.admin)["learner_key"]
    made = [
        client.post(f"/v1/learners/{key}/jp-records", json=external(), headers=home.admin).json()
        for _ in range(3)
    ]
    first = client.get(f"/v1/learners/{key}/jp-records?limit=2", headers=home.admin)
    assert [r["id"] for r in first.json()["items"]] == [m["id"] for m in made[:2]]
    assert 'rel="next"' in first.headers["Link"]
    rest = client.get(
        f"/v1/learners/{key}/jp-records",
        params={"limit": 2, "cursor": first.json()["next_cursor"]},
        headers=home.admin,
    ).json()
    assert [r["id"] for r in rest["items"]] == [made[2]["id"]]
    assert rest["next_cursor"] is None


def test_patch_with_the_same_values_keeps_the_version(client: TestClient, home: Home) -> None:
    key = make_learner(client, home.admin)["learner_key"]
    body = external()
    made = client.post(f"/v1/learners/{key}/jp-records", json=body, headers=home.admin)
    same = client.patch(
        made.headers["Location"], json={"jp": body["jp"], "title": body["title"]},
        headers=home.admin,
    )  # fmt: skip
    assert same.status_code == 200
    assert same.headers["ETag"] == made.headers["ETag"]
    assert same.json()["version"] == 1
