"""``/v1/agencies``: platform admins write; everyone reads their own agency."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.core.errors import error_responses
from app.core.idempotency import idempotent
from app.core.pagination import clamp_limit, link_header
from app.deps import CurrentPrincipal, PlatformAdmin, SessionDep, humans_only
from app.models.agency import (
    AgencyCreate,
    AgencyPage,
    AgencyPublic,
    AgencyQuery,
    AgencyUpdate,
)
from app.routers.params import AgencyPath
from app.services import agencies

router = APIRouter(prefix="/agencies", tags=["agencies"], dependencies=[humans_only])


@router.get(
    "",
    name="agencies-list",
    summary="Agencies: all for platform admins, your own for everyone else",
    responses=error_responses(401, 422),
)
def list_agencies(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: CurrentPrincipal,
    query: Annotated[AgencyQuery, Query()],
) -> AgencyPage:
    rows, next_cursor = agencies.list_agencies(
        session=session,
        principal=principal,
        limit=clamp_limit(query.limit),
        cursor=query.cursor,
        updated_since=query.updated_since,
    )
    response.headers.update(link_header(request, next_cursor))
    return AgencyPage(items=[AgencyPublic.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "",
    name="agencies-create",
    status_code=201,
    summary="Create an agency (platform admins)",
    responses=error_responses(401, 403, 409, 422),
)
@idempotent
def create_agency(session: SessionDep, _admin: PlatformAdmin, data: AgencyCreate) -> AgencyPublic:
    return AgencyPublic.model_validate(agencies.create_agency(session=session, data=data))


@router.get(
    "/{agency_id}",
    name="agencies-get",
    summary="One agency",
    responses=error_responses(401, 404),
)
def get_agency(
    session: SessionDep, principal: CurrentPrincipal, agency_id: AgencyPath
) -> AgencyPublic:
    agency = agencies.get_agency(session=session, principal=principal, agency_id=agency_id)
    return AgencyPublic.model_validate(agency)


@router.patch(
    "/{agency_id}",
    name="agencies-update",
    summary="Change an agency (platform admins); is_active=false stops its logins",
    responses=error_responses(401, 403, 404, 422),
)
def update_agency(
    session: SessionDep, admin: PlatformAdmin, agency_id: AgencyPath, data: AgencyUpdate
) -> AgencyPublic:
    agency = agencies.update_agency(
        session=session, principal=admin, agency_id=agency_id, data=data
    )
    return AgencyPublic.model_validate(agency)
