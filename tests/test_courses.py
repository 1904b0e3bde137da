"""Courses: create, read publicly, ETags, If-Match, tenancy, deletion rules, filters."""

from __future__ import annotations

from sqlmodel import Session
from starlette.testclient import TestClient

from tests.factories import (
    auth_headers,
    course_payload,
    make_agency,
    make_cohort,
    make_published_course,
    make_user,
)


def _admin(session: Session) -> tuple[dict[str, str], str]:
    agency = make_agency(session)
    return auth_headers(make_user(session, agency, "agency_admin")), agency.id


def test_create_course_applies_defaults(client: TestClient, session: Session) -> None:
    headers, agency_id = _admin(session)
    r = client.post("/v1/courses", json=course_payload(total_jp=73), headers=headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["agency_id"] == agency_id
    assert body["total_jp"] == 73 and body["minutes_per_jp"] == 45
    assert body["total_hours"] == 54.75
    assert body["passing_score"] == 70.01
    assert [b["label"] for b in body["grade_bands"]] == [
        "sangat memuaskan",
        "memuaskan",
        "cukup",
        "kurang",
    ]
    assert body["status"] == "draft"
    assert r.headers["ETag"] == f'"{body["id"]}-1"'
    assert r.headers["Location"] == f"/v1/courses/{body['id']}"


def test_course_code_is_unique_within_the_agency(client: TestClient, session: Session) -> None:
    headers, _ = _admin(session)
    other, _ = _admin(session)
    assert (
        client.post(
            "/v1/courses", json=course_payload(code="PSK-2025"), headers=headers
        ).status_code
        == 201
    )
    dup = client.post("/v1/courses", json=course_payload(code="PSK-2025"), headers=headers)
    assert dup.status_code == 409
    assert (
        client.post("/v1/courses", json=course_payload(code="PSK-2025"), headers=other).status_code
        == 201
    )


def test_total_jp_must_be_positive_in_half_steps(client: TestClient, session: Session) -> None:
    headers, _ = _admin(session)
    assert (
        client.post("/v1/courses", json=course_payload(total_jp=0), headers=headers).status_code
        == 422
    )
    assert (
        client.post("/v1/courses", json=course_payload(total_jp=7.3), headers=headers).status_code
        == 422
    )
    ok = client.post("/v1/courses", json=course_payload(total_jp=7.5), headers=headers)
    assert ok.status_code == 201 and ok.json()["total_jp"] == 7.5


def test_anonymous_callers_never_see_drafts(client: TestClient, session: Session) -> None:
    headers, _ = _admin(session)
    draft = client.post("/v1/courses", json=course_payload(), headers=headers).json()
    published = make_published_course(client, headers)
    assert client.get(f"/v1/courses/{draft['id']}").status_code == 404
    assert client.get(f"/v1/courses/{published['id']}").status_code == 200
    ids = [c["id"] for c in client.get("/v1/courses").json()["items"]]
    assert ids == [published["id"]]
    assert client.get("/v1/courses", params={"status": "draft"}).json()["items"] == []
    own = [c["id"] for c in client.get("/v1/courses", headers=headers).json()["items"]]
    assert set(own) == {draft["id"], published["id"]}


def test_other_agency_cannot_read_or_change_drafts(client: TestClient, session: Session) -> None:
    headers, _ = _admin(session)
    other, _ = _admin(session)
    draft = client.post("/v1/courses", json=course_payload(), headers=headers).json()
    published = make_published_course(client, headers)
    assert client.get(f"/v1/courses/{draft['id']}", headers=other).status_code == 404
    listed = [c["id"] for c in client.get("/v1/courses", headers=other).json()["items"]]
    assert listed == [published["id"]]
    for course_id in (draft["id"], published["id"]):
        assert (
            client.patch(
                f"/v1/courses/{course_id}", json={"title": "Diambil alih"}, headers=other
            ).status_code
            == 404
        )
        assert client.delete(f"/v1/courses/{course_id}", headers=other).status_code == 404
        assert (
            client.post(f"/v1/courses/{course_id}/curricula", json={}, headers=other).status_code
            == 404
        )


def test_viewers_and_instructors_read_drafts_but_cannot_write(
    client: TestClient, session: Session
) -> None:
    agency = make_agency(session)
    admin = auth_headers(make_user(session, agency, "agency_admin"))
    viewer = auth_headers(make_user(session, agency, "viewer"))
    draft = client.post("/v1/courses", json=course_payload(), headers=admin).json()
    assert client.get(f"/v1/courses/{draft['id']}", headers=viewer).status_code == 200
    assert (
        client.patch(
            f"/v1/courses/{draft['id']}", json={"title": "X y"}, headers=viewer
        ).status_code
        == 403
    )
    assert client.post("/v1/courses", json=course_payload(), headers=viewer).status_code == 403


def test_if_none_match_answers_304(client: TestClient, session: Session) -> None:
    headers, _ = _admin(session)
    course = make_published_course(client, headers)
    first = client.get(f"/v1/courses/{course['id']}")
    etag = first.headers["ETag"]
    again = client.get(f"/v1/courses/{course['id']}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    client.patch(f"/v1/courses/{course['id']}", json={"summary": "Baru"}, headers=headers)
    changed = client.get(f"/v1/courses/{course['id']}", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    page = client.get("/v1/courses")
    assert (
        client.get("/v1/courses", headers={"If-None-Match": page.headers["ETag"]}).status_code
        == 304
    )


def test_if_match_refuses_a_stale_update_with_412(client: TestClient, session: Session) -> None:
    headers, _ = _admin(session)
    course = client.post("/v1/courses", json=course_payload(), headers=headers)
    etag = course.headers["ETag"]
    url = f"/v1/courses/{course.json()['id']}"
    first = client.patch(
        url, json={"title": "Judul Admin Satu"}, headers={**headers, "If-Match": etag}
    )
    assert first.status_code == 200
    second = client.patch(
        url, json={"title": "Judul Admin Dua"}, headers={**headers, "If-Match": etag}
    )
    assert second.status_code == 412
    assert second.json()["code"] == "precondition_failed"
    assert client.get(url, headers=headers).json()["title"] == "Judul Admin Satu"


def test_course_with_cohorts_is_archived_not_deleted(client: TestClient, session: Session) -> None:
    headers, _ = _admin(session)
    course = make_published_course(client, headers)
    make_cohort(client, headers, course["id"])
    refused = client.delete(f"/v1/courses/{course['id']}", headers=headers)
    assert refused.status_code == 409 and "archive" in refused.json()["detail"]
    archived = client.patch(
        f"/v1/courses/{course['id']}", json={"status": "archived"}, headers=headers
    )
    assert archived.json()["status"] == "archived"
    lonely = client.post("/v1/courses", json=course_payload(), headers=headers).json()
    assert client.delete(f"/v1/courses/{lonely['id']}", headers=headers).status_code == 204
    assert client.get(f"/v1/courses/{lonely['id']}", headers=headers).status_code == 404


def test_search_is_case_and_accent_insensitive(client: TestClient, session: Session) -> None:
    headers, _ = _admin(session)
    wanted = make_published_course(client, headers, title="Pelatihan Sosial Kultural Café")
    make_published_course(client, headers, title="Workshop Netralitas")
    for q in ("sosial", "KULTURAL", "cafe", "CAFÉ"):
        found = [c["id"] for c in client.get("/v1/courses", params={"q": q}).json()["items"]]
        assert found == [wanted["id"]], q
    by_code = client.get("/v1/courses", params={"q": wanted["code"].lower()}).json()["items"]
    assert [c["id"] for c in by_code] == [wanted["id"]]


def test_filters_by_kind_mode_and_open_cohort(client: TestClient, session: Session) -> None:
    headers, _ = _admin(session)
    training = make_published_course(client, headers)
    webinar = make_published_course(client, headers, kind="webinar", delivery="online")
    cohort = make_cohort(client, headers, training["id"])
    client.post(f"/v1/cohorts/{cohort['id']}/transitions", json={"to": "open"}, headers=headers)

    def ids(**params: object) -> set[str]:
        return {c["id"] for c in client.get("/v1/courses", params=params).json()["items"]}

    assert ids(kind="webinar") == {webinar["id"]}
    assert ids(delivery="online") == {webinar["id"]}
    assert ids(mode="classroom") == {training["id"], webinar["id"]}
    assert ids(mode="actualization") == set()
    assert ids(has_open_cohort="true") == {training["id"]}
    assert ids(has_open_cohort="false") == {webinar["id"]}
    assert ids(year=2025) == {training["id"]}
    assert ids(starts_after="2025-05-01", starts_before="2025-05-31") == {training["id"]}
    assert ids(starts_after="2025-06-01") == set()


def test_unknown_sort_is_422(client: TestClient) -> None:
    assert client.get("/v1/courses", params={"sort": "password"}).status_code == 422


def test_an_expired_token_is_refused_even_after_it_was_accepted(
    client: TestClient, session: Session
) -> None:
    import time

    agency = make_agency(session)
    user = make_user(session, agency, "agency_admin")
    headers = auth_headers(user)
    draft = client.post("/v1/courses", json=course_payload(), headers=headers).json()
    short = auth_headers(user, ttl_seconds=1)
    assert client.get(f"/v1/courses/{draft['id']}", headers=short).status_code == 200
    time.sleep(2.1)
    refused = client.get(f"/v1/courses/{draft['id']}", headers=short)
    assert refused.status_code == 401
    assert client.get("/v1/courses", headers=short).status_code == 401
    bad = client.get("/v1/courses", headers={"Authorization": "Bearer not.a.token"})
    assert bad.status_code == 401


def test_responses_vary_on_authorization(client: TestClient, session: Session) -> None:
    headers, _ = _admin(session)
    course = make_published_course(client, headers)
    r = client.get(f"/v1/courses/{course['id']}")
    assert r.headers["Vary"] == "Authorization"
    etag = r.headers["ETag"]
    again = client.get(f"/v1/courses/{course['id']}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["ETag"] == etag


def test_filter_by_organiser_agency_id_or_slug(client: TestClient, session: Session) -> None:
    first = make_agency(session)
    second = make_agency(session)
    a = make_published_course(client, auth_headers(make_user(session, first, "agency_admin")))
    make_published_course(client, auth_headers(make_user(session, second, "agency_admin")))
    for value in (first.id, first.slug):
        found = client.get("/v1/courses", params={"agency": value}).json()["items"]
        assert [c["id"] for c in found] == [a["id"]]
    assert client.get("/v1/courses", params={"agency": "nobody"}).json()["items"] == []
    cohorts = client.get("/v1/cohorts", params={"agency": first.slug}).json()["items"]
    assert cohorts == []
