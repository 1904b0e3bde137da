"""422 answers raised by the services, shaped like FastAPI's own validation errors."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from app.core.errors import ProblemError


def invalid(field: str, msg: str, *, kind: str = "value_error") -> ProblemError:
    return ProblemError(
        422,
        "validation_error",
        msg,
        errors=[{"loc": ["body", field], "msg": msg, "type": kind}],
    )


def reject_nulls(values: Mapping[str, Any], fields: Iterable[str]) -> None:
    """PATCH bodies may omit a required field, never set it to null."""
    for field in fields:
        if field in values and values[field] is None:
            raise invalid(field, f"{field} cannot be null.", kind="null")
