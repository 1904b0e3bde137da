"""IMS OneRoster 1.2 provider: /ims/oneroster/rostering/v1p2/... and
/ims/oneroster/gradebook/v1p2/... (app/services/oneroster/ holds the mapping).

The binding's conventions apply on these routes only: the named envelope, limit/offset
with X-Total-Count and Link, sort/orderBy, fields, filter, and errors as
``imsx_StatusInfo`` (the route class turns every problem into it). Integration clients
need the binding's scopes; people of the agency (not learners) may read too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request, Response, Security
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, create_model
from pydantic import Field as PField
from sqlalchemy import false
from sqlmodel import Session
from starlette.exceptions import HTTPException

from app.core import i18n
from app.core.errors import DATABASE_UNAVAILABLE, ProblemError, _field_errors, database_unavailable
from app.core.security import Principal
from app.deps import CurrentPrincipal, SessionDep, insufficient_scope
from app.models.client import Scope
from app.models.types import line
from app.services.oneroster import errors as or_errors
from app.services.oneroster import gradebook, query, rostering
from app.services.oneroster.schemas import SETS, SINGLES, ResultPut, StatusInfo
from app.services.oneroster.views import GRADEBOOK, ROSTERING, Ctx, View, collect, one

ROSTER_SCOPES = (Scope.or_roster.value, Scope.or_roster_core.value)
GRADEBOOK_READ = (Scope.or_gradebook_read.value, Scope.or_gradebook_write.value)
GRADEBOOK_WRITE = (Scope.or_gradebook_write.value,)
MAX_LIMIT = 1000


class OneRosterRoute(APIRoute):
    """Answers every error of the route as the binding's ``imsx_StatusInfo`` payload."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except ProblemError as exc:
                return _imsx(request, exc)
            except DATABASE_UNAVAILABLE:
                return _imsx(request, database_unavailable())
            except HTTPException as exc:  # FastAPI's own: a body that is no JSON at all
                if exc.status_code != 400:
                    raise
                return _imsx(
                    request,
                    ProblemError(
                        400,
                        "invaliddata",
                        "The body is not valid JSON; send the result as one JSON object.",
                        detail_id="Isi permintaan bukan JSON yang sah; kirim hasil sebagai "
                        "satu objek JSON.",
                    ),
                )
            except RequestValidationError as exc:
                errors = _field_errors(exc.errors())
                fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors[:5])
                body = any(e["loc"][:1] == ["body"] for e in errors)
                kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
                if any(e["loc"] == ["body"] for e in errors) and kind != "application/json":
                    return _imsx(
                        request,
                        ProblemError(
                            415,
                            "invaliddata",
                            "Send the result as JSON with 'Content-Type: application/json'.",
                            detail_id="Kirim hasil sebagai JSON dengan "
                            "'Content-Type: application/json'.",
                        ),
                    )
                named = {e["loc"][1] for e in errors if e["loc"][:1] == ["query"] and e["loc"][1:]}
                code = (
                    "invalid_selection_field"
                    if "fields" in named
                    else "invalid_filter_field"
                    if "filter" in named
                    else "invaliddata"
                )
                return _imsx(
                    request,
                    ProblemError(
                        422 if body else 400,
                        code,
                        f"Invalid or missing: {fields}.",
                        detail_id=f"Tidak valid atau kosong: {fields}.",
                        errors=errors,
                    ),
                )

        return route


def _imsx(request: Request, exc: ProblemError) -> Response:
    lang = i18n.negotiate(request.headers.get("accept-language"))
    headers = dict(exc.headers)
    if exc.status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="bangkom"')
    return Response(
        or_errors.imsx_body(exc, lang),
        status_code=exc.status,
        headers=headers,
        media_type="application/json",
    )


