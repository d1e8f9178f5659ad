#!/usr/bin/env bash
# Debian packages the test suite needs beyond Python: pdftoppm (report pages to images),
# Chromium (browser tests of the portal) and an Urdu font (narratives in pages and the report). Installed only when missing.
set -euo pipefail
missing=()
command -v pdftoppm >/dev/null || missing+=(poppler-utils)
command -v chromium >/dev/null || missing+=(chromium)
# Urdu narratives (form v2) in pages and report PDFs: DejaVu lacks Urdu letters such as U+06C1 (heh goal).
fc-list 2>/dev/null | grep -qi "PakType Naskh" || missing+=(fonts-paktype)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "Please install: ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "Installing Debian packages: ${missing[*]} ..."
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
