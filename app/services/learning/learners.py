"""Learners: upsert by key (what sync scripts want), reads, changes, the list.

Writes belong to the home agency (and platform admins). Another agency's learner is 404
on reads and changes; a PUT of its key is 409 (the key is taken platform-wide, and the
answer says how to transfer, without naming the agency). Moves between agencies are in
``transfers``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import text
from sqlmodel import Session, col, or_, select

from app.core.db import commit_or_409, flush_or_409
from app.core.errors import ProblemError
from app.core.etag import check_if_match, resource_etag
from app.core.pagination import since_page, union_id_page
from app.core.security import Principal
from app.models import Agency, Learner
from app.models.base import utcnow
from app.models.learner import (
    GOLONGAN,
    PPPK_GRADES,
    AsnType,
    LearnerPublic,
    LearnerPut,
    LearnerUpdate,
)
from app.services.learning.keys import LearnerKey, identity_of, parse_key
from app.services.validation import invalid, reject_nulls
from app.services.visibility import (
    enrolment_agencies,
    learner_branches,
    learner_list_branches,
    learner_personal_visible,
    learner_self_id,
    learner_visible,
    owns,
    who,
)

ONE = TypeAdapter(LearnerPublic)
PAGE = TypeAdapter(list[LearnerPublic])
Saved = tuple[LearnerPublic, str]  # what every service here returns: the learner and its ETag
PERSONAL = ("birth_date", "email", "phone")


def today() -> date:
    return utcnow().date()


def public(learner: Learner, principal: Principal | None) -> LearnerPublic:
    values = learner.model_dump(exclude={"search", "released_at"})
    if not learner_personal_visible(principal, learner.agency_id, learner.id):
        values.update(dict.fromkeys(PERSONAL))
    titled = " ".join(t for t in (learner.front_title, learner.name) if t)
    values["display_name"] = f"{titled}, {learner.back_title}" if learner.back_title else titled
    return LearnerPublic(**values)


def etag_of(learner: Learner, principal: Principal | None) -> str:
    """With or without personal data are two representations: two ETags."""
    personal = learner_personal_visible(principal, learner.agency_id, learner.id)
    return resource_etag(learner.id, learner.version, int(personal))


def saved(learner: Learner, principal: Principal | None) -> Saved:
    return public(learner, principal), etag_of(learner, principal)


def not_found(key: str) -> ProblemError:
    return ProblemError(
        404,
        "not_found",
        f"No learner has the key {key}; check the NIP (or pppk:/ext: key).",
        detail_id=f"Tidak ada peserta dengan kunci {key}; periksa NIP (atau kunci pppk:/ext:).",
    )


def raced() -> ProblemError:
    return ProblemError(
        409,
        "learner_conflict",
        "Another request wrote this learner at the same moment; send your request again.",
        detail_id="Permintaan lain menulis peserta ini pada saat yang sama; kirim ulang "
        "permintaan Anda.",
    )


def by_key(session: Session, key: str, *, for_update: bool = False) -> Learner | None:
    statement = select(Learner).where(col(Learner.learner_key) == key)
    if for_update:
        statement = statement.with_for_update()
    return session.exec(statement).first()


def owned(session: Session, principal: Principal, raw_key: str) -> Learner:
    """The caller's agency's learner by key, locked for a change; 404 for anyone else's."""
    key = parse_key(raw_key, today=today()).key
    learner = by_key(session, key, for_update=True)
    if learner is None or not owns(principal, learner.agency_id):
        raise not_found(key)
    return learner


def active_agency(session: Session, agency_id: str, field: str) -> Agency:
    agency = session.get(Agency, agency_id)
    if agency is None or not agency.is_active:
        raise invalid(
            field,
            f"No active agency has id {agency_id}; send the id of an active agency.",
            f"Tidak ada instansi aktif dengan id {agency_id}; kirim id instansi yang aktif.",
        )
    return agency


def save(session: Session, learner: Learner, *, bump: bool = True, commit: bool = True) -> None:
    learner.search = " ".join(
        p for p in (learner.name.casefold(), learner.learner_key.casefold()) if p
    )
    if bump:
        learner.version += 1
        learner.updated_at = utcnow()
    session.add(learner)
    (commit_or_409 if commit else flush_or_409)(session, raced())


