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

from sqlalchemy import and_, delete, func, update
from sqlalchemy import select as sa_select
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
from app.services.client_auth import (
    ClientState,
    check_client,
    is_client_subject,
    load_client_state,
)

# Grants the token endpoint knows (client_credentials: app/services/client_auth.py).
SUPPORTED_GRANTS = ("password", "refresh_token", "client_credentials")


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


_BAD_LOGIN = (
    "The email or password is wrong, or the account is disabled. Check both and try again.",
    "Email atau kata sandi salah, atau akunnya dinonaktifkan. Periksa keduanya lalu coba lagi.",
)


# --- throttling -----------------------------------------------------------------
#
# Every login attempt is a row, written and committed *before* the password is checked;
# then the attempts in the window are counted, this one included. Attempt k (in commit
# order) sees at least k rows, so however many run in parallel at most ``limit`` of them
# get past the count: no lock is held, on either engine, while Argon2 runs. An attempt
# refused here removes its row again (it was never evaluated); a failed one keeps it; a
# successful login removes the rows of its account and address.
#
# Three limits, so that a guesser is stopped long before the owner is:
#   account + address  (5)  the guesser's own address is blocked for that account;
#   account           (100) a cap against guessing from many addresses;
#   address            (50) a cap against spraying many accounts from one address.
# The address is the TCP peer, or what a proxy named in BANGKOM_TRUSTED_PROXIES forwards.


def _limits(email: str, address: str, settings: Settings) -> list[tuple[Any, int]]:
    by_email = col(LoginAttempt.email_normalized) == email
    by_address = col(LoginAttempt.address) == address
    return [
        (and_(by_email, by_address), settings.login_max_failures_per_account_address),
        (by_email, settings.login_max_failures_per_account),
        (by_address, settings.login_max_failures_per_address),
    ]


def _count(session: Session, where: Any, since: datetime, cap: int) -> int:
    """Attempts matching ``where`` since ``since``, counting no further than ``cap``."""
    recent = (
        select(LoginAttempt.id)
        .where(where, col(LoginAttempt.created_at) >= since)
        .limit(cap)
        .subquery()
    )
    return int(session.exec(select(func.count()).select_from(recent)).one())


def _retry_after(session: Session, where: Any, limit: int, now: datetime, window: int) -> int:
    """Seconds until fewer than ``limit`` attempts remain in the window (at least 1)."""
    since = now - timedelta(seconds=window)
    newest = session.exec(
        select(LoginAttempt.created_at)
        .where(where, col(LoginAttempt.created_at) >= since)
        .order_by(col(LoginAttempt.created_at).desc())
        .limit(limit)
    ).all()
    if len(newest) < limit:
        return 1
    return max(1, math.ceil((newest[-1] + timedelta(seconds=window) - now).total_seconds()))


def reserve_attempt(*, session: Session, email: str, address: str, settings: Settings) -> None:
    """Count this login attempt, or answer 429 with Retry-After when a limit is reached.

    Commits: the attempt is recorded before the password is checked (see above).
    """
    address = address[:64]
    now, window = utcnow(), settings.login_window_seconds
    since = now - timedelta(seconds=window)
    session.exec(delete(LoginAttempt).where(col(LoginAttempt.created_at) < since))
    attempt = LoginAttempt(email_normalized=email, address=address, created_at=now)
    session.add(attempt)
    session.commit()
    limits = _limits(email, address, settings)
    exceeded = [(w, n) for w, n in limits if _count(session, w, since, n + 1) > n]
    if not exceeded:
        session.commit()  # end the read transaction: no lock held while Argon2 runs
        return
    session.exec(delete(LoginAttempt).where(col(LoginAttempt.id) == attempt.id))
    session.commit()
    wait = max(_retry_after(session, w, n, now, window) for w, n in exceeded)
    session.commit()
    raise ProblemError(
        429,
        "too_many_requests",
        f"Too many failed logins; try again in {wait} seconds.",
        detail_id=f"Terlalu banyak percobaan masuk gagal; coba lagi dalam {wait} detik.",
        headers={"Retry-After": str(wait), "Cache-Control": "no-store"},
    )


# --- grants -----------------------------------------------------------------------


