#!/usr/bin/env bash
# Install headless Chromium and its WebDriver from Debian for the kedro-viz browser check.
#
# Idempotent: a quick no-op when /usr/bin/chromium and /usr/bin/chromedriver already exist.
# Needs root (or passwordless sudo). Used by .ci/run before pytest and by
# scripts/viz_browser_check.py / tests/test_viz_browser.py. Nothing is downloaded at test time:
# selenium drives /usr/bin/chromedriver directly.
set -euo pipefail

if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
    echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo '?')"
    exit 0
fi

SUDO=""
if [[ "$(id -u)" != "0" ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install_chromium.sh: need root or sudo to apt-get install chromium chromium-driver" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-liberation >/dev/null

if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
    echo "install_chromium.sh: apt-get finished but /usr/bin/chromium or /usr/bin/chromedriver is missing" >&2
    exit 1
fi
echo "installed: $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
