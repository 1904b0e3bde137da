"""Courses: the public catalogue (no login needed for published ones) and its upkeep."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Query, Request, Response
from fastapi.routing import APIRoute
from fastapi.security.utils import get_authorization_scheme_param

from app.core.db import get_engine
from app.core.errors import error_responses
from app.core.etag import json_response
from app.core.idempotency import idempotent
from app.core.pagination import clamp_limit, link_header, since_sort
from app.core.security import Principal
from app.deps import (
    AgencyAdmin,
    IfMatch,
    IfNoneMatch,
    OptionalPrincipal,
    SessionDep,
    optional_principal,
    require_scope,
)
from app.models.course import CourseCreate, CoursePage, CoursePublic, CourseQuery, CourseUpdate
from app.routers.params import IdPath
from app.services import course_cache
from app.services import courses as service

router = APIRouter(tags=["courses"])

_SCOPE = "catalog:read"
# IdPath's constraint (IDENT_PATTERN, 1-40 characters) for fullmatch: Python's `$` would
# also match before a final newline, which the declared route refuses (422)
_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
_ONE: dict[int | str, dict[str, Any]] = {
    200: {"model": CoursePublic, "description": "The course; ETag header set."}
}


@router.get(
    "/courses",
    name="courses-list",
    dependencies=[require_scope(_SCOPE)],
    summary="Browse courses (published ones without a login; your agency's drafts with one)",
    responses={
        200: {"model": CoursePage, "description": 'A page; `Link: rel="next"` and ETag set.'},
        304: {"description": "Not modified (If-None-Match)."},
        **error_responses(401, 422),
    },
)
def list_courses(  # sync: ~1 ms of DB work would stall the event loop (p99 1.3 s vs 0.2 s)
    request: Request,
    principal: OptionalPrincipal,
    session: SessionDep,
    query: Annotated[CourseQuery, Query()],
    if_none_match: IfNoneMatch = None,
) -> Response:
    filters = service.CourseFilters(
        q=query.q,
        kind=query.kind.value if query.kind else None,
        competency_type=query.competency_type.value if query.competency_type else None,
        delivery=query.delivery.value if query.delivery else None,
        agency=query.agency,
        status=query.status.value if query.status else None,
        year=query.year,
        mode=query.mode.value if query.mode else None,
        starts_after=query.starts_after,
        starts_before=query.starts_before,
        updated_since=query.updated_since,
        has_open_cohort=query.has_open_cohort,
    )
    sort = since_sort(query.sort, query.updated_since)
    cursor, limit = query.cursor, query.limit
    size = clamp_limit(limit)
    page = service.list_courses(
        conn=session.connection(),
        principal=principal,
        filters=filters,
        sort=sort,
        cursor=cursor,
        limit=size,
    )
    next_json = f'"{page.next_cursor}"' if page.next_cursor else "null"
    body = '{"items":[' + ",".join(page.items) + '],"next_cursor":' + next_json + "}"
    headers = link_header(request, page.next_cursor)
    return json_response(body, page.etag, if_none_match=if_none_match, headers=headers)


async def _read(principal: Principal | None, course_id: str) -> service.Doc:
    engine = get_engine()
    if engine.dialect.name == "sqlite" or course_cache.cache.get(course_id) is not None:
        # On the event loop: a primary-key read from a local file (~10 us), or this
        # worker's copy of the row, costs less than a thread hop.
        return service.read_course(engine=engine, principal=principal, course_id=course_id)
    # A network round trip: on the loop it stalled every other request (p99 1.6 s).
    return await anyio.to_thread.run_sync(
        lambda: service.read_course(engine=engine, principal=principal, course_id=course_id)
    )


async def _conditional_read(request: Request) -> Response | None:
    """The course read without FastAPI's dependency solving, which was half of its cost
    (cProfile: 55% of a 304 on SQLite). It answers only what it is sure of: a request
    with no query string, a well-formed id, and no token or a valid one allowed to read
    the catalogue; anything else (``None``) goes through the declared route, whose
    dependencies answer it (422, 403) exactly as before. Either way the answer is
    the same: tests/test_courses_conditional_read.py asks both paths.

    In process, per request (bench/catalogue_reads.py, SQLite, CPU): a 304 cost 300-345
    us with the dependencies (``require_scope`` then a thread-pool hop), 200-235 us with
    that hop gone, 90-110 us here; the FastAPI ceiling 40-60 us.
    """
    if request.scope.get("query_string") or not _ID.fullmatch(request.path_params["course_id"]):
        return None
    authorization = request.headers.get("authorization")
    principal: Principal | None = None
    if authorization is not None:
        scheme, token = get_authorization_scheme_param(authorization)
        if scheme.lower() != "bearer" or not token:
            return None
        # its errors (401, 429) are the declared route's too: they propagate from here, as
        # the route's dependency would raise them (delegating instead would let a client
        # past its rate limit: the principal is cached on the request before the count)
        principal = await optional_principal(request, token)
        if principal is not None and principal.is_client and _SCOPE not in principal.scopes:
            return None
    doc = await _read(principal, request.path_params["course_id"])
    return json_response(doc.body, doc.etag, if_none_match=request.headers.get("if-none-match"))


class _ConditionalReadRoute(APIRoute):
    """The route of ``GET /courses/{id}``: ``_conditional_read`` first, then the declared
    route (its dependencies, its OpenAPI entry) for whatever it leaves."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        declared = super().get_route_handler()

        async def handler(request: Request) -> Response:
            answer = await _conditional_read(request)
            return answer if answer is not None else await declared(request)

        return handler


