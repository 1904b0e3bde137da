"""Curriculum versions: JP and weight checks at publish, frozen published versions, copies."""

from __future__ import annotations

from sqlmodel import Session
from starlette.testclient import TestClient

from tests.factories import auth_headers, course_payload, make_agency, make_user, module


def _course(
    client: TestClient, session: Session, total_jp: float = 73
) -> tuple[dict[str, str], str]:
    agency = make_agency(session)
    headers = auth_headers(make_user(session, agency, "agency_admin"))
    course = client.post("/v1/courses", json=course_payload(total_jp=total_jp), headers=headers)
    return headers, course.json()["id"]


def test_publish_refuses_a_wrong_jp_sum_naming_the_difference(
    client: TestClient, session: Session
) -> None:
    headers, course_id = _course(client, session)
    modules = [module(30), module(18, "synchronous_virtual"), module(24, "actualization")]
    client.post(f"/v1/courses/{course_id}/curricula", json={"modules": modules}, headers=headers)
    r = client.post(f"/v1/courses/{course_id}/curricula/1/publish", headers=headers)
    assert r.status_code == 422
    assert "modules add up to 72 JP; the course requires 73" in r.json()["detail"]
    assert r.json()["errors"][0]["type"] == "jp_total"


def test_publish_refuses_assessed_weights_not_adding_to_100(
    client: TestClient, session: Session
) -> None:
    headers, course_id = _course(client, session, total_jp=10)
    modules = [
        module(6, assessed=True, weight=50),
        module(4, "classroom", assessed=True, weight=40.5),
    ]
    client.post(f"/v1/courses/{course_id}/curricula", json={"modules": modules}, headers=headers)
    r = client.post(f"/v1/courses/{course_id}/curricula/1/publish", headers=headers)
    assert r.status_code == 422
    assert (
        "weights of assessed modules add up to 90.5; they must add up to 100" in r.json()["detail"]
    )


def test_half_jp_modules_sum_exactly(client: TestClient, session: Session) -> None:
    headers, course_id = _course(client, session, total_jp=1.5)
    modules = [module(0.5), module(0.5, "synchronous_virtual"), module(0.5, "classroom")]
    client.post(f"/v1/courses/{course_id}/curricula", json={"modules": modules}, headers=headers)
    r = client.post(f"/v1/courses/{course_id}/curricula/1/publish", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total_jp"] == 1.5
    assert body["jp_by_mode"] == {
        "self_paced": 0.5,
        "synchronous_virtual": 0.5,
        "classroom": 0.5,
        "actualization": 0,
    }
    assert body["total_hours"] == 1.125
    assert (
        client.post(
            f"/v1/courses/{course_id}/curricula", json={"modules": [module(0.3)]}, headers=headers
        ).status_code
        == 422
    )


def test_published_version_never_changes_and_new_draft_is_a_copy(
    client: TestClient, session: Session
) -> None:
    headers, course_id = _course(client, session, total_jp=73)
    modules = [
        module(30, "self_paced", assessed=True, weight=30),
        module(18, "synchronous_virtual", assessed=True, weight=30),
        module(25, "actualization", assessed=True, weight=40),
    ]
    client.post(f"/v1/courses/{course_id}/curricula", json={"modules": modules}, headers=headers)
    published = client.post(f"/v1/courses/{course_id}/curricula/1/publish", headers=headers)
    assert published.status_code == 200
    assert published.json()["jp_by_mode"]["self_paced"] == 30
    assert published.json()["total_hours"] == 54.75
    edit = client.patch(
        f"/v1/courses/{course_id}/curricula/1", json={"modules": [module(73)]}, headers=headers
    )
    assert edit.status_code == 409
    assert (
        client.post(f"/v1/courses/{course_id}/curricula/1/publish", headers=headers).status_code
        == 409
    )
    draft = client.post(f"/v1/courses/{course_id}/curricula", json={}, headers=headers)
    assert draft.status_code == 201
    assert draft.json()["version"] == 2 and draft.json()["status"] == "draft"
    assert [m["title"] for m in draft.json()["modules"]] == [m["title"] for m in modules]
    assert (
        client.post(f"/v1/courses/{course_id}/curricula", json={}, headers=headers).status_code
        == 409
    )
    changed = client.patch(
        f"/v1/courses/{course_id}/curricula/2", json={"modules": [module(73)]}, headers=headers
    )
    assert changed.status_code == 200 and len(changed.json()["modules"]) == 1
    v1 = client.get(f"/v1/courses/{course_id}/curricula/1", headers=headers).json()
    assert [m["title"] for m in v1["modules"]] == [m["title"] for m in modules]
    course = client.get(f"/v1/courses/{course_id}", headers=headers).json()
    assert course["published_curriculum_version"] == 1
    assert course["modes"] == ["actualization", "self_paced", "synchronous_virtual"]


def test_draft_edit_honours_if_match(client: TestClient, session: Session) -> None:
    headers, course_id = _course(client, session, total_jp=4)
    created = client.post(
        f"/v1/courses/{course_id}/curricula", json={"modules": [module(4)]}, headers=headers
    )
    etag = created.headers["ETag"]
    url = f"/v1/courses/{course_id}/curricula/1"
    assert (
        client.patch(
            url, json={"modules": [module(2), module(2)]}, headers={**headers, "If-Match": etag}
        ).status_code
        == 200
    )
    assert (
        client.patch(
            url, json={"modules": [module(4)]}, headers={**headers, "If-Match": etag}
        ).status_code
        == 412
    )
    current = client.get(url, headers=headers)
    assert (
        client.get(url, headers={**headers, "If-None-Match": current.headers["ETag"]}).status_code
        == 304
    )


def test_drafts_are_hidden_from_the_public_and_other_agencies(
    client: TestClient, session: Session
) -> None:
    headers, course_id = _course(client, session, total_jp=4)
    client.patch(f"/v1/courses/{course_id}", json={"status": "published"}, headers=headers)
    client.post(
        f"/v1/courses/{course_id}/curricula", json={"modules": [module(4)]}, headers=headers
    )
    other_agency = make_agency(session)
    other = auth_headers(make_user(session, other_agency, "agency_admin"))
    assert client.get(f"/v1/courses/{course_id}/curricula/1").status_code == 404
    assert client.get(f"/v1/courses/{course_id}/curricula/1", headers=other).status_code == 404
    assert client.get(f"/v1/courses/{course_id}/curricula", headers=other).json()["items"] == []
    assert (
        client.patch(
            f"/v1/courses/{course_id}/curricula/1", json={"modules": [module(4)]}, headers=other
        ).status_code
        == 404
    )
    assert (
        client.post(f"/v1/courses/{course_id}/curricula/1/publish", headers=other).status_code
        == 404
    )
    assert client.get(f"/v1/courses/{course_id}/curricula/1", headers=headers).status_code == 200
