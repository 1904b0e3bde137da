"""The binding's collection conventions, for any view (app/services/oneroster/views.py):
the query models (``limit``/``offset``, ``sort``/``orderBy``, ``filter``, ``fields``,
unknown parameters a 400), the named envelope with ``X-Total-Count`` and ``Link``, single
objects, and the two route shapes the rostering and gradebook routers are tables of."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, create_model
from pydantic import Field as PField
from sqlmodel import Session

from app.core.security import Principal
from app.deps import SessionDep
from app.models.types import line
from app.services.oneroster import errors as or_errors
from app.services.oneroster import query
from app.services.oneroster.schemas import SETS, SINGLES, StatusInfo
from app.services.oneroster.views import Ctx, View, collect, one

MAX_LIMIT = 1000


class CollectionQuery(BaseModel):
    """The binding's collection parameters (unknown ones are a 400)."""

    model_config = ConfigDict(extra="forbid")

    limit: int = PField(default=100, ge=1, le=MAX_LIMIT, description="Page size (default 100)")
    offset: int = PField(default=0, ge=0, le=2_000_000_000, description="First record, from 0")
    sort: str | None = PField(
        default=None, min_length=1, max_length=60, pattern=r"^[A-Za-z][A-Za-z0-9_.]*$",
        description="A field to sort by; sourcedId breaks ties",
    )  # fmt: skip
    orderBy: Literal["asc", "desc"] = "asc"
    filter: str | None = line(
        default=None, min_length=1, max_length=query.MAX_FILTER_LENGTH,
        description="e.g. status='active' AND dateLastModified>'2025-01-01T00:00:00Z'; "
        "operators = != > >= < <= ~ (contains), joined by AND / OR",
    )  # fmt: skip
    fields: str | None = line(
        default=None, min_length=1, max_length=1000, description="Comma-separated fields"
    )


class FieldsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: str | None = line(
        default=None, min_length=1, max_length=1000, description="Comma-separated fields"
    )


Collection = Annotated[CollectionQuery, Query()]
Fields = Annotated[FieldsQuery, Query()]
_MODELS: dict[tuple[str, bool], Any] = {}


def _query_model(name: str, view: View, *, collection: bool) -> Any:
    """The route's query model, stating what the view accepts: ``sort`` one of its
    sortable fields, ``fields`` a comma-separated list of its members (the ``filter``
    grammar is beyond a schema; app/services/oneroster/query.py checks it)."""
    key = (name, collection)
    if key not in _MODELS:
        members = "|".join(view.names)
        fields_type = Annotated[
            str | None,
            PField(
                default=None,
                max_length=1000,
                pattern=rf"^({members})(,({members}))*$",
                description=f"Comma-separated, of: {', '.join(view.names)}",
            ),
        ]
        values: dict[str, Any] = {"fields": (fields_type, None)}
        if collection:
            sortable = Literal[tuple(view.fields)]  # type: ignore[valid-type]
            values["sort"] = (
                sortable | None,
                PField(default=None, description="A field to sort by; sourcedId breaks ties"),
            )
        base = CollectionQuery if collection else FieldsQuery
        title = name[0].upper() + name[1:] + ("Query" if collection else "FieldsQuery")
        _MODELS[key] = Annotated[create_model(title, __base__=base, **values), Query()]
    return _MODELS[key]


SourcedId = Annotated[
    str,
    Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$", description="sourcedId"),
]


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {
        400: "Bad filter (invalid_filter_field), fields (invalid_selection_field) or "
        "parameter (invaliddata)",
        401: "No or a bad bearer token (unauthorisedrequest)",
        403: "The token lacks the scope, or is a learner's (forbidden)",
        404: "No such object for this client (unknownobject)",
        415: "The body was not sent as application/json (invaliddata)",
        422: "The body is not a valid result (invaliddata)",
        429: "Rate limit of the client passed (server_busy)",
        503: "The database is not available; see Retry-After (server_busy)",
    }
    return {s: {"model": StatusInfo, "description": text[s]} for s in statuses}


# 422 as the binding's own file declares it on reads (a read has no body: bad
# parameters are 400 here)
_READ_ERRORS = error_responses(400, 401, 403, 404, 422, 429, 503)
_COLLECTION_HEADERS = {
    "X-Total-Count": {"description": "Records matching the filter", "schema": {"type": "integer"}},
    "Link": {"description": "RFC 8288 first, prev, next, last", "schema": {"type": "string"}},
}


def ctx_of(request: Request, principal: Principal) -> Ctx:
    return Ctx(str(request.base_url).rstrip("/"), principal.agency_id)


def json_response(
    body: Any, *, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status_code,
        media_type="application/json",
        headers={"Vary": "Authorization", **(headers or {})},
    )


