#!/usr/bin/env python3
"""Keep a local copy of what a Bangkom integration client may see, and push enrolments.

A starting point for an LMS team: Python 3.11+, httpx, the standard library otherwise.

    export BANGKOM_URL=https://bangkom.example.go.id
    export BANGKOM_CLIENT_ID=cli_...  BANGKOM_CLIENT_SECRET=...
    python examples/lms_sync.py --store lms_copy.sqlite3                # sync, then follow
    python examples/lms_sync.py --enrol coh_01JD3X:198001012005011001   # push an enrolment
    python examples/lms_sync.py --exit-when-idle 30                     # stop when caught up

The client needs the scopes ``catalog:read learners:read enrollments:read`` (and
``enrollments:write`` to push enrolments). What it does:

1. A token with ``client_credentials`` (HTTP Basic), asked again shortly before it expires
   and once more on a 401.
2. First run (or ``--resync``, or a 410 ``cursor_expired``): take the change feed's current
   cursor *first*, then read every list in full (no ``updated_since``; keyset pages through
   the ``Link`` header) into the store. Every change committed after that cursor is in
   the feed after it, so nothing that happens during the full read is lost; what the
   feed repeats is applied again harmlessly (each entry carries the current state).
3. Push the ``--enrol`` enrolments with an ``Idempotency-Key`` derived from (cohort,
   learner): a retry, or a rerun of this script, replays the first answer instead of
   enrolling twice.
4. Follow ``/v1/changes`` from the stored cursor, saving each page's entries and the next
   cursor in one SQLite transaction (a crash resumes where it stopped), polling with
   ``If-None-Match`` when up to date.

Every request honours 429 (``Retry-After``), retries 502/503/504 and network errors with
exponential backoff and jitter (GETs, and POSTs that carry an Idempotency-Key), and never
retries anything else.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx

log = logging.getLogger("lms_sync")
TYPES = ("course", "cohort", "learner", "enrollment")  # what this copy keeps
FEED_PAGE = 1000
RETRIED = {502, 503, 504}
KEY_SPACE = uuid.UUID("6f1c1f9e-4a55-4a8e-9d0e-6c6d5b1f3a10")  # this LMS's keys


class SyncError(RuntimeError):
    """An answer the script cannot recover from (printed, exit status 1)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Api:
    """HTTP with a client_credentials token, rate-limit waits and backoff on failures."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        attempts: int = 8,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=30)
        self.credentials = (client_id, client_secret)
        self.attempts, self.sleep = attempts, sleep
        self.token: str | None = None
        self.renew_at = 0.0

    def _bearer(self) -> str:
        if self.token is None or time.monotonic() >= self.renew_at:
            got = self.request(
                "POST",
                "/v1/auth/token",
                data={"grant_type": "client_credentials"},
                auth=self.credentials,
                authed=False,
                retry=True,  # asking for a token twice does no harm
            )
            if got.status_code != 200:
                raise SyncError(f"no token: {got.status_code} {got.text}")
            answer = got.json()
            lifetime = float(answer["expires_in"])
            self.token = str(answer["access_token"])
            self.renew_at = time.monotonic() + lifetime - min(30.0, lifetime / 5)
        return self.token

    def _wait(self, attempt: int, response: httpx.Response | None) -> None:
        """Retry-After when the server names it, else 0.5 s doubling, capped at 60 s, with
        full jitter (many clients retrying at once do not retry together)."""
        header = response.headers.get("Retry-After") if response is not None else None
        if header is not None and header.isdigit():
            delay = float(header)
        else:
            delay = random.uniform(0, min(60.0, 0.5 * 2**attempt))
        log.info("waiting %.1f s before attempt %d", delay, attempt + 2)
        self.sleep(delay)

    def request(
        self,
        method: str,
        url: str,
        *,
        authed: bool = True,
        retry: bool | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        # a POST is retried after a failure only with an Idempotency-Key: without one, a
        # request that did reach the server would be done twice
        retry = (
            retry if retry is not None else method == "GET" or "Idempotency-Key" in (headers or {})
        )
        renewed = False
        for attempt in range(self.attempts):
            sent = dict(headers or {})
            if authed:
                sent["Authorization"] = f"Bearer {self._bearer()}"
            try:
                response = self.http.request(method, url, headers=sent, **kwargs)
            except httpx.TransportError as exc:
                if not retry:
                    raise SyncError(f"{method} {url}: {exc}") from exc
                log.warning("%s %s: %s", method, url, exc)
                self._wait(attempt, None)
                continue
            status = response.status_code
            if status == 401 and authed and not renewed:  # expired early, or revoked: once
                self.token, renewed = None, True
                continue
            if status == 429 or (status == 409 and _code(response) == "idempotency_in_progress"):
                self._wait(attempt, response)  # nothing was done: always safe to send again
                continue
            if status in RETRIED and retry:
                self._wait(attempt, response)
                continue
            return response
        raise SyncError(f"{method} {url}: gave up after {self.attempts} attempts")

    def pages(self, path: str) -> Iterator[dict[str, Any]]:
        """Every item of a list, following ``Link: rel="next"`` (keyset pages)."""
        url: str | None = path
        params: dict[str, str] | None = {"limit": "200"}
        while url:
            got = self.request("GET", url, params=params)
            _expect(got, 200)
            yield from got.json()["items"]
            url, params = got.links.get("next", {}).get("url"), None


def _code(response: httpx.Response) -> str | None:
    if response.headers.get("Content-Type", "").startswith("application/problem+json"):
        return str(response.json().get("code"))
    return None


def _expect(response: httpx.Response, *statuses: int) -> None:
    if response.status_code not in statuses:
        raise SyncError(
            f"{response.request.method} {response.request.url}: "
            f"{response.status_code} {response.text[:500]}",
            response.status_code,
        )


class Store:
    """The local copy: one row per (type, id) with the resource's JSON, and the cursor."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path)
        self.db.executescript(
            "CREATE TABLE IF NOT EXISTS resource (type TEXT NOT NULL, id TEXT NOT NULL,"
            " data TEXT NOT NULL, PRIMARY KEY (type, id));"
            "CREATE TABLE IF NOT EXISTS sync_state (name TEXT PRIMARY KEY, value TEXT);"
        )

    def put(self, kind: str, item: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO resource VALUES (?, ?, ?) ON CONFLICT (type, id) DO UPDATE"
            " SET data = excluded.data",
            (kind, item["id"], json.dumps(item, sort_keys=True)),
        )

    def drop(self, kind: str, ident: str) -> None:
        self.db.execute("DELETE FROM resource WHERE type = ? AND id = ?", (kind, ident))

    @property
    def cursor(self) -> str | None:
        row = self.db.execute("SELECT value FROM sync_state WHERE name = 'cursor'").fetchone()
        return None if row is None else str(row[0])

    def save_cursor(self, cursor: str) -> None:
        """Commits: the entries applied so far and the cursor after them, together."""
        self.db.execute(
            "INSERT INTO sync_state VALUES ('cursor', ?) ON CONFLICT (name) DO UPDATE"
            " SET value = excluded.value",
            (cursor,),
        )
        self.db.commit()


