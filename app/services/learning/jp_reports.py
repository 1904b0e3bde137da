"""Reading the yearly JP ledger: one learner's year with the entitlement status, and an
agency's compliance with the yearly floor.

Entitlement (settings, not constants; ``BANGKOM_JP_FLOOR``, ``BANGKOM_PPPK_JP_CAP``): a
PNS or CPNS has a right to at least ``jp_floor`` JP a year (default 20); PPPK staff are
capped at ``pppk_jp_cap`` JP (default 24); non-ASN guests have neither. All sums are in
integer half-JP (``jp_halves``): exact, never floats, and count live records only (a
withdrawn credit, ``withdrawn_at`` set, is kept for delta sync and counts nowhere).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.core.config import get_settings
from app.core.errors import ProblemError
from app.core.etag import list_etag
from app.core.pagination import decode_cursor, encode_cursor
from app.core.security import Principal
from app.models.agency import Agency
from app.models.catalogue import halves_to_jp, jp_to_halves
from app.models.jp import (
    EntitlementRule,
    JPBelowFloor,
    JPComplianceSummary,
    JPEntitlement,
    JPRecord,
    JPYear,
)
from app.models.learner import AsnType, Learner
from app.services.learning import jp_ledger
from app.services.visibility import owns

LEARNER = Learner.__table__  # type: ignore[attr-defined]
RECORD = JPRecord.__table__  # type: ignore[attr-defined]
L, J = LEARNER.c, RECORD.c
FLOORED = (AsnType.pns, AsnType.cpns)


@dataclass(frozen=True)
class Thresholds:
    floor_halves: int
    cap_halves: int


def thresholds() -> Thresholds:
    settings = get_settings()
    return Thresholds(jp_to_halves(settings.jp_floor), jp_to_halves(settings.pppk_jp_cap))


def entitlement(asn_type: AsnType, total_halves: int, limits: Thresholds) -> JPEntitlement:
    jp = halves_to_jp
    total = jp(total_halves)
    if asn_type in FLOORED:
        missing = max(0, limits.floor_halves - total_halves)
        floor = jp(limits.floor_halves)
        if missing:
            note = f"{total} of the yearly floor of {floor} JP: {jp(missing)} JP missing."
            note_id = f"{total} dari batas minimal tahunan {floor} JP: kurang {jp(missing)} JP."
        else:
            note = f"{total} JP: the yearly floor of {floor} JP is met."
            note_id = f"{total} JP: batas minimal tahunan {floor} JP terpenuhi."
        return JPEntitlement(
            rule=EntitlementRule.floor,
            floor_jp=floor,
            floor_met=not missing,
            missing_jp=jp(missing),
            cap_jp=None,
            cap_exceeded=None,
            over_cap_jp=None,
            note=note,
            note_id=note_id,
        )
    if asn_type == AsnType.pppk:
        over = max(0, total_halves - limits.cap_halves)
        cap = jp(limits.cap_halves)
        if over:
            note = f"{total} JP: {jp(over)} JP above the PPPK yearly cap of {cap} JP."
            note_id = f"{total} JP: {jp(over)} JP melebihi batas maksimal PPPK {cap} JP setahun."
        else:
            note = f"{total} JP: within the PPPK yearly cap of {cap} JP."
            note_id = f"{total} JP: dalam batas maksimal PPPK {cap} JP setahun."
        return JPEntitlement(
            rule=EntitlementRule.cap,
            floor_jp=None,
            floor_met=None,
            missing_jp=None,
            cap_jp=cap,
            cap_exceeded=bool(over),
            over_cap_jp=jp(over),
            note=note,
            note_id=note_id,
        )
    return JPEntitlement(
        rule=EntitlementRule.none,
        floor_jp=None,
        floor_met=None,
        missing_jp=None,
        cap_jp=None,
        cap_exceeded=None,
        over_cap_jp=None,
        note=f"{total} JP: non-ASN guests have no yearly JP floor or cap.",
        note_id=f"{total} JP: tamu non-ASN tidak memiliki batas minimal atau maksimal JP tahunan.",
    )


def learner_year(
    *, session: Session, principal: Principal, raw_key: str, year: int
) -> tuple[JPYear, str]:
    """A learner's year: total, entries and entitlement; the learner by its unique key, the
    entries in one query on the (learner_id, year, id) index."""
    learner = jp_ledger.ledger_owner(session, principal, raw_key)
    return year_of(session, learner, year)


def my_year(*, session: Session, principal: Principal, year: int) -> tuple[JPYear, str]:
    """A learner login's own year (403 for staff logins: they have no ledger)."""
    learner = session.get(Learner, principal.learner_id) if principal.learner_id else None
    if not principal.is_learner or learner is None:
        raise ProblemError(
            403,
            "forbidden",
            "Only a learner login has a JP ledger of its own; staff read a learner's at "
            "/v1/learners/{learner_key}/jp.",
            detail_id="Hanya login peserta yang memiliki buku JP sendiri; staf membaca milik "
            "peserta di /v1/learners/{learner_key}/jp.",
        )
    return year_of(session, learner, year)


