"""``/v1/webhooks``: an agency's webhook subscriptions, their delivery log, redelivery, ping.

Agency admins and integration clients with ``webhooks:manage``; platform admins see every
agency's subscriptions; another agency's are 404. The worker (``bangkom worker``) sends
the deliveries; these routes only record what is owed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.core.errors import error_responses
from app.core.etag import json_response
from app.core.idempotency import idempotent
from app.core.pagination import clamp_limit, page_response
from app.deps import AgencyAdmin, CurrentPrincipal, IfMatch, IfNoneMatch, SessionDep, require_scope
from app.models.webhook import (
    EVENT_DESCRIPTIONS,
    DeliveryDetail,
    DeliveryPage,
    DeliveryPublic,
    DeliveryQuery,
    EventTypeList,
    EventTypePublic,
    SecretRotation,
    WebhookCreate,
    WebhookPage,
    WebhookPublic,
    WebhookQuery,
    WebhookUpdate,
    WebhookWithSecret,
)
from app.routers.params import IdPath
from app.services.webhooks import deliveries_read as deliveries
from app.services.webhooks import subscriptions as service

router = APIRouter(
    prefix="/webhooks", tags=["webhooks"], dependencies=[require_scope("webhooks:manage")]
)
events_router = APIRouter(tags=["webhooks"], dependencies=[require_scope("webhooks:manage")])
_DOC: dict[int | str, dict[str, Any]] = {
    200: {"model": WebhookPublic, "description": "The subscription; ETag header set."}
}
_NO_STORE = {"Cache-Control": "no-store"}
# Not @idempotent: ping (a retry sends one more ping, harmless) and redeliver (makes the
# same delivery due again); only creating POSTs answering 201 take a key.
_EVENT_TYPES = EventTypeList(
    items=[
        EventTypePublic(type=name, description=en, description_id=id_)
        for name, (en, id_) in EVENT_DESCRIPTIONS.items()
    ]
)


# Not /v1/webhooks/event-types: that path is also /v1/webhooks/{webhook_id}, whose PATCH
# and DELETE would answer there too (a 404) and show in its Allow header.
@events_router.get(
    "/webhook-event-types",
    name="webhooks-event-types",
    summary="The events a subscription can receive, described in English and Indonesian",
    responses={200: {"model": EventTypeList}, **error_responses(401, 403)},
)
def event_types(principal: CurrentPrincipal) -> EventTypeList:
    return _EVENT_TYPES


@router.post(
    "",
    name="webhooks-create",
    status_code=201,
    summary="Subscribe a URL to events; the signing secret is shown only in this answer",
    description="The URL must be http(s) and resolve to public addresses only: loopback, "
    "private, link-local (cloud metadata) and reserved addresses are 422 "
    "`destination_refused`, with the reason in `errors[].type` (`destination_scheme`, "
    "`destination_host`, `destination_address`, `destination_resolve`). Deliveries are "
    "signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`) "
    "with `secret`: yours if you send one, else generated. The subscription receives the "
    "changes committed after it is created.",
    responses={201: {"model": WebhookWithSecret}, **error_responses(401, 403, 422)},
)
@idempotent  # the replay keeps the secret for 24 h; the subscription row keeps it anyway
def create_webhook(data: WebhookCreate, principal: AgencyAdmin, session: SessionDep) -> Response:
    created, etag = service.create(session=session, principal=principal, data=data)
    headers = {"Location": f"/v1/webhooks/{created.id}", **_NO_STORE}
    return json_response(created.model_dump_json(), etag, status_code=201, headers=headers)


@router.get(
    "",
    name="webhooks-list",
    summary="Your agency's webhook subscriptions (platform admins: all)",
    responses={200: {"model": WebhookPage}, **error_responses(401, 403, 422)},
)
def list_webhooks(
    request: Request,
    principal: AgencyAdmin,
    session: SessionDep,
    query: Annotated[WebhookQuery, Query()],
) -> Response:
    rows, next_cursor = service.list_subscriptions(
        session=session,
        principal=principal,
        limit=clamp_limit(query.limit),
        cursor=query.cursor,
        updated_since=query.updated_since,
        agency_id=query.agency_id,
    )
    return page_response(request, WebhookPage(items=rows, next_cursor=next_cursor))


@router.get(
    "/{webhook_id}",
    name="webhooks-get",
    summary="One webhook subscription (never its secret)",
    responses={**_DOC, 304: {"description": "Not modified"}, **error_responses(401, 403, 404)},
)
def get_webhook(
    webhook_id: IdPath,
    principal: AgencyAdmin,
    session: SessionDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    found, etag = service.read(session=session, principal=principal, webhook_id=webhook_id)
    return json_response(found.model_dump_json(), etag, if_none_match=if_none_match)


@router.patch(
    "/{webhook_id}",
    name="webhooks-update",
    summary="Change a subscription's URL, events, description; turn it off or on again",
    description="A new URL is checked like on creation. `active: false` stops deliveries; "
    "`active: true` resumes them (also after the receiver answered 410 Gone, which turns a "
    "subscription off with `disabled_reason: gone`).",
    responses={**_DOC, **error_responses(401, 403, 404, 412, 422)},
)
def update_webhook(
    webhook_id: IdPath,
    data: WebhookUpdate,
    principal: AgencyAdmin,
    session: SessionDep,
    if_match: IfMatch = None,
) -> Response:
    found, etag = service.update(
        session=session, principal=principal, webhook_id=webhook_id, data=data, if_match=if_match
    )
    return json_response(found.model_dump_json(), etag)


@router.delete(
    "/{webhook_id}",
    name="webhooks-delete",
    status_code=204,
    summary="Delete a subscription together with its delivery log",
    responses={204: {"description": "Deleted"}, **error_responses(401, 403, 404, 412)},
)
def delete_webhook(
    webhook_id: IdPath, principal: AgencyAdmin, session: SessionDep, if_match: IfMatch = None
) -> Response:
    service.remove(session=session, principal=principal, webhook_id=webhook_id, if_match=if_match)
    return Response(status_code=204)


@router.post(
    "/{webhook_id}/rotate-secret",
    name="webhooks-rotate-secret",
    summary="Replace the signing secret; the new one is shown only in this answer",
    description="By default the previous secret keeps signing for 24 hours beside the new "
    "one (`webhook-signature` then carries two signatures; a receiver accepts the message "
    "when one verifies), so the receiver can switch without losing a delivery. "
    "`keep_previous: false` drops it at once (it leaked).",
    responses={200: {"model": WebhookWithSecret}, **error_responses(401, 403, 404, 422)},
)
def rotate_secret(
    webhook_id: IdPath,
    principal: AgencyAdmin,
    session: SessionDep,
    data: SecretRotation | None = None,
) -> Response:
    keep = True if data is None else data.keep_previous
    rotated, etag = service.rotate_secret(
        session=session, principal=principal, webhook_id=webhook_id, keep_previous=keep
    )
    return json_response(rotated.model_dump_json(), etag, headers=_NO_STORE)


@router.get(
    "/{webhook_id}/deliveries",
    name="webhooks-deliveries",
    summary="The subscription's deliveries, newest first",
    responses={200: {"model": DeliveryPage}, **error_responses(401, 403, 404, 422)},
)
def list_deliveries(
    request: Request,
    webhook_id: IdPath,
    principal: AgencyAdmin,
    session: SessionDep,
    query: Annotated[DeliveryQuery, Query()],
) -> Response:
    rows, next_cursor = deliveries.list_deliveries(
        session=session,
        principal=principal,
        webhook_id=webhook_id,
        limit=clamp_limit(query.limit),
        cursor=query.cursor,
        status=query.status,
        event_type=query.event_type,
    )
    return page_response(request, DeliveryPage(items=rows, next_cursor=next_cursor))


@router.get(
    "/{webhook_id}/deliveries/{delivery_id}",
    name="webhooks-delivery",
    summary="One delivery with its payload and every attempt (status, latency, answer)",
    responses={
        200: {"model": DeliveryDetail},
        304: {"description": "Not modified"},
        **error_responses(401, 403, 404),
    },
)
def get_delivery(
    webhook_id: IdPath,
    delivery_id: IdPath,
    principal: AgencyAdmin,
    session: SessionDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    found, etag = deliveries.read_delivery(
        session=session, principal=principal, webhook_id=webhook_id, delivery_id=delivery_id
    )
    return json_response(found.model_dump_json(), etag, if_none_match=if_none_match)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    name="webhooks-redeliver",
    status_code=202,
    summary="Send a delivery again, now (same webhook-id and payload)",
    description="The delivery becomes pending and due now; the worker sends it. An inactive "
    "subscription is 409 `webhook_inactive`: activate it first.",
    responses={202: {"model": DeliveryPublic}, **error_responses(401, 403, 404, 409)},
)
def redeliver(
    webhook_id: IdPath, delivery_id: IdPath, principal: AgencyAdmin, session: SessionDep
) -> Response:
    found, etag = deliveries.redeliver(
        session=session, principal=principal, webhook_id=webhook_id, delivery_id=delivery_id
    )
    return json_response(found.model_dump_json(), etag, status_code=202)


@router.post(
    "/{webhook_id}/ping",
    name="webhooks-ping",
    status_code=202,
    summary="Send a `webhook.ping` event to the receiver, to test it",
    description="Creates a pending delivery due now (answered here; follow it under "
    "/deliveries/{id}); the worker sends it. Body `data`: `{subscription_id, ping: true}`. "
    "An inactive subscription is 409 `webhook_inactive`.",
    responses={202: {"model": DeliveryPublic}, **error_responses(401, 403, 404, 409)},
)
def ping(webhook_id: IdPath, principal: AgencyAdmin, session: SessionDep) -> Response:
    found, etag = deliveries.ping(session=session, principal=principal, webhook_id=webhook_id)
    headers = {"Location": f"/v1/webhooks/{webhook_id}/deliveries/{found.id}"}
    return json_response(found.model_dump_json(), etag, status_code=202, headers=headers)
