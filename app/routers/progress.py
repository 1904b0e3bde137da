"""Learner progress: ``PUT /v1/enrollments/{id}/progress/{module_id}`` (one record),
``POST /v1/progress/batch`` (up to 10,000) and ``GET /v1/enrollments/{id}/progress``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from pydantic_core import to_json

from app.core.errors import ProblemError, error_responses
from app.core.etag import json_response
from app.core.idempotency import idempotent
from app.core.openapi import EXTRA_SCHEMAS
from app.deps import AgencyAdmin, CurrentPrincipal, IfNoneMatch, SessionDep, require_scope
from app.models.progress import (
    MAX_BATCH,
    EnrollmentProgress,
    ProgressBatch,
    ProgressBatchAnswer,
    ProgressBatchQuery,
    ProgressIn,
    ProgressRecordPublic,
)
from app.routers.params import IdPath
from app.services.learning import progress as service
from app.services.learning import progress_reads as reads

router = APIRouter(tags=["progress"])
BATCH = TypeAdapter(ProgressBatch)
_schema = ProgressBatch.model_json_schema(ref_template="#/components/schemas/{model}")
EXTRA_SCHEMAS.update(_schema.pop("$defs", {}))
EXTRA_SCHEMAS["ProgressBatch"] = _schema
_BODY: dict[str, Any] = {
    "required": True,
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ProgressBatch"}}},
}
OUTCOME_HEADER = "Progress-Outcome"


async def _raw_body(request: Request) -> bytes:
    """The batch's bytes, read whole (parsed below, faster than FastAPI's body); sent as
    JSON like every other JSON body (else 415, as the error handler answers elsewhere)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        shown = media or "no Content-Type"
        shown_id = media or "tanpa Content-Type"
        raise ProblemError(
            415,
            "unsupported_media_type",
            f"Send the batch as JSON with 'Content-Type: application/json' (got {shown}).",
            detail_id="Kirim batch sebagai JSON dengan 'Content-Type: application/json' "
            f"(diterima: {shown_id}).",
        )
    return await request.body()


RawBody = Annotated[bytes, Depends(_raw_body)]
_OUTCOME_DOC = {
    OUTCOME_HEADER: {
        "description": "created, updated, unchanged (this very record is stored: a replay) "
        "or stale (a newer record is stored and kept)",
        "schema": {"type": "string", "enum": ["created", "updated", "unchanged", "stale"]},
    },
    "ETag": {"description": "The record's version", "schema": {"type": "string"}},
}


@router.put(
    "/enrollments/{enrollment_id}/progress/{module_id}",
    name="progress-put",
    dependencies=[require_scope("progress:write")],
    summary="Record a learner's progress in one module (the LMS's latest state)",
    description="Idempotent and safe against reordering: the stored record is replaced "
    "only by one whose `occurred_at` is newer; the same record again (same `source`, "
    "`external_id`, `occurred_at`) changes nothing. 201 when the record is new, else 200; "
    "the `Progress-Outcome` header says `created`, `updated`, `unchanged` or `stale`, and "
    "the body is the stored record. Rules: the module must be in the curriculum of the "
    "enrolment's cohort (404 `module_not_in_curriculum`); `score` only for assessed "
    "modules; `jp_earned` at most the module's JP (left out: the module's JP when "
    "completed, else 0); `completed` means `percent` 100 (left out: 100 when completed, "
    "else 0); the enrolment must be seated or evaluated (409 `enrollment_not_active`) and "
    "the cohort neither completed nor cancelled (409 `cohort_final`) nor its certificates "
    "issued (409 `certificates_issued`). Written by the "
    "organising agency's admins; others who see the enrolment get 403.",
    responses={
        200: {"model": ProgressRecordPublic, "headers": _OUTCOME_DOC},
        201: {"model": ProgressRecordPublic, "headers": _OUTCOME_DOC},
        **error_responses(401, 403, 404, 409, 422),
    },
)
def put_progress(
    enrollment_id: IdPath,
    module_id: IdPath,
    data: ProgressIn,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> Response:
    record, etag, outcome = service.put_progress(
        session=session,
        principal=principal,
        enrollment_id=enrollment_id,
        module_id=module_id,
        data=data,
    )
    return json_response(
        record.model_dump_json(),
        etag,
        status_code=201 if outcome == "created" else 200,
        headers={OUTCOME_HEADER: outcome.value},
    )


@router.post(
    "/progress/batch",
    name="progress-batch",
    dependencies=[require_scope("progress:write")],
    summary="Record up to 10,000 progress records at once, each checked on its own",
    description=f"Up to {MAX_BATCH:,} records (more is 422 naming the limit). Each names "
    "its enrolment by `enrollment_id` or by `cohort_id` + `learner_key` (NIP, "
    "pppk:<NI PPPK>, ext:...), and its `module_id`; the rules are PUT's. `partial` "
    "(default): good records are written, bad ones come back `rejected` with their "
    "errors; `all_or_nothing`: one rejected record and nothing is written (422 "
    "`progress_rejected` with every record's result). `dry_run=true` checks and answers "
    "the outcomes without writing. 201 when records were created or updated, else 200 "
    "(`written` says the same). Outcomes: created, updated, unchanged, stale, rejected "
    "(several records for one module: the newest wins, the others are stale). A body that "
    "breaks the schema is a 422 naming the record (`loc` body, records, index, field).",
    openapi_extra={"requestBody": _BODY},
    responses={
        200: {"model": ProgressBatchAnswer, "description": "Nothing new was written"},
        201: {"model": ProgressBatchAnswer, "description": "Records created or updated"},
        **error_responses(401, 403, 413, 415, 422),
    },
)
@idempotent
def progress_batch(
    principal: AgencyAdmin,  # before the body: an anonymous batch is 401 unread
    raw: RawBody,
    session: SessionDep,
    query: Annotated[ProgressBatchQuery, Query()],
) -> Response:
    try:
        body = BATCH.validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None
    answer = service.batch(session=session, principal=principal, items=body.records, query=query)
    return Response(
        to_json(answer),
        status_code=201 if answer["written"] else 200,
        media_type="application/json",
    )


@router.get(
    "/enrollments/{enrollment_id}/progress",
    name="progress-get",
    dependencies=[require_scope("progress:read")],
    summary="An enrolment's progress: every module of the curriculum and the totals",
    description="Modules in curriculum order with their record (`not_started` without "
    "one); JP earned per learning mode next to the curriculum's `jp_by_mode`; `percent` "
    "is the module percents weighted by their JP. Whoever sees the enrolment reads it "
    "(organiser, partners, the learner's home agency, the learner's own login).",
    responses={
        200: {"model": EnrollmentProgress},
        304: {"description": "Not modified"},
        **error_responses(401, 404),
    },
)
def get_progress(
    enrollment_id: IdPath,
    principal: CurrentPrincipal,
    session: SessionDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    answer, etag = reads.read_progress(
        session=session, principal=principal, enrollment_id=enrollment_id
    )
    return json_response(answer.model_dump_json(), etag, if_none_match=if_none_match)
