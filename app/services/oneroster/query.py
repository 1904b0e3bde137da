"""The binding's collection parameters: ``filter``, ``sort``/``orderBy``, ``fields``,
``limit``/``offset`` (OneRoster 1.2 REST binding, section 3.4 "Pagination, sorting,
filtering and field selection").

Filter grammar, exactly as the binding writes it::

    filter    := predicate ( ( " AND " | " OR " ) predicate )*
    predicate := field op "'" value "'"
    op        := "=" | "!=" | ">" | ">=" | "<" | "<=" | "~"

``~`` is "contains" (case-insensitive). AND binds tighter than OR (the binding shows one
logical operator; a chain of them is read the usual way). A field the resource does
not have, an operator outside the list, a value without quotes or a date that is not
ISO 8601 is a 400 ``invalid_filter_field``; a ``fields`` entry the resource does not
have is a 400 ``invalid_selection_field``; a ``sort`` field it cannot sort by is a 400
``invaliddata``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_

from app.services.oneroster.errors import bad_request

# Kinds of filterable field: how a filter value is read before it is compared.
STR, DATETIME, DATE, INT = "str", "datetime", "date", "int"

_PREDICATE = re.compile(r"\s*([A-Za-z][A-Za-z0-9_.]*)\s*(!=|>=|<=|=|>|<|~)\s*'([^']*)'\s*")
_LOGICAL = re.compile(r"\s+(AND|OR)\s+")
MAX_FILTER_LENGTH = 2000


@dataclass(frozen=True)
class Field:
    column: ColumnElement[Any]
    kind: str = STR
    # for a column that is the latest of several rows' (a dateLastModified over joined
    # rows): given v, a condition over the view's columns that every row with
    # ``column >= v`` meets and an index serves (its sourcedId among the keys changed
    # since v), added to ``>`` and ``>=``: a delta sync then reads the changed keys
    # instead of computing the latest of them for every row of the agency
    since: Callable[[Any], ColumnElement[bool]] | None = None


@dataclass(frozen=True)
class Predicate:
    field: str
    op: str
    value: str


def _invalid_filter(why: str, why_id: str) -> Exception:
    return bad_request(
        "invalid_filter_field",
        f"The filter cannot be used: {why}. Write field op 'value' joined by ' AND ' or "
        "' OR ', e.g. status='active' AND dateLastModified>'2025-01-01T00:00:00Z'.",
        f"Filter tidak dapat dipakai: {why_id}. Tulis field op 'nilai' yang disambung ' AND ' "
        "atau ' OR ', misalnya status='active' AND dateLastModified>'2025-01-01T00:00:00Z'.",
    )


def parse_filter(text: str) -> list[list[Predicate]]:
    """The filter as OR of ANDs of predicates (disjunctive form, AND binding tighter)."""
    if len(text) > MAX_FILTER_LENGTH:
        raise _invalid_filter(
            f"it is longer than {MAX_FILTER_LENGTH} characters",
            f"panjangnya lebih dari {MAX_FILTER_LENGTH} karakter",
        )
    groups: list[list[Predicate]] = [[]]
    pos = 0
    while True:
        match = _PREDICATE.match(text, pos)
        if match is None:
            near = text[pos : pos + 30] or "(end)"
            raise _invalid_filter(
                f"expected field op 'value' at {near!r}",
                f"diharapkan field op 'nilai' pada {near!r}",
            )
        groups[-1].append(Predicate(match.group(1), match.group(2), match.group(3)))
        pos = match.end()
        if pos == len(text):
            return groups
        # the predicate's trailing spaces were eaten: give the joiner its leading one back
        logical = _LOGICAL.match(text, pos - 1 if text[pos - 1] == " " else pos)
        if logical is None:
            near = text[pos : pos + 30]
            raise _invalid_filter(
                f"expected ' AND ' or ' OR ' at {near!r}",
                f"diharapkan ' AND ' atau ' OR ' pada {near!r}",
            )
        if logical.group(1) == "OR":
            groups.append([])
        pos = logical.end()


def _value(field: str, spec: Field, raw: str) -> Any:
    try:
        if spec.kind == DATETIME:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC)
        if spec.kind == DATE:
            return date.fromisoformat(raw[:10])
        if spec.kind == INT:
            return int(raw)
    except ValueError:
        raise _invalid_filter(
            f"{raw!r} is not a valid {spec.kind} for {field}",
            f"{raw!r} bukan {spec.kind} yang sah untuk {field}",
        ) from None
    return raw


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _condition(pred: Predicate, fields: Mapping[str, Field]) -> ColumnElement[bool]:
    spec = fields.get(pred.field)
    if spec is None:
        raise _invalid_filter(
            f"{pred.field} is not a field of this collection (fields: {', '.join(fields)})",
            f"{pred.field} bukan field koleksi ini (field: {', '.join(fields)})",
        )
    col = spec.column
    if pred.op == "~":
        needle = f"%{_like_escape(pred.value.lower())}%"
        return func.lower(col).like(needle, escape="\\")
    value = _value(pred.field, spec, pred.value)
    condition = _OPS[pred.op](col, value)
    if spec.since is not None and pred.op in (">", ">="):
        return and_(condition, spec.since(value))
    return condition


_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": lambda c, v: c == v,
    "!=": lambda c, v: c != v,
    ">": lambda c, v: c > v,
    ">=": lambda c, v: c >= v,
    "<": lambda c, v: c < v,
    "<=": lambda c, v: c <= v,
}


def filter_clause(text: str | None, fields: Mapping[str, Field]) -> ColumnElement[bool] | None:
    if text is None:
        return None
    groups = parse_filter(text)
    ors = [and_(*(_condition(p, fields) for p in group)) for group in groups]
    return ors[0] if len(ors) == 1 else or_(*ors)


def selected_fields(text: str | None, known: Sequence[str]) -> list[str] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    wrong = [n for n in names if n not in known]
    if wrong or not names:
        shown = ", ".join(wrong) or "(none)"
        raise bad_request(
            "invalid_selection_field",
            f"Unknown field(s) in fields: {shown}. Name fields of this collection, comma "
            f"separated: {', '.join(known)}.",
            f"Field tidak dikenal di fields: {shown}. Sebut field koleksi ini, dipisah koma: "
            f"{', '.join(known)}.",
        )
    return names


def sort_column(sort: str | None, fields: Mapping[str, Field]) -> ColumnElement[Any] | None:
    if sort is None:
        return None
    spec = fields.get(sort)
    if spec is None:
        raise bad_request(
            "invaliddata",
            f"Cannot sort by {sort}; sort by one of: {', '.join(fields)}.",
            f"Tidak dapat mengurutkan menurut {sort}; urutkan menurut salah satu dari: "
            f"{', '.join(fields)}.",
        )
    return spec.column


def project(obj: dict[str, Any], names: list[str] | None) -> dict[str, Any]:
    if names is None:
        return obj
    return {k: obj[k] for k in names if k in obj}
