"""The xAPI statement resource: ``/xapi/statements`` (POST, PUT, GET, HEAD) and
``/xapi/about``. Bodies are read and checked by app/services/xapi/validate.py, not by
FastAPI: the statement schema's rules depend on each other.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from fastapi import Depends, Request, Response

from app.core.config import get_settings
from app.core.errors import ProblemError, error_responses
from app.deps import SessionDep
from app.models.base import utcnow
from app.routers.xapi_http import (
    CONSISTENT,
    VERSION_PARAM,
    Reader,
    Writer,
    languages,
    stamp,
    xapi_router,
)
from app.services.xapi import attachments, query, statements, validate
from app.services.xapi.query import bad

router = xapi_router()
_STATEMENT_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "description": "One xAPI statement, or a list of them",
                "oneOf": [
                    {"type": "object"},
                    {"type": "array", "items": {"type": "object"}, "maxItems": 1000},
                ],
            }
        }
    },
}
# PUT stores exactly one statement: its body is the object alone
_ONE_STATEMENT_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {"schema": {"description": "One xAPI statement", "type": "object"}}
    },
}
_XAPI_ERRORS = error_responses(400, 401, 403, 409)
MAX_BATCH = 1000


async def _statements_body(request: Request) -> tuple[Any, dict[str, Any]]:
    """The statements (parsed JSON) and the attachment parts of a multipart request."""
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";")[0].strip().lower()
    if media not in ("application/json", "multipart/mixed"):
        raise bad(
            "Send statements as application/json, or as multipart/mixed with attachment content.",
            "Kirim pernyataan sebagai application/json, atau multipart/mixed bersama isi lampiran.",
        )
    raw = await request.body()
    parts: dict[str, Any] = {}
    if media == "multipart/mixed":
        raw, parts = attachments.split(raw, content_type)
    try:
        return json.loads(raw), parts
    except (ValueError, RecursionError):
        raise bad("The body is not valid JSON.", "Isi permintaan bukan JSON yang sah.") from None


Body = Annotated[tuple[Any, dict[str, Any]], Depends(_statements_body)]


def _version(request: Request) -> str:
    return "2.0.0" if getattr(request.state, "xapi_version", "2.0.0") == "2.0.0" else "1.0.0"


@router.post(
    "/statements",
    name="xapi-statements-post",
    summary="Store one statement or a list (xAPI); their ids",
    description="200 with the ids in order. A statement sent again with the same id and "
    "content changes nothing; a different statement with a used id is 409. Attachment content comes as "
    "multipart/mixed (statements first, then one part per attachment with "
    "X-Experience-API-Hash), or by fileUrl. Progress verbs on "
    "`{BANGKOM_PUBLIC_URL}/activities/modules/{module_id}` update the module's progress.",
    openapi_extra={"requestBody": _STATEMENT_BODY, "parameters": [VERSION_PARAM]},
    responses={
        200: {
            "description": "Ids of the statements",
            "content": {
                "application/json": {"schema": {"type": "array", "items": {"type": "string"}}}
            },
        },
        **_XAPI_ERRORS,
    },
)
def post_statements(
    request: Request, principal: Writer, body: Body, session: SessionDep
) -> Response:
    if request.query_params:
        raise bad(
            "POST /xapi/statements takes no parameters (alternate request syntax is not "
            "supported); use PUT with statementId to choose the id.",
            "POST /xapi/statements tidak menerima parameter (sintaks permintaan alternatif "
            "tidak didukung); gunakan PUT dengan statementId untuk memilih id.",
        )
    document, parts = body
    sent = document if isinstance(document, list) else [document]
    if len(sent) > MAX_BATCH:
        raise bad(
            f"Send at most {MAX_BATCH} statements a request.",
            f"Kirim paling banyak {MAX_BATCH} pernyataan per permintaan.",
        )
    ids = statements.store(
        session=session, principal=principal, sent=sent, version=_version(request), parts=parts
    )
    return Response(json.dumps(ids), media_type="application/json")


@router.put(
    "/statements",
    name="xapi-statements-put",
    summary="Store one statement under the id given as statementId (xAPI)",
    description="204 when stored, or when the same statement is already stored; 409 when "
    "another statement holds the id.",
    openapi_extra={
        "requestBody": _ONE_STATEMENT_BODY,
        "parameters": [
            VERSION_PARAM,
            {
                "name": "statementId",
                "in": "query",
                "required": True,
                "schema": {
                    "type": "string",
                    "format": "uuid",
                    "maxLength": 36,
                    "pattern": validate.UUID.pattern,
                },
            },
        ],
    },
    status_code=204,
    responses={204: {"description": "Stored"}, **_XAPI_ERRORS},
)
def put_statement(request: Request, principal: Writer, body: Body, session: SessionDep) -> Response:
    params = dict(request.query_params)
    if set(params) != {"statementId"}:
        raise bad(
            "PUT /xapi/statements takes exactly one parameter, statementId.",
            "PUT /xapi/statements menerima tepat satu parameter, statementId.",
        )
    try:
        ident = validate.uuid(params["statementId"], "statementId").lower()
    except ProblemError as exc:
        raise bad(exc.detail or "", exc.detail_id or "") from None
    document, parts = body
    if not isinstance(document, dict):
        raise bad("PUT takes one statement object.", "PUT menerima satu objek pernyataan.")
    if str(document.get("id", ident)).lower() != ident:
        raise bad(
            "The statement's id differs from statementId; make them the same or leave id out.",
            "id pernyataan berbeda dari statementId; samakan atau hapus id.",
        )
    statements.store(
        session=session,
        principal=principal,
        sent=[{**document, "id": ident}],
        version=_version(request),
        parts=parts,
    )
    return Response(status_code=204)


@router.api_route(
    "/statements",
    methods=["GET"],
    name="xapi-statements-get",
    openapi_extra={"parameters": [VERSION_PARAM]},
    summary="One statement, or a StatementResult filtered and paged (xAPI)",
    description="Parameters as xAPI defines them: statementId, voidedStatementId, agent "
    "(JSON), verb, activity, registration, related_activities, related_agents, since, "
    f"until, limit (0: the maximum, {query.MAX_LIMIT}), format (exact, ids, canonical), "
    "attachments, ascending; `more` is the next page's URL. Unknown parameters are 400.",
    responses={
        200: {
            "description": "A Statement or a StatementResult",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        **error_responses(400, 401, 403, 404),
    },
)
def get_statements(request: Request, principal: Reader, session: SessionDep) -> Response:
    multi = {k for k in request.query_params if len(request.query_params.getlist(k)) > 1}
    params = dict(request.query_params)
    q = query.parse(params, multi)
    wanted = languages(request.headers.get("accept-language"))
    consistent = utcnow()
    headers = {CONSISTENT: stamp(consistent)}
    if q.statement_id or q.voided_id:
        row = query.one(session, principal.agency_id, q)
        document: Any = query.shaped(json.loads(row.body), q.format, wanted)
        modified = row.stored
    else:
        rows, cursor = query.page(session, principal.agency_id, q)
        document = {
            "statements": [query.shaped(json.loads(r.body), q.format, wanted) for r in rows],
            "more": query.more_link(request.url.path, params, cursor) if cursor else "",
        }
        modified = max((r.stored for r in rows), default=consistent)
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    headers["Last-Modified"] = modified.strftime("%a, %d %b %Y %H:%M:%S GMT")
    headers["ETag"] = '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'
    if request.method == "HEAD":
        return Response(status_code=200, headers=headers, media_type="application/json")
    if q.attachments:
        shown = document["statements"] if "statements" in document else [document]
        files = attachments.load(session, principal.agency_id, shown)
        content, media = attachments.multipart(text, files)
        return Response(content, media_type=media, headers=headers)
    return Response(text, media_type="application/json", headers=headers)


router.add_api_route(
    "/statements",
    get_statements,
    methods=["HEAD"],
    name="xapi-statements-head",
    openapi_extra={"parameters": [VERSION_PARAM]},
    summary="As GET /xapi/statements, without the body",
    responses={
        200: {"description": "Headers of the GET answer"},
        **error_responses(400, 401, 403, 404),
    },
)


@router.get(
    "/about",
    name="xapi-about",
    summary="The xAPI versions this LRS speaks",
    responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}}},
)
def about() -> Response:
    body = {
        "version": ["2.0.0", "1.0.3"],
        "extensions": {
            get_settings().public_url.rstrip("/") + "/xapi/extensions/bangkom": {
                "module_activities": get_settings().public_url.rstrip("/")
                + "/activities/modules/{module_id}",
                "attachments": "by fileUrl only",
            }
        },
    }
    return Response(json.dumps(body), media_type="application/json")
