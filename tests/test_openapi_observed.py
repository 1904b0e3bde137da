"""The contract tells the truth: every status a test sees a route answer is declared by
that route's operation in the OpenAPI document.

The check itself is the autouse fixture `_statuses_are_declared` in tests/conftest.py: it
runs around every test, so the whole suite is checked whatever the order (or worker) and
a failure names the test that provoked the status. These tests show that it records
what a client provokes and that it catches an undeclared status; they pass alone.
"""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.conftest import observed_requests, undeclared_statuses


def test_statuses_a_client_provokes_are_recorded_and_declared(client: TestClient) -> None:
    before = observed_requests()
    assert client.get("/health/live").status_code == 200
    assert client.get("/v1/me").status_code == 401
    assert client.get("/v1/courses/crs_unknown").status_code == 404
    assert client.get("/v1/courses", params={"limit": 0}).status_code == 422
    seen = {key for key, n in observed_requests().items() if n > before.get(key, 0)}
    assert seen >= {
        ("GET", "/health/live", "200"),
        ("GET", "/v1/me", "401"),
        ("GET", "/v1/courses/{course_id}", "404"),
        ("GET", "/v1/courses", "422"),
    }
    assert undeclared_statuses(seen, client.app.openapi()["paths"]) == []


def test_an_undeclared_status_is_reported_with_its_operation(client: TestClient) -> None:
    paths = client.app.openapi()["paths"]
    seen = [
        ("GET", "/v1/courses/{course_id}", "200"),
        ("GET", "/v1/courses/{course_id}", "418"),
        ("GET", "/no/such/route", "404"),  # not the contract's business
    ]
    [report] = undeclared_statuses(seen, paths)
    assert report.startswith("GET /v1/courses/{course_id} -> 418 (")
