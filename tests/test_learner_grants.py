"""The learner list's "enrolled with me" branch reads learner_grant: the table must hold
exactly what the live rule (``visibility.enrolment_agencies``) says after every write that
changes it: single and bulk enrolment, withdrawal and re-enrolment, a course's partners
changing, a learner moving agency; and the migration's backfill gives the same pairs."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, text
from sqlmodel import Session
from starlette.testclient import TestClient

from app.models import Learner, LearnerGrant
from app.services.visibility import enrolment_agencies
from tests.factories import (
    auth_headers,
    enrol,
    make_agency,
    make_learner,
    make_open_cohort,
    make_published_course,
    make_user,
)

MIGRATION = Path(__file__).parents[1] / "migrations/versions/2026_11_23_0016_learner_grants.py"


def _grants(session: Session) -> set[tuple[str, str]]:
    session.expire_all()
    rows = session.execute(select(LearnerGrant.agency_id, LearnerGrant.learner_id)).all()  # type: ignore[call-overload]
    session.rollback()  # end the read: the app's writers wait for no one
    return {(a, lrn) for a, lrn in rows}


def _truth(session: Session) -> set[tuple[str, str]]:
    """What the live rule says, learner by learner."""
    session.expire_all()
    learners = session.execute(select(Learner.id, Learner.agency_id)).all()  # type: ignore[call-overload]
    pairs = {
        (a, lrn) for lrn, home in learners for a in enrolment_agencies(session, lrn) if a != home
    }
    session.rollback()
    return pairs


def _listed(client: TestClient, headers: dict[str, str]) -> set[str]:
    """Every learner id of the caller's list, paged 2 at a time."""
    seen: list[str] = []
    url: str | None = "/v1/learners?limit=2"
    while url:
        page = client.get(url, headers=headers)
        assert page.status_code == 200, page.text
        seen += [item["id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        url = f"/v1/learners?limit=2&cursor={cursor}" if cursor else None
    assert seen == sorted(seen), "pages merge in id order"
    assert len(seen) == len(set(seen)), "no learner twice"
    return set(seen)


def _people(session: Session, n: int) -> tuple[list[str], list[dict[str, str]]]:
    """``n`` agencies' ids and an admin's headers each (ids, not rows: reading an expired
    row would open a transaction that keeps the app's writers waiting on SQLite)."""
    agencies = [make_agency(session) for _ in range(n)]
    headers = [auth_headers(make_user(session, a, "agency_admin")) for a in agencies]
    ids = [a.id for a in agencies]
    session.rollback()
    return ids, headers


def _check(
    client: TestClient, session: Session, agencies: list[str], headers: list[dict[str, str]]
) -> None:
    grants = _grants(session)
    assert grants == _truth(session)
    for agency, h in zip(agencies, headers, strict=True):  # its own learners and its grants
        own = set(
            session.execute(select(Learner.id).where(Learner.agency_id == agency)).scalars()  # type: ignore[call-overload]
        )
        session.rollback()
        assert _listed(client, h) == own | {lrn for a, lrn in grants if a == agency}


def test_organiser_lists_other_agencies_learners_it_enrols_and_keeps_them_after_withdrawal(
    client: TestClient, session: Session
) -> None:
    (home, org, partner), (h_home, h_org, h_partner) = _people(session, 3)
    course = make_published_course(client, h_org, partner_agency_ids=[partner])
    cohort = make_open_cohort(client, h_org, course["id"])["id"]
    people = [make_learner(client, h_home) for _ in range(5)]
    own = make_learner(client, h_org)
    enrolled = [enrol(client, h_home, cohort, p["learner_key"]) for p in people[:3]]
    enrol(client, h_org, cohort, own["learner_key"])  # its own learner: no grant needed
    ids = {p["id"] for p in people[:3]}
    assert _listed(client, h_org) == ids | {own["id"]}
    assert _listed(client, h_partner) == ids | {own["id"]}
    assert _grants(session) == {(a, i) for a in (org, partner) for i in ids} | {
        (partner, own["id"])
    }
    withdrawn = client.post(
        f"/v1/enrollments/{enrolled[0]['id']}/transitions",
        json={"to": "withdrawn", "reason": "Tugas dinas"},
        headers=h_home,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    # a withdrawn enrolment still shows the learner to the organiser (as the live rule)
    assert _listed(client, h_org) == ids | {own["id"]}
    again = client.post(
        f"/v1/cohorts/{cohort}/enrollments",
        json={"learner_key": people[0]["learner_key"]},
        headers=h_home,
    )
    assert again.status_code == 201, again.text
    _check(client, session, [home, org, partner], [h_home, h_org, h_partner])
    assert client.get(f"/v1/learners/{people[4]['learner_key']}", headers=h_org).status_code == 404


def test_bulk_enrolment_grants_the_organiser_and_partners(
    client: TestClient, session: Session
) -> None:
    (home, org, partner), (h_home, h_org, h_partner) = _people(session, 3)
    course = make_published_course(client, h_org, partner_agency_ids=[partner])
    cohort = make_open_cohort(client, h_org, course["id"], capacity=None)["id"]
    people = [make_learner(client, h_home) for _ in range(7)]
    body = "NIP,Nama\n" + "".join(f"{p['learner_key']},Peserta\n" for p in people[:6])
    sent = client.post(
        f"/v1/cohorts/{cohort}/enrollments/bulk",
        content=body.encode(),
        headers=h_org | {"Content-Type": "text/csv"},
    )
    assert sent.status_code == 201, sent.text
    assert _listed(client, h_org) == {p["id"] for p in people[:6]}
    assert _listed(client, h_partner) == {p["id"] for p in people[:6]}
    _check(client, session, [home, org, partner], [h_home, h_org, h_partner])


def test_partners_changing_changes_who_sees_the_enrolled_learners(
    client: TestClient, session: Session
) -> None:
    (home, org, first, second), (h_home, h_org, h_first, h_second) = _people(session, 4)
    course = make_published_course(client, h_org, partner_agency_ids=[first])
    cohort = make_open_cohort(client, h_org, course["id"])["id"]
    people = [make_learner(client, h_home) for _ in range(3)]
    for p in people:
        enrol(client, h_home, cohort, p["learner_key"])
    # the first partner also organises a cohort one learner is enrolled in: it keeps that one
    own_course = make_published_course(client, h_first)
    own_cohort = make_open_cohort(client, h_first, own_course["id"])["id"]
    enrol(client, h_home, own_cohort, people[0]["learner_key"])
    changed = client.patch(
        f"/v1/courses/{course['id']}",
        json={"partner_agency_ids": [second]},
        headers=h_org,
    )
    assert changed.status_code == 200, changed.text
    assert _listed(client, h_first) == {people[0]["id"]}
    assert _listed(client, h_second) == {p["id"] for p in people}
    for p in people[1:]:
        url = f"/v1/learners/{p['learner_key']}"
        assert client.get(url, headers=h_first).status_code == 404
        assert client.get(url, headers=h_second).status_code == 200
    _check(client, session, [home, org, first, second], [h_home, h_org, h_first, h_second])


def test_a_learner_moving_agency_stays_visible_to_the_organiser_it_left(
    client: TestClient, session: Session
) -> None:
    (old, new), (h_old, h_new) = _people(session, 2)
    course = make_published_course(client, h_old)
    cohort = make_open_cohort(client, h_old, course["id"])["id"]
    person = make_learner(client, h_old)
    key = person["learner_key"]
    enrol(client, h_old, cohort, key)  # its home organises: no grant yet
    assert _grants(session) == set()
    released = client.post(f"/v1/learners/{key}/release", json={"to_agency_id": new}, headers=h_old)
    assert released.status_code == 200, released.text
    moved = client.post(f"/v1/learners/{key}/transfer", json={}, headers=h_new)
    assert moved.status_code == 200, moved.text
    assert _grants(session) == {(old, person["id"])}
    assert _listed(client, h_old) == {person["id"]}  # read-only, as an organiser
    assert _listed(client, h_new) == {person["id"]}
    _check(client, session, [old, new], [h_old, h_new])


def test_the_migration_backfills_the_same_pairs(client: TestClient, session: Session) -> None:
    (_, _, partner), (h_home, h_org, _) = _people(session, 3)
    course = make_published_course(client, h_org, partner_agency_ids=[partner])
    cohort = make_open_cohort(client, h_org, course["id"])["id"]
    for _ in range(3):
        enrol(client, h_home, cohort, make_learner(client, h_home)["learner_key"])
    enrol(client, h_org, cohort, make_learner(client, h_org)["learner_key"])
    kept = _grants(session)
    assert kept == _truth(session) and len(kept) == 7
    spec = importlib.util.spec_from_file_location("grant_migration", MIGRATION)
    assert spec is not None and spec.loader is not None
    module: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    session.execute(delete(LearnerGrant))
    session.execute(text(module.backfill_sql(session.get_bind().dialect.name)))
    session.commit()
    assert _grants(session) == kept
