"""One OneRoster collection as SQL: a subquery of labelled columns, the fields a filter
or sort may name (each a column of that subquery), and a renderer from a row to the
binding's object. ``collect`` runs the binding's collection query over any view."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, CompoundSelect, Subquery, func, select, union_all
from sqlalchemy.sql.visitors import iterate, replacement_traverse
from sqlmodel import Session

from app.services.oneroster import query

ROSTERING = "/ims/oneroster/rostering/v1p2"
GRADEBOOK = "/ims/oneroster/gradebook/v1p2"


@dataclass(frozen=True)
class Ctx:
    """What a renderer needs beyond the row: the server's base URL and the caller's agency."""

    base_url: str
    agency_id: str

    def ref(self, kind: str, sourced_id: str, *, service: str = ROSTERING) -> dict[str, str]:
        path = {
            "org": "orgs",
            "academicSession": "academicSessions",
            "course": "courses",
            "class": "classes",
            "user": "users",
            "lineItem": "lineItems",
            "category": "categories",
        }[kind]
        return {
            "href": f"{self.base_url}{service}/{path}/{sourced_id}",
            "sourcedId": sourced_id,
            "type": kind,
        }


@dataclass(frozen=True)
class View:
    sq: Subquery
    fields: dict[str, query.Field]
    render: Callable[[Mapping[Any, Any], Ctx], dict[str, Any]]
    names: tuple[str, ...]  # top-level fields of the rendered object (for ``fields``)
    where: list[ColumnElement[bool]] = field(default_factory=list)
    # every key of a part sorts before every key of the next (their ids' prefixes): pages
    # in key order are then read part after part instead of merged
    disjoint: bool = False
    # a part's keys read from one index alone (a SELECT of its ``sourcedId`` only, the
    # same keys as the part), by the part's position: used for the page's keys and the
    # count when no filter, sort or narrowing names anything but ``sourcedId``
    lean: Mapping[int, Any] = field(default_factory=dict)

    @property
    def key(self) -> ColumnElement[Any]:
        return self.sq.c.sourcedId

    def narrowed(self, *conditions: ColumnElement[bool]) -> View:
        where = [*self.where, *conditions]
        return View(self.sq, self.fields, self.render, self.names, where, self.disjoint, self.lean)


def iso(value: datetime) -> str:
    """DateTime in the W3C profile of ISO 8601, UTC, as the binding requires; to the
    microsecond stored, so ``dateLastModified>'<the latest seen>'`` misses nothing and
    repeats nothing."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def head(row: Mapping[Any, Any]) -> dict[str, Any]:
    """The members every OneRoster object starts with (the views select them by name)."""
    return {
        "sourcedId": row["sourcedId"],
        "status": row["status"],
        "dateLastModified": iso(row["dateLastModified"]),
    }


def day(value: date) -> str:
    return value.isoformat()


def exclusive_end(value: date) -> str:
    """The binding's end dates are exclusive; Bangkom stores the last day."""
    return (value + timedelta(days=1)).isoformat()


def jp_text(halves: int) -> str:
    return str(Decimal(halves) / 2)


@dataclass(frozen=True)
class Collected:
    rows: list[Mapping[Any, Any]]
    total: int


def _parts(view: View) -> list[Any]:
    """The SELECTs the view is a UNION ALL of (one for most views)."""
    element = view.sq.element
    return list(element.selects) if isinstance(element, CompoundSelect) else [element]


def _on_part(part: Any, view: View) -> Callable[[Any], Any]:
    """Rewrites an expression over the view's columns into one over ``part``'s own
    expressions, so each part is queried directly on its tables and indexes (through the
    view's subquery SQLite computed every column of every row, then sorted)."""
    mapping = {
        id(view.sq.c[name]): getattr(column, "element", column)
        for name, column in part.selected_columns.items()
    }

    def adapt(expression: Any) -> Any:
        replace: Any = lambda el: mapping.get(id(el))  # noqa: E731
        return replacement_traverse(expression, {}, replace)

    return adapt


