#!/usr/bin/env bash
# What learning one parquet schema costs, for files of 1 MiB, 100 MiB and 1 GiB served over
# loopback S3 (the embedded server): bytes read, requests, wall time, peak RSS.
# Usage: bench/parquet_footer.sh [DIR]   (DIR defaults to target/bench-lake; files are kept)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-target/bench-lake}"
cargo build --release --example parquet_footer
bin=target/release/examples/parquet_footer
"$bin" gen "$dir"
for f in 1mib.parquet 100mib.parquet 1gib.parquet; do
  "$bin" infer "$dir" "$f"
done
