"""Cursor (keyset) pagination: an opaque base64url cursor holding the sort key and the id.

A page deep in the list costs the same as the first: the next page starts
``WHERE (key, id) > (last key, last id)`` on an index, never with OFFSET.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from fastapi import Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Select, and_, or_, select, union_all
from sqlmodel import Session, SQLModel
from sqlmodel.sql.expression import SelectOfScalar

from app.core.config import get_settings
from app.core.errors import ProblemError

MAX_PAGE_LIMIT = 1000  # the contract's bound; the page-size setting caps below it
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"


class PageQuery(BaseModel):
    """Page parameters of every keyset-paginated list; a list's query model extends it.

    ``extra="forbid"``: a parameter the list does not know is a 422 naming it.
    """

    model_config = ConfigDict(extra="forbid")

    cursor: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=CURSOR_PATTERN,
        description="`next_cursor` of the previous page",
    )
    limit: int | None = Field(
        default=None,
        ge=1,
        le=MAX_PAGE_LIMIT,
        description="Page size (default 50; above the server's maximum, 200 by default, "
        "the maximum is used)",
    )


UPDATED_SORT = "updated_at"


def since_sort(sort: str, updated_since: datetime | None) -> str:
    """The order of a list: (updated_at, id) when ``updated_since`` is given."""
    return UPDATED_SORT if updated_since is not None else sort


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """The envelope of every list: ``{"items": [...], "next_cursor": "..." | null}``."""

    items: list[T]
    next_cursor: str | None

    @classmethod
    def model_parametrized_name(cls, params: tuple[Any, ...]) -> str:
        # Page[CohortSessionPublic] is "CohortSessionPage" in the OpenAPI document
        name: str = getattr(params[0], "__name__", "Item")
        return name.removesuffix("Public") + "Page"


@dataclass(frozen=True)
class Cursor:
    sort: str
    key: Any
    id: str


def encode_cursor(sort: str, key: Any, ident: str) -> str:
    raw = json.dumps([sort, key, ident], separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str | None, sort: str) -> Cursor | None:
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        sort_of, key, ident = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(ident, str) or not isinstance(sort_of, str):
            raise ValueError("bad cursor")
    except Exception as exc:
        raise bad_cursor() from exc
    if sort_of != sort:
        raise bad_cursor(
            "The cursor belongs to another sort order; start again without it.",
            "Cursor ini milik urutan lain; mulai lagi tanpa cursor.",
        )
    return Cursor(sort_of, key, ident)


def bad_cursor(
    msg: str = "The cursor is not one this service gave out; "
    "send next_cursor exactly as received, or start again without it.",
    msg_id: str = "Cursor ini bukan pemberian layanan ini; kirim next_cursor persis seperti "
    "yang diterima, atau mulai lagi tanpa cursor.",
) -> ProblemError:
    return ProblemError(
        422,
        "invalid_cursor",
        msg,
        detail_id=msg_id,
        errors=[
            {"loc": ["query", "cursor"], "msg": msg, "msg_id": msg_id, "type": "invalid_cursor"}
        ],
    )


def clamp_limit(limit: int | None) -> int:
    settings = get_settings()
    if limit is None:
        return settings.page_limit_default
    return max(1, min(limit, settings.page_limit_max))


def after(
    column: Any, id_column: Any, key: Any, ident: Any, *, descending: bool
) -> ColumnElement[bool]:
    """Rows strictly after (key, ident) in (column, id) order; both directions match.

    ``key`` and ``ident`` may be values or bind parameters (for cached statements).
    """
    if descending:
        return or_(column < key, and_(column == key, id_column < ident))
    return or_(column > key, and_(column == key, id_column > ident))


def branch_union(
    parts: Sequence[Select[Any]],
    *,
    column: Any,
    id_column: Any,
    descending: bool,
    limit: Any,
    keep: Sequence[str] | None = None,
) -> Select[Any]:
    """A keyset page over visibility branches: each part (one branch's SELECT, with a
    ``sort_key`` and an ``id`` column when there are several) is ordered by (column, id)
    and limited on its own, so each can walk its index; several are merged with
    ``UNION ALL`` and cut to ``limit`` again (``keep``: the merged columns to answer, by
    name; all by default). Used by the course and cohort lists."""

    def order(key: Any, ident: Any) -> tuple[Any, Any]:
        return (key.desc(), ident.desc()) if descending else (key.asc(), ident.asc())

    ordered = [part.order_by(*order(column, id_column)).limit(limit) for part in parts]
    if len(ordered) == 1:
        return ordered[0]
    merged = union_all(*(part.subquery().select() for part in ordered)).subquery()
    columns = merged.c if keep is None else [merged.c[name] for name in keep]
    return select(*columns).order_by(*order(merged.c.sort_key, merged.c.id)).limit(limit)


def link_header(request: Request, next_cursor: str | None) -> dict[str, str]:
    """RFC 8288 ``Link: <...>; rel="next"`` for the next page ({} on the last page):
    the request's own URL and query with the cursor swapped."""
    if not next_cursor:
        return {}
    query = {k: v for k, v in request.query_params.items() if k != "cursor"}
    query["cursor"] = next_cursor
    base = str(request.url.replace(query=""))
    return {"Link": f'<{base}?{urlencode(query, doseq=True)}>; rel="next"'}