# --- field rules ---------------------------------------------------------------------


def _check(learner: Learner, key: LearnerKey | None = None) -> None:
    """Type fits the key, rank fits the type, birth date and gender agree with the number."""
    kinds = key.asn_types if key else None
    if kinds and learner.asn_type not in kinds:
        names = " or ".join(k.value for k in kinds)
        raise invalid(
            "asn_type",
            f"asn_type is {learner.asn_type.value} but the key is for {names}: a NIP for pns "
            "and cpns, pppk:<NI PPPK> for pppk, ext:<agency-slug>:<ref> for non_asn.",
            f"asn_type bernilai {learner.asn_type.value}, padahal kunci ini untuk "
            f"{names.replace(' or ', ' atau ')}: NIP untuk pns dan cpns, pppk:<NI PPPK> untuk "
            "pppk, ext:<slug-instansi>:<ref> untuk non_asn.",
        )
    rank = learner.rank
    if rank is not None:
        ok = {
            AsnType.pns: GOLONGAN,
            AsnType.cpns: GOLONGAN,
            AsnType.pppk: PPPK_GRADES,
            AsnType.non_asn: (),
        }[learner.asn_type]
        if rank not in ok:
            allowed = "I/a to IV/e" if ok is GOLONGAN else "I to XVII" if ok else "none"
            allowed_id = allowed.replace(" to ", " sampai ").replace("none", "tidak ada")
            raise invalid(
                "rank",
                f"rank {rank} does not fit asn_type {learner.asn_type.value}; allowed: {allowed}.",
                f"rank {rank} tidak sesuai dengan asn_type {learner.asn_type.value}; yang "
                f"diizinkan: {allowed_id}.",
            )
    born, gender = identity_of(learner.nip, learner.ni_pppk)
    what = "NIP" if learner.nip else "NI PPPK"
    if born is not None and learner.birth_date is not None and learner.birth_date != born:
        raise invalid(
            "birth_date",
            f"birth_date {learner.birth_date.isoformat()} does not agree with digits 1-8 of the "
            f"{what} ({born.isoformat()}); fix one of them, or leave birth_date out.",
            f"birth_date {learner.birth_date.isoformat()} tidak sesuai dengan angka ke-1 sampai "
            f"ke-8 {what} ({born.isoformat()}); perbaiki salah satunya, atau hilangkan "
            "birth_date.",
        )
    if gender is not None and learner.gender is not None and learner.gender != gender:
        raise invalid(
            "gender",
            f"gender {learner.gender.value} does not agree with digit 15 of the NIP "
            f"({gender.value}); fix one of them, or leave gender out.",
            f"gender {learner.gender.value} tidak sesuai dengan angka ke-15 NIP "
            f"({gender.value}); perbaiki salah satunya, atau hilangkan gender.",
        )
    learner.birth_date = learner.birth_date or born
    learner.gender = learner.gender or gender


def _values(data: LearnerPut | LearnerUpdate, *, unset: bool) -> dict[str, Any]:
    values = data.model_dump(exclude_unset=unset, exclude={"agency_id"})
    if values.get("rank") is not None:
        values["rank"] = str(values["rank"].value)
    return values


# --- writes -----------------------------------------------------------------------------


def _home_for_new(session: Session, principal: Principal, key: LearnerKey, data: LearnerPut) -> str:
    if key.agency_slug is not None:
        agency = session.exec(select(Agency).where(col(Agency.slug) == key.agency_slug)).first()
        if agency is None or not owns(principal, agency.id):
            raise invalid(
                "agency_id",
                f"The key names agency '{key.agency_slug}', which is not yours; guests are "
                "keyed ext:<your-agency-slug>:<external_ref>.",
                f"Kunci menyebut instansi '{key.agency_slug}', yang bukan instansi Anda; tamu "
                "diberi kunci ext:<slug-instansi-anda>:<external_ref>.",
            )
        if data.agency_id not in (None, agency.id):
            raise invalid(
                "agency_id",
                "agency_id must be the agency named in the key, or left out.",
                "agency_id harus instansi yang disebut dalam kunci, atau dihilangkan.",
            )
        return agency.id
    home = data.agency_id or principal.agency_id
    if not owns(principal, home):
        raise invalid(
            "agency_id",
            "agency_id must be your own agency, or left out; learners of other agencies "
            "come to yours by transfer.",
            "agency_id harus instansi Anda sendiri, atau dihilangkan; peserta instansi lain "
            "pindah ke instansi Anda melalui transfer.",
        )
    return active_agency(session, home, "agency_id").id


