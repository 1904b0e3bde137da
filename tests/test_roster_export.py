"""Roster export: GET /v1/cohorts/{id}/enrollments as CSV or XLSX by Accept, the whole
roster in one file, formula-safe cells, and the same visibility as the JSON roster."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import load_workbook
from sqlmodel import Session
from starlette.testclient import TestClient

from app.models.catalogue import roman
from tests.factories import (
    auth_headers,
    make_agency,
    make_learner_row,
    make_open_cohort,
    make_published_course,
    make_user,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EVIL = '=HYPERLINK("http://evil.example","klik")'


def _world(
    client: TestClient, session: Session, learners: int
) -> tuple[dict[str, str], dict[str, str], dict[str, Any], list[str]]:
    org, other = make_agency(session), make_agency(session)
    organiser = auth_headers(make_user(session, org, "agency_admin"))
    stranger = auth_headers(make_user(session, other, "agency_admin"))
    keys = [
        make_learner_row(session, org, i, name=EVIL if i == 0 else f"Peserta {i}").learner_key
        for i in range(learners)
    ]
    session.commit()
    session.rollback()
    course = make_published_course(client, organiser)
    cohort = make_open_cohort(
        client, organiser, course["id"], capacity=learners - 2, waitlist_enabled=True
    )
    body = ("nip\n" + "\n".join(keys) + "\n").encode()
    made = client.post(
        f"/v1/cohorts/{cohort['id']}/enrollments/bulk",
        content=body,
        headers=organiser | {"Content-Type": "text/csv"},
    )
    assert made.status_code == 201, made.text
    return organiser, stranger, cohort, keys


def test_csv_export_is_the_whole_roster_with_formulas_neutralised(
    client: TestClient, session: Session
) -> None:
    organiser, _, cohort, keys = _world(client, session, 120)
    url = f"/v1/cohorts/{cohort['id']}/enrollments"
    got = client.get(url, headers=organiser | {"Accept": "text/csv"})
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("text/csv")
    name = f"angkatan-{roman(cohort['number']).lower()}-{cohort['year']}.csv"
    assert got.headers["content-disposition"] == f'attachment; filename="{name}"'
    assert "Accept" in got.headers["vary"]
    rows = list(csv.DictReader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert len(rows) == 120  # not paged
    assert sorted(r["nip"] for r in rows) == sorted(keys)
    evil = next(r for r in rows if r["nip"] == keys[0])
    assert evil["name"] == "'" + EVIL
    waiting = sorted(int(r["waitlist_position"]) for r in rows if r["status"] == "waitlisted")
    assert waiting == [1, 2]
    json_page = client.get(url, headers=organiser)
    assert json_page.headers["content-type"].startswith("application/json")


def test_xlsx_export_keeps_nips_as_text_and_never_a_formula(
    client: TestClient, session: Session
) -> None:
    organiser, _, cohort, keys = _world(client, session, 5)
    got = client.get(
        f"/v1/cohorts/{cohort['id']}/enrollments", headers=organiser | {"Accept": XLSX}
    )
    assert got.status_code == 200, got.text
    assert got.headers["content-disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(got.content)).worksheets[0]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    header, body = values[0], values[1:]
    assert len(body) == 5
    nip, name = header.index("nip"), header.index("name")
    assert sorted(r[nip] for r in body) == sorted(keys)  # text, not 1.98E+17
    evil = next(r for r in body if r[nip] == keys[0])
    assert evil[name] == "'" + EVIL
    for row in sheet.iter_rows():
        assert all(c.data_type != "f" for c in row)


def test_an_export_imports_back_as_already_enrolled(client: TestClient, session: Session) -> None:
    organiser, _, cohort, keys = _world(client, session, 4)
    url = f"/v1/cohorts/{cohort['id']}/enrollments"
    exported = client.get(url, headers=organiser | {"Accept": "text/csv"}).content
    again = client.post(
        f"{url}/bulk", content=exported, headers=organiser | {"Content-Type": "text/csv"}
    )
    assert again.status_code == 200, again.text
    assert again.json()["counts"]["already_enrolled"] == 4


def test_another_agency_cannot_export_the_roster(client: TestClient, session: Session) -> None:
    _, stranger, cohort, _ = _world(client, session, 3)
    got = client.get(
        f"/v1/cohorts/{cohort['id']}/enrollments", headers=stranger | {"Accept": "text/csv"}
    )
    assert got.status_code == 404
