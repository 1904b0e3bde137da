"""The yearly JP ledger of a learner: the year's total with the entitlement status, the
external records (credited once), the SIASN export, and who may see it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from app.core.config import get_settings
from tests.factories import make_learner, make_learner_login, nip
from tests.factories_jpledger import Home, credited_course, external, make_home


@pytest.fixture
def home(session: Session) -> Home:
    return make_home(session)


def test_cohort_ending_31_december_in_jayapura_credits_that_year(
    client: TestClient, session: Session, home: Home
) -> None:
    key = make_learner(client, home.admin)["learner_key"]
    # 31 December in Asia/Jayapura (UTC+9) is still 31 December, whatever the UTC instant
    credited_course(
        client, session, home, [key], total_jp=12.5, starts_on="2025-12-29",
        ends_on="2025-12-31", timezone="Asia/Jayapura",
    )  # fmt: skip
    credited_course(client, session, home, [key], total_jp=6, ends_on="2026-01-02",
                    starts_on="2026-01-01", timezone="Asia/Jayapura")  # fmt: skip
    y2025 = client.get(f"/v1/learners/{key}/jp", params={"year": 2025}, headers=home.admin)
    assert y2025.status_code == 200, y2025.text
    body = y2025.json()
    assert body["total_jp"] == 12.5
    assert [(e["source"], e["jp"], e["ends_on"]) for e in body["entries"]] == [
        ("course", 12.5, "2025-12-31")
    ]
    y2026 = client.get(f"/v1/learners/{key}/jp", params={"year": 2026}, headers=home.admin)
    assert y2026.json()["total_jp"] == 6


def test_pns_floor_met_or_missing(client: TestClient, session: Session, home: Home) -> None:
    short = make_learner(client, home.admin)["learner_key"]
    enough = make_learner(client, home.admin, asn_type="cpns")["learner_key"]
    credited_course(client, session, home, [short, enough], total_jp=12)
    client.post(f"/v1/learners/{enough}/jp-records", json=external(jp=8), headers=home.admin)

    missing = client.get(f"/v1/learners/{short}/jp?year=2025", headers=home.admin).json()
    assert missing["total_jp"] == 12
    assert missing["entitlement"] | {"note": None, "note_id": None} == {
        "rule": "floor", "floor_jp": 20, "floor_met": False, "missing_jp": 8,
        "cap_jp": None, "cap_exceeded": None, "over_cap_jp": None, "note": None, "note_id": None,
    }  # fmt: skip
    met = client.get(f"/v1/learners/{enough}/jp?year=2025", headers=home.admin).json()
    assert met["total_jp"] == 20
    assert met["entitlement"]["floor_met"] is True
    assert met["entitlement"]["missing_jp"] == 0


@pytest.fixture
def thresholds(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def test_settings_change_floor_and_cap(
    client: TestClient, session: Session, home: Home, thresholds: pytest.MonkeyPatch
) -> None:
    pns = make_learner(client, home.admin)["learner_key"]
    pppk = make_learner(client, home.admin, "pppk:" + nip(), asn_type="pppk", rank="IX")
    credited_course(client, session, home, [pns, pppk["learner_key"]], total_jp=12)
    thresholds.setenv("BANGKOM_JP_FLOOR", "10")
    thresholds.setenv("BANGKOM_PPPK_JP_CAP", "11.5")
    get_settings.cache_clear()
    floor = client.get(f"/v1/learners/{pns}/jp?year=2025", headers=home.admin).json()
    assert floor["entitlement"]["floor_jp"] == 10
    assert floor["entitlement"]["floor_met"] is True
    cap = client.get(f"/v1/learners/{pppk['learner_key']}/jp?year=2025", headers=home.admin)
    assert cap.json()["entitlement"]["cap_jp"] == 11.5
    assert cap.json()["entitlement"]["cap_exceeded"] is True
    assert cap.json()["entitlement"]["over_cap_jp"] == 0.5


def test_pppk_cap_exceeded_and_non_asn_has_neither(
    client: TestClient, session: Session, home: Home
) -> None:
    pppk = make_learner(client, home.admin, "pppk:" + nip(), asn_type="pppk", rank="IX")
    guest = make_learner(
        client, home.admin, f"ext:{home.agency.slug}:guest-1", asn_type="non_asn", rank=None
    )
    keys = [pppk["learner_key"], guest["learner_key"]]
    for jp in (20, 5):
        client.post(f"/v1/learners/{keys[0]}/jp-records", json=external(jp=jp), headers=home.admin)
    client.post(f"/v1/learners/{keys[1]}/jp-records", json=external(jp=30), headers=home.admin)
    over = client.get(f"/v1/learners/{keys[0]}/jp?year=2025", headers=home.admin).json()
    assert over["total_jp"] == 25
    assert over["entitlement"]["rule"] == "cap"
    assert over["entitlement"]["cap_jp"] == 24
    assert over["entitlement"]["cap_exceeded"] is True
    assert over["entitlement"]["over_cap_jp"] == 1
    assert over["entitlement"]["floor_met"] is None
    none = client.get(f"/v1/learners/{keys[1]}/jp?year=2025", headers=home.admin).json()
    assert none["total_jp"] == 30
    assert none["entitlement"]["rule"] == "none"
    assert none["entitlement"]["floor_met"] is None and none["entitlement"]["cap_exceeded"] is None
    assert "non-ASN" in none["entitlement"]["note"]


def test_year_etag_answers_304_until_the_ledger_changes(client: TestClient, home: Home) -> None:
    key = make_learner(client, home.admin)["learner_key"]
    first = client.get(f"/v1/learners/{key}/jp?year=2025", headers=home.admin)
    etag = first.headers["ETag"]
    same = client.get(
        f"/v1/learners/{key}/jp?year=2025", headers=home.admin | {"If-None-Match": etag}
    )
    assert same.status_code == 304
    client.post(f"/v1/learners/{key}/jp-records", json=external(), headers=home.admin)
    changed = client.get(
        f"/v1/learners/{key}/jp?year=2025", headers=home.admin | {"If-None-Match": etag}
    )
    assert changed.status_code == 200
    assert changed.json()["total_jp"] == 4


def test_year_is_required_and_bounded(client: TestClient, home: Home) -> None:
    key = make_learner(client, home.admin)["learner_key"]
    for query in ("", "?year=1899", "?year=abc", "?year=2025&yaer=1"):
        answer = client.get(f"/v1/learners/{key}/jp{query}", headers=home.admin)
        assert answer.status_code == 422, query


def test_learner_login_reads_own_year_staff_login_gets_403(client: TestClient, home: Home) -> None:
    key = make_learner(client, home.admin)["learner_key"]
    client.post(f"/v1/learners/{key}/jp-records", json=external(jp=6), headers=home.admin)
    own = make_learner_login(client, home.admin, key)
    mine = client.get("/v1/me/jp?year=2025", headers=own)
    assert mine.status_code == 200, mine.text
    assert mine.json()["total_jp"] == 6
    assert mine.json()["learner_key"] == key
    assert mine.json() == client.get(f"/v1/learners/{key}/jp?year=2025", headers=own).json()
    assert client.get("/v1/me/jp?year=2025", headers=home.admin).status_code == 403
    other = make_learner(client, home.admin)["learner_key"]
    assert client.get(f"/v1/learners/{other}/jp?year=2025", headers=own).status_code == 404


def test_another_agency_gets_404_everywhere(
    client: TestClient, session: Session, home: Home
) -> None:
    key = make_learner(client, home.admin)["learner_key"]
    made = client.post(f"/v1/learners/{key}/jp-records", json=external(), headers=home.admin)
    record = made.json()["id"]
    stranger = make_home(session)
    base = f"/v1/learners/{key}"
    assert client.get(f"{base}/jp?year=2025", headers=stranger.admin).status_code == 404
    assert client.get(f"{base}/jp-records", headers=stranger.admin).status_code == 404
    assert client.get(f"{base}/jp-records/{record}", headers=stranger.admin).status_code == 404
    posted = client.post(f"{base}/jp-records", json=external(), headers=stranger.admin)
    assert posted.status_code == 404
    patched = client.patch(f"{base}/jp-records/{record}", json={"jp": 1}, headers=stranger.admin)
    assert patched.status_code == 404
    assert client.delete(f"{base}/jp-records/{record}", headers=stranger.admin).status_code == 404
    assert client.get(f"{base}/jp?year=2025", headers=home.admin).json()["total_jp"] == 4


def test_organiser_of_the_learners_cohort_does_not_see_the_ledger(
    client: TestClient, session: Session, home: Home
) -> None:
    organiser = make_home(session)
    key = make_learner(client, home.admin)["learner_key"]
    credited_course(client, session, organiser, [key])
    # the organiser sees the learner (enrolled in its cohort) but not their ledger
    assert client.get(f"/v1/learners/{key}", headers=organiser.admin).status_code == 200
    assert (
        client.get(f"/v1/learners/{key}/jp?year=2025", headers=organiser.admin).status_code == 404
    )
    assert (
        client.get(f"/v1/learners/{key}/jp?year=2025", headers=home.admin).json()["total_jp"] == 10
    )
