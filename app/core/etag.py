"""ETags: strong ones for single resources (a row id and its version), weak ones for list pages.

``If-None-Match`` on a GET answers 304 when it matches; ``If-Match`` on a write
answers 412 when the resource changed since the client read it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from starlette.responses import Response

from app.core.errors import ProblemError


def resource_etag(ident: str, version: int, *borrowed: int) -> str:
    """A strong ETag: the representation is byte-identical for one version.

    ``borrowed`` are the versions of the rows a representation takes fields from (a
    cohort shows its course's title): a change there changes the ETag too.
    """
    return f'"{ident}-' + ".".join(str(v) for v in (version, *borrowed)) + '"'


def list_etag(parts: Iterable[object]) -> str:
    digest = hashlib.blake2b(digest_size=12)
    for part in parts:
        digest.update(str(part).encode())
        digest.update(b"\x00")
    return f'W/"{digest.hexdigest()}"'


def _tags(header: str) -> list[str]:
    return [t.strip() for t in header.split(",") if t.strip()]


def _opaque(tag: str) -> str:
    return tag[2:] if tag.startswith("W/") else tag


def none_match(if_none_match: str | None, etag: str) -> bool:
    """True when ``If-None-Match`` matches ``etag`` (weak comparison, RFC 9110 13.1.2)."""
    if not if_none_match:
        return False
    tags = _tags(if_none_match)
    return "*" in tags or _opaque(etag) in {_opaque(t) for t in tags}


def check_if_match(if_match: str | None, etag: str) -> None:
    """Raise 412 unless ``If-Match`` is absent, ``*`` or names the current ETag."""
    if if_match is None:
        return
    tags = _tags(if_match)
    if "*" in tags or _opaque(etag) in {_opaque(t) for t in tags}:
        return
    raise ProblemError(
        412,
        "precondition_failed",
        f"The resource changed since you read it (its ETag is now {etag}); "
        "read it again and re-apply your change.",
        detail_id=f"Sumber daya telah berubah sejak dibaca (ETag sekarang {etag}); "
        "baca ulang lalu terapkan perubahan Anda.",
        headers={"ETag": etag},
    )


def json_response(
    body: bytes | str,
    etag: str,
    *,
    if_none_match: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """Ready JSON bytes with their ETag, or 304 when the client already holds this version."""
    if status_code == 200 and none_match(if_none_match, etag):
        return Response(status_code=304, headers={"ETag": etag, "Vary": "Authorization"})
    # What a caller sees depends on who they are (drafts): caches must key on the token.
    out = {"ETag": etag, "Vary": "Authorization"}
    if headers:
        out.update(headers)
    return Response(body, status_code=status_code, headers=out, media_type="application/json")
