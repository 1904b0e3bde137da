"""Statements become module progress, through the progress rules and store
(app/services/learning/progress_batch.py and progress_store.py): the same checks, the same
``ON CONFLICT ... WHERE excluded.occurred_at > stored`` upsert, the same change log.

A statement addresses progress when its verb is one of ``VERBS`` and its object is the
activity ``{BANGKOM_PUBLIC_URL}/activities/modules/{module_id}``. The learner is the
actor: an ``account`` whose ``name`` is the NIP (spaces allowed), under any ``homePage``
(an LMS names its users under its own; a NIP is national), or another learner key
(pppk:..., ext:...) under Bangkom's public URL (or a page under it, e.g.
``/agencies/{slug}``); or an ``mbox`` with the learner's e-mail. The enrolment is the learner's in a cohort
the caller's agency organises whose curriculum holds the module (a seated one first).

The record: ``completed``/``passed``/cmi5 ``satisfied`` -> completed; ``failed`` ->
in_progress (the score is kept, the JP are not earned); ``progressed`` -> in_progress
with the cmi5 progress extension as percent; ``attended`` -> completed when
``result.completion`` is true, else in_progress. Score: ``scaled`` x 100, else
``raw``/``max`` (from ``min``), two decimals, kept only for assessed modules. Duration:
whole minutes, half up. ``occurred_at`` is the statement's timestamp; ``source`` is
``xapi`` and ``external_id`` the statement id, so a replay is ``unchanged``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlmodel import Session

from app.core.config import get_settings
from app.core.errors import ProblemError
from app.core.security import Principal
from app.models.progress import MAX_MINUTES, ProgressStatus
from app.services.learning import learners as core
from app.services.learning import progress_batch as rules
from app.services.learning import progress_store as store
from app.services.learning.keys import parse_key
from app.services.xapi import progress_match
from app.services.xapi.validate import duration, timestamp

ADL = "http://adlnet.gov/expapi/verbs/"
VERBS = {
    ADL + "completed": "completed",
    ADL + "passed": "completed",
    "https://w3id.org/xapi/adl/verbs/satisfied": "completed",
    ADL + "failed": "failed",
    ADL + "progressed": "progressed",
    ADL + "attended": "attended",
}
NIP = re.compile(r"^\d{8} ?\d{6} ?\d ?\d{3}$")  # 18 digits, as people space them
CMI5_PROGRESS = "https://w3id.org/xapi/cmi5/result/extensions/progress"
CENT = Decimal("0.01")
MAX_EMAIL = 254  # learner.email
MAX_MODULE_ID = 40  # xapi_statement.module_id


def module_prefix() -> str:
    return get_settings().public_url.rstrip("/") + "/activities/modules/"


@dataclass(slots=True)
class Match:
    """What one statement did to progress."""

    enrollment_id: str | None = None
    module_id: str | None = None
    outcome: str | None = None
    unmatched: bool = False
    note: str | None = None
    learner_ref: str | None = None


@dataclass(slots=True)
class StatementRecord:
    """The progress record a statement makes, as the progress rules read it
    (``progress_batch.Record``): its values come from a validated statement, so it is built
    directly (~1 us), not as a ``ProgressBatchItem`` (``model_construct``: ~10 us)."""

    status: ProgressStatus
    percent: int | None
    score: Decimal | None
    time_spent_minutes: int
    occurred_at: datetime
    external_id: str
    enrollment_id: str | None
    module_id: str
    source: str = "xapi"
    jp_earned: Decimal | None = None
    cohort_id: str | None = None
    learner_key: str | None = None


def _learner_ref(actor: dict[str, Any]) -> str | None:
    """``key:<learner key>`` or ``mbox:<email>`` for an actor Bangkom can name."""
    if actor.get("objectType", "Agent") != "Agent":
        return None
    account = actor.get("account")
    home = get_settings().public_url.rstrip("/")
    if account is not None:
        page, name = account["homePage"].rstrip("/"), account["name"]
        ours = page == home or page.startswith(home + "/")
        if not ours and not NIP.match(name):
            return None  # another system's own account name: only a NIP is national
        try:
            return "key:" + parse_key(name, today=core.today()).key
        except ProblemError:
            return None
    if "mbox" in actor:
        mail = actor["mbox"][len("mailto:") :].lower()
        # no learner's e-mail is longer or holds a control character (nor may the column)
        if len(mail) <= MAX_EMAIL and mail.isprintable():
            return "mbox:" + mail
    return None


def _addressed(statement: dict[str, Any], prefix: str | None = None) -> tuple[str, str] | None:
    """(verb kind, module id) when the statement is about a module's progress."""
    kind = VERBS.get(statement["verb"]["id"])
    obj = statement["object"]
    if kind is None or obj.get("objectType", "Activity") != "Activity":
        return None
    prefix = prefix or module_prefix()
    if not obj["id"].startswith(prefix):
        return None
    return kind, obj["id"][len(prefix) :]


def score_of(result: dict[str, Any]) -> Decimal | None:
    score = result.get("score") or {}
    return _score(score.get("scaled"), score.get("raw"), score.get("min"), score.get("max"))


