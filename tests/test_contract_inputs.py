"""The contract is strict: out-of-range numbers and dates, control characters, unknown
fields and parameters, and lax types are a 422 naming the field, never a 500 or a silent
coercion."""

from __future__ import annotations

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
)

HUGE = 9223372036854775808  # 2**63: beyond a 64-bit integer


@pytest.fixture
def admin(session: Session) -> dict[str, str]:
    agency = make_agency(session)
    return auth_headers(make_user(session, agency, "agency_admin"))


def _refused(response: Any, *loc: str | int) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "validation_error"
    locs = [tuple(e["loc"]) for e in body["errors"]]
    assert tuple(loc) in locs, locs
    return dict(body)


# --- defect 3: integers beyond 64 bits -----------------------------------------------


def test_curriculum_version_beyond_64_bits_in_the_path_is_422(
    client: TestClient, admin: dict[str, str]
) -> None:
    course = make_published_course(client, admin)
    base = f"/v1/courses/{course['id']}/curricula/{HUGE}"
    _refused(client.get(base), "path", "version")  # anonymous
    _refused(client.patch(base, json={"modules": []}, headers=admin), "path", "version")
    _refused(client.post(f"{base}/publish", headers=admin), "path", "version")


def test_curriculum_version_beyond_64_bits_in_a_cohort_body_is_422(
    client: TestClient, admin: dict[str, str]
) -> None:
    course = make_published_course(client, admin)
    _refused(
        client.post(
            "/v1/cohorts",
            json={
                "course_id": course["id"],
                "number": 1,
                "year": 2025,
                "starts_on": "2025-05-14",
                "ends_on": "2025-05-26",
                "curriculum_version": HUGE,
            },
            headers=admin,
        ),
        "body",
        "curriculum_version",
    )
    cohort = make_cohort(client, admin, course["id"])
    _refused(
        client.patch(
            f"/v1/cohorts/{cohort['id']}", json={"curriculum_version": HUGE}, headers=admin
        ),
        "body",
        "curriculum_version",
    )


def test_max_absence_jp_has_an_upper_bound(client: TestClient, admin: dict[str, str]) -> None:
    course = client.post("/v1/courses", json=course_payload(), headers=admin).json()
    body = _refused(
        client.patch(f"/v1/courses/{course['id']}", json={"max_absence_jp": 1e20}, headers=admin),
        "body",
        "max_absence_jp",
    )
    assert body["errors"][0]["type"] == "less_than_equal"


# --- defect 4: dates at the edge of the calendar --------------------------------------


@pytest.mark.parametrize("starts_at", ["0001-01-01T00:00:00+14:00", "9999-12-31T20:00:00-14:00"])
def test_session_time_outside_1900_2200_is_422(
    client: TestClient, admin: dict[str, str], starts_at: str
) -> None:
    course = make_published_course(client, admin)
    cohort = make_cohort(client, admin, course["id"])
    response = client.post(
        f"/v1/cohorts/{cohort['id']}/sessions",
        json={"starts_at": starts_at, "ends_at": "2025-05-14T10:00:00+07:00", "jp": 2},
        headers=admin,
    )
    body = _refused(response, "body", "starts_at")
    assert body["errors"][0]["type"] == "date_out_of_range"


def test_enrollment_close_at_the_end_of_the_calendar_is_422(
    client: TestClient, admin: dict[str, str]
) -> None:
    course = make_published_course(client, admin)
    cohort = make_cohort(client, admin, course["id"])
    _refused(
        client.patch(
            f"/v1/cohorts/{cohort['id']}",
            json={"enrollment_closes_at": "9999-12-31T23:59:59-14:00"},
            headers=admin,
        ),
        "body",
        "enrollment_closes_at",
    )


def test_date_only_session_time_asks_for_an_offset(
    client: TestClient, admin: dict[str, str]
) -> None:
    course = make_published_course(client, admin)
    cohort = make_cohort(client, admin, course["id"])
    response = client.post(
        f"/v1/cohorts/{cohort['id']}/sessions",
        json={"starts_at": "2025-05-14", "ends_at": "2025-05-14T10:00:00+07:00", "jp": 2},
        headers={**admin, "Accept-Language": "id"},
    )
    error = _refused(response, "body", "starts_at")["errors"][0]
    assert error["type"] == "datetime_offset"
    assert "+07:00" in error["msg"] and "offset" in error["msg"]


# --- defect 7: lengths, control characters, zones, lax types --------------------------


def test_a_tag_or_partner_name_has_a_length_limit(
    client: TestClient, admin: dict[str, str]
) -> None:
    _refused(
        client.post("/v1/courses", json=course_payload(tags=["x" * 11000]), headers=admin),
        "body",
        "tags",
        0,
    )
    _refused(
        client.post("/v1/courses", json=course_payload(partners=["x" * 11000]), headers=admin),
        "body",
        "partners",
        0,
    )


