"""The token endpoint's rules: password and refresh grants, revocation, login throttling.

Refresh tokens are single use and belong to a family (one login). Presenting a
used one again means it leaked: the whole family is revoked (reuse detection).
Failed logins are rows in ``login_attempt`` so the limits hold across workers.

Argon2 costs ~0.3 s; it never runs inside a write transaction (SQLite holds its
single write lock from the first statement of a write session to the commit).
"""

from __future__ import annotations

import dataclasses
import math
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from app.core.config import Settings, get_settings
from app.core.errors import ProblemError
from app.core.security import (
    Principal,
    create_access_token,
    hash_refresh_token,
    new_refresh_token,
    verify_password,
)
from app.models import Agency, LoginAttempt, RefreshToken, User
from app.models.base import new_id, utcnow
from app.models.user import MAX_PASSWORD_LENGTH, TokenResponse, normalize_email

# Grants the token endpoint knows. client_credentials (LMS integrations) comes later.
SUPPORTED_GRANTS = ("password", "refresh_token")


def oauth_error(error: str, detail: str, detail_id: str, *, status: int = 400) -> ProblemError:
    """An RFC 6749 §5.2 error, as problem+json with the OAuth ``error`` field too."""
    return ProblemError(
        status,
        error,
        detail,
        detail_id=detail_id,
        extra={"error": error, "error_description": detail},
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


def _invalid_grant(detail: str, detail_id: str) -> ProblemError:
    return oauth_error("invalid_grant", detail, detail_id)


_BAD_LOGIN = "The email or password is wrong, or the account is disabled."
_BAD_LOGIN_ID = "Email atau kata sandi salah, atau akunnya dinonaktifkan."


# --- throttling -----------------------------------------------------------------


def _retry_after(session: Session, where: Any, limit: int, now: datetime, window: int) -> int:
    """Seconds until fewer than ``limit`` failures remain in the window (0: not blocked)."""
    since = now - timedelta(seconds=window)
    newest = session.exec(
        select(LoginAttempt.created_at)
        .where(where, col(LoginAttempt.created_at) >= since)
        .order_by(col(LoginAttempt.created_at).desc())
        .limit(limit)
    ).all()
    if len(newest) < limit:
        return 0
    return max(1, math.ceil((newest[-1] + timedelta(seconds=window) - now).total_seconds()))


def check_throttle(*, session: Session, email: str, address: str, settings: Settings) -> None:
    """429 with Retry-After when the account or the client address failed too often."""
    now, window = utcnow(), settings.login_window_seconds
    wait = max(
        _retry_after(
            session,
            col(LoginAttempt.email_normalized) == email,
            settings.login_max_failures_per_account,
            now,
            window,
        ),
        _retry_after(
            session,
            col(LoginAttempt.address) == address,
            settings.login_max_failures_per_address,
            now,
            window,
        ),
    )
    if wait:
        raise ProblemError(
            429,
            "too_many_requests",
            f"Too many failed logins; try again in {wait} seconds.",
            detail_id=f"Terlalu banyak percobaan masuk gagal; coba lagi dalam {wait} detik.",
            headers={"Retry-After": str(wait), "Cache-Control": "no-store"},
        )


def _record_failure(session: Session, email: str, address: str, settings: Settings) -> None:
    now = utcnow()
    cutoff = now - timedelta(seconds=settings.login_window_seconds)
    session.exec(delete(LoginAttempt).where(col(LoginAttempt.created_at) < cutoff))
    session.add(LoginAttempt(email_normalized=email, address=address[:64], created_at=now))


# --- grants -----------------------------------------------------------------------


def _issue(session: Session, user: User, *, family_id: str, settings: Settings) -> TokenResponse:
    principal = Principal(subject=user.id, agency_id=user.agency_id, roles=frozenset(user.roles))
    access_token, ttl = create_access_token(principal, settings=settings)
    raw = new_refresh_token()
    session.add(
        RefreshToken(
            token_hash=hash_refresh_token(raw),
            family_id=family_id,
            user_id=user.id,
            agency_id=user.agency_id,
            scope="",
            expires_at=utcnow() + timedelta(seconds=settings.refresh_token_ttl_seconds),
        )
    )
    return TokenResponse(access_token=access_token, expires_in=ttl, refresh_token=raw, scope="")


def _user_with_agency(session: Session, where: Any) -> tuple[User, Agency] | None:
    row = session.exec(
        select(User, Agency).join(Agency, col(Agency.id) == col(User.agency_id)).where(where)
    ).first()
    return (row[0], row[1]) if row else None


def password_grant(
    *,
    session: Session,
    username: str,
    password: str,
    address: str,
    settings: Settings | None = None,
) -> TokenResponse:
    """Log in with email and password. Same error for a wrong email and a wrong password."""
    settings = settings or get_settings()
    email = normalize_email(username)[:254]  # the column's size; longer is no account anyway
    check_throttle(session=session, email=email, address=address, settings=settings)
    found = _user_with_agency(session, col(User.email_normalized) == email)
    session.commit()  # end the read transaction: no lock held while Argon2 runs
    user, agency = found if found else (None, None)
    too_long = len(password) > MAX_PASSWORD_LENGTH  # never hash megabytes
    ok = verify_password(password if not too_long else "", user.password_hash if user else None)
    ok = ok and not too_long
    if not ok or user is None or agency is None or not (user.is_active and agency.is_active):
        _record_failure(session, email, address, settings)
        session.commit()
        raise _invalid_grant(_BAD_LOGIN, _BAD_LOGIN_ID)
    session.exec(delete(LoginAttempt).where(col(LoginAttempt.email_normalized) == email))
    session.exec(  # expired ones are useless, even for reuse detection
        delete(RefreshToken).where(
            col(RefreshToken.user_id) == user.id, col(RefreshToken.expires_at) < utcnow()
        )
    )
    tokens = _issue(session, user, family_id=new_id("rtf"), settings=settings)
    session.commit()
    return tokens


def revoke_family(session: Session, family_id: str) -> None:
    session.exec(
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )


def revoke_user_refresh_tokens(session: Session, user_id: str) -> None:
    """Every refresh token of the user stops working (caller commits)."""
    session.exec(
        update(RefreshToken)
        .where(col(RefreshToken.user_id) == user_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )


def refresh_grant(
    *, session: Session, refresh_token: str, settings: Settings | None = None
) -> TokenResponse:
    """Exchange a refresh token for a new pair; a reused token kills its family."""
    settings = settings or get_settings()
    token = session.exec(
        select(RefreshToken)
        .where(col(RefreshToken.token_hash) == hash_refresh_token(refresh_token))
        .with_for_update()
    ).first()
    if token is None:
        raise _invalid_grant(
            "The refresh token is not valid.", "Refresh token tidak sah; masuk lagi."
        )
    if token.used_at is not None:
        revoke_family(session, token.family_id)
        session.commit()
        raise _invalid_grant(
            "The refresh token was already used; every token of this login is now revoked.",
            "Refresh token ini sudah pernah dipakai; semua token sesi masuk ini kini dicabut.",
        )
    if token.revoked_at is not None or token.expires_at <= utcnow():
        raise _invalid_grant(
            "The refresh token is revoked or expired.",
            "Refresh token sudah dicabut atau kedaluwarsa; masuk lagi.",
        )
    found = _user_with_agency(session, col(User.id) == token.user_id)
    if found is None or not (found[0].is_active and found[1].is_active):
        revoke_family(session, token.family_id)
        session.commit()
        raise _invalid_grant(
            "The account is disabled.", "Akun ini dinonaktifkan; hubungi admin instansi Anda."
        )
    token.used_at = utcnow()
    session.add(token)
    tokens = _issue(session, found[0], family_id=token.family_id, settings=settings)
    session.commit()
    return tokens


def revoke(*, session: Session, token: str, token_type_hint: str | None = None) -> None:
    """RFC 7009: revoke a refresh token and its family. Unknown tokens are not an error."""
    if token.count(".") == 2 and not token.startswith("rt_"):
        raise oauth_error(
            "unsupported_token_type",
            "Access tokens cannot be revoked; they expire on their own. Revoke the refresh token.",
            "Access token tidak dapat dicabut; ia kedaluwarsa sendiri. Cabut refresh token-nya.",
        )
    row = session.exec(
        select(RefreshToken).where(col(RefreshToken.token_hash) == hash_refresh_token(token))
    ).first()
    if row is not None:
        revoke_family(session, row.family_id)
        session.commit()


# --- every authenticated request ----------------------------------------------------


_AccountState = tuple[bool, str, frozenset[str], int]  # active, agency, roles, pw changed at
_account_cache: dict[str, tuple[float, _AccountState | None]] = {}


def forget_account(user_id: str | None = None) -> None:
    """Drop cached account states (one user, or all) after a change in this process."""
    if user_id is None:
        _account_cache.clear()
    else:
        _account_cache.pop(user_id, None)


def cached_account_state(user_id: str, ttl: float) -> tuple[bool, _AccountState | None]:
    """(hit, state) from this worker's cache; no database work."""
    if ttl <= 0:
        return False, None
    cached = _account_cache.get(user_id)
    if cached is not None and cached[0] > time.monotonic():
        return True, cached[1]
    return False, None


def load_account_state(session: Session, user_id: str, ttl: float) -> _AccountState | None:
    """Read the account's state (one indexed join) and remember it for ``ttl`` seconds."""
    row = session.exec(
        select(
            User.is_active,
            User.agency_id,
            User.roles,
            User.password_changed_at,
        )
        .join(Agency, col(Agency.id) == col(User.agency_id))
        .where(col(User.id) == user_id, col(Agency.is_active).is_(True))
    ).first()
    state: _AccountState | None = None
    if row is not None:  # None: no such user, or their agency is disabled
        active, agency_id, roles, changed_at = row
        changed = int(changed_at.timestamp()) if changed_at is not None else 0
        state = (active, agency_id, frozenset(roles), changed)
    if ttl > 0:
        if len(_account_cache) > 10_000:
            _account_cache.clear()
        _account_cache[user_id] = (time.monotonic() + ttl, state)
    return state


def is_user_principal(principal: Principal) -> bool:
    return principal.subject.startswith("usr_")  # LMS clients (client_credentials) come later


def check_principal(principal: Principal, state: _AccountState | None) -> Principal | None:
    """The principal if its account still may act (None: refuse the token).

    A disabled user or agency, or a password changed after the token was issued, ends
    the token: at once in the process that made the change, within
    ``auth_recheck_seconds`` in other workers (0: one primary-key lookup per request).
    Roles removed since the token was issued are dropped.
    """
    if state is None or not is_user_principal(principal):
        return None
    active, agency_id, roles, changed_at = state
    if not active or agency_id != principal.agency_id:
        return None
    if (principal.issued_at or 0) < changed_at:
        return None
    return dataclasses.replace(principal, roles=principal.roles & roles)


def verify_principal(
    *, session: Session, principal: Principal, settings: Settings | None = None
) -> Principal | None:
    """``check_principal`` with the account state from the cache or the database."""
    if not is_user_principal(principal):
        return None
    ttl = (settings or get_settings()).auth_recheck_seconds
    hit, state = cached_account_state(principal.subject, ttl)
    if not hit:
        state = load_account_state(session, principal.subject, ttl)
    return check_principal(principal, state)
