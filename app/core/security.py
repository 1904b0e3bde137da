"""Tokens and passwords. The only module that imports ``jose``.

Access tokens are JWTs signed with exactly one configured algorithm (HS256 by
default, or RS256/ES256 with a PEM private key, whose public half is served as
a JWKS). Decoding requires ``exp``, ``iat``, ``iss`` and ``aud`` and refuses
every other algorithm. Refresh tokens are opaque random strings stored hashed.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from jose import JWTError, jwk, jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from app.core.config import Settings, get_settings

IAT_LEEWAY_SECONDS = 60


class TokenError(Exception):
    """The bearer token is missing, malformed, expired or not ours."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a person (or, later, an LMS client) acting for one agency."""

    subject: str
    agency_id: str
    roles: frozenset[str] = field(default_factory=frozenset)
    scopes: frozenset[str] = field(default_factory=frozenset)
    token_id: str | None = None
    issued_at: int | None = None

    @property
    def is_platform_admin(self) -> bool:
        return "platform_admin" in self.roles

    def has_role(self, *roles: str) -> bool:
        return self.is_platform_admin or bool(self.roles.intersection(roles))


# --- keys -----------------------------------------------------------------


@dataclass(frozen=True)
class _Keys:
    algorithm: str
    signing_key: str
    verifying_key: str
    kid: str | None
    public_jwk: dict[str, Any] | None


@lru_cache(maxsize=8)
def _keys(algorithm: str, secret: str, private_pem: str | None) -> _Keys:
    if algorithm == "HS256":
        return _Keys(algorithm, secret, secret, None, None)
    if not private_pem:
        raise RuntimeError(f"BANGKOM_JWT_PRIVATE_KEY (PEM) is required for {algorithm}")
    private = serialization.load_pem_private_key(private_pem.encode(), password=None)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    kid = base64.urlsafe_b64encode(hashlib.sha256(der).digest()[:12]).decode().rstrip("=")
    public_jwk = jwk.construct(public_pem, algorithm).to_dict()
    public_jwk.update({"kid": kid, "use": "sig", "alg": algorithm})
    return _Keys(algorithm, private_pem, public_pem, kid, public_jwk)


def keys_for(settings: Settings) -> _Keys:
    return _keys(settings.jwt_algorithm, settings.secret_key, settings.jwt_private_key)


def jwks(settings: Settings | None = None) -> dict[str, Any]:
    keys = keys_for(settings or get_settings())
    return {"keys": [keys.public_jwk] if keys.public_jwk else []}


# --- access tokens ----------------------------------------------------------


def create_access_token(
    principal: Principal, *, settings: Settings | None = None, ttl_seconds: int | None = None
) -> tuple[str, int]:
    """Sign an access token for ``principal``; returns (token, lifetime in seconds)."""
    settings = settings or get_settings()
    keys = keys_for(settings)
    now = int(time.time())
    ttl = ttl_seconds if ttl_seconds is not None else settings.access_token_ttl_seconds
    claims = {
        "sub": principal.subject,
        "agency": principal.agency_id,
        "roles": sorted(principal.roles),
        "scope": " ".join(sorted(principal.scopes)),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + ttl,
        "jti": secrets.token_urlsafe(12),
    }
    headers = {"kid": keys.kid} if keys.kid else None
    return jwt.encode(claims, keys.signing_key, algorithm=keys.algorithm, headers=headers), ttl


# Verified tokens: token -> (principal, exp). A JWT cannot change, so once its signature
# and claims checked out it stays valid until ``exp``; this skips ~40-80 us of crypto per
# request. Whether the account may still act is checked per request elsewhere
# (app.services.auth), not here.
_verified: dict[tuple[str, str, str, str, str], tuple[Principal, float]] = {}
_VERIFIED_MAX = 8192


def decode_access_token(token: str, *, settings: Settings | None = None) -> Principal:
    settings = settings or get_settings()
    keys = keys_for(settings)
    key = (token, keys.algorithm, keys.verifying_key, settings.jwt_issuer, settings.jwt_audience)
    hit = _verified.get(key)
    if hit is not None:
        if hit[1] > time.time():
            return hit[0]
        del _verified[key]
    principal, exp = _decode(token, keys, settings)
    if len(_verified) >= _VERIFIED_MAX:
        _verified.clear()
    _verified[key] = (principal, exp)
    return principal


def _decode(token: str, keys: _Keys, settings: Settings) -> tuple[Principal, float]:
    try:
        claims = jwt.decode(
            token,
            keys.verifying_key,
            algorithms=[keys.algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={
                "require_exp": True,
                "require_iat": True,
                "require_iss": True,
                "require_aud": True,
                "require_sub": True,
            },
        )
    except JWTError as exc:
        raise TokenError(str(exc)) from exc
    iat = claims.get("iat")
    if not isinstance(iat, int | float) or iat > time.time() + IAT_LEEWAY_SECONDS:
        raise TokenError("token issued in the future")
    agency = claims.get("agency")
    roles = claims.get("roles", [])
    scope = claims.get("scope", "")
    if not isinstance(agency, str) or not isinstance(roles, list) or not isinstance(scope, str):
        raise TokenError("token claims are malformed")
    principal = Principal(
        subject=str(claims["sub"]),
        agency_id=agency,
        roles=frozenset(str(r) for r in roles),
        scopes=frozenset(scope.split()),
        token_id=claims.get("jti"),
        issued_at=int(iat),
    )
    return principal, float(claims["exp"])


# --- refresh tokens ---------------------------------------------------------


def new_refresh_token() -> str:
    return "rt_" + secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- passwords --------------------------------------------------------------

_password_hash = PasswordHash((Argon2Hasher(),))
_DUMMY_HASH = _password_hash.hash("bangkom-dummy-password-for-timing")


def hash_password(password: str) -> str:
    return _password_hash.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Constant-ish time: an unknown user is checked against a dummy hash."""
    if password_hash is None:
        _password_hash.verify(password, _DUMMY_HASH)
        return False
    try:
        return bool(_password_hash.verify(password, password_hash))
    except Exception:
        return False
