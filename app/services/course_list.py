"""The course list, the catalogue's busiest query.

Statements are built once per *shape* (who asks, sort, which filters, first page
or not) with bind parameters, and reused: building SQLAlchemy statements costs
more than running them. Visibility (visibility.py) is split into disjoint branches
("published" and "my agency's unpublished") that each walk their own index in
keyset order; a UNION ALL merges the two short pages. A single ``OR`` would make
the database sort every visible row for each page.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    Integer,
    bindparam,
    exists,
    not_,
    select,
)

from app.core.etag import list_etag
from app.core.pagination import after, branch_union, decode_cursor, encode_cursor
from app.core.security import Principal
from app.models.cohort import CohortStatus
from app.services import visibility
from app.services.catalogue_query import (
    COURSE_SORTS,
    C,
    H,
    K,
    M,
    Page,
    _agency_ids,
    _like,
    _parse_key,
    _sort_spec,
)
from app.services.visibility import Who

if TYPE_CHECKING:
    from app.services.courses import CourseFilters

FILTERS = (
    "q",
    "kind",
    "competency_type",
    "delivery",
    "agency",
    "status",
    "year",
    "mode",
    "starts_after",
    "starts_before",
    "updated_since",
)
_SHAPES: dict[tuple[Any, ...], Any] = {}


def _cohort_exists(who: Who, *conditions: Any) -> Any:
    """A cohort of the course that the caller may see and that meets ``conditions``."""
    visible = visibility.cohort_visible_sql(who, bindparam("me"))
    return exists().where(H.course_id == C.id, visible, *conditions)


def _conditions(who: Who, present: tuple[str, ...], has_open: bool | None) -> list[Any]:
    out: list[Any] = []
    for name in present:
        if name == "q":
            out.append(C.search.like(bindparam("q"), escape="\\"))
        elif name in ("kind", "competency_type", "delivery", "status"):
            out.append(C[name] == bindparam(name))
        elif name == "agency":
            out.append(C.agency_id == _agency_ids(bindparam("agency")))
        elif name == "year":
            out.append(_cohort_exists(who, H.year == bindparam("year")))
        elif name == "starts_after":
            out.append(_cohort_exists(who, H.starts_on >= bindparam("starts_after")))
        elif name == "starts_before":
            out.append(_cohort_exists(who, H.starts_on <= bindparam("starts_before")))
        elif name == "updated_since":
            out.append(C.updated_at >= bindparam("updated_since", type_=C.updated_at.type))
        elif name == "mode":  # the latest published version: the one `modes` shows
            out.append(
                exists()
                .where(K.course_id == C.id, K.version == C.published_curriculum_version)
                .where(M.curriculum_id == K.id, M.mode == bindparam("mode"))
            )
    if has_open is not None:
        open_cohort = _cohort_exists(who, H.status == CohortStatus.open.value)
        out.append(open_cohort if has_open else not_(open_cohort))
    return out


def _build(
    who: Who, sort: str, paged: bool, present: tuple[str, ...], has_open: bool | None
) -> Any:
    column, descending, _ = COURSE_SORTS[sort]
    conditions = _conditions(who, present, has_open)
    if paged:
        key = bindparam("cursor_key", type_=column.type)
        conditions.append(after(column, C.id, key, bindparam("cursor_id"), descending=descending))

    branches = visibility.course_branches(who, bindparam("me"))
    # The sort key is not fetched per row: the last row's key is read from its JSON.
    extra = (column.label("sort_key"),) if len(branches) > 1 else ()
    parts = [
        select(C.id, C.version, C.doc, *extra).where(branch, *conditions) for branch in branches
    ]
    return branch_union(
        parts,
        column=column,
        id_column=C.id,
        descending=descending,
        limit=bindparam("limit", type_=Integer),
        keep=("id", "version", "doc"),
    )


def course_page(
    *,
    conn: Connection,
    principal: Principal | None,
    filters: CourseFilters,
    sort: str,
    cursor: str | None,
    limit: int,
) -> Page:
    _sort_spec(COURSE_SORTS, sort)
    who = visibility.who(principal)
    present = tuple(name for name in FILTERS if getattr(filters, name) is not None)
    decoded = decode_cursor(cursor, sort)
    shape = (who, sort, decoded is not None, present, filters.has_open_cohort)
    stmt = _SHAPES.get(shape)
    if stmt is None:
        stmt = _SHAPES[shape] = _build(*shape)
    params: dict[str, Any] = {name: getattr(filters, name) for name in present}
    if "q" in params:
        params["q"] = _like(params["q"])
    if who is Who.member:
        assert principal is not None
        params["me"] = principal.agency_id
    if decoded is not None:
        params["cursor_key"] = _parse_key(COURSE_SORTS, sort, decoded.key)
        params["cursor_id"] = decoded.id
    params["limit"] = limit + 1
    rows = conn.execute(stmt, params).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        last = json.loads(rows[-1][2])
        next_cursor = encode_cursor(sort, last[sort.lstrip("-")], rows[-1][0])
    etag = list_etag([sort, cursor, repr(filters), next_cursor, *(f"{r[0]}:{r[1]}" for r in rows)])
    return Page([r[2] for r in rows], next_cursor, etag)
