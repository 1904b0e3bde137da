"""One worker's memory is a target (issue 11: peak RSS under 150 MB during a 10,000-row
bulk import). Libraries only some requests need stay out of a worker until one does."""

import subprocess
import sys


def test_an_api_worker_does_not_load_the_outbound_http_client() -> None:
    code = "import sys, app.main; print('httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr[-2000:]
