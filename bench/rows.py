"""What `make bench` measures: servers, setup hooks and rows, declared as data.

Add a row by appending a ``Row`` to ``ROWS``. ``path`` and header values are
``str.format`` templates filled from the variables that setup hooks publish
(``ctx.vars``), e.g. ``"/v1/courses/{course_id}"`` with
``{"Authorization": "Bearer {token}"}`` and ``setup=("course_and_token",)``.
A row may name another row as its ``baseline``; the table then shows its
req/s ratio to that row (e.g. Bangkom's endpoint vs a naive tutorial endpoint).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

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
    engine: str = "sqlite"  # the database its server reads: "sqlite" or "postgresql"
    reads_db: bool = True  # False: the same row on every engine would measure nothing new
    script: str | None = None  # a Lua file in bench/ that builds each request (bodies)
    check_body: str | None = None  # the body of the one request check_row sends
    # wrk connections when not the run's (-c64): a row whose answer takes a second would
    # queue 64 requests, time every one out and starve the rows after it on that server
    connections: int | None = None


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

HEALTH_LIVE = "GET /health/live"
ONE_COURSE = "GET /v1/courses/{id} with token"
NOT_MODIFIED = "GET /v1/courses/{id} If-None-Match (304)"
NAIVE_ONE = "naive GET one course (tutorial style)"
NAIVE_LIST = "naive GET 50 courses (tutorial style)"
VERIFY = "GET /verify/{code} (JSON, public)"
COURSE_PAGE = "GET /v1/courses?limit=50"
ENROL_ONE = "POST /v1/cohorts/{id}/enrollments (new learner each)"
_AUTH = {"Authorization": "Bearer {token}"}
# check_row's learner: CPNS start 2010, outside enrol.lua's 2020-2025, so never a duplicate
_CHECK_LEARNER = (
    '{"learner_key":"198001012010011001","learner":{"asn_type":"pns","name":"Peserta Cek",'
    '"position_type":"pelaksana","rank":"III/a"}}'
)

ROWS: list[Row] = [
    Row(RAW_CEILING, "/", server="raw", reads_db=False),
    Row(FASTAPI_CEILING, "/hello", server="fastapi", reads_db=False),
    Row(HEALTH_LIVE, "/health/live", reads_db=False),
    Row("GET /health/ready (SELECT 1)", "/health/ready"),
    # Catalogue (issue 4): each against a naive tutorial-style endpoint on the same data.
    Row(NAIVE_ONE, "/naive/courses/{course_id}", server="naive", setup=("catalogue",)),
    Row(
        ONE_COURSE,
        "/v1/courses/{course_id}",
        headers=_AUTH,
        setup=("catalogue",),
        baseline=NAIVE_ONE,
    ),
    Row(
        NOT_MODIFIED,
        "/v1/courses/{course_id}",
        headers={**_AUTH, "If-None-Match": "{course_etag}"},
        expect_status=304,
        setup=("catalogue",),
        baseline=NAIVE_ONE,
    ),
    Row(NAIVE_LIST, "/naive/courses?limit=50", server="naive", setup=("catalogue",)),
    Row(
        COURSE_PAGE,
        "/v1/courses?limit=50",
        setup=("catalogue",),
        baseline=NAIVE_LIST,
    ),
    # Certificates (issue 9): the public check behind a certificate's QR code.
    Row(VERIFY, "/verify/{verify_code}", setup=("certificates",)),
    # Enrolment (issue 8): one learner a request, upserted and enrolled in one transaction
    # into a cohort with no capacity bound (every request takes the cohort row lock); a
    # roster page of a 2,000-learner cohort.
    Row(
        ENROL_ONE,
        "/v1/cohorts/{enrol_cohort_id}/enrollments",
        method="POST",
        headers={**_AUTH, "Content-Type": "application/json"},
        expect_status=201,
        setup=("enrolment",),
        script="enrol.lua",
        check_body=_CHECK_LEARNER,
    ),
    Row(
        "GET /v1/cohorts/{id}/enrollments?limit=50 (roster page)",
        "/v1/cohorts/{roster_cohort_id}/enrollments?limit=50",
        headers=_AUTH,
        setup=("enrolment",),
    ),
    # Delta sync (issue 10): a page of 1,000 change-feed entries (course upserts, each with
    # the course as its GET shows it) from a cursor with 2,000 after it, and the course
    # list's updated_since (the newest 200 of 2,000 changed) beside the plain first page.
    Row(
        "GET /v1/changes?limit=1000 (1,000 entries, wrk -c4)",
        "/v1/changes?after={feed_cursor}&limit=1000",
        headers=_AUTH,
        setup=("change_feed",),
        connections=4,  # a catching-up client reads pages one after another, not 64 at once
    ),
    Row(
        "GET /v1/courses?updated_since=...&limit=50",
        "/v1/courses?updated_since={courses_since}&limit=50",
        headers=_AUTH,
        setup=("change_feed",),
        baseline=COURSE_PAGE,
    ),
]

ENGINES = ("sqlite", "postgresql")
ENGINE_LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def on_engine(name: str, engine: str) -> str:
    """A row's name on another engine: ``GET /health/ready (SELECT 1) [PostgreSQL]``."""
    return name if engine == "sqlite" else f"{name} [{ENGINE_LABELS[engine]}]"


def _twin(row: Row, engine: str) -> Row:
    baseline = on_engine(row.baseline, engine) if row.baseline else None
    return replace(row, name=on_engine(row.name, engine), engine=engine, baseline=baseline)


# Every row that reads the database runs again against the local PostgreSQL server
# (scripts/postgres.sh, database bangkom_bench): same servers, same data, same rows.
ROWS += [_twin(r, "postgresql") for r in ROWS if r.reads_db]


@dataclass(frozen=True)
class Target:
    """A goal checked in every run, as a ratio between rows of that run."""

    text: str
    row: str
    measure: str  # "p99/p50", "p99/ceiling p99", "rps/ceiling rps"
    limit: float
    at_most: bool = True


def targets(engines: tuple[str, ...]) -> list[Target]:
    """The issue's goals: every Bangkom read row's p99 at most 3x its own p50 (on every
    engine); /health/live's p99 at most 2x the FastAPI ceiling's; the 304 row at least
    0.45 of the FastAPI ceiling's req/s (on every engine)."""
    found = [Target("p99 <= 2x FastAPI ceiling p99", HEALTH_LIVE, "p99/ceiling p99", 2.0)]
    for engine in engines:
        found.append(
            Target(
                ">= 0.45x FastAPI ceiling req/s",
                on_engine(NOT_MODIFIED, engine),
                "rps/ceiling rps",
                0.45,
                at_most=False,
            )
        )
    for r in ROWS:
        if r.server == "bangkom" and r.method == "GET" and r.engine in engines:
            found.append(Target("p99 <= 3x own p50", r.name, "p99/p50", 3.0))
    return found


SETUPS: dict[str, setups.Setup] = {
    "bearer_token": setups.bearer_token,
    "catalogue": setups.catalogue,
    "certificates": setups.certificates,
    "enrolment": setups.enrolment,
    "change_feed": setups.change_feed,
}
