"""Cursor pagination: every row once, even while rows are inserted between page requests."""

from __future__ import annotations

import re

from sqlmodel import Session
from starlette.testclient import TestClient

from app.core.pagination import encode_cursor
from app.main import create_app
from tests.factories import (
    auth_headers,
    course_payload,
    make_agency,
    make_cohort,
    make_published_course,
    make_user,
)


def _walk(
    client: TestClient, headers: dict[str, str], params: dict[str, object], between=None
) -> list[str]:  # type: ignore[no-untyped-def]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        r = client.get("/v1/courses", params=query, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        seen.extend(c["id"] for c in body["items"])
        cursor = body["next_cursor"]
        pages += 1
        if cursor is None:
            assert "Link" not in r.headers
            return seen
        link = r.headers["Link"]
        assert re.fullmatch(r'<http://testserver/v1/courses\?.*cursor=[^>]+>; rel="next"', link)
        if between:
            between(pages)


def test_every_row_exactly_once_while_rows_are_inserted(
    client: TestClient, session: Session
) -> None:
    agency = make_agency(session)
    headers = auth_headers(make_user(session, agency, "agency_admin"))
    original = [
        client.post(
            "/v1/courses", json=course_payload(title=f"Kursus {i % 4}"), headers=headers
        ).json()["id"]
        for i in range(23)
    ]

    def insert(page: int) -> None:
        for _ in range(3):
            client.post(
                "/v1/courses", json=course_payload(title=f"Kursus {page % 4}"), headers=headers
            )

    for sort in ("created_at", "-created_at", "title", "-title"):
        seen = _walk(client, headers, {"limit": 5, "sort": sort}, insert)
        assert len(seen) == len(set(seen)), sort
        assert set(original) <= set(seen), sort


def test_limit_is_capped_and_defaulted(client: TestClient, session: Session) -> None:
    agency = make_agency(session)
    headers = auth_headers(make_user(session, agency, "agency_admin"))
    for _ in range(3):
        client.post("/v1/courses", json=course_payload(), headers=headers)
    assert (
        len(client.get("/v1/courses", params={"limit": 1000}, headers=headers).json()["items"]) == 3
    )
    # the contract bounds the page size; above the bound is refused, not silently clamped
    assert client.get("/v1/courses", params={"limit": 100000}, headers=headers).status_code == 422
    assert client.get("/v1/courses", params={"limit": 0}, headers=headers).status_code == 422
    bad = client.get("/v1/courses", params={"cursor": "not-a-cursor"}, headers=headers)
    assert bad.status_code == 422