@pytest.mark.parametrize("field", ["title", "code"])
def test_nul_bytes_in_single_line_text_are_refused(
    client: TestClient, admin: dict[str, str], field: str
) -> None:
    payload = course_payload()
    payload[field] = payload[field] + "\x00x"
    body = _refused(client.post("/v1/courses", json=payload, headers=admin), "body", field)
    assert "control characters" in body["errors"][0]["msg"]


def test_multi_line_text_keeps_line_breaks(client: TestClient, admin: dict[str, str]) -> None:
    created = client.post(
        "/v1/courses", json=course_payload(description="Baris satu\nBaris dua"), headers=admin
    )
    assert created.status_code == 201, created.text
    assert created.json()["description"] == "Baris satu\nBaris dua"


def test_timezone_must_be_an_iana_name(client: TestClient, admin: dict[str, str]) -> None:
    course = make_published_course(client, admin)
    cohort = make_cohort(client, admin, course["id"])
    url = f"/v1/cohorts/{cohort['id']}"
    _refused(client.patch(url, json={"timezone": "localtime"}, headers=admin), "body", "timezone")
    moved = client.patch(url, json={"timezone": "Asia/Makassar"}, headers=admin)
    assert moved.status_code == 200 and moved.json()["timezone"] == "Asia/Makassar"


def test_zero_is_not_a_date_in_a_filter(client: TestClient) -> None:
    _refused(client.get("/v1/courses", params={"starts_before": "0"}), "query", "starts_before")
    _refused(client.get("/v1/cohorts", params={"starts_after": "0"}), "query", "starts_after")
    assert client.get("/v1/courses", params={"starts_before": "2025-01-01"}).status_code == 200


def test_zero_is_not_false(client: TestClient, session: Session) -> None:
    agency = make_agency(session)
    admin = auth_headers(make_user(session, agency, "agency_admin"))
    viewer = make_user(session, agency, "viewer")
    response = client.patch(f"/v1/users/{viewer.id}", json={"is_active": 0}, headers=admin)
    _refused(response, "body", "is_active")
    assert client.get(f"/v1/users/{viewer.id}", headers=admin).json()["is_active"] is True


@pytest.mark.parametrize("value", ["", "10", True])
def test_a_number_is_a_json_number(client: TestClient, admin: dict[str, str], value: Any) -> None:
    _refused(
        client.post("/v1/courses", json=course_payload(total_jp=value), headers=admin),
        "body",
        "total_jp",
    )


def test_jp_comes_in_half_steps(client: TestClient, admin: dict[str, str]) -> None:
    _refused(
        client.post("/v1/courses", json=course_payload(total_jp=10.3), headers=admin),
        "body",
        "total_jp",
    )
    assert (
        client.post("/v1/courses", json=course_payload(total_jp=10.5), headers=admin).status_code
        == 201
    )


# --- rules: unknown fields and query parameters ---------------------------------------


def test_unknown_body_field_is_named(client: TestClient, admin: dict[str, str]) -> None:
    course = make_published_course(client, admin)
    cohort = make_cohort(client, admin, course["id"])
    body = _refused(
        client.patch(f"/v1/cohorts/{cohort['id']}", json={"name": "Angkatan III"}, headers=admin),
        "body",
        "name",
    )
    assert body["errors"][0]["type"] == "extra_forbidden"
    unchanged = client.get(f"/v1/cohorts/{cohort['id']}", headers=admin).json()
    assert unchanged["version"] == cohort["version"]


def test_unknown_field_in_a_nested_object_is_named(
    client: TestClient, admin: dict[str, str]
) -> None:
    bands = [{"label": "lulus", "above": 70, "colour": "green"}, {"label": "kurang"}]
    _refused(
        client.post("/v1/courses", json=course_payload(grade_bands=bands), headers=admin),
        "body",
        "grade_bands",
        0,
        "colour",
    )


@pytest.mark.parametrize(
    "url",
    [
        "/v1/courses?stauts=published",
        "/v1/cohorts?stauts=open",
        "/v1/courses/crs_x/curricula?draft=true",
        "/v1/agencies?page=2",
    ],
)
def test_unknown_query_parameter_is_named(
    client: TestClient, admin: dict[str, str], url: str
) -> None:
    name = url.split("?")[1].split("=")[0]
    body = _refused(client.get(url, headers=admin), "query", name)
    assert body["errors"][0]["type"] in {"unknown_query_parameter", "extra_forbidden"}


def test_declared_query_parameters_still_work(client: TestClient, admin: dict[str, str]) -> None:
    make_published_course(client, admin)
    response = client.get(
        "/v1/courses",
        params={"status": "published", "sort": "-title", "limit": 5, "has_open_cohort": "false"},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    _refused(
        client.get("/v1/courses", params={"has_open_cohort": "0"}, headers=admin),
        "query",
        "has_open_cohort",
    )
