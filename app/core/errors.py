"""Problem Details (RFC 9457) for every error the API gives.

Raise :class:`ProblemError` from services and routers; handlers here turn it,
FastAPI's validation errors and Starlette's HTTP errors into
``application/problem+json`` with a stable ``code``. Routes declare what they can
answer with :func:`error_responses` so the OpenAPI document tells the truth.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, get_args, get_origin

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from app.core import i18n

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("bangkom.error")


def problem_type(code: str) -> str:
    return f"urn:bangkom:problem:{code}"


class FieldError(BaseModel):
    loc: list[str | int] = Field(
        description="Where the problem is: body, query, path or header, then the field path."
    )
    msg: str = Field(description="What is wrong and how to fix it.")
    type: str = Field(
        description="Machine-readable kind of error, e.g. 'missing', 'string_too_long'."
    )


class Problem(BaseModel):
    """An error, as RFC 9457 Problem Details."""

    type: str = Field(examples=["urn:bangkom:problem:not_found"])
    title: str = Field(examples=["Not found"])
    status: int = Field(examples=[404])
    detail: str | None = Field(default=None, examples=["No course has id crs_01JD3X..."])
    instance: str | None = Field(default=None, examples=["/v1/courses/crs_01JD3X"])
    code: str = Field(description="Stable machine-readable error code.", examples=["not_found"])
    request_id: str | None = None
    errors: list[FieldError] | None = None


# Members every problem document sets itself; ``extra`` may not overwrite them.
RESERVED_MEMBERS = frozenset(
    {"type", "title", "status", "detail", "detail_id", "instance", "code", "errors"}
)


class ProblemError(Exception):
    """An error answered as problem+json. ``code`` is stable; ``detail`` says what to fix."""

    def __init__(
        self,
        status: int,
        code: str | None = None,
        detail: str | None = None,
        *,
        detail_id: str | None = None,
        title: str | None = None,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or code or str(status))
        self.status = status
        self.code = code or i18n.STATUS_CODES.get(status, "error")
        self.detail = detail
        self.detail_id = detail_id
        self.title = title
        self.errors = list(errors) if errors is not None else None
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


_WHAT_ID = {
    "agency": "instansi",
    "cohort": "angkatan",
    "course": "pelatihan",
    "curriculum version": "versi kurikulum",
    "session": "sesi",
    "user": "pengguna",
}


def not_found(what: str, ident: object) -> ProblemError:
    return ProblemError(
        404,
        "not_found",
        f"No {what} has id {ident}; check the id.",
        detail_id=f"Tidak ada {_WHAT_ID.get(what, what)} dengan id {ident}; periksa id tersebut.",
    )


# The database is down, unreachable or busy past its timeouts (PostgreSQL stopped, a
# connection dropped, SQLite locked, read-only or its file gone): the request may succeed
# later unchanged, so 503 with Retry-After, never 500. After the database returns the pool
# reconnects (pool_pre_ping on PostgreSQL): no restart needed.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError)
RETRY_AFTER_SECONDS = 5


def database_unavailable() -> ProblemError:
    return ProblemError(
        503,
        "database_unavailable",
        f"The database is not available right now; retry in {RETRY_AFTER_SECONDS} seconds.",
        detail_id=f"Basis data sedang tidak tersedia; coba lagi dalam {RETRY_AFTER_SECONDS} detik.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def build_problem(
    *,
    status: int,
    code: str,
    lang: str,
    instance: str | None,
    request_id: str | None,
    detail: str | None = None,
    detail_id: str | None = None,
    title: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    generic = i18n.message(code, lang) or i18n.message(i18n.STATUS_CODES.get(status, ""), lang)
    if lang == "id" and detail:
        # never an English sentence under Accept-Language: id; the generic detail at worst
        detail = detail_id or (generic[1] if generic else i18n.FALLBACK_ID)
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": title or (generic[0] if generic else "Error"),
        "status": status,
        "detail": detail or (generic[1] if generic else None),
        "instance": instance,
        "code": code,
        "request_id": request_id,
    }
    if errors is not None:
        # an error may carry its msg in Indonesian too (``msg_id``); show the asked one
        body["errors"] = [
            {k: v for k, v in e.items() if k != "msg_id"}
            | ({"msg": e["msg_id"]} if lang == "id" and e.get("msg_id") else {})
            for e in errors
        ]
    if extra:  # never over the problem's own members (a test keeps raise sites clean too)
        body.update({k: v for k, v in extra.items() if k not in RESERVED_MEMBERS})
        if "error_description" in extra:  # OAuth's copy of detail speaks the same language
            body["error_description"] = body["detail"]
    return body


def problem_bytes(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _lang(request: Request) -> str:
    return i18n.negotiate(request.headers.get("accept-language"))


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def problem_response(request: Request, exc: ProblemError) -> Response:
    body = build_problem(
        status=exc.status,
        code=exc.code,
        lang=_lang(request),
        instance=request.url.path,
        request_id=_request_id(request),
        detail=exc.detail,
        detail_id=exc.detail_id,
        title=exc.title,
        errors=localized_errors(exc.errors, _lang(request)) if exc.errors is not None else None,
        extra=exc.extra,
    )
    headers = dict(exc.headers)
    if exc.status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="bangkom"')
    return Response(
        problem_bytes(body), status_code=exc.status, headers=headers, media_type=PROBLEM_MEDIA_TYPE
    )


def _field_errors(raw: Iterable[Any]) -> list[dict[str, Any]]:
    """pydantic's errors as ``{loc, msg, msg_id, type}``, the messages from the i18n table."""
    out = []
    for err in raw:
        loc = [p if isinstance(p, int) else str(p) for p in err.get("loc", ())]
        kind = str(err.get("type", "invalid"))
        fallback = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        out.append(
            {
                "loc": loc,
                "msg": i18n.field_message(kind, err.get("ctx"), "en", fallback),
                "msg_id": i18n.field_message(kind, err.get("ctx"), "id", fallback),
                "type": kind,
            }
        )
    return out


