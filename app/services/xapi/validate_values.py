"""The value checks of xAPI statements (IEEE 9274.1.1 Part 2 section 2.4): JSON objects
with known properties, strings, booleans, numbers, IRIs, UUIDs, timestamps, durations,
language maps and extensions. Each failure is :func:`invalid`: a 400 naming where, with
what to fix in both languages (app/services/xapi/validate.py puts the statement
together)."""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from app.core.errors import ProblemError

MAX_IRI = 2048
UUID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$"
)
IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+$")
LANG = re.compile(r"^(?:[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*|[iIxX](?:-[A-Za-z0-9]{1,8})+)$")
STAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})?$"
)
_N = r"(\d+(?:[.,]\d+)?)"
DURATION = re.compile(
    rf"^P(?!$)(?:{_N}Y)?(?:{_N}M)?(?:{_N}D)?(?:T(?=\d)(?:{_N}H)?(?:{_N}M)?(?:{_N}S)?)?$"
)
WEEKS = re.compile(rf"^P{_N}W$")


def invalid(where: str, en: str, id_: str) -> ProblemError:
    return ProblemError(
        400,
        "xapi_invalid_statement",
        f"{where}: {en}",
        detail_id=f"{where}: {id_}",
        extra={"where": where},
    )


def keys(
    value: Any, where: str, allowed: set[str] | frozenset[str] | tuple[str, ...]
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(where, "must be a JSON object.", "harus berupa objek JSON.")
    for key in value:  # the sets and sorting only for the answer: 7 calls a statement
        if key not in allowed:
            extra = sorted(set(value) - set(allowed))
            raise invalid(
                where,
                f"unknown properties {', '.join(extra)}; remove them.",
                f"properti tidak dikenal {', '.join(extra)}; hapus properti itu.",
            )
    return value


def string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise invalid(where, "must be a string.", "harus berupa string.")
    return value


def boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise invalid(where, "must be true or false.", "harus true atau false.")
    return value


def number(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(where, "must be a number.", "harus berupa angka.")
    return Decimal(str(value))


def iri(value: Any, where: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_IRI or not IRI.match(value):
        raise invalid(
            where,
            f"must be an absolute IRI of at most {MAX_IRI} characters, e.g. "
            "http://adlnet.gov/expapi/verbs/completed.",
            f"harus berupa IRI absolut paling panjang {MAX_IRI} karakter, misalnya "
            "http://adlnet.gov/expapi/verbs/completed.",
        )
    return value


def uuid(value: Any, where: str) -> str:
    if not isinstance(value, str) or not UUID.match(value):
        raise invalid(
            where,
            "must be a UUID (RFC 4122), e.g. 8f87ccde-bb56-4c2e-ab83-44982ef22df0.",
            "harus berupa UUID (RFC 4122), misalnya 8f87ccde-bb56-4c2e-ab83-44982ef22df0.",
        )
    return value


def timestamp(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        parsed: datetime | str = "format"
    else:  # only short texts are kept: a huge value must not stay in memory
        parsed = (_timestamp if len(value) <= CACHED else _timestamp.__wrapped__)(value)
    if parsed == "format":
        raise invalid(
            where,
            "must be an ISO 8601 date-time with seconds, e.g. 2025-05-15T08:00:00+07:00 "
            "(an offset of -00:00 is not allowed).",
            "harus berupa tanggal-waktu ISO 8601 dengan detik, misalnya "
            "2025-05-15T08:00:00+07:00 (offset -00:00 tidak diperbolehkan).",
        )
    if parsed == "unreal":
        raise invalid(where, "is not a real date or time.", "bukan tanggal atau waktu yang valid.")
    if parsed == "range":
        raise invalid(where, "must fall in 1900-2200.", "harus di antara 1900-2200.")
    assert isinstance(parsed, datetime)
    return parsed


# A statement's timestamp is read three times (validation, progress, its row) and its
# duration twice: each parsed once (~10 us saved a statement, bench/xapi_statements.py).
CACHED = 64  # characters: longer texts are parsed every time, not kept


@functools.lru_cache(maxsize=4096)
def _timestamp(value: str) -> datetime | str:
    """The instant, or what is wrong: ``format``, ``unreal`` or ``range``."""
    match = STAMP.match(value)
    if match is None or (match.group(8) or "").replace(":", "") == "-0000":
        return "format"
    text = value.upper().replace("Z", "+00:00")
    offset = match.group(8) or ""
    if len(offset) == 5:  # +0700
        text = text[:-2] + ":" + text[-2:]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return "unreal"
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if not 1900 <= parsed.astimezone(UTC).year <= 2200:
        return "range"
    return parsed


def duration(value: Any, where: str) -> timedelta:
    parsed = None
    if isinstance(value, str):
        parsed = (_duration if len(value) <= CACHED else _duration.__wrapped__)(value)
    if parsed is None:
        raise invalid(
            where,
            "must be an ISO 8601 duration, e.g. PT1H30M (weeks only alone, e.g. P2W).",
            "harus berupa durasi ISO 8601, misalnya PT1H30M (minggu hanya sendirian, "
            "misalnya P2W).",
        )
    return parsed


@functools.lru_cache(maxsize=4096)
def _duration(value: str) -> timedelta | None:
    weeks = WEEKS.match(value)
    if weeks is not None:
        return timedelta(days=7 * float(weeks.group(1).replace(",", ".")))
    match = DURATION.match(value)
    if match is None:
        return None
    y, mo, d, h, mi, s = (Decimal((g or "0").replace(",", ".")) for g in match.groups())
    days = y * 365 + mo * 30 + d
    seconds = ((days * 24 + h) * 60 + mi) * 60 + s
    return timedelta(seconds=float(min(seconds, Decimal(10**11))))


def langmap(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise invalid(
            where,
            'must be a language map, e.g. {"en-US": "completed"}.',
            'harus berupa peta bahasa, misalnya {"id-ID": "selesai"}.',
        )
    for tag, text in value.items():
        if not LANG.match(tag):
            raise invalid(
                f"{where}.{tag}",
                "is not an RFC 5646 language tag (e.g. en-US, id).",
                "bukan tag bahasa RFC 5646 (misalnya en-US, id).",
            )
        string(text, f"{where}.{tag}")


def extensions(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise invalid(where, "must be a JSON object.", "harus berupa objek JSON.")
    for key in value:
        iri(key, f"{where} key {key}")
