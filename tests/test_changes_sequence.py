"""The change sequence is handed out in commit order: a reader can never see a later seq
while an earlier one is still uncommitted (it would move its cursor past it for good)."""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine
from sqlmodel import Session

from app.core.db import new_session
from app.services.sync import changes, feed
from tests.factories import make_agency, make_learner_row, make_user, principal_for


def _seqs(engine: Engine, principal: object, after: str | None = None) -> list[tuple[int, str]]:
    with new_session(engine) as reader:
        items, _ = feed.read(
            session=reader,
            principal=principal,  # type: ignore[arg-type]
            after=after,
            types=None,
            limit=1000,
        )
        return [(e.seq, e.id) for e in items]


def test_a_transaction_that_allocates_first_and_commits_last_is_never_skipped(
    engine: Engine, session: Session
) -> None:
    agency = make_agency(session)
    platform = principal_for(make_user(session, agency, "platform_admin"))
    session.commit()
    session.close()
    before = _seqs(engine, platform)

    first = new_session(engine, write=True)
    one = make_learner_row(first, agency, 1)
    first.flush()
    changes._before_commit(first)  # allocates its seq and holds the allocation lock
    one_id = one.id

    done: dict[str, str] = {}

    def second_writer() -> None:
        with new_session(engine, write=True) as second:
            two = make_learner_row(second, agency, 2)
            second.commit()  # must wait until the first has committed
            done["two"] = two.id

    writer = threading.Thread(target=second_writer)
    writer.start()
    time.sleep(1.0)
    # the second transaction cannot take a seq while the first holds the lock
    assert "two" not in done
    # a reader meanwhile sees neither (no later seq handed out before the earlier is visible)
    assert _seqs(engine, platform) == before
    first.commit()
    first.close()
    writer.join(timeout=30)
    assert done.get("two")
    after = _seqs(engine, platform)[len(before) :]
    assert [ident for _, ident in after] == [one_id, done["two"]]
    assert after[1][0] == after[0][0] + 1  # gap-free
