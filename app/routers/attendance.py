"""Attendance of a session: ``/v1/cohorts/{id}/sessions/{sid}/attendance`` (list, one
record, a list of records, a Zoom participant report)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import TypeAdapter
from starlette.datastructures import UploadFile

from app.core.errors import ProblemError, error_responses
from app.core.etag import json_response
from app.core.pagination import clamp_limit, page_response
from app.deps import CurrentPrincipal, IfMatch, SessionDep, require_scope
from app.models.attendance import (
    AttendanceBulk,
    AttendanceBulkResult,
    AttendancePage,
    AttendancePublic,
    AttendancePut,
    AttendanceQuery,
    ZoomImportQuery,
    ZoomImportResult,
)
from app.routers.params import IdPath
from app.services.learning import attendance as service
from app.services.learning import attendance_bulk as bulk
from app.services.learning import attendance_reads as reads
from app.services.learning.roster_files import CSV_TYPES, SNIFFED_TYPES

router = APIRouter(tags=["attendance"])
_ONE = TypeAdapter(AttendancePublic)
_PATH = "/cohorts/{cohort_id}/sessions/{session_id}/attendance"
_WHO = (
    "Recorded by the session's instructors and the organising agency's admins (others of "
    "the organiser or a partner agency: 403; another agency: 404), for seated enrolments "
    "(proposed, verified, active; otherwise 409 `enrollment_not_seated` or a row error), "
    "from the session's start (409 `session_not_started`), not in a completed or cancelled "
    "cohort (409 `cohort_final`). For a socialisation, workshop, seminar or webinar the "
    "enrolment's JP credit (the JP of the sessions attended present or late, at most the "
    "course's total) is recounted in the same transaction."
)


@router.get(
    _PATH,
    name="attendance-list",
    dependencies=[require_scope("progress:read")],
    summary="The session's learners, each with their attendance record or none",
    description="Enrolments holding a seat (proposed, verified, active) and, once the "
    "cohort is evaluated, passed, failed or dropped ones; not withdrawn or waitlisted. The "
    "organiser's members and the course's partner agencies read it; others get 404. With "
    "`updated_since`: only the learners whose record changed since, in the records' "
    "(updated_at, id) order (an enrolment's own changes are in the enrolment lists).",
    responses={200: {"model": AttendancePage}, **error_responses(401, 404, 422)},
)
def list_attendance(
    request: Request,
    cohort_id: IdPath,
    session_id: IdPath,
    principal: CurrentPrincipal,
    session: SessionDep,
    query: Annotated[AttendanceQuery, Query()],
) -> Response:
    items, next_cursor = reads.list_attendance(
        session=session,
        principal=principal,
        cohort_id=cohort_id,
        session_id=session_id,
        limit=clamp_limit(query.limit),
        cursor=query.cursor,
        updated_since=query.updated_since,
    )
    page = AttendancePage(items=items, next_cursor=next_cursor)
    return page_response(request, page)


@router.put(
    _PATH + "/{enrollment_id}",
    name="attendance-put",
    dependencies=[require_scope("progress:write")],
    summary="Record one learner's attendance (status, minutes up to the session's length)",
    description=_WHO + " `If-Match` with the record's ETag guards against lost updates.",
    responses={
        200: {"model": AttendancePublic, "description": "The record; ETag set."},
        **error_responses(401, 403, 404, 409, 412, 422),
    },
)
def put_attendance(
    cohort_id: IdPath,
    session_id: IdPath,
    enrollment_id: IdPath,
    data: AttendancePut,
    principal: CurrentPrincipal,
    session: SessionDep,
    if_match: IfMatch = None,
) -> Response:
    item, etag = service.put_attendance(
        session=session,
        principal=principal,
        cohort_id=cohort_id,
        session_id=session_id,
        enrollment_id=enrollment_id,
        data=data,
        if_match=if_match,
    )
    return json_response(_ONE.dump_json(item), etag)


_BULK_DOC: dict[str, Any] = {
    "summary": "Record many learners' attendance at once (all or nothing)",
    "description": _WHO + " One rejected item and nothing is written: 422 "
    "`attendance_rejected` with every item's errors (`rows`).",
    "responses": {200: {"model": AttendanceBulkResult}, **error_responses(401, 403, 404, 409, 422)},
}


def _bulk(
    cohort_id: str, session_id: str, data: AttendanceBulk, principal: Any, session: Any
) -> Response:
    answer = bulk.bulk_attendance(
        session=session,
        principal=principal,
        cohort_id=cohort_id,
        session_id=session_id,
        rows=data.items,
    )
    return Response(answer.model_dump_json(), media_type="application/json")


@router.put(
    _PATH, name="attendance-bulk-put", dependencies=[require_scope("progress:write")], **_BULK_DOC
)
def bulk_put(
    cohort_id: IdPath,
    session_id: IdPath,
    data: AttendanceBulk,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> Response:
    return _bulk(cohort_id, session_id, data, principal, session)


@router.post(
    _PATH, name="attendance-bulk-post", dependencies=[require_scope("progress:write")], **_BULK_DOC
)
def bulk_post(
    cohort_id: IdPath,
    session_id: IdPath,
    data: AttendanceBulk,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> Response:
    return _bulk(cohort_id, session_id, data, principal, session)


_ZOOM_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "text/csv": {"schema": {"type": "string"}},
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


def _missing_file() -> ProblemError:
    msg = "Send the Zoom report in a form part named 'file'."
    msg_id = "Kirim laporan Zoom pada bagian formulir bernama 'file'."
    return ProblemError(
        422,
        "validation_error",
        msg,
        detail_id=msg_id,
        errors=[{"loc": ["body", "file"], "msg": msg, "msg_id": msg_id, "type": "missing"}],
    )


async def _report(request: Request) -> bytes:
    """The report's bytes: the body (CSV), or the ``file`` part of a form."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=5)
        part = form.get("file")
        if not isinstance(part, UploadFile):
            raise _missing_file()
        return await part.read()
    if media not in CSV_TYPES and media not in SNIFFED_TYPES:
        shown = media or "no Content-Type"
        raise ProblemError(
            415,
            "unsupported_media_type",
            f"Send Zoom's participant report as CSV (text/csv) or as a form part 'file'; got "
            f"{shown}.",
            detail_id="Kirim laporan peserta Zoom sebagai CSV (text/csv) atau sebagai bagian "
            f"formulir 'file'; diterima: {shown}.",
        )
    return await request.body()


