"""One pure-ASGI middleware for what every request needs.

Request id (echoed or generated), body-size limit (413 before the body is read
whole), the access log, Prometheus metrics by route template, and the last line
of defence: an unexpected exception becomes a logged 500 problem+json with no
stack trace for the client. Pure ASGI, not ``BaseHTTPMiddleware``: it adds
microseconds, not a task per request.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from fastapi import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core import i18n, metrics
from app.core.errors import (
    DATABASE_UNAVAILABLE,
    PROBLEM_MEDIA_TYPE,
    RETRY_AFTER_SECONDS,
    build_problem,
    problem_bytes,
)
from app.core.logging import request_id_var

log = logging.getLogger("bangkom.access")
errlog = logging.getLogger("bangkom.error")

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once the body passes the limit.

    An HTTPException so FastAPI's body parser lets it through (it turns other
    exceptions into 400) and the problem handler answers 413.
    """

    def __init__(self) -> None:
        super().__init__(413)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, access_log: bool = True) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()
        incoming = _header(scope, b"x-request-id")
        request_id = (
            incoming if incoming and _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        )
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        token = request_id_var.set(request_id)
        rid_header = (b"x-request-id", request_id.encode())
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [*message.get("headers", []), rid_header]
            await send(message)

        limit = self.max_body_bytes
        received = 0

        async def receive_wrapper() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        try:
            length = _header(scope, b"content-length")
            if length is not None and length.isdigit() and int(length) > limit:
                status = 413
                await self._problem(scope, send_wrapper, 413, "payload_too_large", request_id)
            else:
                await self.app(scope, receive_wrapper, send_wrapper)
        except BodyTooLarge:
            status = 413
            if not response_started:
                await self._problem(scope, send_wrapper, 413, "payload_too_large", request_id)
        except ClientDisconnect:
            # The client went away before its body arrived whole (seen at the end of every
            # load test run, when wrk closes its connections mid-request): nobody is left
            # to answer and nothing of ours failed, so no 500 and no error log. 499 is
            # nginx's "client closed request", for the access log and the metrics.
            status = 499
        except DATABASE_UNAVAILABLE:  # raised outside the routes (e.g. the idempotency store)
            status = 503
            errlog.exception("database unavailable", extra={"fields": {"route": _route(scope)}})
            if not response_started:
                await self._problem(scope, send_wrapper, 503, "database_unavailable", request_id)
        except Exception:
            status = 500
            errlog.exception(
                "unhandled exception",
                extra={"fields": {"method": scope.get("method"), "route": _route(scope)}},
            )
            if not response_started:
                await self._problem(scope, send_wrapper, 500, "internal_error", request_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route(scope)
            metrics.observe(scope.get("method", ""), route, status, elapsed)
            if self.access_log:
                log.info(
                    "request",
                    extra={
                        "request_id": request_id,
                        "fields": {
                            "method": scope.get("method"),
                            "route": route,
                            "status": status,
                            "latency_ms": round(elapsed * 1000, 2),
                            "agency": state.get("agency_id"),
                        },
                    },
                )
            request_id_var.reset(token)

    async def _problem(
        self, scope: Scope, send: Send, status: int, code: str, request_id: str
    ) -> None:
        lang = i18n.negotiate(_header(scope, b"accept-language"))
        body = problem_bytes(
            build_problem(
                status=status,
                code=code,
                lang=lang,
                instance=scope.get("path"),
                request_id=request_id,
            )
        )
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        if status == 413:
            headers.append((b"connection", b"close"))
        if status == 503:
            headers.append((b"retry-after", str(RETRY_AFTER_SECONDS).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _route(scope: Scope) -> str:
    """The matched route template with its routers' prefix (``/v1/courses/{course_id}``).

    From public data only: the route Starlette matched (``scope["route"]``) knows its
    template without the prefix it was included under; the prefix is the part of the
    request path before the part that the route's own pattern matches.
    """
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    pattern = getattr(route, "path_regex", None)
    if not template:
        return "unmatched"
    path = str(scope.get("path", ""))
    root = str(scope.get("root_path", ""))
    if root and path.startswith(root):
        path = path[len(root) :]
    if pattern is not None:
        start = 0
        while start != -1:  # the shortest prefix (a literal) whose remainder is the route
            if pattern.match(path[start:]):
                return path[:start] + str(template)
            start = path.find("/", start + 1)
    return str(template)
