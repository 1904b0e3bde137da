"""Dependencies shared by the catalogue routers."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Header, Request
from jose import jwt

from app.core.security import Principal
from app.deps import oauth2_scheme, optional_principal

# token -> (principal, exp). A token that verified once gives the same principal until
# it expires (access tokens are stateless: nothing else is checked on each request), so
# the public catalogue's hot reads skip re-verifying the signature (~80 us per request).
_VERIFIED: dict[str, tuple[Principal, float]] = {}
_VERIFIED_MAX = 4096


def _remember(token: str, principal: Principal) -> None:
    try:
        exp = float(jwt.get_unverified_claims(token)["exp"])
    except Exception:
        return
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[token] = (principal, exp)


async def optional_principal_async(
    request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Principal | None:
    """``OptionalPrincipal`` without the thread-pool hop, with verified tokens remembered."""
    if token is not None and "access_token" not in request.query_params:
        hit = _VERIFIED.get(token)
        if hit is not None and hit[1] > time.time():
            request.state.agency_id = hit[0].agency_id
            return hit[0]
    principal = optional_principal(request, token)
    if principal is not None and token is not None:
        _remember(token, principal)
    return principal


FastOptionalPrincipal = Annotated[Principal | None, Depends(optional_principal_async)]
IfNoneMatch = Annotated[
    str | None, Header(description="An ETag you hold: 304 Not Modified when unchanged.")
]
IfMatch = Annotated[
    str | None,
    Header(description="The ETag you read: 412 if the resource changed since (lost-update guard)."),
]
