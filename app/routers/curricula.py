"""Curriculum versions of a course: draft, edit, publish (then frozen)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import TypeAdapter

from app.core.errors import error_responses
from app.core.etag import json_response, list_etag
from app.core.idempotency import idempotent
from app.core.pagination import Page, clamp_limit, link_header
from app.deps import AgencyAdmin, IfMatch, IfNoneMatch, OptionalPrincipal, SessionDep, require_scope
from app.models.curriculum import CurriculumCreate, CurriculumPublic, CurriculumUpdate
from app.models.types import SincePageQuery
from app.routers.params import IdPath, VersionPath
from app.services import curricula as service

router = APIRouter(tags=["curricula"])
_ONE = TypeAdapter(CurriculumPublic)
_DOC: dict[int | str, dict[str, Any]] = {
    200: {"model": CurriculumPublic, "description": "The version; ETag header set."}
}


def _reply(
    found: service.Saved, *, status_code: int = 200, if_none_match: str | None = None
) -> Response:
    curriculum, etag = found
    headers = (
        {"Location": f"/v1/courses/{curriculum.course_id}/curricula/{curriculum.version}"}
        if status_code == 201
        else None
    )
    return json_response(
        _ONE.dump_json(curriculum),
        etag,
        status_code=status_code,
        if_none_match=if_none_match,
        headers=headers,
    )


@router.get(
    "/courses/{course_id}/curricula",
    name="curricula-list",
    dependencies=[require_scope("catalog:read")],
    summary="Curriculum versions, oldest first (published ones publicly; drafts for the "
    "owning agency), a page at a time",
    responses={
        200: {"model": Page[CurriculumPublic], "description": 'A page; `Link: rel="next"`.'},
        304: {"description": "Not modified"},
        **error_responses(401, 404, 422),
    },
)
def list_curricula(
    request: Request,
    course_id: IdPath,
    principal: OptionalPrincipal,
    session: SessionDep,
    query: Annotated[SincePageQuery, Query()],
    if_none_match: IfNoneMatch = None,
) -> Response:
    items, next_cursor = service.list_curricula(
        session=session,
        principal=principal,
        course_id=course_id,
        limit=clamp_limit(query.limit),
        cursor=query.cursor,
        updated_since=query.updated_since,
    )
    page = Page[CurriculumPublic](items=items, next_cursor=next_cursor)
    etag = list_etag(
        [course_id, query.cursor, next_cursor]
        + [f"{c.id}:{c.updated_at.isoformat()}:{c.total_hours}" for c in items]
    )
    return json_response(
        page.model_dump_json(),
        etag,
        if_none_match=if_none_match,
        headers=link_header(request, next_cursor),
    )


@router.get(
    "/courses/{course_id}/curricula/{version}",
    name="curricula-get",
    dependencies=[require_scope("catalog:read")],
    summary="One curriculum version with its JP per mode and total hours",
    responses={**_DOC, 304: {"description": "Not modified"}, **error_responses(401, 404)},
)
def get_curriculum(
    course_id: IdPath,
    version: VersionPath,
    principal: OptionalPrincipal,
    session: SessionDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    found = service.get_curriculum(
        session=session, principal=principal, course_id=course_id, version=version
    )
    return _reply(found, if_none_match=if_none_match)


@router.post(
    "/courses/{course_id}/curricula",
    name="curricula-create",
    dependencies=[require_scope("catalog:write")],
    summary="Start a new draft version (a copy of the latest one unless modules are given)",
    status_code=201,
    responses={201: {"model": CurriculumPublic}, **error_responses(401, 403, 404, 409, 422)},
)
@idempotent
def create_curriculum(
    course_id: IdPath, data: CurriculumCreate, principal: AgencyAdmin, session: SessionDep
) -> Response:
    found = service.create_draft(
        session=session, principal=principal, course_id=course_id, data=data
    )
    return _reply(found, status_code=201)


@router.patch(
    "/courses/{course_id}/curricula/{version}",
    name="curricula-update",
    dependencies=[require_scope("catalog:write")],
    summary="Replace a draft's ordered module list (published versions never change: 409)",
    responses={**_DOC, **error_responses(401, 403, 404, 409, 412, 422)},
)
def update_curriculum(
    course_id: IdPath,
    version: VersionPath,
    data: CurriculumUpdate,
    principal: AgencyAdmin,
    session: SessionDep,
    if_match: IfMatch = None,
) -> Response:
    found = service.replace_modules(
        session=session,
        principal=principal,
        course_id=course_id,
        version=version,
        data=data,
        if_match=if_match,
    )
    return _reply(found)


@router.post(
    "/courses/{course_id}/curricula/{version}/publish",
    name="curricula-publish",
    dependencies=[require_scope("catalog:write")],
    summary="Publish a draft: module JP must add up to the course's total_jp, "
    "assessed weights to 100 (422 names the difference)",
    responses={**_DOC, **error_responses(401, 403, 404, 409, 422)},
)
def publish_curriculum(
    course_id: IdPath, version: VersionPath, principal: AgencyAdmin, session: SessionDep
) -> Response:
    found = service.publish(
        session=session, principal=principal, course_id=course_id, version=version
    )
    return _reply(found)
