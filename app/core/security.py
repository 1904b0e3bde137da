"""Tokens, certificate signatures and passwords. The only module that imports ``jose``.

Access tokens are JWTs signed with exactly one configured algorithm (HS256 by
default, or RS256/ES256 with a PEM private key, whose public half is served as
a JWKS). Decoding requires ``exp``, ``iat``, ``iss`` and ``aud`` and refuses
every other algorithm. Refresh tokens are opaque random strings stored hashed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import ExpiredSignatureError, JWSError, JWTError, jwk, jws, jwt
from jose.exceptions import JWTClaimsError
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from app.core.config import Settings, get_settings

IAT_LEEWAY_SECONDS = 60


class TokenError(Exception):
    """The bearer token is missing, malformed, expired or not ours.

    ``detail`` and ``detail_id`` say what is wrong in English and Indonesian, in our
    words: library messages (which can quote decoder internals) are never shown.
    """

    def __init__(self, detail: str, detail_id: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.detail_id = detail_id


# What is wrong, (English, Indonesian); each completes "The access token is not valid: ...".
_MALFORMED = (
    "it is not a JWT in compact form (three base64url parts without padding, joined by dots)",
    "token bukan JWT berbentuk ringkas (tiga bagian base64url tanpa padding, dipisah titik)",
)
_BAD_SIGNATURE = (
    "its signature or encoding does not check out; log in again for a new token",
    "tanda tangan atau enkodingnya tidak cocok; masuk lagi untuk mendapat token baru",
)
_EXPIRED = (
    "it has expired; get a new one with your refresh token or log in again",
    "token sudah kedaluwarsa; minta yang baru dengan refresh token atau masuk lagi",
)
_NOT_OURS = (
    "it was not issued for this API (issuer, audience or subject is wrong or missing)",
    "token tidak diterbitkan untuk API ini (penerbit, audiens, atau subjek salah atau kosong)",
)
_BAD_CLAIMS = (
    "its claims are malformed (exp, iat and nbf must be numbers; agency, roles and gen valid)",
    "klaimnya tidak sah (exp, iat, dan nbf harus angka; agency, roles, dan gen harus valid)",
)
_FUTURE = (
    "it was issued in the future; check the clock of the system that made it",
    "token diterbitkan di masa depan; periksa jam sistem yang membuatnya",
)
_CRIT = (
    "its header names critical extensions ('crit') this API does not support",
    "headernya memuat ekstensi kritis ('crit') yang tidak didukung API ini",
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a person or an integration client (``cli_...``) acting for one agency."""

    subject: str
    agency_id: str
    roles: frozenset[str] = field(default_factory=frozenset)
    scopes: frozenset[str] = field(default_factory=frozenset)
    token_id: str | None = None
    issued_at: int | None = None
    # The account's token generation when the token was issued (``gen`` claim).
    generation: int = 0
    # A learner login's learner record, read with the account state (not a token claim):
    # see app/services/auth.check_principal. None for staff and for unchecked tokens.
    learner_id: str | None = None
    # An integration client's requests a minute (None: the server default); set by the
    # per-request check (app/services/client_auth.py), not a token claim.
    rate_limit: int | None = None

    @property
    def is_client(self) -> bool:
        """An integration client (client_credentials), limited by its scopes."""
        return self.subject.startswith("cli_")

    @property
    def is_platform_admin(self) -> bool:
        return "platform_admin" in self.roles

    @property
    def is_learner(self) -> bool:
        """A learner's own login: sees their learner record and the public catalogue only."""
        return "learner" in self.roles and not self.is_platform_admin

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
        "gen": principal.generation,
    }
    headers = {"kid": keys.kid} if keys.kid else None
    return jwt.encode(claims, keys.signing_key, algorithm=keys.algorithm, headers=headers), ttl


# Verified tokens: token -> (principal, exp). A JWT cannot change, so once its signature
# and claims checked out it stays valid until ``exp``; this skips ~40-80 us of crypto per
# request. Whether the account may still act is checked per request elsewhere
# (app.services.auth), not here.
_verified: dict[tuple[str, str, str, str, str], tuple[Principal, float]] = {}
_VERIFIED_MAX = 8192


_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def _b64decode_canonical(segment: str) -> bytes:
    """The bytes of one base64url segment, or TokenError if the text is not their only spelling.

    Unpadded base64url of length 4n+1 is impossible, and the unused low bits of the last
    character must be zero: otherwise several texts decode to the same bytes.
    """
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise TokenError(*_MALFORMED) from None
    if base64.urlsafe_b64encode(raw).decode().rstrip("=") != segment:
        raise TokenError(*_MALFORMED)
    return raw


def _check_compact(token: str) -> None:
    """Accept only the canonical compact form, before any cache or library sees the token.

    Caches, logs and deny lists are keyed on the token text; one token must have one text.
    """
    if len(token) > 8192 or not _COMPACT.fullmatch(token):
        raise TokenError(*_MALFORMED)
    header_b64, payload_b64, signature_b64 = token.split(".")
    _b64decode_canonical(signature_b64)
    _b64decode_canonical(payload_b64)
    try:
        header = json.loads(_b64decode_canonical(header_b64))
    except (UnicodeDecodeError, ValueError):
        raise TokenError(*_MALFORMED) from None
    if not isinstance(header, dict):
        raise TokenError(*_MALFORMED)
    if "crit" in header:  # RFC 7515 §4.1.11: we understand no extension, so refuse
        raise TokenError(*_CRIT)


