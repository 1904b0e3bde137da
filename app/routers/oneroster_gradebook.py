"""OneRoster 1.2 gradebook: /ims/oneroster/gradebook/v1p2/... reads as tables of routes over
app/services/oneroster/gradebook.py, and ``PUT /results/{sourcedId}`` (an LMS's score
becomes the learner's progress in the module)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response

from app.core.errors import ProblemError
from app.core.security import Principal
from app.deps import SessionDep
from app.routers.oneroster_collections import (
    CATEGORY,
    CLASS,
    LINE_ITEM,
    RESULT,
    STUDENT,
    SourcedId,
    ctx_of,
    eq,
    error_responses,
    json_response,
    list_route,
    one_route,
    within,
)  # fmt: skip
from app.routers.oneroster_http import GRADEBOOK_READ, GRADEBOOK_WRITE, OneRosterRoute, scoped
from app.routers.oneroster_rostering import classes, students
from app.services.oneroster import gradebook
from app.services.oneroster.schemas import SINGLES, ResultPut
from app.services.oneroster.views import GRADEBOOK

router = APIRouter(prefix="/ims/oneroster", route_class=OneRosterRoute, tags=["oneroster"])
G = GRADEBOOK.removeprefix("/ims/oneroster")
GB_READ = scoped(GRADEBOOK_READ)
_CLASS = ("classSourcedId", classes, CLASS)
_GRADEBOOK_LISTS: list[tuple[Any, ...]] = [
    ("/categories", "getAllCategories", "categories", gradebook.categories, ()),
    ("/lineItems", "getAllLineItems", "lineItems", gradebook.line_items, ()),
    ("/results", "getAllResults", "results", gradebook.results, ()),
    ("/classes/{classSourcedId}/categories", "getCategoriesForClass", "categories",
     gradebook.categories, (_CLASS,), within("sourcedId", gradebook.modes_of_class)),
    ("/classes/{classSourcedId}/lineItems", "getLineItemsForClass", "lineItems",
     gradebook.line_items, (_CLASS,), eq("class_id")),
    ("/classes/{classSourcedId}/results", "getResultsForClass", "results", gradebook.results,
     (_CLASS,), eq("class_id")),
    ("/classes/{classSourcedId}/lineItems/{lineItemSourcedId}/results",
     "getResultsForLineItemForClass", "results", gradebook.results,
     (_CLASS, ("lineItemSourcedId", gradebook.line_items, LINE_ITEM)),
     lambda view, cls, item: (view.sq.c.class_id == cls) & (view.sq.c.line_item_id == item)),
    ("/classes/{classSourcedId}/students/{studentSourcedId}/results",
     "getResultsForStudentForClass", "results", gradebook.results,
     (_CLASS, ("studentSourcedId", students, STUDENT)),
     lambda view, cls, student: (view.sq.c.class_id == cls) & (view.sq.c.student_id == student)),
]  # fmt: skip
_GRADEBOOK_ONES = [
    ("/categories/{sourcedId}", "getCategory", "category", gradebook.categories, CATEGORY),
    ("/lineItems/{sourcedId}", "getLineItem", "lineItem", gradebook.line_items, LINE_ITEM),
    ("/results/{sourcedId}", "getResult", "result", gradebook.results, RESULT),
]
for path, op, name, factory, parents, *narrow in _GRADEBOOK_LISTS:
    list_route(router, G + path, op, name, factory, GB_READ, f"OneRoster {op}", parents, *narrow)
for path, op, name, factory, what in _GRADEBOOK_ONES:
    one_route(router, G + path, op, name, factory, GB_READ, what, f"OneRoster {op}")


@router.put(
    G + "/results/{sourcedId}",
    name="putResult",
    summary="OneRoster putResult: an LMS's score becomes the learner's progress in the module",
    description="The result's sourcedId is `<enrollment sourcedId>.<module id>` (the "
    "lineItem is `<class sourcedId>.<module id>`). `scoreStatus` fully graded -> completed, "
    "partially graded or submitted -> in progress, not submitted -> not started; `score` "
    "0-100; `dateLastModified` is when the LMS graded it. Written by the progress service: "
    "the same result again changes nothing, an older one than stored is ignored "
    "(`Progress-Outcome: stale`). 201 when the record is new, else 200.",
    status_code=200,
    responses={
        200: {"model": SINGLES["result"], "description": "The stored result"},
        201: {"model": SINGLES["result"], "description": "Created"},
        **error_responses(400, 401, 403, 404, 415, 422, 429, 503),
    },
)
def put_result(
    request: Request,
    sourcedId: SourcedId,
    body: ResultPut,
    principal: Annotated[Principal, scoped(GRADEBOOK_WRITE)],
    session: SessionDep,
) -> Response:
    data = body.result.model_dump(by_alias=True)
    if body.result.status == "tobedeleted":
        raise ProblemError(
            422,
            "invaliddata",
            "Bangkom keeps progress records: a result cannot be deleted; send status "
            "'active' with scoreStatus 'not submitted' to reset it.",
            detail_id="Bangkom menyimpan catatan kemajuan: hasil tidak dapat dihapus; kirim "
            "status 'active' dengan scoreStatus 'not submitted' untuk mengulangnya.",
        )
    data["score"] = body.result.score
    row, outcome = gradebook.put_result(
        session=session,
        principal=principal,
        sourced_id=sourcedId,
        result=data,
        agency_id=principal.agency_id,
    )
    rendered = gradebook.render_result(row, ctx_of(request, principal))
    return json_response(
        {"result": rendered},
        status_code=201 if outcome == "created" else 200,
        headers={"Progress-Outcome": str(outcome)},
    )
