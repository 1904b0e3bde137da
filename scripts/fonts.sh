#!/usr/bin/env bash
# Install the DejaVu fonts that certificate PDFs embed (Debian's fonts-dejavu-core), if missing.
# The service looks in BANGKOM_CERTIFICATE_FONT_DIR (default /usr/share/fonts/truetype/dejavu);
# without them GET /v1/certificates/{id}.pdf answers 503 certificate_font_missing.
set -euo pipefail
dir="${BANGKOM_CERTIFICATE_FONT_DIR:-/usr/share/fonts/truetype/dejavu}"
[ -f "$dir/DejaVuSans.ttf" ] && [ -f "$dir/DejaVuSans-Bold.ttf" ] && exit 0
if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null 2>&1; then
  echo "DejaVu fonts are missing and we are not root: certificate PDFs will answer 503" >&2
  exit 1
fi
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
echo "installing fonts-dejavu-core from Debian's packages..." >&2
as_root apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq fonts-dejavu-core >&2
