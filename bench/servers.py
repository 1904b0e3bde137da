"""Start and stop the servers under test: uvicorn (uvloop + httptools) on free
127.0.0.1 ports, stopped at the end of the run whatever happens."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.rows import Server

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Running:
    def __init__(
        self,
        server: Server,
        workers: int,
        env: dict[str, str],
        logdir: Path,
        *,
        label: str = "",
    ) -> None:
        self.server = server
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        if server.app is None:  # the service itself, exactly as `bangkom serve` runs it
            cmd = [sys.executable, "-m", "app.cli", "serve", "--host", HOST]
            cmd += ["--port", str(self.port), "--workers", str(workers)]
        else:
            cmd = [sys.executable, "-m", "uvicorn", server.app, "--host", HOST]
            cmd += ["--port", str(self.port), "--workers", str(workers)]
            cmd += ["--loop", "uvloop", "--http", "httptools", "--no-access-log"]
            cmd += ["--no-server-header", "--log-level", "warning"]
            if server.factory:
                cmd.append("--factory")
        # A file, not a pipe: a full pipe would block the server mid-run.
        self.log_path = logdir / f"{server.name}-{label or 'default'}.log"
        self.log = self.log_path.open("wb")
        # Own process group, so stop() also ends uvicorn's worker processes.
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.log_path.read_text(errors="replace")[-4000:]
                raise RuntimeError(f"server {self.server.name!r} exited:\n{err}")
            try:
                if httpx.get(self.base + self.server.ready_path, timeout=1).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server {self.server.name!r} did not start in {timeout:.0f} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)
        self.log.close()