async def get_course(
    course_id: IdPath,
    principal: OptionalPrincipal,
    if_none_match: IfNoneMatch = None,
) -> Response:
    # No SessionDep, so no admission: the read holds its pooled connection only within
    # one synchronous call, for which the pool keeps room (app/core/db.py).
    doc = await _read(principal, course_id)
    return json_response(doc.body, doc.etag, if_none_match=if_none_match)


router.add_api_route(
    "/courses/{course_id}",
    get_course,
    methods=["GET"],
    name="courses-get",
    dependencies=[require_scope(_SCOPE)],
    summary="One course",
    responses={**_ONE, 304: {"description": "Not modified"}, **error_responses(401, 404)},
    route_class_override=_ConditionalReadRoute,
)


@router.post(
    "/courses",
    name="courses-create",
    dependencies=[require_scope("catalog:write")],
    summary="Create a course for your agency (draft by default)",
    status_code=201,
    responses={201: {"model": CoursePublic}, **error_responses(401, 403, 409, 422)},
)
@idempotent
def create_course(data: CourseCreate, principal: AgencyAdmin, session: SessionDep) -> Response:
    doc = service.create_course(session=session, principal=principal, data=data)
    return json_response(
        doc.body, doc.etag, status_code=201, headers={"Location": f"/v1/courses/{doc.id}"}
    )


@router.patch(
    "/courses/{course_id}",
    name="courses-update",
    dependencies=[require_scope("catalog:write")],
    summary="Change a course (send If-Match to avoid overwriting someone else's change)",
    responses={**_ONE, **error_responses(401, 403, 404, 409, 412, 422)},
)
def update_course(
    course_id: IdPath,
    data: CourseUpdate,
    principal: AgencyAdmin,
    session: SessionDep,
    if_match: IfMatch = None,
) -> Response:
    doc = service.update_course(
        session=session, principal=principal, course_id=course_id, data=data, if_match=if_match
    )
    return json_response(doc.body, doc.etag)


@router.delete(
    "/courses/{course_id}",
    name="courses-delete",
    dependencies=[require_scope("catalog:write")],
    summary="Delete a course without cohorts (a course with cohorts is archived instead: 409)",
    status_code=204,
    responses=error_responses(401, 403, 404, 409),
)
def delete_course(course_id: IdPath, principal: AgencyAdmin, session: SessionDep) -> Response:
    service.delete_course(session=session, principal=principal, course_id=course_id)
    return Response(status_code=204)
