"""Ownership: the one place that limits a query to the caller's own agency.

Used for every write (a row is locked and changed only if it is the caller's
agency's) and for rows only their agency may read at all (users, agencies).
Who may *read* catalogue rows, where published ones are public, is decided in
services/visibility.py instead. Another agency's object is answered as 404
(never 403) so its existence is not disclosed. Platform admins act across agencies.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlmodel import Session, SQLModel, select
from sqlmodel.sql.expression import SelectOfScalar

from app.core.errors import not_found
from app.core.security import Principal

M = TypeVar("M", bound=SQLModel)


def _agency_column(model: type[SQLModel]) -> Any:
    """The column naming a row's agency: ``agency_id``, or the id of an agency itself."""
    if model.__tablename__ == "agency":
        return model.id  # type: ignore[attr-defined]
    return model.agency_id  # type: ignore[attr-defined]


def scoped(statement: SelectOfScalar[M], model: type[M], principal: Principal) -> SelectOfScalar[M]:
    """Limit ``statement`` to the caller's agency (unless a platform admin)."""
    if principal.is_platform_admin:
        return statement
    return statement.where(_agency_column(model) == principal.agency_id)


def get_owned(
    session: Session,
    model: type[M],
    ident: str,
    principal: Principal,
    *,
    what: str,
    for_update: bool = False,
) -> M:
    """Fetch one agency-owned row by id, or 404 if it is missing or another agency's."""
    pk: Any = model.id  # type: ignore[attr-defined]
    statement = scoped(select(model).where(pk == ident), model, principal)
    if for_update:
        statement = statement.with_for_update()
    row = session.exec(statement).first()
    if row is None:
        raise not_found(what, ident)
    return row
