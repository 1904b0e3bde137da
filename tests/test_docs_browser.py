"""Swagger UI and ReDoc render in a real headless Chromium, from assets the app serves.

The operations are not in the HTML pages: they only appear in the DOM once the page's
JavaScript has fetched /openapi.json and rendered it, so these tests fail if the
assets are missing, blocked or fetched from a CDN (the machine has no internet).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(
            "chromium is not installed: CI must run the browser tests (scripts/chromium.sh)"
        )
    pytest.skip("chromium is not installed: run scripts/chromium.sh (make test does)")


def _dump_dom(url: str, profile: Path) -> str:
    """The DOM after the page's scripts ran (virtual time runs until the page is idle)."""
    command = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=15000",
        "--dump-dom",
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _external_assets(html: str) -> list[str]:
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    return [r for r in refs if re.match(r"(?i)^(https?:)?//", r)]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_no_asset_from_another_host(live_server: str, page: str) -> None:
    html = httpx.get(live_server + page, timeout=10).text
    assert "/static/docs/" in html
    assert _external_assets(html) == []


def test_swagger_ui_renders_the_health_operations(live_server: str, tmp_path: Path) -> None:
    dom = _dump_dom(live_server + "/docs", tmp_path)
    operations = set(re.findall(r'id="operations-[^"]*?-(health-[a-z]+)"', dom))
    assert {"health-live", "health-ready"} <= operations, dom[-3000:]
    assert 'class="opblock-summary-operation-id"' in dom  # displayOperationId is on


def test_redoc_renders_the_health_operation_titles(live_server: str, tmp_path: Path) -> None:
    dom = _dump_dom(live_server + "/redoc", tmp_path)
    assert "The process is up" in dom, dom[-3000:]
    assert "The service can reach its database" in dom
