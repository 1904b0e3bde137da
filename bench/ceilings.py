"""The two ceilings every row is compared with, measured in the same run.

- ``raw_app``: a bare ASGI callable returning a fixed small JSON body (no framework).
- ``hello_app``: FastAPI with one ``async def`` endpoint returning a small dict, written
  the tutorial way (no response model, no middleware).

Both are served by uvicorn with uvloop + httptools, like Bangkom itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

BODY = b'{"status":"ok"}'
_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(BODY)).encode()),
]


async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": BODY})


hello_app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@hello_app.get("/hello", response_model=None)  # the tutorial way: no validation
async def hello() -> dict[str, str]:
    return {"status": "ok"}