def _issue(session: Session, user: User, *, family_id: str, settings: Settings) -> TokenResponse:
    principal = Principal(
        subject=user.id,
        agency_id=user.agency_id,
        roles=frozenset(user.roles),
        generation=user.token_generation,
    )
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
    reserve_attempt(session=session, email=email, address=address, settings=settings)
    found = _user_with_agency(session, col(User.email_normalized) == email)
    session.commit()  # end the read transaction: no lock held while Argon2 runs
    user, agency = found if found else (None, None)
    too_long = len(password) > MAX_PASSWORD_LENGTH  # never hash megabytes
    ok = verify_password(password if not too_long else "", user.password_hash if user else None)
    ok = ok and not too_long
    if not ok or user is None or agency is None or not (user.is_active and agency.is_active):
        raise _invalid_grant(*_BAD_LOGIN)  # the attempt stays counted
    session.exec(
        delete(LoginAttempt).where(
            col(LoginAttempt.email_normalized) == email, col(LoginAttempt.address) == address[:64]
        )
    )
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
            "The refresh token is not valid; log in again.",
            "Refresh token tidak sah; masuk lagi.",
        )
    if token.used_at is not None:
        revoke_family(session, token.family_id)
        session.commit()
        raise _invalid_grant(
            "The refresh token was already used; every token of this login is now revoked. "
            "Log in again.",
            "Refresh token ini sudah pernah dipakai; semua token dari login ini kini dicabut. "
            "Masuk lagi.",
        )
    if token.revoked_at is not None or token.expires_at <= utcnow():
        raise _invalid_grant(
            "The refresh token is revoked or expired; log in again.",
            "Refresh token sudah dicabut atau kedaluwarsa; masuk lagi.",
        )
    found = _user_with_agency(session, col(User.id) == token.user_id)
    if found is None or not (found[0].is_active and found[1].is_active):
        revoke_family(session, token.family_id)
        session.commit()
        raise _invalid_grant(
            "The account is disabled; ask your agency admin to enable it.",
            "Akun dinonaktifkan; minta admin instansi Anda untuk mengaktifkannya.",
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
            "Token akses tidak dapat dicabut; token itu kedaluwarsa sendiri. Cabut refresh token.",
        )
    row = session.exec(
        select(RefreshToken).where(col(RefreshToken.token_hash) == hash_refresh_token(token))
    ).first()
    if row is not None:
        revoke_family(session, row.family_id)
        session.commit()


# --- every authenticated request ----------------------------------------------------


# active, agency, roles, generation, learner (learner logins)
_UserState = tuple[bool, str, frozenset[str], int, str | None]
# Integration clients (subject ``cli_...``) have a state of their own: ClientState.
_AccountState = _UserState | ClientState
_account_cache: dict[str, tuple[float, _AccountState | None]] = {}


def forget_account(user_id: str | None = None) -> None:
    """Drop cached account states (one user, or all) after a change in this process."""
    if user_id is None:
        _account_cache.clear()
    else:
        _account_cache.pop(user_id, None)


REFRESH_AHEAD = 0.2  # of the ttl: a state this close to expiring is read again, unawaited


def cached_account_state(user_id: str, ttl: float) -> tuple[bool, _AccountState | None, bool]:
    """(hit, state, due) from this worker's cache; no database work. ``due``: a hit in the
    last fifth of its ttl, to be read again in the background (app/deps.py) so that a busy
    token's requests never wait for the read at expiry."""
    if ttl <= 0:
        return False, None, False
    cached = _account_cache.get(user_id)
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        return True, cached[1], cached[0] - now < ttl * REFRESH_AHEAD
    return False, None, False


def load_account_state(session: Session, user_id: str, ttl: float) -> _AccountState | None:
    """Read the account's state (one indexed join) and remember it for ``ttl`` seconds."""
    state: _AccountState | None
    if is_client_subject(user_id):
        state = load_client_state(session, user_id)
    else:
        state = _load_user_state(session, user_id)
    if ttl > 0:
        if len(_account_cache) > 10_000:
            _account_cache.clear()
        _account_cache[user_id] = (time.monotonic() + ttl, state)
    return state


def _load_user_state(session: Session, user_id: str) -> _UserState | None:
    row = session.execute(
        sa_select(
            col(User.is_active),
            col(User.agency_id),
            col(User.roles),
            col(User.token_generation),
            col(User.learner_id),
        )
        .join(Agency, col(Agency.id) == col(User.agency_id))
        .where(col(User.id) == user_id, col(Agency.is_active).is_(True))
    ).first()
    if row is None:  # no such user, or their agency is disabled
        return None
    active, agency_id, roles, generation, learner_id = row
    return (active, agency_id, frozenset(roles), generation, learner_id)


def is_user_principal(principal: Principal) -> bool:
    return principal.subject.startswith("usr_")


def check_principal(
    principal: Principal, state: _AccountState | None, *, address: str | None = None
) -> Principal | None:
    """The principal if its account still may act (None: refuse the token).

    A disabled user or agency, or a password changed after the token was issued (the
    account's token generation moved past the token's ``gen``; no clock involved), ends
    the token: at once in the process that made the change, within
    ``auth_recheck_seconds`` in other workers (0: one primary-key lookup per request).
    Roles removed since the token was issued are dropped.
    """
    if isinstance(state, ClientState):
        return check_client(principal, state, address=address)
    if state is None or not is_user_principal(principal):
        return None
    active, agency_id, roles, generation, learner_id = state
    if not active or agency_id != principal.agency_id or principal.generation != generation:
        return None
    return dataclasses.replace(principal, roles=principal.roles & roles, learner_id=learner_id)
