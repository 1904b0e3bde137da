"""Demo data from five news articles about real trainings. Idempotent: safe to run at every start."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session, col, select

from app.core.db import session_scope
from app.core.security import hash_password
from app.models import Agency, User
from app.models.agency import AgencyKind
from app.models.base import utcnow
from app.models.user import Role

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


DEMO_PASSWORD = "bangkom-demo"


def seed_demo_logins(session: Session) -> list[str]:
    """Demo logins: a platform admin (LAN RI) and one agency admin per demo agency."""
    agencies = ensure_demo_agencies(session)
    wanted = [("admin@bangkom.example", "Admin Platform Bangkom", "lan-ri", Role.platform_admin)]
    wanted += [
        (f"admin@{slug}.example", f"Admin {agency.name}", slug, Role.agency_admin)
        for slug, agency in agencies.items()
    ]
    existing = set(
        session.exec(
            select(User.email_normalized).where(
                col(User.email_normalized).in_([w[0] for w in wanted])
            )
        )
    )
    missing = [w for w in wanted if w[0] not in existing]
    if not missing:  # a restart: say so, or `make run` would not mention the logins at all
        return [f"demo logins already exist (password '{DEMO_PASSWORD}'); the README lists them"]
    session.commit()
    shared_hash = hash_password(DEMO_PASSWORD)  # one Argon2 run, not one per account
    for email, name, slug, role in missing:
        session.add(
            User(
                agency_id=agencies[slug].id,
                email=email,
                email_normalized=email,
                full_name=name,
                roles=[str(role)],
                password_hash=shared_hash,
                password_changed_at=utcnow(),
            )
        )
    session.commit()
    lines = [f"demo logins (password '{DEMO_PASSWORD}'):"]
    lines += [f"  {email:<40} {role.value:<15} {slug}" for email, _n, slug, role in missing]
    return lines


def _seed_catalogue(session: Session) -> list[str]:
    from app.services.catalogue_demo import seed_catalogue

    return seed_catalogue(session)


SEEDERS: list[Seeder] = [seed_demo_logins, _seed_catalogue]


def seed_demo() -> list[str]:
    report: list[str] = []
    for seeder in SEEDERS:
        with session_scope(write=True) as session:
            report.extend(seeder(session))
    return report
