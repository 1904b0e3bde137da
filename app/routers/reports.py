"""``/v1/reports``: agency-wide reports. ``jp-compliance``: who is below the yearly JP floor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.core.errors import error_responses
from app.core.pagination import clamp_limit, page_response
from app.deps import AgencyAdmin, SessionDep, require_scope
from app.models.jp import (
    JPBelowFloorPage,
    JPComplianceQuery,
    JPComplianceSummary,
    JPComplianceSummaryQuery,
)
from app.routers.enrollments import EXPORTS, export_type
from app.services.learning import jp_reports
from app.services.learning.roster_files import XLSX_TYPE

router = APIRouter(tags=["reports"])


@router.get(
    "/reports/jp-compliance",
    name="reports-jp-compliance",
    dependencies=[require_scope("progress:read")],
    summary="An agency's PNS/CPNS below the yearly JP floor, with their totals",
    description="The agency's PNS and CPNS learners (their home agency) whose JP that year "
    "are below the yearly floor (setting `BANGKOM_JP_FLOOR`, default 20 JP), learners "
    "without any JP that year included, in learner id order, in cursor pages; the counts "
    "are at /v1/reports/jp-compliance/summary. With `Accept: text/csv` or `Accept: "
    + XLSX_TYPE
    + "` the "
    "whole list (not paged) as a file `jp-compliance-<agency-slug>-<year>`; cells a "
    "spreadsheet would run as a formula get a leading `'`. Agency admins report on their "
    "own agency; platform admins on any (`agency`: id or slug).",
    responses={
        200: {
            "model": JPBelowFloorPage,
            "description": 'A page; `Link: rel="next"` when more are below the floor.',
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
            },
        },
        **error_responses(401, 403, 404, 422),
    },
)
def jp_compliance(
    request: Request,
    principal: AgencyAdmin,
    session: SessionDep,
    query: Annotated[JPComplianceQuery, Query()],
) -> Response:
    export = export_type(request)
    vary = {"Vary": "Accept, Authorization"}
    if export is not None:
        rows, name = jp_reports.compliance_rows(
            session=session, principal=principal, agency=query.agency, year=query.year
        )
        ext, write = EXPORTS[export]
        return Response(
            write(rows, jp_reports.EXPORT_COLUMNS),
            media_type=export,
            headers={"Content-Disposition": f'attachment; filename="{name}.{ext}"', **vary},
        )
    items, next_cursor = jp_reports.compliance(
        session=session,
        principal=principal,
        agency=query.agency,
        year=query.year,
        cursor=query.cursor,
        limit=clamp_limit(query.limit),
    )
    page = JPBelowFloorPage(items=items, next_cursor=next_cursor)
    return page_response(request, page, vary=vary["Vary"])


@router.get(
    "/reports/jp-compliance/summary",
    name="reports-jp-compliance-summary",
    dependencies=[require_scope("progress:read")],
    summary="How many of an agency's PNS/CPNS meet the yearly JP floor, and how many do not",
    description="One aggregate over the agency's PNS and CPNS learners (their home agency) "
    "and their JP that year, against the floor (setting `BANGKOM_JP_FLOOR`, default 20 "
    "JP). Agency admins: their own agency; platform admins: any (`agency`: id or slug).",
    responses=error_responses(401, 403, 404, 422),
)
def jp_compliance_summary(
    principal: AgencyAdmin,
    session: SessionDep,
    query: Annotated[JPComplianceSummaryQuery, Query()],
) -> JPComplianceSummary:
    return jp_reports.compliance_summary(
        session=session, principal=principal, agency=query.agency, year=query.year
    )
