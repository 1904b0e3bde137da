"""``/.well-known/*``: public keys for verifying our access tokens and certificates."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.core.security import jwks
from app.deps import SessionDep
from app.services.learning.certificate_keys import public_keys

router = APIRouter(tags=["operations"])


@router.get(
    "/.well-known/jwks.json",
    name="jwks-get",
    summary="Public keys of the access-token signer (none with HS256) and of every key that "
    "signed certificates (ES256, `kid` as in the certificate's JWS header)",
)
def get_jwks(session: SessionDep) -> dict[str, Any]:
    return {"keys": [*jwks()["keys"], *public_keys(session)]}
