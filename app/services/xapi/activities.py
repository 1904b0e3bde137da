"""The activity definition behind a module's activity id,
``{BANGKOM_PUBLIC_URL}/activities/modules/{module_id}``: an LMS (or a person) opening the
id sees what the activity is. Only modules of a published curriculum of a published
course are shown, as the public catalogue shows them; others are 404."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from app.core.config import get_settings
from app.core.errors import ProblemError
from app.models import Course
from app.models.course import CourseStatus
from app.models.curriculum import Curriculum, CurriculumModule, CurriculumStatus
from app.services.xapi.progress import module_prefix

MODULE_TYPE = "http://adlnet.gov/expapi/activities/module"
M = CurriculumModule.__table__.c  # type: ignore[attr-defined]
V = Curriculum.__table__.c  # type: ignore[attr-defined]
C = Course.__table__.c  # type: ignore[attr-defined]


def extension(name: str) -> str:
    return get_settings().public_url.rstrip("/") + f"/xapi/extensions/{name}"


def module_activity(session: Session, module_id: str) -> dict[str, Any]:
    row = session.execute(
        select(M.id, M.title, M.description, M.jp_halves, M.mode, M.assessed, C.id, C.title)
        .select_from(
            CurriculumModule.__table__.join(Curriculum.__table__, V.id == M.curriculum_id).join(  # type: ignore[attr-defined]
                Course.__table__,  # type: ignore[attr-defined]
                C.id == V.course_id,
            )
        )
        .where(
            M.id == module_id,
            V.status == CurriculumStatus.published.value,
            C.status == CourseStatus.published.value,
        )
    ).first()
    if row is None:
        raise ProblemError(
            404,
            "not_found",
            f"No module of a published course has id {module_id}; check the activity id.",
            detail_id=f"Tidak ada modul pelatihan terbit dengan id {module_id}; periksa id "
            "aktivitas.",
        )
    ident, title, description, halves, mode, assessed, course_id, course_title = row
    definition: dict[str, Any] = {
        "name": {"id-ID": title},
        "type": MODULE_TYPE,
        "extensions": {
            extension("jp"): float(Decimal(halves) / 2),
            extension("learning-mode"): str(getattr(mode, "value", mode)),
            extension("assessed"): bool(assessed),
            extension("course"): {"id": course_id, "title": course_title},
        },
    }
    if description:
        definition["description"] = {"id-ID": description}
    return {"objectType": "Activity", "id": module_prefix() + ident, "definition": definition}
