"""Moving a learner to another agency, with the old agency's consent.

A person keeps one learner row (and so their history) for life; moving changes its
home agency. The old agency's admin first releases the learner to the new agency
(``POST /v1/learners/{key}/release {"to_agency_id": ...}``; null withdraws it); the new
agency's admin then takes them over (``POST /v1/learners/{key}/transfer``), which uses
the release up. A platform admin may transfer directly. Guests (non-ASN) are keyed by
their agency's slug and do not move: the new agency registers them under its own.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.core.errors import ProblemError
from app.core.security import Principal
from app.models import Learner, User
from app.models.base import utcnow
from app.models.learner import AsnType, LearnerRelease, LearnerTransfer
from app.services.auth import forget_account
from app.services.learning import grants
from app.services.learning import learners as core
from app.services.learning.keys import parse_key
from app.services.oneroster import tombstones
from app.services.validation import invalid


def _movable(learner: Learner) -> None:
    if learner.asn_type == AsnType.non_asn:
        raise ProblemError(
            409,
            "guest_not_movable",
            "Non-ASN guests belong to the agency named in their key and do not move; the "
            "new agency registers the guest as ext:<its-slug>:<external_ref>.",
            detail_id="Tamu non-ASN milik instansi yang disebut dalam kuncinya dan tidak "
            "pindah; instansi baru mendaftarkan tamu itu sebagai ext:<slug-nya>:<external_ref>.",
        )


def release_learner(
    *, session: Session, principal: Principal, raw_key: str, data: LearnerRelease
) -> core.Saved:
    learner = core.owned(session, principal, raw_key)
    _movable(learner)
    to = data.to_agency_id
    if to is not None:
        if to == learner.agency_id:
            raise invalid(
                "to_agency_id",
                "to_agency_id is the learner's own agency; name the agency they move to.",
                "to_agency_id adalah instansi peserta sendiri; sebutkan instansi tujuan.",
            )
        core.active_agency(session, to, "to_agency_id")
    if learner.released_to_agency_id != to:
        learner.released_to_agency_id = to
        learner.released_at = utcnow() if to else None
        core.save(session, learner)
    else:
        session.commit()
    return core.saved(learner, principal)


def transfer_learner(
    *, session: Session, principal: Principal, raw_key: str, data: LearnerTransfer
) -> core.Saved:
    key = parse_key(raw_key, today=core.today()).key
    if principal.is_platform_admin:
        if data.to_agency_id is None:
            raise invalid(
                "to_agency_id",
                "Platform admins name the new home agency in to_agency_id.",
                "Admin platform menyebutkan instansi asal yang baru pada to_agency_id.",
            )
        to = data.to_agency_id
    else:
        to = principal.agency_id
        if data.to_agency_id not in (None, to):
            raise invalid(
                "to_agency_id",
                "An agency takes learners over into itself: leave to_agency_id out or send "
                "your own agency's id.",
                "Instansi hanya mengambil alih peserta ke dirinya sendiri: hilangkan "
                "to_agency_id atau kirim id instansi Anda.",
            )
    learner = core.by_key(session, key, for_update=True)
    if learner is None:
        raise core.not_found(key)
    _movable(learner)
    if learner.agency_id == to:
        raise ProblemError(
            409,
            "already_home",
            f"The learner {key} already belongs to that agency; there is nothing to move.",
            detail_id=f"Peserta {key} sudah milik instansi tersebut; tidak ada yang dipindahkan.",
        )
    if not principal.is_platform_admin and learner.released_to_agency_id != to:
        raise ProblemError(
            409,
            "release_required",
            f"The learner's agency has not released {key} to yours; ask it to POST "
            f'/v1/learners/{key}/release with {{"to_agency_id": "{to}"}}, then transfer again.',
            detail_id=f"Instansi peserta belum melepas {key} ke instansi Anda; minta instansi "
            f'itu mengirim POST /v1/learners/{key}/release dengan {{"to_agency_id": "{to}"}}, '
            "lalu ulangi transfer.",
        )
    core.active_agency(session, to, "to_agency_id")
    tombstones.learner_moved(session, learner_id=learner.id, old_home=learner.agency_id)
    learner.agency_id = to
    learner.released_to_agency_id = None
    learner.released_at = None
    # The learner's own login follows them (app/services/learning/learner_accounts.py);
    # its tokens name the old agency and are refused, so the learner logs in again.
    login = session.exec(select(User).where(col(User.learner_id) == learner.id)).first()
    if login is not None:
        login.agency_id = to
        login.updated_at = utcnow()  # the users list's updated_since must see the move
        session.add(login)
    core.save(session, learner, commit=False)
    grants.refresh(session, [learner.id])  # the old home now sees them only as organiser
    session.commit()
    if login is not None:
        forget_account(login.id)
    return core.saved(learner, principal)
