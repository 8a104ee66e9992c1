#!/usr/bin/env bash
# s3meta vs the Python reference (openmetadata-ingestion 2.0.7.0), side by side: one moto
# server on loopback, the medium lake (20 buckets x 20 entries x 10 files), each tool sinking
# to its own om-test-server. Prints wall time (median of N runs), peak RSS, S3/CloudWatch
# requests, bytes read, containers produced, the ratios and the FQNs that differ.
#
# usage: bench/run.sh [--runs N] [--large] [--skip-reference] [--workdir DIR]
#   --large   opt-in: s3meta alone on a 100,000-object prefix written straight into an
#             s3s-fs directory (seeding moto with that many objects takes over ten minutes)
#
# The reference and moto come from a venv at $S3META_REFERENCE_VENV (default
# ~/.cache/s3meta-reference/venv). When it is missing, this script runs
# scripts/reference/setup.sh (our own copy of the pinned install).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${S3META_REFERENCE_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/s3meta-reference/venv}
WORKDIR=target/bench-run
args=()
large=0
while [ $# -gt 0 ]; do
  case "$1" in
    --workdir) WORKDIR=$2; shift 2 ;;
    --large) large=1; args+=("$1"); shift ;;
    *) args+=("$1"); shift ;;
  esac
done

if ! { "$VENV/bin/metadata" --version && [ -x "$VENV/bin/moto_server" ]; } >/dev/null 2>&1; then
  scripts/reference/setup.sh "$VENV"
fi

cargo build --release -p s3meta -p om-test-server
serve_dir=()
if [ "$large" = 1 ]; then
  cargo build --release --example serve_dir
  serve_dir=(--serve-dir target/release/examples/serve_dir)
fi
mkdir -p "$WORKDIR"
exec "$VENV/bin/python" bench/bench.py \
  --s3meta target/release/s3meta \
  --om-server target/release/om-test-server \
  "${serve_dir[@]}" \
  --workdir "$WORKDIR" \
  "${args[@]}"
