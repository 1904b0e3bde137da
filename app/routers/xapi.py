"""The xAPI statement endpoint: ``/xapi/statements`` (POST, PUT, GET), ``/xapi/about``,
and the module activity definitions at ``/activities/modules/{module_id}``.

xAPI's rules apply on these routes (status codes, ``X-Experience-API-Version`` on every
request but /about, 400 for unknown parameters); error bodies stay problem+json. Bodies
are read and checked by app/services/xapi/validate.py, not by FastAPI: the statement
schema's rules depend on each other.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Request, Response, Security
from fastapi.routing import APIRoute
from fastapi.security import HTTPBasic, HTTPBasicCredentials, SecurityScopes

from app.core import ratelimit
from app.core.config import get_settings
from app.core.db import session_scope
from app.core.errors import ProblemError, error_responses
from app.core.pagination import Page, clamp_limit, page_response
from app.core.security import Principal
from app.deps import CurrentPrincipal, SessionDep, oauth2_scheme, optional_principal, require_scope
from app.models.base import utcnow
from app.models.xapi import UnmatchedQuery, UnmatchedStatement
from app.routers.params import IdPath
from app.services.xapi import activities as definitions
from app.services.xapi import attachments, auth, query, statements, validate
from app.services.xapi.query import bad

VERSION_HEADER = "X-Experience-API-Version"
CONSISTENT = "X-Experience-API-Consistent-Through"
VERSION = re.compile(r"^([12])\.0(\.\d+)?$")
ANSWER = {"1": "1.0.3", "2": "2.0.0"}
_basic = HTTPBasic(auto_error=False, realm="bangkom-xapi", scheme_name="xAPIBasic")


class XapiRoute(APIRoute):
    """Every answer (errors too) names the xAPI version it speaks; every request but
    /about must name one (1.0.x or 2.0.x) or gets 400."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        about = self.path.endswith("/about")
        reads = bool({"GET", "HEAD"} & (self.methods or set())) and not about

        async def route(request: Request) -> Response:
            sent = request.headers.get(VERSION_HEADER)
            match = VERSION.match(sent.strip()) if sent else None
            # no (or no valid) version: the 400 names 1.0.3, which every 1.0.x and 2.0.x
            # client reads (the ADL suite's 1.0.3 battery requires it; its 2.0 one takes it)
            answer = ANSWER[match.group(1)] if match else ANSWER["2" if about else "1"]
            try:
                if match is None and not about:
                    raise bad(
                        f"Send the header {VERSION_HEADER} with the xAPI version you speak: "
                        "2.0.0 or 1.0.3.",
                        f"Kirim header {VERSION_HEADER} dengan versi xAPI yang Anda pakai: "
                        "2.0.0 atau 1.0.3.",
                    )
                request.state.xapi_version = answer
                response = await handler(request)
            except ProblemError as exc:
                exc.headers[VERSION_HEADER] = answer
                if reads:
                    exc.headers.setdefault(CONSISTENT, _stamp(utcnow()))
                raise
            response.headers[VERSION_HEADER] = answer
            return response

        return route


router = APIRouter(prefix="/xapi", tags=["xapi"], route_class=XapiRoute)
activities = APIRouter(tags=["xapi"])
v1 = APIRouter(tags=["xapi"])  # Bangkom's own view, under /v1


def _principal(scope: str) -> Any:
    async def dependency(
        request: Request,
        security_scopes: SecurityScopes,
        basic: Annotated[HTTPBasicCredentials | None, Depends(_basic)],
        token: Annotated[str | None, Depends(oauth2_scheme)],
    ) -> Principal:
        principal: Principal | None
        if basic is not None:
            address = request.client.host if request.client else None

            def look_up() -> tuple[Principal, int | None]:
                with session_scope() as session:
                    return auth.basic_principal(session, basic.username, basic.password, address)

            client, limit = await anyio.to_thread.run_sync(look_up)
            quota = await ratelimit.hit_async(client.subject, limit)
            if quota is not None:
                setattr(request.state, ratelimit.STATE_KEY, quota)
            request.state.agency_id = client.agency_id
            principal = client
        else:
            principal = await optional_principal(request, token)
        if principal is None:
            raise auth.unauthorized(
                "Send credentials: HTTP Basic with an integration client's client_id and "
                "client_secret, or 'Authorization: Bearer <token>'.",
                "Kirim kredensial: HTTP Basic dengan client_id dan client_secret klien "
                "integrasi, atau 'Authorization: Bearer <token>'.",
            )
        auth.allowed(principal, scope)
        return principal

    return Security(dependency, scopes=[scope])


