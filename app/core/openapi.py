"""The OpenAPI document and the offline docs pages (Swagger UI, ReDoc)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from app.core.errors import PROBLEM_MEDIA_TYPE

# Swagger UI and ReDoc assets ship inside the fastapi-offline wheel: no CDN at run time.
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
DOCS_STATIC_URL = "/static/docs"

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# Schemas a route's hand-written requestBody refers to (a body FastAPI does not parse
# itself, e.g. one that may also be CSV): name -> JSON schema, added to components.
EXTRA_SCHEMAS: dict[str, dict[str, Any]] = {}


def operation_id(route: APIRoute) -> str:
    """Operation ids are the route names, e.g. ``courses-list``: stable and readable."""
    return route.name


def _merge_security(operation: dict[str, Any]) -> None:
    """One requirement per scheme, with every scope the operation's dependencies ask for.

    FastAPI lists the bearer scheme once per dependency that reads the token (the caller,
    and ``require_scope``'s ``Security``); the operation needs one token with its scopes.
    """
    security = operation.get("security")
    if not security:
        return
    merged: dict[str, list[str]] = {}
    for requirement in security:
        for name, scopes in requirement.items():
            known = merged.setdefault(name, [])
            known.extend(s for s in scopes if s not in known)
    operation["security"] = [{name: scopes} for name, scopes in merged.items()]


def _own_error_format(response: dict[str, Any]) -> bool:
    """An error a route declares with a model of its own: a standard's error payload on
    that standard's routes (OneRoster's ``imsx_StatusInfo``), kept as declared."""
    declared = response.get("content", {}).get("application/json", {}).get("schema", {})
    ref = str(declared.get("$ref", ""))
    return bool(ref) and not ref.endswith(("/HTTPValidationError", "/Problem"))


def _problemize(schema: dict[str, Any]) -> dict[str, Any]:
    """Every error response is problem+json with the Problem schema.

    Errors any route can give are added here: 500 everywhere, 413 where a body is
    accepted, 400 (not JSON) and 415 (not sent as JSON) where the body is JSON. Routes
    declare the rest with ``error_responses``.
    """
    for path, path_item in schema.get("paths", {}).items():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            _merge_security(operation)
            if path.startswith("/v1/") and operation.get("security"):
                # any token may be an integration client's (app/deps.py, app/core/ratelimit.py)
                responses.setdefault(
                    "403",
                    {
                        "description": "Not allowed: a role or the scope is missing "
                        "(`insufficient_scope`), or not for integration clients (`humans_only`)."
                    },
                )
                responses.setdefault(
                    "429",
                    {
                        "description": "An integration client passed its rate limit; see Retry-After."
                    },
                )
            responses.setdefault("500", {"description": "Unexpected error; quote the request id."})
            if path.startswith("/v1/"):  # an unknown query parameter is a 422 on every route
                responses.setdefault(
                    "422", {"description": "Invalid input; `errors` names each field."}
                )
                # every /v1 route reads the database: 503 (with Retry-After) while it is down
                responses.setdefault(
                    "503", {"description": "The database is not available; see Retry-After."}
                )
            body = operation.get("requestBody")
            if body is not None:
                responses.setdefault(
                    "413", {"description": "Body larger than the configured limit."}
                )
            if body is not None and "application/json" in body.get("content", {}):
                responses.setdefault("400", {"description": "The body is not valid JSON."})
                responses.setdefault(
                    "415", {"description": "The body was not sent as application/json."}
                )
            for status, response in responses.items():
                if not status.isdigit() or int(status) < 400:
                    continue
                if _own_error_format(response):
                    continue
                response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}}
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    return schema


def install_openapi(app: FastAPI) -> None:
    def custom_openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for name, extra in EXTRA_SCHEMAS.items():
                components.setdefault(name, extra)
            app.openapi_schema = _problemize(schema)
        return app.openapi_schema

    app.openapi = custom_openapi  # type: ignore[method-assign]

    app.mount(DOCS_STATIC_URL, StaticFiles(directory=DOCS_ASSETS), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} – Swagger UI",
            swagger_js_url=f"{DOCS_STATIC_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_STATIC_URL}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_STATIC_URL}/favicon.png",
            oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_ui_parameters={"persistAuthorization": True, "displayOperationId": True},
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} – ReDoc",
            redoc_js_url=f"{DOCS_STATIC_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_STATIC_URL}/favicon.png",
            with_google_fonts=False,
        )
