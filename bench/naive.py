"""The naive baseline: course endpoints written the tutorial way.

A SQLModel ``Session`` per request (a sync dependency), the ORM object returned
through ``response_model``, no caching, no auth. Served against the same SQLite
file (or PostgreSQL database) as Bangkom so the rows compare like with like.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from sqlmodel import Session, SQLModel, create_engine, select

from app.core.config import get_settings
from app.models import Course

# The tutorial's engine, except for the pool: with SQLAlchemy's default (5 + 10 overflow)
# and FastAPI's 40 threads, 64 connections deadlock it (requests hold pooled connections
# while they wait for a thread to serialize the response) and it serves ~2 req/s. A pool
# as large as the load lets the baseline show what the tutorial shape costs instead.
_URL = get_settings().database_url
engine = create_engine(
    _URL,
    connect_args={"check_same_thread": False} if _URL.startswith("sqlite") else {},
    pool_size=64,
    max_overflow=0,
)


class NaiveCourse(SQLModel):
    id: str
    agency_id: str
    code: str
    title: str
    summary: str | None
    description: str | None
    kind: str
    competency_type: str
    level: str | None
    delivery: str
    legal_basis: str | None
    open_to_non_asn: bool
    total_jp_halves: int
    minutes_per_jp: int
    passing_score_centi: int
    grade_bands: list[dict[str, object]]
    partner_agency_ids: list[str]
    partners: list[str]
    tags: list[str]
    status: str
    created_at: datetime
    updated_at: datetime


def get_session() -> Iterator[Session]:
    with Session(engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/naive/courses/{course_id}", response_model=NaiveCourse)
def read_course(course_id: str, session: SessionDep) -> Course:
    course = session.get(Course, course_id)
    if course is None:
        raise HTTPException(status_code=404, detail="Course not found")
    return course


@app.get("/naive/courses", response_model=list[NaiveCourse])
def list_courses(session: SessionDep, offset: int = 0, limit: int = 50) -> list[Course]:
    return list(
        session.exec(
            select(Course).where(Course.status == "published").offset(offset).limit(limit)
        ).all()
    )
