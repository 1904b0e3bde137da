"""422 answers raised by the services, shaped like FastAPI's own validation errors."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from app.core.errors import ProblemError


def invalid(
    field: str, msg: str, msg_id: str | None = None, *, kind: str = "value_error"
) -> ProblemError:
    """A 422 on one body field; ``msg_id`` says the same in Indonesian."""
    return ProblemError(
        422,
        "validation_error",
        msg,
        detail_id=msg_id,
        errors=[{"loc": ["body", field], "msg": msg, "msg_id": msg_id, "type": kind}],
    )


def reject_nulls(values: Mapping[str, Any], fields: Iterable[str]) -> None:
    """PATCH bodies may omit a required field, never set it to null."""
    for field in fields:
        if field in values and values[field] is None:
            raise invalid(
                field,
                f"{field} cannot be null; leave it out to keep it.",
                f"{field} tidak boleh null; hilangkan saja untuk mempertahankannya.",
                kind="null",
            )
