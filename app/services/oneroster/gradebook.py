"""Gradebook views and the result PUT.

Mapping: an assessed module of a cohort's curriculum -> lineItem (sourcedId
``<cohort id>.<module id>``, its class the cohort, its category the module's learning
mode); a learner's progress record in that module -> result (sourcedId
``<enrolment id>.<module id>``, ``score`` 0-100, ``scoreStatus`` from the progress
status); the four learning modes -> categories (``mode-self_paced`` ...).

Soft deletes a delta sync sees: the lineItems of a cancelled cohort, and, from
``oneroster_tombstone`` (app/services/oneroster/tombstones.py), those of the curriculum a
draft cohort no longer follows (re-pinned or unpinned) and the results whose progress
record xAPI voiding removed: ``tobedeleted`` with the removal as ``dateLastModified``,
until the module is the cohort's again or a record is written again.

``PUT /results/{sourcedId}`` writes through the progress service
(app/services/learning/progress.py): the same checks, idempotency (the same record
again changes nothing) and ordering (a result whose ``dateLastModified`` is older than
the stored record's is ``stale`` and changes nothing), the same change-log entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, func, literal, select, union_all
from sqlmodel import Session, col

from app.core.errors import ProblemError
from app.core.security import Principal
from app.models.catalogue import from_centi
from app.models.cohort import Cohort, CohortStatus
from app.models.curriculum import CurriculumModule, LearningMode
from app.models.enrollment import Enrollment
from app.models.oneroster import OneRosterTombstone, TombstoneKind
from app.models.progress import ProgressIn, ProgressOutcome, ProgressRecord, ProgressStatus
from app.services.learning import progress as progress_service
from app.services.oneroster.errors import unknown
from app.services.oneroster.query import DATETIME, Field
from app.services.oneroster.rostering import TERM_PREFIX, soft_status
from app.services.oneroster.views import GRADEBOOK, Ctx, View, day, head, iso, jp_text

SEP = "."
T = OneRosterTombstone.__table__.c  # type: ignore[attr-defined]
MODE_PREFIX = "mode-"
SOURCE = "oneroster"
# The categories are fixed (the learning modes); this is when they last changed.
CATEGORIES_MODIFIED = datetime(2026, 11, 22, tzinfo=UTC)
MODE_TITLES = {
    LearningMode.self_paced: "Self-paced online (mandiri)",
    LearningMode.synchronous_virtual: "Synchronous virtual",
    LearningMode.classroom: "Classroom (klasikal)",
    LearningMode.actualization: "Workplace actualisation (aktualisasi)",
}
SCORE_STATUS = {
    ProgressStatus.completed: "fully graded",
    ProgressStatus.in_progress: "partially graded",
    ProgressStatus.not_started: "not submitted",
}
PROGRESS_STATUS = {
    "fully graded": ProgressStatus.completed,
    "partially graded": ProgressStatus.in_progress,
    "submitted": ProgressStatus.in_progress,
    "not submitted": ProgressStatus.not_started,
}


def _base_fields(sq: Any) -> dict[str, Field]:
    return {
        "sourcedId": Field(sq.c.sourcedId),
        "status": Field(sq.c.status),
        "dateLastModified": Field(sq.c.dateLastModified, DATETIME),
    }


def categories(agency_id: str) -> View:
    rows = [
        select(
            literal(MODE_PREFIX + mode.value).label("sourcedId"),
            literal("active").label("status"),
            literal(CATEGORIES_MODIFIED).label("dateLastModified"),
            literal(title).label("title"),
        )
        for mode, title in MODE_TITLES.items()
    ]
    sq = union_all(*rows).subquery("categories")
    fields = _base_fields(sq) | {"title": Field(sq.c.title)}
    names = ("sourcedId", "status", "dateLastModified", "metadata", "title")
    return View(sq, fields, _category, names)


def modes_of_class(cohort_id: str) -> Any:
    """The categories of a class: the learning modes of its curriculum's assessed modules."""
    M = CurriculumModule
    return (
        select(literal(MODE_PREFIX) + col(M.mode))
        .join(Cohort, col(Cohort.curriculum_id) == col(M.curriculum_id))
        .where(col(Cohort.id) == cohort_id, col(M.assessed).is_(True))
    )


def _category(row: Mapping[Any, Any], ctx: Ctx) -> dict[str, Any]:
    return {
        **head(row),
        "metadata": {"bangkom.learningMode": row["sourcedId"].removeprefix(MODE_PREFIX)},
        "title": row["title"],
    }


