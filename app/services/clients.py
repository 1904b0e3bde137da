"""Integration clients: registration, secrets and their rotation, client authentication.

Agency admins manage their agency's clients (platform admins any agency's); another
agency's client is 404. Secrets are shown once and stored as SHA-256 (see
app/models/client.py); at most two are live at a time.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.core.errors import ProblemError, not_found
from app.core.etag import check_if_match, resource_etag
from app.core.pagination import since_page
from app.core.security import Principal
from app.models import Agency, Client, ClientSecret
from app.models.base import utcnow
from app.models.client import (
    MAX_LIVE_SECRETS,
    ClientCreate,
    ClientCreated,
    ClientPublic,
    ClientUpdate,
    SecretCreated,
    SecretPublic,
)
from app.services.tenancy import get_owned, scoped

SECRET_PREFIX = "bks_"


def new_secret() -> str:
    """256 random bits, base64url."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _secrets(session: Session, client_id: str) -> list[ClientSecret]:
    return list(
        session.exec(
            select(ClientSecret)
            .where(col(ClientSecret.client_id) == client_id)
            .order_by(col(ClientSecret.created_at), col(ClientSecret.id))
        ).all()
    )


def public(session: Session, client: Client) -> tuple[ClientPublic, str]:
    rows = _secrets(session, client.id)
    model = ClientPublic(
        client_id=client.id,
        agency_id=client.agency_id,
        name=client.name,
        scopes=client.scopes,
        allowed_ranges=client.allowed_ranges,
        expires_at=client.expires_at,
        rate_limit_per_minute=client.rate_limit_per_minute,
        disabled=client.disabled,
        secrets=[SecretPublic(id=s.id, hint=s.hint, created_at=s.created_at) for s in rows],
        version=client.version,
        created_at=client.created_at,
        updated_at=client.updated_at,
    )
    return model, resource_etag(client.id, client.version)


def _add_secret(session: Session, client: Client) -> tuple[ClientSecret, str]:
    raw = new_secret()
    row = ClientSecret(client_id=client.id, secret_hash=hash_secret(raw), hint=raw[:10])
    session.add(row)
    return row, raw


def create(
    *, session: Session, principal: Principal, data: ClientCreate
) -> tuple[ClientCreated, str]:
    agency_id = principal.agency_id
    if data.agency_id is not None and data.agency_id != principal.agency_id:
        if not principal.is_platform_admin:
            raise ProblemError(
                403,
                "forbidden",
                "Only platform admins register clients for another agency; leave agency_id out.",
                detail_id="Hanya admin platform yang mendaftarkan klien untuk instansi lain; "
                "kosongkan agency_id.",
            )
        if session.get(Agency, data.agency_id) is None:
            raise not_found("agency", data.agency_id)
        agency_id = data.agency_id
    client = Client(
        agency_id=agency_id,
        name=data.name,
        scopes=[str(s) for s in data.scopes],
        allowed_ranges=data.allowed_ranges,
        expires_at=data.expires_at,
        rate_limit_per_minute=data.rate_limit_per_minute,
    )
    session.add(client)
    session.flush()
    _, raw = _add_secret(session, client)
    session.commit()
    shown, etag = public(session, client)
    return ClientCreated(**shown.model_dump(), client_secret=raw), etag


def list_clients(
    *,
    session: Session,
    principal: Principal,
    limit: int,
    cursor: str | None,
    agency_id: str | None = None,
    updated_since: datetime | None = None,
) -> tuple[list[ClientPublic], str | None]:
    statement = scoped(select(Client), Client, principal)
    if agency_id is not None:
        statement = statement.where(col(Client.agency_id) == agency_id)
    rows, next_cursor = since_page(
        session, statement, Client, limit=limit, cursor=cursor, updated_since=updated_since
    )
    return [public(session, r)[0] for r in rows], next_cursor


