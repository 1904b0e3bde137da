"""Learner logins: an account with the role ``learner`` bound to one learner record.

Made by an admin of the learner's home agency (``POST /v1/users`` with
``roles: ["learner"]`` and ``learner_key``), or by the learner with an invitation the
admin issued (``POST /v1/learners/{key}/invitations``, then the anonymous
``POST /v1/auth/invitations/accept``). One login per learner (``user.learner_id`` is
unique). The login follows the learner record: its ``agency_id`` is the learner's home
agency, also after a transfer (app/services/learning/transfers.py); disabling that agency
disables the login as it does every account of the agency.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlmodel import Session, col, select, update

from app.core.db import commit_or_409
from app.core.errors import ProblemError
from app.core.security import Principal, hash_password, hash_refresh_token
from app.models import Learner, User
from app.models.base import utcnow
from app.models.invitation import InvitationAccept, InvitationPublic, LearnerInvitation
from app.models.user import Role, UserCreate, normalize_email, password_problem
from app.services.learning import learners as core
from app.services.learning.keys import parse_key
from app.services.validation import email_taken, invalid
from app.services.visibility import owns

INVITATION_TTL = timedelta(days=7)
ACCEPT_PATH = "/v1/auth/invitations/accept"


def _has_login(key: str) -> ProblemError:
    return ProblemError(
        409,
        "learner_has_login",
        f"The learner {key} already has a login; a learner has one. Change or disable that "
        "account through /v1/users instead.",
        detail_id=f"Peserta {key} sudah memiliki akun login; satu peserta satu akun. Ubah atau "
        "nonaktifkan akun itu melalui /v1/users.",
    )


def check_learner_roles(data: UserCreate) -> None:
    """``learner`` is a role of its own, given together with ``learner_key`` only."""
    if Role.learner in data.roles:
        if data.roles != [Role.learner]:
            raise invalid(
                "roles",
                'A learner login has the one role "learner"; send roles ["learner"] alone, '
                "or make a separate staff account.",
                'Akun login peserta hanya memiliki satu peran "learner"; kirim roles '
                '["learner"] saja, atau buat akun staf terpisah.',
            )
        if data.learner_key is None:
            raise invalid(
                "learner_key",
                "A learner login needs learner_key: the learner's NIP, pppk:<NI PPPK> or "
                "ext:<agency-slug>:<external_ref>.",
                "Akun login peserta memerlukan learner_key: NIP peserta, pppk:<NI PPPK> atau "
                "ext:<slug-instansi>:<external_ref>.",
            )
        if data.agency_id is not None:
            raise invalid(
                "agency_id",
                "Leave agency_id out for a learner login: its agency is the learner's home agency.",
                "Hilangkan agency_id untuk akun login peserta: instansinya adalah instansi asal "
                "peserta.",
            )
    elif data.learner_key is not None:
        raise invalid(
            "learner_key",
            'learner_key goes with roles ["learner"] only; leave it out for staff accounts.',
            'learner_key hanya dipakai dengan roles ["learner"]; hilangkan untuk akun staf.',
        )


def _owned_learner(
    session: Session, principal: Principal, raw_key: str, *, in_body: bool = False
) -> Learner:
    """The caller's agency's learner (platform admins: any), locked; 404 otherwise."""
    try:
        key = parse_key(raw_key, today=core.today()).key
    except ProblemError as exc:
        if in_body and exc.errors:  # the key came as learner_key in the body, not the path
            exc.errors = [{**error, "loc": ["body", "learner_key"]} for error in exc.errors]
        raise
    learner = core.by_key(session, key, for_update=True)
    if learner is None or not owns(principal, learner.agency_id):
        raise core.not_found(key)
    return learner


def _check_free(session: Session, learner: Learner) -> None:
    if session.exec(select(User.id).where(col(User.learner_id) == learner.id)).first():
        raise _has_login(learner.learner_key)


def _add_login(
    session: Session, learner: Learner, *, email: str, full_name: str, password_hash: str
) -> User:
    normalized = normalize_email(email)
    if session.exec(select(User.id).where(col(User.email_normalized) == normalized)).first():
        raise email_taken()
    user = User(
        agency_id=learner.agency_id,
        learner_id=learner.id,
        email=email,
        email_normalized=normalized,
        full_name=full_name,
        roles=[Role.learner.value],
        password_hash=password_hash,
        password_changed_at=utcnow(),
    )
    session.add(user)
    return user


def _commit_login(session: Session, learner_id: str, key: str) -> None:
    """Commit; a unique clash is the learner's login or the email, whichever now exists."""
    try:
        commit_or_409(session, email_taken())
    except ProblemError:
        if session.exec(select(User.id).where(col(User.learner_id) == learner_id)).first():
            raise _has_login(key) from None
        raise


