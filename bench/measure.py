#!/usr/bin/env python3
"""Runs a command and prints its wall time and peak RSS as JSON (one line on stdout).

usage: measure.py [--out FILE] -- COMMAND [ARGS...]
The command's own stdout/stderr go to FILE (default /dev/null) so that they do not mix
with the measurement.
"""
import json
import resource
import subprocess
import sys
import time


def main():
    args = sys.argv[1:]
    out = "/dev/null"
    if args[:1] == ["--out"]:
        out, args = args[1], args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    with open(out, "wb") as sink:
        t0 = time.perf_counter()
        rc = subprocess.call(args, stdout=sink, stderr=subprocess.STDOUT)
        wall = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"rc": rc, "wall_s": round(wall, 3), "peak_rss_mib": round(peak_kib / 1024, 1)}))


if __name__ == "__main__":
    main()
