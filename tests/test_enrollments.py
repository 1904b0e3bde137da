"""Enrolments: who may enrol whom, when, seats and the waitlist, status moves and their
history, and who sees enrolments and rosters (everyone else: 404)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel import Session
from starlette.testclient import TestClient

from app.models.base import utcnow
from tests.factories import (
    auth_headers,
    enrol,
    learner_payload,
    make_agency,
    make_learner,
    make_open_cohort,
    make_published_course,
    make_user,
    nip,
)

ID = {"Accept-Language": "id"}


@dataclass
class World:
    organiser: dict[str, str]  # admin of the organising agency
    home: dict[str, str]  # admin of another agency, home of some learners
    stranger: dict[str, str]  # admin of an agency with no part in anything
    organiser_id: str
    home_id: str
    course: dict[str, Any]


def _world(client: TestClient, session: Session, **course: Any) -> World:
    org, home, other = make_agency(session), make_agency(session), make_agency(session)
    headers = [auth_headers(make_user(session, a, "agency_admin")) for a in (org, home, other)]
    session.rollback()
    published = make_published_course(client, headers[0], **course)
    return World(headers[0], headers[1], headers[2], org.id, home.id, published)


def _withdraw(client: TestClient, headers: dict[str, str], enrollment_id: str) -> Any:
    return client.post(
        f"/v1/enrollments/{enrollment_id}/transitions",
        json={"to": "withdrawn", "reason": "Tugas dinas mendesak"},
        headers=headers,
    )


def test_enrolling_takes_a_seat_and_the_cohort_shows_it_with_a_new_etag(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session)
    cohort = make_open_cohort(client, w.organiser, w.course["id"], capacity=2)
    assert (cohort["seats_taken"], cohort["seats_left"], cohort["waitlist_length"]) == (0, 2, 0)
    before = client.get(f"/v1/cohorts/{cohort['id']}", headers=w.organiser).headers["ETag"]
    learner = make_learner(client, w.home)
    made = client.post(
        f"/v1/cohorts/{cohort['id']}/enrollments",
        json={"learner_key": learner["learner_key"]},
        headers=w.home,
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert made.headers["Location"] == f"/v1/enrollments/{body['id']}"
    assert body["status"] == "proposed" and body["waitlist_position"] is None
    assert body["learner_agency_id"] == w.home_id and body["agency_id"] == w.organiser_id
    after = client.get(f"/v1/cohorts/{cohort['id']}", headers=w.organiser)
    assert (after.json()["seats_taken"], after.json()["seats_left"]) == (1, 1)
    assert after.headers["ETag"] != before
    again = client.get(
        f"/v1/cohorts/{cohort['id']}", headers=w.organiser | {"If-None-Match": before}
    )
    assert again.status_code == 200  # the old ETag no longer matches


def test_a_full_cohort_refuses_or_waitlists_in_order(client: TestClient, session: Session) -> None:
    w = _world(client, session)
    closed = make_open_cohort(client, w.organiser, w.course["id"], capacity=1)
    enrol(client, w.organiser, closed["id"], make_learner(client, w.home)["learner_key"])
    refused = client.post(
        f"/v1/cohorts/{closed['id']}/enrollments",
        json={"learner_key": make_learner(client, w.home)["learner_key"]},
        headers=w.home | ID,
    )
    assert refused.status_code == 409 and refused.json()["code"] == "cohort_full"
    assert "daftar tunggu" in refused.json()["detail"]
    listed = make_open_cohort(
        client, w.organiser, w.course["id"], number=2, year=2026, capacity=1, waitlist_enabled=True
    )
    first = enrol(client, w.organiser, listed["id"], make_learner(client, w.home)["learner_key"])
    waits = [
        enrol(client, w.organiser, listed["id"], make_learner(client, w.home)["learner_key"])
        for _ in range(2)
    ]
    assert first["status"] == "proposed"
    assert [(e["status"], e["waitlist_position"]) for e in waits] == [
        ("waitlisted", 1),
        ("waitlisted", 2),
    ]
    shown = client.get(f"/v1/cohorts/{listed['id']}", headers=w.organiser).json()
    assert (shown["seats_taken"], shown["seats_left"], shown["waitlist_length"]) == (1, 0, 2)


def test_withdrawing_a_seat_promotes_the_first_waitlisted_and_history_says_so(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session)
    cohort = make_open_cohort(
        client, w.organiser, w.course["id"], capacity=1, waitlist_enabled=True
    )
    keys = [make_learner(client, w.home)["learner_key"] for _ in range(3)]
    seated, first, second = (enrol(client, w.home, cohort["id"], k) for k in keys)
    gone = _withdraw(client, w.home, seated["id"])
    assert gone.status_code == 200, gone.text
    assert gone.json()["status"] == "withdrawn" and gone.json()["allowed_transitions"] == []
    promoted = client.get(f"/v1/enrollments/{first['id']}", headers=w.organiser).json()
    assert promoted["status"] == "proposed" and promoted["waitlist_position"] is None
    still = client.get(f"/v1/enrollments/{second['id']}", headers=w.organiser).json()
    assert (still["status"], still["waitlist_position"]) == ("waitlisted", 1)
    shown = client.get(f"/v1/cohorts/{cohort['id']}", headers=w.organiser).json()
    assert (shown["seats_taken"], shown["waitlist_length"]) == (1, 1)
    history = client.get(f"/v1/enrollments/{first['id']}/history", headers=w.home).json()
    steps = [(h["from_status"], h["to_status"], h["reason"]) for h in history["items"]]
    assert steps == [(None, "waitlisted", None), ("waitlisted", "proposed", "waitlist_promotion")]
    assert history["items"][1]["actor_user_id"] is None
    mine = client.get(f"/v1/enrollments/{seated['id']}/history", headers=w.home).json()
    last = mine["items"][-1]
    assert (last["to_status"], last["reason"]) == ("withdrawn", "Tugas dinas mendesak")
    assert last["actor_agency_id"] == w.home_id and last["actor_user_id"]


def test_status_moves_follow_the_table_and_who_may_make_them(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session)
    cohort = make_open_cohort(client, w.organiser, w.course["id"])
    made = enrol(client, w.home, cohort["id"], make_learner(client, w.home)["learner_key"])
    url = f"/v1/enrollments/{made['id']}/transitions"
    assert made["allowed_transitions"] == ["verified", "withdrawn"]
    by_home = client.post(url, json={"to": "verified"}, headers=w.home | ID)
    assert by_home.status_code == 403 and "penyelenggara" in by_home.json()["detail"]
    skip = client.post(url, json={"to": "active"}, headers=w.organiser)
    assert skip.status_code == 409 and skip.json()["allowed"] == ["verified", "withdrawn"]
    etag = client.get(f"/v1/enrollments/{made['id']}", headers=w.organiser).headers["ETag"]
    verified = client.post(url, json={"to": "verified"}, headers=w.organiser | {"If-Match": etag})
    assert verified.status_code == 200 and verified.json()["status"] == "verified"
    stale = client.post(url, json={"to": "active"}, headers=w.organiser | {"If-Match": etag})
    assert stale.status_code == 412
    active = client.post(url, json={"to": "active"}, headers=w.organiser)
    assert active.json()["status"] == "active"
    no_reason = client.post(url, json={"to": "withdrawn"}, headers=w.organiser)
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["loc"] == ["body", "reason"]
    in_id = client.post(url, json={"to": "withdrawn"}, headers=w.organiser | ID).json()
    assert "alasan" in in_id["detail"]
    assert _withdraw(client, w.organiser, made["id"]).status_code == 200
    final = client.post(url, json={"to": "verified"}, headers=w.organiser)
    assert final.status_code == 409 and final.json()["code"] == "illegal_transition"
    history = client.get(f"/v1/enrollments/{made['id']}/history?limit=2", headers=w.home)
    assert [h["seq"] for h in history.json()["items"]] == [1, 2]
    assert 'rel="next"' in history.headers["Link"]
    rest = client.get(
        f"/v1/enrollments/{made['id']}/history?limit=2&cursor={history.json()['next_cursor']}",
        headers=w.home,
    ).json()
    assert [h["to_status"] for h in rest["items"]] == ["active", "withdrawn"]


def test_enrolment_outside_an_open_cohort_or_its_window_says_why_in_both_languages(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session)
    key = make_learner(client, w.organiser)["learner_key"]
    draft = client.post(
        "/v1/cohorts",
        json={"course_id": w.course["id"], "number": 1, "year": 2025,
              "starts_on": "2025-05-14", "ends_on": "2025-05-26"},
        headers=w.organiser,
    ).json()  # fmt: skip
    body = {"learner_key": key}
    for lang, words in (("en", "while a cohort is open"), ("id", "selama angkatan berstatus open")):
        refused = client.post(
            f"/v1/cohorts/{draft['id']}/enrollments",
            json=body,
            headers=w.organiser | {"Accept-Language": lang},
        )
        assert refused.status_code == 409 and refused.json()["code"] == "cohort_not_open"
        assert words in refused.json()["detail"]
    soon = utcnow() + timedelta(days=3)
    later = make_open_cohort(
        client, w.organiser, w.course["id"], number=2, year=2026,
        enrollment_opens_at=soon.isoformat(),
    )  # fmt: skip
    for lang, words in (("en", "opens at"), ("id", "dibuka pada")):
        refused = client.post(
            f"/v1/cohorts/{later['id']}/enrollments",
            json=body,
            headers=w.organiser | {"Accept-Language": lang},
        )
        assert refused.status_code == 409 and refused.json()["code"] == "enrollment_not_open_yet"
        assert words in refused.json()["detail"]
        assert refused.json()["enrollment_opens_at"]
    past = utcnow() - timedelta(days=1)
    over = make_open_cohort(
        client, w.organiser, w.course["id"], number=3, year=2027,
        enrollment_opens_at=(past - timedelta(days=10)).isoformat(),
        enrollment_closes_at=past.isoformat(),
    )  # fmt: skip
    for lang, words in (("en", "closed at"), ("id", "ditutup pada")):
        refused = client.post(
            f"/v1/cohorts/{over['id']}/enrollments",
            json=body,
            headers=w.organiser | {"Accept-Language": lang},
        )
        assert refused.status_code == 409 and refused.json()["code"] == "enrollment_closed"
        assert words in refused.json()["detail"]


def test_the_same_learner_twice_is_409_with_the_existing_enrolment_url(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session)
    cohort = make_open_cohort(client, w.organiser, w.course["id"])
    key = make_learner(client, w.home)["learner_key"]
    first = enrol(client, w.home, cohort["id"], key)
    again = client.post(
        f"/v1/cohorts/{cohort['id']}/enrollments", json={"learner_key": key}, headers=w.organiser
    )
    assert again.status_code == 409 and again.json()["code"] == "duplicate_enrollment"
    assert again.json()["enrollment_url"] == f"/v1/enrollments/{first['id']}"
    assert again.headers["Location"] == f"/v1/enrollments/{first['id']}"
    in_id = client.post(
        f"/v1/cohorts/{cohort['id']}/enrollments", json={"learner_key": key}, headers=w.home | ID
    )
    assert "sudah terdaftar" in in_id.json()["detail"]


def test_an_overlapping_cohort_of_the_same_course_is_409_and_a_later_one_is_fine(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session)
    may = make_open_cohort(client, w.organiser, w.course["id"])  # 2025-05-14 .. 05-26
    overlapping = make_open_cohort(
        client, w.organiser, w.course["id"], number=2, starts_on="2025-05-20", ends_on="2025-06-01"
    )
    june = make_open_cohort(
        client, w.organiser, w.course["id"], number=3, starts_on="2025-06-02", ends_on="2025-06-10"
    )
    key = make_learner(client, w.home)["learner_key"]
    first = enrol(client, w.home, may["id"], key)
    clash = client.post(
        f"/v1/cohorts/{overlapping['id']}/enrollments", json={"learner_key": key}, headers=w.home
    )
    assert clash.status_code == 409 and clash.json()["code"] == "overlapping_enrollment"
    assert clash.json()["enrollment_url"] == f"/v1/enrollments/{first['id']}"
    assert enrol(client, w.home, june["id"], key)["status"] == "proposed"
    assert _withdraw(client, w.home, first["id"]).status_code == 200
    assert enrol(client, w.home, overlapping["id"], key)["status"] == "proposed"


def test_non_asn_learners_only_where_the_course_is_open_to_them(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session)
    civil_servant = make_learner(client, w.organiser)
    agency_slug = client.get(f"/v1/agencies/{w.organiser_id}", headers=w.organiser).json()["slug"]
    guest_key = f"ext:{agency_slug}:TAMU-001"
    made = client.put(
        f"/v1/learners/{guest_key}",
        json=learner_payload(asn_type="non_asn", rank=None),
        headers=w.organiser,
    )
    assert made.status_code == 201, made.text
    closed = make_open_cohort(client, w.organiser, w.course["id"])
    refused = client.post(
        f"/v1/cohorts/{closed['id']}/enrollments",
        json={"learner_key": guest_key},
        headers=w.organiser | ID,
    )
    assert refused.status_code == 409 and refused.json()["code"] == "non_asn_not_allowed"
    assert "non-ASN" in refused.json()["detail"]
    assert (
        enrol(client, w.organiser, closed["id"], civil_servant["learner_key"])["status"]
        == "proposed"
    )
    open_course = make_published_course(client, w.organiser, open_to_non_asn=True)
    welcoming = make_open_cohort(client, w.organiser, open_course["id"])
    assert enrol(client, w.organiser, welcoming["id"], guest_key)["status"] == "proposed"


def test_another_agency_gets_404_on_enrolments_rosters_and_learner_lists_it_has_no_part_in(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session)
    cohort = make_open_cohort(client, w.organiser, w.course["id"])
    key = make_learner(client, w.home)["learner_key"]
    made = enrol(client, w.home, cohort["id"], key)
    for url in (
        f"/v1/enrollments/{made['id']}",
        f"/v1/enrollments/{made['id']}/history",
        f"/v1/cohorts/{cohort['id']}/enrollments",
        f"/v1/learners/{key}/enrollments",
    ):
        assert client.get(url, headers=w.stranger).status_code == 404, url
        assert client.get(url, headers=w.home).status_code == 200, url
        assert client.get(url, headers=w.organiser).status_code == 200, url
    moved = _withdraw(client, w.stranger, made["id"])
    assert moved.status_code == 404
    # the stranger cannot enrol the home agency's learner either (not disclosed: 404)
    other = make_open_cohort(client, w.organiser, w.course["id"], number=2, year=2026)
    taken = client.post(
        f"/v1/cohorts/{other['id']}/enrollments", json={"learner_key": key}, headers=w.stranger
    )
    assert taken.status_code == 404


def test_a_home_agency_sees_only_its_learners_on_a_roster_and_the_organiser_sees_all(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session)
    cohort = make_open_cohort(client, w.organiser, w.course["id"])
    mine = enrol(client, w.home, cohort["id"], make_learner(client, w.home)["learner_key"])
    theirs = enrol(
        client, w.organiser, cohort["id"], make_learner(client, w.organiser)["learner_key"]
    )
    url = f"/v1/cohorts/{cohort['id']}/enrollments"
    assert [e["id"] for e in client.get(url, headers=w.home).json()["items"]] == [mine["id"]]
    everyone = client.get(url, headers=w.organiser).json()["items"]
    assert {e["id"] for e in everyone} == {mine["id"], theirs["id"]}
    first = client.get(url + "?limit=1", headers=w.organiser)
    assert 'rel="next"' in first.headers["Link"] and len(first.json()["items"]) == 1
    assert client.get(url + "?status=withdrawn", headers=w.organiser).json()["items"] == []
    assert client.get(url + "?sort=name", headers=w.organiser).status_code == 422
    listed = client.get(
        f"/v1/learners/{theirs['learner_key']}/enrollments", headers=w.organiser
    ).json()
    assert [e["id"] for e in listed["items"]] == [theirs["id"]]


def test_a_partner_agency_reads_the_roster_but_cannot_move_enrolments(
    client: TestClient, session: Session
) -> None:
    org, partner = make_agency(session), make_agency(session)
    organiser = auth_headers(make_user(session, org, "agency_admin"))
    partnered = auth_headers(make_user(session, partner, "agency_admin"))
    session.rollback()
    course = make_published_course(client, organiser, partner_agency_ids=[partner.id])
    cohort = make_open_cohort(client, organiser, course["id"])
    key = make_learner(client, organiser)["learner_key"]
    made = enrol(client, organiser, cohort["id"], key)
    roster = client.get(f"/v1/cohorts/{cohort['id']}/enrollments", headers=partnered)
    assert [e["id"] for e in roster.json()["items"]] == [made["id"]]
    assert client.get(f"/v1/enrollments/{made['id']}", headers=partnered).status_code == 200
    assert client.get(f"/v1/learners/{key}/enrollments", headers=partnered).status_code == 200
    moved = _withdraw(client, partnered, made["id"])
    assert moved.status_code == 403


def test_a_home_agency_enrols_with_a_whole_learner_payload_that_upserts_the_learner(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session)
    cohort = make_open_cohort(client, w.organiser, w.course["id"])
    key = nip()
    made = client.post(
        f"/v1/cohorts/{cohort['id']}/enrollments",
        json={"learner_key": key, "learner": learner_payload(name="Siti Rahmawati")},
        headers=w.home,
    )
    assert made.status_code == 201, made.text
    assert made.json()["learner_name"] == "Siti Rahmawati"
    stored = client.get(f"/v1/learners/{key}", headers=w.home).json()
    assert stored["agency_id"] == w.home_id
    unknown = client.post(
        f"/v1/cohorts/{cohort['id']}/enrollments", json={"learner_key": nip()}, headers=w.home
    )
    assert unknown.status_code == 404


def test_capacity_cannot_drop_below_seats_and_raising_it_seats_the_waitlist(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session)
    cohort = make_open_cohort(
        client, w.organiser, w.course["id"], capacity=2, waitlist_enabled=True
    )
    made = [
        enrol(client, w.home, cohort["id"], make_learner(client, w.home)["learner_key"])
        for _ in range(3)
    ]
    url = f"/v1/cohorts/{cohort['id']}"
    low = client.patch(url, json={"capacity": 1}, headers=w.organiser | ID)
    assert low.status_code == 409 and low.json()["code"] == "capacity_below_seats"
    assert "kapasitas" in low.json()["detail"]
    raised = client.patch(url, json={"capacity": 3}, headers=w.organiser)
    assert raised.status_code == 200, raised.text
    assert (raised.json()["seats_taken"], raised.json()["waitlist_length"]) == (3, 0)
    last = client.get(f"/v1/enrollments/{made[2]['id']}", headers=w.home).json()
    assert last["status"] == "proposed"


def test_the_organiser_and_partners_see_enrolled_learners_read_only_without_personal_data(
    client: TestClient, session: Session
) -> None:
    org, partner, home, other = (make_agency(session) for _ in range(4))
    organiser, partnered, homes, stranger = (
        auth_headers(make_user(session, a, "agency_admin")) for a in (org, partner, home, other)
    )
    session.rollback()
    course = make_published_course(client, organiser, partner_agency_ids=[partner.id])
    cohort = make_open_cohort(client, organiser, course["id"])
    learner = make_learner(client, homes, email="peserta@contoh.go.id")
    key = learner["learner_key"]
    url = f"/v1/learners/{key}"
    assert client.get(url, headers=organiser).status_code == 404  # not enrolled yet
    assert client.get("/v1/learners", headers=organiser).json()["items"] == []
    enrol(client, homes, cohort["id"], key)
    for headers in (organiser, partnered):
        seen = client.get(url, headers=headers)
        assert seen.status_code == 200, seen.text
        assert seen.json()["email"] is None and seen.json()["birth_date"] is None
        listed = client.get("/v1/learners", headers=headers).json()["items"]
        assert [lr["id"] for lr in listed] == [learner["id"]]
        assert client.patch(url, json={"name": "Diubah"}, headers=headers).status_code == 404
    assert client.get(url, headers=homes).json()["email"] == "peserta@contoh.go.id"
    assert client.get(url, headers=stranger).status_code == 404
    assert client.get("/v1/learners", headers=stranger).json()["items"] == []


def test_a_withdrawn_learner_is_enrolled_again_on_the_same_enrolment(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session)
    cohort = make_open_cohort(client, w.organiser, w.course["id"], capacity=1)
    key = make_learner(client, w.home)["learner_key"]
    first = enrol(client, w.home, cohort["id"], key)
    assert _withdraw(client, w.organiser, first["id"]).status_code == 200
    again = client.post(
        f"/v1/cohorts/{cohort['id']}/enrollments", json={"learner_key": key}, headers=w.home
    )
    assert again.status_code == 201, again.text
    assert again.json()["id"] == first["id"] and again.json()["status"] == "proposed"
    assert again.headers["Location"] == f"/v1/enrollments/{first['id']}"
    seats = client.get(f"/v1/cohorts/{cohort['id']}", headers=w.organiser).json()
    assert (seats["seats_taken"], seats["seats_left"]) == (1, 0)
    history = client.get(f"/v1/enrollments/{first['id']}/history", headers=w.home).json()
    assert [(e["from_status"], e["to_status"], e["reason"]) for e in history["items"]] == [
        (None, "proposed", None),
        ("proposed", "withdrawn", "Tugas dinas mendesak"),
        ("withdrawn", "proposed", "re_enrolment"),
    ]
    roster = client.get(f"/v1/cohorts/{cohort['id']}/enrollments", headers=w.organiser).json()
    assert [e["id"] for e in roster["items"]] == [first["id"]]  # one row, not two
    twice = client.post(
        f"/v1/cohorts/{cohort['id']}/enrollments", json={"learner_key": key}, headers=w.home
    )
    assert twice.status_code == 409 and twice.json()["code"] == "duplicate_enrollment"


def test_enrolling_again_follows_the_seat_rules(client: TestClient, session: Session) -> None:
    w = _world(client, session)
    full = make_open_cohort(client, w.organiser, w.course["id"], capacity=1)
    waiting = make_open_cohort(
        client, w.organiser, w.course["id"], number=2, capacity=1, waitlist_enabled=True,
        starts_on="2025-06-02", ends_on="2025-06-10",
    )  # fmt: skip
    a, b = (make_learner(client, w.home)["learner_key"] for _ in range(2))
    for cohort in (full, waiting):
        gone = enrol(client, w.home, cohort["id"], a)
        assert _withdraw(client, w.home, gone["id"]).status_code == 200
        enrol(client, w.home, cohort["id"], b)  # takes the only seat
    refused = client.post(
        f"/v1/cohorts/{full['id']}/enrollments", json={"learner_key": a}, headers=w.home
    )
    assert refused.status_code == 409 and refused.json()["code"] == "cohort_full"
    queued = client.post(
        f"/v1/cohorts/{waiting['id']}/enrollments", json={"learner_key": a}, headers=w.home
    )
    assert queued.status_code == 201, queued.text
    assert (queued.json()["status"], queued.json()["waitlist_position"]) == ("waitlisted", 1)
    counts = client.get(f"/v1/cohorts/{waiting['id']}", headers=w.organiser).json()
    assert (counts["seats_taken"], counts["waitlist_length"]) == (1, 1)
    after = client.get(f"/v1/enrollments/{queued.json()['id']}", headers=w.home).json()
    assert after["status"] == "waitlisted"
    still = client.get(f"/v1/learners/{a}/enrollments", headers=w.home).json()["items"]
    assert {e["status"] for e in still if e["cohort_id"] == full["id"]} == {"withdrawn"}


def test_a_refused_enrolment_with_a_learner_payload_changes_no_learner(
    client: TestClient, session: Session
) -> None:
    w = _world(client, session)
    closed = make_open_cohort(client, w.organiser, w.course["id"], capacity=1)
    enrol(client, w.organiser, closed["id"], make_learner(client, w.organiser)["learner_key"])
    existing = make_learner(client, w.home, name="Siti Rahmawati")
    new_key = nip()
    for key in (new_key, existing["learner_key"]):
        refused = client.post(
            f"/v1/cohorts/{closed['id']}/enrollments",
            json={"learner_key": key, "learner": learner_payload(name="Nama Baru")},
            headers=w.home,
        )
        assert refused.status_code == 409 and refused.json()["code"] == "cohort_full"
    assert client.get(f"/v1/learners/{new_key}", headers=w.home).status_code == 404
    kept = client.get(f"/v1/learners/{existing['learner_key']}", headers=w.home).json()
    assert (kept["name"], kept["version"]) == ("Siti Rahmawati", existing["version"])
    missing = client.post(
        "/v1/cohorts/coh_missing/enrollments",
        json={"learner_key": new_key, "learner": learner_payload()},
        headers=w.home,
    )
    assert missing.status_code == 404
    assert client.get(f"/v1/learners/{new_key}", headers=w.home).status_code == 404
