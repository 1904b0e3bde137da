"""Test data for the JP ledger: agencies with an admin, credited enrolments, external records.

Evaluation (which credits a passed enrolment) is built elsewhere; these tests credit an
enrolment directly through ``jp_ledger.credit_enrollment``, as evaluation will.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from app.models import Agency, Cohort, Course, Enrollment
from app.services.learning import jp_ledger
from tests.factories import (
    auth_headers,
    enrol,
    make_agency,
    make_open_cohort,
    make_published_course,
    make_user,
)

_seq = itertools.count(1)


@dataclass
class Home:
    """An agency with an admin's headers."""

    agency: Agency
    admin: dict[str, str]


def make_home(session: Session, **overrides: Any) -> Home:
    agency = make_agency(session, **overrides)
    return Home(agency, auth_headers(make_user(session, agency, "agency_admin")))


def credited_course(
    client: Any,
    session: Session,
    home: Home,
    keys: list[str],
    *,
    total_jp: float = 10,
    ends_on: str = "2025-05-26",
    starts_on: str | None = None,
    timezone: str = "Asia/Jakarta",
) -> list[str]:
    """A cohort of a new course, ``keys`` enrolled and each credited the course's JP (as a
    passed evaluation does); answers the enrolment ids."""
    course = make_published_course(client, home.admin, total_jp=total_jp)
    year = int((starts_on or ends_on)[:4])
    cohort = make_open_cohort(
        client,
        home.admin,
        course["id"],
        number=next(_seq),
        year=year,
        starts_on=starts_on or f"{year}-{ends_on[5:7]}-01",
        ends_on=ends_on,
        timezone=timezone,
    )
    ids = [enrol(client, home.admin, cohort["id"], key)["id"] for key in keys]
    session.expire_all()
    cohort_row = session.get(Cohort, cohort["id"])
    course_row = session.get(Course, course["id"])
    assert cohort_row is not None and course_row is not None
    for enrollment_id in ids:
        enrollment = session.get(Enrollment, enrollment_id)
        assert enrollment is not None
        jp_ledger.credit_enrollment(
            session, enrollment=enrollment, cohort=cohort_row, course=course_row
        )
    session.commit()
    return ids


def external(**overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    values: dict[str, Any] = {
        "title": f"Webinar Literasi Digital {n}",
        "organiser": "LAN RI",
        "starts_on": "2025-03-10",
        "ends_on": "2025-03-11",
        "jp": 4,
        "certificate_number": f"{n:04d}/LAN/III/2025",
    }
    values.update(overrides)
    return values
