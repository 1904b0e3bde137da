"""``/v1/me``: who the token belongs to (and, for a learner login, the learner)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.core.errors import error_responses
from app.core.etag import json_response
from app.core.idempotency import idempotent
from app.core.pagination import clamp_limit, page_response
from app.deps import CurrentPrincipal, IfNoneMatch, SessionDep, humans_only
from app.models import Learner
from app.models.agency import AgencyPublic
from app.models.enrollment import (
    EnrollmentPage,
    EnrollmentPublic,
    EnrollmentQuery,
    SelfEnrollmentCreate,
)
from app.models.jp import JPYearQuery
from app.models.me import Me
from app.models.progress import EnrollmentProgress
from app.models.user import UserPublic
from app.routers.jp import YEAR_DOC, year_response
from app.routers.params import IdPath
from app.services.agencies import get_agency
from app.services.learning import enrollment_reads, jp_reports, progress_reads
from app.services.learning import enrollments as enrolling
from app.services.learning.learners import public
from app.services.learning.self_enrollment import self_enrol
from app.services.users import get_user

router = APIRouter(tags=["auth"], dependencies=[humans_only])


@router.get(
    "/me",
    name="me-get",
    summary="The caller, their agency and roles (and a learner login's learner)",
    responses=error_responses(401),
)
def get_me(session: SessionDep, principal: CurrentPrincipal) -> Me:
    user = get_user(session=session, principal=principal, user_id=principal.subject)
    agency = get_agency(session=session, principal=principal, agency_id=principal.agency_id)
    learner = None
    if principal.is_learner and user.learner_id is not None:
        row = session.get(Learner, user.learner_id)
        learner = public(row, principal) if row is not None else None
    return Me(
        user=UserPublic.model_validate(user),
        agency=AgencyPublic.model_validate(agency),
        learner=learner,
        roles=sorted(principal.roles),
        scope=" ".join(sorted(principal.scopes)),
    )


@router.get(
    "/me/enrollments",
    name="me-enrollments",
    tags=["enrollments"],
    summary="A learner login's own enrolments, in every agency's cohorts",
    description="Cursor pages (the same envelope as the other enrolment lists). Only a "
    "learner login has enrolments of its own: a staff login is 403.",
    responses={200: {"model": EnrollmentPage}, **error_responses(401, 403, 422)},
)
def my_enrollments(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    query: Annotated[EnrollmentQuery, Query()],
) -> Response:
    items, next_cursor = enrollment_reads.my_enrollments(
        session=session,
        principal=principal,
        status=query.status.value if query.status else None,
        cursor=query.cursor,
        limit=clamp_limit(query.limit),
        updated_since=query.updated_since,
    )
    page = EnrollmentPage(items=items, next_cursor=next_cursor)
    return page_response(request, page)


@router.get(
    "/me/jp",
    name="me-jp",
    tags=["jp"],
    summary="A learner login's own JP in one year (as GET /v1/learners/{key}/jp)",
    responses={**YEAR_DOC, **error_responses(401, 403, 422)},
)
def my_jp(
    principal: CurrentPrincipal,
    session: SessionDep,
    query: Annotated[JPYearQuery, Query()],
    if_none_match: IfNoneMatch = None,
) -> Response:
    found = jp_reports.my_year(session=session, principal=principal, year=query.year)
    return year_response(found, if_none_match)


@router.get(
    "/me/enrollments/{enrollment_id}/progress",
    name="me-progress",
    tags=["progress"],
    summary="A learner login's progress in one of its own enrolments",
    description="As GET /v1/enrollments/{enrollment_id}/progress, for the learner's own "
    "enrolments only (another learner's is 404); a staff login is 403.",
    responses={
        200: {"model": EnrollmentProgress},
        304: {"description": "Not modified"},
        **error_responses(401, 403, 404),
    },
)
def my_progress(
    enrollment_id: IdPath,
    principal: CurrentPrincipal,
    session: SessionDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    answer, etag = progress_reads.read_progress(
        session=session, principal=principal, enrollment_id=enrollment_id, own=True
    )
    return json_response(answer.model_dump_json(), etag, if_none_match=if_none_match)


@router.post(
    "/me/enrollments",
    name="me-enrollments-create",
    tags=["enrollments"],
    summary="A learner login enrols itself in an open cohort of a course that allows it",
    description="For mobile clients: send only `cohort_id`; the learner is the one the "
    "login belongs to (no key, so no one else can be enrolled). The course must have "
    "`self_enrollment: true` (else 403 `self_enrollment_not_allowed`); a cohort the "
    "learner cannot see is 404. The rules are the staff path's: the cohort `open` and "
    "inside its window (409 `cohort_not_open`, `enrollment_not_open_yet`, "
    "`enrollment_closed`), a seat or the waitlist (409 `cohort_full`), 409 "
    "`duplicate_enrollment` / `overlapping_enrollment`, `non_asn_not_allowed`. A withdrawn "
    "enrolment in the cohort is reactivated. The answer is `proposed` (or `waitlisted`) "
    "with `self_enrolled: true` until the learner's home agency verifies it. Staff "
    "logins: 403.",
    status_code=201,
    responses={
        201: {"model": EnrollmentPublic, "description": "Created; Location and ETag set."},
        **error_responses(401, 403, 404, 409, 422),
    },
)
@idempotent
def enrol_myself(
    data: SelfEnrollmentCreate, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    item, etag = self_enrol(session=session, principal=principal, cohort_id=data.cohort_id)
    url = enrolling.url_of(item.id)
    return json_response(
        enrolling.ONE.dump_json(item), etag, status_code=201, headers={"Location": url}
    )
