"""The yearly JP ledger of a learner: ``/v1/learners/{key}/jp`` (the year, with the
entitlement status) and ``/v1/learners/{key}/jp-records`` (the records; external ones are
written here by the learner's home agency).

The ledger is the learner's personal data: their home agency (any role; writes: its
admins), platform admins and the learner's own login read it; anyone else gets 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.core.errors import error_responses
from app.core.etag import json_response
from app.core.idempotency import idempotent
from app.core.pagination import clamp_limit, page_response
from app.deps import AgencyAdmin, CurrentPrincipal, IfMatch, IfNoneMatch, SessionDep, require_scope
from app.models.jp import (
    JPRecordCreate,
    JPRecordFormat,
    JPRecordPage,
    JPRecordPublic,
    JPRecordQuery,
    JPRecordUpdate,
    JPYear,
    JPYearQuery,
    SiasnKursusPage,
)
from app.routers.learners import KeyPath
from app.routers.params import IdPath
from app.services.learning import jp_ledger as ledger
from app.services.learning import jp_reports

router = APIRouter(tags=["jp"])
_DOC: dict[int | str, dict[str, Any]] = {
    200: {"model": JPRecordPublic, "description": "The record; ETag header set."}
}


def _reply(found: ledger.Saved, *, status_code: int = 200, **headers: str) -> Response:
    record, etag = found
    return json_response(
        ledger.ONE.dump_json(record), etag, status_code=status_code, headers=headers or None
    )


def year_response(found: tuple[JPYear, str], if_none_match: str | None) -> Response:
    body, etag = found
    return json_response(body.model_dump_json(), etag, if_none_match=if_none_match)


YEAR_DOC: dict[int | str, dict[str, Any]] = {
    200: {"model": JPYear, "description": "The year; ETag header set."},
    304: {"description": "Not modified"},
}


@router.get(
    "/learners/{learner_key}/jp",
    name="jp-year",
    dependencies=[require_scope("learners:read")],
    summary="A learner's JP in one year: total, entries and entitlement status",
    description="For PNS/CPNS whether the yearly floor (setting `BANGKOM_JP_FLOOR`, default "
    "20 JP) is met and how many JP are missing; for PPPK whether the yearly cap (setting "
    "`BANGKOM_PPPK_JP_CAP`, default 24 JP) is exceeded; non-ASN guests have neither. "
    "A course's JP count in the year its cohort ended (its end date, in the cohort's time "
    "zone). Home agency, platform admins and the learner's own login; others 404.",
    responses={**YEAR_DOC, **error_responses(401, 404, 422)},
)
def learner_year(
    learner_key: KeyPath,
    principal: CurrentPrincipal,
    session: SessionDep,
    query: Annotated[JPYearQuery, Query()],
    if_none_match: IfNoneMatch = None,
) -> Response:
    found = jp_reports.learner_year(
        session=session, principal=principal, raw_key=learner_key, year=query.year
    )
    return year_response(found, if_none_match)


@router.get(
    "/learners/{learner_key}/jp-records",
    name="jp-records-list",
    dependencies=[require_scope("learners:read")],
    summary="A learner's JP records in pages (format=siasn: with BKN SIASN field names)",
    description="`format=siasn` answers each record as a SIASN course-history entry "
    "(riwayat kursus): `namaKursus` (title), `jumlahJam` (JP), `nomorSertipikat`, "
    "`tanggalKursus` and `tanggalSelesaiKursus` (dd-mm-yyyy), `tahunKursus` (the credited "
    "year), `institusiPenyelenggara` (organiser). SIASN's own ids (`pnsOrangId`, "
    "`instansiId`, `jenisDiklatId`, `jenisKursusSertipikat`) come from SIASN's references "
    "and are left for the filer to add. Withdrawn records (`withdrawn_at` set: a revoked "
    "certificate's credit, an outcome changed) count in no total; they are listed with "
    "`updated_since` (delta sync: remove them from your copy) or `include_withdrawn=true`.",
    responses={
        200: {
            "model": JPRecordPage | SiasnKursusPage,
            "description": 'A page; `Link: rel="next"`.',
        },
        **error_responses(401, 404, 422),
    },
)
def list_records(
    request: Request,
    learner_key: KeyPath,
    principal: CurrentPrincipal,
    session: SessionDep,
    query: Annotated[JPRecordQuery, Query()],
) -> Response:
    _learner, rows, next_cursor = ledger.list_records(
        session=session,
        principal=principal,
        raw_key=learner_key,
        year=query.year,
        cursor=query.cursor,
        limit=clamp_limit(query.limit),
        updated_since=query.updated_since,
        include_withdrawn=query.include_withdrawn,
    )
    page: JPRecordPage | SiasnKursusPage
    if query.format == JPRecordFormat.siasn:
        page = SiasnKursusPage(items=[ledger.siasn(r) for r in rows], next_cursor=next_cursor)
    else:
        page = JPRecordPage(items=[ledger.public(r) for r in rows], next_cursor=next_cursor)
    return page_response(request, page)


@router.post(
    "/learners/{learner_key}/jp-records",
    name="jp-records-create",
    dependencies=[require_scope("learners:write")],
    status_code=201,
    summary="Record a course taken elsewhere (the learner's home agency): credits once",
    description="Credits the year of `ends_on`. The same organiser and certificate number "
    "for this learner again is 409 `jp_record_exists` with the existing record's URL "
    "(`record_url`, Location). Home agency admins; another agency's learner is 404.",
    responses={
        201: {"model": JPRecordPublic, "description": "Created; Location and ETag set."},
        **error_responses(401, 403, 404, 409, 422),
    },
)
@idempotent
def create_record(
    learner_key: KeyPath, data: JPRecordCreate, principal: AgencyAdmin, session: SessionDep
) -> Response:
    found, url = ledger.add_external(
        session=session, principal=principal, raw_key=learner_key, data=data
    )
    return _reply(found, status_code=201, Location=url)


@router.get(
    "/learners/{learner_key}/jp-records/{record_id}",
    name="jp-records-get",
    dependencies=[require_scope("learners:read")],
    summary="One JP record of a learner",
    description="A withdrawn record is answered like any other (`withdrawn_at` set), except "
    "an external record deleted with DELETE: 410 `jp_record_deleted` (a wrong id is 404).",
    responses={
        **_DOC,
        304: {"description": "Not modified"},
        **error_responses(401, 404, 410, 422),
    },
)
def get_record(
    learner_key: KeyPath,
    record_id: IdPath,
    principal: CurrentPrincipal,
    session: SessionDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    record, etag = ledger.read_record(
        session=session, principal=principal, raw_key=learner_key, record_id=record_id
    )
    return json_response(ledger.ONE.dump_json(record), etag, if_none_match=if_none_match)


@router.patch(
    "/learners/{learner_key}/jp-records/{record_id}",
    name="jp-records-update",
    dependencies=[require_scope("learners:write")],
    summary="Correct an external record (course and event credits are read-only: 409)",
    description="A deleted record cannot be changed: 410 `jp_record_deleted`; record the "
    "certificate again with POST instead.",
    responses={**_DOC, **error_responses(401, 403, 404, 409, 410, 412, 422)},
)
def update_record(
    learner_key: KeyPath,
    record_id: IdPath,
    data: JPRecordUpdate,
    principal: AgencyAdmin,
    session: SessionDep,
    if_match: IfMatch = None,
) -> Response:
    found = ledger.update_external(
        session=session,
        principal=principal,
        raw_key=learner_key,
        record_id=record_id,
        data=data,
        if_match=if_match,
    )
    return _reply(found)


@router.delete(
    "/learners/{learner_key}/jp-records/{record_id}",
    name="jp-records-delete",
    dependencies=[require_scope("learners:write")],
    status_code=204,
    summary="Delete an external record (course and event credits are read-only: 409)",
    description="The record stops counting at once. It is kept, withdrawn with "
    "`withdrawn_reason` `deleted`, so a sync learns it went: `jp-records?updated_since=` "
    "lists it (so does `include_withdrawn=true`) and the change feed has a `jp_record` "
    "delete. Its URL then answers 410 `jp_record_deleted` to every method (a second DELETE "
    "included). The same organiser and certificate number may be recorded again with POST "
    "(a new record).",
    responses=error_responses(401, 403, 404, 409, 410, 412, 422),
)
def delete_record(
    learner_key: KeyPath,
    record_id: IdPath,
    principal: AgencyAdmin,
    session: SessionDep,
    if_match: IfMatch = None,
) -> Response:
    ledger.delete_external(
        session=session,
        principal=principal,
        raw_key=learner_key,
        record_id=record_id,
        if_match=if_match,
    )
    return Response(status_code=204)
