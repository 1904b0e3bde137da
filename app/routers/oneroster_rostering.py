"""OneRoster 1.2 rostering: /ims/oneroster/rostering/v1p2/... as tables of routes over the
views of app/services/oneroster/ (rostering.py, people.py, enrollments.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import false

from app.routers.oneroster_collections import (
    CLASS,
    COURSE,
    DEMOGRAPHICS,
    ENROLLMENT,
    ORG,
    SCHOOL,
    SESSION,
    STUDENT,
    TEACHER,
    TERM,
    USER,
    eq,
    list_route,
    one_route,
    within,
)  # fmt: skip
from app.routers.oneroster_http import ROSTER_SCOPES, OneRosterRoute, scoped
from app.services.oneroster import enrollments as enrolled
from app.services.oneroster import people, rostering
from app.services.oneroster.views import ROSTERING, View

router = APIRouter(prefix="/ims/oneroster", route_class=OneRosterRoute, tags=["oneroster"])
R = ROSTERING.removeprefix("/ims/oneroster")
ROSTER = scoped(ROSTER_SCOPES)
orgs, terms, courses, classes = (
    rostering.orgs,
    rostering.terms,
    rostering.courses,
    rostering.classes,
)


def users(agency: str) -> View:
    return people.users(agency)


def students(agency: str) -> View:
    return people.users(agency, role="student")


def teachers(agency: str) -> View:
    return people.users(agency, role="teacher")


def enrollments(agency: str) -> View:
    return enrolled.enrollments(agency)


def no_grading_periods(agency: str) -> View:
    """Bangkom has no grading periods: the collection is always empty."""
    return terms(agency).narrowed(false())


def _classes_of_user(view: View, ident: str) -> Any:
    return view.key.in_(enrolled.cohorts_of_learner(ident)) | view.key.in_(
        enrolled.cohorts_of_instructor(ident)
    )


_SCHOOL = ("schoolSourcedId", orgs, SCHOOL)
_CLASS = ("classSourcedId", classes, CLASS)
_ROSTER_LISTS: list[tuple[Any, ...]] = [
    ("/academicSessions", "getAllAcademicSessions", "academicSessions", terms, ()),
    ("/classes", "getAllClasses", "classes", classes, ()),
    ("/classes/{classSourcedId}/students", "getStudentsForClass", "users", students,
     (_CLASS,), within("sourcedId", enrolled.learners_of_cohort)),
    ("/classes/{classSourcedId}/teachers", "getTeachersForClass", "users", teachers,
     (_CLASS,), within("sourcedId", enrolled.instructors_of_cohort)),
    ("/courses", "getAllCourses", "courses", courses, ()),
    ("/courses/{courseSourcedId}/classes", "getClassesForCourse", "classes", classes,
     (("courseSourcedId", courses, COURSE),), eq("course_id")),
    ("/demographics", "getAllDemographics", "demographics", rostering.no_demographics, ()),
    ("/enrollments", "getAllEnrollments", "enrollments", enrollments, ()),
    ("/gradingPeriods", "getAllGradingPeriods", "academicSessions", no_grading_periods, ()),
    ("/orgs", "getAllOrgs", "orgs", orgs, ()),
    ("/schools", "getAllSchools", "orgs", orgs, ()),
    ("/schools/{schoolSourcedId}/classes", "getClassesForSchool", "classes", classes,
     (_SCHOOL,), eq("school_id")),
    ("/schools/{schoolSourcedId}/classes/{classSourcedId}/enrollments",
     "getEnrollmentsForClassInSchool", "enrollments", enrollments, (_SCHOOL, _CLASS),
     eq("class_id", 1)),
    ("/schools/{schoolSourcedId}/classes/{classSourcedId}/students",
     "getStudentsForClassInSchool", "users", students, (_SCHOOL, _CLASS),
     lambda view, _school, cls: view.key.in_(enrolled.learners_of_cohort(cls))),
    ("/schools/{schoolSourcedId}/classes/{classSourcedId}/teachers",
     "getTeachersForClassInSchool", "users", teachers, (_SCHOOL, _CLASS),
     lambda view, _school, cls: view.key.in_(enrolled.instructors_of_cohort(cls))),
    ("/schools/{schoolSourcedId}/courses", "getCoursesForSchool", "courses", courses,
     (_SCHOOL,), eq("org_id")),
    ("/schools/{schoolSourcedId}/enrollments", "getEnrollmentsForSchool", "enrollments",
     enrollments, (_SCHOOL,), eq("school_id")),
    ("/schools/{schoolSourcedId}/students", "getStudentsForSchool", "users", students,
     (_SCHOOL,)),
    ("/schools/{schoolSourcedId}/teachers", "getTeachersForSchool", "users", teachers,
     (_SCHOOL,)),
    ("/schools/{schoolSourcedId}/terms", "getTermsForSchool", "academicSessions", terms,
     (_SCHOOL,), eq("school_id")),
    ("/students", "getAllStudents", "users", students, ()),
    ("/students/{studentSourcedId}/classes", "getClassesForStudent", "classes", classes,
     (("studentSourcedId", students, STUDENT),),
     lambda view, ident: view.key.in_(enrolled.cohorts_of_learner(ident))),
    ("/teachers", "getAllTeachers", "users", teachers, ()),
    ("/teachers/{teacherSourcedId}/classes", "getClassesForTeacher", "classes", classes,
     (("teacherSourcedId", teachers, TEACHER),),
     lambda view, ident: view.key.in_(enrolled.cohorts_of_instructor(ident))),
    ("/terms", "getAllTerms", "academicSessions", terms, ()),
    ("/terms/{termSourcedId}/classes", "getClassesForTerm", "classes", classes,
     (("termSourcedId", terms, TERM),), eq("sourcedId", strip=rostering.TERM_PREFIX)),
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
    ("/demographics/{sourcedId}", "getDemographics", "demographics", rostering.no_demographics,
     DEMOGRAPHICS),
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
    list_route(router, R + path, op, name, factory, ROSTER, f"OneRoster {op}", parents, *narrow)
for path, op, name, factory, what in _ROSTER_ONES:
    one_route(router, R + path, op, name, factory, ROSTER, what, f"OneRoster {op}")