def page_response(request: Request, page: Any, *, vary: str = "Authorization") -> Response:
    """A page envelope (``items``, ``next_cursor``) as JSON with its ``Link`` header; ``Vary``
    names what the page depends on beyond the URL (whose token asks, by default)."""
    headers = link_header(request, page.next_cursor) | {"Vary": vary}
    return Response(page.model_dump_json(), media_type="application/json", headers=headers)


M = TypeVar("M", bound=SQLModel)


def id_page(
    session: Session,
    statement: SelectOfScalar[M],
    model: type[M],
    *,
    limit: int,
    cursor: str | None,
) -> tuple[list[M], str | None]:
    """One page in id order (ids are time-ordered: creation order) and the next cursor."""
    pk: Any = model.id  # type: ignore[attr-defined]
    position = decode_cursor(cursor, "id")
    if position is not None:
        statement = statement.where(pk > position.id)
    rows = list(session.exec(statement.order_by(pk).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor("id", None, str(rows[-1].id))  # type: ignore[attr-defined]


def union_id_page(
    session: Session,
    statements: list[SelectOfScalar[M]],
    model: type[M],
    *,
    limit: int,
    cursor: str | None,
    keys: Sequence[Any] | None = None,
) -> tuple[list[M], str | None]:
    """``id_page`` over the union of disjoint ``statements``: each runs as its own keyset
    query with its own limit (so each can use its own index, where one ``OR`` would make
    the database collect and sort every visible row), and the pages merge in id order.
    ``keys``: per statement, the column equal to the id that its index walks (a joined
    table's), when not the model's id; or a tuple of such columns, ordered by the first
    and each bound by the cursor (PostgreSQL does not carry ``a.x > c`` over ``a.x =
    b.y``: a join bound on one side only walked the other from its start)."""
    pk: Any = model.id  # type: ignore[attr-defined]
    keys = list(keys) if keys is not None else [pk] * len(statements)
    if len(statements) == 1 and keys[0] is pk:
        return id_page(session, statements[0], model, limit=limit, cursor=cursor)
    position = decode_cursor(cursor, "id")
    rows: list[M] = []
    for statement, key in zip(statements, keys, strict=True):
        bound = key if isinstance(key, tuple) else (key,)
        if position is not None:
            statement = statement.where(*(k > position.id for k in bound))
        rows.extend(session.exec(statement.order_by(bound[0]).limit(limit + 1)))
    rows.sort(key=lambda row: str(row.id))  # type: ignore[attr-defined]
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor("id", None, str(rows[-1].id))  # type: ignore[attr-defined]


def keyset_page(
    session: Session,
    statement: SelectOfScalar[M],
    model: type[M],
    *,
    sort: str,
    column: Any,
    parse: Callable[[Any], Any],
    limit: int,
    cursor: str | None,
) -> tuple[list[M], str | None]:
    """One page in (``column``, id) order and the next cursor; ``parse`` reads the key back."""
    pk: Any = model.id  # type: ignore[attr-defined]
    position = decode_cursor(cursor, sort)
    if position is not None:
        try:
            key = parse(position.key)
        except (TypeError, ValueError) as exc:
            raise bad_cursor() from exc
        statement = statement.where(after(column, pk, key, position.id, descending=False))
    rows = list(session.exec(statement.order_by(column, pk).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, encode_cursor(sort, getattr(last, column.key), str(last.id))  # type: ignore[attr-defined]


def since_page(
    session: Session,
    statement: SelectOfScalar[M],
    model: type[M],
    *,
    limit: int,
    cursor: str | None,
    updated_since: datetime | None,
) -> tuple[list[M], str | None]:
    """``id_page``, or with ``updated_since`` the rows changed since then in (updated_at, id)
    order (an index on (updated_at, id) serves it: app/models/change.py)."""
    if updated_since is None:
        return id_page(session, statement, model, limit=limit, cursor=cursor)
    column: Any = model.updated_at  # type: ignore[attr-defined]
    return keyset_page(
        session,
        statement.where(column >= updated_since),
        model,
        sort=UPDATED_SORT,
        column=column,
        parse=datetime.fromisoformat,
        limit=limit,
        cursor=cursor,
    )
