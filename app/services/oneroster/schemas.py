"""The binding's payloads as pydantic models: for the OpenAPI document (responses are
rendered by the views) and for the one body Bangkom accepts, the result PUT.

Field names, required members and enumerations follow 1EdTech's OneRoster 1.2 OpenAPI
files (tests/fixtures/oneroster/ vendors the rostering schemas and validates responses
against them)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, create_model
from pydantic import Field as PField

from app.models.types import AwareDateTime, Score, StrictInput, line, text

Status = Literal["active", "tobedeleted"]


class GUIDRef(BaseModel):
    href: str
    sourcedId: str
    type: str


def _selectable(schema: dict[str, Any]) -> None:
    """``fields`` may select any members, so none is required in the document (the
    binding's own required lists hold for a full object: tests/test_oneroster.py checks
    them against 1EdTech's schemas)."""
    schema.pop("required", None)


class Base(BaseModel):
    model_config = ConfigDict(json_schema_extra=_selectable)

    sourcedId: str
    status: Status
    dateLastModified: str = PField(description="UTC, ISO 8601")
    metadata: dict[str, Any] | None = PField(default=None, description="Bangkom's extensions")


class Org(Base):
    name: str
    type: Literal["department", "district", "local", "national", "school", "state"]
    identifier: str


class AcademicSession(Base):
    title: str
    startDate: str
    endDate: str = PField(description="Exclusive: the day after the cohort's last day")
    type: Literal["gradingPeriod", "semester", "schoolYear", "term"]
    schoolYear: str


class Course(Base):
    title: str
    courseCode: str
    subjects: list[str] | None = None
    org: GUIDRef | None = None


class Class(Base):
    title: str
    classCode: str | None = None
    classType: Literal["homeroom", "scheduled"] | None = None
    location: str | None = None
    subjects: list[str] | None = None
    course: GUIDRef
    school: GUIDRef
    terms: list[GUIDRef]


class UserId(BaseModel):
    type: str
    identifier: str


class Role(BaseModel):
    roleType: Literal["primary", "secondary"]
    role: str
    org: GUIDRef


class User(Base):
    username: str | None = None
    userIds: list[UserId] | None = None
    enabledUser: Literal["true", "false"]
    givenName: str
    familyName: str
    roles: list[Role]
    primaryOrg: GUIDRef | None = None
    identifier: str | None = None
    email: str | None = None


class Demographics(Base):
    """Bangkom keeps no demographics: the collection is always empty (the members are
    the binding's, for the document)."""

    birthDate: str | None = None
    sex: str | None = None


class Enrollment(Base):
    user: GUIDRef
    class_: GUIDRef = PField(alias="class")
    school: GUIDRef
    role: Literal["administrator", "proctor", "student", "teacher"]
    beginDate: str | None = None
    endDate: str | None = None


class Category(Base):
    title: str


class LineItem(Base):
    title: str
    description: str | None = None
    assignDate: str
    dueDate: str
    class_: GUIDRef = PField(alias="class")
    school: GUIDRef
    category: GUIDRef
    academicSession: GUIDRef | None = None
    resultValueMin: float | None = None
    resultValueMax: float | None = None


class Result(Base):
    lineItem: GUIDRef
    student: GUIDRef
    class_: GUIDRef | None = PField(default=None, alias="class")
    scoreStatus: Literal["exempt", "fully graded", "not submitted", "partially graded", "submitted"]
    score: float | None = None
    scoreDate: str
    inProgress: Literal["true", "false"] | None = None


def _set(name: str, item: type[BaseModel]) -> type[BaseModel]:
    """The binding's collection envelope, e.g. ``{"users": [...]}``."""
    fields: dict[str, Any] = {name: (list[item], ...)}  # type: ignore[valid-type]
    return create_model(f"{item.__name__}Set", **fields)


def _single(name: str, item: type[BaseModel]) -> type[BaseModel]:
    """The binding's single-object envelope, e.g. ``{"user": {...}}``."""
    fields: dict[str, Any] = {name: (item, ...)}
    return create_model(f"Single{item.__name__}", **fields)


class CodeMinorField(BaseModel):
    imsx_codeMinorFieldName: str
    imsx_codeMinorFieldValue: Literal[
        "fullsuccess", "invalid_filter_field", "invalid_selection_field", "invaliddata",
        "unauthorisedrequest", "forbidden", "server_busy", "unknownobject",
        "internal_server_error",
    ]  # fmt: skip


class CodeMinor(BaseModel):
    imsx_codeMinorField: list[CodeMinorField]


class StatusInfo(BaseModel):
    """The binding's error payload (imsx_StatusInfoDType)."""

    model_config = ConfigDict(title="imsx_StatusInfo")

    imsx_codeMajor: Literal["success", "processing", "failure", "unsupported"]
    imsx_severity: Literal["status", "warning", "error"]
    imsx_description: str | None = None
    imsx_CodeMinor: CodeMinor | None = None


# --- the result PUT ------------------------------------------------------------------


class RefIn(StrictInput):
    sourcedId: str = line(min_length=1, max_length=100)
    href: str | None = line(max_length=500, default=None)
    type: str | None = line(max_length=40, default=None)


class ResultIn(StrictInput):
    """A OneRoster 1.2 result, as an LMS pushes it. ``dateLastModified`` is when the LMS
    graded it: an older result never overwrites a newer one."""

    sourcedId: str | None = line(min_length=1, max_length=100, default=None)
    status: Status = PField(
        default="active", description="Progress records are kept: tobedeleted is refused (422)"
    )
    dateLastModified: AwareDateTime
    metadata: dict[str, Any] | None = PField(default=None, max_length=50)
    lineItem: RefIn
    student: RefIn
    class_: RefIn | None = PField(default=None, alias="class")
    scoreScale: RefIn | None = None
    scoreStatus: Literal["fully graded", "partially graded", "submitted", "not submitted"]
    score: Score | None = None
    textScore: str | None = line(max_length=200, default=None)
    scoreDate: str | None = PField(
        default=None, max_length=40, pattern=r"^\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:\d{2}))?$"
    )
    comment: str | None = text(max_length=2000, default=None)
    inProgress: Literal["true", "false"] | None = None
    incomplete: Literal["true", "false"] | None = None
    late: Literal["true", "false"] | None = None
    missing: Literal["true", "false"] | None = None


class ResultPut(StrictInput):
    result: ResultIn


SETS = {
    "orgs": _set("orgs", Org),
    "academicSessions": _set("academicSessions", AcademicSession),
    "courses": _set("courses", Course),
    "classes": _set("classes", Class),
    "users": _set("users", User),
    "enrollments": _set("enrollments", Enrollment),
    "demographics": _set("demographics", Demographics),
    "categories": _set("categories", Category),
    "lineItems": _set("lineItems", LineItem),
    "results": _set("results", Result),
}
SINGLES = {
    "org": _single("org", Org),
    "academicSession": _single("academicSession", AcademicSession),
    "course": _single("course", Course),
    "class": _single("class", Class),
    "user": _single("user", User),
    "enrollment": _single("enrollment", Enrollment),
    "demographics": _single("demographics", Demographics),
    "category": _single("category", Category),
    "lineItem": _single("lineItem", LineItem),
    "result": _single("result", Result),
}
