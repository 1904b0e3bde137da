"""Bulk enrolment from a roster: ``POST /v1/cohorts/{id}/enrollments/bulk`` with a JSON
list of rows, a CSV body, an Excel workbook body or a multipart upload (``file``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import Field, TypeAdapter, ValidationError
from starlette.datastructures import UploadFile

from app.core.errors import ProblemError, error_responses
from app.core.idempotency import idempotent
from app.core.openapi import EXTRA_SCHEMAS
from app.deps import AgencyAdmin, SessionDep, require_scope
from app.models.enrollment import BulkQuery, BulkResult, BulkRow
from app.routers.params import IdPath
from app.services.learning import bulk_enrollment as service
from app.services.learning.roster_cells import ID_FIELDS, cell_value, check_ids
from app.services.learning.roster_files import (
    MAX_ROWS,
    XLSX_TYPE,
    RosterRow,
    RowError,
    parse_roster,
)

router = APIRouter(tags=["enrollments"])
ROWS = TypeAdapter(Annotated[list[BulkRow], Field(min_length=1, max_length=MAX_ROWS)])
JSON_TYPES = {"application/json"}
EXTRA_SCHEMAS["BulkRow"] = BulkRow.model_json_schema()

_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/BulkRow"},
                "minItems": 1,
                "maxItems": MAX_ROWS,
            }
        },
        "text/csv": {"schema": {"type": "string"}},
        XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "additionalProperties": False,
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        },
    },
}


async def _upload(request: Request) -> tuple[bytes, str]:
    """The roster's bytes and media type: the body, or the ``file`` part of a form."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "multipart/form-data":
        return await request.body(), media
    form = await request.form(max_files=1, max_fields=5)
    part = form.get("file")
    if not isinstance(part, UploadFile):
        raise ProblemError(
            422,
            "validation_error",
            "Send the roster in a form part named 'file'.",
            detail_id="Kirim daftar peserta pada bagian formulir bernama 'file'.",
            errors=[
                {
                    "loc": ["body", "file"],
                    "msg": "Send the roster in a form part named 'file'.",
                    "msg_id": "Kirim daftar peserta pada bagian formulir bernama 'file'.",
                    "type": "missing",
                }
            ],
        )
    data = await part.read()
    return data, (part.content_type or "").split(";")[0].strip().lower()


Upload = Annotated[tuple[bytes, str], Depends(_upload)]


def _json_rows(data: bytes) -> list[RosterRow]:
    try:
        items = ROWS.validate_json(data)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None
    rows: list[RosterRow] = []
    seen: dict[tuple[str, str], int] = {}
    for number, item in enumerate(items, start=1):
        errors: list[RowError] = []
        fields = {f: cell_value(f, getattr(item, f), errors) for f in (*ID_FIELDS, "name")}
        check_ids(number, fields, errors, seen)
        rows.append(RosterRow(number, fields, errors))
    return rows


@router.post(
    "/cohorts/{cohort_id}/enrollments/bulk",
    name="enrollments-bulk",
    dependencies=[require_scope("enrollments:write")],
    summary="Enrol many learners from a roster: JSON rows, CSV, Excel (.xlsx) or an upload",
    description="Up to 10,000 rows. Each row names an existing learner by `nip` (or "
    "`ni_pppk`, or `learner_key` for any key: `pppk:<NI PPPK>`, "
    "`ext:<agency-slug>:<external_ref>`; a NIP column may hold such keys too); a learner "
    "whose enrolment was withdrawn is enrolled again on it; unknown learners are rejected (`learner_not_found`). Seats go in row "
    "order as single enrolments would. `all_or_nothing` (default): one rejected row and "
    "nothing is written, 422 `bulk_rejected` with every row's outcome; `partial`: good "
    "rows are written. `dry_run=true` checks and answers 200 without writing; a write "
    "answers 201. Rows are numbered as a spreadsheet shows them (header = row 1); in a "
    "JSON list the first item is row 1.",
    status_code=201,
    openapi_extra={"requestBody": _BODY},
    responses={
        200: {"model": BulkResult, "description": "dry_run: what would be written"},
        201: {"model": BulkResult, "description": "Written"},
        **error_responses(400, 401, 403, 404, 409, 413, 415, 422),
    },
)
@idempotent
def bulk_enroll(
    cohort_id: IdPath,
    principal: AgencyAdmin,  # before the body: an anonymous upload is 401 unread
    upload: Upload,
    session: SessionDep,
    query: Annotated[BulkQuery, Query()],
) -> Response:
    data, media = upload
    warnings: list[dict[str, Any]] = []
    rows: Sequence[RosterRow]
    if media in JSON_TYPES:
        rows = _json_rows(data)
    else:
        parsed = parse_roster(data, media)
        rows, warnings = parsed.rows, parsed.warnings
    answer = service.bulk_enrol(
        session=session,
        principal=principal,
        cohort_id=cohort_id,
        rows=rows,
        query=query,
        warnings=warnings,
    )
    return Response(
        answer.model_dump_json(),
        status_code=201 if answer.written else 200,
        media_type="application/json",
    )
