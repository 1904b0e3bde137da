"""Sessions of a cohort: scheduled parts with instructors, times shown in the cohort's zone."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import TypeAdapter

from app.core.errors import error_responses
from app.core.etag import json_response, list_etag
from app.core.idempotency import idempotent
from app.core.pagination import Page, clamp_limit, link_header
from app.deps import AgencyAdmin, IfMatch, IfNoneMatch, OptionalPrincipal, SessionDep, require_scope
from app.models.cohort import CohortSessionCreate, CohortSessionPublic, CohortSessionUpdate
from app.models.types import SincePageQuery
from app.routers.params import IdPath
from app.services import cohort_sessions as service

router = APIRouter(tags=["sessions"])
_ONE = TypeAdapter(CohortSessionPublic)
_DOC: dict[int | str, dict[str, Any]] = {
    200: {"model": CohortSessionPublic, "description": "The session; ETag header set."}
}


def _reply(found: tuple[CohortSessionPublic, str], *, status_code: int = 200) -> Response:
    item, etag = found
    headers = (
        {"Location": f"/v1/cohorts/{item.cohort_id}/sessions/{item.id}"}
        if status_code == 201
        else None
    )
    return json_response(
        _ONE.dump_json(item),
        etag,
        status_code=status_code,
        headers=headers,
    )


@router.get(
    "/cohorts/{cohort_id}/sessions",
    name="sessions-list",
    dependencies=[require_scope("catalog:read")],
    summary="A cohort's sessions in time order, a page at a time",
    responses={
        200: {"model": Page[CohortSessionPublic], "description": 'A page; `Link: rel="next"`.'},
        304: {"description": "Not modified"},
        **error_responses(401, 404, 422),
    },
)
def list_sessions(
    request: Request,
    cohort_id: IdPath,
    principal: OptionalPrincipal,
    session: SessionDep,
    query: Annotated[SincePageQuery, Query()],
    if_none_match: IfNoneMatch = None,
) -> Response:
    items, next_cursor = service.list_sessions(
        session=session,
        principal=principal,
        cohort_id=cohort_id,
        limit=clamp_limit(query.limit),
        cursor=query.cursor,
        updated_since=query.updated_since,
    )
    page = Page[CohortSessionPublic](items=items, next_cursor=next_cursor)
    # starts_at carries the cohort's offset, which a zone change alters
    etag = list_etag(
        [cohort_id, query.cursor, next_cursor]
        + [f"{i.id}:{i.version}:{i.starts_at.isoformat()}" for i in items]
    )
    return json_response(
        page.model_dump_json(),
        etag,
        if_none_match=if_none_match,
        headers=link_header(request, next_cursor),
    )


@router.get(
    "/cohorts/{cohort_id}/sessions/{session_id}",
    name="sessions-get",
    dependencies=[require_scope("catalog:read")],
    summary="One session",
    responses={**_DOC, 304: {"description": "Not modified"}, **error_responses(401, 404)},
)
def get_session(
    cohort_id: IdPath,
    session_id: IdPath,
    principal: OptionalPrincipal,
    session: SessionDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    item, etag = service.read_session(
        session=session, principal=principal, cohort_id=cohort_id, session_id=session_id
    )
    return json_response(_ONE.dump_json(item), etag, if_none_match=if_none_match)


@router.post(
    "/cohorts/{cohort_id}/sessions",
    name="sessions-create",
    dependencies=[require_scope("catalog:write")],
    summary="Schedule a session (inside the cohort's local dates, long enough for its JP, "
    "in a mode the curriculum has, not overlapping another session of the cohort; more than "
    "9 JP a day or more JP of a mode than the curriculum has is a warning)",
    status_code=201,
    responses={201: {"model": CohortSessionPublic}, **error_responses(401, 403, 404, 409, 422)},
)
@idempotent
def create_session(
    cohort_id: IdPath, data: CohortSessionCreate, principal: AgencyAdmin, session: SessionDep
) -> Response:
    item = service.create_session(
        session=session, principal=principal, cohort_id=cohort_id, data=data
    )
    return _reply(item, status_code=201)


@router.patch(
    "/cohorts/{cohort_id}/sessions/{session_id}",
    name="sessions-update",
    dependencies=[require_scope("catalog:write")],
    summary="Change a session (same checks as scheduling)",
    responses={**_DOC, **error_responses(401, 403, 404, 409, 412, 422)},
)
def update_session(
    cohort_id: IdPath,
    session_id: IdPath,
    data: CohortSessionUpdate,
    principal: AgencyAdmin,
    session: SessionDep,
    if_match: IfMatch = None,
) -> Response:
    item = service.update_session(
        session=session,
        principal=principal,
        cohort_id=cohort_id,
        session_id=session_id,
        data=data,
        if_match=if_match,
    )
    return _reply(item)


@router.delete(
    "/cohorts/{cohort_id}/sessions/{session_id}",
    name="sessions-delete",
    dependencies=[require_scope("catalog:write")],
    summary="Remove a session (not once the cohort is in evaluation or later: 409)",
    status_code=204,
    responses=error_responses(401, 403, 404, 409),
)
def delete_session(
    cohort_id: IdPath, session_id: IdPath, principal: AgencyAdmin, session: SessionDep
) -> Response:
    service.delete_session(
        session=session, principal=principal, cohort_id=cohort_id, session_id=session_id
    )
    return Response(status_code=204)
