"""FastAPI dependencies, as Annotated aliases routers declare in their signatures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Depends, Header, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from app.core.config import Settings, get_settings
from app.core.db import get_engine, new_session, pool_capacity, session_scope
from app.core.errors import ProblemError
from app.core.security import Principal, TokenError, decode_access_token
from app.services import auth

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _gate(request: Request) -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    state = request.app.state
    gate: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = getattr(
        state, "db_gate", None
    )
    if gate is None or gate[0] is not loop:  # one per event loop (tests start several)
        gate = (loop, asyncio.Semaphore(pool_capacity(get_engine())))
        state.db_gate = gate
    return gate[1]


@asynccontextmanager
async def db_gate(request: Request) -> AsyncIterator[None]:
    """Admission to the database: as many requests at once as the pool has connections.

    Every database use in a request goes through here (``SessionDep`` does; async routes
    that query inline wrap the query in ``async with db_gate(request)``). Without it the
    pool deadlocks under load: FastAPI validates a sync route's response in the thread
    pool *after* the route returned, while the request's session still holds its
    connection; when every thread is a route waiting for a connection and every
    connection belongs to a request waiting for a thread, nothing moves until
    pool_timeout. Waiting here costs neither a thread nor a connection.

    Re-entrant within a request: a route that declares ``SessionDep`` before its
    principal holds the gate (its session has no connection yet, sessions connect
    lazily) when the principal's account state is loaded. Taking a second permit there
    deadlocked the worker once every permit was held by such a request.
    """
    if getattr(request.state, "db_gate_held", False):
        yield
        return
    async with _gate(request):
        request.state.db_gate_held = True
        try:
            yield
        finally:
            request.state.db_gate_held = False


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request; unsafe methods take the SQLite write lock up front."""
    async with db_gate(request):
        session = new_session(write=request.method not in _READ_METHODS)
        try:
            yield session
        finally:
            # A limiter of its own: closing must never wait for a busy thread pool.
            await anyio.to_thread.run_sync(session.close, limiter=anyio.CapacityLimiter(1))


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="/v1/auth/token",
    auto_error=False,
    description="Log in with an agency account (grant_type=password) to get a bearer token.",
)


def _unauthorized(
    detail: str, detail_id: str, *, error: str | None = "invalid_token"
) -> ProblemError:
    """401 with an RFC 6750 challenge (no error code when no credentials were sent at all)."""
    challenge = 'Bearer realm="bangkom"' + (f', error="{error}"' if error else "")
    return ProblemError(
        401,
        "unauthorized",
        detail,
        detail_id=detail_id,
        headers={"WWW-Authenticate": challenge},
    )


def _load_account_state(user_id: str, ttl: float) -> Any:
    with session_scope() as session:
        return auth.load_account_state(session, user_id, ttl)


async def optional_principal(
    request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Principal | None:
    """The caller, or None for anonymous requests; 401 for a bad token.

    Async on purpose: with a verified token and the account state cached (the common
    case) it costs microseconds and no thread-pool hop; on a cache miss the account is
    read in a worker thread behind the database gate.
    """
    if "access_token" in request.query_params:
        raise _unauthorized(
            "Tokens are not accepted in the query string; send 'Authorization: Bearer <token>'.",
            "Token tidak diterima di query string; kirim 'Authorization: Bearer <token>'.",
            error="invalid_request",
        )
    if token is None:
        if request.headers.get("authorization"):
            raise _unauthorized(
                "Use the Bearer scheme: 'Authorization: Bearer <token>'.",
                "Gunakan skema Bearer: 'Authorization: Bearer <token>'.",
            )
        return None
    try:
        principal = decode_access_token(token)
    except TokenError as exc:
        raise _unauthorized(
            f"The access token is not valid: {exc.detail}.",
            f"Token akses tidak sah: {exc.detail_id}.",
        ) from None
    checked = None
    if auth.is_user_principal(principal):
        ttl = get_settings().auth_recheck_seconds
        hit, state = auth.cached_account_state(principal.subject, ttl)
        if not hit:
            async with db_gate(request):
                state = await anyio.to_thread.run_sync(_load_account_state, principal.subject, ttl)
        checked = auth.check_principal(principal, state)
    if checked is None:
        raise _unauthorized(
            "The account behind this token is disabled or its password changed; log in again.",
            "Akun pemilik token ini dinonaktifkan atau kata sandinya telah diganti; masuk lagi.",
        )
    request.state.agency_id = checked.agency_id
    return checked


def current_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise _unauthorized(
            "Authentication required: send 'Authorization: Bearer <token>'.",
            "Perlu autentikasi: kirim 'Authorization: Bearer <token>'.",
            error=None,
        )
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency that lets through callers with any of ``roles`` (platform admins always)."""

    def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.has_role(*roles):
            raise ProblemError(
                403,
                "forbidden",
                f"This action needs one of the roles: {', '.join(roles)}.",
                detail_id=f"Tindakan ini memerlukan salah satu peran: {', '.join(roles)}.",
            )
        return principal

    return dependency


AgencyAdmin = Annotated[Principal, Depends(require_roles("agency_admin"))]
PlatformAdmin = Annotated[Principal, Depends(require_roles("platform_admin"))]


IfNoneMatch = Annotated[
    str | None, Header(description="An ETag you hold: 304 Not Modified when unchanged.")
]
IfMatch = Annotated[
    str | None,
    Header(description="The ETag you read: 412 if the resource changed since (lost-update guard)."),
]
