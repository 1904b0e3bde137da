"""Rostering views: Bangkom's agencies, courses, cohorts, learners, instructors and
enrolments as OneRoster orgs, courses, classes + terms, users and enrollments.

Mapping (README has the table): agency -> org (and the "school" where learning happens);
cohort -> class (classType scheduled, classCode "Angkatan II") and its run -> an
academicSession of type term (sourcedId ``term-<cohort id>``, schoolYear = the cohort's
year); course -> course; learner -> user with role student (NIP / NI PPPK as userIds);
an agency user with the instructor role -> user with role teacher; enrolment ->
enrollment (role student). Soft deletes: cancelled cohorts, archived courses,
withdrawn or waitlisted enrolments and deactivated accounts are ``tobedeleted``.

Every view holds only the caller's agency: its own org, courses and cohorts, the
enrolments of its cohorts, its home learners and the learners enrolled in its cohorts,
its instructors. Another agency's object is 404 ``unknownobject``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import String, case, cast, literal, select, union_all
from sqlmodel import col

from app.models.agency import Agency, AgencyKind
from app.models.catalogue import roman
from app.models.cohort import Cohort, CohortSession, CohortSessionInstructor, CohortStatus
from app.models.course import Course, CourseStatus
from app.models.enrollment import Enrollment, EnrollmentStatus
from app.models.learner import Learner
from app.models.user import User
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
_GONE_ENROLMENT = (EnrollmentStatus.withdrawn, EnrollmentStatus.waitlisted)


def _status(gone: Any) -> Any:
    return case((gone, literal("tobedeleted")), else_=literal("active"))


def _fields(sq: Any, **kinds: str) -> dict[str, Field]:
    return {name: Field(sq.c[name], kind) for name, kind in kinds.items()}


def _base(sq: Any) -> dict[str, str]:
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
            _status(col(Agency.is_active).is_(False)).label("status"),
            col(Agency.updated_at).label("dateLastModified"),
            col(Agency.name).label("name"),
            kind.label("type"),
            col(Agency.slug).label("identifier"),
        )
        .where(col(Agency.id) == agency_id)
        .subquery("orgs")
    )
    fields = _fields(sq, **_base(sq), name="str", type="str", identifier="str")
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
    sq = (
        select(
            col(Course.id).label("sourcedId"),
            _status(col(Course.status) == CourseStatus.archived).label("status"),
            col(Course.updated_at).label("dateLastModified"),
            col(Course.title).label("title"),
            col(Course.code).label("courseCode"),
            col(Course.agency_id).label("org_id"),
            col(Course.kind).label("kind"),
            col(Course.competency_type).label("competency_type"),
            col(Course.delivery).label("delivery"),
            col(Course.total_jp_halves).label("jp_halves"),
            col(Course.modes).label("modes"),
        )
        .where(col(Course.agency_id) == agency_id)
        .subquery("courses")
    )
    fields = _fields(sq, **_base(sq), title="str", courseCode="str")
    fields["org.sourcedId"] = Field(sq.c.org_id)
    names = ("sourcedId", "status", "dateLastModified", "metadata", "title", "courseCode",
             "subjects", "org")  # fmt: skip
    return View(sq, fields, _course, names)


def _course(row: Mapping[Any, Any], ctx: Ctx) -> dict[str, Any]:
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


def classes(agency_id: str) -> View:
    sq = (
        select(
            col(Cohort.id).label("sourcedId"),
            _status(col(Cohort.status) == CohortStatus.cancelled).label("status"),
            col(Cohort.updated_at).label("dateLastModified"),
            col(Course.title).label("title"),
            literal("scheduled").label("classType"),
            *_cohort_columns(),
        )
        .join(Course, col(Course.id) == col(Cohort.course_id))
        .where(col(Cohort.agency_id) == agency_id)
        .subquery("classes")
    )
    fields = _fields(sq, **_base(sq), title="str", classType="str")
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
            _status(col(Cohort.status) == CohortStatus.cancelled).label("status"),
            col(Cohort.updated_at).label("dateLastModified"),
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
    fields = _fields(sq, **_base(sq), title="str", type="str", schoolYear="str", startDate=DATE)
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


# --- users -----------------------------------------------------------------------------


def guests_of(agency_id: str) -> Any:
    """Learners of other home agencies enrolled in the agency's cohorts (served by
    ``ix_enrollment_agency_learner``, in learner id order)."""
    enrolled = select(col(Enrollment.learner_id)).where(col(Enrollment.agency_id) == agency_id)
    return (col(Learner.agency_id) != agency_id) & col(Learner.id).in_(enrolled)


def instructor_filter(agency_id: str) -> Any:
    return (col(User.agency_id) == agency_id) & cast(col(User.roles), String).like('%"instructor"%')


def users(agency_id: str, *, role: str | None = None) -> View:
    def students(home: bool) -> Any:
        return select(
            col(Learner.id).label("sourcedId"),
            literal("active").label("status"),
            col(Learner.updated_at).label("dateLastModified"),
            col(Learner.name).label("givenName"),
            literal("").label("familyName"),
            literal("student").label("role"),
            # a guest's email belongs to their home agency (as in /v1/learners)
            (col(Learner.email) if home else literal(None, String)).label("email"),
            col(Learner.learner_key).label("identifier"),
            col(Learner.agency_id).label("org_id"),
            col(Learner.nip).label("nip"),
            col(Learner.ni_pppk).label("ni_pppk"),
            col(Learner.external_ref).label("external_ref"),
        ).where(col(Learner.agency_id) == agency_id if home else guests_of(agency_id))

    # Disjoint parts, each read on its own index in id order (home: ix_learner_agency_id;
    # guests: ix_enrollment_agency_learner then the primary key), merged by the database:
    # one ``OR`` instead made it scan and sort every learner (2.8 s for a page of 150,000).
    teachers = select(
        col(User.id).label("sourcedId"),
        _status(col(User.is_active).is_(False)).label("status"),
        col(User.updated_at).label("dateLastModified"),
        col(User.full_name).label("givenName"),
        literal("").label("familyName"),
        literal("teacher").label("role"),
        col(User.email).label("email"),
        col(User.email).label("identifier"),
        col(User.agency_id).label("org_id"),
        literal(None, String).label("nip"),
        literal(None, String).label("ni_pppk"),
        literal(None, String).label("external_ref"),
    ).where(instructor_filter(agency_id))
    if role == "student":
        sq = union_all(students(True), students(False)).subquery("users")
    elif role == "teacher":
        sq = teachers.subquery("users")
    else:
        sq = union_all(students(True), students(False), teachers).subquery("users")
    fields = _fields(sq, **_base(sq), givenName="str", familyName="str", email="str",
                     identifier="str")  # fmt: skip
    fields["username"] = Field(sq.c.identifier)
    fields["role"] = Field(sq.c.role)
    fields["roles.role"] = Field(sq.c.role)
    fields["primaryOrg.sourcedId"] = Field(sq.c.org_id)
    names = ("sourcedId", "status", "dateLastModified", "metadata", "username", "userIds",
             "enabledUser", "givenName", "familyName", "roles", "primaryOrg", "identifier",
             "email")  # fmt: skip
    return View(sq, fields, _user, names)


def _user(row: Mapping[Any, Any], ctx: Ctx) -> dict[str, Any]:
    ids = []
    if row["nip"]:
        ids.append({"type": "NIP", "identifier": row["nip"]})
    if row["ni_pppk"]:
        ids.append({"type": "NI PPPK", "identifier": row["ni_pppk"]})
    if row["external_ref"]:
        ids.append({"type": "external_ref", "identifier": row["external_ref"]})
    org = ctx.ref("org", row["org_id"])
    out = {
        **head(row),
        "metadata": {"bangkom.kind": "learner" if row["role"] == "student" else "instructor"},
        "username": row["identifier"],
        "userIds": ids,
        "enabledUser": "true" if row["status"] == "active" else "false",
        "givenName": row["givenName"],
        "familyName": row["familyName"],
        "roles": [{"roleType": "primary", "role": row["role"], "org": org}],
        "primaryOrg": org,
        "identifier": row["identifier"],
    }
    if row["email"]:
        out["email"] = row["email"]
    return out


# --- enrollments -----------------------------------------------------------------------


def enrollments(agency_id: str) -> View:
    sq = (
        select(
            col(Enrollment.id).label("sourcedId"),
            _status(col(Enrollment.status).in_(_GONE_ENROLMENT)).label("status"),
            col(Enrollment.updated_at).label("dateLastModified"),
            literal("student").label("role"),
            col(Enrollment.learner_id).label("user_id"),
            col(Enrollment.cohort_id).label("class_id"),
            col(Enrollment.agency_id).label("school_id"),
            col(Enrollment.status).label("enrollment_status"),
            col(Cohort.starts_on).label("beginDate"),
            col(Cohort.ends_on).label("ends_on"),
        )
        .join(Cohort, col(Cohort.id) == col(Enrollment.cohort_id))
        .where(col(Enrollment.agency_id) == agency_id)
        .subquery("enrollments")
    )
    fields = _fields(sq, **_base(sq), role="str", beginDate=DATE)
    fields["user.sourcedId"] = Field(sq.c.user_id)
    fields["class.sourcedId"] = Field(sq.c.class_id)
    fields["school.sourcedId"] = Field(sq.c.school_id)
    names = ("sourcedId", "status", "dateLastModified", "metadata", "user", "class", "school",
             "role", "beginDate", "endDate")  # fmt: skip
    return View(sq, fields, _enrollment, names)


def _enrollment(row: Mapping[Any, Any], ctx: Ctx) -> dict[str, Any]:
    return {
        **head(row),
        "metadata": {"bangkom.status": str(row["enrollment_status"])},
        "user": ctx.ref("user", row["user_id"]),
        "class": ctx.ref("class", row["class_id"]),
        "school": ctx.ref("org", row["school_id"]),
        "role": "student",
        "beginDate": day(row["beginDate"]),
        "endDate": exclusive_end(row["ends_on"]),
    }


# --- relations for the nested collections ----------------------------------------------


def cohorts_of_learner(learner_id: str) -> Any:
    return select(col(Enrollment.cohort_id)).where(col(Enrollment.learner_id) == learner_id)


def cohorts_of_instructor(user_id: str) -> Any:
    return (
        select(col(CohortSession.cohort_id))
        .join(
            CohortSessionInstructor,
            col(CohortSessionInstructor.session_id) == col(CohortSession.id),
        )
        .where(col(CohortSessionInstructor.user_id) == user_id)
    )


def learners_of_cohort(cohort_id: str) -> Any:
    return select(col(Enrollment.learner_id)).where(col(Enrollment.cohort_id) == cohort_id)


def instructors_of_cohort(cohort_id: str) -> Any:
    return (
        select(col(CohortSessionInstructor.user_id))
        .join(CohortSession, col(CohortSessionInstructor.session_id) == col(CohortSession.id))
        .where(col(CohortSession.cohort_id) == cohort_id)
    )