def get(
    *, session: Session, principal: Principal, client_id: str, for_update: bool = False
) -> Client:
    return get_owned(session, Client, client_id, principal, what="client", for_update=for_update)


def read(*, session: Session, principal: Principal, client_id: str) -> tuple[ClientPublic, str]:
    return public(session, get(session=session, principal=principal, client_id=client_id))


def update(
    *,
    session: Session,
    principal: Principal,
    client_id: str,
    data: ClientUpdate,
    if_match: str | None = None,
) -> tuple[ClientPublic, str]:
    client = get(session=session, principal=principal, client_id=client_id, for_update=True)
    check_if_match(if_match, resource_etag(client.id, client.version))
    changes = data.model_dump(exclude_unset=True)
    if "scopes" in changes:
        changes["scopes"] = [str(s) for s in changes["scopes"]]
    for name, value in changes.items():
        setattr(client, name, value)
    if changes:
        client.version += 1
        client.updated_at = utcnow()
    session.add(client)
    session.commit()
    from app.services.auth import forget_account  # this process applies it at once

    forget_account(client.id)
    return public(session, client)


def add_secret(
    *, session: Session, principal: Principal, client_id: str
) -> tuple[SecretCreated, str]:
    client = get(session=session, principal=principal, client_id=client_id, for_update=True)
    live = session.exec(
        select(func.count())
        .select_from(ClientSecret)
        .where(col(ClientSecret.client_id) == client.id)
    ).one()
    if live >= MAX_LIVE_SECRETS:
        raise ProblemError(
            409,
            "too_many_secrets",
            f"A client holds at most {MAX_LIVE_SECRETS} secrets; retire the old one first "
            "(DELETE /v1/clients/{id}/secrets/{secret_id}).",
            detail_id=f"Satu klien memegang paling banyak {MAX_LIVE_SECRETS} secret; pensiunkan "
            "yang lama dulu (DELETE /v1/clients/{id}/secrets/{secret_id}).",
        )
    row, raw = _add_secret(session, client)
    client.version += 1
    client.updated_at = utcnow()
    session.add(client)
    session.commit()
    shown = SecretCreated(
        id=row.id, hint=row.hint, created_at=row.created_at, client_id=client.id, client_secret=raw
    )
    return shown, resource_etag(client.id, client.version)


def retire_secret(
    *, session: Session, principal: Principal, client_id: str, secret_id: str
) -> None:
    client = get(session=session, principal=principal, client_id=client_id, for_update=True)
    row = session.exec(
        select(ClientSecret).where(
            col(ClientSecret.id) == secret_id, col(ClientSecret.client_id) == client.id
        )
    ).first()
    if row is None:
        raise ProblemError(
            404,
            "not_found",
            f"Client {client.id} has no secret with id {secret_id}; check the id.",
            detail_id=f"Klien {client.id} tidak memiliki secret dengan id {secret_id}; "
            "periksa id tersebut.",
        )
    session.delete(row)
    client.version += 1
    client.updated_at = utcnow()
    session.add(client)
    session.commit()


# --- client authentication (the token endpoint) -------------------------------------


def address_allowed(ranges: list[str], address: str | None) -> bool:
    if not ranges:
        return True
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(r, strict=False) for r in ranges)


def usable(client: Client, agency_active: bool, now: datetime | None = None) -> bool:
    now = now or utcnow()
    expired = client.expires_at is not None and client.expires_at <= now
    return agency_active and not client.disabled and not expired


def authenticate(session: Session, client_id: str, secret: str) -> Client | None:
    """The client whose live secret ``secret`` is (compared in constant time), or None."""
    if len(client_id) > 40 or len(secret) > 200:
        return None
    rows = session.exec(
        select(ClientSecret.secret_hash).where(col(ClientSecret.client_id) == client_id)
    ).all()
    given = hash_secret(secret)
    matched = False
    for stored in rows:  # compare with every live secret, not only until the first match
        matched |= hmac.compare_digest(stored, given)
    return session.get(Client, client_id) if matched else None