def _scoped(scopes: tuple[str, ...]) -> Any:
    """Clients need one of ``scopes``; people of an agency read as their agency (learners
    may not)."""

    def dependency(principal: CurrentPrincipal) -> Principal:
        if principal.is_client and not set(scopes) & principal.scopes:
            raise insufficient_scope(scopes[0])
        if principal.is_learner:
            raise ProblemError(
                403,
                "forbidden",
                "Learner logins cannot use the OneRoster API; an integration client or an "
                "agency account can.",
                detail_id="Akun peserta tidak dapat memakai API OneRoster; klien integrasi "
                "atau akun instansi dapat.",
            )
        return principal

    return Security(dependency, scopes=list(scopes))


RosterReader = Annotated[Principal, _scoped(ROSTER_SCOPES)]
GradebookReader = Annotated[Principal, _scoped(GRADEBOOK_READ)]
GradebookWriter = Annotated[Principal, _scoped(GRADEBOOK_WRITE)]


class CollectionQuery(BaseModel):
    """The binding's collection parameters (unknown ones are a 400)."""

    model_config = ConfigDict(extra="forbid")

    limit: int = PField(default=100, ge=1, le=MAX_LIMIT, description="Page size (default 100)")
    offset: int = PField(default=0, ge=0, le=2_000_000_000, description="First record, from 0")
    sort: str | None = PField(
        default=None, min_length=1, max_length=60, pattern=r"^[A-Za-z][A-Za-z0-9_.]*$",
        description="A field to sort by; sourcedId breaks ties",
    )  # fmt: skip
    orderBy: Literal["asc", "desc"] = "asc"
    filter: str | None = line(
        default=None, min_length=1, max_length=query.MAX_FILTER_LENGTH,
        description="e.g. status='active' AND dateLastModified>'2025-01-01T00:00:00Z'; "
        "operators = != > >= < <= ~ (contains), joined by AND / OR",
    )  # fmt: skip
    fields: str | None = line(
        default=None, min_length=1, max_length=1000, description="Comma-separated fields"
    )


class FieldsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: str | None = line(
        default=None, min_length=1, max_length=1000, description="Comma-separated fields"
    )


Collection = Annotated[CollectionQuery, Query()]
Fields = Annotated[FieldsQuery, Query()]
_MODELS: dict[tuple[str, bool], Any] = {}


def _query_model(name: str, view: View, *, collection: bool) -> Any:
    """The route's query model, stating what the view accepts: ``sort`` one of its
    sortable fields, ``fields`` a comma-separated list of its members (the ``filter``
    grammar is beyond a schema; app/services/oneroster/query.py checks it)."""
    key = (name, collection)
    if key not in _MODELS:
        members = "|".join(view.names)
        fields_type = Annotated[
            str | None,
            PField(
                default=None,
                max_length=1000,
                pattern=rf"^({members})(,({members}))*$",
                description=f"Comma-separated, of: {', '.join(view.names)}",
            ),
        ]
        values: dict[str, Any] = {"fields": (fields_type, None)}
        if collection:
            sortable = Literal[tuple(view.fields)]  # type: ignore[valid-type]
            values["sort"] = (
                sortable | None,
                PField(default=None, description="A field to sort by; sourcedId breaks ties"),
            )
        base = CollectionQuery if collection else FieldsQuery
        title = name[0].upper() + name[1:] + ("Query" if collection else "FieldsQuery")
        _MODELS[key] = Annotated[create_model(title, __base__=base, **values), Query()]
    return _MODELS[key]


SourcedId = Annotated[
    str,
    Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$", description="sourcedId"),
]


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {
        400: "Bad filter (invalid_filter_field), fields (invalid_selection_field) or "
        "parameter (invaliddata)",
        401: "No or a bad bearer token (unauthorisedrequest)",
        403: "The token lacks the scope, or is a learner's (forbidden)",
        404: "No such object for this client (unknownobject)",
        415: "The body was not sent as application/json (invaliddata)",
        422: "The body is not a valid result (invaliddata)",
        429: "Rate limit of the client passed (server_busy)",
        503: "The database is not available; see Retry-After (server_busy)",
    }
    return {s: {"model": StatusInfo, "description": text[s]} for s in statuses}


