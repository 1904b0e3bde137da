"""Re-issue and revocation under real parallel requests: one successor per certificate, and
the JP ledger always matches the valid certificates (one credit, or none)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from app.models import Certificate, JPRecord
from tests.factories import auth_headers, make_agency, make_user
from tests.factories_certificates import evaluated_cohort, issued
from tests.parallel import race

pytestmark = pytest.mark.slow


def _state(session: Session, enrollment_id: str) -> tuple[list[Certificate], list[JPRecord]]:
    session.expire_all()
    certs = session.exec(
        select(Certificate).where(col(Certificate.enrollment_id) == enrollment_id)
    ).all()
    credits = session.exec(
        select(JPRecord).where(col(JPRecord.enrollment_id) == enrollment_id)
    ).all()
    session.commit()
    return list(certs), list(credits)


def _consistent(session: Session, enrollment_id: str) -> list[Certificate]:
    """At most one valid certificate; a live credit of its JP and number exactly when there
    is one, and one withdrawn credit per revoked certificate (kept for delta sync); every
    revoked certificate replaced at most once, by a certificate of the chain."""
    certs, credits = _state(session, enrollment_id)
    valid = [c for c in certs if c.revoked_at is None]
    assert len(valid) <= 1
    live = [r for r in credits if r.withdrawn_at is None]
    assert [(r.jp_halves, r.certificate_number) for r in live] == [
        (c.jp_halves, c.number) for c in valid
    ]
    withdrawn = sorted(str(r.certificate_number) for r in credits if r.withdrawn_at is not None)
    assert withdrawn == sorted(c.number for c in certs if c.revoked_at is not None)
    ids = {c.id for c in certs}
    successors = [c.replaced_by_id for c in certs if c.replaced_by_id is not None]
    assert len(successors) == len(set(successors)) and set(successors) <= ids
    for c in certs:
        if c.replaced_by_id is not None:
            assert c.revoked_at is not None
    return valid


def test_parallel_reissues_of_one_certificate_give_one_new_certificate(
    live_server: str, client: TestClient, session: Session
) -> None:
    admin = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    made = evaluated_cohort(client, session, admin, passed=1)
    [cert] = issued(client, admin, made.cohort["id"])
    revoked = client.post(
        f"/v1/certificates/{cert['id']}/revoke", json={"reason": "Salah nama"}, headers=admin
    )
    assert revoked.status_code == 200, revoked.text

    def call(http: httpx.Client, _i: int) -> httpx.Response:
        return http.post(f"{live_server}/v1/certificates/{cert['id']}/reissue", headers=admin)

    answers = race(6, call)
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409, 409, 409], [
        a.text for a in answers
    ]
    [won] = [a.json() for a in answers if a.status_code == 201]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"certificate_replaced"}
    assert all(a.headers["Location"] == f"/v1/certificates/{won['id']}" for a in answers)
    [valid] = _consistent(session, cert["enrollment_id"])
    assert valid.id == won["id"] and valid.replaces_id == cert["id"]


def test_revocations_racing_reissues_end_consistent(
    live_server: str, client: TestClient, session: Session
) -> None:
    admin = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    made = evaluated_cohort(client, session, admin, passed=2)
    certs = issued(client, admin, made.cohort["id"])
    current = {c["enrollment_id"]: c["id"] for c in certs}
    outcomes: Counter[tuple[str, int]] = Counter()
    for _round in range(3):
        targets = list(current.items())
        # per enrolment: two revocations and two re-issues of its current certificate
        plan: list[tuple[str, str]] = [
            (verb, cert_id) for _, cert_id in targets for verb in ("revoke", "reissue") * 2
        ]

        def call(http: httpx.Client, i: int, plan: list[tuple[str, str]] = plan) -> Any:
            verb, cert_id = plan[i]
            url = f"{live_server}/v1/certificates/{cert_id}/{verb}"
            body = {"reason": "Uji balapan"} if verb == "revoke" else None
            return http.post(url, json=body, headers=admin)

        answers = race(len(plan), call)
        for (verb, _), answer in zip(plan, answers, strict=True):
            assert answer.status_code in (200, 201, 409), answer.text
            outcomes[(verb, answer.status_code)] += 1
        for enrollment_id, cert_id in targets:
            mine = [a for (_, c), a in zip(plan, answers, strict=True) if c == cert_id]
            revokes = [a.status_code for a in mine[0::2]]
            assert sorted(revokes) == [200, 409]  # revoked once
            new = [a.json()["id"] for a in mine[1::2] if a.status_code == 201]
            assert len(new) <= 1
            valid = _consistent(session, enrollment_id)
            # re-issued after the revocation (valid successor), or refused before it
            assert [v.id for v in valid] == new
            if not new:  # revoked, no successor yet: re-issue it for the next round
                answer = client.post(f"/v1/certificates/{cert_id}/reissue", headers=admin)
                assert answer.status_code == 201, answer.text
                new = [answer.json()["id"]]
            current[enrollment_id] = new[0]
            _consistent(session, enrollment_id)
    assert outcomes[("revoke", 200)] == 6 and outcomes[("revoke", 409)] == 6
