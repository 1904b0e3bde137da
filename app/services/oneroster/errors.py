"""The OneRoster error payload (``imsx_StatusInfo``): on /ims/oneroster routes only.

Errors are raised as :class:`ProblemError` like everywhere else (English ``detail`` and
Indonesian ``detail_id``); the OneRoster router's route class answers them in the
binding's shape, in the language ``Accept-Language`` asks for. The ``code`` of the
problem picks the ``imsx_codeMinor`` value from the binding's vocabulary.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from app.core import i18n
from app.core.errors import ProblemError

# The binding's codeMinor vocabulary (imsx_CodeMinorFieldDType.imsx_codeMinorFieldValue).
CODE_MINOR = (
    "fullsuccess",
    "invalid_filter_field",
    "invalid_selection_field",
    "invaliddata",
    "unauthorisedrequest",
    "forbidden",
    "server_busy",
    "unknownobject",
    "internal_server_error",
)
_BY_STATUS = {
    400: "invaliddata",
    401: "unauthorisedrequest",
    403: "forbidden",
    404: "unknownobject",
    422: "invaliddata",
    429: "server_busy",
    503: "server_busy",
}


def status_info(description: str, code_minor: str) -> dict[str, Any]:
    return {
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_description": description,
        "imsx_CodeMinor": {
            "imsx_codeMinorField": [
                {
                    "imsx_codeMinorFieldName": "TargetEndSystem",
                    "imsx_codeMinorFieldValue": code_minor,
                }
            ]
        },
    }


def code_minor(exc: ProblemError) -> str:
    if exc.code in CODE_MINOR:
        return exc.code
    return _BY_STATUS.get(exc.status, "invaliddata")


def describe(exc: ProblemError, lang: str) -> str:
    """The problem's sentence in ``lang``; field errors appended (``loc``: ``msg``)."""
    generic = i18n.message(exc.code, lang) or i18n.message(
        i18n.STATUS_CODES.get(exc.status, ""), lang
    )
    text = exc.detail_id if lang == "id" else exc.detail
    if not text:
        text = generic[1] if generic else (i18n.FALLBACK_ID if lang == "id" else "Error")
    for err in exc.errors or ():
        msg = err.get("msg_id") if lang == "id" and err.get("msg_id") else err.get("msg")
        loc = ".".join(str(p) for p in err.get("loc", ()))
        text += f" {loc}: {msg}"
    return text


def imsx_body(exc: ProblemError, lang: str) -> bytes:
    return json.dumps(
        status_info(describe(exc, lang), code_minor(exc)), ensure_ascii=False
    ).encode()


def bad_request(
    code: str, detail: str, detail_id: str, *, headers: Mapping[str, str] | None = None
) -> ProblemError:
    """A 400 of the binding: ``invalid_filter_field``, ``invalid_selection_field`` or
    ``invaliddata``."""
    return ProblemError(400, code, detail, detail_id=detail_id, headers=headers)


def unknown(what: str, what_id: str, sourced_id: str) -> ProblemError:
    return ProblemError(
        404,
        "unknownobject",
        f"No {what} has sourcedId {sourced_id} for this client; check the sourcedId.",
        detail_id=f"Tidak ada {what_id} dengan sourcedId {sourced_id} untuk klien ini; "
        "periksa sourcedId tersebut.",
    )
