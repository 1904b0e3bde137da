"""Catalogue list queries: filters and keyset pages for courses and cohorts.

Cohorts come out as rows joined with their course's title; the course list lives
in course_list.py (it is the hot one). Who sees which row is visibility.py's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Integer, bindparam, exists, or_, select

from app.core.errors import ProblemError
from app.core.etag import list_etag
from app.core.pagination import after, bad_cursor, branch_union, decode_cursor, encode_cursor
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


def _cursor_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


# Filters of the cohort list: (name, condition over a bind parameter of that name), in the
# order of CohortFilters. A filter is present when its value is truthy (the strings) or not
# None (the rest), as before the statements were cached.
_TRUTHY = frozenset({"q", "course_id", "agency", "status", "mode"})
_COHORT_FILTERS: dict[str, Callable[[], Any]] = {
    "q": lambda: C.search.like(bindparam("q"), escape="\\"),
    "course_id": lambda: H.course_id == bindparam("course_id"),
    "agency": lambda: H.agency_id == _agency_ids(bindparam("agency")),
    "status": lambda: H.status == bindparam("status"),
    "year": lambda: H.year == bindparam("year"),
    "kind": lambda: C.kind == bindparam("kind"),
    "competency_type": lambda: C.competency_type == bindparam("competency_type"),
    "delivery": lambda: C.delivery == bindparam("delivery"),
    "mode": lambda: exists().where(M.curriculum_id == H.curriculum_id, M.mode == bindparam("mode")),
    "starts_after": lambda: H.starts_on >= bindparam("starts_after", type_=H.starts_on.type),
    "starts_before": lambda: H.starts_on <= bindparam("starts_before", type_=H.starts_on.type),
    "updated_since": lambda: H.updated_at >= bindparam("updated_since", type_=H.updated_at.type),
}
_COHORT_SHAPES: dict[tuple[Any, ...], Any] = {}


def _cohort_present(f: CohortFilters) -> tuple[str, ...]:
    return tuple(
        name
        for name in _COHORT_FILTERS
        if (getattr(f, name) if name in _TRUTHY else getattr(f, name) is not None)
    )


def _cohort_statement(who: visibility.Who, sort: str, paged: bool, present: tuple[str, ...]) -> Any:
    """The cohort list's statement for one shape (who asks, sort, first page or not, which
    filters), with bind parameters throughout: built once and reused. Building it cost more
    than running it: 2.2 of the 3.0 ms of a member's first page of 50 on SQLite
    (bench/catalogue_reads.py)."""
    column, descending, _ = COHORT_SORTS[sort]
    joined = Cohort.__table__.join(Course.__table__, H.course_id == C.id)  # type: ignore[attr-defined]
    columns = (
        *H,
        C.title.label("course_title"),
        C.version.label("course_version"),
        column.label("sort_key"),
    )
    conditions = [_COHORT_FILTERS[name]() for name in present]
    if paged:
        key = bindparam("cursor_key", type_=column.type)
        conditions.append(after(column, H.id, key, bindparam("cursor_id"), descending=descending))

    parts = [
        select(*columns).select_from(joined).where(branch, *conditions)
        for branch in visibility.cohort_branches(who, bindparam("me"))
    ]
    return branch_union(
        parts,
        column=column,
        id_column=H.id,
        descending=descending,
        limit=bindparam("limit", type_=Integer),
    )


def cohort_rows(
    *,
    conn: Connection,
    principal: Principal | None,
    filters: CohortFilters,
    sort: str,
    cursor: str | None,
    limit: int,
) -> tuple[list[Any], str | None, str]:
    _sort_spec(COHORT_SORTS, sort)
    who = visibility.who(principal)
    decoded = decode_cursor(cursor, sort)
    present = _cohort_present(filters)
    shape = (who, sort, decoded is not None, present)
    stmt = _COHORT_SHAPES.get(shape)
    if stmt is None:
        stmt = _COHORT_SHAPES[shape] = _cohort_statement(*shape)
    params: dict[str, Any] = {name: getattr(filters, name) for name in present}
    if "q" in params:
        params["q"] = _like(params["q"])
    if who is visibility.Who.member:
        assert principal is not None
        params["me"] = principal.agency_id
    if decoded is not None:
        params["cursor_key"] = _parse_key(COHORT_SORTS, sort, decoded.key)
        params["cursor_id"] = decoded.id
    params["limit"] = limit + 1
    rows = conn.execute(stmt, params).mappings().all()
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
