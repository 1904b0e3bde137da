"""Attachments (xAPI Communication 1.5.2, Data 2.4.11) and signed statements (Data 2.6).

A request with attachment content is ``multipart/mixed``: first the statements as
``application/json``, then one part per attachment with ``X-Experience-API-Hash`` (its
sha2) and ``Content-Transfer-Encoding: binary``. Every attachment without ``fileUrl``
needs its part, and every part an attachment naming it; otherwise 400 and nothing is
kept. Content is stored once per agency and SHA-256 and answered with the statements
when ``attachments=true``.

A signature attachment (usageType .../signature, ``application/octet-stream``) holds a
JWS (RS256, RS384 or RS512) whose payload is the statement as it was signed: it must
match the statement (compared without what the LRS sets, the attachments and, as the
specification asks, durations to the hundredth of a second). The key is not checked:
xAPI leaves trust in the signer to the reader, who gets the JWS back.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from app.core.errors import ProblemError
from app.models.xapi import XapiAttachment
from app.services.xapi.validate import invalid

SIGNATURE = "http://adlnet.gov/expapi/attachments/signature"
ALGORITHMS = {"RS256", "RS384", "RS512"}
A = XapiAttachment.__table__.c  # type: ignore[attr-defined]
Part = tuple[dict[str, str], bytes]


def _bad(en: str, id_: str) -> ProblemError:
    return ProblemError(400, "xapi_bad_request", en, detail_id=id_)


def split(raw: bytes, content_type: str) -> tuple[bytes, dict[str, Part]]:
    """The statements' JSON and the attachment parts by hash, from a multipart body."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if match is None:
        raise _bad(
            "A multipart/mixed request needs its boundary in Content-Type.",
            "Permintaan multipart/mixed memerlukan boundary di Content-Type.",
        )
    delimiter = b"--" + match.group(1).encode()
    parts: list[Part] = []
    for piece in raw.split(delimiter)[1:]:
        if piece.startswith(b"--"):
            break
        piece = piece[2:] if piece.startswith(b"\r\n") else piece.lstrip(b"\n")
        head, sep, body = piece.partition(b"\r\n\r\n")
        if not sep:
            head, sep, body = piece.partition(b"\n\n")
        body = body[:-2] if body.endswith(b"\r\n") else body.removesuffix(b"\n")
        headers = {}
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        parts.append((headers, body))
    if not parts or not parts[0][0].get("content-type", "").lower().startswith("application/json"):
        raise _bad(
            "The first part of a multipart/mixed request must be the statements as "
            "application/json.",
            "Bagian pertama permintaan multipart/mixed harus berisi pernyataan sebagai "
            "application/json.",
        )
    by_hash: dict[str, Part] = {}
    for headers, body in parts[1:]:
        sha2 = headers.get("x-experience-api-hash")
        if not sha2 or headers.get("content-transfer-encoding", "").lower() != "binary":
            raise _bad(
                "Each attachment part needs X-Experience-API-Hash (its sha2) and "
                "Content-Transfer-Encoding: binary.",
                "Setiap bagian lampiran memerlukan X-Experience-API-Hash (sha2-nya) dan "
                "Content-Transfer-Encoding: binary.",
            )
        by_hash[sha2] = (headers, body)
    return parts[0][1], by_hash


