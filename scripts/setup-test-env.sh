#!/usr/bin/env bash
# Test set-up beyond `npm install`, idempotent and quick when everything is already there.
# The services the integration tests talk to (the moto and OpenBao venv, openssh-server, the
# RabbitMQ management plugin) are added here by the issues that bring those tests.
set -euo pipefail
cd "$(dirname "$0")/.."
node -e 'const [major] = process.versions.node.split(".").map(Number);
if (major < 22) { console.error("vor-power needs Node 22 or newer (found " + process.version + "): run npm install first"); process.exit(1); }'
