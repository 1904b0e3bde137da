"""Sessions of a cohort: times checked in the cohort's own zone, instructors never double-booked."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from app.core.errors import not_found
from app.core.etag import check_if_match, resource_etag
from app.core.pagination import keyset_page, since_page
from app.core.security import Principal
from app.models import (
    Cohort,
    CohortSession,
    CohortSessionInstructor,
)
from app.models.base import utcnow
from app.models.catalogue import halves_to_jp, jp_to_halves
from app.models.cohort import CohortSessionCreate, CohortSessionPublic, CohortSessionUpdate
from app.services import cohort_rules as rules
from app.services import cohort_session_checks as checks
from app.services.cohorts import visible_cohort
from app.services.oneroster import teaching
from app.services.tenancy import get_owned
from app.services.validation import reject_nulls


def etag_of(item: CohortSession, cohort: Cohort) -> str:
    """Times are shown in the cohort's zone: the cohort's version is part of the ETag."""
    return resource_etag(item.id, item.version, cohort.version)


def public(
    item: CohortSession, instructors: list[str], zone: str, warnings: list[str] | None = None
) -> CohortSessionPublic:
    tz = ZoneInfo(zone)
    return CohortSessionPublic(
        id=item.id,
        cohort_id=item.cohort_id,
        module_id=item.module_id,
        starts_at=item.starts_at.astimezone(tz),
        ends_at=item.ends_at.astimezone(tz),
        mode=item.mode,
        jp=halves_to_jp(item.jp_halves),
        instructor_ids=instructors,
        location=item.location,
        meeting_url=item.meeting_url,
        version=item.version,
        created_at=item.created_at,
        updated_at=item.updated_at,
        warnings=warnings or [],
    )


def _instructors(session: Session, session_ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    if session_ids:
        rows = session.execute(
            select(CohortSessionInstructor.session_id, CohortSessionInstructor.user_id)  # type: ignore[call-overload]
            .where(col(CohortSessionInstructor.session_id).in_(session_ids))
            .order_by(col(CohortSessionInstructor.user_id))
        )
        for sid, uid in rows:
            out[sid].append(uid)
    return out


def _set_instructors(session: Session, item: CohortSession, user_ids: list[str]) -> None:
    session.execute(
        delete(CohortSessionInstructor).where(col(CohortSessionInstructor.session_id) == item.id)
    )
    for uid in dict.fromkeys(user_ids):
        session.add(CohortSessionInstructor(session_id=item.id, user_id=uid))
    # an instructor taken off the cohort's last session stays, removed, for delta syncs
    teaching.refresh(session=session, cohort_id=item.cohort_id, agency_id=item.agency_id)


def create_session(
    *, session: Session, principal: Principal, cohort_id: str, data: CohortSessionCreate
) -> tuple[CohortSessionPublic, str]:
    cohort = get_owned(session, Cohort, cohort_id, principal, what="cohort", for_update=True)
    rules.check_editable(cohort, [rules.SESSIONS])
    item = CohortSession(
        agency_id=cohort.agency_id,
        cohort_id=cohort.id,
        module_id=data.module_id,
        starts_at=data.starts_at.astimezone(UTC),
        ends_at=data.ends_at.astimezone(UTC),
        mode=data.mode,  # type: ignore[arg-type]
        jp_halves=jp_to_halves(data.jp) if data.jp is not None else 0,
        location=data.location,
        meeting_url=data.meeting_url,
    )
    ids = list(dict.fromkeys(data.instructor_ids))
    warnings = checks.validate(
        session, cohort, item, ids, jp_given=data.jp is not None, mode_given=data.mode is not None
    )
    session.add(item)
    session.flush()
    _set_instructors(session, item, ids)
    session.commit()
    return public(item, sorted(ids), cohort.timezone, warnings), etag_of(item, cohort)


def _owned(
    session: Session, principal: Principal, cohort_id: str, session_id: str
) -> tuple[Cohort, CohortSession]:
    cohort = get_owned(session, Cohort, cohort_id, principal, what="cohort", for_update=True)
    item = session.get(CohortSession, session_id, with_for_update=True)
    if item is None or item.cohort_id != cohort.id:
        raise not_found("session", session_id)
    rules.check_editable(cohort, [rules.SESSIONS])
    return cohort, item


def update_session(
    *,
    session: Session,
    principal: Principal,
    cohort_id: str,
    session_id: str,
    data: CohortSessionUpdate,
    if_match: str | None = None,
) -> tuple[CohortSessionPublic, str]:
    cohort, item = _owned(session, principal, cohort_id, session_id)
    check_if_match(if_match, etag_of(item, cohort))
    values: dict[str, Any] = data.model_dump(exclude_unset=True)
    reject_nulls(values, ("starts_at", "ends_at", "mode", "jp", "instructor_ids"))
    ids = values.pop("instructor_ids", None)
    if ids is None:
        ids = _instructors(session, [item.id])[item.id]
    ids = list(dict.fromkeys(ids))
    if "jp" in values:
        item.jp_halves = jp_to_halves(values.pop("jp"))
    for key in ("starts_at", "ends_at"):
        if key in values:
            values[key] = values[key].astimezone(UTC)
    module_changed = "module_id" in values and values["module_id"] != item.module_id
    for key, value in values.items():
        setattr(item, key, value)
    warnings = checks.validate(
        session,
        cohort,
        item,
        ids,
        jp_given=not module_changed or data.jp is not None,
        mode_given=not module_changed or data.mode is not None,
    )
    item.version += 1
    item.updated_at = utcnow()
    session.add(item)
    _set_instructors(session, item, ids)
    session.commit()
    return public(item, sorted(ids), cohort.timezone, warnings), etag_of(item, cohort)


def delete_session(
    *, session: Session, principal: Principal, cohort_id: str, session_id: str
) -> None:
    _, item = _owned(session, principal, cohort_id, session_id)
    _set_instructors(session, item, [])
    session.delete(item)
    session.commit()


def list_sessions(
    *,
    session: Session,
    principal: Principal | None,
    cohort_id: str,
    limit: int,
    cursor: str | None = None,
    updated_since: datetime | None = None,
) -> tuple[list[CohortSessionPublic], str | None]:
    """One page of the cohort's sessions in time order (with ``updated_since``: those
    changed since, in (updated_at, id) order), and the next cursor."""
    cohort, _ = visible_cohort(session=session, principal=principal, cohort_id=cohort_id)
    statement = sm_select(CohortSession).where(col(CohortSession.cohort_id) == cohort.id)
    if updated_since is not None:
        items, next_cursor = since_page(
            session,
            statement,
            CohortSession,
            limit=limit,
            cursor=cursor,
            updated_since=updated_since,
        )
    else:
        items, next_cursor = keyset_page(
            session,
            statement,
            CohortSession,
            sort="starts_at",
            column=col(CohortSession.starts_at),
            parse=datetime.fromisoformat,
            limit=limit,
            cursor=cursor,
        )
    instructors = _instructors(session, [i.id for i in items])
    return [public(i, instructors[i.id], cohort.timezone) for i in items], next_cursor


def read_session(
    *, session: Session, principal: Principal | None, cohort_id: str, session_id: str
) -> tuple[CohortSessionPublic, str]:
    cohort, _ = visible_cohort(session=session, principal=principal, cohort_id=cohort_id)
    item = session.get(CohortSession, session_id)
    if item is None or item.cohort_id != cohort.id:
        raise not_found("session", session_id)
    shown = public(item, _instructors(session, [item.id])[item.id], cohort.timezone)
    return shown, etag_of(item, cohort)
