"""Learners between agencies: another agency neither reads, changes nor takes over a
learner (404 / 409 without naming the owner); moves go through release and transfer."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session
from starlette.testclient import TestClient

from app.core.security import Principal
from app.models import Learner
from app.services import visibility as v
from tests.factories import (
    auth_headers,
    enrol,
    learner_payload,
    make_agency,
    make_learner,
    make_open_cohort,
    make_published_course,
    make_user,
)


def _two_agencies(session: Session) -> tuple[dict[str, str], dict[str, str], str, str]:
    home, other = make_agency(session), make_agency(session)
    return (
        auth_headers(make_user(session, home, "agency_admin")),
        auth_headers(make_user(session, other, "agency_admin")),
        home.id,
        other.id,
    )


def test_another_agency_cannot_read_change_or_take_over_a_learner(
    client: TestClient, session: Session
) -> None:
    home, other, home_id, _ = _two_agencies(session)
    learner = make_learner(client, home, name="Ahmad Fauzi")
    key = learner["learner_key"]
    url = f"/v1/learners/{key}"
    assert client.get(url, headers=other).status_code == 404
    assert client.patch(url, json={"name": "Diambil Alih"}, headers=other).status_code == 404
    taken = client.put(url, json=learner_payload(name="Diambil Alih"), headers=other)
    assert taken.status_code == 409, taken.text
    problem = taken.json()
    assert problem["code"] == "learner_in_other_agency"
    assert f"/v1/learners/{key}/release" in problem["detail"]
    assert home_id not in taken.text  # the owner is not disclosed
    in_id = client.put(
        url, json=learner_payload(), headers=other | {"Accept-Language": "id"}
    ).json()
    assert "milik instansi lain" in in_id["detail"]
    assert client.get("/v1/learners", headers=other).json()["items"] == []
    assert client.get(f"/v1/learners?q={key}", headers=other).json()["items"] == []
    assert client.get(f"/v1/learners?agency={home_id}", headers=other).json()["items"] == []
    unchanged = client.get(url, headers=home).json()
    assert (unchanged["name"], unchanged["agency_id"]) == ("Ahmad Fauzi", home_id)


def test_an_agency_admin_cannot_create_a_learner_in_another_agency(
    client: TestClient, session: Session
) -> None:
    home, _, _, other_id = _two_agencies(session)
    answer = client.put(
        f"/v1/learners/{'198001012005011001'}",
        json=learner_payload(agency_id=other_id),
        headers=home,
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["loc"] == ["body", "agency_id"]


def test_release_then_transfer_moves_the_learner_and_keeps_its_id(
    client: TestClient, session: Session
) -> None:
    home, new, home_id, new_id = _two_agencies(session)
    learner = make_learner(client, home)
    key = learner["learner_key"]
    transfer = f"/v1/learners/{key}/transfer"
    early = client.post(transfer, json={}, headers=new)
    assert early.status_code == 409
    assert early.json()["code"] == "release_required"
    assert home_id not in early.text
    # only the home agency releases; someone else's release attempt is a 404
    assert (
        client.post(
            f"/v1/learners/{key}/release", json={"to_agency_id": new_id}, headers=new
        ).status_code
        == 404
    )
    released = client.post(
        f"/v1/learners/{key}/release", json={"to_agency_id": new_id}, headers=home
    )
    assert released.status_code == 200, released.text
    assert released.json()["released_to_agency_id"] == new_id
    assert client.get(f"/v1/learners/{key}", headers=new).status_code == 404  # not yet theirs
    moved = client.post(transfer, json={}, headers=new)
    assert moved.status_code == 200, moved.text
    assert moved.json()["id"] == learner["id"]
    assert moved.json()["agency_id"] == new_id
    assert moved.json()["released_to_agency_id"] is None
    assert client.get(f"/v1/learners/{key}", headers=home).status_code == 404
    assert client.get(f"/v1/learners/{key}", headers=new).status_code == 200
    # the release is used up: going back needs a new one from the new home
    back = client.post(transfer, json={}, headers=home)
    assert back.json()["code"] == "release_required"


def test_release_can_be_withdrawn(client: TestClient, session: Session) -> None:
    home, new, _, new_id = _two_agencies(session)
    key = make_learner(client, home)["learner_key"]
    release = f"/v1/learners/{key}/release"
    assert client.post(release, json={"to_agency_id": new_id}, headers=home).status_code == 200
    withdrawn = client.post(release, json={"to_agency_id": None}, headers=home)
    assert withdrawn.json()["released_to_agency_id"] is None
    assert client.post(f"/v1/learners/{key}/transfer", json={}, headers=new).status_code == 409
    to_self = client.post(
        release, json={"to_agency_id": withdrawn.json()["agency_id"]}, headers=home
    )
    assert to_self.status_code == 422
    unknown = client.post(release, json={"to_agency_id": "agc_nope"}, headers=home)
    assert unknown.status_code == 422


def test_platform_admin_transfers_directly(client: TestClient, session: Session) -> None:
    home, _, _, new_id = _two_agencies(session)
    platform = auth_headers(make_user(session, make_agency(session), "platform_admin"))
    key = make_learner(client, home)["learner_key"]
    url = f"/v1/learners/{key}/transfer"
    assert client.post(url, json={}, headers=platform).status_code == 422
    moved = client.post(url, json={"to_agency_id": new_id}, headers=platform)
    assert moved.status_code == 200, moved.text
    assert moved.json()["agency_id"] == new_id
    again = client.post(url, json={"to_agency_id": new_id}, headers=platform)
    assert again.json()["code"] == "already_home"


def test_guests_do_not_move(client: TestClient, session: Session) -> None:
    agency = make_agency(session, slug="kota-batu-2")
    admin = auth_headers(make_user(session, agency, "agency_admin"))
    other = make_agency(session)
    key = "ext:kota-batu-2:TAMU-1"
    made = client.put(
        f"/v1/learners/{key}", json={"asn_type": "non_asn", "name": "Tamu"}, headers=admin
    )
    assert made.status_code == 201
    answer = client.post(
        f"/v1/learners/{key}/release", json={"to_agency_id": other.id}, headers=admin
    )
    assert answer.json()["code"] == "guest_not_movable"


def test_visibility_rule_python_and_sql_forms_agree(client: TestClient, session: Session) -> None:
    home, other, home_id, other_id = _two_agencies(session)
    mine = make_learner(client, home)["id"]
    theirs = make_learner(client, other)["id"]
    session.expire_all()
    rows = {r.id: r.agency_id for r in session.exec(select(Learner)).scalars()}  # type: ignore[call-overload]
    callers: dict[str, Principal | None] = {
        "anonymous": None,
        "home viewer": Principal(subject="u1", agency_id=home_id, roles=frozenset({"viewer"})),
        "other admin": Principal(subject="u2", agency_id=other_id, roles=frozenset({"agency_admin"})),
        "platform": Principal(subject="u3", agency_id="agc_x", roles=frozenset({"platform_admin"})),
    }  # fmt: skip
    expected = {"anonymous": set(), "home viewer": {mine}, "other admin": {theirs},
                "platform": {mine, theirs}}  # fmt: skip
    for name, caller in callers.items():
        me = caller.agency_id if caller else None
        branches = v.learner_branches(v.who(caller), me)
        by_sql = [
            r
            for b in branches
            for r in session.exec(select(v.L.id).where(b)).scalars()  # type: ignore[call-overload]
        ]
        by_python = {i for i, agency in rows.items() if v.learner_visible(caller, agency)}
        assert sorted(by_sql) == sorted(by_python) == sorted(expected[name]), name


def test_an_organisers_learner_list_pages_through_both_kinds_once_in_id_order(
    client: TestClient, session: Session
) -> None:
    """The list merges two keyset queries (own learners; others' enrolled in my cohorts):
    small pages must still give each visible learner exactly once, in id order."""
    org, home = make_agency(session), make_agency(session)
    org_admin = auth_headers(make_user(session, org, "agency_admin"))
    home_admin = auth_headers(make_user(session, home, "agency_admin"))
    course = make_published_course(client, org_admin)
    cohort = make_open_cohort(client, org_admin, course["id"])
    expected = []
    for i in range(4):  # interleave: own, enrolled guest, own, guest not enrolled, ...
        expected.append(make_learner(client, org_admin)["id"])
        guest = make_learner(client, home_admin)
        if i % 2 == 0:
            enrol(client, home_admin, cohort["id"], guest["learner_key"])
            expected.append(guest["id"])
    seen: list[str] = []
    url: str | None = "/v1/learners?limit=2"
    while url:
        page = client.get(url, headers=org_admin)
        assert page.status_code == 200, page.text
        seen += [item["id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        url = f"/v1/learners?limit=2&cursor={cursor}" if cursor else None
    assert seen == sorted(expected)