def collect(
    session: Session,
    view: View,
    *,
    filter_text: str | None,
    sort: str | None,
    descending: bool,
    limit: int,
    offset: int,
) -> Collected:
    """One page of the view, and the total after the filter (``X-Total-Count``).

    Deep offsets: the page's keys are found first, each part of the view on its own
    index in the sort order (sourcedId, the primary key, unless ``sort`` names another
    field) and merged by the database, then only those rows are read.
    bench/oneroster.py measures offset 0 against offset 100,000.
    """
    conditions = list(view.where)
    clause = query.filter_clause(filter_text, view.fields)
    if clause is not None:
        conditions.append(clause)
    sort_col = query.sort_column(sort, view.fields)
    postgresql = session.get_bind().dialect.name == "postgresql"
    key_only = all(_names_only_key(c, view) for c in [*conditions, sort_col])
    keyed: list[Any] = []
    counts: list[int] = []
    for index, part in enumerate(_parts(view)):
        if key_only and index in view.lean:
            part = view.lean[index]
        adapt = _on_part(part, view)
        columns = [adapt(view.key).label("k")]
        if sort_col is not None:
            columns.append(adapt(sort_col).label("s"))
        narrowed = part.with_only_columns(*columns, maintain_column_froms=True).where(
            *(adapt(c) for c in conditions)
        )
        keyed.append(narrowed)
        # PostgreSQL counted a large agency's rows with a parallel sequential scan of the
        # whole table; asked in key order, it counts on the index alone (index-only scan):
        # learners 35 -> 12 ms, enrolments 37 -> 21 ms at 150,000 (bench/oneroster.py)
        counting = narrowed.order_by(columns[0]) if postgresql else narrowed
        counted = select(func.count()).select_from(counting.subquery())
        counts.append(int(session.execute(counted).scalar_one()))
    total = sum(counts)
    if view.disjoint and sort_col is None:
        keys = _keys_part_by_part(session, keyed, counts, descending, limit, offset)
        return _rows(session, view, keys, total)

    def ordered(columns: Any) -> list[Any]:
        order: list[Any] = []
        if sort_col is not None:
            order.append(columns.s.desc() if descending else columns.s.asc())
        order.append(columns.k.desc() if descending and sort_col is None else columns.k.asc())
        return order

    if len(keyed) > 1 and postgresql:
        # PostgreSQL appended the parts and sorted every key (a top-N heapsort of 100,000
        # enrolments for the first page) instead of merging them; each part's own first
        # offset + limit keys, on its index, leave it nothing else to do
        # (bench/oneroster.py). SQLite merges the parts' index orders by itself.
        keyed = [
            select(*(c for c in (sq.c.k, getattr(sq.c, "s", None)) if c is not None))
            for sq in (
                part.order_by(*ordered(part.selected_columns)).limit(offset + limit).subquery()
                for part in keyed
            )
        ]
    keys_stmt: Any = keyed[0] if len(keyed) == 1 else union_all(*keyed)
    order = ordered(keys_stmt.selected_columns)
    keys = [
        row[0] for row in session.execute(keys_stmt.order_by(*order).limit(limit).offset(offset))
    ]
    return _rows(session, view, keys, total)


def _names_only_key(expression: Any, view: View) -> bool:
    """Whether ``expression`` names no column of the view but its key (None: nothing)."""
    if expression is None:
        return True
    others = {id(c) for c in view.sq.c if c is not view.key}
    return not any(id(el) in others for el in iterate(expression))


def _keys_part_by_part(
    session: Session, keyed: list[Any], counts: list[int], descending: bool, limit: int,
    offset: int,
) -> list[Any]:  # fmt: skip
    """The page's keys of a ``disjoint`` view: the offset skips whole parts by their counts,
    then each part is read on its own index. Merging them instead, PostgreSQL sorted every
    key up to the offset (no merge of a UNION ALL's ordered parts): enrollments (students'
    and teachers') at offset 100,000 cost 1.9x the first page (bench/oneroster.py)."""
    parts = list(zip(keyed, counts, strict=True))
    keys: list[Any] = []
    for statement, count in reversed(parts) if descending else parts:
        if len(keys) == limit:
            break
        if offset >= count:
            offset -= count
            continue
        k = statement.selected_columns.k
        page = statement.order_by(k.desc() if descending else k.asc())
        keys += session.execute(page.limit(limit - len(keys)).offset(offset)).scalars().all()
        offset = 0
    return keys


def _rows(session: Session, view: View, keys: list[Any], total: int) -> Collected:
    """The rows of ``keys``, in their order."""
    if not keys:
        return Collected([], total)
    by_key: dict[Any, Mapping[Any, Any]] = {}
    for part in _parts(view):
        adapt = _on_part(part, view)
        for row in session.execute(part.where(adapt(view.key).in_(keys))).mappings():
            by_key[row["sourcedId"]] = row
    return Collected([by_key[k] for k in keys if k in by_key], total)


def one(session: Session, view: View, sourced_id: str) -> Mapping[Any, Any] | None:
    for part in _parts(view):
        adapt = _on_part(part, view)
        conditions = [adapt(c) for c in [*view.where, view.key == sourced_id]]
        found = session.execute(part.where(*conditions)).mappings().first()
        if found is not None:
            return found
    return None
