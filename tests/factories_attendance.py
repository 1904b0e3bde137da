"""Builders for the attendance tests: a cohort with a session and seated learners."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import Session

from tests.factories import (
    auth_headers,
    enrol,
    make_agency,
    make_learner,
    make_open_cohort,
    make_published_course,
    make_user,
)

FIXTURES = Path(__file__).parent / "fixtures"

# The learners the Zoom fixtures name (tests/fixtures/zoom_participants_*.csv)
ZOOM_LEARNERS = {
    "budi": {"name": "Budi Santoso", "email": "budi.santoso@bkpsdm.example"},
    "siti": {"name": "Siti Aminah", "email": "siti.aminah@bkpsdm.example"},
    "andi": {"name": "Andi Wijaya", "email": "andi.wijaya@bkpsdm.example"},
    "dewi": {"name": "Dewi Lestari", "email": "dewi@rumah.example"},
    "rudi": {"name": "Rudi Hartono", "email": "rudi.hartono@bkpsdm.example"},
    "agus1": {"name": "Agus Salim", "email": "agus.satu@bkpsdm.example"},
    "agus2": {"name": "Agus Salim", "email": "agus.dua@bkpsdm.example"},
    "eko": {"name": "Eko Prasetyo", "email": "eko@bkpsdm.example"},
}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def add_session(
    client: Any,
    headers: dict[str, str],
    cohort_id: str,
    starts_at: str = "2025-05-14T08:00:00+07:00",
    ends_at: str = "2025-05-14T09:40:00+07:00",
    **body: Any,
) -> dict[str, Any]:
    body.setdefault("mode", "classroom")
    body.setdefault("jp", 2)
    made = client.post(
        f"/v1/cohorts/{cohort_id}/sessions",
        json={"starts_at": starts_at, "ends_at": ends_at, **body},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


def attendance_setup(
    client: Any,
    session: Session,
    *,
    learners: dict[str, dict[str, str]] | None = None,
    kind: str = "training",
    year: int = 2025,
    **course: Any,
) -> dict[str, Any]:
    """An agency with an admin, a session instructor (a 100-minute session, 08:00-09:40
    WIB on 14 May) and another instructor; learners enrolled (seated) by short name."""
    agency = make_agency(session)
    admin = make_user(session, agency, "agency_admin")
    teacher = make_user(session, agency, "instructor")
    other_teacher = make_user(session, agency, "instructor")
    headers = auth_headers(admin)
    published = make_published_course(client, headers, kind=kind, **course)
    cohort = make_open_cohort(client, headers, published["id"], year=year)
    day = f"{year}-05-14"
    item = add_session(
        client,
        headers,
        cohort["id"],
        f"{day}T08:00:00+07:00",
        f"{day}T09:40:00+07:00",
        instructor_ids=[teacher.id],
    )
    enrollments: dict[str, dict[str, Any]] = {}
    for short, values in (learners if learners is not None else ZOOM_LEARNERS).items():
        learner = make_learner(client, headers, **values)
        enrollments[short] = enrol(client, headers, cohort["id"], learner["learner_key"])
    return {
        "agency": agency,
        "headers": headers,
        "teacher": auth_headers(teacher),
        "other_teacher": auth_headers(other_teacher),
        "other_teacher_id": other_teacher.id,
        "course": published,
        "cohort": cohort,
        "session": item,
        "enrollments": enrollments,
        "url": f"/v1/cohorts/{cohort['id']}/sessions/{item['id']}/attendance",
    }
