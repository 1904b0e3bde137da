"""Webhook subscriptions of an agency: create, list, read, change, delete, rotate the secret.

Agency admins (and integration clients with ``webhooks:manage``) manage their agency's
subscriptions; platform admins see every agency's; another agency's is 404. The URL is
checked by the SSRF guard (app/services/outbound.py) on create and on every change of it,
before any row is locked (name resolution may take a while; nothing waits on it).

A new subscription is told of the changes committed after it (``start_seq``: the change
counter's last seq now). Deleting one deletes its deliveries and their attempts with it:
the delivery log belongs to the subscription and nobody could read it afterwards
(``/v1/webhooks/{id}/deliveries`` is 404 then). An attempt already in flight may still
reach the receiver once; the worker finds its delivery gone and records nothing.
"""

from __future__ import annotations

import base64
import os
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from app.core.errors import ProblemError
from app.core.etag import check_if_match, resource_etag
from app.core.pagination import since_page
from app.core.security import Principal
from app.models.base import utcnow
from app.models.webhook import (
    WebhookAttempt,
    WebhookCreate,
    WebhookDelivery,
    WebhookPublic,
    WebhookSubscription,
    WebhookUpdate,
    WebhookWithSecret,
)
from app.services.tenancy import scoped
from app.services.webhooks import fanout

SECRET_BYTES = 32
PREVIOUS_SECRET_TTL = timedelta(hours=24)


def new_secret() -> str:
    """A Standard Webhooks symmetric secret: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(os.urandom(SECRET_BYTES)).decode()


def not_found(ident: str) -> ProblemError:
    return ProblemError(
        404,
        "not_found",
        f"No webhook subscription has id {ident}; check the id.",
        detail_id=f"Tidak ada langganan webhook dengan id {ident}; periksa id tersebut.",
    )


def check_destination(url: str) -> None:
    """422 ``destination_refused`` when the SSRF guard would not call ``url``."""
    # Imported here: the guard brings httpx (2 MB of a worker's memory), which an API
    # worker needs only to check a subscription's URL (peak memory is a target: issue 11).
    from app.services import outbound

    try:
        outbound.check_url(url)
    except outbound.DestinationRefused as refused:
        raise refused.problem() from None


def _live_previous(sub: WebhookSubscription, now: datetime) -> datetime | None:
    expires = sub.previous_secret_expires_at
    return expires if sub.previous_secret and expires and expires > now else None


def public(sub: WebhookSubscription) -> tuple[WebhookPublic, str]:
    model = WebhookPublic(
        id=sub.id,
        agency_id=sub.agency_id,
        url=sub.url,
        description=sub.description,
        event_types=list(sub.event_types),
        active=sub.active,
        disabled_reason=sub.disabled_reason,
        disabled_at=sub.disabled_at,
        previous_secret_expires_at=_live_previous(sub, utcnow()),
        created_by=sub.created_by,
        version=sub.version,
        created_at=sub.created_at,
        updated_at=sub.updated_at,
    )
    return model, resource_etag(sub.id, sub.version)


def _with_secret(sub: WebhookSubscription) -> tuple[WebhookWithSecret, str]:
    shown, etag = public(sub)
    return WebhookWithSecret(**shown.model_dump(), secret=sub.secret), etag


def create(
    *, session: Session, principal: Principal, data: WebhookCreate
) -> tuple[WebhookWithSecret, str]:
    check_destination(data.url)
    sub = WebhookSubscription(
        agency_id=principal.agency_id,
        url=data.url,
        description=data.description,
        event_types=[str(e) for e in data.event_types],
        secret=data.secret or new_secret(),
        created_by=principal.subject,
        start_seq=fanout.subscription_start(session),
    )
    session.add(sub)
    session.commit()
    return _with_secret(sub)


def list_subscriptions(
    *,
    session: Session,
    principal: Principal,
    limit: int,
    cursor: str | None,
    updated_since: datetime | None = None,
    agency_id: str | None = None,
) -> tuple[list[WebhookPublic], str | None]:
    statement = scoped(select(WebhookSubscription), WebhookSubscription, principal)
    if agency_id is not None:
        statement = statement.where(col(WebhookSubscription.agency_id) == agency_id)
    rows, next_cursor = since_page(
        session,
        statement,
        WebhookSubscription,
        limit=limit,
        cursor=cursor,
        updated_since=updated_since,
    )
    return [public(r)[0] for r in rows], next_cursor


def get(
    *, session: Session, principal: Principal, webhook_id: str, for_update: bool = False
) -> WebhookSubscription:
    statement = scoped(
        select(WebhookSubscription).where(col(WebhookSubscription.id) == webhook_id),
        WebhookSubscription,
        principal,
    )
    if for_update:
        statement = statement.with_for_update()
    sub = session.exec(statement).first()
    if sub is None:
        raise not_found(webhook_id)
    return sub


def read(*, session: Session, principal: Principal, webhook_id: str) -> tuple[WebhookPublic, str]:
    return public(get(session=session, principal=principal, webhook_id=webhook_id))


def _touch(sub: WebhookSubscription) -> None:
    sub.version += 1
    sub.updated_at = utcnow()


def update(
    *,
    session: Session,
    principal: Principal,
    webhook_id: str,
    data: WebhookUpdate,
    if_match: str | None = None,
) -> tuple[WebhookPublic, str]:
    changes = data.model_dump(exclude_unset=True)
    if "url" in changes:
        check_destination(changes["url"])
    sub = get(session=session, principal=principal, webhook_id=webhook_id, for_update=True)
    check_if_match(if_match, resource_etag(sub.id, sub.version))
    if "event_types" in changes:
        changes["event_types"] = [str(e) for e in changes["event_types"]]
    active = changes.pop("active", None)
    if active is True and not sub.active:
        sub.active, sub.disabled_reason, sub.disabled_at = True, None, None
    elif active is False and sub.active:
        sub.active, sub.disabled_reason, sub.disabled_at = False, "disabled", utcnow()
    elif active is not None:
        active = None  # already so: not a change
    for name, value in changes.items():
        setattr(sub, name, value)
    if changes or active is not None:
        _touch(sub)
    session.add(sub)
    session.commit()
    return public(sub)


def rotate_secret(
    *, session: Session, principal: Principal, webhook_id: str, keep_previous: bool = True
) -> tuple[WebhookWithSecret, str]:
    """A new secret, shown once; with ``keep_previous`` the old one signs too for 24 h."""
    sub = get(session=session, principal=principal, webhook_id=webhook_id, for_update=True)
    now = utcnow()
    if keep_previous:
        sub.previous_secret, sub.previous_secret_expires_at = sub.secret, now + PREVIOUS_SECRET_TTL
    else:
        sub.previous_secret, sub.previous_secret_expires_at = None, None
    sub.secret = new_secret()
    _touch(sub)
    session.add(sub)
    session.commit()
    return _with_secret(sub)


def remove(
    *, session: Session, principal: Principal, webhook_id: str, if_match: str | None = None
) -> None:
    """Delete the subscription with its deliveries and their attempts (the module doc)."""
    sub = get(session=session, principal=principal, webhook_id=webhook_id, for_update=True)
    check_if_match(if_match, resource_etag(sub.id, sub.version))
    deliveries = select(WebhookDelivery.id).where(col(WebhookDelivery.subscription_id) == sub.id)
    session.exec(delete(WebhookAttempt).where(col(WebhookAttempt.delivery_id).in_(deliveries)))
    session.exec(delete(WebhookDelivery).where(col(WebhookDelivery.subscription_id) == sub.id))
    session.delete(sub)
    session.commit()