def feed_head(api: Api) -> str:
    """The feed's cursor now: read to the end of the feed without applying anything."""
    cursor: str | None = None
    while True:
        params = {"types": ",".join(TYPES), "limit": str(FEED_PAGE)}
        got = api.request(
            "GET", "/v1/changes", params=params | ({"after": cursor} if cursor else {})
        )
        _expect(got, 200)
        cursor = str(got.json()["next_cursor"])
        if len(got.json()["items"]) < FEED_PAGE:
            return cursor


def full_sync(api: Api, store: Store) -> None:
    cursor = feed_head(api)  # first: see the module docstring for why
    store.db.execute("DELETE FROM resource")
    counts = dict.fromkeys(TYPES, 0)
    cohorts = []
    for kind, path in (("course", "/v1/courses"), ("cohort", "/v1/cohorts"),
                       ("learner", "/v1/learners")):  # fmt: skip
        for item in api.pages(path):
            store.put(kind, item)
            counts[kind] += 1
            if kind == "cohort":
                cohorts.append(item["id"])
    for cohort_id in cohorts:
        try:
            for item in api.pages(f"/v1/cohorts/{cohort_id}/enrollments"):
                store.put("enrollment", item)
                counts["enrollment"] += 1
        except SyncError as exc:  # another agency's cohort without our learners: 404
            if exc.status != 404:
                raise
    store.save_cursor(cursor)
    say("full sync: " + ", ".join(f"{n} {kind}" for kind, n in counts.items()))