@router.post(
    # beside the attendance list, not under it: /attendance/{enrollment_id} would take "zoom"
    "/cohorts/{cohort_id}/sessions/{session_id}/zoom-report",
    name="attendance-zoom-import",
    dependencies=[require_scope("progress:write")],
    summary="Record attendance from a Zoom participant report (CSV)",
    description=_WHO + " Lines are matched to seated learners by email, then by name when "
    "only one learner has it (titles ignored); unmatched and ambiguous lines are listed, "
    "never dropped. Per learner the connections are clipped to the session and merged "
    "(rejoins and second devices count once). Present when attended for at least "
    "`present_share` of the session (late when first joined more than "
    "`late_after_minutes` after the start), otherwise absent. Learners not in the report "
    "are listed in `not_in_report` and left as they are. `dry_run=true` writes nothing.",
    openapi_extra={"requestBody": _ZOOM_BODY},
    responses={
        200: {"model": ZoomImportResult},
        # 400: a multipart body the form parser cannot read (Starlette's own answer)
        **error_responses(400, 401, 403, 404, 409, 413, 415, 422),
    },
)
def import_zoom(
    cohort_id: IdPath,
    session_id: IdPath,
    principal: CurrentPrincipal,  # before the body: an anonymous upload is 401 unread
    data: Annotated[bytes, Depends(_report)],
    session: SessionDep,
    query: Annotated[ZoomImportQuery, Query()],
) -> Response:
    answer = bulk.import_zoom(
        session=session,
        principal=principal,
        cohort_id=cohort_id,
        session_id=session_id,
        data=data,
        query=query,
    )
    return Response(answer.model_dump_json(), media_type="application/json")