# 422 as the binding's own file declares it on reads (a read has no body: bad
# parameters are 400 here)
_READ_ERRORS = _errors(400, 401, 403, 404, 422, 429, 503)
_COLLECTION_HEADERS = {
    "X-Total-Count": {"description": "Records matching the filter", "schema": {"type": "integer"}},
    "Link": {"description": "RFC 8288 first, prev, next, last", "schema": {"type": "string"}},
}


def _ctx(request: Request, principal: Principal) -> Ctx:
    return Ctx(str(request.base_url).rstrip("/"), principal.agency_id)


def _json(body: Any, *, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status_code,
        media_type="application/json",
        headers={"Vary": "Authorization", **(headers or {})},
    )


def _links(request: Request, limit: int, offset: int, total: int) -> str:
    def url(at: int) -> str:
        params = dict(request.query_params) | {"limit": str(limit), "offset": str(at)}
        return f"{request.url.replace(query='')}?{urlencode(params)}"

    last = max(0, (total - 1) // limit * limit)
    links = [f'<{url(0)}>; rel="first"', f'<{url(last)}>; rel="last"']
    if offset + limit < total:
        links.append(f'<{url(offset + limit)}>; rel="next"')
    if offset > 0:
        links.append(f'<{url(max(0, offset - limit))}>; rel="prev"')
    return ", ".join(links)


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    view: View,
    name: str,
    q: CollectionQuery,
) -> Response:
    names = query.selected_fields(q.fields, view.names)
    got = collect(
        session,
        view,
        filter_text=q.filter,
        sort=q.sort,
        descending=q.orderBy == "desc",
        limit=q.limit,
        offset=q.offset,
    )
    ctx = _ctx(request, principal)
    items = [query.project(view.render(row, ctx), names) for row in got.rows]
    headers = {
        "X-Total-Count": str(got.total),
        "Link": _links(request, q.limit, q.offset, got.total),
    }
    return _json({name: items}, headers=headers)


def _single(
    request: Request, session: Session, principal: Principal, view: View, name: str,
    sourced_id: str, fields: str | None, what: tuple[str, str],
) -> Response:  # fmt: skip
    names = query.selected_fields(fields, view.names)
    row = one(session, view, sourced_id)
    if row is None:
        raise or_errors.unknown(what[0], what[1], sourced_id)
    return _json({name: query.project(view.render(row, _ctx(request, principal)), names)})


def _require(session: Session, view: View, sourced_id: str, what: tuple[str, str]) -> None:
    if one(session, view, sourced_id) is None:
        raise or_errors.unknown(what[0], what[1], sourced_id)


router = APIRouter(prefix="/ims/oneroster", route_class=OneRosterRoute, tags=["oneroster"])

ORG = ("org", "organisasi")
SCHOOL = ("school", "sekolah")
SESSION = ("academic session", "sesi akademik")
TERM = ("term", "term")
COURSE = ("course", "pelatihan")
CLASS = ("class", "kelas")
USER = ("user", "pengguna")
STUDENT = ("student", "peserta")
TEACHER = ("teacher", "pengajar")
ENROLLMENT = ("enrollment", "enrolmen")
CATEGORY = ("category", "kategori")
LINE_ITEM = ("line item", "butir penilaian")
RESULT = ("result", "hasil")

Factory = Callable[[str], View]


