"""FastAPI dependencies, as Annotated aliases routers declare in their signatures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Depends, Header, Request, Security
from fastapi.openapi.models import OAuth2 as OAuth2Model
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlowPassword, OAuthFlows
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from app.core import ratelimit
from app.core.config import Settings, get_settings
from app.core.db import new_session, session_scope
from app.core.errors import ProblemError
from app.core.security import Principal, TokenError, decode_access_token
from app.models.client import SCOPE_DESCRIPTIONS
from app.services import auth

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request; unsafe methods take the SQLite write lock up front."""
    session = new_session(write=request.method not in _READ_METHODS)
    try:
        yield session
    finally:
        # A limiter of its own: closing must never wait for a busy thread pool.
        await anyio.to_thread.run_sync(session.close, limiter=anyio.CapacityLimiter(1))


# Admission to the database: at most ``db_pool_size`` sessions at once; FastAPI makes the
# rest wait without a thread or a connection, and holds the slot until the session is
# closed (after the response is sent). Without it the pool deadlocks under load: a sync
# route runs (and FastAPI validates its response) in the thread pool while the request's
# session holds its connection; when every thread is a route waiting for a connection and
# every connection belongs to a request waiting for a thread, nothing moves until
# pool_timeout.
#
# Database work outside a session holds a connection only inside one synchronous call: in
# a worker thread (the account look-up of a new token, /health/ready, a course read on
# PostgreSQL), so at most ``threadpool_size`` at once, or on the event loop (a course
# read on SQLite), one at a time. The engine's pool has room for all of that beyond the
# admitted sessions (app/core/db.py), so it never waits for a connection and needs no
# admission, and nothing takes a second slot within a request. (The hand-made
# re-entrant gate this replaces existed because the account look-up took one: with a
# route declaring SessionDep before its principal, every slot could be held by a request
# waiting for a second.)
SessionDep = Annotated[Session, Depends(get_session, max_concurrency=get_settings().db_pool_size)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="/v1/auth/token",
    auto_error=False,
    scheme_name="OAuth2",
)
# Two flows, one bearer token: people log in (password); integration clients use
# client_credentials and need the scope each operation lists (``require_scope``).
oauth2_scheme.model = OAuth2Model(
    flows=OAuthFlows(
        password=OAuthFlowPassword(tokenUrl="/v1/auth/token", scopes={}),
        clientCredentials=OAuthFlowClientCredentials(
            tokenUrl="/v1/auth/token", scopes=SCOPE_DESCRIPTIONS
        ),
    ),
    description="People log in with an agency account (grant_type=password): their roles "
    "decide. Integration clients (grant_type=client_credentials, see /v1/clients) need the "
    "scope each operation lists.",
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


_loading: dict[str, asyncio.Task[Any]] = {}


def _load_task(user_id: str, ttl: float) -> asyncio.Task[Any]:
    """The account's state read from the database, once per account at a time.

    The cached state of a busy token expires for all its in-flight requests at the same
    moment; each used to start its own look-up: under ``make bench`` (64 connections, one
    token) 64 reads queued on 8 worker threads every ``auth_recheck_seconds``, the token
    rows' p99 of 160-260 ms at a p50 near 20 ms. Now the first miss reads and the others
    wait for its answer; and a busy token's state is read again before it expires
    (``auth.REFRESH_AHEAD``), so its requests do not wait even for that one read (the
    wait was the token's p99.9 in ``make bench``: 20-135 ms). The read runs in a task of
    its own, so a client that goes away does not cancel it for the others.
    """
    loop = asyncio.get_running_loop()
    task = _loading.get(user_id)
    if task is None or task.get_loop() is not loop:  # one per event loop (tests run several)
        task = loop.create_task(anyio.to_thread.run_sync(_load_account_state, user_id, ttl))
        _loading[user_id] = task

        def done(finished: asyncio.Task[Any]) -> None:
            if _loading.get(user_id) is finished:
                del _loading[user_id]
            if not finished.cancelled():
                finished.exception()  # retrieved here even if every waiter went away

        task.add_done_callback(done)
    return task


async def optional_principal(
    request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Principal | None:
    """The caller, or None for anonymous requests; 401 for a bad token.

    Computed once per request (a route may ask for it under several scopes). Async on
    purpose: with a verified token and the account state cached (the common
    case) it costs microseconds and no thread-pool hop; on a cache miss the account is
    read once in a worker thread (``_account_state``), outside database admission (see
    ``SessionDep``).
    """
    if hasattr(request.state, "principal"):
        cached: Principal | None = request.state.principal
        return cached
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
    if auth.is_user_principal(principal) or principal.is_client:
        ttl = get_settings().auth_recheck_seconds
        hit, state, due = auth.cached_account_state(principal.subject, ttl)
        if not hit:
            state = await asyncio.shield(_load_task(principal.subject, ttl))
        elif due:
            _load_task(principal.subject, ttl)  # not awaited: this request uses the state
        address = request.client.host if request.client else None
        checked = auth.check_principal(principal, state, address=address)
    if checked is None and principal.is_client:
        raise _unauthorized(
            "The client behind this token is disabled, expired or not allowed from this "
            "address; ask your agency admin, then request a new token.",
            "Klien pemilik token ini dinonaktifkan, kedaluwarsa, atau tidak diizinkan dari "
            "alamat ini; hubungi admin instansi Anda, lalu minta token baru.",
        )
    if checked is None:
        raise _unauthorized(
            "The account behind this token is disabled or its password changed; log in again.",
            "Akun pemilik token ini dinonaktifkan atau kata sandinya telah diganti; masuk lagi.",
        )
    request.state.agency_id = checked.agency_id
    if checked.is_client:
        request.state.principal = checked  # before the limit: a 429 is not counted twice
        quota = await ratelimit.hit_async(checked.subject, checked.rate_limit)
        if quota is not None:
            setattr(request.state, ratelimit.STATE_KEY, quota)
    request.state.principal = checked
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


def insufficient_scope(scope: str) -> ProblemError:
    return ProblemError(
        403,
        "insufficient_scope",
        f"This token lacks the scope {scope}; ask your agency admin to grant it to the "
        "client, then request a new token with it.",
        detail_id=f"Token ini tidak memiliki scope {scope}; minta admin instansi Anda "
        "memberikannya kepada klien, lalu minta token baru dengan scope itu.",
        headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
    )


def require_scope(scope: str) -> Any:
    """A route dependency: integration clients need ``scope``; people pass (their roles decide).

    Declared with ``Security`` so the operation lists the scope in the OpenAPI document.
    """
    if scope not in SCOPE_DESCRIPTIONS:
        raise ValueError(f"unknown scope {scope}")

    # Async: it does no I/O, and a sync dependency costs its request a thread-pool hop.
    # The course read (on the event loop on SQLite) queued for a free worker thread behind
    # the sync routes: its wrk p99 was 6.5x its p50 (bench/catalogue_reads.py, README).
    async def dependency(principal: OptionalPrincipal) -> Principal | None:
        if principal is not None and principal.is_client and scope not in principal.scopes:
            raise insufficient_scope(scope)
        return principal

    return Security(dependency, scopes=[scope])


def _humans_only(principal: OptionalPrincipal) -> None:
    if principal is not None and principal.is_client:
        raise ProblemError(
            403,
            "humans_only",
            "Integration clients cannot use this endpoint (accounts, agencies and clients are "
            "managed by people); log in with an agency account instead.",
            detail_id="Klien integrasi tidak dapat memakai endpoint ini (akun, instansi, dan "
            "klien dikelola oleh manusia); masuk dengan akun instansi.",
        )


# Router-level dependency of the routes no integration client may use.
humans_only = Depends(_humans_only)
PlatformAdmin = Annotated[Principal, Depends(require_roles("platform_admin"))]


IfNoneMatch = Annotated[
    str | None, Header(description="An ETag you hold: 304 Not Modified when unchanged.")
]
IfMatch = Annotated[
    str | None,
    Header(description="The ETag you read: 412 if the resource changed since (lost-update guard)."),
]
