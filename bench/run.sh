#!/usr/bin/env bash
# s3meta vs the Python reference (openmetadata-ingestion 2.0.7.0), side by side: one S3
# server on loopback (moto, or bench-s3 with latency), the medium lake (20 buckets x 20
# entries x 10 files), each tool sinking to its own om-test-server. Prints wall time (median
# of N runs), peak RSS, S3/CloudWatch requests, bytes read, containers produced, the ratios
# and the FQNs that differ.
#
# usage: bench/run.sh [--runs N] [--skip-reference] [--workdir DIR]
#                     [--s3-latency-ms N] [--om-latency-ms N] [--tuned] [--reference-runs N]
#                     [--server moto|bench-s3] [--slowdown-rps N] [--large] [--million]
#                     [--tuned-options JSON] [--second-run] [--entries-bucket N]
#   --s3-latency-ms N  serve S3 from bench-s3 (in memory, never the bottleneck) adding N ms
#                      to every request; implies --server bench-s3
#   --om-latency-ms N  the om-test-servers add N ms to every call
#   --tuned            also run s3meta with bucketConcurrency 20, entryConcurrency 32,
#                      sinkConcurrency 32 (or the options --tuned-options gives, as JSON)
#   --second-run       also run s3meta twice on the unchanged lake against one server, with
#                      a state file: the second run's wall time and requests
#   --entries-bucket N opt-in: s3meta alone on a bucket whose manifest names N tables one
#                      by one (literal dataPaths)
#   --reference-runs N timed runs of the reference (default: --runs; at 25 ms it takes ~90 s)
#   --large   opt-in: s3meta alone on a 100,000-object prefix written straight into an
#             s3s-fs directory (seeding moto with that many objects takes over ten minutes)
#   --million opt-in: 1,000,000 generated keys on bench-s3, a bare sequential ListObjectsV2
#             loop vs s3meta's glob listing (keys/s, peak RSS)
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
million=0
while [ $# -gt 0 ]; do
  case "$1" in
    --workdir) WORKDIR=$2; shift 2 ;;
    --large) large=1; args+=("$1"); shift ;;
    --million) million=1; args+=("$1"); shift ;;
    *) args+=("$1"); shift ;;
  esac
done

if ! { "$VENV/bin/metadata" --version && [ -x "$VENV/bin/moto_server" ]; } >/dev/null 2>&1; then
  scripts/reference/setup.sh "$VENV"
fi

cargo build --release -p s3meta -p om-test-server -p bench-s3
extra=(--bench-s3 target/release/bench-s3)
if [ "$million" = 1 ]; then
  cargo build --release -p bench-s3 --example list_loop
  extra+=(--list-loop target/release/examples/list_loop)
fi
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
  "${extra[@]}" \
  --workdir "$WORKDIR" \
  "${args[@]}"
