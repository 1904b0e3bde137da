"""``/v1/clients``: integration clients (client_credentials) of an agency, and their secrets.

People only (agency admins; platform admins for any agency): no client manages clients.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.core.errors import error_responses
from app.core.etag import json_response
from app.core.pagination import clamp_limit, link_header
from app.deps import AgencyAdmin, IfMatch, IfNoneMatch, SessionDep, humans_only
from app.models.client import (
    ClientCreate,
    ClientCreated,
    ClientPage,
    ClientPublic,
    ClientQuery,
    ClientUpdate,
    SecretCreated,
)
from app.routers.params import IdPath
from app.services import clients as service

router = APIRouter(prefix="/clients", tags=["clients"], dependencies=[humans_only])
_DOC: dict[int | str, dict[str, Any]] = {
    200: {"model": ClientPublic, "description": "The client; ETag header set."}
}
_NO_STORE = {"Cache-Control": "no-store"}
# Not @idempotent on purpose: a replay would have to keep the secret in clear in the
# idempotency store. A retried registration makes a second client; delete the spare one
# by disabling it.


@router.post(
    "",
    name="clients-create",
    status_code=201,
    summary="Register an integration client; its client_secret is shown only here",
    description="Agency admins, for their agency (platform admins: any, with `agency_id`). "
    "`scopes` from the list in the OAuth2 security scheme; `allowed_ranges` (CIDR) limit "
    "where tokens are requested and used from; `rate_limit_per_minute` overrides the "
    "server default (600).",
    responses={201: {"model": ClientCreated}, **error_responses(401, 403, 404, 422)},
)
def create_client(data: ClientCreate, principal: AgencyAdmin, session: SessionDep) -> Response:
    created, etag = service.create(session=session, principal=principal, data=data)
    return json_response(
        created.model_dump_json(),
        etag,
        status_code=201,
        headers={"Location": f"/v1/clients/{created.client_id}", **_NO_STORE},
    )


@router.get(
    "",
    name="clients-list",
    summary="Your agency's integration clients (platform admins: all)",
    responses={200: {"model": ClientPage}, **error_responses(401, 403, 422)},
)
def list_clients(
    request: Request,
    response: Response,
    principal: AgencyAdmin,
    session: SessionDep,
    query: Annotated[ClientQuery, Query()],
) -> ClientPage:
    rows, next_cursor = service.list_clients(
        session=session,
        principal=principal,
        limit=clamp_limit(query.limit),
        cursor=query.cursor,
        agency_id=query.agency_id,
        updated_since=query.updated_since,
    )
    response.headers.update(link_header(request, next_cursor))
    return ClientPage(items=rows, next_cursor=next_cursor)


@router.get(
    "/{client_id}",
    name="clients-get",
    summary="One integration client (never its secrets)",
    responses={**_DOC, 304: {"description": "Not modified"}, **error_responses(401, 403, 404)},
)
def get_client(
    client_id: IdPath,
    principal: AgencyAdmin,
    session: SessionDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    found, etag = service.read(session=session, principal=principal, client_id=client_id)
    return json_response(found.model_dump_json(), etag, if_none_match=if_none_match)


@router.patch(
    "/{client_id}",
    name="clients-update",
    summary="Change a client's name, scopes, ranges, expiry, rate limit; disable it at once",
    description="`disabled: true` refuses new tokens at once and ends issued ones within "
    "the account recheck interval (BANGKOM_AUTH_RECHECK_SECONDS); removed scopes likewise.",
    responses={**_DOC, **error_responses(401, 403, 404, 412, 422)},
)
def update_client(
    client_id: IdPath,
    data: ClientUpdate,
    principal: AgencyAdmin,
    session: SessionDep,
    if_match: IfMatch = None,
) -> Response:
    found, etag = service.update(
        session=session, principal=principal, client_id=client_id, data=data, if_match=if_match
    )
    return json_response(found.model_dump_json(), etag)


@router.post(
    "/{client_id}/secrets",
    name="clients-add-secret",
    status_code=201,
    summary="Rotate: add a second secret (shown only here); at most two are live",
    description="Switch the integration to the new secret, then retire the old one with "
    "DELETE .../secrets/{secret_id}. A third is 409 `too_many_secrets`.",
    responses={201: {"model": SecretCreated}, **error_responses(401, 403, 404, 409)},
)
def add_secret(client_id: IdPath, principal: AgencyAdmin, session: SessionDep) -> Response:
    created, etag = service.add_secret(session=session, principal=principal, client_id=client_id)
    return json_response(created.model_dump_json(), etag, status_code=201, headers=_NO_STORE)


@router.delete(
    "/{client_id}/secrets/{secret_id}",
    name="clients-retire-secret",
    status_code=204,
    summary="Retire a secret: tokens can no longer be requested with it",
    responses={204: {"description": "Retired"}, **error_responses(401, 403, 404)},
)
def retire_secret(
    client_id: IdPath, secret_id: IdPath, principal: AgencyAdmin, session: SessionDep
) -> Response:
    service.retire_secret(
        session=session, principal=principal, client_id=client_id, secret_id=secret_id
    )
    return Response(status_code=204)
