"""Evaluating a cohort: ``POST /v1/cohorts/{id}/evaluate`` and its preview
``GET /v1/cohorts/{id}/evaluation`` (the organiser's; everyone else gets 404)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.core.errors import error_responses
from app.deps import AgencyAdmin, CurrentPrincipal, SessionDep, require_scope
from app.models.enrollment import EvaluationResult
from app.routers.params import IdPath
from app.services.learning import evaluation as service

router = APIRouter(tags=["evaluation"])

RULES = (
    "Final score: the weighted mean of the assessed modules' scores (module weights; equal "
    "when all are 0), rounded half-up to two decimals; a module without a score counts 0 "
    "and fails the enrolment (`score_missing`). Passed when the score is at least the "
    "course's `passing_score` (default 70.01: 70.00 fails), the JP of sessions missed is at "
    "most `max_absence_jp` (missed: no attendance record, `absent`, `excused`, or "
    "`present`/`late` with minutes recorded below 80% of the session), and every "
    "self-paced module is `completed`. Reasons: `score_below_passing`, `absence_over_limit`, "
    "`module_incomplete`, `score_missing`. The grade comes from the course's `grade_bands` "
    "(a score above a band's `above`). Withdrawn, waitlisted and dropped enrolments are "
    "skipped. The answer lists every enrolment of the cohort."
)


def _json(result: EvaluationResult) -> Response:
    headers = {"Cache-Control": "no-store", "Vary": "Authorization"}
    return Response(result.model_dump_json(), media_type="application/json", headers=headers)


@router.post(
    "/cohorts/{cohort_id}/evaluate",
    name="cohorts-evaluate",
    dependencies=[require_scope("certificates:write")],
    summary="Evaluate a cohort: each seated enrolment passed or failed, with reasons, score, "
    "grade and absence; a pass credits the course's JP",
    description="Only while the cohort is `evaluation` (409 `cohort_not_in_evaluation`); may "
    "run again (outcomes can change; each status change is in the enrolment's history, a "
    "pass credits and a fail takes back the JP) until the cohort's certificates are issued "
    "(409 `certificates_issued`). " + RULES,
    responses={200: {"model": EvaluationResult}, **error_responses(401, 403, 404, 409, 422)},
)
def evaluate_cohort(cohort_id: IdPath, principal: AgencyAdmin, session: SessionDep) -> Response:
    return _json(service.evaluate(session=session, principal=principal, cohort_id=cohort_id))


@router.get(
    "/cohorts/{cohort_id}/evaluation",
    name="cohorts-evaluation-preview",
    dependencies=[require_scope("progress:read")],
    summary="Preview a cohort's evaluation: what evaluate would answer now, nothing written",
    description="In any status; before the cohort is in `evaluation` only the sessions "
    "ended so far count toward absence. " + RULES,
    responses={200: {"model": EvaluationResult}, **error_responses(401, 404, 422)},
)
def preview_evaluation(
    cohort_id: IdPath, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    return _json(service.preview(session=session, principal=principal, cohort_id=cohort_id))
