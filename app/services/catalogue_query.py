"""Catalogue list queries: filters and keyset pages for courses and cohorts.

Cohorts come out as rows joined with their course's title; the course list lives
in course_list.py (it is the hot one). Who sees which row is visibility.py's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Select, exists, or_, select, union_all

from app.core.errors import ProblemError
from app.core.etag import list_etag
from app.core.pagination import after, bad_cursor, decode_cursor, encode_cursor
from app.core.security import Principal
from app.models import Agency, Cohort, Course, Curriculum, CurriculumModule
from app.models.catalogue import search_text
from app.services import visibility

if TYPE_CHECKING:
    from app.services.cohorts import CohortFilters

C = Course.__table__.c  # type: ignore[attr-defined]
H = Cohort.__table__.c  # type: ignore[attr-defined]
K = Curriculum.__table__.c  # type: ignore[attr-defined]
M = CurriculumModule.__table__.c  # type: ignore[attr-defined]
A = Agency.__table__.c  # type: ignore[attr-defined]


def _as_datetime(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def _as_date(value: Any) -> date:
    return date.fromisoformat(str(value))


# sort name -> (column, descending, cursor key parser)
COURSE_SORTS: dict[str, tuple[Any, bool, Callable[[Any], Any]]] = {
    "created_at": (C.created_at, False, _as_datetime),
    "-created_at": (C.created_at, True, _as_datetime),
    "title": (C.title, False, str),
    "-title": (C.title, True, str),
    "code": (C.code, False, str),
    "-code": (C.code, True, str),
    "updated_at": (C.updated_at, False, _as_datetime),  # updated_since only (not a `sort`)
}
COHORT_SORTS: dict[str, tuple[Any, bool, Callable[[Any], Any]]] = {
    "starts_on": (H.starts_on, False, _as_date),
    "-starts_on": (H.starts_on, True, _as_date),
    "created_at": (H.created_at, False, _as_datetime),
    "-created_at": (H.created_at, True, _as_datetime),
    "updated_at": (H.updated_at, False, _as_datetime),  # updated_since only (not a `sort`)
}


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None
    etag: str


def _like(text: str) -> str:
    escaped = search_text(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _agency_ids(value: Any) -> Any:
    """The agency named by id or slug (a value or a bind parameter)."""
    return select(A.id).where(or_(A.id == value, A.slug == value)).scalar_subquery()


SortSpec = tuple[Any, bool, Callable[[Any], Any]]


def _sort_spec(sorts: dict[str, SortSpec], sort: str) -> SortSpec:
    if sort not in sorts:
        msg = f"sort must be one of: {', '.join(sorts)}."
        msg_id = f"sort harus salah satu dari: {', '.join(sorts)}."
        raise ProblemError(
            422,
            "validation_error",
            msg,
            detail_id=msg_id,
            errors=[{"loc": ["query", "sort"], "msg": msg, "msg_id": msg_id, "type": "enum"}],
        )
    return sorts[sort]


def _parse_key(sorts: dict[str, SortSpec], sort: str, raw: Any) -> Any:
    try:
        return sorts[sort][2](raw)
    except (TypeError, ValueError) as exc:
        raise bad_cursor() from exc


def _keyset(
    stmt: Select[Any],
    sorts: dict[str, SortSpec],
    sort: str,
    id_column: Any,
    cursor_token: str | None,
    limit: int,
) -> Select[Any]:
    """``stmt`` ordered by (sort key, id), starting after the cursor, one row past the page."""
    column, descending, _ = _sort_spec(sorts, sort)
    cursor = decode_cursor(cursor_token, sort)
    if cursor is not None:
        key = _parse_key(sorts, sort, cursor.key)
        stmt = stmt.where(after(column, id_column, key, cursor.id, descending=descending))
    order = (column.desc(), id_column.desc()) if descending else (column.asc(), id_column.asc())
    return stmt.order_by(*order).limit(limit + 1)


def _cursor_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _cohort_conditions(f: CohortFilters) -> list[Any]:
    out: list[Any] = []
    if f.q:
        out.append(C.search.like(_like(f.q), escape="\\"))
    if f.course_id:
        out.append(H.course_id == f.course_id)
    if f.agency:
        out.append(H.agency_id == _agency_ids(f.agency))
    if f.status:
        out.append(H.status == f.status)
    if f.year is not None:
        out.append(H.year == f.year)
    if f.starts_after is not None:
        out.append(H.starts_on >= f.starts_after)
    if f.starts_before is not None:
        out.append(H.starts_on <= f.starts_before)
    for name in ("kind", "competency_type", "delivery"):
        value = getattr(f, name)
        if value is not None:
            out.append(C[name] == value)
    if f.mode:
        out.append(exists().where(M.curriculum_id == H.curriculum_id, M.mode == f.mode))
    if f.updated_since is not None:
        out.append(H.updated_at >= f.updated_since)
    return out


def cohort_rows(
    *,
    conn: Connection,
    principal: Principal | None,
    filters: CohortFilters,
    sort: str,
    cursor: str | None,
    limit: int,
) -> tuple[list[Any], str | None, str]:
    column, descending, _ = _sort_spec(COHORT_SORTS, sort)
    joined = Cohort.__table__.join(Course.__table__, H.course_id == C.id)  # type: ignore[attr-defined]
    columns = (
        *H,
        C.title.label("course_title"),
        C.version.label("course_version"),
        column.label("sort_key"),
    )
    conditions = _cohort_conditions(filters)
    parts = [
        _keyset(
            select(*columns).select_from(joined).where(branch, *conditions),
            COHORT_SORTS,
            sort,
            H.id,
            cursor,
            limit,
        )
        for branch in visibility.cohort_branches(
            visibility.who(principal), principal.agency_id if principal else None
        )
    ]
    stmt = parts[0]
    if len(parts) > 1:
        merged = union_all(*(p.subquery().select() for p in parts)).subquery()
        order = (merged.c.sort_key, merged.c.id)
        stmt = (
            select(*merged.c)
            .order_by(*(o.desc() if descending else o.asc() for o in order))
            .limit(limit + 1)
        )
    rows = conn.execute(stmt).mappings().all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = (
        encode_cursor(sort, _cursor_value(rows[-1]["sort_key"]), rows[-1]["id"])
        if more and rows
        else None
    )
    etag = list_etag(
        [
            sort,
            cursor,
            repr(filters),
            next_cursor,
            *(
                f"{r['id']}:{r['version']}:{r['course_version']}"
                f":{r['seats_taken']}:{r['waitlist_length']}"
                for r in rows
            ),
        ]
    )
    return list(rows), next_cursor, etag