def _walk_as(client: TestClient, headers: dict[str, str], params: dict[str, object]) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        body = client.get("/v1/courses", params=query, headers=headers).json()
        seen.extend(c["id"] for c in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return seen


def test_pages_merge_published_and_own_drafts_in_order(
    client: TestClient, session: Session
) -> None:
    mine = make_agency(session)
    theirs = make_agency(session)
    me = auth_headers(make_user(session, mine, "viewer"))
    my_admin = auth_headers(make_user(session, mine, "agency_admin"))
    their_admin = auth_headers(make_user(session, theirs, "agency_admin"))
    platform = auth_headers(make_user(session, make_agency(session), "platform_admin"))
    created: dict[str, set[str]] = {"mine": set(), "their_drafts": set(), "public": set()}
    for i in range(9):
        status = "published" if i % 3 == 0 else "draft"
        c = client.post(
            "/v1/courses",
            json=course_payload(title=f"Kelas {i % 5}", status=status),
            headers=my_admin,
        ).json()
        created["mine"].add(c["id"])
        if status == "published":
            created["public"].add(c["id"])
        t = client.post(
            "/v1/courses",
            json=course_payload(title=f"Kelas {i % 4}", status=status),
            headers=their_admin,
        ).json()
        (created["public"] if status == "published" else created["their_drafts"]).add(t["id"])
    for sort in ("created_at", "-created_at", "title", "-title", "code", "-code"):
        params = {"limit": 4, "sort": sort}
        as_me = _walk_as(client, me, params)
        assert len(as_me) == len(set(as_me)), sort
        assert set(as_me) == created["mine"] | created["public"], sort
        full = client.get("/v1/courses", params={"limit": 200, "sort": sort}, headers=me).json()
        assert [c["id"] for c in full["items"]] == as_me, sort
        anon = _walk_as(client, {}, params)
        assert sorted(anon) == sorted(created["public"]), sort
        everything = _walk_as(client, platform, params)
        assert set(everything) == created["mine"] | created["public"] | created["their_drafts"]
        assert len(everything) == len(set(everything))
    filtered = _walk_as(client, me, {"limit": 2, "q": "kelas 1", "status": "draft"})
    assert filtered and all(i in created["mine"] for i in filtered)


def test_cohort_pages_give_every_row_once_while_rows_are_inserted(
    client: TestClient, session: Session
) -> None:
    from tests.factories import make_cohort, make_published_course

    agency = make_agency(session)
    headers = auth_headers(make_user(session, agency, "agency_admin"))
    course = make_published_course(client, headers)
    numbers = iter(range(1, 1000))

    def add(day: int) -> str:
        on = f"2025-{1 + day % 12:02d}-{1 + day % 28:02d}"
        return make_cohort(
            client, headers, course["id"], number=next(numbers), starts_on=on, ends_on=on
        )["id"]

    original = [add(i * 7) for i in range(17)]  # starts_on spread over the year, some equal
    for sort in ("starts_on", "-starts_on", "created_at", "-created_at"):
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            query: dict[str, object] = {"limit": 4, "sort": sort}
            if cursor:
                query["cursor"] = cursor
            r = client.get("/v1/cohorts", params=query, headers=headers)
            assert r.status_code == 200, r.text
            seen.extend(c["id"] for c in r.json()["items"])
            cursor = r.json()["next_cursor"]
            pages += 1
            if cursor is None:
                break
            for day in (pages, pages * 11, pages * 29):  # before and after the cursor
                add(day)
        assert len(seen) == len(set(seen)), sort
        assert set(original) <= set(seen), sort
        assert pages >= 5, sort


def _follow_links(client: TestClient, url: str, headers: dict[str, str]) -> list[dict]:  # type: ignore[type-arg]
    """Every item of a list, a page at a time, by following ``Link: rel="next"``."""
    items: list[dict] = []  # type: ignore[type-arg]
    while True:
        r = client.get(url, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"items", "next_cursor"}
        assert len(body["items"]) <= 1
        items.extend(body["items"])
        if body["next_cursor"] is None:
            assert "Link" not in r.headers
            return items
        match = re.fullmatch(r'<(http://testserver/[^>]+)>; rel="next"', r.headers["Link"])
        assert match, r.headers["Link"]
        url = match.group(1)


def test_sessions_and_curricula_come_in_pages_with_link_headers(
    client: TestClient, session: Session
) -> None:
    agency = make_agency(session)
    headers = auth_headers(make_user(session, agency, "agency_admin"))
    course = make_published_course(client, headers)
    cohort = make_cohort(client, headers, course["id"])
    for day in (16, 14, 15):  # created out of time order
        r = client.post(
            f"/v1/cohorts/{cohort['id']}/sessions",
            json={
                "mode": "classroom",
                "jp": 2,
                "starts_at": f"2025-05-{day}T08:00:00+07:00",
                "ends_at": f"2025-05-{day}T10:00:00+07:00",
            },  # fmt: skip
            headers=headers,
        )
        assert r.status_code == 201, r.text
    sessions = _follow_links(client, f"/v1/cohorts/{cohort['id']}/sessions?limit=1", headers)
    assert [s["starts_at"][:10] for s in sessions] == ["2025-05-14", "2025-05-15", "2025-05-16"]

    base = f"/v1/courses/{course['id']}/curricula"
    assert client.post(base, json={}, headers=headers).status_code == 201
    assert client.post(f"{base}/2/publish", headers=headers).status_code == 200
    assert client.post(base, json={}, headers=headers).status_code == 201  # draft version 3
    own = _follow_links(client, f"{base}?limit=1", headers)
    assert [(c["version"], c["status"]) for c in own] == [
        (1, "published"),
        (2, "published"),
        (3, "draft"),
    ]
    public = _follow_links(client, f"{base}?limit=1", {})
    assert [c["version"] for c in public] == [1, 2]


def test_a_damaged_cursor_is_refused_in_both_languages(
    client: TestClient, session: Session
) -> None:
    agency = make_agency(session)
    headers = auth_headers(make_user(session, agency, "agency_admin"))
    course = make_published_course(client, headers)
    cohort = make_cohort(client, headers, course["id"])
    for url in (
        f"/v1/cohorts/{cohort['id']}/sessions",
        f"/v1/courses/{course['id']}/curricula",
        "/v1/courses",
        "/v1/cohorts",
    ):
        for lang in ("en", "id"):
            r = client.get(
                url,
                params={"cursor": "bm90LWEtY3Vyc29y"},
                headers={**headers, "Accept-Language": lang},
            )
            assert r.status_code == 422, (url, r.text)
            body = r.json()
            assert body["code"] == "invalid_cursor"
            assert ("cursor" in body["detail"]) and ("next_cursor" in body["detail"]), body
            if lang == "id":
                assert "layanan ini" in body["detail"], body
    # well-formed cursors whose key is not a time / a version number
    for url, cursor in (
        (f"/v1/cohorts/{cohort['id']}/sessions", encode_cursor("starts_at", "x", "ses_x")),
        (f"/v1/courses/{course['id']}/curricula", encode_cursor("version", "x", "cur_x")),
    ):
        r = client.get(url, params={"cursor": cursor}, headers=headers)
        assert r.status_code == 422 and r.json()["code"] == "invalid_cursor", r.text


def test_no_list_in_the_contract_answers_a_bare_array() -> None:
    document = create_app().openapi()
    schemas = document["components"]["schemas"]
    for path, item in document["paths"].items():
        get = item.get("get")
        if not get:
            continue
        content = get["responses"].get("200", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema", {})
        assert schema.get("type") != "array", path
        ref = schema.get("$ref", "")
        if ref.endswith("Page"):
            page = schemas[ref.rsplit("/", 1)[1]]
            assert set(page["properties"]) == {"items", "next_cursor"}, path
