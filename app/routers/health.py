"""Liveness, readiness and metrics: at the root, no login, for orchestrators and Prometheus."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from pydantic import BaseModel
from sqlalchemy import text

from app.core import metrics
from app.core.db import get_engine
from app.core.errors import database_unavailable, error_responses

router = APIRouter(tags=["operations"])
log = logging.getLogger("bangkom.health")


class Health(BaseModel):
    status: str
    database: str | None = None


@router.get("/health/live", name="health-live", summary="The process is up")
async def live() -> Health:
    return Health(status="ok")


@router.get(
    "/health/ready",
    name="health-ready",
    summary="The service can reach its database",
    responses=error_responses(503),
)
def ready() -> Health:
    engine = get_engine()
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        log.warning("readiness check failed: %s", type(exc).__name__)
        raise database_unavailable() from exc
    return Health(status="ok", database=engine.dialect.name)


@router.get(
    "/metrics",
    name="metrics",
    summary="Prometheus metrics (text exposition format)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
def prometheus_metrics() -> Response:
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
