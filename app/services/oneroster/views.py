"""One OneRoster collection as SQL: a subquery of labelled columns, the fields a filter
or sort may name (each a column of that subquery), and a renderer from a row to the
binding's object. ``collect`` runs the binding's collection query over any view."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Subquery, func, select
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

    @property
    def key(self) -> ColumnElement[Any]:
        return self.sq.c.sourcedId

    def narrowed(self, *conditions: ColumnElement[bool]) -> View:
        return View(self.sq, self.fields, self.render, self.names, [*self.where, *conditions])


def iso(value: datetime) -> str:
    """DateTime in the W3C profile of ISO 8601, UTC, as the binding requires; to the
    microsecond stored, so ``dateLastModified>'<the latest seen>'`` misses nothing and
    repeats nothing."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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

    Deep offsets: the page's keys are found first by an index-only walk of the sort
    order (sourcedId, the primary key, unless ``sort`` names another field), then only
    those rows are read. bench/oneroster.py measures offset 0 against offset 100,000.
    """
    conditions = list(view.where)
    clause = query.filter_clause(filter_text, view.fields)
    if clause is not None:
        conditions.append(clause)
    sort_col = query.sort_column(sort, view.fields)
    order: list[Any] = []
    if sort_col is not None:
        order.append(sort_col.desc() if descending else sort_col.asc())
    order.append(view.key.desc() if descending and sort_col is None else view.key.asc())
    keys_stmt = select(view.key).where(*conditions).order_by(*order).limit(limit).offset(offset)
    keys = [k for (k,) in session.execute(keys_stmt)]
    total = session.execute(
        select(func.count()).select_from(view.sq).where(*conditions)
    ).scalar_one()
    if not keys:
        return Collected([], int(total))
    rows = session.execute(select(view.sq).where(view.key.in_(keys))).mappings().all()
    by_key = {r["sourcedId"]: r for r in rows}
    return Collected([by_key[k] for k in keys if k in by_key], int(total))


def one(session: Session, view: View, sourced_id: str) -> Mapping[Any, Any] | None:
    stmt = select(view.sq).where(*view.where, view.key == sourced_id)
    return session.execute(stmt).mappings().first()
