"""What every ``/xapi`` route shares: the version header rule (``XapiRoute``), who may
call (HTTP Basic of an integration client, or a bearer token; ``Reader``/``Writer``), and
the documented version parameter. xAPI's rules apply on these routes (status codes,
``X-Experience-API-Version`` on every request but /about, 400 for unknown parameters);
error bodies stay problem+json.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request, Response, Security
from fastapi.routing import APIRoute
from fastapi.security import HTTPBasic, HTTPBasicCredentials, SecurityScopes

from app.core import ratelimit
from app.core.db import session_scope
from app.core.errors import ProblemError
from app.core.security import Principal
from app.deps import oauth2_scheme, optional_principal
from app.models.base import utcnow
from app.services.xapi import auth
from app.services.xapi.query import bad

VERSION_HEADER = "X-Experience-API-Version"
CONSISTENT = "X-Experience-API-Consistent-Through"
VERSION = re.compile(r"^([12])\.0(\.\d+)?$")
ANSWER = {"1": "1.0.3", "2": "2.0.0"}
_basic = HTTPBasic(auto_error=False, realm="bangkom-xapi", scheme_name="xAPIBasic")


class XapiRoute(APIRoute):
    """Every answer (errors too) names the xAPI version it speaks; every request but
    /about must name one (1.0.x or 2.0.x) or gets 400."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        about = self.path.endswith("/about")
        reads = bool({"GET", "HEAD"} & (self.methods or set())) and not about

        async def route(request: Request) -> Response:
            sent = request.headers.get(VERSION_HEADER)
            match = VERSION.match(sent.strip()) if sent else None
            # no (or no valid) version: the 400 names 1.0.3, which every 1.0.x and 2.0.x
            # client reads (the ADL suite's 1.0.3 battery requires it; its 2.0 one takes it)
            answer = ANSWER[match.group(1)] if match else ANSWER["2" if about else "1"]
            try:
                if match is None and not about:
                    raise bad(
                        f"Send the header {VERSION_HEADER} with the xAPI version you speak: "
                        "2.0.0 or 1.0.3.",
                        f"Kirim header {VERSION_HEADER} dengan versi xAPI yang Anda pakai: "
                        "2.0.0 atau 1.0.3.",
                    )
                request.state.xapi_version = answer
                response = await handler(request)
            except ProblemError as exc:
                exc.headers[VERSION_HEADER] = answer
                if reads:
                    exc.headers.setdefault(CONSISTENT, stamp(utcnow()))
                raise
            response.headers[VERSION_HEADER] = answer
            return response

        return route


def xapi_router() -> APIRouter:
    """A router for /xapi paths: every answer names the xAPI version it speaks."""
    return APIRouter(prefix="/xapi", tags=["xapi"], route_class=XapiRoute)


def _principal(scope: str) -> Any:
    async def dependency(
        request: Request,
        security_scopes: SecurityScopes,
        basic: Annotated[HTTPBasicCredentials | None, Depends(_basic)],
        token: Annotated[str | None, Depends(oauth2_scheme)],
    ) -> Principal:
        principal: Principal | None
        if basic is not None:
            address = request.client.host if request.client else None

            def look_up() -> tuple[Principal, int | None]:
                with session_scope() as session:
                    return auth.basic_principal(session, basic.username, basic.password, address)

            client, limit = await anyio.to_thread.run_sync(look_up)
            quota = await ratelimit.hit_async(client.subject, limit)
            if quota is not None:
                setattr(request.state, ratelimit.STATE_KEY, quota)
            request.state.agency_id = client.agency_id
            principal = client
        else:
            principal = await optional_principal(request, token)
        if principal is None:
            raise auth.unauthorized(
                "Send credentials: HTTP Basic with an integration client's client_id and "
                "client_secret, or 'Authorization: Bearer <token>'.",
                "Kirim kredensial: HTTP Basic dengan client_id dan client_secret klien "
                "integrasi, atau 'Authorization: Bearer <token>'.",
            )
        auth.allowed(principal, scope)
        return principal

    return Security(dependency, scopes=[scope])


Reader = Annotated[Principal, _principal(auth.READ)]
Writer = Annotated[Principal, _principal(auth.WRITE)]


# Every /xapi request but /about names its xAPI version (else 400); documented, not parsed
# by FastAPI (XapiRoute reads it so that even a 401 answers with the version).
VERSION_PARAM: dict[str, Any] = {
    "name": VERSION_HEADER,
    "in": "header",
    "required": True,
    "description": "The xAPI version the client speaks: 2.0.0 (or 2.0.x) or 1.0.3 (1.0.x)",
    "schema": {"type": "string", "maxLength": 12, "pattern": r"^[12]\.0(\.[0-9]{1,6})?$"},
}


def stamp(at: Any) -> str:
    return str(at.isoformat(timespec="milliseconds").replace("+00:00", "Z"))


def languages(header: str | None) -> list[str]:
    return [
        p.split(";")[0].strip().lower()
        for p in (header or "").split(",")
        if p.strip() and p.strip() != "*"
    ]
