"""The cohort list answers every filter, for every kind of caller, exactly as the rules say.

The list's statements are built once per shape (caller kind, sort, first page or not,
which filters) and reused with bind parameters: these tests ask the same shapes with other
callers and other values in turn, so a value frozen into a reused statement (one agency's
drafts shown to another, one filter value answering for the next) fails here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from tests.factories import (
    auth_headers,
    course_payload,
    make_agency,
    make_cohort,
    make_published_course,
    make_user,
    module,
)

Cohort = dict[str, Any]


def _walk(client: TestClient, headers: dict[str, str], params: dict[str, Any]) -> list[str]:
    """Every id of the list, page by page (2 a page)."""
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
        r = client.get("/v1/cohorts", params=query, headers=headers)
        assert r.status_code == 200, r.text
        seen.extend(c["id"] for c in r.json()["items"])
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the list did not end")


def _transition(client: TestClient, headers: dict[str, str], cohort: Cohort, *to: str) -> None:
    for step in to:
        r = client.post(
            f"/v1/cohorts/{cohort['id']}/transitions", json={"to": step}, headers=headers
        )
        assert r.status_code == 200, r.text
        cohort.update(r.json())


@pytest.fixture
def catalogue(client: TestClient, session: Session) -> dict[str, Any]:
    """Two agencies, four courses (one a draft), cohorts in draft, open, closed, cancelled."""
    first, second = make_agency(session), make_agency(session)
    a = auth_headers(make_user(session, first, "agency_admin"))
    b = auth_headers(make_user(session, second, "agency_admin"))
    platform = auth_headers(make_user(session, make_agency(session), "platform_admin"))
    courses = {
        "a1": make_published_course(client, a, title="Pelatihan Kepemimpinan Alfa"),
        "a3": make_published_course(
            client,
            a,
            modules=[module(4, "synchronous_virtual")],
            title="Webinar Zamrud Kebangsaan",
            kind="webinar",
            delivery="online",
            total_jp=4,
        ),
        "b1": make_published_course(
            client, b, title="Pelatihan Teknis Beta", competency_type="managerial"
        ),  # fmt: skip
    }
    draft = client.post("/v1/courses", json=course_payload(title="Konsep Gamma"), headers=a)
    assert draft.status_code == 201, draft.text
    courses["a2"] = draft.json()
    owner = {"a1": a, "a2": a, "a3": a, "b1": b}
    cohorts: list[Cohort] = []
    for key, course in courses.items():
        headers = owner[key]
        for n, (day, moves) in enumerate(
            [
                ("2025-03-10", ()),
                ("2025-07-14", ("open",)),
                ("2026-02-02", ("open", "closed")),
                ("2026-05-18", ("cancelled",)),
                ("2025-07-14", ("open",)),  # the same day: the id breaks the tie
            ],
            start=1,
        ):
            if key == "a2" and moves and moves[0] == "open":
                moves = ()  # a draft course's cohorts cannot open
            cohort = make_cohort(
                client, headers, course["id"], number=n, year=int(day[:4]),
                starts_on=day, ends_on=day,
            )  # fmt: skip
            _transition(client, headers, cohort, *moves)
            cohort["_course"] = course
            cohorts.append(cohort)
    return {
        "cohorts": cohorts,
        "courses": courses,
        "agencies": (first, second),
        "callers": {
            "anonymous": ({}, None, False),
            "a": (a, first.id, False),
            "b": (b, second.id, False),
            "platform": (platform, None, True),
        },
    }


def _visible(cohort: Cohort, me: str | None, platform: bool) -> bool:
    if platform or cohort["agency_id"] == me:
        return True
    return cohort["_course"]["status"] == "published" and cohort["status"] not in (
        "draft",
        "cancelled",
    )


def _expected(
    cohorts: list[Cohort], me: str | None, platform: bool, keep: Any, sort: str
) -> list[str]:
    rows = [c for c in cohorts if _visible(c, me, platform) and keep(c)]
    key = sort.lstrip("-")
    rows.sort(key=lambda c: (c[key], c["id"]), reverse=sort.startswith("-"))
    return [c["id"] for c in rows]


def _filters(data: dict[str, Any]) -> list[tuple[dict[str, Any], Any]]:
    courses = data["courses"]
    first, second = data["agencies"]
    cohorts = data["cohorts"]
    middle = sorted(c["updated_at"] for c in cohorts)[len(cohorts) // 2]
    return [
        ({}, lambda c: True),
        ({"q": "zamrud"}, lambda c: c["_course"] is courses["a3"]),
        ({"q": "Kepemimpinan Alfa"}, lambda c: c["_course"] is courses["a1"]),
        ({"course_id": courses["a1"]["id"]}, lambda c: c["_course"] is courses["a1"]),
        ({"course_id": courses["b1"]["id"]}, lambda c: c["_course"] is courses["b1"]),
        ({"agency": second.slug}, lambda c: c["agency_id"] == second.id),
        ({"agency": first.id}, lambda c: c["agency_id"] == first.id),
        ({"status": "open"}, lambda c: c["status"] == "open"),
        ({"status": "draft"}, lambda c: c["status"] == "draft"),
        ({"year": 2026}, lambda c: c["year"] == 2026),
        ({"year": 2025}, lambda c: c["year"] == 2025),
        ({"kind": "webinar"}, lambda c: c["_course"]["kind"] == "webinar"),
        ({"competency_type": "managerial"},
         lambda c: c["_course"]["competency_type"] == "managerial"),  # fmt: skip
        ({"delivery": "online"}, lambda c: c["_course"]["delivery"] == "online"),
        ({"mode": "synchronous_virtual"}, lambda c: c["_course"] is courses["a3"]),
        ({"mode": "classroom"},
         lambda c: c["_course"] in (courses["a1"], courses["b1"])),  # fmt: skip
        ({"starts_after": "2026-01-01"}, lambda c: c["starts_on"] >= "2026-01-01"),
        ({"starts_before": "2025-07-14"}, lambda c: c["starts_on"] <= "2025-07-14"),
        ({"starts_after": "2025-07-14", "starts_before": "2026-02-02", "status": "open"},
         lambda c: "2025-07-14" <= c["starts_on"] <= "2026-02-02" and c["status"] == "open"),
        ({"updated_since": middle},
         lambda c: datetime.fromisoformat(c["updated_at"]) >= datetime.fromisoformat(middle)),
    ]  # fmt: skip


def test_every_filter_answers_every_caller_with_the_visible_rows_in_order(
    client: TestClient, catalogue: dict[str, Any]
) -> None:
    for params, keep in _filters(catalogue):
        for sort in ("starts_on", "-created_at"):
            query = {**params, "sort": sort} if "updated_since" not in params else params
            order = "updated_at" if "updated_since" in params else sort
            # the callers take turns on each shape: a reused statement must not keep the
            # previous caller's agency or the previous filter value
            for name, (headers, me, platform) in catalogue["callers"].items():
                expected = _expected(catalogue["cohorts"], me, platform, keep, order)
                assert _walk(client, headers, query) == expected, (name, params, sort)


def test_a_reused_list_statement_shows_each_agency_only_its_own_drafts(
    client: TestClient, catalogue: dict[str, Any]
) -> None:
    cohorts = catalogue["cohorts"]
    callers = catalogue["callers"]
    for _ in range(2):
        for name in ("a", "b", "a", "anonymous", "b"):
            headers, me, _platform = callers[name]
            page = client.get("/v1/cohorts", params={"status": "draft", "limit": 200},
                              headers=headers).json()["items"]  # fmt: skip
            assert {c["agency_id"] for c in page} <= {me}, name
            assert {c["id"] for c in page} == {
                c["id"] for c in cohorts if c["status"] == "draft" and c["agency_id"] == me
            }, name
