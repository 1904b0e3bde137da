"""422 answers raised by the services, shaped like FastAPI's own validation errors."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from app.core.errors import ProblemError


def invalid(field: str, msg: str, msg_id: str, *, kind: str = "value_error") -> ProblemError:
    """422 on ``body.<field>``: ``msg`` in English, ``msg_id`` the same in Indonesian."""
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
                f"{field} cannot be null; leave it out to keep its value.",
                f"{field} tidak boleh null; hilangkan isian ini untuk mempertahankan nilainya.",
                kind="null",
            )


def email_taken() -> ProblemError:
    """The same answer whichever agency holds the address (and at the same cost).

    An email is a login name for the whole platform, so a second account cannot have it
    and the refusal itself cannot be hidden; it reveals nothing more: not the agency, not
    even whether it is the caller's own (whose users an admin can list anyway).
    """
    return ProblemError(
        409,
        "email_taken",
        "This email address is already a login name; choose another address.",
        detail_id="Alamat email ini sudah dipakai sebagai nama login; pilih alamat lain.",
        errors=[{"loc": ["body", "email"], "msg": "is already a login name", "type": "taken"}],
    )
