"""Users: agency admins manage their agency's people; everyone may change their own password."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.core.db import commit_or_409
from app.core.errors import ProblemError, not_found
from app.core.pagination import since_page
from app.core.security import Principal, hash_password, verify_password
from app.models import Agency, User
from app.models.base import utcnow
from app.models.user import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    PasswordChange,
    Role,
    UserCreate,
    UserUpdate,
    normalize_email,
    password_problem,
)
from app.services.auth import forget_account, revoke_user_refresh_tokens
from app.services.learning import learner_accounts
from app.services.oneroster import tombstones
from app.services.tenancy import get_owned, scoped
from app.services.validation import email_taken


def _forbidden(detail: str, detail_id: str) -> ProblemError:
    return ProblemError(403, "forbidden", detail, detail_id=detail_id)


_PROBLEM_ID = {  # app.models.user.password_problem, in Indonesian
    f"must have at least {MIN_PASSWORD_LENGTH} characters": (
        f"harus terdiri dari sedikitnya {MIN_PASSWORD_LENGTH} karakter"
    ),
    f"must have at most {MAX_PASSWORD_LENGTH} characters": (
        f"harus terdiri dari paling banyak {MAX_PASSWORD_LENGTH} karakter"
    ),
    "must not be the email address": "tidak boleh sama dengan alamat email",
}


def _is_manager(principal: Principal) -> bool:
    return principal.has_role(Role.agency_admin)


def _visible(statement: SelectOfScalar[User], principal: Principal) -> SelectOfScalar[User]:
    """Admins see their agency (platform admins all); everyone else only themselves."""
    statement = scoped(statement, User, principal)
    if not _is_manager(principal):
        statement = statement.where(col(User.id) == principal.subject)
    return statement


def list_users(
    *,
    session: Session,
    principal: Principal,
    limit: int,
    cursor: str | None,
    agency_id: str | None = None,
    updated_since: datetime | None = None,
) -> tuple[list[User], str | None]:
    statement = _visible(select(User), principal)
    if agency_id is not None:
        statement = statement.where(col(User.agency_id) == agency_id)
    return since_page(
        session, statement, User, limit=limit, cursor=cursor, updated_since=updated_since
    )


def get_user(
    *, session: Session, principal: Principal, user_id: str, for_update: bool = False
) -> User:
    statement = _visible(select(User).where(col(User.id) == user_id), principal)
    if for_update:
        statement = statement.with_for_update()
    user = session.exec(statement).first()
    if user is None:
        raise not_found("user", user_id)
    return user


def _check_grantable(principal: Principal, roles: list[Role]) -> None:
    if Role.platform_admin in roles and not principal.is_platform_admin:
        raise _forbidden(
            "Only platform admins can grant the platform_admin role.",
            "Hanya admin platform yang dapat memberikan peran platform_admin.",
        )


def _check_learner_roles(user: User, roles: list[Role]) -> None:
    """A learner login keeps the one role ``learner``; staff never get it."""
    if (user.learner_id is not None) != (Role.learner in roles) or (
        Role.learner in roles and len(roles) > 1
    ):
        raise ProblemError(
            422,
            "validation_error",
            'The learner role is a login of its own: a learner login keeps roles ["learner"] '
            "and staff accounts cannot get it; create a learner login with POST /v1/users "
            "and learner_key.",
            detail_id="Peran learner adalah akun login tersendiri: akun peserta tetap "
            'memiliki roles ["learner"] dan akun staf tidak dapat menerimanya; buat akun '
            "peserta dengan POST /v1/users dan learner_key.",
            errors=[
                {
                    "loc": ["body", "roles"],
                    "msg": 'must be ["learner"] for a learner login and must not include '
                    "learner otherwise",
                    "msg_id": 'harus ["learner"] untuk akun peserta dan tidak boleh memuat '
                    "learner untuk akun lain",
                    "type": "value_error",
                }
            ],
        )


def create_user(*, session: Session, principal: Principal, data: UserCreate) -> User:
    _check_grantable(principal, data.roles)
    learner_accounts.check_learner_roles(data)
    if data.learner_key is not None:
        return learner_accounts.create_learner_login(
            session=session, principal=principal, data=data
        )
    agency_id = data.agency_id or principal.agency_id
    password_hash = hash_password(data.password)  # before the write transaction starts
    get_owned(session, Agency, agency_id, principal, what="agency")
    email = normalize_email(data.email)
    if session.exec(select(User.id).where(col(User.email_normalized) == email)).first():
        raise email_taken()
    user = User(
        agency_id=agency_id,
        email=data.email,
        email_normalized=email,
        full_name=data.full_name,
        roles=[str(r) for r in data.roles],
        password_hash=password_hash,
        password_changed_at=utcnow(),
    )
    session.add(user)
    commit_or_409(session, email_taken())
    return user


def update_user(*, session: Session, principal: Principal, user_id: str, data: UserUpdate) -> User:
    user = get_user(session=session, principal=principal, user_id=user_id, for_update=True)
    changes = data.model_dump(exclude_unset=True)
    if any(value is None for value in changes.values()):
        raise ProblemError(
            422,
            "validation_error",
            "Fields cannot be set to null; leave out the ones you do not change.",
            detail_id="Kolom tidak boleh diisi null; hilangkan kolom yang tidak diubah.",
        )
    if "platform_admin" in user.roles and not principal.is_platform_admin:
        raise _forbidden(
            "Only platform admins can change a platform admin.",
            "Hanya admin platform yang dapat mengubah admin platform.",
        )
    if "roles" in changes:
        _check_grantable(principal, data.roles or [])
        _check_learner_roles(user, data.roles or [])
        changes["roles"] = [str(r) for r in data.roles or []]
    if changes.get("is_active") is False and user.id == principal.subject:
        raise ProblemError(
            409,
            "cannot_disable_self",
            "You cannot disable your own account.",
            detail_id="Anda tidak dapat menonaktifkan akun Anda sendiri.",
        )
    roles_before = list(user.roles)
    for key, value in changes.items():
        setattr(user, key, value)
    tombstones.roles_changed(session, user=user, before=roles_before)  # OneRoster teachers
    if changes:
        if changes.get("is_active") is False:
            revoke_user_refresh_tokens(session, user.id)
            user.token_generation += 1  # re-enabling must not revive the old tokens
        user.updated_at = utcnow()
        session.add(user)
        session.commit()
        forget_account(user.id)
    return user


def change_password(
    *, session: Session, principal: Principal, user_id: str, data: PasswordChange
) -> None:
    """Your own password needs the current one; an admin may set one for their agency's users."""
    user = get_user(session=session, principal=principal, user_id=user_id)
    session.commit()  # no lock held while Argon2 runs
    own = user.id == principal.subject
    if own:
        if data.current_password is None or not verify_password(
            data.current_password, user.password_hash
        ):
            raise ProblemError(
                422,
                "wrong_password",
                "The current password is wrong; send your current password in current_password.",
                detail_id="Kata sandi saat ini salah; kirim kata sandi Anda yang sekarang pada "
                "current_password.",
                errors=[
                    {
                        "loc": ["body", "current_password"],
                        "msg": "is wrong; type your current password",
                        "msg_id": "salah; ketik kata sandi Anda saat ini",
                        "type": "invalid",
                    }
                ],
            )
    elif "platform_admin" in user.roles and not principal.is_platform_admin:
        raise _forbidden(
            "Only platform admins can change a platform admin.",
            "Hanya admin platform yang dapat mengubah admin platform.",
        )
    problem = password_problem(data.new_password, user.email)
    if problem:
        raise ProblemError(
            422,
            "validation_error",
            f"new_password {problem}; choose another.",
            detail_id=f"new_password {_PROBLEM_ID.get(problem, problem)}; pilih yang lain.",
            errors=[
                {
                    "loc": ["body", "new_password"],
                    "msg": problem,
                    "msg_id": _PROBLEM_ID.get(problem, problem),
                    "type": "password_policy",
                }
            ],
        )
    new_hash = hash_password(data.new_password)
    user = get_user(session=session, principal=principal, user_id=user_id, for_update=True)
    user.password_hash = new_hash
    user.password_changed_at = user.updated_at = utcnow()
    user.token_generation += 1  # every token issued before is refused, whatever the clock
    session.add(user)
    revoke_user_refresh_tokens(session, user.id)
    session.commit()
    forget_account(user.id)
