"""Bangkom: JSON API for Indonesian civil-service competency development."""

import sys

__version__ = "0.1.0"

# httpx (webhooks, outbound calls) imports its command-line client when rich and pygments
# are installed, as they are in the dev environment: 5 MB of every worker's resident memory
# for a program the service never runs (bench/scale.py's idle worker RSS). Refused here,
# before anything imports httpx; ``python -m httpx`` in another process is unaffected.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
