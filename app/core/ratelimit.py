"""Rate limits per integration client, with the ``limits`` library (moving window).

Each client may make ``rate_limit_default_per_minute`` requests a minute (600), or its own
``rate_limit_per_minute``. Every answer to a client token carries ``RateLimit-Limit``,
``RateLimit-Remaining`` and ``RateLimit-Reset`` (seconds until a request frees up, the
IETF httpapi draft's fields); past the limit the answer is 429 with ``Retry-After``.

Storage: ``memory://`` by default, exact with one worker process; with N workers each
keeps its own count, so a client may get up to N times its limit. ``BANGKOM_RATE_LIMIT_STORAGE``
naming a Redis server (``redis://host:6379/0``) shares one count between workers and
hosts. If that storage fails, requests are let through (logged): the limiter protects
the service and must never be the reason it is down.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from functools import lru_cache

import anyio.to_thread
from limits import RateLimitItemPerMinute
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.config import get_settings
from app.core.errors import ProblemError

log = logging.getLogger("bangkom.ratelimit")
STATE_KEY = "ratelimit"


@dataclass(frozen=True)
class Quota:
    limit: int
    remaining: int
    reset: int  # seconds

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }


@lru_cache(maxsize=4)
def _limiter(uri: str) -> MovingWindowRateLimiter:
    options = {"socket_timeout": 1, "socket_connect_timeout": 1} if uri.startswith("redis") else {}
    storage = storage_from_string(uri, **options)
    assert isinstance(storage, Storage), "an async storage URI; use memory:// or redis://"
    return MovingWindowRateLimiter(storage)


@lru_cache(maxsize=1024)
def _item(per_minute: int) -> RateLimitItemPerMinute:
    return RateLimitItemPerMinute(per_minute)


def hit(key: str, per_minute: int | None, *, storage_uri: str | None = None) -> Quota | None:
    """Count one request of ``key``: its quota, or 429 past the limit (None: storage down)."""
    settings = get_settings()
    limit = per_minute or settings.rate_limit_default_per_minute
    limiter = _limiter(storage_uri or settings.rate_limit_storage)
    item = _item(limit)
    try:
        allowed = limiter.hit(item, "client", key)
        stats = limiter.get_window_stats(item, "client", key)
    except Exception:  # a storage outage: let the request through
        log.exception("rate limit storage failed; request let through")
        return None
    reset = max(0, math.ceil(stats.reset_time - time.time()))
    quota = Quota(limit, stats.remaining, reset)
    if not allowed:
        wait = max(1, reset)
        raise ProblemError(
            429,
            "rate_limited",
            f"This client made more than {limit} requests in a minute; retry in {wait} seconds.",
            detail_id=f"Klien ini membuat lebih dari {limit} permintaan dalam satu menit; "
            f"coba lagi dalam {wait} detik.",
            headers={"Retry-After": str(wait), **quota.headers()},
        )
    return quota


async def hit_async(key: str, per_minute: int | None) -> Quota | None:
    """``hit`` from the event loop: in memory right here (~17 us), over the network
    (Redis, ~280 us a request on loopback: two round trips) in a worker thread, so a slow
    Redis never stalls the other requests."""
    if get_settings().rate_limit_storage.startswith("memory://"):
        return hit(key, per_minute)
    return await anyio.to_thread.run_sync(hit, key, per_minute)


class RateLimitHeadersMiddleware:
    """Adds the RateLimit-* fields of the request's quota (set by app/deps.py) to the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                quota = scope.get("state", {}).get(STATE_KEY)
                if quota is not None:
                    names = {k.lower() for k, _ in message.get("headers", [])}
                    extra = [
                        (k.lower().encode(), v.encode())
                        for k, v in quota.headers().items()
                        if k.lower().encode() not in names
                    ]
                    message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_wrapper)
