"""Curriculum versions: drafts edited freely, published versions frozen, JP checks at publish."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.core.db import commit_or_409
from app.core.errors import ProblemError, not_found
from app.core.etag import check_if_match, resource_etag
from app.core.pagination import keyset_page, since_page
from app.core.security import Principal
from app.models import Course, Curriculum, CurriculumModule
from app.models.base import utcnow
from app.models.catalogue import from_centi, halves_to_jp, jp_hours, jp_to_halves, to_centi
from app.models.curriculum import (
    CurriculumCreate,
    CurriculumPublic,
    CurriculumStatus,
    CurriculumUpdate,
    LearningMode,
    ModuleIn,
    ModulePublic,
)
from app.services import visibility
from app.services.courses import refresh_doc
from app.services.tenancy import get_owned
from app.services.visibility import course_visible

Saved = tuple[CurriculumPublic, str]  # what every service here returns: the version and its ETag


def etag_of(curriculum: Curriculum, course: Course) -> str:
    """A version shows hours from its course's minutes per JP: the course's version counts."""
    return resource_etag(curriculum.id, curriculum.revision, course.version)


def _modules(session: Session, curriculum_id: str) -> list[CurriculumModule]:
    return list(
        session.exec(
            select(CurriculumModule)
            .where(CurriculumModule.curriculum_id == curriculum_id)
            .order_by(col(CurriculumModule.position))
        ).all()
    )


def public(
    curriculum: Curriculum, modules: list[CurriculumModule], course: Course
) -> CurriculumPublic:
    by_mode: dict[str, int] = {m.value: 0 for m in LearningMode}
    for m in modules:
        by_mode[m.mode.value] += m.jp_halves
    total = sum(by_mode.values())
    return CurriculumPublic(
        id=curriculum.id,
        course_id=curriculum.course_id,
        version=curriculum.version,
        status=curriculum.status,
        modules=[
            ModulePublic(
                id=m.id,
                position=m.position,
                title=m.title,
                description=m.description,
                jp=halves_to_jp(m.jp_halves),
                mode=m.mode,
                assessed=m.assessed,
                weight=from_centi(m.weight_centi),
            )
            for m in modules
        ],
        total_jp=halves_to_jp(total),
        jp_by_mode={k: halves_to_jp(v) for k, v in by_mode.items()},
        total_hours=jp_hours(total, course.minutes_per_jp),
        published_at=curriculum.published_at,
        created_at=curriculum.created_at,
        updated_at=curriculum.updated_at,
    )


def _visible_course(session: Session, principal: Principal | None, course_id: str) -> Course:
    course = session.get(Course, course_id)
    if course is None or not course_visible(principal, course.agency_id, course.status):
        raise not_found("course", course_id)
    return course


def list_curricula(
    *,
    session: Session,
    principal: Principal | None,
    course_id: str,
    limit: int,
    cursor: str | None = None,
    updated_since: datetime | None = None,
) -> tuple[list[CurriculumPublic], str | None]:
    """One page of the course's versions the caller may see, oldest first (with
    ``updated_since``: those changed since, in (updated_at, id) order), and the next cursor."""
    course = _visible_course(session, principal, course_id)
    visible = visibility.curriculum_visible_sql(
        visibility.who(principal), principal.agency_id if principal else None
    )
    statement = select(Curriculum).where(Curriculum.course_id == course.id, visible)
    if updated_since is not None:
        curricula, next_cursor = since_page(
            session, statement, Curriculum, limit=limit, cursor=cursor, updated_since=updated_since
        )
    else:
        curricula, next_cursor = keyset_page(
            session,
            statement,
            Curriculum,
            sort="version",
            column=col(Curriculum.version),
            parse=int,
            limit=limit,
            cursor=cursor,
        )
    modules: dict[str, list[CurriculumModule]] = defaultdict(list)
    if curricula:
        for m in session.exec(
            select(CurriculumModule)
            .where(col(CurriculumModule.curriculum_id).in_([c.id for c in curricula]))
            .order_by(col(CurriculumModule.position))
        ):
            modules[m.curriculum_id].append(m)
    return [public(c, modules[c.id], course) for c in curricula], next_cursor


def _saved(curriculum: Curriculum, modules: list[CurriculumModule], course: Course) -> Saved:
    return public(curriculum, modules, course), etag_of(curriculum, course)


def get_curriculum(
    *, session: Session, principal: Principal | None, course_id: str, version: int
) -> Saved:
    course = _visible_course(session, principal, course_id)
    curriculum = session.exec(
        select(Curriculum).where(Curriculum.course_id == course.id, Curriculum.version == version)
    ).first()
    if curriculum is None or not visibility.curriculum_visible(
        principal, course.agency_id, curriculum.status.value
    ):
        raise not_found("curriculum version", f"{course_id}/{version}")
    return _saved(curriculum, _modules(session, curriculum.id), course)


def _owned(
    session: Session, principal: Principal, course_id: str, version: int
) -> tuple[Course, Curriculum]:
    course = get_owned(session, Course, course_id, principal, what="course", for_update=True)
    curriculum = session.exec(
        select(Curriculum)
        .where(Curriculum.course_id == course.id, Curriculum.version == version)
        .with_for_update()
    ).first()
    if curriculum is None:
        raise not_found("curriculum version", f"{course_id}/{version}")
    return course, curriculum


def _frozen(curriculum: Curriculum) -> ProblemError:
    return ProblemError(
        409,
        "curriculum_published",
        f"Version {curriculum.version} is published and never changes; "
        "create a new draft version (it starts as a copy).",
        detail_id=f"Versi {curriculum.version} sudah diterbitkan dan tidak dapat diubah; "
        "buat versi draf baru (disalin dari versi ini).",
    )


def _add_modules(session: Session, curriculum_id: str, modules: list[dict[str, Any]]) -> None:
    for position, m in enumerate(modules, start=1):
        session.add(CurriculumModule(curriculum_id=curriculum_id, position=position, **m))


def _module_values(items: list[ModuleIn]) -> list[dict[str, Any]]:
    return [
        {
            "title": m.title,
            "description": m.description,
            "jp_halves": jp_to_halves(m.jp),
            "mode": m.mode,
            "assessed": m.assessed,
            "weight_centi": to_centi(m.weight),
        }
        for m in items
    ]


def create_draft(
    *, session: Session, principal: Principal, course_id: str, data: CurriculumCreate
) -> Saved:
    course = get_owned(session, Course, course_id, principal, what="course", for_update=True)
    existing = list(
        session.exec(
            select(Curriculum)
            .where(Curriculum.course_id == course.id)
            .order_by(col(Curriculum.version))
        ).all()
    )
    draft = next((c for c in existing if c.status == CurriculumStatus.draft), None)
    if draft is not None:
        raise ProblemError(
            409,
            "draft_exists",
            f"Version {draft.version} is already a draft; edit it or publish it first.",
            detail_id=f"Versi {draft.version} masih draf; ubah atau terbitkan dulu.",
        )
    if data.modules is not None:
        values = _module_values(data.modules)
    elif existing:
        values = [
            {
                "title": m.title,
                "description": m.description,
                "jp_halves": m.jp_halves,
                "mode": m.mode,
                "assessed": m.assessed,
                "weight_centi": m.weight_centi,
            }
            for m in _modules(session, existing[-1].id)
        ]
    else:
        values = []
    curriculum = Curriculum(
        agency_id=course.agency_id,
        course_id=course.id,
        version=(existing[-1].version + 1) if existing else 1,
    )
    session.add(curriculum)
    _add_modules(session, curriculum.id, values)
    commit_or_409(
        session,
        ProblemError(
            409,
            "version_taken",
            f"Version {curriculum.version} of this course was created at the same time; "
            "read the course's versions and start from the new one.",
            detail_id=f"Versi {curriculum.version} pelatihan ini dibuat pada saat yang sama; "
            "baca daftar versi pelatihan lalu mulai dari versi baru itu.",
        ),
    )
    return _saved(curriculum, _modules(session, curriculum.id), course)


def replace_modules(
    *,
    session: Session,
    principal: Principal,
    course_id: str,
    version: int,
    data: CurriculumUpdate,
    if_match: str | None = None,
) -> Saved:
    course, curriculum = _owned(session, principal, course_id, version)
    check_if_match(if_match, etag_of(curriculum, course))
    if curriculum.status == CurriculumStatus.published:
        raise _frozen(curriculum)
    session.execute(
        CurriculumModule.__table__.delete().where(  # type: ignore[attr-defined]
            col(CurriculumModule.curriculum_id) == curriculum.id
        )
    )
    _add_modules(session, curriculum.id, _module_values(data.modules))
    curriculum.revision += 1
    curriculum.updated_at = utcnow()
    session.add(curriculum)
    session.commit()
    return _saved(curriculum, _modules(session, curriculum.id), course)


def _fmt(halves_or_centi: int, *, centi: bool = False) -> str:
    value = from_centi(halves_or_centi) if centi else halves_to_jp(halves_or_centi)
    return f"{value:g}" if isinstance(value, float) else str(value)


def publish(*, session: Session, principal: Principal, course_id: str, version: int) -> Saved:
    course, curriculum = _owned(session, principal, course_id, version)
    if curriculum.status == CurriculumStatus.published:
        raise _frozen(curriculum)
    modules = _modules(session, curriculum.id)
    errors: list[dict[str, Any]] = []
    in_id: list[str] = []
    total = sum(m.jp_halves for m in modules)
    if total != course.total_jp_halves:
        diff = course.total_jp_halves - total
        need, gap = _fmt(course.total_jp_halves), _fmt(abs(diff))
        msg = (
            f"modules add up to {_fmt(total)} JP; the course requires {need}"
            f" ({gap} JP {'missing' if diff > 0 else 'too many'})"
        )
        in_id.append(
            f"jumlah JP modul {_fmt(total)}, sedangkan pelatihan mensyaratkan {need}"
            f" ({'kurang' if diff > 0 else 'lebih'} {gap} JP)"
        )
        errors.append(
            {"loc": ["body", "modules", "jp"], "msg": msg, "msg_id": in_id[-1], "type": "jp_total"}
        )
    assessed = [m for m in modules if m.assessed]
    weights = sum(m.weight_centi for m in assessed)
    if assessed and weights != 10000:
        shown = _fmt(weights, centi=True)
        msg = f"weights of assessed modules add up to {shown}; they must add up to 100"
        in_id.append(f"jumlah bobot modul yang dinilai {shown}; jumlahnya harus 100")
        errors.append(
            {"loc": ["body", "modules", "weight"], "msg": msg, "msg_id": in_id[-1],
             "type": "weight_total"}
        )  # fmt: skip
    if not modules:
        in_id.append("kurikulum memerlukan modul")
        errors.append(
            {"loc": ["body", "modules"], "msg": "a curriculum needs modules", "msg_id": in_id[-1],
             "type": "empty"}
        )  # fmt: skip
    if errors:
        detail = "; ".join(e["msg"] for e in errors) + "; fix the draft and publish again."
        detail_id = "; ".join(in_id) + "; perbaiki draf lalu terbitkan lagi."
        raise ProblemError(422, "curriculum_invalid", detail, detail_id=detail_id, errors=errors)
    now = utcnow()
    curriculum.status = CurriculumStatus.published
    curriculum.published_at = now
    curriculum.updated_at = now
    curriculum.revision += 1
    session.add(curriculum)
    latest = session.exec(
        select(func.max(Curriculum.version)).where(
            Curriculum.course_id == course.id, Curriculum.status == CurriculumStatus.published
        )
    ).first()
    if latest is None or version >= latest:
        course.published_curriculum_version = version
        course.modes = sorted({m.mode.value for m in modules})
        refresh_doc(course)
        session.add(course)
    session.commit()
    return _saved(curriculum, modules, course)
