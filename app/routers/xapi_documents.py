"""The xAPI document resources and the readers beside them: State
(``/xapi/activities/state``), Activity Profile (``/xapi/activities/profile``), Agent
Profile (``/xapi/agents/profile``), Agents (``/xapi/agents``, the Person object) and
Activities (``/xapi/activities``, the full Activity object).

Parameters are read by app/services/xapi/document_params.py as xAPI defines them (400 for
unknown ones), documents kept by app/services/xapi/documents.py, one agency's apart from
every other's. A document is at most ``MAX_DOCUMENT_BYTES`` (413 beyond).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request, Response

from app.core.errors import ProblemError, error_responses
from app.deps import SessionDep
from app.models.base import utcnow
from app.routers.xapi_http import VERSION_PARAM, Reader, Writer, xapi_router
from app.services.xapi import canonical, documents
from app.services.xapi.document_params import (
    KINDS,
    MAX_AGENT,
    MAX_DOCUMENT_ID,
    activity_iri,
    agent_param,
    check_params,
    parse,
    required,
)
from app.services.xapi.validate import IRI, MAX_IRI, UUID

MAX_DOCUMENT_BYTES = 1024 * 1024  # 1 MiB a document
router = xapi_router()


def _param(name: str, schema: dict[str, Any], *, needed: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": needed, "schema": schema}


_IRI = {"type": "string", "format": "iri", "maxLength": MAX_IRI, "pattern": IRI.pattern}
_AGENT = {
    "name": "agent",
    "in": "query",
    "required": True,
    "description": 'An Agent with one identifier, as JSON: {"mbox": "mailto:..."}, '
    '{"mbox_sha1sum": "..."}, {"openid": "..."} or {"account": {"homePage": "...", '
    '"name": "..."}} (objectType Agent and name allowed; not a Group)',
    "schema": {
        "type": "string",
        "maxLength": MAX_AGENT,
        "contentMediaType": "application/json",
        "example": '{"mbox":"mailto:ani@example.go.id"}',
    },
}
_PARAMS: dict[str, dict[str, Any]] = {
    "activityId": _param("activityId", _IRI, needed=True),
    "agent": _AGENT,
    "registration": _param(
        "registration",
        {"type": "string", "format": "uuid", "maxLength": 36, "pattern": UUID.pattern},
    ),
}
_ID = {"type": "string", "minLength": 1, "maxLength": MAX_DOCUMENT_ID}
_SINCE = _param(
    "since",
    {
        "type": "string",
        "format": "date-time",
        "maxLength": 40,
        "pattern": r"^(19[0-9][0-9]|2[01][0-9][0-9]|2200)-",
    },
)
_IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "The document's ETag as last read: the write is refused (412) if it changed",
    # as the rest of the API's If-Match (app/deps.IfMatch): any value; one that names no
    # current ETag is 412
    "schema": {"type": "string"},
}


def _body(json_schema: dict[str, Any], what: str) -> dict[str, Any]:
    return {
        "required": True,
        "description": f"{what}: any content type, at most {MAX_DOCUMENT_BYTES} bytes",
        "content": {
            "application/json": {"schema": json_schema},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }


# PUT stores any document, JSON of any type included; POST merges, so JSON must be an object
_BODIES = {
    "PUT": _body({}, "The document"),
    "POST": _body({"type": "object"}, "The document (JSON is merged, so it must be an object)"),
}
# If-None-Match: * (create only) is described, not declared: a declared If-None-Match
# means a conditional read (304) in this contract (tests/test_openapi.py)
_CREATE_ONLY = (
    " Concurrency (xAPI Communication 3.1): If-Match with the ETag read replaces only that "
    "version, If-None-Match: * only creates; either failing is 412."
)
_READS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "With the id: the document as stored (its Content-Type, ETag, "
        "Last-Modified); without: the ids of the context's documents (changed after since)",
        "content": {
            "application/json": {"schema": {}},
            "*/*": {"schema": {"type": "string", "format": "binary"}},
        },
    },
    **error_responses(400, 401, 403, 404),
}
_DESCRIPTIONS = {
    "GET": "With the document id: the document as stored (its Content-Type, an ETag that is "
    "the SHA-1 of its content, Last-Modified); without: the ids of the context's "
    "documents, those changed after since only if given. 404 when the document is absent.",
    "HEAD": "As GET, headers only.",
    "PUT": f"Stores the body (any content type, at most {MAX_DOCUMENT_BYTES} bytes) as the "
    "document. On the Activity and Agent Profile resources a PUT must carry If-Match or "
    "If-None-Match: 409 over an existing document, 400 where there is none yet; the State "
    "resource replaces without them.",
    "POST": "Stores a new document, or merges a JSON object into an existing JSON one (its "
    "top-level properties replace the stored ones). 400 when either is not a JSON object.",
    "DELETE": "Deletes the document (204 also when there is none); on the State resource "
    "without stateId, every document of the context (of the registration if given).",
}
_DONE: dict[int | str, dict[str, Any]] = {204: {"description": "Done"}}
_WRITES = {
    "PUT": {**_DONE, **error_responses(400, 401, 403, 409, 412, 413)},
    "POST": {**_DONE, **error_responses(400, 401, 403, 412, 413)},
    "DELETE": {**_DONE, **error_responses(400, 401, 403, 412)},
}


def _too_large() -> ProblemError:
    return ProblemError(
        413,
        "payload_too_large",
        f"A document may hold at most {MAX_DOCUMENT_BYTES} bytes; store a smaller one "
        "(large files belong in statement attachments or behind a URL).",
        detail_id=f"Dokumen paling besar {MAX_DOCUMENT_BYTES} bita; simpan dokumen yang lebih "
        "kecil (berkas besar sebaiknya menjadi lampiran pernyataan atau diberikan lewat URL).",
    )


async def _document_body(request: Request) -> tuple[bytes, str]:
    """The body (read no further than the limit) and its Content-Type."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_DOCUMENT_BYTES:
        raise _too_large()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_DOCUMENT_BYTES:
            raise _too_large()
        chunks.append(chunk)
    content_type = request.headers.get("content-type") or "application/octet-stream"
    if len(content_type) > 255:
        raise ProblemError(
            400,
            "xapi_bad_request",
            "The Content-Type header may be at most 255 characters.",
            detail_id="Header Content-Type paling panjang 255 karakter.",
        )
    return b"".join(chunks), content_type


