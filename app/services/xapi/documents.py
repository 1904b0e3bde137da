"""The xAPI document resources (Communication 2.2, 2.3, 2.6, 2.7): State documents
(activity, agent, registration, stateId), Activity Profile documents (activity,
profileId) and Agent Profile documents (agent, profileId), kept per agency.

A document is opaque bytes with the Content-Type it was sent with; PUT replaces it, POST
merges the top-level properties of two JSON objects (or stores a new document), DELETE
removes one (or, on the State resource, every document of the context). Concurrency
(Communication 3.1): ``If-Match`` and ``If-None-Match`` are honoured on every write (412
when they do not hold); a PUT to an Activity or Agent Profile document must carry one of
them: 409 over an existing document, 400 where there is none yet (the State resource
permits PUT without them, as the specification says).

Writes take the document's row lock (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's
single writer), so two writers never both act on what they read; two creating the same
document at once meet at the unique key and the loser is run again against the winner's
document.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import delete as sa_delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.core import etag as etags
from app.core import i18n
from app.core.errors import ProblemError
from app.models.base import utcnow
from app.models.xapi import XapiDocument
from app.services.xapi.document_params import Target

i18n.MESSAGES.update(
    {
        "xapi_precondition_required": {
            "en": ("Concurrency header required", "Send If-Match or If-None-Match."),
            "id": ("Header konkurensi wajib", "Kirim If-Match atau If-None-Match."),
        },
        "xapi_document_not_found": {
            "en": ("No such document", "Check the document's id and context."),
            "id": ("Dokumen tidak ditemukan", "Periksa id dan konteks dokumen."),
        },
        "xapi_document_conflict": {
            "en": ("Document already exists", "Read it and send If-Match with its ETag."),
            "id": ("Dokumen sudah ada", "Baca dokumen lalu kirim If-Match dengan ETag-nya."),
        },
    }
)
JSON = "application/json"
D = XapiDocument.__table__.c  # type: ignore[attr-defined]


def media(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def tag_of(content: bytes) -> str:
    """The document's ETag: the SHA-1 of its content, in hexadecimal (Communication 3.1)."""
    return hashlib.sha1(content, usedforsecurity=False).hexdigest()


def quoted(doc: XapiDocument) -> str:
    return f'"{doc.etag}"'


def _bad(en: str, id_: str) -> ProblemError:
    return ProblemError(400, "xapi_bad_request", en, detail_id=id_)


def _find(session: Session, agency_id: str, key: str, *, lock: bool) -> XapiDocument | None:
    query = select(XapiDocument).where(XapiDocument.agency_id == agency_id, XapiDocument.key == key)
    if lock:
        query = query.with_for_update()
    return session.exec(query).first()


def read(session: Session, agency_id: str, target: Target) -> XapiDocument:
    doc = _find(session, agency_id, target.key, lock=False)
    if doc is None:
        raise ProblemError(
            404,
            "xapi_document_not_found",
            f"No {target.label} document has id {target.document_id!r} in this context; "
            f"check {target.id_param} and the other parameters.",
            detail_id=f"Tidak ada dokumen {target.label} dengan id {target.document_id!r} "
            f"dalam konteks ini; periksa {target.id_param} dan parameter lainnya.",
        )
    return doc


def ids(session: Session, agency_id: str, target: Target) -> tuple[list[str], datetime | None]:
    """The ids of the context's documents (changed after ``since``), oldest change first,
    and when the newest of them changed."""
    query = select(XapiDocument.document_id, XapiDocument.updated).where(
        XapiDocument.agency_id == agency_id, XapiDocument.scope == target.scope
    )
    if target.registration is not None:
        query = query.where(XapiDocument.registration == target.registration)
    if target.since is not None:
        query = query.where(col(XapiDocument.updated) > target.since)
    rows = session.exec(query.order_by(col(XapiDocument.updated), col(XapiDocument.id))).all()
    seen: dict[str, None] = {}
    for document_id, _updated in rows:
        seen.setdefault(document_id, None)
    return list(seen), max((r[1] for r in rows), default=None)


def _preconditions(
    doc: XapiDocument | None, if_match: str | None, if_none_match: str | None
) -> None:
    current = quoted(doc) if doc is not None else None
    if if_match is not None:
        if current is None:
            raise _failed(
                "the document does not exist (If-Match needs a current document)",
                "dokumen tidak ada (If-Match memerlukan dokumen yang ada)",
            )
        etags.check_if_match(if_match, current)
    if (
        if_none_match is not None
        and current is not None
        and etags.none_match(if_none_match, current)
    ):
        raise _failed(
            "the document exists and If-None-Match names it",
            "dokumen sudah ada dan If-None-Match menyebutnya",
        )