def create_learner_login(*, session: Session, principal: Principal, data: UserCreate) -> User:
    """``POST /v1/users`` with ``roles: ["learner"]`` (checked by ``check_learner_roles``)."""
    password_hash = hash_password(data.password)  # before the write transaction starts
    learner = _owned_learner(session, principal, data.learner_key or "", in_body=True)
    _check_free(session, learner)
    name = " ".join(t for t in (learner.front_title, learner.name) if t)
    user = _add_login(
        session,
        learner,
        email=data.email,
        full_name=data.full_name or name,
        password_hash=password_hash,
    )
    _commit_login(session, learner.id, learner.learner_key)
    return user


# --- invitations --------------------------------------------------------------------


def invite(*, session: Session, principal: Principal, raw_key: str) -> InvitationPublic:
    """A new one-time token for the learner; older unused ones stop working."""
    learner = _owned_learner(session, principal, raw_key)
    _check_free(session, learner)
    now = utcnow()
    session.exec(
        update(LearnerInvitation)
        .where(
            col(LearnerInvitation.learner_id) == learner.id,
            col(LearnerInvitation.used_at).is_(None),
            col(LearnerInvitation.revoked_at).is_(None),
        )
        .values(revoked_at=now)
    )
    token = "inv_" + secrets.token_urlsafe(32)
    invitation = LearnerInvitation(
        token_hash=hash_refresh_token(token),
        learner_id=learner.id,
        created_by=principal.subject,
        expires_at=now + INVITATION_TTL,
    )
    session.add(invitation)
    session.commit()
    return InvitationPublic(
        token=token,
        accept_url=ACCEPT_PATH,
        learner_key=learner.learner_key,
        expires_at=invitation.expires_at,
    )


def _bad_token() -> ProblemError:
    """One answer for unknown, used, revoked and expired tokens: nothing is disclosed."""
    return ProblemError(
        400,
        "invalid_invitation",
        "The invitation token is not valid (unknown, already used, replaced or expired); ask "
        "your agency admin for a new invitation.",
        detail_id="Token undangan tidak sah (tidak dikenal, sudah dipakai, sudah diganti atau "
        "kedaluwarsa); minta undangan baru kepada admin instansi Anda.",
    )


def accept(*, session: Session, data: InvitationAccept) -> User:
    """Create the learner's login and consume the token, once.

    Race-safe: the invitation row is locked (``FOR UPDATE`` on PostgreSQL; SQLite has one
    writer) and marked used in the transaction that inserts the login; the unique
    ``user.learner_id`` backs it up, so of two parallel accepts one gets 201, the other 400
    or 409.
    """
    problem = password_problem(data.password, data.email)
    if problem:
        raise invalid(
            "password",
            "Choose a password that is not the email address.",
            "Pilih kata sandi yang bukan alamat email.",
        )
    password_hash = hash_password(data.password)  # before the write transaction starts
    invitation = session.exec(
        select(LearnerInvitation)
        .where(col(LearnerInvitation.token_hash) == hash_refresh_token(data.token))
        .with_for_update()
    ).first()
    if (
        invitation is None
        or invitation.used_at is not None
        or invitation.revoked_at is not None
        or invitation.expires_at <= utcnow()
    ):
        raise _bad_token()
    learner = session.get(Learner, invitation.learner_id, with_for_update=True)
    if learner is None:
        raise _bad_token()
    _check_free(session, learner)
    invitation.used_at = utcnow()
    session.add(invitation)
    name = " ".join(t for t in (learner.front_title, learner.name) if t)
    user = _add_login(
        session, learner, email=data.email, full_name=name, password_hash=password_hash
    )
    _commit_login(session, learner.id, learner.learner_key)
    return user
