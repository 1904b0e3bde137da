"""``/v1/reports/jp-compliance``: an agency's PNS/CPNS against the yearly floor: counts, the
list of those below it (learners without any JP included), CSV/XLSX formula-safe."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlmodel import Session
from starlette.testclient import TestClient

from app.models import JPRecord, Learner
from app.models.jp import JPSource
from app.services.learning.roster_files import XLSX_TYPE
from tests.factories import auth_headers, make_learner, make_learner_row, make_user
from tests.factories_jpledger import Home, credited_course, external, make_home

REPORT = "/v1/reports/jp-compliance"
SUMMARY = "/v1/reports/jp-compliance/summary"


@pytest.fixture
def home(session: Session) -> Home:
    return make_home(session)


def _credit(session: Session, learner: Learner, jp_halves: int, year: int = 2025) -> None:
    session.add(
        JPRecord(
            learner_id=learner.id, year=year, jp_halves=jp_halves, source=JPSource.external,
            title="Seminar", organiser="LAN RI", starts_on=date(year, 2, 1),
            ends_on=date(year, 2, 1), certificate_number=f"{learner.id}-{year}-{jp_halves}",
        )
    )  # fmt: skip


def _population(session: Session, home: Home) -> list[Learner]:
    """Six learners: PNS with 0, 19.5, 20 and 30 JP in 2025 (and 40 in 2024), a CPNS with 5,
    a PPPK with 0 (not counted)."""
    rows = [make_learner_row(session, home.agency, i) for i in range(5)]
    rows[4].asn_type = "cpns"  # type: ignore[assignment]
    pppk = make_learner_row(
        session, home.agency, 5, asn_type="pppk", nip=None, learner_key="pppk:198001012005011999"
    )
    session.flush()
    for learner, halves in zip(rows[1:], (39, 40, 60, 10), strict=True):
        _credit(session, learner, halves)
    _credit(session, rows[0], 80, year=2024)
    session.commit()
    return [*rows, pppk]


def test_counts_and_the_list_below_the_floor(
    client: TestClient, session: Session, home: Home
) -> None:
    people = _population(session, home)
    summary = client.get(SUMMARY, params={"year": 2025}, headers=home.admin)
    assert summary.status_code == 200, summary.text
    assert summary.json() | {"agency_name": None} == {
        "agency_id": home.agency.id, "agency_name": None, "year": 2025, "floor_jp": 20,
        "learners": 5, "meeting_floor": 2, "below_floor": 3,
    }  # fmt: skip
    answer = client.get(REPORT, params={"year": 2025}, headers=home.admin)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    below = [(i["learner_id"], i["total_jp"], i["missing_jp"]) for i in body["items"]]
    assert below == sorted(
        [(people[0].id, 0, 20), (people[1].id, 19.5, 0.5), (people[4].id, 5, 15)]
    )
    assert body["next_cursor"] is None
    assert body["items"][-1]["asn_type"] in {"pns", "cpns"}


def test_pages_with_a_cursor(client: TestClient, session: Session, home: Home) -> None:
    _population(session, home)
    first = client.get(REPORT, params={"year": 2025, "limit": 2}, headers=home.admin)
    assert len(first.json()["items"]) == 2
    assert 'rel="next"' in first.headers["Link"]
    rest = client.get(
        REPORT,
        params={"year": 2025, "limit": 2, "cursor": first.json()["next_cursor"]},
        headers=home.admin,
    ).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None


def test_credits_through_the_api_count(client: TestClient, session: Session, home: Home) -> None:
    short = make_learner(client, home.admin)["learner_key"]
    done = make_learner(client, home.admin)["learner_key"]
    credited_course(client, session, home, [short, done], total_jp=15)
    client.post(f"/v1/learners/{done}/jp-records", json=external(jp=5), headers=home.admin)
    summary = client.get(SUMMARY, params={"year": 2025}, headers=home.admin).json()
    assert (summary["meeting_floor"], summary["below_floor"]) == (1, 1)
    body = client.get(REPORT, params={"year": 2025}, headers=home.admin).json()
    assert [(i["learner_key"], i["total_jp"]) for i in body["items"]] == [(short, 15)]


def test_csv_is_the_whole_list_and_formula_safe(
    client: TestClient, session: Session, home: Home
) -> None:
    people = _population(session, home)
    people[0].work_unit = '=HYPERLINK("http://evil")'
    session.add(people[0])
    session.commit()
    answer = client.get(
        REPORT, params={"year": 2025, "limit": 1}, headers=home.admin | {"Accept": "text/csv"}
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert f"jp-compliance-{home.agency.slug}-2025.csv" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert len(rows) == 3  # not paged
    zero = next(r for r in rows if r["nip"] == people[0].learner_key)
    assert zero["work_unit"] == '\'=HYPERLINK("http://evil")'
    assert (zero["total_jp"], zero["floor_jp"], zero["missing_jp"]) == ("0", "20", "20")


def test_xlsx_keeps_nips_as_text(client: TestClient, session: Session, home: Home) -> None:
    people = _population(session, home)
    answer = client.get(REPORT, params={"year": 2025}, headers=home.admin | {"Accept": XLSX_TYPE})
    assert answer.status_code == 200
    sheet = load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "nip"
    assert people[0].learner_key in {v[0] for v in values[1:]}
    assert len(values) == 4


def test_only_own_agency_unless_platform_admin(
    client: TestClient, session: Session, home: Home
) -> None:
    _population(session, home)
    stranger = make_home(session)
    for url in (REPORT, SUMMARY):
        for agency in (home.agency.id, home.agency.slug, "no-such-agency"):
            params = {"year": 2025, "agency": agency}
            assert client.get(url, params=params, headers=stranger.admin).status_code == 404
        csv_answer = client.get(
            url, params={"year": 2025, "agency": home.agency.id},
            headers=stranger.admin | {"Accept": "text/csv"},
        )  # fmt: skip
        assert csv_answer.status_code == 404
        viewer = auth_headers(make_user(session, home.agency, "viewer"))
        assert client.get(url, params={"year": 2025}, headers=viewer).status_code == 403
        assert client.get(url, params={"year": 2025}).status_code == 401
        assert client.get(url, headers=home.admin).status_code == 422
    assert client.get(REPORT, params={"year": 2025}, headers=stranger.admin).json()["items"] == []
    own = client.get(SUMMARY, params={"year": 2025}, headers=stranger.admin).json()
    assert own["learners"] == 0
    platform = auth_headers(make_user(session, stranger.agency, "platform_admin"))
    seen = client.get(SUMMARY, params={"year": 2025, "agency": home.agency.slug}, headers=platform)
    assert seen.json()["learners"] == 5
    listed = client.get(REPORT, params={"year": 2025, "agency": home.agency.id}, headers=platform)
    assert len(listed.json()["items"]) == 3
