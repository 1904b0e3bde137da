"""Webhook test helpers: subscriptions made through the model (the /v1/webhooks API is
built in parallel), a real HTTP receiver on 127.0.0.1 that checks every signature with the
``standardwebhooks`` library, and running the worker in this process."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session
from standardwebhooks import Webhook, WebhookVerificationError

from app.core.config import get_settings
from app.models import Agency
from app.models.webhook import WebhookEventType, WebhookSubscription
from app.services.webhooks import fanout
from app.services.webhooks.subscriptions import new_secret
from app.services.webhooks.worker import Stats, Worker

ALL_EVENTS = [e.value for e in WebhookEventType]
# retries wait a minute (a test makes them due by setting next_attempt_at: no sleeping, and
# one `--once` run makes one attempt of each delivery); loopback receivers allowed
TEST_SETTINGS = {
    "BANGKOM_OUTBOUND_ALLOWED_NETWORKS": "127.0.0.1/32",
    "BANGKOM_WEBHOOK_RETRY_DELAYS": "60",
    "BANGKOM_WEBHOOK_TIMEOUT_SECONDS": "3",
    "BANGKOM_WEBHOOK_LEASE_SECONDS": "5",
}


@contextmanager
def webhook_settings(**extra: str) -> Iterator[None]:
    """The environment of TEST_SETTINGS (plus ``extra``) for this block, then as before."""
    values = {**TEST_SETTINGS, **extra}
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()


def make_subscription(
    session: Session, agency: Agency | str, url: str, events: list[str] | None = None, **over: Any
) -> WebhookSubscription:
    agency_id = agency if isinstance(agency, str) else agency.id
    row = WebhookSubscription(
        agency_id=agency_id,
        url=url,
        event_types=list(events or ALL_EVENTS),
        secret=over.pop("secret", new_secret()),
        start_seq=over.pop("start_seq", None) or fanout.subscription_start(session),
        **over,
    )
    session.add(row)
    session.commit()
    session.rollback()  # release SQLite's write lock
    return row


@dataclass
class Received:
    path: str
    webhook_id: str
    body: dict[str, Any]
    headers: dict[str, str]


class _Server(ThreadingHTTPServer):
    # listen(5) by default: two workers opening 16 connections at once had some reset
    # (ReadError), and their retries (up to a minute away) outlived the test's deadline
    request_queue_size = 128


@dataclass
class Receiver:
    """Answers POSTs on 127.0.0.1; ``answers[path]`` lists statuses to give in turn (then
    200). A request whose signature does not verify with ``secrets[path]`` is recorded in
    ``bad`` and answered 400. A request is recorded when it arrives, before the answer (a
    receiver that processed it and then lost the connection); ``hold`` (an Event) keeps
    each answer back until it is set."""

    secrets: dict[str, str] = field(default_factory=dict)
    answers: dict[str, list[int]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)
    hold: threading.Event | None = None
    delay: float = 0.0  # seconds before each answer
    arrived: threading.Event = field(default_factory=threading.Event)
    port: int = 0
    _server: _Server | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def expect(self, sub: WebhookSubscription, path: str) -> None:
        self.secrets[path] = sub.secret

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = receiver._answer(self.path, raw, headers)  # processed, then answered
                receiver.arrived.set()
                if receiver.hold is not None:
                    receiver.hold.wait(30)
                if receiver.delay:
                    time.sleep(receiver.delay)
                reply = f"answer {status}".encode()
                try:
                    self.send_response(status)
                    self.send_header("content-length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except OSError:
                    pass  # the worker is gone (killed, timed out): nobody reads the answer

        self._server = _Server(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _answer(self, path: str, raw: bytes, headers: dict[str, str]) -> int:
        try:
            body = Webhook(self.secrets[path]).verify(raw, headers)
        except (KeyError, WebhookVerificationError) as exc:
            with self._lock:
                self.bad.append(f"{path}: {exc!r}")
            return 400
        with self._lock:
            self.received.append(Received(path, headers["webhook-id"], body, headers))
            queue = self.answers.get(path) or []
            return queue.pop(0) if queue else 200

    def ids(self, path: str | None = None) -> list[str]:
        return [r.webhook_id for r in self.received if path is None or r.path == path]

    def bodies(self, path: str | None = None) -> list[dict[str, Any]]:
        return [r.body for r in self.received if path is None or r.path == path]


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.start()
    try:
        yield receiver
    finally:
        if receiver.hold is not None:
            receiver.hold.set()
        receiver.stop()


def run_worker(engine: Engine, **options: Any) -> Stats:
    """The worker in this process until nothing is due (``--once``)."""
    options.setdefault("poll_interval", 0.05)
    worker = Worker(engine=engine, keep_outcomes=True, **options)
    return asyncio.run(worker.run(once=True))


def events_of(bodies: list[dict[str, Any]]) -> list[str]:
    return [b["type"] for b in bodies]


def find(bodies: list[dict[str, Any]], event: str, resource_id: str) -> dict[str, Any]:
    found = [b for b in bodies if b["type"] == event and b["data"]["id"] == resource_id]
    assert found, f"no {event} for {resource_id} in {json.dumps(bodies)[:2000]}"
    return found[-1]
