"""``/v1/me``: who the token belongs to (and, for a learner login, the learner)."""

from __future__ import annotations

from fastapi import APIRouter

from app.core.errors import error_responses
from app.deps import CurrentPrincipal, SessionDep
from app.models import Learner
from app.models.agency import AgencyPublic
from app.models.me import Me
from app.models.user import UserPublic
from app.services.agencies import get_agency
from app.services.learning.learners import public
from app.services.users import get_user

router = APIRouter(tags=["auth"])


@router.get(
    "/me",
    name="me-get",
    summary="The caller, their agency and roles (and a learner login's learner)",
    responses=error_responses(401),
)
def get_me(session: SessionDep, principal: CurrentPrincipal) -> Me:
    user = get_user(session=session, principal=principal, user_id=principal.subject)
    agency = get_agency(session=session, principal=principal, agency_id=principal.agency_id)
    learner = None
    if principal.is_learner and user.learner_id is not None:
        row = session.get(Learner, user.learner_id)
        learner = public(row, principal) if row is not None else None
    return Me(
        user=UserPublic.model_validate(user),
        agency=AgencyPublic.model_validate(agency),
        learner=learner,
        roles=sorted(principal.roles),
        scope=" ".join(sorted(principal.scopes)),
    )
