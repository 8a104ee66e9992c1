#!/usr/bin/env bash
# Installs what the integration tests need beyond cargo: moto's server (PyPI `moto[server]`),
# which the tests start on loopback as a second S3 implementation and as CloudWatch and STS.
#
# Into a virtualenv the tests own, `.test-venv/` at the repository root (override with
# S3META_TEST_VENV): nothing is installed into, or upgraded in, the user's own Python. The
# tests look for `moto_server` there first, then on PATH. Idempotent and quiet: does nothing
# when the pinned version is already in the venv.
set -euo pipefail
cd "$(dirname "$0")/.."
MOTO_VERSION="5.2.5"
VENV="${S3META_TEST_VENV:-$PWD/.test-venv}"

PY="$(command -v python3 || command -v python || true)"
if [ -z "$PY" ]; then
  echo "install-test-deps: python3 is required to install moto (pip install 'moto[server]==$MOTO_VERSION')" >&2
  exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PY" -m venv "$VENV" 2>/dev/null; then
    # Debian's python3 ships venv separately.
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
      apt-get install -y -qq python3-venv >/dev/null
      "$PY" -m venv "$VENV"
    else
      echo "install-test-deps: cannot create a virtualenv at $VENV (on Debian: apt-get install python3-venv)" >&2
      exit 1
    fi
  fi
fi

installed="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null || true)"
if [ "$installed" != "$MOTO_VERSION" ] || [ ! -x "$VENV/bin/moto_server" ] \
   || ! "$VENV/bin/python" -c 'import flask, flask_cors' >/dev/null 2>&1; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi
[ -x "$VENV/bin/moto_server" ] || { echo "install-test-deps: moto_server missing from $VENV/bin" >&2; exit 1; }
