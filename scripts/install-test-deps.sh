#!/usr/bin/env bash
# Installs what the integration tests need beyond cargo: moto's server (PyPI `moto[server]`),
# which the tests start on loopback as a second S3 implementation and as CloudWatch and STS.
# Idempotent and quiet: does nothing when the pinned version is already installed.
set -euo pipefail
MOTO_VERSION="5.2.5"

PY="$(command -v python3 || command -v python || true)"
if [ -z "$PY" ]; then
  echo "install-test-deps: python3 is required to install moto (pip install 'moto[server]==$MOTO_VERSION')" >&2
  exit 1
fi

installed="$("$PY" -c 'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null || true)"
if [ "$installed" != "$MOTO_VERSION" ] || ! command -v moto_server >/dev/null 2>&1 \
   || ! "$PY" -c 'import flask, flask_cors' >/dev/null 2>&1; then
  # --user when not root and outside a virtualenv, so that no sudo is needed.
  user_flag=""
  if [ "$(id -u)" != "0" ] && [ -z "${VIRTUAL_ENV:-}" ]; then
    user_flag="--user"
  fi
  "$PY" -m pip install --quiet --disable-pip-version-check $user_flag "moto[server]==$MOTO_VERSION" \
    || "$PY" -m pip install --quiet --disable-pip-version-check --break-system-packages $user_flag "moto[server]==$MOTO_VERSION"
  hash -r
fi

if ! command -v moto_server >/dev/null 2>&1; then
  echo "install-test-deps: moto installed but moto_server is not on PATH; add $("$PY" -m site --user-base)/bin to PATH" >&2
  exit 1
fi
