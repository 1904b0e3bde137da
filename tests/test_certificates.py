"""Certificates: issuing a cohort's, numbering, the JP ledger, reading, revoking, who sees what."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from app.models import Cohort, JPRecord
from app.models.cohort import CohortStatus
from tests.factories import (
    auth_headers,
    make_agency,
    make_learner_login,
    make_published_course,
    make_user,
)
from tests.factories_certificates import evaluated_cohort, issue, issued


@pytest.fixture
def admin(session: Session) -> dict[str, str]:
    return auth_headers(make_user(session, make_agency(session), "agency_admin"))


def test_issue_numbers_each_passed_enrolment_once_and_writes_the_ledger(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    course = make_published_course(client, admin, code="PSK-2025")
    made = evaluated_cohort(
        client, session, admin, passed=3, failed=1, course=course, number=2, year=2025
    )
    first = issue(client, admin, made.cohort["id"])
    assert first.status_code == 201, first.text
    assert first.json()["issued"] == 3 and first.json()["already_issued"] == 0
    assert first.headers["Location"] == f"/v1/cohorts/{made.cohort['id']}/certificates"

    items = issued(client, admin, made.cohort["id"])
    assert [c["number"] for c in items] == [
        "0001/PSK-2025/II/2025",
        "0002/PSK-2025/II/2025",
        "0003/PSK-2025/II/2025",
    ]
    assert {c["enrollment_id"] for c in items} == {e["id"] for e in made.passed}
    one = items[0]
    assert one["cohort"] == "Angkatan II" and one["year"] == 2025
    assert one["jp"] == 10 and one["valid"] is True and one["revocation"] is None
    assert one["score"] in (85.5, 86.5, 87.5) and one["grade"] == "memuaskan"
    assert one["holder"]["id_kind"] == "NIP" and len(one["holder"]["id_number"]) == 18

    session.expire_all()
    ledger = {
        r.enrollment_id: r.certificate_number
        for r in session.exec(select(JPRecord).where(col(JPRecord.course_id) == course["id"]))
    }
    session.commit()
    assert ledger == {c["enrollment_id"]: c["number"] for c in items}
    cohort = session.get(Cohort, made.cohort["id"])
    assert cohort is not None and cohort.certificates_issued_at is not None
    session.commit()

    again = issue(client, admin, made.cohort["id"])
    assert again.status_code == 200, again.text
    assert again.json()["issued"] == 0 and again.json()["already_issued"] == 3
    assert len(issued(client, admin, made.cohort["id"])) == 3


def test_numbers_follow_the_course_pattern_and_count_per_agency_and_year(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    course = make_published_course(
        client, admin, code="BIMTEK", certificate_number_pattern="SERT-{year}-{seq:05d}"
    )
    assert course["certificate_number_pattern"] == "SERT-{year}-{seq:05d}"
    a = evaluated_cohort(client, session, admin, passed=2, course=course, number=1, year=2025)
    other = make_published_course(client, admin, code="LAIN")
    b = evaluated_cohort(client, session, admin, passed=1, course=other, number=1, year=2025)
    c = evaluated_cohort(client, session, admin, passed=1, course=course, number=2, year=2026)
    numbers = [x["number"] for x in issued(client, admin, a.cohort["id"])]
    numbers += [x["number"] for x in issued(client, admin, b.cohort["id"])]
    numbers += [x["number"] for x in issued(client, admin, c.cohort["id"])]
    assert numbers == ["SERT-2025-00001", "SERT-2025-00002", "0003/LAIN/I/2025", "SERT-2026-00001"]


@pytest.mark.parametrize(
    "pattern",
    [
        "{seq}/{unknown}/{year}",  # unknown placeholder
        "{course_code}/{year}",  # no seq
        "{seq:04d}/{course_code}",  # no year
        "{seq:>10}/{year}",  # a format other than zero padding
        "{year!r}/{seq}",  # a conversion
        "{seq}/{year}/{",  # unbalanced brace
        "{seq}/{year}/{course_code}/{course_code}/{course_code}",  # too long once rendered
    ],
)
def test_a_number_pattern_with_unknown_or_missing_placeholders_is_refused(
    client: TestClient, admin: dict[str, str], pattern: str
) -> None:
    course = make_published_course(client, admin)
    response = client.patch(
        f"/v1/courses/{course['id']}",
        json={"certificate_number_pattern": pattern},
        headers={**admin, "Accept-Language": "id"},
    )
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert error["loc"] == ["body", "certificate_number_pattern"]
    assert error["msg"].startswith(("Gunakan", "Berikan", "Isian"))


def test_issuing_waits_for_the_evaluation_and_needs_a_passed_enrolment(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    running = evaluated_cohort(client, session, admin, passed=1, status=CohortStatus.running)
    early = issue(client, admin, running.cohort["id"])
    assert early.status_code == 409 and early.json()["code"] == "cohort_not_evaluated"
    nobody = evaluated_cohort(client, session, admin, passed=0, failed=1, number=3)
    empty = issue(client, {**admin, "Accept-Language": "id"}, nobody.cohort["id"])
    assert empty.status_code == 409 and empty.json()["code"] == "no_passed_enrollments"
    assert empty.json()["detail"].startswith("Belum ada")
    completed = evaluated_cohort(
        client, session, admin, passed=1, status=CohortStatus.completed, number=4
    )
    assert issue(client, admin, completed.cohort["id"]).status_code == 201


def _certificate(client: TestClient, session: Session, admin: dict[str, str], **kw: Any) -> dict:
    made = evaluated_cohort(client, session, admin, passed=1, **kw)
    return issued(client, admin, made.cohort["id"])[0]


def test_another_agency_cannot_issue_read_or_revoke_certificates(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    cert = _certificate(client, session, admin)
    stranger = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    base = f"/v1/certificates/{cert['id']}"
    for path in (base, base + ".pdf", base + "/qr"):
        assert client.get(path, headers=stranger).status_code == 404, path
    revoked = client.post(base + "/revoke", json={"reason": "Data salah"}, headers=stranger)
    assert revoked.status_code == 404
    assert issue(client, stranger, cert["cohort_id"]).status_code == 404
    listed = client.get(f"/v1/cohorts/{cert['cohort_id']}/certificates", headers=stranger)
    assert listed.status_code == 200 and listed.json()["items"] == []
    assert client.get(base).status_code == 401


def test_home_agency_and_partner_read_but_only_the_issuer_revokes(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    home = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    partner_agency = make_agency(session)
    partner = auth_headers(make_user(session, partner_agency, "agency_admin"))
    course = make_published_course(client, admin, partner_agency_ids=[partner_agency.id])
    cert = _certificate(client, session, admin, course=course, learner_headers=home)
    base = f"/v1/certificates/{cert['id']}"
    for reader in (home, partner):
        assert client.get(base, headers=reader).status_code == 200
        mine = client.get(f"/v1/cohorts/{cert['cohort_id']}/certificates", headers=reader)
        assert [c["id"] for c in mine.json()["items"]] == [cert["id"]]
        refused = client.post(base + "/revoke", json={"reason": "Data salah"}, headers=reader)
        assert refused.status_code == 403, refused.text


def test_revoking_is_final_and_guarded_by_if_match(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    cert = _certificate(client, session, admin)
    base = f"/v1/certificates/{cert['id']}"
    read = client.get(base, headers=admin)
    stale = client.post(
        base + "/revoke", json={"reason": "Nilai salah"}, headers={**admin, "If-Match": '"x-9"'}
    )
    assert stale.status_code == 412
    done = client.post(
        base + "/revoke",
        json={"reason": "Nilai salah input"},
        headers={**admin, "If-Match": read.headers["ETag"]},
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["valid"] is False and body["revocation"]["reason"] == "Nilai salah input"
    assert done.headers["ETag"] != read.headers["ETag"]
    again = client.post(base + "/revoke", json={"reason": "Lagi"}, headers=admin)
    assert again.status_code == 409 and again.json()["code"] == "certificate_revoked"
    assert (
        client.get(base, headers={**admin, "If-None-Match": done.headers["ETag"]}).status_code
        == 304
    )


def test_a_learner_reads_its_own_certificates_and_pdf_and_nobody_elses(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    made = evaluated_cohort(client, session, admin, passed=2)
    certs = issued(client, admin, made.cohort["id"])
    own_key = made.learners[0]["learner_key"]
    learner = make_learner_login(client, admin, own_key)
    mine = client.get("/v1/me/certificates", headers=learner)
    assert mine.status_code == 200, mine.text
    [own] = mine.json()["items"]
    assert own["learner_id"] == made.learners[0]["id"]
    assert client.get(own["pdf_url"], headers=learner).status_code == 200
    other = next(c for c in certs if c["id"] != own["id"])
    assert client.get(f"/v1/certificates/{other['id']}", headers=learner).status_code == 404
    listed = client.get(f"/v1/cohorts/{made.cohort['id']}/certificates", headers=learner)
    assert [c["id"] for c in listed.json()["items"]] == [own["id"]]
    staff = client.get("/v1/me/certificates", headers=admin)
    assert staff.status_code == 403


def test_cohort_certificates_are_paged_with_a_link(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    made = evaluated_cohort(client, session, admin, passed=3)
    issue(client, admin, made.cohort["id"])
    url = f"/v1/cohorts/{made.cohort['id']}/certificates"
    first = client.get(url, params={"limit": 2}, headers=admin)
    assert len(first.json()["items"]) == 2 and 'rel="next"' in first.headers["Link"]
    rest = client.get(
        url, params={"limit": 2, "cursor": first.json()["next_cursor"]}, headers=admin
    )
    assert len(rest.json()["items"]) == 1 and rest.json()["next_cursor"] is None