def year_of(session: Session, learner: Learner, year: int) -> tuple[JPYear, str]:
    rows = list(
        session.exec(
            select(JPRecord)
            .where(
                col(JPRecord.learner_id) == learner.id,
                col(JPRecord.year) == year,
                col(JPRecord.withdrawn_at).is_(None),
            )
            .order_by(col(JPRecord.id))
        )
    )
    total = sum(r.jp_halves for r in rows)
    limits = thresholds()
    body = JPYear(
        learner_id=learner.id,
        learner_key=learner.learner_key,
        asn_type=learner.asn_type,
        year=year,
        total_jp=halves_to_jp(total),
        entitlement=entitlement(learner.asn_type, total, limits),
        entries=[jp_ledger.public(r) for r in rows],
    )
    etag = list_etag(
        [learner.id, learner.version, year, limits.floor_halves, limits.cap_halves]
        + [f"{r.id}.{r.version}" for r in rows]
    )
    return body, etag


# --- compliance -------------------------------------------------------------------------


def report_agency(session: Session, principal: Principal, agency: str | None) -> Agency:
    """The agency the report is about: the caller's by default; another agency's only for
    platform admins (anyone else: 404, its existence not disclosed)."""
    wanted = agency or principal.agency_id
    found = session.exec(
        select(Agency).where(or_(col(Agency.id) == wanted, col(Agency.slug) == wanted))
    ).first()
    if found is None or not owns(principal, found.id):
        raise ProblemError(
            404,
            "not_found",
            f"No agency you may report on has the id or slug {wanted}; leave agency out "
            "for your own.",
            detail_id=f"Tidak ada instansi yang boleh Anda laporkan dengan id atau slug "
            f"{wanted}; hilangkan agency untuk instansi Anda sendiri.",
        )
    return found


def _totals(agency_id: str, year: int) -> Any:
    """Per PNS/CPNS learner of the agency, the year's JP: one GROUP BY over the learners
    LEFT JOIN their year's live records (a learner without any is there with 0)."""
    total = func.coalesce(func.sum(J.jp_halves), 0).label("total")
    return (
        sa_select(L.id, L.learner_key, L.name, L.asn_type, L.work_unit, total)
        .select_from(
            LEARNER.outerjoin(
                RECORD, and_(J.learner_id == L.id, J.year == year, J.withdrawn_at.is_(None))
            )
        )
        .where(L.agency_id == agency_id, L.asn_type.in_(FLOORED))
        .group_by(L.id)
    ), total


def _below(row: Any, floor_halves: int) -> JPBelowFloor:
    return JPBelowFloor(
        learner_id=row.id,
        learner_key=row.learner_key,
        name=row.name,
        asn_type=row.asn_type,
        work_unit=row.work_unit,
        total_jp=halves_to_jp(int(row.total)),
        missing_jp=halves_to_jp(floor_halves - int(row.total)),
    )


def compliance_summary(
    *, session: Session, principal: Principal, agency: str | None, year: int
) -> JPComplianceSummary:
    """How many of the agency's PNS/CPNS meet the floor and how many do not: one aggregate
    over the grouped totals."""
    found = report_agency(session, principal, agency)
    floor = thresholds().floor_halves
    grouped = _totals(found.id, year)[0].subquery()
    counts = session.execute(
        sa_select(
            func.count(),
            func.coalesce(func.sum(case((grouped.c.total >= floor, 1), else_=0)), 0),
        ).select_from(grouped)
    ).one()
    learners, meeting = int(counts[0]), int(counts[1])
    return JPComplianceSummary(
        agency_id=found.id,
        agency_name=found.name,
        year=year,
        floor_jp=halves_to_jp(floor),
        learners=learners,
        meeting_floor=meeting,
        below_floor=learners - meeting,
    )


def compliance(
    *,
    session: Session,
    principal: Principal,
    agency: str | None,
    year: int,
    cursor: str | None,
    limit: int,
) -> tuple[list[JPBelowFloor], str | None]:
    """A page (in learner id order) of the agency's PNS/CPNS below the floor. PostgreSQL
    walks the learner primary key and the (learner_id, year, id) index in step and stops
    after the page (GroupAggregate under a Limit): a page costs the same at any depth."""
    found = report_agency(session, principal, agency)
    floor = thresholds().floor_halves
    totals, total = _totals(found.id, year)
    statement = totals.having(total < floor).order_by(L.id).limit(limit + 1)
    position = decode_cursor(cursor, "id")
    if position is not None:
        statement = statement.where(L.id > position.id)
    rows = session.execute(statement).all()
    next_cursor = encode_cursor("id", None, rows[limit - 1].id) if len(rows) > limit else None
    return [_below(r, floor) for r in rows[:limit]], next_cursor


EXPORT_COLUMNS = ("nip", "name", "asn_type", "work_unit", "total_jp", "floor_jp", "missing_jp")


def compliance_rows(
    *, session: Session, principal: Principal, agency: str | None, year: int
) -> tuple[Iterator[dict[str, object]], str]:
    """Everyone below the floor (for CSV / XLSX), and the file's base name."""
    found = report_agency(session, principal, agency)
    floor = thresholds().floor_halves
    totals, total = _totals(found.id, year)
    rows = session.execute(totals.having(total < floor).order_by(L.id)).all()

    def cells() -> Iterator[dict[str, object]]:
        floor_jp = halves_to_jp(floor)
        for row in rows:  # plain dicts: no model per row for a list of tens of thousands
            total_halves = int(row.total)
            yield {
                "nip": row.learner_key,
                "name": row.name,
                "asn_type": AsnType(row.asn_type).value,
                "work_unit": row.work_unit,
                "total_jp": halves_to_jp(total_halves),
                "floor_jp": floor_jp,
                "missing_jp": halves_to_jp(floor - total_halves),
            }

    return cells(), f"jp-compliance-{found.slug}-{year}"
