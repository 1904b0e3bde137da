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
from app.routers.xapi_documents_contract import (
    AGENT,
    BODIES,
    CREATE_ONLY,
    DESCRIPTIONS,
    ID,
    IF_MATCH,
    MAX_DOCUMENT_BYTES,
    OBJECT,
    PARAMS,
    READS,
    SINCE,
    WRITES,
    param,
)
from app.routers.xapi_http import VERSION_PARAM, Reader, Writer, xapi_router
from app.services.xapi import canonical, documents
from app.services.xapi.document_params import (
    KINDS,
    activity_iri,
    agent_param,
    check_params,
    parse,
    required,
)

router = xapi_router()


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
    params = [VERSION_PARAM, *(PARAMS[p] for p in context)]
    one = [*params, param(id_param, ID, needed=True)]
    listing = [*params, param(id_param, ID), SINCE]

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
        openapi: dict[str, Any] = {"parameters": [*parameters, *([IF_MATCH] * writing)]}
        if method in ("PUT", "POST"):
            openapi["requestBody"] = BODIES[method]
        router.add_api_route(
            path,
            handler,
            methods=[method],
            name=f"{name}-{method.lower()}",
            summary=summary + " (xAPI)",
            description=DESCRIPTIONS[method] + (CREATE_ONLY if method != "DELETE" else ""),
            status_code=200 if reading else 204,
            openapi_extra=openapi,
            responses=READS if reading else WRITES[method],
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


for _method in ("GET", "HEAD"):
    router.add_api_route(
        "/agents",
        get_person,
        methods=[_method],
        name=f"xapi-agents-{_method.lower()}",
        summary="The Person object of an Agent: its identifiers and the names it was given"
        + (" (xAPI)" if _method == "GET" else "; headers only"),
        openapi_extra={"parameters": [VERSION_PARAM, AGENT]},
        responses={**OBJECT, **error_responses(400, 401, 403)},
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
        openapi_extra={"parameters": [VERSION_PARAM, PARAMS["activityId"]]},
        responses={**OBJECT, **error_responses(400, 401, 403)},
    )