def _failed(en: str, id_: str) -> ProblemError:
    return ProblemError(
        412,
        "precondition_failed",
        f"Precondition failed: {en}; read the document (GET) and send its ETag in If-Match.",
        detail_id=f"Prasyarat gagal: {id_}; baca dokumen (GET) lalu kirim ETag-nya di If-Match.",
    )


def _unconditional(target: Target, *, exists: bool) -> ProblemError:
    if exists:
        return ProblemError(
            409,
            "xapi_document_conflict",
            f"This {target.label} document already exists. Read it (GET) to check its "
            "current content, then PUT again with If-Match set to its ETag.",
            detail_id=f"Dokumen {target.label} ini sudah ada. Baca dokumen (GET) untuk "
            "memeriksa isinya sekarang, lalu kirim PUT lagi dengan If-Match berisi ETag-nya.",
        )
    return ProblemError(
        400,
        "xapi_precondition_required",
        f"A PUT to the {target.label} resource needs If-None-Match: * (to create the "
        "document) or If-Match with the ETag you read (to replace it).",
        detail_id=f"PUT ke sumber {target.label} memerlukan If-None-Match: * (untuk membuat "
        "dokumen) atau If-Match berisi ETag yang Anda baca (untuk menggantinya).",
    )


def _json_object(raw: bytes, where: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, dict):
        raise _bad(
            f"The {where} document is not a JSON object; POST merges two JSON objects. "
            "Send a JSON object, or replace the document with PUT.",
            f"Dokumen {'yang dikirim' if where == 'sent' else 'tersimpan'} bukan objek JSON; "
            "POST menggabungkan dua objek JSON. Kirim objek JSON, atau ganti dokumen "
            "dengan PUT.",
        )
    return value


def write(
    *,
    session: Session,
    agency_id: str,
    target: Target,
    content: bytes,
    content_type: str,
    merge: bool,
    if_match: str | None = None,
    if_none_match: str | None = None,
) -> None:
    """PUT (``merge=False``) or POST (``merge=True``) one document; committed here."""
    sent_json = media(content_type) == JSON
    posted = _json_object(content, "sent") if merge and sent_json else None
    for attempt in (1, 2):
        try:
            _write_once(
                session,
                agency_id,
                target,
                content,
                content_type,
                posted,
                merge,
                if_match,
                if_none_match,
            )
            session.commit()
            return
        except IntegrityError:
            # another request created the document first: act again against it
            session.rollback()
            if attempt == 2:
                raise


def _write_once(
    session: Session,
    agency_id: str,
    target: Target,
    content: bytes,
    content_type: str,
    posted: dict[str, Any] | None,
    merge: bool,
    if_match: str | None,
    if_none_match: str | None,
) -> None:
    doc = _find(session, agency_id, target.key, lock=True)
    _preconditions(doc, if_match, if_none_match)
    if doc is not None and merge:
        if posted is None or media(doc.content_type) != JSON:
            raise _bad(
                "POST merges JSON objects: the stored document and the one sent must both "
                "be application/json. Replace the document with PUT instead.",
                "POST menggabungkan objek JSON: dokumen tersimpan dan yang dikirim harus "
                "sama-sama application/json. Ganti dokumen dengan PUT.",
            )
        merged = {**_json_object(doc.content, "stored"), **posted}
        content = json.dumps(merged, ensure_ascii=False, separators=(",", ":")).encode()
        content_type = JSON
    elif target.kind != "state" and not merge and if_match is None and if_none_match is None:
        # a client MUST send one of them on a profile PUT (Communication 3.1): 409 over a
        # document (as the LRS requirements say), 400 where there is none yet (as the ADL
        # 1.0.3 requirements test it, XAPI-00273 / XAPI-00287)
        raise _unconditional(target, exists=doc is not None)
    if doc is None:
        doc = XapiDocument(
            agency_id=agency_id,
            kind=target.kind,
            scope=target.scope,
            key=target.key,
            activity_id=target.activity_id,
            agent=target.agent,
            registration=target.registration,
            document_id=target.document_id or "",
            content=content,
            content_type=content_type,
            etag=tag_of(content),
            updated=utcnow(),
        )
    else:
        doc.content, doc.content_type, doc.etag = content, content_type, tag_of(content)
        doc.updated = utcnow()
    session.add(doc)
    session.flush()


def delete(
    *, session: Session, agency_id: str, target: Target, if_match: str | None = None
) -> None:
    """DELETE one document (``target.document_id``) or, without one, all of the context."""
    if target.document_id is None:
        query = sa_delete(XapiDocument).where(D.agency_id == agency_id, D.scope == target.scope)
        if target.registration is not None:
            query = query.where(D.registration == target.registration)
        session.execute(query)
        session.commit()
        return
    doc = _find(session, agency_id, target.key, lock=True)
    _preconditions(doc, if_match, None)
    if doc is not None:
        session.delete(doc)
    session.commit()
