"""Agencies: platform admins create and change them; everyone reads their own."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from app.core.db import commit_or_409
from app.core.errors import ProblemError
from app.core.pagination import since_page
from app.core.security import Principal
from app.models import Agency
from app.models.agency import AgencyCreate, AgencyUpdate
from app.models.base import utcnow
from app.services.auth import forget_account
from app.services.tenancy import get_owned, scoped


def _slug_taken(slug: str) -> ProblemError:
    return ProblemError(
        409,
        "slug_taken",
        f"An agency with slug '{slug}' already exists.",
        detail_id=f"Instansi dengan slug '{slug}' sudah ada.",
    )


def list_agencies(
    *,
    session: Session,
    principal: Principal,
    limit: int,
    cursor: str | None,
    updated_since: datetime | None = None,
) -> tuple[list[Agency], str | None]:
    statement = scoped(select(Agency), Agency, principal)
    return since_page(
        session, statement, Agency, limit=limit, cursor=cursor, updated_since=updated_since
    )


def get_agency(*, session: Session, principal: Principal, agency_id: str) -> Agency:
    return get_owned(session, Agency, agency_id, principal, what="agency")


def create_agency(*, session: Session, data: AgencyCreate) -> Agency:
    if session.exec(select(Agency.id).where(col(Agency.slug) == data.slug)).first():
        raise _slug_taken(data.slug)
    agency = Agency.model_validate(data)
    session.add(agency)
    commit_or_409(session, _slug_taken(data.slug))  # a concurrent create with the same slug
    return agency


def update_agency(
    *, session: Session, principal: Principal, agency_id: str, data: AgencyUpdate
) -> Agency:
    agency = get_owned(session, Agency, agency_id, principal, what="agency", for_update=True)
    changes = data.model_dump(exclude_unset=True)
    for key, value in changes.items():
        if value is None:
            raise ProblemError(
                422,
                "validation_error",
                f"{key} cannot be null.",
                detail_id=f"{key} tidak boleh null.",
                errors=[
                    {
                        "loc": ["body", key],
                        "msg": "cannot be null",
                        "msg_id": "tidak boleh null",
                        "type": "null",
                    }
                ],
            )
        setattr(agency, key, value)
    if changes:
        agency.updated_at = utcnow()
        session.add(agency)
        session.commit()
        if "is_active" in changes:
            forget_account()
    return agency
