"""Who sends or reads statements: an integration client by HTTP Basic (its client_id and
a live secret, as xAPI LRSs are usually configured) or by bearer token, or a person of
the agency with a bearer token. Each agency is its own LRS."""

from __future__ import annotations

from sqlmodel import Session

from app.core.errors import ProblemError
from app.core.security import Principal
from app.models import Agency
from app.services.client_auth import CLIENT_ROLES
from app.services.clients import address_allowed, authenticate, usable

BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="bangkom-xapi", Bearer realm="bangkom"'}
READ, WRITE = "statements/read", "statements/write"


def unauthorized(en: str, id_: str) -> ProblemError:
    return ProblemError(401, "unauthorized", en, detail_id=id_, headers=BASIC_CHALLENGE)


def basic_principal(
    session: Session, client_id: str, secret: str, address: str | None
) -> tuple[Principal, int | None]:
    """The client behind Basic credentials, with its scopes; 401 when they do not hold."""
    client = authenticate(session, client_id, secret)
    agency = session.get(Agency, client.agency_id) if client is not None else None
    if (
        client is None
        or not usable(client, bool(agency and agency.is_active))
        or not address_allowed(client.allowed_ranges, address)
    ):
        raise unauthorized(
            "These Basic credentials are not a usable integration client: send the "
            "client_id and a live client_secret of an enabled client (from /v1/clients), "
            "from an allowed address.",
            "Kredensial Basic ini bukan klien integrasi yang dapat dipakai: kirim client_id "
            "dan client_secret yang masih berlaku dari klien yang aktif (dari /v1/clients), "
            "dari alamat yang diizinkan.",
        )
    principal = Principal(
        subject=client.id,
        agency_id=client.agency_id,
        roles=CLIENT_ROLES,
        scopes=frozenset(client.scopes),
    )
    return principal, client.rate_limit_per_minute


def allowed(principal: Principal, scope: str) -> None:
    """Clients need the xAPI scope; people: agency admins write, staff read; learners'
    own logins use the learner API."""
    if principal.is_client:
        if scope in principal.scopes:
            return
        raise ProblemError(
            403,
            "insufficient_scope",
            f"This client lacks the scope {scope}; ask your agency admin to grant it "
            "(PATCH /v1/clients/{id}).",
            detail_id=f"Klien ini tidak memiliki scope {scope}; minta admin instansi Anda "
            "memberikannya (PATCH /v1/clients/{id}).",
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
        )
    writer = principal.has_role("agency_admin")
    if principal.is_learner or (scope == WRITE and not writer):
        raise ProblemError(
            403,
            "forbidden",
            "Statements are sent by the agency's integration clients and admins; use an "
            "agency admin account or a client with the scope " + scope + ".",
            detail_id="Pernyataan dikirim oleh klien integrasi dan admin instansi; gunakan "
            "akun admin instansi atau klien dengan scope " + scope + ".",
        )
