"""/v1/learners: upsert by NIP, reads, changes with If-Match, names, phones, the list."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session
from starlette.testclient import TestClient

from tests.factories import (
    auth_headers,
    learner_payload,
    make_agency,
    make_learner,
    make_user,
    nip,
)


@pytest.fixture
def admin(session: Session) -> dict[str, str]:
    return auth_headers(make_user(session, make_agency(session), "agency_admin"))


def test_put_creates_then_updates_and_the_same_body_again_changes_nothing(
    client: TestClient, admin: dict[str, str]
) -> None:
    key = nip(birth="19850317", gender="2")
    body = learner_payload(name="Siti Aminah", front_title="Dr.", back_title="S.Sos., M.H.")
    created = client.put(f"/v1/learners/{key}", json=body, headers=admin)
    assert created.status_code == 201, created.text
    learner = created.json()
    assert learner["learner_key"] == learner["nip"] == key
    assert learner["display_name"] == "Dr. Siti Aminah, S.Sos., M.H."
    # birth date and gender come from the NIP when not given
    assert (learner["birth_date"], learner["gender"]) == ("1985-03-17", "female")
    assert learner["agency_id"]
    again = client.put(f"/v1/learners/{key}", json=body, headers=admin)
    assert again.status_code == 200
    assert again.headers["ETag"] == created.headers["ETag"]
    changed = client.put(f"/v1/learners/{key}", json={**body, "rank": "III/b"}, headers=admin)
    assert changed.status_code == 200
    assert changed.json()["rank"] == "III/b"
    assert changed.json()["version"] == 2
    # PUT replaces: a field left out is emptied
    replaced = client.put(
        f"/v1/learners/{key}", json={"asn_type": "pns", "name": "Siti Aminah"}, headers=admin
    )
    assert replaced.json()["front_title"] is None
    assert replaced.json()["birth_date"] == "1985-03-17"


def test_get_and_patch_with_if_match(client: TestClient, admin: dict[str, str]) -> None:
    learner = make_learner(client, admin)
    url = f"/v1/learners/{learner['learner_key']}"
    read = client.get(url, headers=admin)
    assert read.status_code == 200
    etag = read.headers["ETag"]
    assert client.get(url, headers=admin | {"If-None-Match": etag}).status_code == 304
    patched = client.patch(
        url, json={"position_title": "Analis SDM Aparatur"}, headers=admin | {"If-Match": etag}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["position_title"] == "Analis SDM Aparatur"
    stale = client.patch(url, json={"work_unit": "Sekretariat"}, headers=admin | {"If-Match": etag})
    assert stale.status_code == 412
    assert client.patch(url, json={"name": None}, headers=admin).status_code == 422
    # a CPNS becoming PNS keeps the NIP; a NIP learner cannot become PPPK
    assert client.patch(url, json={"asn_type": "cpns"}, headers=admin).status_code == 200
    wrong = client.patch(url, json={"asn_type": "pppk"}, headers=admin)
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["loc"] == ["body", "asn_type"]


def test_birth_date_and_gender_must_agree_with_the_nip(
    client: TestClient, admin: dict[str, str]
) -> None:
    key = nip(birth="19800101", gender="1")
    for field, value, part in (
        ("birth_date", "1980-01-02", "digits 1-8 of the NIP (1980-01-01)"),
        ("gender", "female", "digit 15 of the NIP (male)"),
    ):
        answer = client.put(
            f"/v1/learners/{key}", json=learner_payload(**{field: value}), headers=admin
        )
        assert answer.status_code == 422, answer.text
        assert part in answer.json()["detail"]
        assert answer.json()["errors"][0]["loc"] == ["body", field]
        in_id = client.put(
            f"/v1/learners/{key}",
            json=learner_payload(**{field: value}),
            headers=admin | {"Accept-Language": "id"},
        )
        assert "tidak sesuai" in in_id.json()["detail"]
    agreeing = learner_payload(birth_date="1980-01-01", gender="male")
    assert client.put(f"/v1/learners/{key}", json=agreeing, headers=admin).status_code == 201


def test_asn_type_must_fit_the_key_and_rank_the_type(
    client: TestClient, admin: dict[str, str]
) -> None:
    answer = client.put(
        f"/v1/learners/{nip()}", json=learner_payload(asn_type="pppk"), headers=admin
    )
    assert answer.status_code == 422
    assert "a NIP for pns and cpns" in answer.json()["detail"]
    pppk = client.put(
        "/v1/learners/pppk:199003152021011001",
        json=learner_payload(asn_type="pppk", rank="III/a"),
        headers=admin,
    )
    assert pppk.status_code == 422
    assert "I to XVII" in pppk.json()["detail"]
    ok = client.put(
        "/v1/learners/pppk:199003152021011001",
        json=learner_payload(asn_type="pppk", rank="IX"),
        headers=admin,
    )
    assert ok.status_code == 201, ok.text
    assert (ok.json()["ni_pppk"], ok.json()["birth_date"]) == ("199003152021011001", "1990-03-15")


def test_guests_are_keyed_by_their_agency_slug(client: TestClient, session: Session) -> None:
    agency = make_agency(session, slug="kota-batu")
    other = make_agency(session)
    admin = auth_headers(make_user(session, agency, "agency_admin"))
    guest = client.put(
        "/v1/learners/ext:kota-batu:TAMU-0001",
        json={"asn_type": "non_asn", "name": "Bambang", "work_unit": "SDN 1 Batu"},
        headers=admin,
    )
    assert guest.status_code == 201, guest.text
    assert guest.json()["external_ref"] == "TAMU-0001"
    assert guest.json()["nip"] is None
    foreign = client.put(
        f"/v1/learners/ext:{other.slug}:TAMU-0001",
        json={"asn_type": "non_asn", "name": "Bambang"},
        headers=admin,
    )
    assert foreign.status_code == 422
    assert "not yours" in foreign.json()["detail"]


@pytest.mark.parametrize(
    "name",
    ["Prof. Dr. KH. Said Agil Siroj", "Sukarno", "Ni Luh Putu Ayu", "O'Neil", "Ni’mah",
     "Τάσος", "Nguyễn Thị Minh Khai", "黄晓明", "Abdul-Rahman, Jr."],
)  # fmt: skip
def test_names_keep_what_people_are_called(
    client: TestClient, admin: dict[str, str], name: str
) -> None:
    answer = client.put(f"/v1/learners/{nip()}", json=learner_payload(name=name), headers=admin)
    assert answer.status_code == 201, answer.text
    assert answer.json()["name"] == name


@pytest.mark.parametrize("name", ["", " ", "   ", "Budi\x00", "Budi\nSantoso", "\tBudi", "R2D2"])
def test_names_refused(client: TestClient, admin: dict[str, str], name: str) -> None:
    answer = client.put(f"/v1/learners/{nip()}", json=learner_payload(name=name), headers=admin)
    assert answer.status_code == 422
    error = answer.json()["errors"][0]
    assert error["loc"] == ["body", "name"]
    in_id = client.put(
        f"/v1/learners/{nip()}",
        json=learner_payload(name=name),
        headers=admin | {"Accept-Language": "id"},
    )
    assert in_id.json()["errors"][0]["msg"] != error["msg"]


@pytest.mark.parametrize(
    ("phone", "stored"),
    [
        ("081234567890", "+6281234567890"),
        ("0812-3456-7890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("+62 812-3456-7890", "+6281234567890"),
        ("+62 (21) 5550-123", "+62215550123"),
        ("021 5550123", "+62215550123"),
    ],
)
def test_phones_are_stored_as_plus_62(
    client: TestClient, admin: dict[str, str], phone: str, stored: str
) -> None:
    answer = client.put(f"/v1/learners/{nip()}", json=learner_payload(phone=phone), headers=admin)
    assert answer.status_code == 201, answer.text
    assert answer.json()["phone"] == stored


@pytest.mark.parametrize(
    "phone",
    ["+1 555 123 4567", "0812", "08123456789012345", "0012345678", "+62 012345678", "phone"],
)
def test_phones_that_cannot_be_indonesian_are_refused(
    client: TestClient, admin: dict[str, str], phone: str
) -> None:
    answer = client.put(f"/v1/learners/{nip()}", json=learner_payload(phone=phone), headers=admin)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["loc"] == ["body", "phone"]
    assert "Indonesian phone number" in answer.json()["errors"][0]["msg"]


def _keys(page: dict[str, Any]) -> list[str]:
    return [item["learner_key"] for item in page["items"]]


def test_list_filters_and_cursor_pages(client: TestClient, session: Session) -> None:
    agency = make_agency(session)
    admin = auth_headers(make_user(session, agency, "agency_admin"))
    a = make_learner(client, admin, name="Ni Luh Putu Ayu", position_type="fungsional")
    b = make_learner(client, admin, name="Ayub Saputra", rank="IV/a")
    c = make_learner(
        client, admin, "pppk:199003152021011001", asn_type="pppk", name="Yohanes", rank="IX"
    )
    everyone = client.get("/v1/learners", headers=admin).json()
    assert _keys(everyone) == [a["learner_key"], b["learner_key"], c["learner_key"]]
    assert _keys(client.get("/v1/learners?q=ayu", headers=admin).json()) == [
        a["learner_key"],
        b["learner_key"],
    ]
    spaced = f"{a['nip'][:8]} {a['nip'][8:14]}"
    by_nip = client.get("/v1/learners", params={"q": spaced}, headers=admin).json()
    assert a["learner_key"] in _keys(by_nip)
    assert _keys(client.get("/v1/learners?asn_type=pppk", headers=admin).json()) == [
        c["learner_key"]
    ]
    assert _keys(client.get("/v1/learners?rank=IV/a", headers=admin).json()) == [b["learner_key"]]
    fungsional = client.get("/v1/learners?position_type=fungsional", headers=admin).json()
    assert _keys(fungsional) == [a["learner_key"]]
    by_slug = client.get(f"/v1/learners?agency={agency.slug}", headers=admin).json()
    assert len(by_slug["items"]) == 3
    first = client.get("/v1/learners?limit=2", headers=admin)
    assert 'rel="next"' in first.headers["Link"]
    cursor = first.json()["next_cursor"]
    second = client.get("/v1/learners", params={"limit": 2, "cursor": cursor}, headers=admin)
    assert _keys(second.json()) == [c["learner_key"]]
    assert second.json()["next_cursor"] is None
    assert client.get("/v1/learners?nip=1", headers=admin).status_code == 422


def test_learners_need_a_login(client: TestClient, admin: dict[str, str]) -> None:
    learner = make_learner(client, admin)
    assert client.get("/v1/learners").status_code == 401
    assert client.get(f"/v1/learners/{learner['learner_key']}").status_code == 401


def test_staff_of_the_home_agency_see_personal_data_viewers_cannot_write(
    client: TestClient, session: Session
) -> None:
    agency = make_agency(session)
    admin = auth_headers(make_user(session, agency, "agency_admin"))
    viewer = auth_headers(make_user(session, agency, "viewer"))
    learner = make_learner(client, admin, email="ayu@example.go.id", phone="081234567890")
    url = f"/v1/learners/{learner['learner_key']}"
    seen = client.get(url, headers=viewer).json()
    assert (seen["email"], seen["phone"], seen["birth_date"]) == (
        "ayu@example.go.id",
        "+6281234567890",
        learner["birth_date"],
    )
    assert client.patch(url, json={"name": "Ayu"}, headers=viewer).status_code == 403
    assert client.put(url, json=learner_payload(), headers=viewer).status_code == 403


def test_put_with_if_match_updates_only_the_version_read(
    client: TestClient, admin: dict[str, str]
) -> None:
    key = nip()
    url = f"/v1/learners/{key}"
    missing = client.put(url, json=learner_payload(), headers=admin | {"If-Match": "*"})
    assert missing.status_code == 412  # If-Match: * means "only if it exists"
    assert client.get(url, headers=admin).status_code == 404
    created = client.put(url, json=learner_payload(), headers=admin)
    etag = created.headers["ETag"]
    first = client.put(url, json=learner_payload(rank="II/c"), headers=admin | {"If-Match": etag})
    assert first.status_code == 200
    lost = client.put(url, json=learner_payload(rank="II/d"), headers=admin | {"If-Match": etag})
    assert lost.status_code == 412
    assert client.get(url, headers=admin).json()["rank"] == "II/c"


def test_viewers_cannot_release_or_transfer(client: TestClient, session: Session) -> None:
    agency = make_agency(session)
    admin = auth_headers(make_user(session, agency, "agency_admin"))
    viewer = auth_headers(make_user(session, agency, "viewer"))
    key = make_learner(client, admin)["learner_key"]
    other = make_agency(session)
    release = client.post(
        f"/v1/learners/{key}/release", json={"to_agency_id": other.id}, headers=viewer
    )
    assert release.status_code == 403
    assert client.post(f"/v1/learners/{key}/transfer", json={}, headers=viewer).status_code == 403


def test_q_matches_any_part_of_the_name_or_key_alike_on_every_engine(
    client: TestClient, session: Session
) -> None:
    """q is a case-insensitive substring of the name or key (index-backed on PostgreSQL by a
    trigram index): the same learners on SQLite and PostgreSQL, whatever the letters."""
    agency = make_agency(session)
    admin = auth_headers(make_user(session, agency, "agency_admin"))
    session.rollback()
    names = ["Ñoman Dwi Ńyoman", "I Gusti Ayu Ratih", "Ma'ruf Amin", "O'Neil-Siregar", "Ayu"]
    made = [make_learner(client, admin, name=n) for n in names]
    keys = {m["name"]: m["learner_key"] for m in made}

    def found(q: str) -> set[str]:
        got = client.get("/v1/learners", params={"q": q, "limit": 100}, headers=admin)
        assert got.status_code == 200, got.text
        return {i["name"] for i in got.json()["items"]}

    for q in ["ayu", "AYU", "ñoman", "ÑOMAN", "ma'ruf", "'neil-si", "gusti ayu", "yu r", "%", "_"]:
        expected = {n for n in names if q.casefold() in f"{n.casefold()} {keys[n]}"}
        assert found(q) == expected, q
    nip_of_ayu = keys["Ayu"]
    assert found(f"{nip_of_ayu[:8]} {nip_of_ayu[8:14]} {nip_of_ayu[14:]}") == {"Ayu"}
    assert found(nip_of_ayu[9:16]) == {n for n in names if nip_of_ayu[9:16] in keys[n]}


def test_q_on_postgresql_is_served_by_the_trigram_index(session: Session) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the trigram index exists on PostgreSQL only")
    session.exec(text("SET LOCAL enable_seqscan = off"))  # type: ignore[call-overload]
    plan = session.exec(  # type: ignore[call-overload]
        text("EXPLAIN SELECT id FROM learner WHERE search LIKE '%' || :q || '%' ESCAPE '/'"),
        params={"q": "rahma"},
    ).all()
    session.rollback()
    assert "ix_learner_search_trgm" in " ".join(r[0] for r in plan)
