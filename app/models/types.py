"""Strict input types: what the contract says is exactly what the server accepts.

JSON bodies are validated in pydantic's Python mode (FastAPI parses the JSON first),
where pydantic's own strict mode would refuse ISO date strings and enum values. So
strictness is per type here: no ``0`` as a date or as ``false``, no ``""`` as a number,
no control characters in text, bounds on every number, string and date, and the JSON
schema of each type says the same (a pattern for the year range, ``multipleOf`` for JP).
Every refusal raises a :class:`PydanticCustomError` whose ``type`` the error table in
``app.core.i18n`` translates.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, get_args
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainValidator,
    Strict,
    WithJsonSchema,
    model_validator,
)
from pydantic import Field as PField
from pydantic_core import PydanticCustomError

from app.core import i18n
from app.core.pagination import PageQuery

MIN_YEAR, MAX_YEAR = 1900, 2200
# Years 1900-2200, as a JSON-schema pattern (the contract states the range).
_YEAR_RE = r"(19[0-9]{2}|2[01][0-9]{2}|2200)"
_DAY_RE = r"(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
DATE_PATTERN = rf"^{_YEAR_RE}-{_DAY_RE}$"
DATETIME_PATTERN = (
    rf"^{_YEAR_RE}-{_DAY_RE}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{{1,6}})?"
    r"(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])$"
)
# Single-line text: no control characters (NUL, newlines, escape ...).
LINE_PATTERN = r"^[^\x00-\x1f\x7f]*$"
# Multi-line text: tabs and line breaks allowed, other control characters not.
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
# Ids and slugs in paths and filters: opaque, but never anything but these characters.
IDENT_PATTERN = r"^[A-Za-z0-9_-]+$"
MAX_INT = 2_147_483_647  # a PostgreSQL integer

i18n.PATTERN_MESSAGES.update(
    {
        LINE_PATTERN: (
            "Remove control characters (such as NUL, tab or line breaks) from this one-line text.",
            "Hapus karakter kendali (seperti NUL, tab atau baris baru) dari teks satu baris ini.",
        ),
        TEXT_PATTERN: (
            "Remove control characters (such as NUL) from this text.",
            "Hapus karakter kendali (seperti NUL) dari teks ini.",
        ),
        IDENT_PATTERN: (
            "Use only letters, digits, '_' and '-' (an id or slug).",
            "Gunakan hanya huruf, angka, '_' dan '-' (sebuah id atau slug).",
        ),
    }
)

TIMEZONES = tuple(sorted(z for z in available_timezones() if "/" in z or z == "UTC"))


# Default of an update field that may be left out but not sent as null: absent means
# "unchanged" (model_dump(exclude_unset=True)); the contract does not say nullable.
UNSET: Any = None

_NOT_AN_INT = object()  # fails int validation, so the error keeps the field's location


class StrictInput(BaseModel):
    """Request bodies: an unknown field is a 422 naming it; integers are JSON integers.

    pydantic's lax int takes ``true`` and ``"3"``; its strict int refuses ``3.0``, which
    JSON Schema counts as an integer. So ints stay lax and ``true``/``"3"`` are swapped for
    a value that fails int validation here (a field-level validator would hide the
    field's bounds from the JSON schema of an optional field).
    """

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _json_integers(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        fields = _int_fields(cls)
        if not fields or not any(isinstance(data.get(f), bool | str) for f in fields):
            return data
        return {
            k: _NOT_AN_INT if k in fields and isinstance(v, bool | str) else v
            for k, v in data.items()
        }


_INT_FIELDS: dict[type[BaseModel], frozenset[str]] = {}


def _int_fields(model: type[BaseModel]) -> frozenset[str]:
    found = _INT_FIELDS.get(model)
    if found is None:
        found = _INT_FIELDS[model] = frozenset(
            name
            for name, field in model.model_fields.items()
            if field.annotation is int or set(get_args(field.annotation)) == {int, type(None)}
        )
    return found


# --- text -----------------------------------------------------------------------


def line(*, min_length: int = 0, max_length: int, **extra: Any) -> Any:
    """A single-line string field with bounds (no control characters)."""
    return PField(min_length=min_length, max_length=max_length, pattern=LINE_PATTERN, **extra)


def text(*, max_length: int, **extra: Any) -> Any:
    """A multi-line string field with a bound (tabs and line breaks allowed)."""
    return PField(max_length=max_length, pattern=TEXT_PATTERN, **extra)


Tag = Annotated[str, PField(min_length=1, max_length=60, pattern=LINE_PATTERN)]
PartnerName = Annotated[str, PField(min_length=1, max_length=200, pattern=LINE_PATTERN)]
Ident = Annotated[str, PField(min_length=1, max_length=40, pattern=IDENT_PATTERN)]


def _iana(value: str) -> str:
    if value not in _ZONES:
        raise PydanticCustomError(
            "timezone_unknown",
            "Use an IANA time zone name such as 'Asia/Jakarta'",
            {"input": value},
        )
    return value


_ZONES = frozenset(TIMEZONES)
TimeZone = Annotated[
    str,
    AfterValidator(_iana),
    WithJsonSchema({"type": "string", "enum": list(TIMEZONES), "examples": ["Asia/Jakarta"]}),
]


# --- numbers --------------------------------------------------------------------

StrictBool = Annotated[bool, Strict()]


def integer(*, ge: int, le: int, **extra: Any) -> Any:
    """Bounds of an int field (a StrictInput refuses booleans and strings for it)."""
    return PField(ge=ge, le=le, **extra)


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise PydanticCustomError("number_type", "Send a JSON number, e.g. 1.5")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:  # pragma: no cover - str() of a number parses
        raise PydanticCustomError("number_type", "Send a JSON number, e.g. 1.5") from exc
    if not number.is_finite():
        raise PydanticCustomError("number_type", "Send a JSON number, e.g. 1.5")
    return number


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


_NUMBER = BeforeValidator(_number)
# JP: half steps. Totals up to 10000 JP; a session at most 24 JP.
JPTotal = Annotated[
    Decimal,
    _NUMBER,
    PField(gt=0, le=10000, multiple_of=Decimal("0.5")),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": 10000, "multipleOf": 0.5}),
]
JPAllowance = Annotated[
    Decimal,
    _NUMBER,
    PField(ge=0, le=10000, multiple_of=Decimal("0.5")),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 10000, "multipleOf": 0.5}),
]
SessionJP = Annotated[
    Decimal,
    _NUMBER,
    PField(gt=0, le=24, multiple_of=Decimal("0.5")),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": 24, "multipleOf": 0.5}),
]
# Scores and weights 0-100, rounded to two decimals.
Score = Annotated[
    Decimal,
    _NUMBER,
    PField(ge=0, le=100),
    AfterValidator(_cents),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 100}),
]


# --- dates ------------------------------------------------------------------------

_DATE_HOW = "Write the date as YYYY-MM-DD, e.g. 2025-03-17"
_TIME_HOW = "Write the time as YYYY-MM-DDTHH:MM:SS with an offset, e.g. 2025-03-17T08:00:00+07:00"
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_LOCAL_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?$")
_TIME_RE = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])$"
)


def _out_of_range() -> PydanticCustomError:
    return PydanticCustomError(
        "date_out_of_range",
        "Use a date between {min_year} and {max_year}",
        {"min_year": MIN_YEAR, "max_year": MAX_YEAR},
    )


def _date_in(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and _DATE_RE.match(value):
        try:
            parsed = date.fromisoformat(value)
        except ValueError as exc:
            raise PydanticCustomError("date_format", _DATE_HOW) from exc
    else:
        raise PydanticCustomError("date_format", _DATE_HOW)
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise _out_of_range()
    return parsed


def _datetime_in(value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and _TIME_RE.match(value):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise PydanticCustomError("datetime_format", _TIME_HOW) from exc
    elif isinstance(value, str) and (_DATE_RE.match(value) or _LOCAL_RE.match(value)):
        raise PydanticCustomError(
            "datetime_offset", "Add the time and a UTC offset such as +07:00 (WIB) or Z"
        )
    else:
        raise PydanticCustomError("datetime_format", _TIME_HOW)
    if parsed.tzinfo is None:
        raise PydanticCustomError(
            "datetime_offset", "Add the time and a UTC offset such as +07:00 (WIB) or Z"
        )
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise _out_of_range()
    return parsed


Date = Annotated[
    date,
    PlainValidator(_date_in),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DATE_PATTERN}),
]
AwareDateTime = Annotated[
    datetime,
    PlainValidator(_datetime_in),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": DATETIME_PATTERN}),
]


# --- query parameters ---------------------------------------------------------------


def _query_bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise PydanticCustomError("bool_type", "Use true or false")


QueryBool = Annotated[bool, BeforeValidator(_query_bool), WithJsonSchema({"type": "boolean"})]


# --- delta sync -------------------------------------------------------------------


class SincePageQuery(PageQuery):
    """The page parameters of a list that supports delta sync: ``updated_since``."""

    updated_since: AwareDateTime | None = PField(
        default=None,
        description="RFC 3339 instant: only rows changed at or after it, ordered by "
        "(updated_at, id) whatever `sort` says; for delta sync pass the greatest "
        "`updated_at` you hold (rows at that instant come again: apply them idempotently). "
        "Deletions and rows that left your view are not listed: follow /v1/changes for those.",
    )
