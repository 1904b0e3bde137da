"""The signature of a statement as the client sent it (without what the LRS sets: ``id``,
``stored``, ``authority``, ``version``): the SHA-256 of a canonical JSON text (keys
sorted, no spaces), kept on its row so that a statement sent again with the same id is
compared with what was stored (same: nothing changes; different: 409).

Two forms, told apart by a marker, so rows of either form still compare:

- form 1, unmarked: ``json.dumps(sort_keys=True, separators=(",", ":"),
  ensure_ascii=False)``, 64 hex digits (rows stored before form 2, and statements orjson
  cannot write: integers beyond 64 bits, strings with lone surrogates);
- form 2, ``"2:"`` then the first 62 hex digits: ``orjson.dumps`` with sorted keys
  (~1.7 us a statement against ~6.5 us; bench/xapi_statements.py's statements).

A resend is signed in the stored row's form. Equal statements give equal texts in each
form (both keep an integer and a float apart, as JSON parsing does).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import orjson

DROPS = ("stored", "authority", "version", "id")
FORM_2 = "2:"
SORTED = orjson.OPT_SORT_KEYS


def _kept(sent: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in sent.items() if k not in DROPS}


def form_1(sent: dict[str, Any]) -> str:
    text = json.dumps(_kept(sent), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def signature(sent: dict[str, Any]) -> str:
    """The signature a new statement is stored with (form 2 where orjson can write it)."""
    try:
        text = orjson.dumps(_kept(sent), option=SORTED)
    except orjson.JSONEncodeError:
        return form_1(sent)
    return FORM_2 + hashlib.sha256(text).hexdigest()[:62]


def same(stored: str, sent: dict[str, Any]) -> bool:
    """Whether ``sent`` is the statement whose stored signature is ``stored``."""
    return stored == (signature(sent) if stored.startswith(FORM_2) else form_1(sent))