def push_enrolment(api: Api, cohort_id: str, learner_key: str) -> str:
    """Enrol once, however often this runs: the key is the same for the same pair."""
    key = "lms-" + str(uuid.uuid5(KEY_SPACE, f"enrol:{cohort_id}:{learner_key}"))
    got = api.request(
        "POST",
        f"/v1/cohorts/{cohort_id}/enrollments",
        json={"learner_key": learner_key},
        headers={"Idempotency-Key": key},
    )
    replayed = got.headers.get("Idempotent-Replayed") == "true"
    if got.status_code == 201:
        outcome = "replayed" if replayed else "enrolled"
    elif got.status_code == 409 and _code(got) == "duplicate_enrollment":
        outcome = "already enrolled"  # enrolled by someone else, or our key has expired
    else:
        raise SyncError(f"enrolling {learner_key} in {cohort_id}: {got.status_code} {got.text}")
    say(f"enrolment {cohort_id} {learner_key}: {outcome}")
    return outcome


def follow(api: Api, store: Store, *, poll: float, exit_when_idle: float | None) -> None:
    """Apply the feed from the stored cursor; poll when up to date."""
    say(f"following the feed from {store.cursor}")
    idle_since, etag = time.monotonic(), None
    while True:
        params = {"types": ",".join(TYPES), "limit": str(FEED_PAGE)}
        if store.cursor:
            params["after"] = store.cursor
        got = api.request(
            "GET", "/v1/changes", params=params, headers={"If-None-Match": etag} if etag else None
        )
        if got.status_code == 410:  # older than the retention: start over in full
            say("cursor expired: full resync")
            full_sync(api, store)
            etag = None
            continue
        _expect(got, 200, 304)
        items = got.json()["items"] if got.status_code == 200 else []
        for entry in items:
            if entry["data"].get("deleted") is True:
                store.drop(entry["type"], entry["id"])
            else:
                store.put(entry["type"], entry["data"])
        if got.status_code == 200:
            store.save_cursor(got.json()["next_cursor"])
        if items:
            say(f"applied {len(items)} changes")
            idle_since, etag = time.monotonic(), None
            if len(items) == FEED_PAGE:
                continue
        else:
            etag = got.headers.get("ETag")
        if exit_when_idle is not None and time.monotonic() - idle_since >= exit_when_idle:
            say("up to date")
            return
        time.sleep(poll)


def say(line: str) -> None:
    print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--base-url", default=env("BANGKOM_URL", "http://127.0.0.1:8000"))
    p.add_argument("--client-id", default=env("BANGKOM_CLIENT_ID"))
    p.add_argument("--client-secret", default=env("BANGKOM_CLIENT_SECRET"),
                   help="better from BANGKOM_CLIENT_SECRET: arguments show in `ps`")  # fmt: skip
    p.add_argument("--store", default="lms_copy.sqlite3", help="the local SQLite copy")
    p.add_argument("--enrol", action="append", default=[], metavar="COHORT_ID:LEARNER_KEY")
    p.add_argument("--resync", action="store_true", help="read every list again first")
    p.add_argument("--poll", type=float, default=10.0, help="seconds between polls")
    p.add_argument("--exit-when-idle", type=float, default=None, metavar="SECONDS",
                   help="stop after this long without a change (default: follow forever)")  # fmt: skip
    args = p.parse_args(argv)
    if not args.client_id or not args.client_secret:
        p.error("set BANGKOM_CLIENT_ID and BANGKOM_CLIENT_SECRET (or pass them)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    api = Api(args.base_url, args.client_id, args.client_secret)
    store = Store(args.store)
    try:
        if args.resync or store.cursor is None:
            full_sync(api, store)
        for pair in args.enrol:
            cohort_id, _, learner_key = pair.partition(":")
            push_enrolment(api, cohort_id, learner_key)
        follow(api, store, poll=args.poll, exit_when_idle=args.exit_when_idle)
    except SyncError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
