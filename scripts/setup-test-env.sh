#!/usr/bin/env bash
# Test set-up beyond `npm install`, idempotent and quick when everything is already there.
# The services the integration tests talk to (the moto and OpenBao venv, openssh-server, the
# RabbitMQ management plugin) are added here by the issues that bring those tests.
set -euo pipefail
cd "$(dirname "$0")/.."
node -e 'const [major] = process.versions.node.split(".").map(Number);
if (major < 22) { console.error("vor-power needs Node 22 or newer (found " + process.version + "): run npm install first"); process.exit(1); }'

# --- Browser for test/integration/report-browser.test.ts -------------------------------------
# The simulator's HTML report is opened in Debian's chromium through playwright-core (which
# downloads no browser of its own). Refresh the package lists only when chromium is missing, so a
# machine that already has it pays one dpkg query. CI runs this as root; elsewhere use sudo.
if ! dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q "install ok installed"; then
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update
  $sudo_cmd apt-get install -y chromium
fi
