"""Rostering views: Bangkom's agencies, courses and cohorts as OneRoster orgs, courses,
classes + terms (learners and instructors as users: people.py; enrolments and teaching
assignments as enrollments: enrollments.py).

Mapping (README has the table): agency -> org (and the "school" where learning happens);
cohort -> class (classType scheduled, classCode "Angkatan II") and its run -> an
academicSession of type term (sourcedId ``term-<cohort id>``, schoolYear = the cohort's
year); course -> course; learner -> user with role student (NIP / NI PPPK as userIds);
an agency user with the instructor role or teaching a session of the agency's cohorts ->
user with role teacher; enrolment -> enrollment (role student); an instructor teaching a
session of a cohort -> enrollment (role teacher) in its class. Soft deletes: cancelled
cohorts, archived courses, withdrawn or waitlisted enrolments, deactivated accounts and
instructors taken off a cohort's sessions are ``tobedeleted``; so are deleted courses,
from the change log, for as long as it keeps them (``change_retention_days``), and, from
``oneroster_tombstone`` (tombstones.py), learners the agency stops seeing, users who lose
the instructor role, results removed by xAPI voiding and the lineItems of a curriculum a
draft cohort no longer follows.

Every view holds only the caller's agency: its own org, courses and cohorts, the
enrolments and teachers of its cohorts, its home learners and the learners it sees
through ``learner_grant`` (enrolled in a cohort it organises or partners), its
instructors. Another agency's object is 404 ``unknownobject``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import String, case, cast, false, literal, null, select, union_all
from sqlmodel import col

from app.models.agency import Agency, AgencyKind
from app.models.catalogue import roman
from app.models.change import Change, ChangeOp, ChangeType
from app.models.cohort import Cohort, CohortStatus
from app.models.course import Course, CourseStatus
from app.services.oneroster.query import DATE, DATETIME, Field
from app.services.oneroster.views import Ctx, View, day, exclusive_end, head, jp_text

TERM_PREFIX = "term-"
ORG_TYPES = {
    AgencyKind.central: "national",
    AgencyKind.province: "state",
    AgencyKind.regency_city: "district",
    AgencyKind.police: "department",
    AgencyKind.other: "department",
}


def soft_status(gone: Any) -> Any:
    return case((gone, literal("tobedeleted")), else_=literal("active"))


def latest(*columns: Any) -> Any:
    """The latest of non-null datetimes (GREATEST on PostgreSQL, MAX on SQLite, one
    expression for both)."""
    first, *rest = columns
    if not rest:
        return first
    later = latest(*rest)
    return case((first > later, first), else_=later)


def fields_of(sq: Any, **kinds: str) -> dict[str, Field]:
    return {name: Field(sq.c[name], kind) for name, kind in kinds.items()}


def base_kinds() -> dict[str, str]:
    return {"sourcedId": "str", "status": "str", "dateLastModified": DATETIME}


# --- orgs ------------------------------------------------------------------------------


def orgs(agency_id: str) -> View:
    kind = case(
        *((col(Agency.kind) == k, literal(v)) for k, v in ORG_TYPES.items()),
        else_=literal("department"),
    )
    sq = (
        select(
            col(Agency.id).label("sourcedId"),
            soft_status(col(Agency.is_active).is_(False)).label("status"),
            col(Agency.updated_at).label("dateLastModified"),
            col(Agency.name).label("name"),
            kind.label("type"),
            col(Agency.slug).label("identifier"),
        )
        .where(col(Agency.id) == agency_id)
        .subquery("orgs")
    )
    fields = fields_of(sq, **base_kinds(), name="str", type="str", identifier="str")
    names = ("sourcedId", "status", "dateLastModified", "metadata", "name", "type", "identifier")
    return View(sq, fields, _org, names)


def _org(row: Mapping[Any, Any], ctx: Ctx) -> dict[str, Any]:
    return {
        **head(row),
        "metadata": {"bangkom.kind": "agency"},
        "name": row["name"],
        "type": row["type"],
        "identifier": row["identifier"],
    }


# --- courses ---------------------------------------------------------------------------


def courses(agency_id: str) -> View:
    """The agency's courses, and its deleted ones (a course without cohorts may be deleted)
    as ``tobedeleted`` from the change log's delete rows, kept ``change_retention_days``:
    a delta sync within that window sees the deletion instead of the course vanishing."""
    CH = Change.__table__.c  # type: ignore[attr-defined]
    kept = select(
        col(Course.id).label("sourcedId"),
        soft_status(col(Course.status) == CourseStatus.archived).label("status"),
        col(Course.updated_at).label("dateLastModified"),
        col(Course.title).label("title"),
        col(Course.code).label("courseCode"),
        col(Course.agency_id).label("org_id"),
        col(Course.kind).label("kind"),
        col(Course.competency_type).label("competency_type"),
        col(Course.delivery).label("delivery"),
        col(Course.total_jp_halves).label("jp_halves"),
        col(Course.modes).label("modes"),
    ).where(col(Course.agency_id) == agency_id)
    deleted = select(
        CH.resource_id.label("sourcedId"),
        literal("tobedeleted").label("status"),
        CH.committed_at.label("dateLastModified"),
        literal("").label("title"),
        literal("").label("courseCode"),
        CH.agency_id.label("org_id"),
        *(
            null().label(name)
            for name in ("kind", "competency_type", "delivery", "jp_halves", "modes")
        ),
    ).where(  # fmt: skip
        CH.agency_id == agency_id,
        CH.type == ChangeType.course.value,
        CH.op == ChangeOp.delete.value,
    )
    sq = union_all(kept, deleted).subquery("courses")
    fields = fields_of(sq, **base_kinds(), title="str", courseCode="str")
    fields["org.sourcedId"] = Field(sq.c.org_id)
    names = ("sourcedId", "status", "dateLastModified", "metadata", "title", "courseCode",
             "subjects", "org")  # fmt: skip
    return View(sq, fields, _course, names)


def _course(row: Mapping[Any, Any], ctx: Ctx) -> dict[str, Any]:
    if row["kind"] is None:  # deleted: only what a tombstone needs
        return {
            **head(row),
            "metadata": {"bangkom.deleted": True},
            "title": row["title"],
            "courseCode": row["courseCode"],
            "org": ctx.ref("org", row["org_id"]),
        }
    return {
        **head(row),
        "metadata": {
            "bangkom.kind": str(row["kind"]),
            "bangkom.delivery": str(row["delivery"]),
            "bangkom.jp": jp_text(row["jp_halves"]),
            "bangkom.learningModes": list(row["modes"] or []),
        },
        "title": row["title"],
        "courseCode": row["courseCode"],
        "subjects": [str(row["competency_type"])],
        "org": ctx.ref("org", row["org_id"]),
    }


# --- classes and their terms -----------------------------------------------------------


def _cohort_columns() -> list[Any]:
    return [
        col(Cohort.agency_id).label("school_id"),
        col(Cohort.course_id).label("course_id"),
        col(Cohort.number).label("number"),
        col(Cohort.year).label("year"),
        col(Cohort.starts_on).label("starts_on"),
        col(Cohort.ends_on).label("ends_on"),
        col(Cohort.venue).label("venue"),
        col(Cohort.status).label("cohort_status"),
        col(Cohort.timezone).label("timezone"),
        col(Course.total_jp_halves).label("jp_halves"),
        col(Course.competency_type).label("competency_type"),
    ]


def _cohort_modified() -> Any:
    """A class and its term show the course's title, JP and competency type: a change of
    the course is a change of them (the later of the cohort's and the course's)."""
    return latest(col(Cohort.updated_at), col(Course.updated_at))


def classes(agency_id: str) -> View:
    sq = (
        select(
            col(Cohort.id).label("sourcedId"),
            soft_status(col(Cohort.status) == CohortStatus.cancelled).label("status"),
            _cohort_modified().label("dateLastModified"),
            col(Course.title).label("title"),
            literal("scheduled").label("classType"),
            *_cohort_columns(),
        )
        .join(Course, col(Course.id) == col(Cohort.course_id))
        .where(col(Cohort.agency_id) == agency_id)
        .subquery("classes")
    )
    fields = fields_of(sq, **base_kinds(), title="str", classType="str")
    fields["location"] = Field(sq.c.venue)
    fields["course.sourcedId"] = Field(sq.c.course_id)
    fields["school.sourcedId"] = Field(sq.c.school_id)
    names = ("sourcedId", "status", "dateLastModified", "metadata", "title", "classCode",
             "classType", "location", "subjects", "course", "school", "terms")  # fmt: skip
    return View(sq, fields, _class, names)


def _class(row: Mapping[Any, Any], ctx: Ctx) -> dict[str, Any]:
    out = {
        **head(row),
        "metadata": {
            "bangkom.jp": jp_text(row["jp_halves"]),
            "bangkom.cohortStatus": str(row["cohort_status"]),
            "bangkom.year": row["year"],
            "bangkom.timezone": row["timezone"],
        },
        "title": f"{row['title']} Angkatan {roman(row['number'])}",
        "classCode": f"Angkatan {roman(row['number'])}",
        "classType": "scheduled",
        "subjects": [str(row["competency_type"])],
        "course": ctx.ref("course", row["course_id"]),
        "school": ctx.ref("org", row["school_id"]),
        "terms": [ctx.ref("academicSession", TERM_PREFIX + row["sourcedId"])],
    }
    if row["venue"]:
        out["location"] = row["venue"]
    return out


def terms(agency_id: str) -> View:
    sq = (
        select(
            (literal(TERM_PREFIX) + col(Cohort.id)).label("sourcedId"),
            soft_status(col(Cohort.status) == CohortStatus.cancelled).label("status"),
            _cohort_modified().label("dateLastModified"),
            (col(Course.title) + literal(" ") + cast(col(Cohort.year), String)).label("title"),
            literal("term").label("type"),
            cast(col(Cohort.year), String).label("schoolYear"),
            col(Cohort.starts_on).label("startDate"),
            col(Cohort.id).label("cohort_id"),
            *_cohort_columns(),
        )
        .join(Course, col(Course.id) == col(Cohort.course_id))
        .where(col(Cohort.agency_id) == agency_id)
        .subquery("terms")
    )
    fields = fields_of(
        sq, **base_kinds(), title="str", type="str", schoolYear="str", startDate=DATE
    )
    names = ("sourcedId", "status", "dateLastModified", "metadata", "title", "startDate",
             "endDate", "type", "schoolYear")  # fmt: skip
    return View(sq, fields, _term, names)


def _term(row: Mapping[Any, Any], ctx: Ctx) -> dict[str, Any]:
    return {
        **head(row),
        "metadata": {
            "bangkom.class": row["cohort_id"],
            "bangkom.cohort": f"Angkatan {roman(row['number'])}",
        },
        "title": row["title"],
        "startDate": day(row["starts_on"]),
        "endDate": exclusive_end(row["ends_on"]),
        "type": "term",
        "schoolYear": row["schoolYear"],
    }


# --- demographics ----------------------------------------------------------------------


def no_demographics(agency_id: str) -> View:
    """Bangkom keeps no demographics (the binding's race and ethnicity flags have no
    Indonesian meaning; birth date and sex, which a NIP encodes, are the home agency's
    personal data): the binding's collection, always empty, so a client that asks for it
    gets what the binding's schema allows (``{"demographics": []}``, X-Total-Count 0) and
    every sourcedId is 404 ``unknownobject``."""
    sq = (
        select(
            literal("").label("sourcedId"),
            literal("active").label("status"),
            col(Agency.updated_at).label("dateLastModified"),
        )
        .where(false())
        .subquery("demographics")
    )
    fields = fields_of(sq, **base_kinds())
    names = ("sourcedId", "status", "dateLastModified", "metadata", "birthDate", "sex")
    return View(sq, fields, lambda row, ctx: head(row), names)
