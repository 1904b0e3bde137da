"""``/.well-known/*``: public keys for verifying our access tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.core.security import jwks

router = APIRouter(tags=["operations"])


@router.get(
    "/.well-known/jwks.json",
    name="jwks-get",
    summary="Public keys of the access-token signer (empty with HS256)",
)
async def get_jwks() -> dict[str, Any]:
    return jwks()
