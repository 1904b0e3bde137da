"""What `make bench` measures: servers, setup hooks and rows, declared as data.

Add a row by appending a ``Row`` to ``ROWS``. ``path`` and header values are
``str.format`` templates filled from the variables that setup hooks publish
(``ctx.vars``), e.g. ``"/v1/courses/{course_id}"`` with
``{"Authorization": "Bearer {token}"}`` and ``setup=("course_and_token",)``.
A row may name another row as its ``baseline``; the table then shows its
req/s ratio to that row (e.g. Bangkom's endpoint vs a naive tutorial endpoint).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench import setups


@dataclass(frozen=True)
class Server:
    """A process to start once per run. ``bangkom`` runs the real CLI (`bangkom serve`)."""

    name: str
    app: str | None = None  # uvicorn import string; None = the Bangkom service itself
    factory: bool = False
    ready_path: str = "/"


@dataclass(frozen=True)
class Row:
    name: str
    path: str
    server: str = "bangkom"
    headers: dict[str, str] = field(default_factory=dict)
    expect_status: int = 200
    setup: tuple[str, ...] = ()  # names in SETUPS, run once before the servers start
    baseline: str | None = None  # name of another row
    method: str = "GET"


SERVERS: dict[str, Server] = {
    s.name: s
    for s in (
        Server("raw", app="bench.ceilings:raw_app"),
        Server("fastapi", app="bench.ceilings:hello_app", ready_path="/hello"),
        Server("bangkom", ready_path="/health/live"),
        Server("naive", app="bench.naive:app", ready_path="/naive/courses?limit=1"),
    )
}

# The two ceilings; every row's req/s is divided by theirs.
RAW_CEILING = "raw ASGI, fixed JSON"
FASTAPI_CEILING = "FastAPI async def, dict"

NAIVE_ONE = "naive GET one course (tutorial style)"
NAIVE_LIST = "naive GET 50 courses (tutorial style)"
_AUTH = {"Authorization": "Bearer {token}"}

ROWS: list[Row] = [
    Row(RAW_CEILING, "/", server="raw"),
    Row(FASTAPI_CEILING, "/hello", server="fastapi"),
    Row("GET /health/live", "/health/live"),
    Row("GET /health/ready (SQLite SELECT 1)", "/health/ready"),
    # Catalogue (issue 4): each against a naive tutorial-style endpoint on the same data.
    Row(NAIVE_ONE, "/naive/courses/{course_id}", server="naive", setup=("catalogue",)),
    Row(
        "GET /v1/courses/{id} with token",
        "/v1/courses/{course_id}",
        headers=_AUTH,
        setup=("catalogue",),
        baseline=NAIVE_ONE,
    ),
    Row(
        "GET /v1/courses/{id} If-None-Match (304)",
        "/v1/courses/{course_id}",
        headers={**_AUTH, "If-None-Match": "{course_etag}"},
        expect_status=304,
        setup=("catalogue",),
        baseline=NAIVE_ONE,
    ),
    Row(NAIVE_LIST, "/naive/courses?limit=50", server="naive", setup=("catalogue",)),
    Row(
        "GET /v1/courses?limit=50",
        "/v1/courses?limit=50",
        setup=("catalogue",),
        baseline=NAIVE_LIST,
    ),
]

SETUPS: dict[str, setups.Setup] = {
    "bearer_token": setups.bearer_token,
    "catalogue": setups.catalogue,
}
