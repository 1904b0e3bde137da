from __future__ import annotations

from starlette.testclient import TestClient


def test_live_answers_ok(client: TestClient) -> None:
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": None}


def test_ready_checks_the_database(client: TestClient, engine) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["database"] == engine.dialect.name


def test_request_id_is_echoed_or_generated(client: TestClient) -> None:
    echoed = client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    generated = client.get("/health/live")
    assert len(generated.headers["x-request-id"]) == 32
    hostile = client.get("/health/live", headers={"X-Request-ID": "bad id\twith spaces"})
    assert hostile.headers["x-request-id"] != "bad id\twith spaces"


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    client.get("/health/live")
    client.get("/v1/courses/crs_metrics_probe")
    client.get("/no/such/path/19800101200501 1001")
    body = client.get("/metrics").text
    assert 'bangkom_http_requests_total{method="GET",route="/health/live",status="200"}' in body
    # API routes are labelled with their full template, /v1 prefix included
    assert 'method="GET",route="/v1/courses/{course_id}",status="404"' in body
    assert "crs_metrics_probe" not in body
    assert 'route="unmatched",status="404"' in body
    assert "bangkom_http_request_duration_seconds_bucket" in body
    assert "19800101" not in body