def _line_item_columns(status: Any, modified: Any) -> list[Any]:
    M = CurriculumModule
    return [
        (col(Cohort.id) + literal(SEP) + col(M.id)).label("sourcedId"),
        status.label("status"),
        modified.label("dateLastModified"),
        col(M.title).label("title"),
        col(M.description).label("description"),
        col(Cohort.id).label("class_id"),
        col(Cohort.agency_id).label("school_id"),
        (literal(MODE_PREFIX) + col(M.mode)).label("category_id"),
        col(M.mode).label("mode"),
        col(M.jp_halves).label("jp_halves"),
        col(M.weight_centi).label("weight_centi"),
        col(M.id).label("module_id"),
        col(Cohort.starts_on).label("starts_on"),
        col(Cohort.ends_on).label("ends_on"),
    ]


def line_items(agency_id: str) -> View:
    M = CurriculumModule
    # the class's soft delete, as a column: status filters see what is rendered
    cancelled = soft_status(col(Cohort.status) == CohortStatus.cancelled)
    live = (
        select(*_line_item_columns(cancelled, col(Cohort.updated_at)))
        .join(M, col(M.curriculum_id) == col(Cohort.curriculum_id))
        .where(col(Cohort.agency_id) == agency_id, col(M.assessed).is_(True))
    )
    # the assessed modules of a curriculum the cohort no longer follows
    gone = (
        select(*_line_item_columns(literal("tobedeleted"), T.removed_at))
        .select_from(OneRosterTombstone)
        .join(Cohort, col(Cohort.id) == T.object_id)
        .join(M, col(M.id) == T.module_id)
        .where(
            T.agency_id == agency_id,
            T.kind == TombstoneKind.line_item.value,
            col(M.curriculum_id) != func.coalesce(col(Cohort.curriculum_id), ""),
            col(M.assessed).is_(True),
        )
    )
    sq = union_all(live, gone).subquery("lineItems")
    fields = _base_fields(sq) | {
        "title": Field(sq.c.title),
        "class.sourcedId": Field(sq.c.class_id),
        "school.sourcedId": Field(sq.c.school_id),
        "category.sourcedId": Field(sq.c.category_id),
    }
    names = ("sourcedId", "status", "dateLastModified", "metadata", "title", "description",
             "assignDate", "dueDate", "class", "school", "category", "academicSession",
             "resultValueMin", "resultValueMax")  # fmt: skip
    return View(sq, fields, _line_item, names)


def _line_item(row: Mapping[Any, Any], ctx: Ctx) -> dict[str, Any]:
    out = {
        **head(row),
        "metadata": {
            "bangkom.module": row["module_id"],
            "bangkom.learningMode": str(row["mode"]),
            "bangkom.jp": jp_text(row["jp_halves"]),
            "bangkom.weight": str(Decimal(row["weight_centi"]) / 100),
        },
        "title": row["title"],
        "assignDate": day(row["starts_on"]) + "T00:00:00.000Z",
        "dueDate": day(row["ends_on"]) + "T23:59:59.000Z",
        "class": ctx.ref("class", row["class_id"]),
        "school": ctx.ref("org", row["school_id"]),
        "category": ctx.ref("category", row["category_id"], service=GRADEBOOK),
        "academicSession": ctx.ref("academicSession", TERM_PREFIX + row["class_id"]),
        "resultValueMin": 0,
        "resultValueMax": 100,
    }
    if row["description"]:
        out["description"] = row["description"]
    return out


def _result_columns(
    status: Any, modified: Any, progress: Any, score: Any, occurred: Any, percent: Any
) -> list[Any]:
    M, E = CurriculumModule, Enrollment
    return [
        (col(E.id) + literal(SEP) + col(M.id)).label("sourcedId"),
        status.label("status"),
        modified.label("dateLastModified"),
        (col(E.cohort_id) + literal(SEP) + col(M.id)).label("line_item_id"),
        col(E.learner_id).label("student_id"),
        col(E.cohort_id).label("class_id"),
        progress.label("progress_status"),
        score.label("score_centi"),
        occurred.label("occurred_at"),
        percent.label("percent"),
    ]


def results(agency_id: str) -> View:
    M, P, E = CurriculumModule, ProgressRecord, Enrollment
    stored = (col(P.status), col(P.score_centi), col(P.occurred_at), col(P.percent))
    live = (
        select(*_result_columns(literal("active"), col(P.updated_at), *stored))
        .join(E, col(E.id) == col(P.enrollment_id))
        .join(M, col(M.id) == col(P.module_id))
        .where(col(E.agency_id) == agency_id, col(M.assessed).is_(True))
    )
    # a record removed (xAPI voiding) and not written again
    written_again = select(col(P.id)).where(
        col(P.enrollment_id) == T.object_id, col(P.module_id) == T.module_id
    )
    removed = (literal(ProgressStatus.not_started.value), literal(None, Integer), T.removed_at,
               literal(0))  # fmt: skip
    gone = (
        select(*_result_columns(literal("tobedeleted"), T.removed_at, *removed))
        .select_from(OneRosterTombstone)
        .join(E, col(E.id) == T.object_id)
        .join(M, col(M.id) == T.module_id)
        .where(
            T.agency_id == agency_id,
            T.kind == TombstoneKind.result.value,
            col(M.assessed).is_(True),
            ~written_again.exists(),
        )
    )
    sq = union_all(live, gone).subquery("results")
    fields = _base_fields(sq) | {
        "lineItem.sourcedId": Field(sq.c.line_item_id),
        "student.sourcedId": Field(sq.c.student_id),
        "class.sourcedId": Field(sq.c.class_id),
    }
    names = ("sourcedId", "status", "dateLastModified", "metadata", "lineItem", "student",
             "class", "scoreStatus", "score", "scoreDate", "inProgress")  # fmt: skip
    return View(sq, fields, render_result, names)


