"""Every error is problem+json with a stable code; nothing leaks a stack trace."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field
from starlette.testclient import TestClient

from app.core.config import DEFAULT_SECRET_KEY, Settings
from app.main import create_app

PROBLEM = "application/problem+json"


class Thing(BaseModel):
    name: str = Field(min_length=2)
    jp: float = Field(gt=0)


def _app_with_test_routes() -> FastAPI:
    app = create_app()

    @app.post("/test/things", name="things-create")
    def create_thing(thing: Thing) -> Thing:
        return thing

    @app.get("/test/boom", name="boom")
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    return app


@pytest.fixture
def test_client(engine) -> TestClient:
    return TestClient(_app_with_test_routes(), raise_server_exceptions=False)


def _assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:bangkom:problem:{code}"
    assert body["title"] and body["detail"]
    assert body["instance"] == response.request.url.path
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def test_unknown_route_is_problem_404(client: TestClient) -> None:
    _assert_problem(client.get("/v1/nothing-here"), 404, "not_found")


def test_wrong_method_is_problem_405(client: TestClient) -> None:
    response = client.post("/health/live")
    _assert_problem(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


def test_invalid_input_names_each_field(test_client: TestClient) -> None:
    body = _assert_problem(
        test_client.post("/test/things", json={"name": "x", "jp": -1}), 422, "validation_error"
    )
    locs = {tuple(e["loc"]) for e in body["errors"]}
    assert locs == {("body", "name"), ("body", "jp")}
    assert all(e["msg"] and e["type"] for e in body["errors"])
    assert "body.name" in body["detail"]


def test_malformed_json_is_400(test_client: TestClient) -> None:
    response = test_client.post(
        "/test/things", content=b'{"name": ', headers={"Content-Type": "application/json"}
    )
    _assert_problem(response, 400, "invalid_json")


def test_unexpected_exception_is_logged_500_without_trace(test_client: TestClient, caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="bangkom.error"):
        response = test_client.get("/test/boom", headers={"X-Request-ID": "req-500"})
    body = _assert_problem(response, 500, "internal_error")
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    assert body["request_id"] == "req-500"
    assert any("secret internal detail" in (r.exc_text or "") or r.exc_info for r in caplog.records)


def test_body_over_limit_is_413_before_reading(engine) -> None:
    app = _app_with_test_routes()
    client = TestClient(app, raise_server_exceptions=False)
    big = b'{"name": "' + b"x" * (11 * 1024 * 1024) + b'", "jp": 1}'
    response = client.post(
        "/test/things", content=big, headers={"Content-Type": "application/json"}
    )
    _assert_problem(response, 413, "payload_too_large")


def test_chunked_body_over_limit_is_413(engine) -> None:
    client = TestClient(_app_with_test_routes(), raise_server_exceptions=False)

    def chunks():
        for _ in range(12):
            yield b"x" * (1024 * 1024)

    response = client.post(
        "/test/things", content=chunks(), headers={"Content-Type": "application/json"}
    )
    _assert_problem(response, 413, "payload_too_large")


def test_indonesian_titles_with_accept_language(client: TestClient) -> None:
    response = client.get(
        "/v1/nothing-here", headers={"Accept-Language": "id-ID,id;q=0.9,en;q=0.5"}
    )
    body = _assert_problem(response, 404, "not_found")
    assert body["title"] == "Tidak ditemukan"
    english = client.get("/v1/nothing-here", headers={"Accept-Language": "en-US"}).json()
    assert english["title"] == "Not found"


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"secret_key": DEFAULT_SECRET_KEY}, "BANGKOM_SECRET_KEY"),
        ({"secret_key": "too-short"}, "BANGKOM_SECRET_KEY"),
        ({"secret_key": "s" * 40, "demo_data": True}, "BANGKOM_DEMO_DATA"),
        ({"secret_key": "s" * 40, "cors_origins": ["*"]}, "BANGKOM_CORS_ORIGINS"),
    ],
)
def test_production_refuses_unsafe_settings(overrides: dict, fragment: str) -> None:
    settings = Settings(env="production", **overrides)
    with pytest.raises(RuntimeError, match=fragment):
        create_app(settings)


def test_production_starts_with_safe_settings() -> None:
    from tests.factories_certificates import signing_key_pem

    settings = Settings(
        env="production",
        secret_key="s" * 40,
        cors_origins=["https://lms.example.go.id"],
        certificate_signing_key=signing_key_pem(),
        public_url="https://bangkom.example.go.id",
    )
    assert create_app(settings) is not None


def test_cors_origins_are_configurable(engine) -> None:
    settings = Settings(cors_origins=["https://app.bangkom.example"])
    client = TestClient(create_app(settings))
    response = client.options(
        "/health/live",
        headers={"Origin": "https://app.bangkom.example", "Access-Control-Request-Method": "GET"},
    )
    assert response.headers["access-control-allow-origin"] == "https://app.bangkom.example"
    refused = client.get("/health/live", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in refused.headers


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_json_endpoint_refuses_other_content_types_with_415(
    test_client: TestClient, content_type
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = test_client.post("/test/things", content=b'{"name": "ab", "jp": 2}', headers=headers)
    body = _assert_problem(response, 415, "unsupported_media_type")
    assert "application/json" in body["detail"]


def test_json_null_body_is_422_not_415(test_client: TestClient) -> None:
    response = test_client.post(
        "/test/things", content=b"null", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
