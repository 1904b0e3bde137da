"""Integration clients at the token endpoint and on every request they make.

``grant_type=client_credentials`` (RFC 6749 section 4.4) with client authentication by
HTTP Basic or form fields (section 2.3.1). The access token names the client (``sub`` is
its client_id), its agency and its scopes; there is no refresh token: a client asks again.

On every request a client token is rechecked like a person's account (app/services/auth.py,
``auth_recheck_seconds``): a disabled or expired client, one whose agency is disabled, or a
call from outside its allowed IP ranges ends the token; scopes removed since are dropped.
Clients act with the rights of their agency's admins, narrowed by their scopes; the routes
no client may use (accounts, agencies, clients) say so with ``humans_only`` (app/deps.py).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote_plus

from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from app.core.config import Settings, get_settings
from app.core.errors import ProblemError
from app.core.security import Principal, create_access_token
from app.models import Agency, Client
from app.models.base import utcnow
from app.models.user import TokenResponse
from app.services.clients import address_allowed, authenticate, usable

CLIENT_ROLES = frozenset({"agency_admin"})


def is_client_subject(subject: str) -> bool:
    return subject.startswith("cli_")


@dataclass(frozen=True)
class ClientState:
    disabled: bool
    expires_at: datetime | None
    agency_id: str
    scopes: frozenset[str]
    allowed_ranges: tuple[str, ...]
    rate_limit: int | None


def load_client_state(session: Session, client_id: str) -> ClientState | None:
    row = session.execute(
        sa_select(
            col(Client.disabled),
            col(Client.expires_at),
            col(Client.agency_id),
            col(Client.scopes),
            col(Client.allowed_ranges),
            col(Client.rate_limit_per_minute),
        )
        .join(Agency, col(Agency.id) == col(Client.agency_id))
        .where(col(Client.id) == client_id, col(Agency.is_active).is_(True))
    ).first()
    if row is None:
        return None
    disabled, expires_at, agency_id, scopes, ranges, rate = row
    return ClientState(disabled, expires_at, agency_id, frozenset(scopes), tuple(ranges), rate)


def check_client(
    principal: Principal, state: ClientState, *, address: str | None
) -> Principal | None:
    if not is_client_subject(principal.subject) or state.disabled:
        return None
    if state.expires_at is not None and state.expires_at <= utcnow():
        return None
    if state.agency_id != principal.agency_id:
        return None
    if not address_allowed(list(state.allowed_ranges), address):
        return None
    return dataclasses.replace(
        principal,
        roles=CLIENT_ROLES,
        scopes=principal.scopes & state.scopes,
        rate_limit=state.rate_limit,
    )


# --- the grant ------------------------------------------------------------------------

_BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="bangkom"'}


def _invalid_client() -> ProblemError:
    from app.services.auth import oauth_error

    error = oauth_error(
        "invalid_client",
        "Client authentication failed: check client_id and client_secret (HTTP Basic, or the "
        "form fields client_id and client_secret).",
        "Autentikasi klien gagal: periksa client_id dan client_secret (HTTP Basic, atau kolom "
        "formulir client_id dan client_secret).",
        status=401,
    )
    error.headers.update(_BASIC_CHALLENGE)
    return error


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """(client_id, secret) from an HTTP Basic header (both form-urlencoded, RFC 6749 2.3.1)."""
    if not authorization or not authorization[:6].lower() == "basic ":
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise _invalid_client() from None
    if ":" not in decoded:
        raise _invalid_client()
    client_id, secret = decoded.split(":", 1)
    return unquote_plus(client_id), unquote_plus(secret)


def client_credentials_grant(
    *,
    session: Session,
    client_id: str,
    client_secret: str,
    scope: str,
    address: str | None,
    settings: Settings | None = None,
) -> TokenResponse:
    from app.services.auth import oauth_error

    settings = settings or get_settings()
    client = authenticate(session, client_id, client_secret)
    if client is None:
        raise _invalid_client()
    agency = session.get(Agency, client.agency_id)
    if not usable(client, bool(agency and agency.is_active)):
        raise oauth_error(
            "unauthorized_client",
            "This client is disabled or expired, or its agency is disabled; ask your agency "
            "admin to enable it (PATCH /v1/clients/{id}).",
            "Klien ini dinonaktifkan atau kedaluwarsa, atau instansinya dinonaktifkan; minta "
            "admin instansi Anda mengaktifkannya (PATCH /v1/clients/{id}).",
        )
    if not address_allowed(client.allowed_ranges, address):
        raise oauth_error(
            "unauthorized_client",
            f"This client may not ask for tokens from {address}; ask your agency admin to add "
            "the address to its allowed_ranges.",
            f"Klien ini tidak boleh meminta token dari {address}; minta admin instansi Anda "
            "menambahkan alamat itu ke allowed_ranges.",
        )
    granted = frozenset(client.scopes)
    asked = frozenset(scope.split()) if scope.strip() else granted
    if not asked <= granted:
        missing = " ".join(sorted(asked - granted))
        raise oauth_error(
            "invalid_scope",
            f"Scopes not granted to this client: {missing}. Ask only for: "
            f"{' '.join(sorted(granted))}.",
            f"Scope yang tidak diberikan kepada klien ini: {missing}. Minta hanya: "
            f"{' '.join(sorted(granted))}.",
        )
    principal = Principal(subject=client.id, agency_id=client.agency_id, scopes=asked)
    access_token, ttl = create_access_token(principal, settings=settings)
    session.commit()
    return TokenResponse(
        access_token=access_token,
        expires_in=ttl,
        refresh_token=None,
        scope=" ".join(sorted(asked)),
    )
