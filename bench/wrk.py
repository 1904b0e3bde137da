"""Drive a URL with wrk on 127.0.0.1 and read req/s, p50 and p99 from report.lua."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPORTER = Path(__file__).with_name("report.lua")


@dataclass(frozen=True)
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # socket errors and timeouts
    bad_status: int  # responses with HTTP status >= 400


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("wrk is missing: install the Debian package `wrk` (apt-get install wrk)")
    print("installing wrk from Debian's packages...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("could not install wrk")
    return found


def run(
    wrk: str,
    url: str,
    *,
    headers: dict[str, str],
    seconds: float,
    connections: int,
    threads: int,
    script: str | None = None,
    script_args: tuple[str, ...] = (),
) -> Result:
    """``script``: a Lua file in bench/ that makes the requests (e.g. a POST body per
    request); wrk takes one script, so it runs with report.lua appended."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"the bench only drives 127.0.0.1, not {url}")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-") as lua:
        source = REPORTER.read_text()
        if script is not None:
            source = REPORTER.with_name(script).read_text() + "\n" + source
        lua.write(source)
        lua.flush()
        cmd = [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
        cmd += ["--timeout", "5s", "--latency", "-s", lua.name]
        for name, value in headers.items():
            cmd += ["-H", f"{name}: {value}"]
        cmd.append(url)
        if script_args:
            cmd += ["--", *script_args]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr or out.stdout}")
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_RESULT ")), None)
    if line is None:
        raise RuntimeError(f"no result line in wrk output:\n{out.stdout}")
    data = json.loads(line.removeprefix("BENCH_RESULT "))
    errors = sum(data[k] for k in ("connect", "read", "write", "timeout"))
    return Result(
        rps=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=errors,
        bad_status=data["status"],
    )


def version(wrk: str) -> str:
    out = subprocess.run([wrk, "-v"], capture_output=True, text=True)
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else "?"