def _numeric(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def decode_access_token(token: str, *, settings: Settings | None = None) -> Principal:
    settings = settings or get_settings()
    keys = keys_for(settings)
    key = (token, keys.algorithm, keys.verifying_key, settings.jwt_issuer, settings.jwt_audience)
    hit = _verified.get(key)
    if hit is not None:
        if hit[1] > time.time():
            return hit[0]
        del _verified[key]
    _check_compact(token)  # only canonical texts get in, so a hit was checked already
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
    except ExpiredSignatureError:
        raise TokenError(*_EXPIRED) from None
    except JWTClaimsError:
        raise TokenError(*_NOT_OURS) from None
    except JWTError:
        raise TokenError(*_BAD_SIGNATURE) from None
    iat, exp = claims.get("iat"), claims.get("exp")
    if not (_numeric(iat) and _numeric(exp)) or ("nbf" in claims and not _numeric(claims["nbf"])):
        raise TokenError(*_BAD_CLAIMS)
    assert isinstance(iat, int | float) and isinstance(exp, int | float)
    if exp <= time.time():  # a string exp may have slipped past the library's check
        raise TokenError(*_EXPIRED)
    if iat > time.time() + IAT_LEEWAY_SECONDS:
        raise TokenError(*_FUTURE)
    agency = claims.get("agency")
    roles = claims.get("roles", [])
    scope = claims.get("scope", "")
    generation = claims.get("gen", 0)
    if (
        not isinstance(agency, str)
        or not isinstance(roles, list)
        or not isinstance(scope, str)
        or not isinstance(claims["sub"], str)
        or not isinstance(generation, int)
        or isinstance(generation, bool)
    ):
        raise TokenError(*_BAD_CLAIMS)
    principal = Principal(
        subject=str(claims["sub"]),
        agency_id=agency,
        roles=frozenset(str(r) for r in roles),
        scopes=frozenset(scope.split()),
        token_id=claims.get("jti"),
        issued_at=int(iat),
        generation=generation,
    )
    return principal, float(exp)


# --- certificate signatures --------------------------------------------------------
# Certificates are signed with a key of their own (ES256), never the access-token key: a
# certificate outlives any token and its key is published for anyone to check it with.

CERTIFICATE_ALGORITHM = "ES256"


@dataclass(frozen=True)
class CertificateSigner:
    kid: str
    private_pem: str = field(repr=False)
    public_jwk: dict[str, Any]


def new_certificate_key_pem() -> str:
    """A fresh EC P-256 private key (PKCS#8 PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@lru_cache(maxsize=8)
def certificate_signer(private_pem: str, kid: str | None = None) -> CertificateSigner:
    """The signer of ``private_pem``; ``kid`` defaults to a digest of the public key."""
    private = serialization.load_pem_private_key(private_pem.encode(), password=None)
    public = private.public_key()
    public_pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    kid = kid or "crt-" + base64.urlsafe_b64encode(
        hashlib.sha256(der).digest()[:12]
    ).decode().rstrip("=")
    public_jwk = jwk.construct(public_pem, CERTIFICATE_ALGORITHM).to_dict()
    public_jwk.update({"kid": kid, "use": "sig", "alg": CERTIFICATE_ALGORITHM})
    return CertificateSigner(kid, private_pem, public_jwk)


def sign_certificate(claims: dict[str, Any], signer: CertificateSigner) -> str:
    """The compact JWS of ``claims`` (header: alg ES256, typ JWT, kid)."""
    token: str = jws.sign(
        claims,
        signer.private_pem,
        headers={"kid": signer.kid, "typ": "JWT"},
        algorithm=CERTIFICATE_ALGORITHM,
    )
    return token


_CERT_UNKNOWN_KEY = (
    "it names a key id (kid) that is not among the published keys",
    "token menyebut id kunci (kid) yang tidak termasuk kunci yang dipublikasikan",
)


def verify_certificate(token: str, public_jwks: list[dict[str, Any]]) -> dict[str, Any]:
    """The claims of a certificate JWS signed by one of ``public_jwks`` (ES256 only), or
    TokenError when it was altered, is malformed or names an unknown key."""
    _check_compact(token)
    header = json.loads(_b64decode_canonical(token.split(".")[0]))
    key = next((k for k in public_jwks if k.get("kid") == header.get("kid")), None)
    if key is None:
        raise TokenError(*_CERT_UNKNOWN_KEY)
    try:
        payload = jws.verify(token, key, algorithms=[CERTIFICATE_ALGORITHM])
        claims = json.loads(payload)
    except (JWSError, ValueError):
        raise TokenError(*_BAD_SIGNATURE) from None
    if not isinstance(claims, dict):
        raise TokenError(*_BAD_CLAIMS)
    return claims


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