def render_result(row: Mapping[Any, Any], ctx: Ctx) -> dict[str, Any]:
    status = ProgressStatus(row["progress_status"])
    out = {
        "sourcedId": row["sourcedId"],
        "status": row["status"],
        "dateLastModified": iso(row["dateLastModified"]),
        "metadata": {"bangkom.percent": row["percent"], "bangkom.status": status.value},
        "lineItem": ctx.ref("lineItem", row["line_item_id"], service=GRADEBOOK),
        "student": ctx.ref("user", row["student_id"]),
        "class": ctx.ref("class", row["class_id"]),
        "scoreStatus": SCORE_STATUS[status],
        "scoreDate": day(row["occurred_at"].date()),
        "inProgress": "true" if status == ProgressStatus.in_progress else "false",
    }
    if row["score_centi"] is not None:
        out["score"] = from_centi(row["score_centi"])
    return out


def split(sourced_id: str) -> tuple[str, str] | None:
    first, sep, second = sourced_id.partition(SEP)
    return (first, second) if sep and first and second else None


def put_result(
    *,
    session: Session,
    principal: Principal,
    sourced_id: str,
    result: dict[str, Any],
    agency_id: str,
) -> tuple[Mapping[Any, Any], ProgressOutcome]:
    """Write one pushed result as the enrolment's progress in the module; the stored
    result row and what happened (created, updated, unchanged, stale)."""
    parts = split(sourced_id)
    enrollment = session.get(Enrollment, parts[0]) if parts else None
    if parts is None or enrollment is None or enrollment.agency_id != agency_id:
        raise unknown("result", "hasil", sourced_id)
    enrollment_id, module_id = parts
    module = session.get(CurriculumModule, module_id)
    if module is None or not module.assessed:
        raise unknown("result", "hasil", sourced_id)
    body_id = result.get("sourcedId")
    if body_id is not None and body_id != sourced_id:
        raise ProblemError(
            422,
            "invaliddata",
            f"The body's sourcedId {body_id} is not the path's {sourced_id}; send the same, "
            "or leave it out.",
            detail_id=f"sourcedId di badan ({body_id}) tidak sama dengan di path "
            f"({sourced_id}); kirim yang sama, atau hilangkan.",
        )
    expected_line_item = f"{enrollment.cohort_id}{SEP}{module_id}"
    line_item = result["lineItem"]["sourcedId"]
    student = result["student"]["sourcedId"]
    if line_item != expected_line_item or student != enrollment.learner_id:
        raise ProblemError(
            422,
            "invaliddata",
            f"A result's sourcedId is <enrollment>.<module>: for {sourced_id} the lineItem "
            f"is {expected_line_item} and the student {enrollment.learner_id}; send those.",
            detail_id=f"sourcedId hasil berbentuk <enrolmen>.<modul>: untuk {sourced_id} "
            f"lineItem-nya {expected_line_item} dan student-nya {enrollment.learner_id}; "
            "kirim keduanya.",
        )
    score_status = result["scoreStatus"]
    if score_status not in PROGRESS_STATUS:
        raise ProblemError(
            422,
            "invaliddata",
            f"scoreStatus {score_status!r} has no Bangkom meaning; send 'fully graded', "
            "'partially graded', 'submitted' or 'not submitted'.",
            detail_id=f"scoreStatus {score_status!r} tidak bermakna di Bangkom; kirim "
            "'fully graded', 'partially graded', 'submitted' atau 'not submitted'.",
        )
    status = PROGRESS_STATUS[score_status]
    score = result.get("score")
    data = ProgressIn(
        status=status,
        score=Decimal(str(score)) if score is not None else None,
        occurred_at=result["dateLastModified"],
        source=SOURCE,
        external_id=sourced_id,
    )
    _record, _etag, outcome = progress_service.put_progress(
        session=session,
        principal=principal,
        enrollment_id=enrollment_id,
        module_id=module_id,
        data=data,
    )
    view = results(agency_id)
    row = session.execute(select(view.sq).where(view.key == sourced_id)).mappings().one()
    return row, outcome