Reader = Annotated[Principal, _principal(auth.READ)]
Writer = Annotated[Principal, _principal(auth.WRITE)]
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
# Every /xapi request but /about names its xAPI version (else 400); documented, not parsed
# by FastAPI (XapiRoute reads it so that even a 401 answers with the version).
VERSION_PARAM: dict[str, Any] = {
    "name": VERSION_HEADER,
    "in": "header",
    "required": True,
    "description": "The xAPI version the client speaks: 2.0.0 (or 2.0.x) or 1.0.3 (1.0.x)",
    "schema": {"type": "string", "maxLength": 12, "pattern": r"^[12]\.0(\.[0-9]{1,6})?$"},
}
MAX_BATCH = 1000
UnmatchedPage = Page[UnmatchedStatement]


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
    languages = _languages(request.headers.get("accept-language"))
    consistent = utcnow()
    headers = {CONSISTENT: _stamp(consistent)}
    if q.statement_id or q.voided_id:
        row = query.one(session, principal.agency_id, q)
        document: Any = query.shaped(json.loads(row.body), q.format, languages)
        modified = row.stored
    else:
        rows, cursor = query.page(session, principal.agency_id, q)
        document = {
            "statements": [query.shaped(json.loads(r.body), q.format, languages) for r in rows],
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


def _stamp(at: Any) -> str:
    return str(at.isoformat(timespec="milliseconds").replace("+00:00", "Z"))


def _languages(header: str | None) -> list[str]:
    return [
        p.split(";")[0].strip().lower()
        for p in (header or "").split(",")
        if p.strip() and p.strip() != "*"
    ]


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


@activities.get(
    "/activities/modules/{module_id}",
    name="xapi-activity-module",
    summary="The xAPI activity definition of a curriculum module (its activity id's target)",
    description="A module's xAPI activity id is this URL. Statements with a progress verb "
    "on it update the module's progress. Public for modules of published courses.",
    responses={
        200: {"content": {"application/json": {"schema": {"type": "object"}}}},
        **error_responses(404),
    },
)
def module_activity(module_id: IdPath, session: SessionDep) -> Response:
    body = json.dumps(definitions.module_activity(session, module_id), ensure_ascii=False)
    return Response(body, media_type="application/json")


@v1.get(
    "/xapi/unmatched",
    name="xapi-unmatched-list",
    dependencies=[require_scope(auth.READ)],
    summary="Statements that carried a progress verb on a module but did not land as progress",
    description="The caller's agency's statements with a progress verb on a module activity "
    "that matched no learner (`learner_unknown`), no module (`module_unknown`), no "
    "enrolment of the learner in a cohort of the agency with the module (`not_enrolled`), "
    "or that the progress rules refused (`enrollment_not_active`, `cohort_final`, "
    "`certificates_issued`, ...). Oldest first. They stay stored and readable at "
    "/xapi/statements; send them again under a new id once the cause is fixed.",
    responses={
        200: {"model": UnmatchedPage, "description": 'A page; `Link: rel="next"`.'},
        **error_responses(401, 403, 422),
    },
)
def list_unmatched(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    params: Annotated[UnmatchedQuery, Query()],
) -> Response:
    auth.allowed(principal, auth.READ)
    items, next_cursor = query.unmatched(
        session, principal.agency_id, limit=clamp_limit(params.limit), cursor=params.cursor
    )
    return page_response(request, UnmatchedPage(items=items, next_cursor=next_cursor))


def install(app: Any, strict_query: list[Any]) -> None:
    """/xapi answers unknown parameters itself (400, as xAPI says); /activities is strict."""
    app.include_router(router)
    app.include_router(activities, dependencies=strict_query)