Body = Annotated[tuple[bytes, str], Depends(_document_body)]


def _query(request: Request) -> tuple[dict[str, str], set[str]]:
    params = request.query_params
    return dict(params), {k for k in params if len(params.getlist(k)) > 1}


def _http_date(at: datetime) -> str:
    return at.strftime("%a, %d %b %Y %H:%M:%S GMT")


def _json(request: Request, value: Any, modified: datetime | None) -> Response:
    """A JSON answer with its ETag (SHA-1 of the bytes) and Last-Modified."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {
        "ETag": '"' + hashlib.sha1(text, usedforsecurity=False).hexdigest() + '"',
        "Last-Modified": _http_date(modified or utcnow()),
    }
    if request.method == "HEAD":
        return Response(status_code=200, headers=headers, media_type="application/json")
    return Response(text, headers=headers, media_type="application/json")


def _document_routes(path: str, kind: str) -> None:
    label, id_param, context = KINDS[kind]
    name = "xapi-" + path.strip("/").replace("/", "-")
    params = [VERSION_PARAM, *(_PARAMS[p] for p in context)]
    one = [*params, _param(id_param, _ID, needed=True)]
    listing = [*params, _param(id_param, _ID), _SINCE]

    def get(request: Request, principal: Reader, session: SessionDep) -> Response:
        query, multi = _query(request)
        target = parse(kind, query, multi, one=False, listing=True)
        if target.document_id is None:
            found, modified = documents.ids(session, principal.agency_id, target)
            return _json(request, found, modified)
        doc = documents.read(session, principal.agency_id, target)
        headers = {"ETag": documents.quoted(doc), "Last-Modified": _http_date(doc.updated)}
        content = b"" if request.method == "HEAD" else doc.content
        return Response(content, headers=headers, media_type=doc.content_type)

    def writer(merge: bool) -> Callable[..., Response]:
        def write(request: Request, principal: Writer, body: Body, session: SessionDep) -> Response:
            query, multi = _query(request)
            target = parse(kind, query, multi, one=True)
            documents.write(
                session=session,
                agency_id=principal.agency_id,
                target=target,
                content=body[0],
                content_type=body[1],
                merge=merge,
                if_match=request.headers.get("if-match"),
                if_none_match=request.headers.get("if-none-match"),
            )
            return Response(status_code=204)

        return write

    def delete(request: Request, principal: Writer, session: SessionDep) -> Response:
        query, multi = _query(request)
        target = parse(kind, query, multi, one=kind != "state")
        documents.delete(
            session=session,
            agency_id=principal.agency_id,
            target=target,
            if_match=request.headers.get("if-match"),
        )
        return Response(status_code=204)

    state = kind == "state"
    everything = ", or (without stateId) all of the context" if state else ""
    routes: list[tuple[str, Callable[..., Response], str, list[dict[str, Any]]]] = [
        ("GET", get, f"One {label} document, or the ids of the context's", listing),
        ("HEAD", get, f"As GET {path}, without the body", listing),
        ("PUT", writer(False), f"Store (replace) a {label} document", one),
        ("POST", writer(True), f"Store a {label} document, or merge JSON into it", one),
        (
            "DELETE",
            delete,
            f"Delete a {label} document" + everything,
            listing[:-1] if state else one,
        ),
    ]
    for method, handler, summary, parameters in routes:
        reading = method in ("GET", "HEAD")
        writing = method in ("PUT", "POST", "DELETE")
        openapi: dict[str, Any] = {"parameters": [*parameters, *([_IF_MATCH] * writing)]}
        if method in ("PUT", "POST"):
            openapi["requestBody"] = _BODIES[method]
        router.add_api_route(
            path,
            handler,
            methods=[method],
            name=f"{name}-{method.lower()}",
            summary=summary + " (xAPI)",
            description=_DESCRIPTIONS[method] + (_CREATE_ONLY if method != "DELETE" else ""),
            status_code=200 if reading else 204,
            openapi_extra=openapi,
            responses=_READS if reading else _WRITES[method],
        )


_document_routes("/activities/state", "state")
_document_routes("/activities/profile", "activity")
_document_routes("/agents/profile", "agent")


def get_person(request: Request, principal: Reader, session: SessionDep) -> Response:
    query, multi = _query(request)
    check_params(query, multi, {"agent"})
    sent, key = agent_param(required(query, "agent"))
    return _json(request, canonical.person(session, principal.agency_id, sent, key), None)


def get_activity(request: Request, principal: Reader, session: SessionDep) -> Response:
    query, multi = _query(request)
    check_params(query, multi, {"activityId"})
    iri = activity_iri(required(query, "activityId"))
    return _json(request, canonical.activity(session, principal.agency_id, iri), None)


_OBJECT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {"schema": {"type": "object"}}}}
}
for _method in ("GET", "HEAD"):
    router.add_api_route(
        "/agents",
        get_person,
        methods=[_method],
        name=f"xapi-agents-{_method.lower()}",
        summary="The Person object of an Agent: its identifiers and the names it was given"
        + (" (xAPI)" if _method == "GET" else "; headers only"),
        openapi_extra={"parameters": [VERSION_PARAM, _AGENT]},
        responses={**_OBJECT, **error_responses(400, 401, 403)},
    )
    router.add_api_route(
        "/activities",
        get_activity,
        methods=[_method],
        name=f"xapi-activities-{_method.lower()}",
        summary="The full Activity object: every definition statements gave it"
        + (" (xAPI)" if _method == "GET" else "; headers only"),
        description="Bangkom's module activities "
        "(`{BANGKOM_PUBLIC_URL}/activities/modules/{module_id}`) answer their catalogue "
        "definition; any other id the definitions the agency's statements gave it, merged.",
        openapi_extra={"parameters": [VERSION_PARAM, _PARAMS["activityId"]]},
        responses={**_OBJECT, **error_responses(400, 401, 403)},
    )
