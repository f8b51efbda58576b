#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed for the console's browser tests
# (core/web, driven with chromedp), and a font for Chinese, the console's
# first language, so that its pages and docs/img/console-rollout.png render
# as operators see them rather than as empty boxes. Idempotent, and quick
# when both are there.
set -euo pipefail

font=fonts-wqy-microhei

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
installed "$font" || need+=("$font")

if [ ${#need[@]} -eq 0 ]; then
  echo "chromium: $(command -v chromium)"
  exit 0
fi

echo "chromium: installing ${need[*]} from Debian packages"
as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
echo "chromium: $(dpkg-query -W -f='${Version}' chromium) at $(command -v chromium)"
