"""Demo data from the news articles in shared/seeds. Idempotent: safe to run at every start."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session

from app.core.db import session_scope

# Each seeder adds what is missing, commits, and returns lines worth printing.
Seeder = Callable[[Session], list[str]]
SEEDERS: list[Seeder] = []


def seed_demo() -> list[str]:
    report: list[str] = []
    for seeder in SEEDERS:
        with session_scope(write=True) as session:
            report.extend(seeder(session))
    return report
