"""The OpenAPI declarations of the xAPI document resources (app/routers/xapi_documents.py):
their query parameters, bodies, conditional-request headers, answers and descriptions.
The parameters are checked at run time by app/services/xapi/document_params.py; these
say the same in the contract."""

from __future__ import annotations

from typing import Any

from app.core.errors import error_responses
from app.services.xapi.document_params import MAX_AGENT, MAX_DOCUMENT_ID
from app.services.xapi.validate import IRI, MAX_IRI, UUID

MAX_DOCUMENT_BYTES = 1024 * 1024  # 1 MiB a document


def param(name: str, schema: dict[str, Any], *, needed: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": needed, "schema": schema}


_IRI = {"type": "string", "format": "iri", "maxLength": MAX_IRI, "pattern": IRI.pattern}
AGENT = {
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
PARAMS: dict[str, dict[str, Any]] = {
    "activityId": param("activityId", _IRI, needed=True),
    "agent": AGENT,
    "registration": param(
        "registration",
        {"type": "string", "format": "uuid", "maxLength": 36, "pattern": UUID.pattern},
    ),
}
ID = {"type": "string", "minLength": 1, "maxLength": MAX_DOCUMENT_ID}
SINCE = param(
    "since",
    {
        "type": "string",
        "format": "date-time",
        "maxLength": 40,
        "pattern": r"^(19[0-9][0-9]|2[01][0-9][0-9]|2200)-",
    },
)
IF_MATCH = {
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
BODIES = {
    "PUT": _body({}, "The document"),
    "POST": _body({"type": "object"}, "The document (JSON is merged, so it must be an object)"),
}
# If-None-Match: * (create only) is described, not declared: a declared If-None-Match
# means a conditional read (304) in this contract (tests/test_openapi.py)
CREATE_ONLY = (
    " Concurrency (xAPI Communication 3.1): If-Match with the ETag read replaces only that "
    "version, If-None-Match: * only creates; either failing is 412."
)
READS: dict[int | str, dict[str, Any]] = {
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
DESCRIPTIONS = {
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
WRITES = {
    "PUT": {**_DONE, **error_responses(400, 401, 403, 409, 412, 413)},
    "POST": {**_DONE, **error_responses(400, 401, 403, 412, 413)},
    "DELETE": {**_DONE, **error_responses(400, 401, 403, 412)},
}

OBJECT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {"schema": {"type": "object"}}}}
}
