"""The xAPI edges of Bangkom: the ``/xapi`` resources (statements in
app/routers/xapi_statements.py; documents, agents and activities in
app/routers/xapi_documents.py), the module activity definitions at
``/activities/modules/{module_id}``, and Bangkom's own view of the statements that did not
land as progress (``/v1/xapi/unmatched``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.core.errors import error_responses
from app.core.pagination import Page, clamp_limit, page_response
from app.deps import CurrentPrincipal, SessionDep, require_scope
from app.models.xapi import UnmatchedQuery, UnmatchedStatement
from app.routers import xapi_documents, xapi_statements
from app.routers.params import IdPath
from app.services.xapi import activities as definitions
from app.services.xapi import auth, query

activities = APIRouter(tags=["xapi"])
v1 = APIRouter(tags=["xapi"])  # Bangkom's own view, under /v1
UnmatchedPage = Page[UnmatchedStatement]


@activities.get(
    "/activities/modules/{module_id}",
    name="xapi-activity-module",
    summary="The xAPI activity definition of a curriculum module (its activity id's target)",
    description="A module's xAPI activity id is this URL. Statements with a progress verb "
    "on it update the module's progress. Public for modules of published courses.",
    responses={
        200: {"content": {"application/json": {"schema": {"type": "object"}}}},
        **error_responses(404),
    },
)
def module_activity(module_id: IdPath, session: SessionDep) -> Response:
    body = json.dumps(definitions.module_activity(session, module_id), ensure_ascii=False)
    return Response(body, media_type="application/json")


@v1.get(
    "/xapi/unmatched",
    name="xapi-unmatched-list",
    dependencies=[require_scope(auth.READ)],
    summary="Statements that carried a progress verb on a module but did not land as progress",
    description="The caller's agency's statements with a progress verb on a module activity "
    "that matched no learner (`learner_unknown`), no module (`module_unknown`), no "
    "enrolment of the learner in a cohort of the agency with the module (`not_enrolled`), "
    "or that the progress rules refused (`enrollment_not_active`, `cohort_final`, "
    "`certificates_issued`, ...). Oldest first. They stay stored and readable at "
    "/xapi/statements; send them again under a new id once the cause is fixed.",
    responses={
        200: {"model": UnmatchedPage, "description": 'A page; `Link: rel="next"`.'},
        **error_responses(401, 403, 422),
    },
)
def list_unmatched(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    params: Annotated[UnmatchedQuery, Query()],
) -> Response:
    auth.allowed(principal, auth.READ)
    items, next_cursor = query.unmatched(
        session, principal.agency_id, limit=clamp_limit(params.limit), cursor=params.cursor
    )
    return page_response(request, UnmatchedPage(items=items, next_cursor=next_cursor))


def install(app: Any, strict_query: list[Any]) -> None:
    """/xapi answers unknown parameters itself (400, as xAPI says); /activities is strict."""
    app.include_router(xapi_statements.router)
    app.include_router(xapi_documents.router)
    app.include_router(activities, dependencies=strict_query)
