"""``/v1/learners``: learners addressed by key (NIP, ``pppk:<NI PPPK>``, ``ext:<slug>:<ref>``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from app.core.errors import error_responses
from app.core.etag import json_response
from app.core.pagination import clamp_limit, link_header
from app.deps import (
    AgencyAdmin,
    CurrentPrincipal,
    IfMatch,
    IfNoneMatch,
    SessionDep,
    humans_only,
    require_scope,
)
from app.models.invitation import InvitationPublic
from app.models.learner import (
    KEY_PATTERN,
    LearnerPage,
    LearnerPublic,
    LearnerPut,
    LearnerQuery,
    LearnerRelease,
    LearnerTransfer,
    LearnerUpdate,
)
from app.services.learning import learner_accounts, transfers
from app.services.learning import learners as service

router = APIRouter(tags=["learners"])
KeyPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=140,
        pattern=KEY_PATTERN,
        description="NIP (PNS, CPNS; spaces allowed), pppk:<NI PPPK> or "
        "ext:<agency-slug>:<external_ref> (non-ASN guests)",
        examples=["198001012005011001"],
    ),
]
_DOC: dict[int | str, dict[str, Any]] = {
    200: {"model": LearnerPublic, "description": "The learner; ETag header set."}
}


def _reply(
    found: service.Saved, *, status_code: int = 200, if_none_match: str | None = None
) -> Response:
    learner, etag = found
    headers = {"Location": f"/v1/learners/{learner.learner_key}"} if status_code == 201 else None
    return json_response(
        service.ONE.dump_json(learner),
        etag,
        status_code=status_code,
        if_none_match=if_none_match,
        headers=headers,
    )


@router.get(
    "/learners",
    name="learners-list",
    dependencies=[require_scope("learners:read")],
    summary="Your agency's learners (all for platform admins), filtered, in pages",
    responses={200: {"model": LearnerPage}, **error_responses(401, 422)},
)
def list_learners(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    query: Annotated[LearnerQuery, Query()],
) -> Response:
    items, next_cursor = service.list_learners(
        session=session,
        principal=principal,
        agency=query.agency,
        asn_type=query.asn_type.value if query.asn_type else None,
        position_type=query.position_type.value if query.position_type else None,
        rank=query.rank.value if query.rank else None,
        q=query.q,
        cursor=query.cursor,
        limit=clamp_limit(query.limit),
        updated_since=query.updated_since,
    )
    body = LearnerPage(items=items, next_cursor=next_cursor).model_dump_json()
    headers = link_header(request, next_cursor) | {"Vary": "Authorization"}
    return Response(body, media_type="application/json", headers=headers)


@router.get(
    "/learners/{learner_key}",
    name="learners-get",
    dependencies=[require_scope("learners:read")],
    summary="One learner (birth date, email and phone only for the home agency)",
    responses={**_DOC, 304: {"description": "Not modified"}, **error_responses(401, 404, 422)},
)
def get_learner(
    learner_key: KeyPath,
    principal: CurrentPrincipal,
    session: SessionDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    found = service.read_learner(session=session, principal=principal, raw_key=learner_key)
    return _reply(found, if_none_match=if_none_match)


@router.put(
    "/learners/{learner_key}",
    name="learners-put",
    dependencies=[require_scope("learners:write")],
    summary="Create (201) or replace (200) the learner with this key: for sync scripts",
    description="The body is the whole learner: fields left out are emptied, except "
    "birth_date and gender, which default to what the NIP / NI PPPK says. Sending the same "
    "body again changes nothing (same ETag). A key of another agency's learner is 409 "
    "`learner_in_other_agency`: moves go through release and transfer.",
    responses={
        **_DOC,
        201: {"model": LearnerPublic, "description": "Created; Location and ETag set."},
        **error_responses(401, 403, 409, 412, 422),
    },
)
def put_learner(
    learner_key: KeyPath,
    data: LearnerPut,
    principal: AgencyAdmin,
    session: SessionDep,
    if_match: IfMatch = None,
) -> Response:
    found, created = service.put_learner(
        session=session, principal=principal, raw_key=learner_key, data=data, if_match=if_match
    )
    return _reply(found, status_code=201 if created else 200)


@router.patch(
    "/learners/{learner_key}",
    name="learners-update",
    dependencies=[require_scope("learners:write")],
    summary="Change some of a learner's fields",
    responses={**_DOC, **error_responses(401, 403, 404, 409, 412, 422)},
)
def update_learner(
    learner_key: KeyPath,
    data: LearnerUpdate,
    principal: AgencyAdmin,
    session: SessionDep,
    if_match: IfMatch = None,
) -> Response:
    found = service.update_learner(
        session=session, principal=principal, raw_key=learner_key, data=data, if_match=if_match
    )
    return _reply(found)


@router.post(
    "/learners/{learner_key}/release",
    name="learners-release",
    dependencies=[require_scope("learners:write")],
    summary="Allow another agency to take this learner over (null withdraws)",
    responses={**_DOC, **error_responses(401, 403, 404, 409, 422)},
)
def release_learner(
    learner_key: KeyPath, data: LearnerRelease, principal: AgencyAdmin, session: SessionDep
) -> Response:
    found = transfers.release_learner(
        session=session, principal=principal, raw_key=learner_key, data=data
    )
    return _reply(found)


@router.post(
    "/learners/{learner_key}/transfer",
    name="learners-transfer",
    dependencies=[require_scope("learners:write")],
    summary="Take over a learner released to your agency (platform admins: any learner)",
    description="The learner keeps their id and history; the release is used up. Without a "
    "release to your agency: 409 `release_required`.",
    responses={**_DOC, **error_responses(401, 403, 404, 409, 422)},
)
def transfer_learner(
    learner_key: KeyPath, data: LearnerTransfer, principal: AgencyAdmin, session: SessionDep
) -> Response:
    found = transfers.transfer_learner(
        session=session, principal=principal, raw_key=learner_key, data=data
    )
    return _reply(found)


@router.post(
    "/learners/{learner_key}/invitations",
    name="learners-invite",
    dependencies=[humans_only],
    status_code=201,
    summary="Invite the learner to make their own login: a one-time token, shown once",
    description="For admins of the learner's home agency. The token is valid for 7 days and "
    "once; a new invitation replaces the older ones. The learner sends it, with an email and "
    "a password, to POST /v1/auth/invitations/accept. 409 `learner_has_login` when the "
    "learner already has a login. Not idempotent by key on purpose: the token is never "
    "stored in clear, and a retry simply issues a new invitation that replaces the first.",
    responses=error_responses(401, 403, 404, 409, 422),
)
def invite_learner(
    learner_key: KeyPath, principal: AgencyAdmin, session: SessionDep, response: Response
) -> InvitationPublic:
    response.headers["Cache-Control"] = "no-store"
    return learner_accounts.invite(session=session, principal=principal, raw_key=learner_key)
