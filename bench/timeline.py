#!/usr/bin/env python3
"""Where a run's wall time goes: S3 requests and OpenMetadata writes in flight, 10 ms at a time.

Reads the log of one run made with `RUST_LOG=s3meta=trace` (the trace events "S3 request
sent/answered" of the run's request budget and "write sent/answered" of the sink's writes)
and prints, for each slice of time since the first log line, how many requests and writes
started and ended, how many were in flight, and the info/warn lines logged then. A slice
where S3 sits at `requestConcurrency` is budget-bound; writes that start only late are
waiting for their parents (the service, then the bucket).

usage: RUST_LOG=s3meta=trace s3meta ingest -c cfg.yaml 2> run.log
       bench/timeline.py run.log [--slice-ms 10]
"""
import argparse
import datetime
import re

STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z\s+(\w+)\s+(.*)$")
KINDS = {
    "S3 request sent": "s3+",
    "S3 request answered": "s3-",
    "write sent": "w+",
    "write answered": "w-",
}


def parse(path):
    events = []
    with open(path, errors="replace") as f:
        for line in f:
            m = STAMP.match(line.rstrip("\n"))
            if not m:
                continue
            t = datetime.datetime.strptime(m.group(1)[:26], "%Y-%m-%dT%H:%M:%S.%f")
            text = m.group(3)
            kind = next((k for msg, k in KINDS.items() if msg in text), None)
            if kind is None and m.group(2) in ("INFO", "WARN", "ERROR"):
                kind = "note"
            if kind:
                events.append((t.timestamp(), kind, text))
    return events


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("log")
    ap.add_argument("--slice-ms", type=int, default=10)
    a = ap.parse_args()
    events = parse(a.log)
    if not events:
        raise SystemExit("no timestamped lines: was the run made with RUST_LOG=s3meta=trace?")
    t0 = events[0][0]
    slices = {}
    for t, kind, text in events:
        s = int((t - t0) * 1000 // a.slice_ms) * a.slice_ms
        d = slices.setdefault(s, {"s3+": 0, "s3-": 0, "w+": 0, "w-": 0, "notes": []})
        if kind == "note":
            d["notes"].append(text[:70])
        else:
            d[kind] += 1
    s3 = w = 0
    print(f"{'ms':>6} | {'S3 sent':>7} {'answered':>8} {'in flight':>9} | "
          f"{'writes sent':>11} {'answered':>8} {'in flight':>9} | log")
    for s in sorted(slices):
        d = slices[s]
        s3 += d["s3+"] - d["s3-"]
        w += d["w+"] - d["w-"]
        print(f"{s:6d} | {d['s3+']:7d} {d['s3-']:8d} {s3:9d} | {d['w+']:11d} {d['w-']:8d} "
              f"{w:9d} | {' / '.join(d['notes'])}")


if __name__ == "__main__":
    main()