# LMSs send few distinct scores and durations: each worked out once in Decimal (~5 us a
# statement saved); the arguments are numbers and short texts (validated), hashable
@functools.lru_cache(maxsize=4096)
def _score(scaled: Any, raw: Any, low_: Any, high_: Any) -> Decimal | None:
    score = {
        k: v
        for k, v in (("scaled", scaled), ("raw", raw), ("min", low_), ("max", high_))
        if v is not None
    }
    if "scaled" in score:
        value = Decimal(str(score["scaled"])) * 100
    elif "raw" in score and "max" in score:
        low, high = Decimal(str(score.get("min", 0))), Decimal(str(score["max"]))
        if high <= low:
            return None
        value = (Decimal(str(score["raw"])) - low) / (high - low) * 100
    elif "raw" in score and 0 <= score["raw"] <= 100:
        value = Decimal(str(score["raw"]))
    else:
        return None
    return min(max(value, Decimal(0)), Decimal(100)).quantize(CENT, ROUND_HALF_UP)


@functools.lru_cache(maxsize=4096)
def _minutes(text: str) -> int:
    """A duration in whole minutes, half up (at most MAX_MINUTES)."""
    seconds = Decimal(duration(text, "duration").total_seconds())
    return min(int((seconds / 60).quantize(Decimal(1), ROUND_HALF_UP)), MAX_MINUTES)


def item_of(
    statement: dict[str, Any], kind: str, module_id: str, enrollment_id: str
) -> StatementRecord:
    result = statement.get("result") or {}
    percent: int | None = None
    if kind == "completed" or (kind == "attended" and result.get("completion") is True):
        status = ProgressStatus.completed
    else:
        status = ProgressStatus.in_progress
        progress = (result.get("extensions") or {}).get(CMI5_PROGRESS)
        if isinstance(progress, int) and not isinstance(progress, bool) and 0 <= progress < 100:
            percent = progress
    minutes = 0
    if "duration" in result:
        text = result["duration"]
        minutes = (_minutes if len(text) <= 64 else _minutes.__wrapped__)(text)
    return StatementRecord(
        status,
        percent,
        score_of(result),
        minutes,
        timestamp(statement["timestamp"], "timestamp"),
        statement["id"],
        enrollment_id,
        module_id,
    )


def apply(
    session: Session, principal: Principal, statements: Sequence[dict[str, Any]]
) -> list[Match]:
    """Write the progress of ``statements`` (complete, with ids and timestamps); what each
    did. Does not commit."""
    matches = [Match() for _ in statements]
    wanted: list[tuple[int, str, str, str]] = []  # index, kind, module, learner ref
    prefix = module_prefix()
    read: dict[tuple[Any, ...], str | None] = {}  # an LMS sends a learner's together
    for n, statement in enumerate(statements):
        addressed = _addressed(statement, prefix)
        if addressed is None:
            continue
        actor = statement["actor"]
        account = actor.get("account") or {}
        said = (
            actor.get("objectType"),
            account.get("homePage"),
            account.get("name"),
            actor.get("mbox"),
        )
        if said not in read:
            read[said] = _learner_ref(actor)
        ref = read[said]
        matches[n].learner_ref = ref
        # an id longer than any module's is no module (nor does it fit the column)
        matches[n].module_id = addressed[1] if len(addressed[1]) <= MAX_MODULE_ID else None
        if ref is None:
            matches[n].unmatched, matches[n].note = True, "learner_unknown"
            continue
        wanted.append((n, addressed[0], addressed[1], ref))
    if not wanted:
        return matches
    found = progress_match.enrolments(
        session, principal, {w[3] for w in wanted}, {w[2] for w in wanted}
    )
    enrolments = found.enrolments
    missing = [w for w in wanted if (w[3], w[2]) not in enrolments]
    if missing:
        learners = found.named
        known = progress_match.known_modules(session, {w[2] for w in missing})
        for n, _kind, module_id, ref in missing:
            note = (
                "learner_unknown"
                if ref not in learners
                else "module_unknown"
                if module_id not in known
                else "not_enrolled"
            )
            matches[n].module_id = module_id if module_id in known else None
            matches[n].unmatched, matches[n].note = True, note
    items: list[tuple[int, StatementRecord]] = [
        (n, item_of(statements[n], kind, module_id, enrolments[(ref, module_id)]))
        for n, kind, module_id, ref in wanted
        if (ref, module_id) in enrolments
    ]
    if not items:
        return matches
    resolved = found.resolved  # what rules.resolve would read, read with the match
    rows: dict[store.Pair, dict[str, Any]] = {}
    winner: dict[store.Pair, int] = {}
    for n, item in items:
        module = resolved.modules.get(item.module_id)
        if module is not None and not module[2]:
            item.score = None  # a score on an unassessed module is not progress's business
        target, errors, row = rules.check(item, resolved)
        match = matches[n]
        match.enrollment_id = item.enrollment_id
        if errors or row is None:
            match.unmatched, match.note = True, errors[0].type if errors else "rejected"
            continue
        pair = (row["enrollment_id"], item.module_id)
        kept = rows.get(pair)
        if kept is None or row["occurred_at"] > kept["occurred_at"]:
            rows[pair], winner[pair] = row, n
        match.outcome = "stale"
    outcomes = store.write(session, list(rows.values()))
    for pair, n in winner.items():
        matches[n].outcome = outcomes[pair].value
    return matches
