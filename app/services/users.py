"""Users: agency admins manage their agency's people; everyone may change their own password."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.core.errors import ProblemError, not_found
from app.core.pagination import id_page
from app.core.security import Principal, hash_password, verify_password
from app.models import Agency, User
from app.models.base import utcnow
from app.models.user import (
    PasswordChange,
    Role,
    UserCreate,
    UserUpdate,
    normalize_email,
    password_problem,
)
from app.services.auth import forget_account, revoke_user_refresh_tokens
from app.services.tenancy import get_owned, scoped

DEMO_PASSWORD = "bangkom-demo"


def _forbidden(detail: str, detail_id: str) -> ProblemError:
    return ProblemError(403, "forbidden", detail, detail_id=detail_id)


def _email_taken(email: str) -> ProblemError:
    return ProblemError(
        409,
        "email_taken",
        f"A user with email {email} already exists.",
        detail_id=f"Pengguna dengan email {email} sudah ada.",
    )


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
) -> tuple[list[User], str | None]:
    statement = _visible(select(User), principal)
    if agency_id is not None:
        statement = statement.where(col(User.agency_id) == agency_id)
    return id_page(session, statement, User, limit=limit, cursor=cursor)


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


def create_user(*, session: Session, principal: Principal, data: UserCreate) -> User:
    _check_grantable(principal, data.roles)
    agency_id = data.agency_id or principal.agency_id
    password_hash = hash_password(data.password)  # before the write transaction starts
    get_owned(session, Agency, agency_id, principal, what="agency")
    email = normalize_email(data.email)
    if session.exec(select(User.id).where(col(User.email_normalized) == email)).first():
        raise _email_taken(data.email)
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
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise _email_taken(data.email) from exc
    return user


def update_user(*, session: Session, principal: Principal, user_id: str, data: UserUpdate) -> User:
    user = get_user(session=session, principal=principal, user_id=user_id, for_update=True)
    changes = data.model_dump(exclude_unset=True)
    if any(value is None for value in changes.values()):
        raise ProblemError(
            422,
            "validation_error",
            "Fields cannot be set to null.",
            detail_id="Isian tidak boleh diisi null.",
        )
    if "platform_admin" in user.roles and not principal.is_platform_admin:
        raise _forbidden(
            "Only platform admins can change a platform admin.",
            "Hanya admin platform yang dapat mengubah admin platform.",
        )
    if "roles" in changes:
        _check_grantable(principal, data.roles or [])
        changes["roles"] = [str(r) for r in data.roles or []]
    if changes.get("is_active") is False and user.id == principal.subject:
        raise ProblemError(
            409,
            "cannot_disable_self",
            "You cannot disable your own account.",
            detail_id="Anda tidak dapat menonaktifkan akun Anda sendiri.",
        )
    for key, value in changes.items():
        setattr(user, key, value)
    if changes:
        if changes.get("is_active") is False:
            revoke_user_refresh_tokens(session, user.id)
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
                "The current password is wrong.",
                detail_id="Kata sandi saat ini salah.",
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
            f"new_password {problem}.",
            detail_id="Kata sandi baru tidak memenuhi aturan (paling sedikit 12 karakter, "
            "bukan alamat email).",
            errors=[
                {
                    "loc": ["body", "new_password"],
                    "msg": problem,
                    "msg_id": "pilih kata sandi lain: paling sedikit 12 karakter, bukan alamat email",
                    "type": "password_policy",
                }
            ],
        )
    new_hash = hash_password(data.new_password)
    user = get_user(session=session, principal=principal, user_id=user_id, for_update=True)
    user.password_hash = new_hash
    user.password_changed_at = user.updated_at = utcnow()
    session.add(user)
    revoke_user_refresh_tokens(session, user.id)
    session.commit()
    forget_account(user.id)


def seed_demo_logins(session: Session) -> list[str]:
    """Demo logins: a platform admin (LAN RI) and one agency admin per demo agency."""
    from app.services.demo import ensure_demo_agencies

    agencies = ensure_demo_agencies(session)
    wanted = [("admin@bangkom.example", "Admin Platform Bangkom", "lan-ri", Role.platform_admin)]
    wanted += [
        (f"admin@{slug}.example", f"Admin {agency.name}", slug, Role.agency_admin)
        for slug, agency in agencies.items()
    ]
    existing = set(
        session.exec(
            select(User.email_normalized).where(
                col(User.email_normalized).in_([w[0] for w in wanted])
            )
        )
    )
    missing = [w for w in wanted if w[0] not in existing]
    if not missing:
        return []
    session.commit()
    shared_hash = hash_password(DEMO_PASSWORD)  # one Argon2 run, not one per account
    for email, name, slug, role in missing:
        session.add(
            User(
                agency_id=agencies[slug].id,
                email=email,
                email_normalized=email,
                full_name=name,
                roles=[str(role)],
                password_hash=shared_hash,
                password_changed_at=utcnow(),
            )
        )
    session.commit()
    lines = [f"demo logins (password '{DEMO_PASSWORD}'):"]
    lines += [f"  {email:<40} {role.value:<15} {slug}" for email, _n, slug, role in missing]
    return lines