def _links(request: Request, limit: int, offset: int, total: int) -> str:
    def url(at: int) -> str:
        params = dict(request.query_params) | {"limit": str(limit), "offset": str(at)}
        return f"{request.url.replace(query='')}?{urlencode(params)}"

    last = max(0, (total - 1) // limit * limit)
    links = [f'<{url(0)}>; rel="first"', f'<{url(last)}>; rel="last"']
    if offset + limit < total:
        links.append(f'<{url(offset + limit)}>; rel="next"')
    if offset > 0:
        links.append(f'<{url(max(0, offset - limit))}>; rel="prev"')
    return ", ".join(links)


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    view: View,
    name: str,
    q: CollectionQuery,
) -> Response:
    names = query.selected_fields(q.fields, view.names)
    got = collect(
        session,
        view,
        filter_text=q.filter,
        sort=q.sort,
        descending=q.orderBy == "desc",
        limit=q.limit,
        offset=q.offset,
    )
    ctx = ctx_of(request, principal)
    items = [query.project(view.render(row, ctx), names) for row in got.rows]
    headers = {
        "X-Total-Count": str(got.total),
        "Link": _links(request, q.limit, q.offset, got.total),
    }
    return json_response({name: items}, headers=headers)


def _single(
    request: Request, session: Session, principal: Principal, view: View, name: str,
    sourced_id: str, fields: str | None, what: tuple[str, str],
) -> Response:  # fmt: skip
    names = query.selected_fields(fields, view.names)
    row = one(session, view, sourced_id)
    if row is None:
        raise or_errors.unknown(what[0], what[1], sourced_id)
    return json_response({name: query.project(view.render(row, ctx_of(request, principal)), names)})


def _require(session: Session, view: View, sourced_id: str, what: tuple[str, str]) -> None:
    if one(session, view, sourced_id) is None:
        raise or_errors.unknown(what[0], what[1], sourced_id)


ORG = ("org", "organisasi")
SCHOOL = ("school", "sekolah")
SESSION = ("academic session", "sesi akademik")
TERM = ("term", "term")
COURSE = ("course", "pelatihan")
CLASS = ("class", "kelas")
USER = ("user", "pengguna")
STUDENT = ("student", "peserta")
TEACHER = ("teacher", "pengajar")
ENROLLMENT = ("enrollment", "enrolmen")
DEMOGRAPHICS = ("demographics record", "data demografi")
CATEGORY = ("category", "kategori")
LINE_ITEM = ("line item", "butir penilaian")
RESULT = ("result", "hasil")

Factory = Callable[[str], View]


def _path(name: str) -> Any:
    """A dependency declaring the path parameter ``name`` (a bounded sourcedId)."""

    def dependency(value: str) -> str:
        return value

    # set here, not written in the signature: a postponed annotation would read ``name``
    # from the module's globals
    dependency.__annotations__["value"] = Annotated[
        str, Path(alias=name, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")
    ]
    return Depends(dependency)


def list_route(
    router: APIRouter, path: str, op: str, name: str, factory: Callable[..., View], scope: Any,
    summary: str, parents: tuple[tuple[str, Factory, tuple[str, str]], ...] = (),
    narrow: Callable[..., Any] | None = None,
) -> None:  # fmt: skip
    """A collection route; ``parents`` are the path parameters checked to exist (404),
    ``narrow`` the condition the parents put on the collection's view."""

    def endpoint(
        request: Request, principal: Principal, session: SessionDep, q: Collection
    ) -> Response:
        agency = principal.agency_id
        ids = [request.path_params[param] for param, _, _ in parents]
        for (_, parent, what), ident in zip(parents, ids, strict=True):
            _require(session, parent(agency), ident, what)
        view = factory(agency)
        if narrow is not None:
            view = view.narrowed(narrow(view, *ids))
        return _page(request, session, principal, view, name, q)

    endpoint.__annotations__["principal"] = Annotated[Principal, scope]
    endpoint.__annotations__["q"] = _query_model(name, factory("x"), collection=True)
    router.add_api_route(
        path,
        endpoint,
        methods=["GET"],
        name=op,
        summary=summary,
        dependencies=[_path(param) for param, _, _ in parents],
        responses={200: {"model": SETS[name], "headers": _COLLECTION_HEADERS}, **_READ_ERRORS},
    )


def one_route(
    router: APIRouter, path: str, op: str, name: str, factory: Factory, scope: Any,
    what: tuple[str, str], summary: str,
) -> None:  # fmt: skip
    def endpoint(
        request: Request, principal: Principal, session: SessionDep, sourcedId: SourcedId, q: Fields
    ) -> Response:
        view = factory(principal.agency_id)
        return _single(request, session, principal, view, name, sourcedId, q.fields, what)

    endpoint.__annotations__["principal"] = Annotated[Principal, scope]
    endpoint.__annotations__["q"] = _query_model(name, factory("x"), collection=False)
    router.add_api_route(
        path,
        endpoint,
        methods=["GET"],
        name=op,
        summary=summary,
        responses={200: {"model": SINGLES[name]}, **_READ_ERRORS},
    )


def within(column: str, subquery: Callable[[str], Any]) -> Callable[..., Any]:
    """Narrows a view to rows whose ``column`` is in ``subquery(first path id)``."""
    return lambda view, ident, *_: view.sq.c[column].in_(subquery(ident))


def eq(column: str, position: int = 0, strip: str = "") -> Callable[..., Any]:
    """Narrows a view to rows whose ``column`` is the path id at ``position``."""
    return lambda view, *ids: view.sq.c[column] == ids[position].removeprefix(strip)
