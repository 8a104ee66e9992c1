#!/usr/bin/env bash
# Writes the file-sink catalogs of the quickstart lake and of the medium benchmark lake
# (20 buckets x 20 entries x 10 files, on moto) into OUT_DIR, so that a refactor can show
# its output is byte-identical: run it before and after, then `diff -r BEFORE AFTER`.
#
# usage: bench/snapshot.sh OUT_DIR [S3META_BINARY]
#   S3META_BINARY defaults to target/debug/s3meta (built when missing).
# Needs moto_server (scripts/install-test-deps.sh) and boto3 + pyarrow for bench/gen_lake.py.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:?usage: bench/snapshot.sh OUT_DIR [S3META_BINARY]}")
bin=$(realpath -m "${2:-target/debug/s3meta}")
[ -x "$bin" ] || cargo build -p s3meta
mkdir -p "$out"
work=$(mktemp -d)
moto_pid=""
trap '[ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null; rm -rf "$work"' EXIT

# 1. The quickstart lake: its catalog.
(cd "$work" && "$bin" quickstart >/dev/null 2>&1)
# The embedded server's port changes per run: write it as a constant.
sed -E 's#127\.0\.0\.1:[0-9]+#127.0.0.1:PORT#g' "$work/s3meta-quickstart/catalog.jsonl" >"$out/quickstart.jsonl"

# 2. The medium benchmark lake on moto, file sink.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
moto_bin="${MOTO_SERVER:-moto_server}"
[ -x .test-venv/bin/moto_server ] && [ -z "${MOTO_SERVER:-}" ] && moto_bin=.test-venv/bin/moto_server
"$moto_bin" -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto_pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/moto-api/" >/dev/null && break; sleep 0.2; done
python3 bench/gen_lake.py --endpoint "http://127.0.0.1:$port" >/dev/null
cat >"$work/medium.yaml" <<EOF
source:
  type: s3
  serviceName: bench_s3
  serviceConnection:
    config:
      type: S3
      awsConfig:
        awsRegion: us-east-1
        awsAccessKeyId: testing
        awsSecretAccessKey: testing
        endPointURL: http://127.0.0.1:$port
  sourceConfig:
    config:
      type: StorageMetadata
sink:
  type: file
  config:
    path: $work/medium.jsonl
workflowConfig:
  loggerLevel: WARN
EOF
"$bin" ingest -c "$work/medium.yaml" >"$work/medium.summary" 2>/dev/null || true
# The endpoint's port changes per run: write it as a constant.
sed "s/127.0.0.1:$port/127.0.0.1:PORT/g" "$work/medium.jsonl" >"$out/medium.jsonl"
wc -l "$out"/*.jsonl
