"""examples/lms_sync.py, the integrator's starting point, run as a subprocess against the
live server with a real integration client: its local copy equals what the API lists, also
after changes made while it follows the feed; its enrolment push enrols once however often
it runs; its HTTP layer waits out 429 and 503."""

from __future__ import annotations

import importlib.util
import json
import queue
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from tests.factories import (
    auth_headers,
    course_payload,
    enrol,
    make_agency,
    make_learner,
    make_open_cohort,
    make_published_course,
    make_user,
)

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "lms_sync.py"
SCOPES = ["catalog:read", "learners:read", "enrollments:read", "enrollments:write"]
TYPES = {"course": "/v1/courses", "cohort": "/v1/cohorts", "learner": "/v1/learners"}


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lms_sync", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Run:
    """The script in a child process; its stdout lines arrive on a queue."""

    def __init__(self, base: str, client: dict[str, Any], store: Path, *args: str) -> None:
        env = {"BANGKOM_URL": base, "BANGKOM_CLIENT_ID": client["client_id"],
               "BANGKOM_CLIENT_SECRET": client["client_secret"], "PATH": "/usr/bin:/bin"}  # fmt: skip
        self.proc = subprocess.Popen(
            [sys.executable, str(SCRIPT), "--store", str(store), "--poll", "0.2", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, start: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                assert self.proc.poll() is None, self.finish()
                continue
            self.seen.append(line)
            if line.startswith(start):
                return line
        raise AssertionError(f"no line starting {start!r}; saw {self.seen}")

    def finish(self, timeout: float = 60) -> str:
        try:
            self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        err = self.proc.stderr.read() if self.proc.stderr else ""
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        assert self.proc.returncode == 0, (self.proc.returncode, self.seen, err[-3000:])
        return err


def _copy(store: Path) -> dict[str, dict[str, Any]]:
    with sqlite3.connect(store) as db:
        rows = db.execute("SELECT type, id, data FROM resource").fetchall()
    out: dict[str, dict[str, Any]] = {}
    for kind, ident, data in rows:
        out.setdefault(kind, {})[ident] = json.loads(data)
    return out


def _listed(http: httpx.Client, path: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    url: str | None = path
    while url:
        page = http.get(url, params={"limit": "100"} if url == path else None)
        assert page.status_code == 200, page.text
        found.update({i["id"]: i for i in page.json()["items"]})
        url = page.links.get("next", {}).get("url")
    return found


def _server_view(base: str, client: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What the API lists to the same client, type by type."""
    token = httpx.post(
        f"{base}/v1/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]),
    ).json()["access_token"]
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as http:
        view = {kind: _listed(http, path) for kind, path in TYPES.items()}
        view["enrollment"] = {}
        for cohort_id in view["cohort"]:
            view["enrollment"] |= _listed(http, f"/v1/cohorts/{cohort_id}/enrollments")
    return view


@pytest.mark.slow
def test_the_example_keeps_an_exact_copy_and_enrols_once(
    client: TestClient, session: Session, live_server: str, tmp_path: Path
) -> None:
    agency = make_agency(session)
    admin = auth_headers(make_user(session, agency, "agency_admin"))
    session.commit()
    course = make_published_course(client, admin)
    cohort = make_open_cohort(client, admin, course["id"])
    keys = [make_learner(client, admin)["learner_key"] for _ in range(4)]
    first = [enrol(client, admin, cohort["id"], k) for k in keys[:2]]
    made = client.post("/v1/clients", json={"name": "LMS", "scopes": SCOPES}, headers=admin)
    assert made.status_code == 201, made.text
    lms = made.json()
    store = tmp_path / "copy.sqlite3"

    run = Run(live_server, lms, store, "--enrol", f"{cohort['id']}:{keys[2]}",
              "--exit-when-idle", "3")  # fmt: skip
    assert run.wait_for("full sync:") == "full sync: 1 course, 1 cohort, 4 learner, 2 enrollment"
    assert run.wait_for("enrolment") == f"enrolment {cohort['id']} {keys[2]}: enrolled"
    run.wait_for("following the feed")
    # changes while the script follows the feed
    with httpx.Client(base_url=live_server, headers=admin) as http:
        assert http.patch(f"/v1/courses/{course['id']}", json={"summary": "Baru"}).is_success
        assert http.post("/v1/courses", json=course_payload()).status_code == 201
        withdrawn = http.post(f"/v1/enrollments/{first[0]['id']}/transitions",
                              json={"to": "withdrawn", "reason": "Mutasi"})  # fmt: skip
        assert withdrawn.status_code == 200, withdrawn.text
        late = http.post(f"/v1/cohorts/{cohort['id']}/enrollments", json={"learner_key": keys[3]})
        assert late.status_code == 201, late.text
        assert http.patch(f"/v1/learners/{keys[0]}", json={"work_unit": "Umum"}).is_success
    run.wait_for("up to date")
    run.finish()

    view = _server_view(live_server, lms)
    assert _copy(store) == view
    assert len(view["course"]) == 2 and len(view["enrollment"]) == 4
    assert view["course"][course["id"]]["summary"] == "Baru"

    # again, resuming from the stored cursor: the same push enrols nobody twice
    again = Run(live_server, lms, store, "--enrol", f"{cohort['id']}:{keys[2]}",
                "--exit-when-idle", "1")  # fmt: skip
    assert again.wait_for("enrolment") == f"enrolment {cohort['id']} {keys[2]}: replayed"
    again.wait_for("up to date")
    again.finish()
    assert not any(line.startswith("full sync") for line in again.seen)
    assert _copy(store) == _server_view(live_server, lms)


@pytest.fixture
def flaky_server() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on 127.0.0.1: a token, then 429 (Retry-After: 1), 503, 200."""
    seen: list[str] = []
    answers = [(429, {"Retry-After": "1"}), (503, {}), (200, {})]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, headers: dict[str, str], body: dict[str, Any]) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            for name, value in {**headers, "Content-Type": "application/json"}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen.append("token")
            self._send(200, {}, {"access_token": "t", "token_type": "bearer", "expires_in": 900})

        def do_GET(self) -> None:
            status, headers = answers.pop(0)
            seen.append(f"{status} {self.headers.get('Authorization')}")
            self._send(status, headers, {"items": [], "next_cursor": None})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


def test_the_example_waits_out_429_and_503(flaky_server: tuple[str, list[str]]) -> None:
    base, seen = flaky_server
    waits: list[float] = []
    api = _script().Api(base, "cli_x", "rahasia", sleep=waits.append)
    got = api.request("GET", "/v1/courses")
    assert got.status_code == 200
    assert seen == ["token", "429 Bearer t", "503 Bearer t", "200 Bearer t"]
    assert waits[0] == 1.0 and 0 <= waits[1] <= 1.0  # Retry-After, then jittered backoff
