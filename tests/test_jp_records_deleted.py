"""Deleting an external JP record keeps it, withdrawn with reason ``deleted``: a delta sync
(``updated_since``) sees it go, no total counts it, its URL answers 410 to every method,
and the same certificate may be recorded again."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session
from starlette.testclient import TestClient

from app.core import migrations
from tests.factories import auth_headers, make_agency, make_learner, make_user, nip
from tests.factories_jpledger import Home, external, make_home
from tests.parallel import race


@pytest.fixture
def home(session: Session) -> Home:
    return make_home(session)


def _records(client: TestClient, home: Home, key: str, **params: Any) -> list[dict[str, Any]]:
    got = client.get(f"/v1/learners/{key}/jp-records", params=params, headers=home.admin)
    assert got.status_code == 200, got.text
    return list(got.json()["items"])


def _totals(client: TestClient, home: Home, key: str) -> tuple[Any, ...]:
    """The learner's 2025 total and entries, and the agency's compliance figures."""
    year = client.get(f"/v1/learners/{key}/jp?year=2025", headers=home.admin).json()
    summary = client.get("/v1/reports/jp-compliance/summary?year=2025", headers=home.admin)
    below = client.get("/v1/reports/jp-compliance?year=2025", headers=home.admin).json()
    [row] = [r for r in below["items"] if r["learner_key"] == key]
    counts = (summary.json()["meeting_floor"], summary.json()["below_floor"])
    return year["total_jp"], [e["id"] for e in year["entries"]], counts, row["total_jp"]


def _deleted(client: TestClient, home: Home, key: str, body: dict[str, Any]) -> dict[str, Any]:
    made = client.post(f"/v1/learners/{key}/jp-records", json=body, headers=home.admin)
    assert made.status_code == 201, made.text
    gone = client.delete(made.headers["Location"], headers=home.admin)
    assert gone.status_code == 204, gone.text
    return dict(made.json())


def test_a_delta_sync_after_a_delete_gets_the_record_withdrawn_and_no_total_counts_it(
    client: TestClient, home: Home
) -> None:
    key = make_learner(client, home.admin)["learner_key"]
    kept = client.post(
        f"/v1/learners/{key}/jp-records", json=external(jp=3), headers=home.admin
    ).json()
    held = client.post(f"/v1/learners/{key}/jp-records", json=external(jp=7), headers=home.admin)
    assert held.status_code == 201, held.text
    assert _totals(client, home, key) == (10, [kept["id"], held.json()["id"]], (0, 1), 10)
    synced = held.json()["updated_at"]

    gone = client.delete(held.headers["Location"], headers=home.admin)
    assert gone.status_code == 204, gone.text
    [seen] = _records(client, home, key, updated_since=synced)
    assert seen["id"] == held.json()["id"] and seen["withdrawn_reason"] == "deleted"
    assert seen["withdrawn_at"] is not None and seen["updated_at"] > synced
    assert seen["version"] == held.json()["version"] + 1 and seen["jp"] == 7
    [siasn] = _records(client, home, key, updated_since=synced, format="siasn")
    assert siasn["withdrawn_at"] == seen["withdrawn_at"]
    # counted nowhere, listed by default nowhere; asked for, it is there
    assert _totals(client, home, key) == (3, [kept["id"]], (0, 1), 3)
    assert [r["id"] for r in _records(client, home, key)] == [kept["id"]]
    assert [r["id"] for r in _records(client, home, key, include_withdrawn="true")] == [
        kept["id"],
        seen["id"],
    ]


def test_a_deleted_record_stays_deleted_and_its_certificate_can_be_recorded_again(
    client: TestClient, home: Home
) -> None:
    key = make_learner(client, home.admin)["learner_key"]
    body = external(certificate_number="77/LAN/2025")
    first = _deleted(client, home, key, body)
    url = f"/v1/learners/{key}/jp-records/{first['id']}"
    english = home.admin
    indonesian = home.admin | {"Accept-Language": "id"}
    for method, extra in (("GET", {}), ("PATCH", {"json": {"jp": 1}}), ("DELETE", {})):
        for headers, start in ((english, "JP record"), (indonesian, "Catatan JP")):
            answer = client.request(method, url, headers=headers, **extra)  # type: ignore[arg-type]
            assert answer.status_code == 410, (method, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
            problem = answer.json()
            assert problem["code"] == "jp_record_deleted" and problem["detail"].startswith(start)
            assert f"POST /v1/learners/{key}/jp-records" in problem["detail"]
    stale = client.delete(url, headers=home.admin | {"If-Match": '"whatever"'})
    assert stale.status_code == 410  # gone first: no If-Match can bring it back
    unknown = client.get(f"/v1/learners/{key}/jp-records/jpr_unknown", headers=home.admin)
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    [still] = _records(client, home, key, include_withdrawn="true")
    assert still["version"] == first["version"] + 1  # the refused writes changed nothing

    # the same organiser and certificate number: a new record, which holds it again
    again = client.post(f"/v1/learners/{key}/jp-records", json=body, headers=home.admin)
    assert again.status_code == 201, again.text
    assert again.json()["id"] != first["id"] and again.json()["withdrawn_at"] is None
    twice = client.post(f"/v1/learners/{key}/jp-records", json=body, headers=home.admin)
    assert twice.status_code == 409 and twice.json()["record_url"] == again.headers["Location"]
    # a PATCH may take a deleted record's number too; and deleting twice is fine
    other = client.post(f"/v1/learners/{key}/jp-records", json=external(), headers=home.admin)
    assert client.delete(again.headers["Location"], headers=home.admin).status_code == 204
    moved = client.patch(
        other.headers["Location"], json={"certificate_number": "77/LAN/2025"}, headers=home.admin
    )
    assert moved.status_code == 200, moved.text
    assert [r["id"] for r in _records(client, home, key)] == [other.json()["id"]]
    assert len(_records(client, home, key, include_withdrawn="true")) == 3


def test_the_migration_downgrade_drops_deleted_records_and_restores_the_constraint(
    client: TestClient, session: Session, engine: Engine, home: Home
) -> None:
    """Revision 0024 both ways with data: 0023 removed deleted records, so the downgrade
    deletes them (they would also clash with the full unique constraint it restores)."""
    key = make_learner(client, home.admin)["learner_key"]
    body = external(certificate_number="DOWN/1")
    first = _deleted(client, home, key, body)
    live = client.post(f"/v1/learners/{key}/jp-records", json=body, headers=home.admin).json()
    session.close()
    try:
        migrations.downgrade(engine, "0023")
        with engine.connect() as conn:
            ids = conn.execute(
                text("SELECT id FROM jp_record WHERE certificate_number = 'DOWN/1'")
            ).scalars()
            assert list(ids) == [live["id"]]
    finally:
        migrations.upgrade(engine, "head")
    assert (
        client.get(f"/v1/learners/{key}/jp-records/{first['id']}", headers=home.admin).json()[
            "code"
        ]
        == "not_found"
    )
    assert (
        client.delete(f"/v1/learners/{key}/jp-records/{live['id']}", headers=home.admin).status_code
        == 204
    )
    again = client.post(f"/v1/learners/{key}/jp-records", json=body, headers=home.admin)
    assert again.status_code == 201, again.text


@pytest.mark.slow
def test_parallel_deletes_of_one_record_delete_it_once(live_server: str, session: Session) -> None:
    """Eight DELETEs of one record at once: one 204, seven 410, one feed entry, one new
    version. Four rounds, each on a new record: without the learner row lock that
    serialises a ledger's writes (PostgreSQL) a single round caught the double delete
    about 6 times in 10; four catch it ~97 times in 100."""
    headers = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    session.rollback()  # release SQLite's write lock before the server writes
    key = nip()
    put = httpx.put(
        f"{live_server}/v1/learners/{key}",
        json={"asn_type": "pns", "name": "Peserta Hapus"},
        headers=headers,
        timeout=30,
    )
    assert put.status_code == 201, put.text
    count = 8
    for _round in range(4):
        made = httpx.post(
            f"{live_server}/v1/learners/{key}/jp-records",
            json=external(),
            headers=headers,
            timeout=30,
        )
        assert made.status_code == 201, made.text
        start = httpx.get(f"{live_server}/v1/changes?limit=1000", headers=headers, timeout=30)
        cursor = start.json()["next_cursor"]
        url = f"{live_server}{made.headers['Location']}"

        def delete(http: httpx.Client, _i: int, url: str = url) -> httpx.Response:
            return http.delete(url, headers=headers)

        statuses = sorted(r.status_code for r in race(count, delete))
        assert statuses == [204] + [410] * (count - 1)
        feed = httpx.get(
            f"{live_server}/v1/changes",
            params={"after": cursor, "types": "jp_record"},
            headers=headers,
            timeout=30,
        ).json()["items"]
        assert [(e["id"], e["operation"]) for e in feed] == [(made.json()["id"], "delete")]
        got = httpx.get(url, headers=headers, timeout=30)
        assert got.status_code == 410, got.text
    listed = httpx.get(
        f"{live_server}/v1/learners/{key}/jp-records",
        params={"include_withdrawn": "true"},
        headers=headers,
        timeout=30,
    ).json()["items"]
    assert [(r["version"], r["withdrawn_reason"]) for r in listed] == [(2, "deleted")] * 4
