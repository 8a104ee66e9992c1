#!/usr/bin/env bash
# Installs the Python reference (openmetadata-ingestion 2.0.7.0, the connector s3meta replaces)
# and moto 5.2.5 into a venv, for side-by-side benchmarks (bench/run.sh) and the
# compatibility check (scripts/reference-compat.sh). A plain `pip install
# openmetadata-ingestion[s3]` does not resolve offline-friendly, and its `s3` extra lacks
# s3fs, so this pinned list (requirements.txt beside this script, our own copy) is installed
# with --no-deps: about 1 GiB, about a minute. Needs python3 (3.11) with venv.
# usage: scripts/reference/setup.sh [VENV]   (default: $S3META_REFERENCE_VENV, else
#        $XDG_CACHE_HOME or ~/.cache, then s3meta-reference/venv)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
VENV=${1:-${S3META_REFERENCE_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/s3meta-reference/venv}}
if "$VENV/bin/metadata" --version >/dev/null 2>&1 && [ -x "$VENV/bin/moto_server" ]; then
  echo "reference venv ready: $VENV"; exit 0
fi
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q --no-deps -r "$here/requirements.txt"
"$VENV/bin/metadata" --version
