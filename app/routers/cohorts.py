"""Cohorts (*angkatan*): public listing of open/upcoming runs, upkeep and status moves."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.core.errors import error_responses
from app.core.etag import json_response, none_match
from app.core.idempotency import idempotent
from app.core.pagination import clamp_limit, link_header, since_sort
from app.deps import AgencyAdmin, IfMatch, IfNoneMatch, OptionalPrincipal, SessionDep, require_scope
from app.models.cohort import (
    CohortCreate,
    CohortPage,
    CohortPublic,
    CohortQuery,
    CohortTransition,
    CohortUpdate,
)
from app.routers.params import IdPath
from app.services import cohorts as service

router = APIRouter(tags=["cohorts"])
_DOC: dict[int | str, dict[str, Any]] = {
    200: {"model": CohortPublic, "description": "The cohort; ETag header set."}
}


def _reply(
    found: service.Saved, *, status_code: int = 200, if_none_match: str | None = None
) -> Response:
    cohort, etag = found
    headers = {"Location": f"/v1/cohorts/{cohort.id}"} if status_code == 201 else None
    return json_response(
        service.ONE.dump_json(cohort),
        etag,
        status_code=status_code,
        if_none_match=if_none_match,
        headers=headers,
    )


@router.get(
    "/cohorts",
    name="cohorts-list",
    dependencies=[require_scope("catalog:read")],
    summary="Browse cohorts (of published courses without a login; your drafts with one)",
    responses={
        200: {"model": CohortPage, "description": 'A page; `Link: rel="next"` and ETag set.'},
        304: {"description": "Not modified"},
        **error_responses(401, 422),
    },
)
def list_cohorts(
    request: Request,
    principal: OptionalPrincipal,
    session: SessionDep,
    query: Annotated[CohortQuery, Query()],
    if_none_match: IfNoneMatch = None,
) -> Response:
    filters = service.CohortFilters(
        q=query.q,
        course_id=query.course_id,
        agency=query.agency,
        status=query.status.value if query.status else None,
        year=query.year,
        kind=query.kind.value if query.kind else None,
        competency_type=query.competency_type.value if query.competency_type else None,
        delivery=query.delivery.value if query.delivery else None,
        mode=query.mode.value if query.mode else None,
        starts_after=query.starts_after,
        starts_before=query.starts_before,
        updated_since=query.updated_since,
    )
    items, next_cursor, etag = service.list_cohorts(
        conn=session.connection(),
        principal=principal,
        filters=filters,
        sort=since_sort(query.sort, query.updated_since),
        cursor=query.cursor,
        limit=clamp_limit(query.limit),
    )
    if none_match(if_none_match, etag):  # 304: no body to serialize
        return json_response(b"", etag, if_none_match=if_none_match)
    body = service.PAGE.dump_json(items).decode()
    next_json = f'"{next_cursor}"' if next_cursor else "null"
    payload = '{"items":' + body + ',"next_cursor":' + next_json + "}"
    headers = link_header(request, next_cursor)
    return json_response(payload, etag, headers=headers)


@router.get(
    "/cohorts/{cohort_id}",
    name="cohorts-get",
    dependencies=[require_scope("catalog:read")],
    summary="One cohort",
    responses={**_DOC, 304: {"description": "Not modified"}, **error_responses(401, 404)},
)
def get_cohort(
    cohort_id: IdPath,
    principal: OptionalPrincipal,
    session: SessionDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    found = service.read_cohort(session=session, principal=principal, cohort_id=cohort_id)
    return _reply(found, if_none_match=if_none_match)


@router.post(
    "/cohorts",
    name="cohorts-create",
    dependencies=[require_scope("catalog:write")],
    summary="Create a cohort (draft) of one of your courses, pinned to its latest published curriculum",
    status_code=201,
    responses={201: {"model": CohortPublic}, **error_responses(401, 403, 404, 409, 422)},
)
@idempotent
def create_cohort(data: CohortCreate, principal: AgencyAdmin, session: SessionDep) -> Response:
    found = service.create_cohort(session=session, principal=principal, data=data)
    return _reply(found, status_code=201)


@router.patch(
    "/cohorts/{cohort_id}",
    name="cohorts-update",
    dependencies=[require_scope("catalog:write")],
    summary="Change a cohort's details (status moves go through /transitions)",
    description="What may change depends on the status (409 `cohort_locked` names what may): "
    "draft: everything; open: all but curriculum_version; closed: also not the enrolment "
    "window; running: ends_on, platform, meeting_url, venue; evaluation: platform, "
    "meeting_url, venue; completed and cancelled: nothing. `year` must be the year of "
    "`starts_on`.",
    responses={**_DOC, **error_responses(401, 403, 404, 409, 412, 422)},
)
def update_cohort(
    cohort_id: IdPath,
    data: CohortUpdate,
    principal: AgencyAdmin,
    session: SessionDep,
    if_match: IfMatch = None,
) -> Response:
    found = service.update_cohort(
        session=session, principal=principal, cohort_id=cohort_id, data=data, if_match=if_match
    )
    return _reply(found)


@router.post(
    "/cohorts/{cohort_id}/transitions",
    name="cohorts-transition",
    dependencies=[require_scope("catalog:write")],
    summary="Move a cohort's status: draft -> open -> closed -> running -> evaluation -> "
    "completed, or to cancelled before completed; anything else is 409",
    description="Moves that depend on the calendar wait for it, in the cohort's time zone: "
    "`running` from `starts_on`; `evaluation` and `completed` once the last session has ended "
    "(without sessions: from `ends_on`). Too early is 409 `transition_too_early`.",
    responses={**_DOC, **error_responses(401, 403, 404, 409, 412, 422)},
)
def transition_cohort(
    cohort_id: IdPath,
    data: CohortTransition,
    principal: AgencyAdmin,
    session: SessionDep,
    if_match: IfMatch = None,
) -> Response:
    found = service.transition(
        session=session, principal=principal, cohort_id=cohort_id, to=data.to, if_match=if_match
    )
    return _reply(found)