def localized_errors(errors: Iterable[Mapping[str, Any]], lang: str) -> list[dict[str, Any]]:
    """A ProblemError's ``errors`` in ``lang``: ``msg_id`` is the Indonesian ``msg``.

    An entry without ``msg_id`` takes the table's sentence for its ``type``.
    """
    out = []
    for entry in errors:
        item = {k: v for k, v in entry.items() if k != "msg_id"}
        if lang == "id":
            given = entry.get("msg_id")
            item["msg"] = given or i18n.field_message(
                str(entry.get("type", "")), entry.get("ctx"), "id", ""
            )
        item.pop("ctx", None)
        out.append(item)
    return out


async def _handle_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_response(request, exc)


async def _handle_database(request: Request, exc: Exception) -> Response:
    log.error("database unavailable: %s", type(exc).__name__, exc_info=exc)
    return problem_response(request, database_unavailable())


async def _handle_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc.errors())
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    whole_body_wrong = any(e["loc"] == ["body"] for e in errors)
    if whole_body_wrong and not (
        content_type == "application/json" or content_type.endswith("+json")
    ):
        shown = content_type or "no Content-Type"
        shown_id = content_type or "tanpa Content-Type"
        return problem_response(
            request,
            ProblemError(
                415,
                "unsupported_media_type",
                f"This endpoint takes a JSON body; send 'Content-Type: application/json' (got {shown}).",
                detail_id=f"Endpoint ini menerima badan JSON; kirim 'Content-Type: application/json' (diterima: {shown_id}).",
            ),
        )
    body_errors = [e for e in errors if e["type"] == "json_invalid"]
    if body_errors:
        reasons = "; ".join(str(e.get("ctx", {}).get("error", "")) for e in exc.errors())
        return problem_response(
            request,
            ProblemError(
                400,
                "invalid_json",
                f"The body is not valid JSON: {reasons}",
                detail_id="Badan permintaan bukan JSON yang valid; perbaiki sintaksnya.",
                errors=errors,
            ),
        )
    fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors[:5])
    return problem_response(
        request,
        ProblemError(
            422,
            "validation_error",
            f"Invalid or missing: {fields}." if fields else None,
            detail_id=f"Tidak valid atau kosong: {fields}." if fields else None,
            errors=errors,
        ),
    )


