"""``/v1/users``: agency admins manage their agency's users; anyone changes their own password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.core.errors import error_responses
from app.core.idempotency import idempotent
from app.core.pagination import clamp_limit, link_header
from app.deps import AgencyAdmin, CurrentPrincipal, SessionDep, humans_only
from app.models.user import (
    PasswordChange,
    UserCreate,
    UserPage,
    UserPublic,
    UserQuery,
    UserUpdate,
)
from app.routers.params import IdPath
from app.services import users

router = APIRouter(prefix="/users", tags=["users"], dependencies=[humans_only])


@router.get(
    "",
    name="users-list",
    summary="Users: your agency's for agency admins, all for platform admins, else yourself",
    responses=error_responses(401, 422),
)
def list_users(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: CurrentPrincipal,
    query: Annotated[UserQuery, Query()],
) -> UserPage:
    rows, next_cursor = users.list_users(
        session=session,
        principal=principal,
        limit=clamp_limit(query.limit),
        cursor=query.cursor,
        agency_id=query.agency_id,
        updated_since=query.updated_since,
    )
    response.headers.update(link_header(request, next_cursor))
    return UserPage(items=[UserPublic.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "",
    name="users-create",
    status_code=201,
    summary="Create a user in your agency (agency admins)",
    responses=error_responses(401, 403, 404, 409, 422),
)
@idempotent
def create_user(session: SessionDep, admin: AgencyAdmin, data: UserCreate) -> UserPublic:
    return UserPublic.model_validate(users.create_user(session=session, principal=admin, data=data))


@router.get(
    "/{user_id}",
    name="users-get",
    summary="One user",
    responses=error_responses(401, 404),
)
def get_user(session: SessionDep, principal: CurrentPrincipal, user_id: IdPath) -> UserPublic:
    user = users.get_user(session=session, principal=principal, user_id=user_id)
    return UserPublic.model_validate(user)


@router.patch(
    "/{user_id}",
    name="users-update",
    summary="Change a user's name, roles or active flag (agency admins)",
    description="`is_active: false` disables the account: its tokens stop working at once.",
    responses=error_responses(401, 403, 404, 409, 422),
)
def update_user(
    session: SessionDep, admin: AgencyAdmin, user_id: IdPath, data: UserUpdate
) -> UserPublic:
    user = users.update_user(session=session, principal=admin, user_id=user_id, data=data)
    return UserPublic.model_validate(user)


@router.post(
    "/{user_id}/password",
    name="users-change-password",
    status_code=204,
    summary="Change a password: your own with the current one, or (admins) a user's",
    description="Revokes the user's refresh tokens and the access tokens issued before.",
    responses=error_responses(401, 403, 404, 422),
)
def change_password(
    session: SessionDep, principal: CurrentPrincipal, user_id: IdPath, data: PasswordChange
) -> Response:
    users.change_password(session=session, principal=principal, user_id=user_id, data=data)
    return Response(status_code=204)
