#!/usr/bin/env bash
# Install headless Chromium from Debian's packages for the browser tests (if missing).
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null 2>&1; then
  echo "chromium is missing and we are not root: browser tests will be skipped" >&2
  exit 0
fi
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
echo "installing chromium from Debian's packages..." >&2
as_root apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium chromium-driver >&2
