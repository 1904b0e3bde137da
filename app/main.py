"""The application factory: settings, middleware, error handlers, routers, docs."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app import __version__
from app.core import idempotency
from app.core.config import Settings, get_settings
from app.core.db import get_engine
from app.core.errors import install_error_handlers, reject_unknown_query
from app.core.logging import configure_logging
from app.core.middleware import RequestContextMiddleware
from app.core.openapi import install_openapi, operation_id
from app.core.ratelimit import RateLimitHeadersMiddleware
from app.routers import (
    agencies,
    attendance,
    auth,
    certificates,
    changes,
    clients,
    cohort_sessions,
    cohorts,
    courses,
    curricula,
    enrollment_files,
    enrollments,
    evaluation,
    health,
    jp,
    learners,
    me,
    oneroster,
    progress,
    reports,
    users,
    verify,
    webhooks,
    well_known,
    xapi,
)
from app.services import course_cache

DESCRIPTION = """\
Bangkom holds the catalogue of competency-development training for Indonesian
civil servants (ASN): courses, their JP curricula by learning mode, cohorts
(*angkatan*) and their sessions, learners (civil servants by NIP) and their
enrolments, and the agencies and accounts that manage them. Published courses are
public; LMS platforms, apps and scripts read and write the rest with OAuth 2.0 bearer
tokens.

Errors are `application/problem+json` (RFC 9457) with a stable `code`;
send `Accept-Language: id` for Bahasa Indonesia.
"""

# Routers under /v1. FastAPI matches a request against each router in turn, so the
# ones apps call all day (the public catalogue) come first; logins and account
# management after them.
V1_ROUTERS: list = [
    courses.router,
    cohorts.router,
    curricula.router,
    cohort_sessions.router,
    learners.router,
    jp.router,
    enrollments.router,
    enrollment_files.router,
    evaluation.router,
    attendance.router,
    progress.router,
    auth.router,
    me.router,
    reports.router,
    agencies.router,
    users.router,
    certificates.router,
    clients.router,
    changes.router,
    xapi.v1,
    webhooks.router,
    webhooks.events_router,
]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    problems = settings.production_problems()
    if problems:
        raise RuntimeError("refusing to start in production: " + "; ".join(problems))
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Sync routes run in AnyIO's thread pool; 40 threads thrash the GIL on 2 cores.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threadpool_size
        # Everything imported so far lives as long as the process: keep it out of the
        # cyclic GC's full collections, whose pauses otherwise show up in p99.
        gc.collect()
        gc.freeze()
        engine = get_engine()
        if engine.dialect.name != "postgresql" or settings.course_cache_size == 0:
            yield
            return
        course_cache.configure(settings.course_cache_size)
        listening = asyncio.create_task(course_cache.listen(engine), name="course-cache")
        try:
            yield
        finally:
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listening

    app = FastAPI(
        title="Bangkom API",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    install_error_handlers(app)
    # The API's query parameters are the contract's: an unknown one is a 422.
    strict_query = [Depends(reject_unknown_query)]
    # FastAPI tries every route of every router before the one that matches: behind the
    # eight /v1 routers, /health/live spent a third of its CPU in failed matches (py-spy;
    # in-process 108-118 us -> 69-80 us a request). Probes go right after the hot course
    # routes, which keep their place (health in front cost a course read 5-8%).
    hot, *rest = V1_ROUTERS
    app.include_router(hot, prefix="/v1", dependencies=strict_query)
    app.include_router(health.router)
    for router in rest:
        app.include_router(router, prefix="/v1", dependencies=strict_query)
    app.include_router(well_known.router)
    app.include_router(verify.router, dependencies=strict_query)
    xapi.install(app, strict_query)  # /xapi/... (xAPI's own parameter rules) and /activities
    app.include_router(oneroster.router, dependencies=strict_query)
    install_openapi(app)

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "If-Match",
                "If-None-Match",
                "Idempotency-Key",
                "Accept-Language",
                "X-Request-ID",
            ],
            expose_headers=[
                "ETag",
                "Link",
                "Location",
                "X-Request-ID",
                "Retry-After",
                "X-Total-Count",
                "Idempotent-Replayed",
            ],
            max_age=600,
        )
    # RateLimit-* headers on every answer to an integration client (app/core/ratelimit.py).
    app.add_middleware(RateLimitHeadersMiddleware)
    # Inside the request context middleware: request id set, body size limit applied.
    app.add_middleware(idempotency.IdempotencyMiddleware)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        access_log=settings.access_log,
    )
    return app
