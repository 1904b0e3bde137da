"""The binding's filter grammar: each operator, AND and OR, and every malformed filter
answered 400 with imsx_codeMinor invalid_filter_field (never a 500, never ignored)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from app.services.oneroster.query import Predicate, parse_filter
from tests.factories_oneroster import ROSTER, OneRosterSetup, setup_oneroster


def test_parse_reads_or_of_ands() -> None:
    assert parse_filter("status='active' AND givenName~'ani' OR role!='teacher'") == [
        [Predicate("status", "=", "active"), Predicate("givenName", "~", "ani")],
        [Predicate("role", "!=", "teacher")],
    ]
    assert parse_filter("dateLastModified>='2025-01-01T00:00:00Z'") == [
        [Predicate("dateLastModified", ">=", "2025-01-01T00:00:00Z")]
    ]
    assert parse_filter("title='Angkatan II, 2025 AND more'") == [
        [Predicate("title", "=", "Angkatan II, 2025 AND more")]
    ]


@pytest.fixture
def world(client: TestClient, session: Session) -> OneRosterSetup:
    return setup_oneroster(client, session, learners=3)


def _names(client: TestClient, world: OneRosterSetup, text: str, path: str = "/users") -> list[str]:
    got = client.get(ROSTER + path, params={"filter": text}, headers=world.token)
    assert got.status_code == 200, got.text
    return sorted(u["sourcedId"] for u in got.json()["users"])


def test_each_operator(client: TestClient, world: OneRosterSetup) -> None:
    users = client.get(ROSTER + "/users", headers=world.token).json()["users"]
    everyone = sorted(u["sourcedId"] for u in users)
    students = sorted(u["sourcedId"] for u in users if u["roles"][0]["role"] == "student")
    teacher = [world.instructor_id]
    assert _names(client, world, "role='teacher'") == teacher
    assert _names(client, world, "role!='teacher'") == students
    first, *rest = sorted(students)
    assert _names(client, world, f"sourcedId='{first}'") == [first]
    assert _names(client, world, f"sourcedId>'{first}'") == sorted(
        [s for s in everyone if s > first]
    )
    assert _names(client, world, f"sourcedId>='{first}'") == sorted(
        [s for s in everyone if s >= first]
    )
    assert _names(client, world, f"sourcedId<'{rest[0]}'") == [s for s in everyone if s < rest[0]]
    assert _names(client, world, f"sourcedId<='{rest[0]}'") == [s for s in everyone if s <= rest[0]]
    # ~ is contains, case-insensitive
    assert _names(client, world, "givenName~'PESERTA'") == students
    assert _names(client, world, "givenName~'%'") == []  # wildcards are literal
    assert _names(client, world, "dateLastModified>'2000-01-01T00:00:00Z'") == everyone
    assert _names(client, world, "dateLastModified<'2000-01-01'") == []


def test_and_binds_tighter_than_or(client: TestClient, world: OneRosterSetup) -> None:
    students = _names(client, world, "role='student'")
    assert _names(client, world, "role='student' AND role='teacher'") == []
    assert _names(client, world, "role='student' OR role='teacher'") == sorted(
        [*students, world.instructor_id]
    )
    assert (
        _names(client, world, f"role='teacher' AND sourcedId='{students[0]}' OR role='student'")
        == students
    )


def test_filter_on_nested_reference(client: TestClient, world: OneRosterSetup) -> None:
    got = client.get(
        ROSTER + "/enrollments",
        params={"filter": f"class.sourcedId='{world.progress.cohort_id}' AND role='student'"},
        headers=world.token,
    )
    assert sorted(e["sourcedId"] for e in got.json()["enrollments"]) == sorted(
        world.progress.enrollments
    )
    assert got.headers["X-Total-Count"] == "3"


@pytest.mark.parametrize(
    "text",
    [
        "shoeSize='42'",  # no such field
        "status=active",  # value without quotes
        "status=='active'",  # no such operator
        "status='active' and role='student'",  # lower-case logical operator
        "status='active' AND",  # dangling operator
        "status='active'role='student'",  # no joiner
        "status='active' XOR role='student'",
        "dateLastModified>'yesterday'",  # not ISO 8601
        "(status='active')",
        "status='it''s'",
    ],
)
def test_bad_filters_are_the_binding_400(
    client: TestClient, world: OneRosterSetup, text: str
) -> None:
    got = client.get(ROSTER + "/users", params={"filter": text}, headers=world.token)
    assert got.status_code == 400, got.text
    body: dict[str, Any] = got.json()
    assert body["imsx_codeMajor"] == "failure" and body["imsx_severity"] == "error"
    field = body["imsx_CodeMinor"]["imsx_codeMinorField"][0]
    assert field["imsx_codeMinorFieldValue"] == "invalid_filter_field"
    assert body["imsx_description"]


def test_unknown_query_parameter_is_a_400(client: TestClient, world: OneRosterSetup) -> None:
    got = client.get(ROSTER + "/users", params={"filtr": "status='active'"}, headers=world.token)
    assert got.status_code == 400
    assert "filtr" in got.json()["imsx_description"]


@pytest.mark.parametrize("param", ["filter", "fields", "sort"])
def test_control_characters_are_refused_before_the_database(
    client: TestClient, world: OneRosterSetup, param: str
) -> None:
    got = client.get(ROSTER + "/users", params={param: "status='\x00'"}, headers=world.token)
    assert got.status_code == 400
    assert got.json()["imsx_codeMajor"] == "failure"
