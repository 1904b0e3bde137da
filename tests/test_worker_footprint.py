"""One worker's memory is a target (issue 11: peak RSS under 150 MB during a 10,000-row
bulk import). Libraries only some requests need stay out of a worker until one does."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "httpx",  # the outbound client: only a webhook subscription's URL check needs it
        "segno",  # QR codes: only a certificate's PDF or QR image needs it
        "openpyxl",  # only an XLSX roster needs it
    ],
)
def test_an_api_worker_does_not_load_what_few_requests_need(module: str) -> None:
    code = f"import sys, app.main; print({module!r} in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr[-2000:]
