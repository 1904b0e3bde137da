"""Metrics label a request with its route template, prefixes included, never with the
values in the path (which may be ids or NIPs)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from prometheus_client import REGISTRY
from starlette.testclient import TestClient

from app.core.middleware import RequestContextMiddleware


def _count(method: str, route: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "bangkom_http_requests_total", {"method": method, "route": route, "status": status}
    )
    return value or 0.0


def test_route_label_keeps_nested_prefixes_and_typed_parameters() -> None:
    items = APIRouter()

    @items.get("/probe-items/{n:int}")
    def item(n: int) -> dict[str, int]:
        return {"n": n}

    @items.get("/probe-files/{rest:path}")
    def file(rest: str) -> dict[str, str]:
        return {"rest": rest}

    v1 = APIRouter()
    v1.include_router(items, prefix="/v1")
    app = FastAPI()
    app.include_router(v1, prefix="/api")
    app.add_middleware(RequestContextMiddleware, max_body_bytes=1024, access_log=False)
    client = TestClient(app)

    item_label = "/api/v1/probe-items/{n}"
    file_label = "/api/v1/probe-files/{rest}"
    before = _count("GET", item_label, "200"), _count("GET", file_label, "200")
    assert client.get("/api/v1/probe-items/007").status_code == 200
    # a path parameter that repeats the prefix does not confuse the label
    assert client.get("/api/v1/probe-files/api/v1/probe-files/x").status_code == 200
    assert _count("GET", item_label, "200") == before[0] + 1
    assert _count("GET", file_label, "200") == before[1] + 1