def _elsewhere(key: str) -> ProblemError:
    return ProblemError(
        409,
        "learner_in_other_agency",
        f"The learner {key} belongs to another agency; it cannot be written here. To move "
        f"the learner to your agency, ask their agency to release them to yours (POST "
        f"/v1/learners/{key}/release) and then POST /v1/learners/{key}/transfer.",
        detail_id=f"Peserta {key} milik instansi lain; tidak dapat ditulis di sini. Untuk "
        f"memindahkan peserta ke instansi Anda, minta instansinya melepas peserta ke instansi "
        f"Anda (POST /v1/learners/{key}/release) lalu POST /v1/learners/{key}/transfer.",
    )


def _put_once(
    session: Session,
    principal: Principal,
    key: LearnerKey,
    data: LearnerPut,
    if_match: str | None,
    commit: bool,
) -> tuple[Saved, bool]:
    learner = by_key(session, key.key, for_update=True)
    if learner is None:
        if if_match is not None:  # RFC 9110: no current representation matches, not even *
            raise ProblemError(
                412,
                "precondition_failed",
                f"No learner has the key {key.key} yet, so If-Match cannot match; send the "
                "PUT without If-Match to create the learner.",
                detail_id=f"Belum ada peserta dengan kunci {key.key}, jadi If-Match tidak "
                "mungkin cocok; kirim PUT tanpa If-Match untuk membuat peserta.",
            )
        learner = Learner(
            learner_key=key.key,
            agency_id=_home_for_new(session, principal, key, data),
            nip=key.nip,
            ni_pppk=key.ni_pppk,
            external_ref=key.external_ref,
            **_values(data, unset=False),
        )
        _check(learner, key)
        save(session, learner, bump=False, commit=commit)
        return saved(learner, principal), True
    if not owns(principal, learner.agency_id):
        raise _elsewhere(key.key)
    check_if_match(if_match, etag_of(learner, principal))
    if data.agency_id not in (None, learner.agency_id):
        raise ProblemError(
            409,
            "transfer_required",
            "agency_id differs from the learner's home agency; moves between agencies go "
            f"through POST /v1/learners/{key.key}/transfer.",
            detail_id="agency_id berbeda dari instansi asal peserta; perpindahan antar "
            f"instansi melalui POST /v1/learners/{key.key}/transfer.",
        )
    before = learner.model_dump()
    with session.no_autoflush:
        for name, value in _values(data, unset=False).items():
            setattr(learner, name, value)
        _check(learner, key)
    changed = learner.model_dump() != before
    save(session, learner, bump=changed, commit=commit)  # the same body again: no new version
    return saved(learner, principal), False


def put_learner(
    *,
    session: Session,
    principal: Principal,
    raw_key: str,
    data: LearnerPut,
    if_match: str | None = None,
    commit: bool = True,
) -> tuple[Saved, bool]:
    """Create (True) or replace (False) the learner with this key.

    ``commit=False``: the write is flushed, not committed, so it is one step of the
    caller's transaction (an enrolment with a learner payload).

    Two PUTs of one new key at once: the second insert fails on the unique key at commit
    (it waits for the first on PostgreSQL; SQLite has one writer); it is retried once as
    an update, so the callers get 201 and 200.
    """
    key = parse_key(raw_key, today=today())
    try:
        return _put_once(session, principal, key, data, if_match, commit)
    except ProblemError as exc:
        if exc.code != "learner_conflict":
            raise
    return _put_once(session, principal, key, data, if_match, commit)


