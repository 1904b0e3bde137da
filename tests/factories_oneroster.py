"""Set-ups for the OneRoster tests: the progress set-up (an organiser, an open cohort of a
course with an assessed and an unassessed module, enrolled learners), an instructor
teaching one of its sessions, and integration clients holding the binding's scopes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from app.models.client import Scope
from tests.factories import make_user
from tests.factories_progress import Setup, setup_progress
from tests.test_clients import bearer, client_token, register

ROSTER = "/ims/oneroster/rostering/v1p2"
GRADEBOOK = "/ims/oneroster/gradebook/v1p2"
ALL_SCOPES = [
    Scope.or_roster.value,
    Scope.or_roster_core.value,
    Scope.or_gradebook_read.value,
    Scope.or_gradebook_write.value,
]


@dataclass
class OneRosterSetup:
    progress: Setup
    token: dict[str, str]  # a client of the organiser with every OneRoster scope
    instructor_id: str
    course_id: str


def client_headers(client: Any, admin: dict[str, str], scopes: list[str]) -> dict[str, str]:
    created = register(client, admin, name="LMS " + str(len(scopes)), scopes=scopes)
    return bearer(client_token(client, created["client_id"], created["client_secret"]))


def setup_oneroster(client: Any, session: Session, learners: int = 2) -> OneRosterSetup:
    progress = setup_progress(client, session, learners)
    from app.models.agency import Agency

    instructor = make_user(session, session.get(Agency, progress.agency_id), "instructor")
    session.rollback()
    made = client.post(
        f"/v1/cohorts/{progress.cohort_id}/sessions",
        json={
            "module_id": progress.unassessed,
            "starts_at": "2025-05-15T08:00:00+07:00",
            "ends_at": "2025-05-15T11:00:00+07:00",
            "instructor_ids": [instructor.id],
        },
        headers=progress.headers,
    )
    assert made.status_code == 201, made.text
    cohort = client.get(f"/v1/cohorts/{progress.cohort_id}", headers=progress.headers).json()
    token = client_headers(client, progress.headers, ALL_SCOPES)
    return OneRosterSetup(progress, token, instructor.id, cohort["course_id"])