async def _handle_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = i18n.STATUS_CODES.get(exc.status_code, "error")
    detail: str | None = exc.detail if isinstance(exc.detail, str) else None
    generic_title = i18n.message(code, "en")
    if generic_title and detail == generic_title[0]:
        detail = None  # Starlette's default detail is just the phrase; use ours
    if exc.status_code == 404 and detail == "Not Found":
        detail = None
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        if detail == "Method Not Allowed":
            detail = None
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    return problem_response(request, ProblemError(exc.status_code, code, detail, headers=headers))


def _allowed_methods(request: Request) -> str:
    """Every method some route answers at this path (Starlette names only one route's)."""
    methods = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        probe = {**request.scope, "method": method}
        if any(r.matches(probe)[0] == Match.FULL for r in request.app.router.routes):
            methods.append(method)
    return ", ".join(methods)


def _repeatable(annotation: Any) -> bool:
    """A list-typed query parameter may be given more than once (``?x=1&x=2``)."""
    return any(
        get_origin(kind) in (list, tuple, set, frozenset)
        for kind in (annotation, *get_args(annotation))
    )


def _declared_query(route: Any) -> tuple[frozenset[str], frozenset[str]]:
    """The query parameter names a route declares (a query model's fields included), and
    those of them that take a list."""
    names: tuple[frozenset[str], frozenset[str]] | None = getattr(
        route, "bangkom_query_names", None
    )
    if names is None:
        found: set[str] = set()
        lists: set[str] = set()
        pending = [route.dependant]
        while pending:
            dependant = pending.pop()
            pending.extend(dependant.dependencies)
            for field in dependant.query_params:
                annotation = field.field_info.annotation
                if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                    for n, f in annotation.model_fields.items():
                        found.add(f.alias or n)
                        if _repeatable(f.annotation):
                            lists.add(f.alias or n)
                else:
                    found.add(field.alias)
                    if _repeatable(annotation):
                        lists.add(field.alias)
        names = (frozenset(found), frozenset(lists))
        route.bangkom_query_names = names  # cached on the route itself
    return names


async def reject_unknown_query(request: Request) -> None:
    """An app-wide dependency: a query parameter the route does not declare is a 422, and
    so is one given twice that takes a single value.

    A typo (``?stauts=open``) must not silently return the unfiltered list, and
    ``?dry_run=true&dry_run=false`` must not quietly mean whichever came last. Async: it
    does no I/O, and a sync dependency would cost every request a thread-pool hop.
    """
    route = request.scope.get("route")
    if route is None or not hasattr(route, "dependant"):
        return
    declared, lists = _declared_query(route)
    given = [key for key, _ in request.query_params.multi_items()]
    unknown = sorted(set(given) - declared)
    repeated = sorted({k for k in given if given.count(k) > 1} & declared - lists)
    if unknown or repeated:
        raise RequestValidationError(
            [
                {"loc": ("query", name), "msg": "unknown", "type": "unknown_query_parameter"}
                for name in unknown
            ]
            + [
                {"loc": ("query", name), "msg": "repeated", "type": "repeated_query_parameter"}
                for name in repeated
            ]
        )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _handle_problem)
    app.add_exception_handler(RequestValidationError, _handle_validation)
    app.add_exception_handler(StarletteHTTPException, _handle_http)
    for kind in DATABASE_UNAVAILABLE:
        app.add_exception_handler(kind, _handle_database)


_DESCRIPTIONS = {
    400: "Malformed request (e.g. the body is not JSON).",
    401: "Missing, invalid or expired bearer token.",
    403: "Authenticated, but the role or scope does not allow this.",
    404: "No such resource (or it belongs to another agency).",
    409: "Conflicts with the resource's current state.",
    412: "If-Match did not match: the resource changed since it was read.",
    413: "Body larger than the configured limit.",
    415: "Unsupported content type.",
    422: "Invalid input; `errors` names each field.",
    429: "Too many requests; see Retry-After.",
    503: "A dependency (the database) is not available.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the given error statuses, all problem+json."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in sorted(set(statuses)):
        out[status] = {
            "model": Problem,
            "description": _DESCRIPTIONS.get(status, "Unexpected error; quote the request id."),
            "content": {PROBLEM_MEDIA_TYPE: {}},
        }
    return out