def update_learner(
    *,
    session: Session,
    principal: Principal,
    raw_key: str,
    data: LearnerUpdate,
    if_match: str | None = None,
) -> Saved:
    learner = owned(session, principal, raw_key)
    check_if_match(if_match, etag_of(learner, principal))
    values = _values(data, unset=True)
    reject_nulls(values, ("asn_type", "name"))
    kinds = (AsnType.pns, AsnType.cpns) if learner.nip else (learner.asn_type,)
    with session.no_autoflush:
        for name, value in values.items():
            setattr(learner, name, value)
        _check(learner, LearnerKey(learner.learner_key, kinds))
    save(session, learner)
    return saved(learner, principal)


# --- reads ------------------------------------------------------------------------------


def read_learner(*, session: Session, principal: Principal, raw_key: str) -> Saved:
    key = parse_key(raw_key, today=today()).key
    learner = by_key(session, key)
    if learner is None or not learner_visible(
        principal,
        learner.agency_id,
        learner.id,
        through=lambda: enrolment_agencies(session, learner.id),
    ):
        raise not_found(key)
    return saved(learner, principal)


def serial_plans(session: Session) -> None:
    """PostgreSQL: no parallel workers for the rest of this (read) transaction. From a
    cursor, the "enrolled with me" branch (learner_grant joined to learner, LIMIT 51) was
    planned as a Gather Merge over 2 workers: 25-36 ms, nearly all of it starting the
    workers, for a scan that takes 0.25 ms without them (EXPLAIN ANALYZE, 1,000,000
    learners, 50,000 grants; custom and generic plans alike). A keyset page reads a few
    dozen index entries: workers never pay for themselves there. (The branch is also
    bounded by the cursor on both sides of its join now, which alone gave a serial plan
    there; this keeps workers out wherever the planner costs a page otherwise: a deep page
    at 1,000,000 learners, in process at load 12-14, 8.4 ms at best with it, 15.7 ms
    without.)"""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))


def list_learners(
    *,
    session: Session,
    principal: Principal,
    agency: str | None,
    asn_type: str | None,
    position_type: str | None,
    rank: str | None,
    q: str | None,
    cursor: str | None,
    limit: int,
    updated_since: datetime | None = None,
) -> tuple[list[LearnerPublic], str | None]:
    statement = select(Learner)
    if agency is not None:
        ids = select(Agency.id).where(or_(col(Agency.id) == agency, col(Agency.slug) == agency))
        statement = statement.where(col(Learner.agency_id).in_(ids))
    if asn_type is not None:
        statement = statement.where(col(Learner.asn_type) == asn_type)
    if position_type is not None:
        statement = statement.where(col(Learner.position_type) == position_type)
    if rank is not None:
        statement = statement.where(col(Learner.rank) == rank)
    if q is not None:
        needle = q.casefold().strip()
        if needle.replace(" ", "").isdigit():  # a NIP as people write it
            needle = needle.replace(" ", "")
        # A substring of the casefolded name and key. On PostgreSQL the pg_trgm GIN index
        # ix_learner_search_trgm serves it: 200,000 learners, a selective q ('rahmawati
        # 1234', 'zzzz') 9.6 / 2.6 ms instead of 92 / 95 ms without it (one agency, page of
        # 50). SQLite scans (a b-tree cannot serve '%x%'); results are the same on both.
        statement = statement.where(col(Learner.search).contains(needle, autoescape=True))
    # one keyset query per visibility branch (the home agency's learners; others' enrolled
    # with the caller), merged: an OR of the two sorts every visible learner on each page
    caller, me, self_id = who(principal), principal.agency_id, learner_self_id(principal)
    if updated_since is None:
        pages = learner_list_branches(statement, caller, me, self_id)
        if len(pages) > 1:
            serial_plans(session)
        rows, next_cursor = union_id_page(
            session,
            [s for s, _ in pages],
            Learner,
            limit=limit,
            cursor=cursor,
            keys=[k for _, k in pages],
        )
    else:
        branches = learner_branches(caller, me, self_id)
        rows, next_cursor = since_page(
            session,
            statement.where(or_(*branches)),
            Learner,
            limit=limit,
            cursor=cursor,
            updated_since=updated_since,
        )
    return [public(r, principal) for r in rows], next_cursor