def _attachments(statement: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(statement.get("attachments") or [])
    obj = statement.get("object") or {}
    if obj.get("objectType") == "SubStatement":
        found += obj.get("attachments") or []
    return found


def check(sent: Sequence[dict[str, Any]], parts: dict[str, Part]) -> dict[str, Part]:
    """Every attachment without fileUrl has its part and every part its attachment;
    signatures match their statements. The parts to keep."""
    named: set[str] = set()
    for n, statement in enumerate(sent):
        for k, attachment in enumerate(_attachments(statement)):
            sha2 = attachment["sha2"]
            named.add(sha2)
            where = f"statement[{n}].attachments[{k}]"
            if "fileUrl" not in attachment and sha2 not in parts:
                raise invalid(
                    where,
                    "has no fileUrl and no part of the request carries its content; send it "
                    "as multipart/mixed with X-Experience-API-Hash: " + sha2 + ", or give fileUrl.",
                    "tidak memiliki fileUrl dan tidak ada bagian permintaan yang membawa isinya; "
                    "kirim sebagai multipart/mixed dengan X-Experience-API-Hash: " + sha2 + ", "
                    "atau berikan fileUrl.",
                )
            if attachment["usageType"] == SIGNATURE and sha2 in parts:
                _signature(statement, attachment, parts[sha2][1], where)
    extra = sorted(set(parts) - named)
    if extra:
        raise _bad(
            f"Parts {', '.join(extra)} belong to no statement's attachment; remove them or "
            "list them in attachments.",
            f"Bagian {', '.join(extra)} bukan milik lampiran pernyataan mana pun; hapus atau "
            "cantumkan di attachments.",
        )
    return parts


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(
    statement: dict[str, Any], attachment: dict[str, Any], jws: bytes, where: str
) -> None:
    if attachment.get("contentType") != "application/octet-stream":
        raise invalid(
            f"{where}.contentType",
            "a signature's contentType must be application/octet-stream.",
            "contentType tanda tangan harus application/octet-stream.",
        )
    try:
        header_b64, payload_b64, signature_b64 = jws.decode("ascii").strip().split(".")
        header = json.loads(_b64(header_b64))
        payload = json.loads(_b64(payload_b64))
        _b64(signature_b64)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise invalid(
            where,
            "the signature is not a compact JWS (header.payload.signature).",
            "tanda tangan bukan JWS ringkas (header.payload.signature).",
        ) from None
    if not isinstance(header, dict) or header.get("alg") not in ALGORITHMS:
        raise invalid(
            where,
            "the JWS must use RS256, RS384 or RS512.",
            "JWS harus memakai RS256, RS384 atau RS512.",
        )
    if not isinstance(payload, dict) or _comparable(payload, statement) != _comparable(
        statement, statement
    ):
        raise invalid(
            where,
            "the JWS payload is not this statement; sign the statement as sent.",
            "payload JWS bukan pernyataan ini; tandatangani pernyataan sebagaimana dikirim.",
        )


_SECONDS = re.compile(r"(\d+)(?:[.,](\d+))?S$")


def _comparable(value: dict[str, Any], statement: dict[str, Any]) -> Any:
    kept = {
        k: v
        for k, v in value.items()
        if k not in ("attachments", "authority", "stored", "version")
        and not (k == "id" and "id" not in statement)
    }
    result = kept.get("result")
    if isinstance(result, dict) and isinstance(result.get("duration"), str):
        match = _SECONDS.search(result["duration"])
        if match is not None:
            fraction = (match.group(2) or "")[:2]
            shown = match.group(1) + ("." + fraction if fraction.strip("0") else "") + "S"
            result = {**result, "duration": result["duration"][: match.start()] + shown}
            kept["result"] = result
    return json.loads(json.dumps(kept, sort_keys=True))


def keep(session: Session, agency_id: str, parts: dict[str, Part]) -> None:
    """Store the content of ``parts`` not stored yet (one row per agency and sha2)."""
    if not parts:
        return
    have = set(
        session.execute(
            select(A.sha2).where(A.agency_id == agency_id, A.sha2.in_(sorted(parts)))
        ).scalars()
    )
    rows = [
        {
            "agency_id": agency_id,
            "sha2": sha2,
            "content_type": headers.get("content-type", "application/octet-stream")[:255],
            "content": body,
        }
        for sha2, (headers, body) in parts.items()
        if sha2 not in have
    ]
    if rows:
        session.connection().execute(XapiAttachment.__table__.insert(), rows)  # type: ignore[attr-defined]


def load(
    session: Session, agency_id: str, statements: Sequence[dict[str, Any]]
) -> list[tuple[str, str, bytes]]:
    """(sha2, content type, content) of the stored attachments the statements name."""
    wanted = sorted({a["sha2"] for s in statements for a in _attachments(s) if "sha2" in a})
    if not wanted:
        return []
    rows = session.execute(
        select(A.sha2, A.content_type, A.content).where(
            A.agency_id == agency_id, A.sha2.in_(wanted)
        )
    ).all()
    return [(sha2, content_type, bytes(content)) for sha2, content_type, content in rows]


def multipart(document: str, files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """The statements and their attachments as a multipart/mixed answer."""
    boundary = "bangkom-xapi-boundary-7c4f0e1a"
    chunks = [f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode(), document.encode()]
    for sha2, content_type, content in files:
        chunks.append(
            f"\r\n--{boundary}\r\nContent-Type: {content_type}\r\n"
            f"Content-Transfer-Encoding: binary\r\nX-Experience-API-Hash: {sha2}\r\n\r\n".encode()
        )
        chunks.append(content)
    chunks.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/mixed; boundary={boundary}"