def _path(name: str) -> Any:
    """A dependency declaring the path parameter ``name`` (a bounded sourcedId)."""

    def dependency(value: str) -> str:
        return value

    # set here, not written in the signature: a postponed annotation would read ``name``
    # from the module's globals
    dependency.__annotations__["value"] = Annotated[
        str, Path(alias=name, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")
    ]
    return Depends(dependency)


def _list_route(
    path: str, op: str, name: str, factory: Callable[..., View], scope: Any,
    summary: str, parents: tuple[tuple[str, Factory, tuple[str, str]], ...] = (),
    narrow: Callable[..., Any] | None = None,
) -> None:  # fmt: skip
    """A collection route; ``parents`` are the path parameters checked to exist (404),
    ``narrow`` the condition the parents put on the collection's view."""

    def endpoint(
        request: Request, principal: Principal, session: SessionDep, q: Collection
    ) -> Response:
        agency = principal.agency_id
        ids = [request.path_params[param] for param, _, _ in parents]
        for (_, parent, what), ident in zip(parents, ids, strict=True):
            _require(session, parent(agency), ident, what)
        view = factory(agency)
        if narrow is not None:
            view = view.narrowed(narrow(view, *ids))
        return _page(request, session, principal, view, name, q)

    endpoint.__annotations__["principal"] = Annotated[Principal, scope]
    endpoint.__annotations__["q"] = _query_model(name, factory("x"), collection=True)
    router.add_api_route(
        path,
        endpoint,
        methods=["GET"],
        name=op,
        summary=summary,
        dependencies=[_path(param) for param, _, _ in parents],
        responses={200: {"model": SETS[name], "headers": _COLLECTION_HEADERS}, **_READ_ERRORS},
    )


def _one_route(
    path: str, op: str, name: str, factory: Factory, scope: Any, what: tuple[str, str], summary: str
) -> None:
    def endpoint(
        request: Request, principal: Principal, session: SessionDep, sourcedId: SourcedId, q: Fields
    ) -> Response:
        view = factory(principal.agency_id)
        return _single(request, session, principal, view, name, sourcedId, q.fields, what)

    endpoint.__annotations__["principal"] = Annotated[Principal, scope]
    endpoint.__annotations__["q"] = _query_model(name, factory("x"), collection=False)
    router.add_api_route(
        path,
        endpoint,
        methods=["GET"],
        name=op,
        summary=summary,
        responses={200: {"model": SINGLES[name]}, **_READ_ERRORS},
    )


# --- rostering -------------------------------------------------------------------------

R = ROSTERING.removeprefix("/ims/oneroster")
G = GRADEBOOK.removeprefix("/ims/oneroster")
ROSTER = _scoped(ROSTER_SCOPES)
orgs, terms, courses, classes = (
    rostering.orgs,
    rostering.terms,
    rostering.courses,
    rostering.classes,
)
enrollments = rostering.enrollments


def users(agency: str) -> View:
    return rostering.users(agency)


def students(agency: str) -> View:
    return rostering.users(agency, role="student")


def teachers(agency: str) -> View:
    return rostering.users(agency, role="teacher")


def no_grading_periods(agency: str) -> View:
    """Bangkom has no grading periods: the collection is always empty."""
    return terms(agency).narrowed(false())


def _in(column: str, subquery: Callable[[str], Any]) -> Callable[..., Any]:
    return lambda view, ident, *_: view.sq.c[column].in_(subquery(ident))


def _eq(column: str, position: int = 0, strip: str = "") -> Callable[..., Any]:
    return lambda view, *ids: view.sq.c[column] == ids[position].removeprefix(strip)


def _classes_of_user(view: View, ident: str) -> Any:
    return view.key.in_(rostering.cohorts_of_learner(ident)) | view.key.in_(
        rostering.cohorts_of_instructor(ident)
    )


_SCHOOL = ("schoolSourcedId", orgs, SCHOOL)
_CLASS = ("classSourcedId", classes, CLASS)
_ROSTER_LISTS: list[tuple[Any, ...]] = [
    ("/academicSessions", "getAllAcademicSessions", "academicSessions", terms, ()),
    ("/classes", "getAllClasses", "classes", classes, ()),
    ("/classes/{classSourcedId}/students", "getStudentsForClass", "users", students,
     (_CLASS,), _in("sourcedId", rostering.learners_of_cohort)),
    ("/classes/{classSourcedId}/teachers", "getTeachersForClass", "users", teachers,
     (_CLASS,), _in("sourcedId", rostering.instructors_of_cohort)),
    ("/courses", "getAllCourses", "courses", courses, ()),
    ("/courses/{courseSourcedId}/classes", "getClassesForCourse", "classes", classes,
     (("courseSourcedId", courses, COURSE),), _eq("course_id")),
    ("/enrollments", "getAllEnrollments", "enrollments", enrollments, ()),
    ("/gradingPeriods", "getAllGradingPeriods", "academicSessions", no_grading_periods, ()),
    ("/orgs", "getAllOrgs", "orgs", orgs, ()),
    ("/schools", "getAllSchools", "orgs", orgs, ()),
    ("/schools/{schoolSourcedId}/classes", "getClassesForSchool", "classes", classes,
     (_SCHOOL,), _eq("school_id")),
    ("/schools/{schoolSourcedId}/classes/{classSourcedId}/enrollments",
     "getEnrollmentsForClassInSchool", "enrollments", enrollments, (_SCHOOL, _CLASS),
     _eq("class_id", 1)),
    ("/schools/{schoolSourcedId}/classes/{classSourcedId}/students",
     "getStudentsForClassInSchool", "users", students, (_SCHOOL, _CLASS),
     lambda view, _school, cls: view.key.in_(rostering.learners_of_cohort(cls))),
    ("/schools/{schoolSourcedId}/classes/{classSourcedId}/teachers",
     "getTeachersForClassInSchool", "users", teachers, (_SCHOOL, _CLASS),
     lambda view, _school, cls: view.key.in_(rostering.instructors_of_cohort(cls))),
    ("/schools/{schoolSourcedId}/courses", "getCoursesForSchool", "courses", courses,
     (_SCHOOL,), _eq("org_id")),
    ("/schools/{schoolSourcedId}/enrollments", "getEnrollmentsForSchool", "enrollments",
     enrollments, (_SCHOOL,), _eq("school_id")),
    ("/schools/{schoolSourcedId}/students", "getStudentsForSchool", "users", students,
     (_SCHOOL,)),
    ("/schools/{schoolSourcedId}/teachers", "getTeachersForSchool", "users", teachers,
     (_SCHOOL,)),
    ("/schools/{schoolSourcedId}/terms", "getTermsForSchool", "academicSessions", terms,
     (_SCHOOL,), _eq("school_id")),
    ("/students", "getAllStudents", "users", students, ()),
    ("/students/{studentSourcedId}/classes", "getClassesForStudent", "classes", classes,
     (("studentSourcedId", students, STUDENT),),
     lambda view, ident: view.key.in_(rostering.cohorts_of_learner(ident))),
    ("/teachers", "getAllTeachers", "users", teachers, ()),
    ("/teachers/{teacherSourcedId}/classes", "getClassesForTeacher", "classes", classes,
     (("teacherSourcedId", teachers, TEACHER),),
     lambda view, ident: view.key.in_(rostering.cohorts_of_instructor(ident))),
    ("/terms", "getAllTerms", "academicSessions", terms, ()),
    ("/terms/{termSourcedId}/classes", "getClassesForTerm", "classes", classes,
     (("termSourcedId", terms, TERM),), _eq("sourcedId", strip=rostering.TERM_PREFIX)),
    ("/terms/{termSourcedId}/gradingPeriods", "getGradingPeriodsForTerm", "academicSessions",
     no_grading_periods, (("termSourcedId", terms, TERM),)),
    ("/users", "getAllUsers", "users", users, ()),
    ("/users/{userSourcedId}/classes", "getClassesForUser", "classes", classes,
     (("userSourcedId", users, USER),), _classes_of_user),
]  # fmt: skip
_ROSTER_ONES = [
    ("/academicSessions/{sourcedId}", "getAcademicSession", "academicSession", terms, SESSION),
    ("/classes/{sourcedId}", "getClass", "class", classes, CLASS),
    ("/courses/{sourcedId}", "getCourse", "course", courses, COURSE),
    ("/enrollments/{sourcedId}", "getEnrollment", "enrollment", enrollments, ENROLLMENT),
    ("/gradingPeriods/{sourcedId}", "getGradingPeriod", "academicSession", no_grading_periods,
     SESSION),
    ("/orgs/{sourcedId}", "getOrg", "org", orgs, ORG),
    ("/schools/{sourcedId}", "getSchool", "org", orgs, SCHOOL),
    ("/students/{sourcedId}", "getStudent", "user", students, STUDENT),
    ("/teachers/{sourcedId}", "getTeacher", "user", teachers, TEACHER),
    ("/terms/{sourcedId}", "getTerm", "academicSession", terms, TERM),
    ("/users/{sourcedId}", "getUser", "user", users, USER),
]  # fmt: skip

for path, op, name, factory, parents, *narrow in _ROSTER_LISTS:
    _list_route(R + path, op, name, factory, ROSTER, f"OneRoster {op}", parents, *narrow)
for path, op, name, factory, what in _ROSTER_ONES:
    _one_route(R + path, op, name, factory, ROSTER, what, f"OneRoster {op}")


# --- gradebook -------------------------------------------------------------------------

GB_READ = _scoped(GRADEBOOK_READ)
_GB_CLASS = ("classSourcedId", classes, CLASS)
_GRADEBOOK_LISTS: list[tuple[Any, ...]] = [
    ("/categories", "getAllCategories", "categories", gradebook.categories, ()),
    ("/lineItems", "getAllLineItems", "lineItems", gradebook.line_items, ()),
    ("/results", "getAllResults", "results", gradebook.results, ()),
    ("/classes/{classSourcedId}/lineItems", "getLineItemsForClass", "lineItems",
     gradebook.line_items, (_GB_CLASS,), _eq("class_id")),
    ("/classes/{classSourcedId}/results", "getResultsForClass", "results", gradebook.results,
     (_GB_CLASS,), _eq("class_id")),
    ("/classes/{classSourcedId}/lineItems/{lineItemSourcedId}/results",
     "getResultsForLineItemForClass", "results", gradebook.results,
     (_GB_CLASS, ("lineItemSourcedId", gradebook.line_items, LINE_ITEM)),
     lambda view, cls, item: (view.sq.c.class_id == cls) & (view.sq.c.line_item_id == item)),
    ("/classes/{classSourcedId}/students/{studentSourcedId}/results",
     "getResultsForStudentForClass", "results", gradebook.results,
     (_GB_CLASS, ("studentSourcedId", students, STUDENT)),
     lambda view, cls, student: (view.sq.c.class_id == cls) & (view.sq.c.student_id == student)),
]  # fmt: skip
_GRADEBOOK_ONES = [
    ("/categories/{sourcedId}", "getCategory", "category", gradebook.categories, CATEGORY),
    ("/lineItems/{sourcedId}", "getLineItem", "lineItem", gradebook.line_items, LINE_ITEM),
    ("/results/{sourcedId}", "getResult", "result", gradebook.results, RESULT),
]
for path, op, name, factory, parents, *narrow in _GRADEBOOK_LISTS:
    _list_route(G + path, op, name, factory, GB_READ, f"OneRoster {op}", parents, *narrow)
for path, op, name, factory, what in _GRADEBOOK_ONES:
    _one_route(G + path, op, name, factory, GB_READ, what, f"OneRoster {op}")


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
        **_errors(400, 401, 403, 404, 415, 422, 429, 503),
    },
)
def put_result(
    request: Request,
    sourcedId: SourcedId,
    body: ResultPut,
    principal: Annotated[Principal, _scoped(GRADEBOOK_WRITE)],
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
    rendered = gradebook._result(row, _ctx(request, principal))
    return _json(
        {"result": rendered},
        status_code=201 if outcome == "created" else 200,
        headers={"Progress-Outcome": str(outcome)},
    )
