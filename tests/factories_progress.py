"""Set-ups for the progress tests: an organiser with an open cohort of a course whose
curriculum has an assessed and an unassessed module, and learners enrolled in it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from app.models.progress import ProgressRecord
from tests.factories import (
    auth_headers,
    course_payload,
    enrol,
    make_agency,
    make_learner,
    make_open_cohort,
    make_user,
)


@dataclass
class Setup:
    headers: dict[str, str]
    agency_id: str
    cohort_id: str
    assessed: str  # module ids: 6 JP self-paced, assessed
    unassessed: str  # 4 JP classroom, not assessed
    keys: list[str] = field(default_factory=list)
    enrollments: list[str] = field(default_factory=list)


def make_course_with_modules(client: Any, headers: dict[str, str]) -> tuple[str, list[str]]:
    made = client.post("/v1/courses", json=course_payload(total_jp=10), headers=headers)
    assert made.status_code == 201, made.text
    course_id = made.json()["id"]
    modules = [
        {"title": "Mandiri", "jp": 6, "mode": "self_paced", "assessed": True, "weight": 100},
        {"title": "Klasikal", "jp": 4, "mode": "classroom"},
    ]
    cur = client.post(
        f"/v1/courses/{course_id}/curricula", json={"modules": modules}, headers=headers
    )
    assert cur.status_code == 201, cur.text
    assert client.post(f"/v1/courses/{course_id}/curricula/1/publish", headers=headers).is_success
    patched = client.patch(
        f"/v1/courses/{course_id}", json={"status": "published"}, headers=headers
    )
    assert patched.status_code == 200, patched.text
    return course_id, [m["id"] for m in cur.json()["modules"]]


def setup_progress(client: Any, session: Session, learners: int = 2) -> Setup:
    agency = make_agency(session)
    headers = auth_headers(make_user(session, agency, "agency_admin"))
    session.rollback()  # release SQLite's write lock before the app writes
    course_id, (assessed, unassessed) = make_course_with_modules(client, headers)
    cohort = make_open_cohort(client, headers, course_id)
    setup = Setup(headers, agency.id, cohort["id"], assessed, unassessed)
    for _ in range(learners):
        key = make_learner(client, headers)["learner_key"]
        setup.keys.append(key)
        setup.enrollments.append(enrol(client, headers, cohort["id"], key)["id"])
    return setup


def record(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "status": "in_progress",
        "percent": 40,
        "occurred_at": "2025-05-15T08:00:00+07:00",
        "source": "moodle",
        "external_id": "cmc-1",
    }
    values.update(overrides)
    return values


def stored(session: Session) -> list[tuple[Any, ...]]:
    """Every progress row as the database holds it, in a stable order."""
    session.rollback()  # a fresh snapshot
    rows = session.exec(select(ProgressRecord).order_by(col(ProgressRecord.id))).all()
    out = [
        (
            r.enrollment_id, r.module_id, r.status, r.percent, r.score_centi,
            r.jp_earned_halves, r.occurred_at, r.source, r.external_id, r.version,
        )
        for r in rows
    ]  # fmt: skip
    session.rollback()
    return out
