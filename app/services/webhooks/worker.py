"""``bangkom worker``: fan the change log out into deliveries and deliver them.

One asyncio loop: fan out (at most every ``poll_interval`` unless a full batch says there is
more), claim as many due deliveries as there are free slots (``concurrency`` attempts in
flight at most), record the attempts that finished, and sleep ``poll_interval`` when there
is nothing to do. Database work runs in threads (sync sessions, as everywhere else), HTTP
on the loop. Several workers may run against one database: fan-out and claims are
serialised by the database (app/services/webhooks/fanout.py, delivery.py).

SIGTERM or SIGINT stops claiming and lets the attempts in flight finish and be recorded
(at most the timeout); a second signal abandons them (their leases expire and another
worker repeats them). One log line per attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from app.core.config import get_settings
from app.core.db import get_engine, new_session
from app.services.outbound import guarded_client
from app.services.webhooks import delivery, fanout
from app.services.webhooks.delivery import Claimed, Outcome

log = logging.getLogger("bangkom.webhooks")


@dataclass
class Stats:
    fanned_out: int = 0
    attempts: int = 0
    succeeded: int = 0
    failed_attempts: int = 0
    outcomes: list[Outcome] = field(default_factory=list, repr=False)


def worker_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(2)}"


class Worker:
    def __init__(
        self,
        *,
        concurrency: int = 16,
        poll_interval: float = 0.5,
        engine: Engine | None = None,
        client: Callable[[], httpx.AsyncClient] | None = None,
        name: str | None = None,
        keep_outcomes: bool = False,
    ) -> None:
        self.concurrency = max(1, concurrency)
        self.poll_interval = poll_interval
        self.engine = engine
        self.name = name or worker_name()
        self._client = client or (
            lambda: guarded_client(timeout=get_settings().webhook_timeout_seconds)
        )
        self._keep = keep_outcomes
        self._stop: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[Outcome]] = set()
        self.stats = Stats()

    # --- database steps (in threads) ---------------------------------------------------

    def _fan_out(self) -> tuple[int, bool]:
        with new_session(self.engine or get_engine(), write=True) as session:
            return fanout.fan_out(session=session)

    def _claim(self, limit: int) -> list[Claimed]:
        with new_session(self.engine or get_engine(), write=True) as session:
            return delivery.claim(session=session, owner=self.name, limit=limit)

    def _record(self, outcomes: list[Outcome]) -> bool:
        with new_session(self.engine or get_engine(), write=True) as session:
            delivery.record(session=session, owner=self.name, outcomes=outcomes)
        return True

    async def _db(self, step: Callable[..., Any], *args: Any) -> Any:
        """A database step; None when it failed (logged; the loop goes on and tries again:
        a database that is down comes back, deliveries keep going while fan-out fails)."""
        try:
            return await asyncio.to_thread(step, *args)
        except DBAPIError as exc:
            log.warning(
                "webhook worker: database error, retrying",
                extra={"fields": {"worker": self.name, "error": str(exc.orig)[:200]}},
            )
        except Exception:
            log.exception(
                "webhook worker: %s failed, retrying",
                getattr(step, "__name__", "step"),
                extra={"fields": {"worker": self.name}},
            )
        return None

    # --- the loop ----------------------------------------------------------------------

    def stop(self) -> None:
        """Graceful the first time (finish what is in flight), abandon on the second."""
        if self._stop is None:
            return
        if self._stop.is_set():
            for task in self._tasks:
                task.cancel()
        self._stop.set()

    def _log(self, o: Outcome) -> None:
        log.info(
            "webhook attempt",
            extra={
                "fields": {
                    "worker": self.name,
                    "delivery": o.delivery.id,
                    "subscription": o.delivery.subscription_id,
                    "event": o.delivery.event_type,
                    "attempt": o.delivery.attempt,
                    "status_code": o.status_code,
                    "latency_ms": o.latency_ms,
                    "outcome": "succeeded" if o.succeeded else "failed",
                    **({"error": o.error} if o.error else {}),
                }
            },
        )

    async def _settle(self, done: set[asyncio.Task[Outcome]], unrecorded: list[Outcome]) -> None:
        outcomes = [t.result() for t in done if not t.cancelled()]
        for o in outcomes:
            self._log(o)
            self.stats.attempts += 1
            if o.succeeded:
                self.stats.succeeded += 1
            else:
                self.stats.failed_attempts += 1
            if self._keep:
                self.stats.outcomes.append(o)
        unrecorded.extend(outcomes)
        if unrecorded and await self._db(self._record, list(unrecorded)) is not None:
            unrecorded.clear()

    async def run(self, *, once: bool = False) -> Stats:
        """Until stopped; ``once``: until nothing is due (fan-out caught up, no delivery due,
        none in flight)."""
        stop = self._stop = asyncio.Event()
        unrecorded: list[Outcome] = []
        last_fanout = -1e9
        more = False
        async with self._client() as client:
            while True:
                claimed: list[Claimed] = []
                if not stop.is_set():
                    if more or time.monotonic() - last_fanout >= self.poll_interval:
                        last_fanout = time.monotonic()
                        result = await self._db(self._fan_out)
                        made, more = result if result is not None else (0, False)
                        self.stats.fanned_out += made
                    free = self.concurrency - len(self._tasks)
                    if free >= max(1, self.concurrency // 4) or not self._tasks:
                        claimed = await self._db(self._claim, free) or []
                    for item in claimed:
                        self._tasks.add(asyncio.create_task(delivery.send(client, item)))
                if not self._tasks:
                    if unrecorded:
                        await self._settle(set(), unrecorded)
                    if stop.is_set() or (once and not claimed and not more):
                        break
                    if not more and not claimed:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), self.poll_interval)
                    continue
                done, _ = await asyncio.wait(
                    self._tasks, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED
                )
                self._tasks -= done
                await self._settle(done, unrecorded)
        return self.stats
