"""``/v1/me``: who the token belongs to."""

from __future__ import annotations

from fastapi import APIRouter

from app.core.errors import error_responses
from app.deps import CurrentPrincipal, SessionDep
from app.models.agency import AgencyPublic
from app.models.user import Me, UserPublic
from app.services.agencies import get_agency
from app.services.users import get_user

router = APIRouter(tags=["auth"])


@router.get(
    "/me",
    name="me-get",
    summary="The caller, their agency and roles",
    responses=error_responses(401),
)
def get_me(session: SessionDep, principal: CurrentPrincipal) -> Me:
    user = get_user(session=session, principal=principal, user_id=principal.subject)
    agency = get_agency(session=session, principal=principal, agency_id=principal.agency_id)
    return Me(
        user=UserPublic.model_validate(user),
        agency=AgencyPublic.model_validate(agency),
        roles=sorted(principal.roles),
        scope=" ".join(sorted(principal.scopes)),
    )
