"""A client that goes away while its body is being read is not a server error: no 500,
no error log; the access log and the metrics say 499 (client closed request)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from fastapi import FastAPI, Request
from prometheus_client import REGISTRY
from starlette.types import Message

from app.core.middleware import RequestContextMiddleware


def _count(status: str) -> float:
    labels = {"method": "POST", "route": "/probe-upload", "status": status}
    return REGISTRY.get_sample_value("bangkom_http_requests_total", labels) or 0.0


def test_client_gone_mid_body_is_499_without_error_log(caplog: pytest.LogCaptureFixture) -> None:
    app = FastAPI()

    @app.post("/probe-upload")
    async def upload(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}  # raw body, as the progress batch reads it

    app.add_middleware(RequestContextMiddleware, max_body_bytes=1024, access_log=True)
    incoming: list[Message] = [
        {"type": "http.request", "body": b'{"records": [', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/probe-upload", "raw_path": b"/probe-upload",
        "query_string": b"", "root_path": "", "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip
    before = _count("499"), _count("500")
    with caplog.at_level(logging.INFO):
        asyncio.run(app(scope, receive, send))
    assert not [m for m in sent if m["type"] == "http.response.start"]  # nobody to answer
    assert not [r for r in caplog.records if r.name == "bangkom.error"]
    access = [r for r in caplog.records if r.name == "bangkom.access"]
    assert access and access[-1].fields["status"] == 499  # type: ignore[attr-defined]
    assert (_count("499"), _count("500")) == (before[0] + 1, before[1])
