"""The key that signs certificates, and every public key a certificate may name.

Configured (``BANGKOM_CERTIFICATE_SIGNING_KEY``, required in production): that key signs.
Not configured (development, tests, the demo): one key is generated the first time a
certificate is issued and kept in ``certificate_key`` under the fixed kid ``GENERATED_KID``
(the primary key makes it one row, whoever issues first), so every worker and every restart signs with the same key and verifies the
certificates already issued. Never a per-process key: it would leave yesterday's
certificates unverifiable.

Every signing key's public half is recorded in ``certificate_key`` when it first signs, so
after a key rotation ``/.well-known/jwks.json`` still publishes the old ``kid``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from app.core.config import get_settings
from app.core.security import (
    CERTIFICATE_ALGORITHM,
    CertificateSigner,
    certificate_signer,
    new_certificate_key_pem,
)
from app.models.certificate import CertificateKey

GENERATED_KID = "bangkom-generated-1"


def insert_once(session: Session, row: SQLModel) -> bool:
    """Insert ``row`` in a savepoint; False when a concurrent transaction got there first."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


def signer(session: Session) -> CertificateSigner:
    """The signer for certificates issued now (recording its public key once)."""
    settings = get_settings()
    if settings.certificate_signing_key:
        configured = certificate_signer(settings.certificate_signing_key, settings.certificate_kid)
        if session.get(CertificateKey, configured.kid) is None:
            insert_once(
                session,
                CertificateKey(
                    kid=configured.kid,
                    algorithm=CERTIFICATE_ALGORITHM,
                    public_jwk=configured.public_jwk,
                ),
            )
        return configured
    generated = _generated(session)
    if generated is None:
        fresh = certificate_signer(new_certificate_key_pem(), GENERATED_KID)
        insert_once(
            session,
            CertificateKey(
                kid=fresh.kid,
                algorithm=CERTIFICATE_ALGORITHM,
                public_jwk=fresh.public_jwk,
                private_pem=fresh.private_pem,
                generated=True,
            ),
        )
        generated = _generated(session)  # ours, or the one a concurrent first issue made
    assert generated is not None and generated.private_pem is not None
    return certificate_signer(generated.private_pem, generated.kid)


def _generated(session: Session) -> CertificateKey | None:
    return session.get(CertificateKey, GENERATED_KID, populate_existing=True)


def public_keys(session: Session) -> list[dict[str, Any]]:
    """Every certificate key's public JWK: the configured one and all that ever signed."""
    keys = {row.kid: row.public_jwk for row in session.exec(select(CertificateKey))}
    settings = get_settings()
    if settings.certificate_signing_key:
        configured = certificate_signer(settings.certificate_signing_key, settings.certificate_kid)
        keys.setdefault(configured.kid, configured.public_jwk)
    return [dict(jwk) for _, jwk in sorted(keys.items())]
