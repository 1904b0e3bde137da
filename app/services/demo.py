"""Demo data from the news articles in shared/seeds. Idempotent: safe to run at every start."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session, col, select

from app.core.db import session_scope
from app.models import Agency
from app.models.agency import AgencyKind

# (slug, name, kind, timezone): the agencies of the articles.
DEMO_AGENCIES: tuple[tuple[str, str, AgencyKind, str], ...] = (
    ("bkpsdm-kab-tangerang", "BKPSDM Kabupaten Tangerang", AgencyKind.regency_city, "Asia/Jakarta"),
    ("lan-ri", "Lembaga Administrasi Negara (LAN RI)", AgencyKind.central, "Asia/Jakarta"),
    ("polda-banten", "Polda Banten", AgencyKind.police, "Asia/Jakarta"),
    ("polda-sultra", "Polda Sulawesi Tenggara", AgencyKind.police, "Asia/Makassar"),
    ("kemenko-polhukam", "Kemenko Polhukam", AgencyKind.central, "Asia/Jakarta"),
    ("bakesbangpol-kota-batu", "Bakesbangpol Kota Batu", AgencyKind.regency_city, "Asia/Jakarta"),
)


def ensure_demo_agencies(session: Session) -> dict[str, Agency]:
    """The demo agencies by slug, created where missing (committed)."""
    existing = {
        a.slug: a
        for a in session.exec(
            select(Agency).where(col(Agency.slug).in_([d[0] for d in DEMO_AGENCIES]))
        )
    }
    for slug, name, kind, zone in DEMO_AGENCIES:
        if slug not in existing:
            agency = Agency(slug=slug, name=name, kind=kind, timezone=zone)
            session.add(agency)
            existing[slug] = agency
    session.commit()
    return existing


# Each seeder adds what is missing, commits, and returns lines worth printing.
Seeder = Callable[[Session], list[str]]


def _seed_demo_logins(session: Session) -> list[str]:
    from app.services.users import seed_demo_logins

    return seed_demo_logins(session)


def _seed_catalogue(session: Session) -> list[str]:
    from app.services.catalogue_demo import seed_catalogue

    return seed_catalogue(session)


SEEDERS: list[Seeder] = [_seed_demo_logins, _seed_catalogue]


def seed_demo() -> list[str]:
    report: list[str] = []
    for seeder in SEEDERS:
        with session_scope(write=True) as session:
            report.extend(seeder(session))
    return report
