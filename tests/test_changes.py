"""The change feed: what it shows, to whom, and its cursors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session

from app.models.base import utcnow
from app.models.change import Change
from app.services.sync import feed
from tests.factories import (
    auth_headers,
    course_payload,
    enrol,
    make_agency,
    make_cohort,
    make_learner,
    make_learner_login,
    make_open_cohort,
    make_published_course,
    make_user,
)


def _admins(session: Session, count: int = 2) -> list[dict[str, str]]:
    out = []
    for _ in range(count):
        agency = make_agency(session)
        out.append(auth_headers(make_user(session, agency, "agency_admin")))
    session.commit()
    session.rollback()  # release SQLite's write lock before the app writes
    return out


def _follow(client: TestClient, headers: dict[str, str], after: str | None = None) -> Any:
    params = {"limit": "1000", **({"after": after} if after else {})}
    got = client.get("/v1/changes", params=params, headers=headers)
    assert got.status_code == 200, got.text
    return got


def test_feed_shows_each_change_with_its_current_representation(
    client: TestClient, session: Session
) -> None:
    (admin,) = _admins(session, 1)
    course = make_published_course(client, admin)
    cohort = make_open_cohort(client, admin, course["id"])
    learner = make_learner(client, admin)
    enrolment = enrol(client, admin, cohort["id"], learner["learner_key"])
    page = _follow(client, admin).json()
    seqs = [e["seq"] for e in page["items"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    latest = {(e["type"], e["id"]): e for e in page["items"]}
    assert (
        latest[("course", course["id"])]["data"]
        == client.get(f"/v1/courses/{course['id']}", headers=admin).json()
    )
    assert (
        latest[("cohort", cohort["id"])]["data"]
        == client.get(f"/v1/cohorts/{cohort['id']}", headers=admin).json()
    )
    assert latest[("learner", learner["id"])]["data"]["learner_key"] == learner["learner_key"]
    assert (
        latest[("enrollment", enrolment["id"])]["data"]
        == client.get(f"/v1/enrollments/{enrolment['id']}", headers=admin).json()
    )
    assert all(e["operation"] == "upsert" for e in page["items"])
    # following with the cursor: nothing new, same cursor, a Link to continue
    again = _follow(client, admin, page["next_cursor"])
    assert again.json() == {"items": [], "next_cursor": page["next_cursor"]}
    assert 'rel="next"' in again.headers["Link"]
    # a new change appears after the cursor
    client.patch(f"/v1/courses/{course['id']}", json={"title": "Judul Baru"}, headers=admin)
    newer = _follow(client, admin, page["next_cursor"]).json()["items"]
    assert [(e["type"], e["data"]["title"]) for e in newer] == [("course", "Judul Baru")]


def test_deleted_session_is_a_tombstone(client: TestClient, session: Session) -> None:
    (admin,) = _admins(session, 1)
    course = make_published_course(client, admin)
    cohort = make_open_cohort(client, admin, course["id"])
    made = client.post(
        f"/v1/cohorts/{cohort['id']}/sessions",
        json={
            "module_id": client.get(
                f"/v1/courses/{course['id']}/curricula/1", headers=admin
            ).json()["modules"][0]["id"],
            "starts_at": "2025-05-15T08:00:00+07:00",
            "ends_at": "2025-05-15T10:15:00+07:00",
            "jp": 3,
        },
        headers=admin,
    )
    assert made.status_code == 201, made.text
    cursor = _follow(client, admin).json()["next_cursor"]
    gone = client.delete(f"/v1/cohorts/{cohort['id']}/sessions/{made.json()['id']}", headers=admin)
    assert gone.status_code == 204, gone.text
    items = _follow(client, admin, cursor).json()["items"]
    tomb = [e for e in items if e["type"] == "session"]
    assert tomb == [
        {
            **tomb[0],
            "operation": "delete",
            "data": {"id": made.json()["id"], "deleted": True},
        }
    ]


def test_other_agency_never_sees_learners_or_enrolments(
    client: TestClient, session: Session
) -> None:
    admin, other = _admins(session)
    course = make_published_course(client, admin)
    cohort = make_open_cohort(client, admin, course["id"])
    learner = make_learner(client, admin)
    enrol(client, admin, cohort["id"], learner["learner_key"])
    seen = {e["type"] for e in _follow(client, other).json()["items"]}
    assert seen <= {"course", "cohort", "session"}
    assert "enrollment" in {e["type"] for e in _follow(client, admin).json()["items"]}


def test_a_learner_login_sees_only_its_own_rows_and_the_organiser_the_enrolled_learner(
    client: TestClient, session: Session
) -> None:
    organiser, home = _admins(session)
    course = make_published_course(client, organiser)
    cohort = make_open_cohort(client, organiser, course["id"])
    mine, other = make_learner(client, home), make_learner(client, home)
    enrolment = enrol(client, home, cohort["id"], mine["learner_key"])
    enrol(client, home, cohort["id"], other["learner_key"])
    login = make_learner_login(client, home, mine["learner_key"])
    seen = {(e["type"], e["id"]) for e in _follow(client, login).json()["items"]}
    personal = {k for k in seen if k[0] not in ("course", "cohort", "session")}
    assert personal == {("learner", mine["id"]), ("enrollment", enrolment["id"])}
    # the organiser sees the learners enrolled in its cohort, read-only: without personal data
    learners = {
        e["id"]: e["data"] for e in _follow(client, organiser).json()["items"]
        if e["type"] == "learner"
    }  # fmt: skip
    assert set(learners) == {mine["id"], other["id"]}
    assert (
        learners[mine["id"]]
        == client.get(f"/v1/learners/{mine['learner_key']}", headers=organiser).json()
    )


def test_types_filter(client: TestClient, session: Session) -> None:
    (admin,) = _admins(session, 1)
    make_published_course(client, admin)
    got = client.get("/v1/changes", params={"types": "cohort,learner"}, headers=admin)
    assert got.status_code == 200 and got.json()["items"] == []
    bad = client.get("/v1/changes", params={"types": "courses"}, headers=admin)
    assert bad.status_code == 422


def test_expired_cursor_is_410_with_the_resync_instruction(
    client: TestClient, session: Session
) -> None:
    (admin,) = _admins(session, 1)
    make_published_course(client, admin)
    first = _follow(client, admin).json()
    start = feed.encode(0)
    session.execute(update(Change).values(committed_at=utcnow() - timedelta(days=91)))  # type: ignore[arg-type]
    session.commit()
    assert feed.prune(session=session) == len(first["items"])
    gone = client.get("/v1/changes", params={"after": start}, headers=admin)
    assert gone.status_code == 410, gone.text
    assert gone.json()["code"] == "cursor_expired" and "Resync in full" in gone.json()["detail"]
    indo = client.get(
        "/v1/changes", params={"after": start}, headers=admin | {"Accept-Language": "id"}
    )
    assert "Sinkronkan ulang" in indo.json()["detail"]
    # the cursor a reader already holds (at the end) stays good
    assert _follow(client, admin, first["next_cursor"]).json()["items"] == []


def test_garbage_cursor_is_422(client: TestClient, session: Session) -> None:
    (admin,) = _admins(session, 1)
    got = client.get("/v1/changes", params={"after": "bm90LWEtY3Vyc29y"}, headers=admin)
    assert got.status_code == 422 and got.json()["code"] == "invalid_cursor"


def test_feed_needs_a_login(client: TestClient) -> None:
    assert client.get("/v1/changes").status_code == 401


def test_an_integration_client_follows_only_the_types_its_scopes_read(
    client: TestClient, session: Session
) -> None:
    from tests.test_clients import bearer, client_token, register

    agency = make_agency(session)
    admin = auth_headers(make_user(session, agency, "agency_admin"))
    course = make_published_course(client, admin)
    cohort = make_open_cohort(client, admin, course["id"])
    key = make_learner(client, admin)["learner_key"]
    enrol(client, admin, cohort["id"], key)
    made = register(client, admin, scopes=["catalog:read"])
    token = bearer(client_token(client, made["client_id"], made["client_secret"]))

    refused = client.get("/v1/changes?types=enrollment", headers=token)
    assert refused.status_code == 403
    assert 'scope="enrollments:read"' in refused.headers["www-authenticate"]
    seen = client.get("/v1/changes?limit=1000", headers=token)
    assert seen.status_code == 200, seen.text
    kinds = {entry["type"] for entry in seen.json()["items"]}
    assert kinds and kinds <= {"course", "cohort", "session"}
    # a person of the same agency sees the learner and the enrolment too
    everything = client.get("/v1/changes?limit=1000", headers=admin).json()["items"]
    assert {"learner", "enrollment"} <= {entry["type"] for entry in everything}


def test_drafts_reach_their_owner_only_and_published_rows_leave_a_tombstone(
    client: TestClient, session: Session
) -> None:
    owner, other = _admins(session)
    start = _follow(client, other).json()["next_cursor"]
    mine = _follow(client, owner).json()["next_cursor"]
    course = make_published_course(client, owner)
    draft = client.post("/v1/courses", json=course_payload(), headers=owner).json()
    edited = client.patch(
        f"/v1/courses/{draft['id']}", json={"title": "Pelatihan Draf Diubah"}, headers=owner
    )
    assert edited.status_code == 200, edited.text
    hidden_cohort = make_cohort(client, owner, course["id"])  # a draft cohort
    seen = {(e["type"], e["id"]) for e in _follow(client, other, start).json()["items"]}
    assert ("course", course["id"]) in seen
    assert ("course", draft["id"]) not in seen and ("cohort", hidden_cohort["id"]) not in seen
    owned = {(e["type"], e["id"]) for e in _follow(client, owner, mine).json()["items"]}
    assert {("course", draft["id"]), ("cohort", hidden_cohort["id"])} <= owned

    archived = client.patch(
        f"/v1/courses/{course['id']}", json={"status": "archived"}, headers=owner
    )
    assert archived.status_code == 200, archived.text
    last = [e for e in _follow(client, other, start).json()["items"] if e["id"] == course["id"]][-1]
    assert last["data"] == {"id": course["id"], "deleted": True}


def test_a_progress_record_deleted_by_voiding_is_a_tombstone_for_its_organiser(
    client: TestClient, session: Session
) -> None:
    """Voiding the only statement behind a progress record deletes the record; the
    organiser's feed must say so (its tombstone once had no agency: only platform admins
    saw it, and an integrator kept the record), and another agency must not see it."""
    from tests.xapi_helpers import make_lrs, post, statement

    lrs = make_lrs(client, session, learners=1)
    (other,) = _admins(session, 1)
    key, module = lrs.setup.keys[0], lrs.setup.unassessed
    done = statement(key, "completed", module)
    assert post(client, lrs, done).status_code == 200
    made = [
        e for e in _follow(client, lrs.setup.headers).json()["items"] if e["type"] == "progress"
    ]
    assert len(made) == 1 and made[0]["operation"] == "upsert"
    cursor = _follow(client, lrs.setup.headers).json()["next_cursor"]
    other_cursor = _follow(client, other).json()["next_cursor"]

    void = statement(key, "voided", module)
    void["object"] = {"objectType": "StatementRef", "id": done["id"]}
    assert post(client, lrs, void).status_code == 200
    items = _follow(client, lrs.setup.headers, cursor).json()["items"]
    tomb = [e for e in items if e["type"] == "progress"]
    assert [(e["operation"], e["data"]) for e in tomb] == [
        ("delete", {"id": made[0]["data"]["id"], "deleted": True})
    ]
    assert _follow(client, other, other_cursor).json()["items"] == []


def test_a_partner_removed_reads_tombstones_and_one_added_reads_what_it_now_sees(
    client: TestClient, session: Session
) -> None:
    """A course's partner sees its enrolments and the learners enrolled (of other
    agencies). When the organiser swaps partners, the removed one must read tombstones for
    them (its copy would keep them) and the added one must read them (it never had them)."""
    agencies = [make_agency(session) for _ in range(4)]
    heads = [auth_headers(make_user(session, a, "agency_admin")) for a in agencies]
    first, second = agencies[2].id, agencies[3].id
    h_home, h_org, h_first, h_second = heads
    session.rollback()
    course = make_published_course(client, h_org, partner_agency_ids=[first])
    cohort = make_open_cohort(client, h_org, course["id"])["id"]
    people = [make_learner(client, h_home) for _ in range(2)]
    enrolments = {enrol(client, h_home, cohort, p["learner_key"])["id"] for p in people}
    learners = {p["id"] for p in people}

    def seen(headers: dict[str, str], after: str | None = None) -> dict[tuple[str, str], str]:
        items = _follow(client, headers, after).json()["items"]
        last: dict[tuple[str, str], str] = {}
        for e in items:
            if e["type"] in ("learner", "enrollment"):
                # the latest entry wins; a tombstone: {"id": ..., "deleted": true}
                last[(e["type"], e["id"])] = "gone" if e["data"].get("deleted") else "shown"
        return last

    everything = {("learner", i) for i in learners} | {("enrollment", i) for i in enrolments}
    assert seen(h_first) == dict.fromkeys(everything, "shown")
    assert seen(h_second) == {}
    cursors = {
        name: _follow(client, h).json()["next_cursor"]
        for name, h in (("first", h_first), ("second", h_second), ("home", h_home))
    }
    changed = client.patch(
        f"/v1/courses/{course['id']}", json={"partner_agency_ids": [second]}, headers=h_org
    )
    assert changed.status_code == 200, changed.text
    assert seen(h_first, cursors["first"]) == dict.fromkeys(everything, "gone")
    assert seen(h_second, cursors["second"]) == dict.fromkeys(everything, "shown")
    assert seen(h_home, cursors["home"]) == {}  # its view did not change: no entries
