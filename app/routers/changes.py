"""The change feed: every change the caller may see, in commit order (issue 10)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import TypeAdapter

from app.core.errors import error_responses
from app.core.etag import json_response, list_etag
from app.core.security import Principal
from app.deps import CurrentPrincipal, IfNoneMatch, SessionDep, insufficient_scope, require_scope
from app.models.change import ChangeEntry, ChangePage, ChangeQuery, ChangeType
from app.services.sync import feed

router = APIRouter(tags=["changes"])
_ENTRIES = TypeAdapter(list[ChangeEntry])
# The read scope an integration client needs for each type of entry.
TYPE_SCOPES = {
    ChangeType.course: "catalog:read",
    ChangeType.cohort: "catalog:read",
    ChangeType.session: "catalog:read",
    ChangeType.learner: "learners:read",
    ChangeType.enrollment: "enrollments:read",
    ChangeType.progress: "progress:read",
    ChangeType.attendance: "progress:read",
    ChangeType.certificate: "certificates:read",
    ChangeType.jp_record: "learners:read",  # the JP ledger is read with the learner
}


def _types_for(principal: Principal, asked: list[ChangeType] | None) -> list[ChangeType] | None:
    """People see every type (their roles decide what); an integration client only the
    types its scopes read: asked for one it lacks, 403; asked for none, those it holds."""
    if not principal.is_client:
        return asked
    for kind in asked or []:
        if TYPE_SCOPES[kind] not in principal.scopes:
            raise insufficient_scope(TYPE_SCOPES[kind])
    return asked or [k for k, scope in TYPE_SCOPES.items() if scope in principal.scopes]


@router.get(
    "/changes",
    name="changes-feed",
    summary="Follow every change you may see, in commit order (delta sync)",
    description="Start without `after` (the oldest change kept), apply each entry (upsert: "
    "store `data` under (type, id); a tombstone `data` `{id, deleted: true}`: drop it), then "
    "call again with `after=next_cursor`; an empty page means you are up to date, so poll "
    "with the same cursor. Sequences are handed out in commit order, so a change that commits "
    "late is never skipped. A cursor older than the retention (default 90 days) gets 410 "
    "`cursor_expired`: resync in full. An integration client needs `catalog:read`, and sees "
    "only the types its scopes read (learner: `learners:read`, enrollment: "
    "`enrollments:read`, progress and attendance: `progress:read`, certificate: "
    "`certificates:read`, jp_record: `learners:read`); a jp_record entry (a learner's yearly "
    "JP ledger) reaches only the learner's home agency, platform admins and the learner's "
    "own login; naming a type it has no scope for is 403 `insufficient_scope`.",
    dependencies=[require_scope("catalog:read")],
    responses={
        200: {"model": ChangePage, "description": 'A page; `Link: rel="next"` and ETag set.'},
        304: {"description": "Not modified"},
        **error_responses(401, 403, 410, 422),
    },
)
def read_changes(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    query: Annotated[ChangeQuery, Query()],
    if_none_match: IfNoneMatch = None,
) -> Response:
    asked = [ChangeType(t) for t in query.types.split(",")] if query.types else None
    types = _types_for(principal, asked)
    items, next_cursor = feed.read(
        session=session, principal=principal, after=query.after, types=types, limit=query.limit
    )
    body = _ENTRIES.dump_json(items).decode()
    payload = '{"items":' + body + ',"next_cursor":"' + next_cursor + '"}'
    params = {k: v for k, v in request.query_params.items() if k != "after"}
    params["after"] = next_cursor
    link = str(request.url.include_query_params(**params))
    return json_response(
        payload,
        list_etag([payload]),
        if_none_match=if_none_match,
        headers={"Link": f'<{link}>; rel="next"'},
    )
