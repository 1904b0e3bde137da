"""Enrolments: ``/v1/cohorts/{id}/enrollments`` (enrol, roster), ``/v1/enrollments/{id}``
(read, status moves, history) and ``/v1/learners/{key}/enrollments``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.core.errors import error_responses
from app.core.etag import json_response
from app.core.idempotency import idempotent
from app.core.pagination import clamp_limit, page_response
from app.deps import (
    AgencyAdmin,
    CurrentPrincipal,
    IfMatch,
    IfNoneMatch,
    SessionDep,
    require_roles,
    require_scope,
)
from app.models.enrollment import (
    EnrollmentCreate,
    EnrollmentEventPage,
    EnrollmentPage,
    EnrollmentPublic,
    EnrollmentQuery,
    EnrollmentTransition,
)
from app.models.types import SincePageQuery
from app.routers.learners import KeyPath
from app.routers.params import IdPath
from app.services.learning import enrollment_moves as moves
from app.services.learning import enrollment_reads as reads
from app.services.learning import enrollments as service
from app.services.learning.roster_files import XLSX_TYPE, write_roster_csv, write_roster_xlsx

router = APIRouter(tags=["enrollments"])
_DOC: dict[int | str, dict[str, Any]] = {
    200: {"model": EnrollmentPublic, "description": "The enrolment; ETag header set."}
}


def _reply(
    found: service.Saved, *, status_code: int = 200, if_none_match: str | None = None
) -> Response:
    item, etag = found
    headers = {"Location": service.url_of(item.id)} if status_code == 201 else None
    return json_response(
        service.ONE.dump_json(item),
        etag,
        status_code=status_code,
        if_none_match=if_none_match,
        headers=headers,
    )


@router.post(
    "/cohorts/{cohort_id}/enrollments",
    name="enrollments-create",
    dependencies=[require_scope("enrollments:write")],
    summary="Enrol a learner (by key, or with the whole learner to upsert) in an open cohort",
    description="Allowed while the cohort is `open` and inside its enrolment window (409 "
    "`cohort_not_open`, `enrollment_not_open_yet`, `enrollment_closed`). The organiser "
    "enrols any learner; a home agency its own learners. A seat is taken (status "
    "`proposed`) while one is free; then, if the cohort keeps a waitlist, the enrolment "
    "is `waitlisted` with its `waitlist_position`, otherwise 409 `cohort_full`. The same "
    "learner twice is 409 `duplicate_enrollment` (with `enrollment_url`); another "
    "cohort of the course with overlapping dates is 409 `overlapping_enrollment`. A learner "
    "whose enrolment in the cohort was withdrawn is enrolled again on that same enrolment "
    "(201, same id; its history shows withdrawn -> proposed, reason `re_enrolment`). With "
    "`learner`, the upsert and the enrolment are one transaction: a refused enrolment "
    "leaves the learner unchanged. Learner logins enrol themselves with POST "
    "/v1/me/enrollments.",
    status_code=201,
    responses={
        201: {"model": EnrollmentPublic, "description": "Created; Location and ETag set."},
        **error_responses(401, 403, 404, 409, 422),
    },
)
@idempotent
def create_enrollment(
    cohort_id: IdPath, data: EnrollmentCreate, principal: AgencyAdmin, session: SessionDep
) -> Response:
    found = service.enrol(session=session, principal=principal, cohort_id=cohort_id, data=data)
    return _reply(found, status_code=201)


EXPORTS = {"text/csv": ("csv", write_roster_csv), XLSX_TYPE: ("xlsx", write_roster_xlsx)}


def export_type(request: Request) -> str | None:
    """The first roster file type the Accept header names before JSON (q ignored)."""
    for part in request.headers.get("accept", "").split(","):
        media = part.split(";")[0].strip().lower()
        if media in EXPORTS:
            return media
        if media in {"application/json", "*/*", "application/*"}:
            return None
    return None


@router.get(
    "/cohorts/{cohort_id}/enrollments",
    name="enrollments-roster",
    dependencies=[require_scope("enrollments:read")],
    summary="A cohort's roster (organiser and partners: all; a home agency: its learners)",
    description="JSON in cursor pages; with `Accept: text/csv` or `Accept: " + XLSX_TYPE + "` "
    "the whole roster (not paged; `cursor` and `limit` ignored, `status` applies) as a "
    "file named `angkatan-<roman>-<year>.csv` / `.xlsx`. Cells a spreadsheet would run as a "
    "formula (starting with `=`, `+`, `-`, `@`) get a leading `'`.",
    responses={
        200: {
            "model": EnrollmentPage,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
            },
        },
        **error_responses(401, 404, 422),
    },
)
def roster(
    request: Request,
    cohort_id: IdPath,
    principal: CurrentPrincipal,
    session: SessionDep,
    query: Annotated[EnrollmentQuery, Query()],
) -> Response:
    export = export_type(request)
    if export is not None:
        rows, name = reads.roster_rows(
            session=session,
            principal=principal,
            cohort_id=cohort_id,
            status=query.status.value if query.status else None,
        )
        ext, write = EXPORTS[export]
        return Response(
            write(rows, reads.EXPORT_COLUMNS),
            media_type=export,
            headers={
                "Content-Disposition": f'attachment; filename="{name}.{ext}"',
                "Vary": "Accept, Authorization",
            },
        )
    items, next_cursor = reads.roster(
        session=session,
        principal=principal,
        cohort_id=cohort_id,
        status=query.status.value if query.status else None,
        cursor=query.cursor,
        limit=clamp_limit(query.limit),
        updated_since=query.updated_since,
    )
    page = EnrollmentPage(items=items, next_cursor=next_cursor)
    return page_response(request, page, vary="Accept, Authorization")


@router.get(
    "/learners/{learner_key}/enrollments",
    name="enrollments-of-learner",
    dependencies=[require_scope("enrollments:read")],
    summary="A learner's enrolments (home agency: all; an organiser or partner: its cohorts')",
    responses={200: {"model": EnrollmentPage}, **error_responses(401, 404, 422)},
)
def learner_enrollments(
    request: Request,
    learner_key: KeyPath,
    principal: CurrentPrincipal,
    session: SessionDep,
    query: Annotated[EnrollmentQuery, Query()],
) -> Response:
    items, next_cursor = reads.learner_enrollments(
        session=session,
        principal=principal,
        raw_key=learner_key,
        status=query.status.value if query.status else None,
        cursor=query.cursor,
        limit=clamp_limit(query.limit),
        updated_since=query.updated_since,
    )
    return page_response(request, EnrollmentPage(items=items, next_cursor=next_cursor))


@router.get(
    "/enrollments/{enrollment_id}",
    name="enrollments-get",
    dependencies=[require_scope("enrollments:read")],
    summary="One enrolment",
    responses={**_DOC, 304: {"description": "Not modified"}, **error_responses(401, 404)},
)
def get_enrollment(
    enrollment_id: IdPath,
    principal: CurrentPrincipal,
    session: SessionDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    found = reads.read_enrollment(session=session, principal=principal, enrollment_id=enrollment_id)
    return _reply(found, if_none_match=if_none_match)


@router.post(
    "/enrollments/{enrollment_id}/transitions",
    name="enrollments-transition",
    dependencies=[require_scope("enrollments:write")],
    summary="Move an enrolment: proposed -> verified -> active (organiser); withdrawn with a "
    "reason (home agency, organiser, or the learner's own login); dropped (organiser)",
    description="A self-enrolment (`self_enrolled: true`, made with POST /v1/me/enrollments) "
    "is verified by the learner's home agency instead of the organiser (403 for anyone "
    "else); the organiser then makes it `active`. Withdrawing a seated enrolment (proposed, "
    "verified, active) seats the first "
    "waitlisted one in the same transaction (its history says `waitlist_promotion`). Any "
    "other move is 409 `illegal_transition` naming the allowed ones. A learner login may "
    "only withdraw its own enrolment (any other move is 403), and only before the cohort "
    "is `running` (409 `cohort_started`). Staff need the `agency_admin` role. `dropped` "
    "(from verified or active, organiser only, with a reason): only while the cohort is "
    "`running` (409 `cohort_not_running`) and when the JP of sessions the learner missed so "
    "far (ended sessions, counted as evaluation counts them) already exceed the course's "
    "`max_absence_jp` (409 `absence_within_limit`, with `absent_jp` and `limit`); any JP "
    "credit is taken back. passed and failed are set by POST /v1/cohorts/{id}/evaluate.",
    responses={**_DOC, **error_responses(401, 403, 404, 409, 412, 422)},
)
def transition_enrollment(
    enrollment_id: IdPath,
    data: EnrollmentTransition,
    principal: CurrentPrincipal,
    session: SessionDep,
    if_match: IfMatch = None,
) -> Response:
    if not principal.is_learner:
        require_roles("agency_admin")(principal)
    found = moves.transition(
        session=session,
        principal=principal,
        enrollment_id=enrollment_id,
        data=data,
        if_match=if_match,
    )
    return _reply(found)


@router.get(
    "/enrollments/{enrollment_id}/history",
    name="enrollments-history",
    dependencies=[require_scope("enrollments:read")],
    summary="Every status change of an enrolment: who, when and why",
    description="In `seq` order; with `updated_since`, the changes recorded at or after it "
    "(`at`), in (at, id) order: a change never changes afterwards.",
    responses={200: {"model": EnrollmentEventPage}, **error_responses(401, 404, 422)},
)
def enrollment_history(
    request: Request,
    enrollment_id: IdPath,
    principal: CurrentPrincipal,
    session: SessionDep,
    query: Annotated[SincePageQuery, Query()],
) -> Response:
    items, next_cursor = reads.history(
        session=session,
        principal=principal,
        enrollment_id=enrollment_id,
        cursor=query.cursor,
        limit=clamp_limit(query.limit),
        updated_since=query.updated_since,
    )
    return page_response(request, EnrollmentEventPage(items=items, next_cursor=next_cursor))
