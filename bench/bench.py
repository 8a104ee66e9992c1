#!/usr/bin/env python3
"""Side-by-side benchmark of s3meta and the Python reference (driven by bench/run.sh).

Starts one moto server on loopback, writes the medium lake into it (bench/gen_lake.py), then
runs `s3meta ingest` and `metadata ingest` (openmetadata-ingestion 2.0.7.0) RUNS times each
with the same source config, each sinking to its own om-test-server (fresh state per run).
Prints wall time (median), peak RSS (median), S3 and CloudWatch requests (counted by moto's
recorder), bytes read (from the recorded Range headers and the objects' sizes, the same way
for both tools), containers produced (from each stand-in's state), the ratios, and the
container FQNs that differ.

With --bench-s3 (implied by --s3-latency-ms) the S3 server is bench-s3 (this repository's
in-memory server, seeded from a directory gen_lake.py writes once) instead of moto: every run
is counted by the server itself (`GET /?x-bench=counts`), S3 and OpenMetadata calls can be
given a latency (--s3-latency-ms, --om-latency-ms), and --tuned adds a second s3meta run with
bucketConcurrency 20, entryConcurrency 32, sinkConcurrency 32.

With --large it instead writes a 100,000-object prefix straight into an s3s-fs directory
(served by `cargo run --example serve_dir`) and measures s3meta alone on a glob entry.
With --million it serves 1,000,000 generated keys from bench-s3 and compares a bare sequential
ListObjectsV2 loop (bench-s3's list_loop example) with s3meta's glob listing.

Needs the reference venv's python (boto3, pyarrow, PyYAML).
"""
import argparse
import base64
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import boto3
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SERVICE = "bench_s3"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"bench: {url} did not answer within {timeout}s")


def post(url):
    req = urllib.request.Request(url, method="POST", data=b"")
    return urllib.request.urlopen(req, timeout=30).read()


GNU_TIME = "/usr/bin/time"


def run_measured(cmd, log):
    """Runs cmd; returns (rc, wall seconds, peak RSS MiB) of that process alone.

    Peak RSS comes from GNU time's %M when it is installed: a child forked from this Python
    process (boto3 and pyarrow loaded) would start with this process's RSS as its high-water
    mark, which exec does not reset, so wait4's ru_maxrss would read ~50 MiB for any command.
    Without GNU time that is the fallback, and the figure is a ceiling, not a measurement.
    """
    rss_file = log + ".rss"
    use_time = os.access(GNU_TIME, os.X_OK)
    full = [GNU_TIME, "-f", "%M", "-o", rss_file] + cmd if use_time else cmd
    with open(log, "wb") as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(full, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    rc = os.waitstatus_to_exitcode(status)
    rss = usage.ru_maxrss / 1024
    if use_time:
        with open(rss_file) as f:
            lines = [l for l in f.read().split() if l.isdigit()]
        rss = int(lines[-1]) / 1024 if lines else float("nan")
    return rc, wall, rss


class OmServer:
    """One om-test-server with a fresh state file."""

    def __init__(self, binary, workdir, name, latency_ms=0):
        self.token = f"bench-token-{name}"
        self.state = os.path.join(workdir, f"om-{name}.json")
        if os.path.exists(self.state):
            os.remove(self.state)
        self.port = free_port()
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--token", self.token, "--state", self.state]
            + (["--latency-ms", str(latency_ms)] if latency_ms else []),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.url = self.proc.stdout.readline().decode().strip()
        if not self.url:
            raise SystemExit("bench: om-test-server did not start")

    def stop(self):
        """Stops the server (it saves its state on SIGINT) and returns the live containers."""
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=30)
        with open(self.state) as f:
            state = json.load(f)
        return sorted(c["fqn"] for c in state["containers"].values() if not c["deleted"])


def config(endpoint, om, s3meta_opts=None):
    cfg = {
        "source": {
            "type": "s3",
            "serviceName": SERVICE,
            "serviceConnection": {
                "config": {
                    "type": "S3",
                    "awsConfig": {
                        "awsRegion": "us-east-1",
                        "awsAccessKeyId": "testing",
                        "awsSecretAccessKey": "testing",
                        "endPointURL": endpoint,
                    },
                }
            },
            "sourceConfig": {"config": {"type": "StorageMetadata"}},
        },
        "sink": {"type": "metadata-rest", "config": {}},
        "workflowConfig": {
            "loggerLevel": "INFO",
            "openMetadataServerConfig": {
                "hostPort": om.url,
                "authProvider": "openmetadata",
                "securityConfig": {"jwtToken": om.token},
            },
        },
    }
    if s3meta_opts:
        cfg["s3meta"] = s3meta_opts
    return cfg


def parse_range(h, size):
    """Bytes a GET with Range header h returns from an object of `size` bytes."""
    if not h:
        return size
    spec = h.split("=", 1)[1]
    a, b = spec.split("-", 1)
    if a == "":
        return min(int(b), size)
    a = int(a)
    end = min(int(b), size - 1) if b else size - 1
    return max(0, end - a + 1)


def analyse_recording(lines, sizes):
    """Counts S3 and CloudWatch requests and estimates the bytes GETs returned."""
    s3 = cw = gets = 0
    read = 0
    kinds = {}
    for line in lines:
        if not line.strip():
            continue
        r = json.loads(line)
        auth = r["headers"].get("Authorization", "")
        url = r["url"]
        path = url.split("//", 1)[1].split("/", 1)[1] if "//" in url else url
        path, _, query = path.partition("?")
        if "/monitoring/" in auth:
            cw += 1
            body = r.get("body") or ""
            if r.get("body_encoded"):
                body = base64.b64decode(body).decode(errors="replace")
            action = body.split("Action=", 1)[1].split("&", 1)[0] if "Action=" in body else "?"
            kinds["cloudwatch " + action] = kinds.get("cloudwatch " + action, 0) + 1
            continue
        s3 += 1
        parts = urllib.parse.unquote(path).split("/", 1)
        if r["method"] == "GET" and len(parts) == 2 and parts[1] and "list-type" not in query \
                and "location" not in query and "tagging" not in query:
            gets += 1
            size = sizes.get((parts[0], parts[1]), 0)
            headers = {k.lower(): v for k, v in r["headers"].items()}
            read += parse_range(headers.get("range"), size)
            kind = "GetObject"
        elif "list-type" in query:
            kind = "ListObjectsV2"
        elif "location" in query:
            kind = "GetBucketLocation"
        elif r["method"] == "HEAD":
            kind = "HeadObject"
        elif path.strip("/") == "" or "ListBuckets" in query:
            kind = "ListBuckets"
        else:
            kind = f"{r['method']} other"
        kinds[kind] = kinds.get(kind, 0) + 1
    return {"s3": s3, "cloudwatch": cw, "gets": gets, "bytes": read, "kinds": kinds}


# Why a container FQN can differ between the two (the spec README's "Better than the
# reference" list); the lake of this benchmark is built so that none should.
REASONS = [
    ("/", "unstructuredFormats folder/file: s3meta lists `path/`, the reference `path` (spec §13 #13)"),
    (".zip", "archive member: s3meta types each member from its own content (spec §5.8)"),
]


def reason(fqn, only_in):
    for needle, why in REASONS:
        if needle in fqn:
            return why
    if only_in == "reference":
        return "not produced by s3meta: check its run's failures/warnings in the logs"
    return "not produced by the reference: check its log for a swallowed error (spec §13 #21)"


def start_bench_s3(a, extra):
    """Starts bench-s3 with `extra` arguments; returns (process, endpoint)."""
    cmd = [a.bench_s3, "--latency-ms", str(a.s3_latency_ms)] + extra
    if a.slowdown_rps:
        cmd += ["--slowdown-rps", str(a.slowdown_rps)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    endpoint = proc.stdout.readline().decode().strip()
    if not endpoint:
        raise SystemExit("bench: bench-s3 did not start")
    return proc, endpoint


def bench_s3_counts(endpoint):
    """bench-s3's counts since the last reset, in analyse_recording's shape."""
    c = json.loads(urllib.request.urlopen(endpoint + "/?x-bench=counts", timeout=30).read())
    kinds = {k: v for k, v in c.items() if k not in ("total", "bytesServed", "slowDown")}
    cw = sum(v for k, v in kinds.items() if k.startswith("cloudwatch "))
    return {"s3": c["total"] - cw, "cloudwatch": cw, "gets": kinds.get("GetObject", 0),
            "bytes": c["bytesServed"], "kinds": kinds, "slowdown": c["slowDown"]}


TUNED = {"bucketConcurrency": 20, "entryConcurrency": 32, "sinkConcurrency": 32}


def bench_medium(a):
    if a.bench_s3_mode:
        return bench_medium_on_bench_s3(a)

    work = a.workdir
    venv_bin = os.path.dirname(sys.executable)
    moto_port = free_port()
    endpoint = f"http://127.0.0.1:{moto_port}"
    moto = subprocess.Popen(
        [os.path.join(venv_bin, "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=work,
    )
    try:
        wait_http(endpoint + "/moto-api/")
        print(f"moto on {endpoint}; writing the lake …", file=sys.stderr)
        gen = subprocess.run(
            [sys.executable, os.path.join(HERE, "gen_lake.py"), "--endpoint", endpoint,
             "--buckets", str(a.buckets), "--entries", str(a.entries), "--files", str(a.files)],
            check=True, capture_output=True, text=True,
        )
        lake = json.loads(gen.stdout)
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        sizes = {}
        for b in s3.list_buckets()["Buckets"]:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=b["Name"]):
                for o in page.get("Contents", []):
                    sizes[(b["Name"], o["Key"])] = o["Size"]
        print(f"lake: {lake}", file=sys.stderr)

        tools = {
            "s3meta": lambda cfg: [a.s3meta, "ingest", "-c", cfg],
            "reference": lambda cfg: [os.path.join(venv_bin, "metadata"), "ingest", "-c", cfg],
        }
        opts = {}
        if a.tuned:
            tools["s3meta tuned"] = tools["s3meta"]
            opts["s3meta tuned"] = json.loads(a.tuned_options) if a.tuned_options else TUNED
        results = {name: [] for name in tools}
        counts = {}
        fqns = {}
        # Run 0 of each tool is recorded by moto (requests, Range headers) and not timed: the
        # recorder slows moto by about 20 %. Runs 1..RUNS are timed without it.
        for i in range(a.runs + 1):
            for name, cmd in tools.items():
                if name == "reference" and a.skip_reference:
                    continue
                recorded = i == 0
                om = OmServer(a.om_server, work, name.replace(" ", "-"))
                cfg_path = os.path.join(work, f"{name.replace(' ', '-')}.yaml")
                with open(cfg_path, "w") as f:
                    yaml.safe_dump(config(endpoint, om, opts.get(name)), f)
                if recorded:
                    post(endpoint + "/moto-api/recorder/reset-recording")
                    post(endpoint + "/moto-api/recorder/start-recording")
                log = os.path.join(work, f"{name.replace(' ', '-')}-run{i}.log")
                rc, wall, rss = run_measured(cmd(cfg_path), log)
                containers = om.stop()
                if recorded:
                    post(endpoint + "/moto-api/recorder/stop-recording")
                    rec = urllib.request.urlopen(
                        endpoint + "/moto-api/recorder/download-recording", timeout=60
                    ).read().decode().splitlines()
                    post(endpoint + "/moto-api/recorder/reset-recording")
                    counts[name] = analyse_recording(rec, sizes)
                    fqns[name] = containers
                    print(f"recorded run {name}: rc={rc} containers={len(containers)} "
                          f"s3={counts[name]['s3']} cw={counts[name]['cloudwatch']}",
                          file=sys.stderr)
                    continue
                own = [l.strip() for l in open(log, errors="replace")
                       if l.startswith(("S3 requests:", "Bytes read from S3:", "Sink (",
                                        "Stage wall times:"))]
                results[name].append(
                    {"rc": rc, "wall": wall, "rss": rss, "containers": len(containers),
                     **counts[name], "own": own}
                )
                print(f"run {i}/{a.runs} {name}: rc={rc} wall={wall:.2f}s rss={rss:.1f}MiB "
                      f"containers={len(containers)}", file=sys.stderr)
        report(a, lake, results, fqns)
    finally:
        moto.terminate()
        moto.wait(timeout=30)


def bench_medium_on_bench_s3(a):
    """The medium lake on bench-s3: both tools, same server, every run counted by it."""
    work = a.workdir
    venv_bin = os.path.dirname(sys.executable)
    lake_dir = os.path.join(work, f"lake-{a.buckets}x{a.entries}x{a.files}")
    marker = lake_dir + ".json"
    if not os.path.exists(marker):
        print(f"writing the lake into {lake_dir} …", file=sys.stderr)
        gen = subprocess.run(
            [sys.executable, os.path.join(HERE, "gen_lake.py"), "--dir", lake_dir,
             "--buckets", str(a.buckets), "--entries", str(a.entries), "--files", str(a.files)],
            check=True, capture_output=True, text=True,
        )
        with open(marker, "w") as f:
            f.write(gen.stdout)
    with open(marker) as f:
        lake = json.load(f)
    server, endpoint = start_bench_s3(a, ["--dir", lake_dir])
    try:
        print(f"bench-s3 on {endpoint} (S3 latency {a.s3_latency_ms} ms, OpenMetadata "
              f"{a.om_latency_ms} ms)", file=sys.stderr)
        tools = {"s3meta": (lambda cfg: [a.s3meta, "ingest", "-c", cfg], None)}
        if a.tuned:
            tuned = json.loads(a.tuned_options) if a.tuned_options else TUNED
            tools["s3meta tuned"] = (lambda cfg: [a.s3meta, "ingest", "-c", cfg], tuned)
        if not a.skip_reference:
            tools["reference"] = (
                lambda cfg: [os.path.join(venv_bin, "metadata"), "ingest", "-c", cfg], None)
        results = {name: [] for name in tools}
        fqns = {}
        for name, (cmd, opts) in tools.items():
            runs = a.reference_runs if name == "reference" else a.runs
            for i in range(1, runs + 1):
                om = OmServer(a.om_server, work, name.replace(" ", "-"), a.om_latency_ms)
                cfg_path = os.path.join(work, f"{name.replace(' ', '-')}.yaml")
                with open(cfg_path, "w") as f:
                    yaml.safe_dump(config(endpoint, om, opts), f)
                post(endpoint + "/?x-bench=reset")
                log = os.path.join(work, f"{name.replace(' ', '-')}-run{i}.log")
                rc, wall, rss = run_measured(cmd(cfg_path), log)
                containers = om.stop()
                counts = bench_s3_counts(endpoint)
                fqns[name] = containers
                own = [l.strip() for l in open(log, errors="replace")
                       if l.startswith(("S3 requests:", "Bytes read from S3:", "Sink (",
                                        "Stage wall times:"))]
                results[name].append(
                    {"rc": rc, "wall": wall, "rss": rss, "containers": len(containers),
                     **counts, "own": own})
                print(f"run {i}/{runs} {name}: rc={rc} wall={wall:.2f}s rss={rss:.1f}MiB "
                      f"containers={len(containers)} s3={counts['s3']}", file=sys.stderr)
        where = (f"bench-s3, S3 latency {a.s3_latency_ms} ms, OpenMetadata latency "
                 f"{a.om_latency_ms} ms")
        report(a, lake, results, fqns, where)
        if a.second_run:
            second_runs(a, endpoint)
        floor = 5 * a.s3_latency_ms + a.om_latency_ms
        print(f"\nDependency-chain floor: ListBuckets → GetBucketLocation → manifest GET → "
              f"ListObjectsV2 → sample GET (5 S3 round trips) → container PUT (1 OpenMetadata "
              f"call) = {floor / 1000:.3f} s of latency, plus process start")
        for name, rs in results.items():
            if rs and floor:
                print(f"{name} / floor: {med(rs, 'wall') * 1000 / floor:.1f}x")
    finally:
        server.terminate()
        server.wait(timeout=30)


def second_runs(a, endpoint):
    """s3meta twice on an unchanged lake against the same om-test-server, with a state file:
    the first run's and the second run's wall time and requests, medians of --runs pairs."""
    work = a.workdir
    state = os.path.join(work, "second-state.json")
    pairs = []
    for i in range(1, a.runs + 1):
        if os.path.exists(state):
            os.remove(state)
        om = OmServer(a.om_server, work, "second", a.om_latency_ms)
        cfg_path = os.path.join(work, "second.yaml")
        with open(cfg_path, "w") as f:
            yaml.safe_dump(config(endpoint, om, {"stateFile": state}), f)
        pair = []
        for which in ("first", "second"):
            post(endpoint + "/?x-bench=reset")
            log = os.path.join(work, f"second-run{i}-{which}.log")
            rc, wall, rss = run_measured([a.s3meta, "ingest", "-c", cfg_path], log)
            counts = bench_s3_counts(endpoint)
            sink = [l.strip() for l in open(log, errors="replace")
                    if l.startswith(("Sink (", "S3 requests:")) or "unchanged since" in l]
            pair.append({"rc": rc, "wall": wall, "rss": rss, **counts, "own": sink})
        containers = om.stop()
        pair[1]["containers"] = len(containers)
        pairs.append(pair)
        print(f"second-run pair {i}/{a.runs}: first {pair[0]['wall']:.2f}s, second "
              f"{pair[1]['wall']:.2f}s, containers={len(containers)}", file=sys.stderr)
    firsts = [p[0] for p in pairs]
    seconds = [p[1] for p in pairs]
    print("\n| unchanged lake, s3meta defaults + stateFile | wall (s) | S3 requests | "
          "sample GETs | CloudWatch req. | exit |")
    print("|---|---|---|---|---|---|")
    for name, rs in (("first run", firsts), ("second run", seconds)):
        print(f"| {name} | {med(rs, 'wall'):.2f} | {rs[-1]['s3']} | {rs[-1]['gets']} | "
              f"{rs[-1]['cloudwatch']} | {','.join(str(r['rc']) for r in rs)} |")
    print(f"\nsecond run: {med(firsts, 'wall') / med(seconds, 'wall'):.1f}x faster; "
          f"S3 requests by kind: {seconds[-1]['kinds']}")
    for line in seconds[-1]["own"]:
        print(f"second run summary: {line}")


def bench_million(a):
    """1,000,000 generated keys on bench-s3: a bare sequential ListObjectsV2 loop vs s3meta."""
    n = a.million_keys
    server, endpoint = start_bench_s3(a, ["--gen-keys", str(n), "--bucket", "bench-keys",
                                          "--prefix", "events"])
    try:
        loop_out = subprocess.run([a.list_loop, endpoint, "bench-keys", "events/"],
                                  check=True, capture_output=True, text=True).stdout
        loop = json.loads(loop_out)
        catalog = os.path.join(a.workdir, "million-catalog.jsonl")
        # globScanLimit = the key count: every key is folded into the catalog (the default,
        # the reference's 100,000, keeps only `year=2000` and warns).
        cfg = config(endpoint, type("Om", (), {"url": "unused", "token": "unused"}),
                     {"bucketMetrics": False, "globScanLimit": max(n, 100_000)})
        cfg["sink"] = {"type": "file", "config": {"path": catalog}}
        del cfg["workflowConfig"]["openMetadataServerConfig"]
        path = os.path.join(a.workdir, "million.yaml")
        with open(path, "w") as f:
            yaml.safe_dump(cfg, f)
        post(endpoint + "/?x-bench=reset")
        log = os.path.join(a.workdir, "million.log")
        rc, wall, rss = run_measured([a.s3meta, "ingest", "-c", path], log)
        counts = bench_s3_counts(endpoint)
        lines = sum(1 for _ in open(catalog)) if os.path.exists(catalog) else 0
        print(f"\n{n} keys under `events/` (Hive year=/day=, 1,000 partitions) on bench-s3, "
              f"S3 latency {a.s3_latency_ms} ms:\n")
        print("| | wall (s) | keys/s | ListObjectsV2 | peak RSS (MiB) |")
        print("|---|---|---|---|---|")
        print(f"| bare sequential ListObjectsV2 loop | {loop['seconds']:.2f} | "
              f"{loop['keys_per_s']:.0f} | {loop['pages']} | |")
        print(f"| s3meta, glob `events/**/*.json` (exit {rc}, {lines} catalog lines) | "
              f"{wall:.2f} | {n / wall:.0f} | {counts['kinds'].get('ListObjectsV2', 0)} | "
              f"{rss:.1f} |")
        print(f"\ns3meta / loop keys/s: {loop['seconds'] / wall:.1f}x; all requests: "
              + ", ".join(f"{k} {v}" for k, v in sorted(counts["kinds"].items())))
        # With the default globScanLimit (100,000, the reference's): only the first keys in
        # key order count, and the split listing stops asking once it has them.
        del cfg["s3meta"]["globScanLimit"]
        with open(path, "w") as f:
            yaml.safe_dump(cfg, f)
        post(endpoint + "/?x-bench=reset")
        rc, wall, rss = run_measured([a.s3meta, "ingest", "-c", path], log)
        counts = bench_s3_counts(endpoint)
        print(f"\ns3meta with the default globScanLimit (100,000): exit {rc}, {wall:.2f} s, "
              f"{counts['kinds'].get('ListObjectsV2', 0)} ListObjectsV2, peak RSS {rss:.1f} MiB")
    finally:
        server.terminate()
        server.wait(timeout=60)


def bench_entries(a):
    """A bucket whose manifest names 10,000 tables one by one (literal `dataPath`s): s3meta
    alone, file sink, on bench-s3 at --s3-latency-ms; wall, requests and peak RSS, medians."""
    n = a.entries_bucket
    server, endpoint = start_bench_s3(a, ["--gen-entries", str(n)])
    try:
        catalog = os.path.join(a.workdir, "entries-catalog.jsonl")
        cfg = config(endpoint, type("Om", (), {"url": "unused", "token": "unused"}),
                     {"bucketMetrics": False})
        cfg["source"]["serviceConnection"]["config"]["bucketNames"] = ["bench-entries"]
        cfg["sink"] = {"type": "file", "config": {"path": catalog}}
        del cfg["workflowConfig"]["openMetadataServerConfig"]
        path = os.path.join(a.workdir, "entries.yaml")
        with open(path, "w") as f:
            yaml.safe_dump(cfg, f)
        rows = []
        for i in range(1, a.runs + 1):
            post(endpoint + "/?x-bench=reset")
            log = os.path.join(a.workdir, f"entries-run{i}.log")
            rc, wall, rss = run_measured([a.s3meta, "ingest", "-c", path], log)
            counts = bench_s3_counts(endpoint)
            lines = sum(1 for _ in open(catalog)) if os.path.exists(catalog) else 0
            rows.append({"rc": rc, "wall": wall, "rss": rss, "lines": lines, **counts})
            print(f"entries run {i}/{a.runs}: rc={rc} wall={wall:.2f}s rss={rss:.1f}MiB "
                  f"lines={lines} s3={counts['s3']}", file=sys.stderr)
        print(f"\nA bucket naming {n} tables one by one on bench-s3, S3 latency "
              f"{a.s3_latency_ms} ms, s3meta defaults, median of {a.runs}:\n")
        print("| | wall (s) | S3 requests | peak RSS (MiB) | catalog lines | exit |")
        print("|---|---|---|---|---|---|")
        print(f"| s3meta | {med(rows, 'wall'):.2f} | {rows[-1]['s3']} | {med(rows, 'rss'):.1f} | "
              f"{rows[-1]['lines']} | {','.join(str(r['rc']) for r in rows)} |")
        print("\nrequests: " + ", ".join(f"{k} {v}" for k, v in sorted(rows[-1]["kinds"].items())))
    finally:
        server.terminate()
        server.wait(timeout=60)


def med(rows, key):
    return statistics.median(r[key] for r in rows)


def report(a, lake, results, fqns, where=None):
    if where:
        print(f"\nLake: {a.buckets} buckets x {a.entries} entries x {a.files} files "
              f"({lake['objects']} objects, {lake['bytes'] / 2**20:.1f} MiB) on {where}; "
              f"median of the timed runs; requests and bytes counted by bench-s3\n")
    else:
        print(f"\nLake: {a.buckets} buckets x {a.entries} entries x {a.files} files "
              f"({lake['objects']} objects, {lake['bytes'] / 2**20:.1f} MiB) on moto; "
              f"median of {a.runs} timed run(s); requests and bytes from one extra run "
              f"recorded by moto\n")
    cols = ["", "wall (s)", "peak RSS (MiB)", "S3 requests", "CloudWatch req.", "bytes read",
            "containers", "exit"]
    rows = []
    for name, rs in results.items():
        if not rs:
            continue
        rows.append([name, f"{med(rs, 'wall'):.2f}", f"{med(rs, 'rss'):.1f}",
                     str(int(med(rs, 's3'))), str(int(med(rs, 'cloudwatch'))),
                     f"{med(rs, 'bytes') / 2**20:.2f} MiB", str(int(med(rs, 'containers'))),
                     ",".join(str(r["rc"]) for r in rs)])
    r = results.get("reference") or []
    for sname, s in results.items():
        if sname == "reference" or not s or not r:
            continue
        def ratio(k, fmt="{:.1f}x"):
            x, y = med(s, k), med(r, k)
            return fmt.format(y / x) if x else "-"
        rows.append([f"reference / {sname}", ratio("wall"), ratio("rss"), ratio("s3"),
                     ratio("cloudwatch"), ratio("bytes"), "", ""])
    widths = [max(len(str(x[i])) for x in rows + [cols]) for i in range(len(cols))]
    line = lambda x: "| " + " | ".join(str(v).ljust(w) for v, w in zip(x, widths)) + " |"
    print(line(cols))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))
    for name, rs in results.items():
        if rs:
            kinds = rs[-1]["kinds"]
            print(f"\n{name} requests (last run): "
                  + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
            for line in rs[-1].get("own") or []:
                print(f"{name} summary: {line}")
    if "reference" in fqns and "s3meta" in fqns:
        A, B = set(fqns["s3meta"]), set(fqns["reference"])
        diff = [(f, "s3meta") for f in sorted(A - B)] + [(f, "reference") for f in sorted(B - A)]
        print(f"\nContainer FQNs: {len(A)} from s3meta, {len(B)} from the reference, "
              f"{len(A & B)} in common, {len(diff)} differ")
        for f, only in diff:
            print(f"  only in {only}: {f} — {reason(f, only)}")


def bench_large(a):
    """100,000 small objects under one prefix, written straight into an s3s-fs directory."""
    root = os.path.join(a.workdir, "large-lake")
    bucket = os.path.join(root, "bench-large")
    n = a.large_objects
    marker = os.path.join(root, f".written-{n}")
    if not os.path.exists(marker):
        print(f"writing {n} objects into {bucket} …", file=sys.stderr)
        for i in range(n):
            d = os.path.join(bucket, "events", f"day={i % 100:03d}")
            if i < 100:
                os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, f"part-{i:06d}.json"), "w") as f:
                f.write(json.dumps({"id": i, "kind": "click", "amount": i * 0.5}) + "\n")
        with open(os.path.join(bucket, "openmetadata.json"), "w") as f:
            json.dump({"entries": [{"dataPath": "events/**/*.json", "autoPartitionDetection": True}]}, f)
        open(marker, "w").close()
    server = subprocess.Popen([a.serve_dir, root, "bench", "bench-secret"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        endpoint = server.stdout.readline().decode().strip()
        catalog = os.path.join(a.workdir, "large-catalog.jsonl")
        # globScanLimit = the key count: every key is folded into the catalog (the default,
        # the reference's 100,000, keeps only `year=2000` and warns).
        cfg = config(endpoint, type("Om", (), {"url": "unused", "token": "unused"}),
                     {"bucketMetrics": False, "globScanLimit": max(n, 100_000)})
        cfg["source"]["serviceConnection"]["config"]["awsConfig"].update(
            {"awsAccessKeyId": "bench", "awsSecretAccessKey": "bench-secret"})
        cfg["sink"] = {"type": "file", "config": {"path": catalog}}
        del cfg["workflowConfig"]["openMetadataServerConfig"]
        path = os.path.join(a.workdir, "large.yaml")
        with open(path, "w") as f:
            yaml.safe_dump(cfg, f)
        log = os.path.join(a.workdir, "large.log")
        rc, wall, rss = run_measured([a.s3meta, "ingest", "-c", path], log)
        lines = sum(1 for _ in open(catalog)) if os.path.exists(catalog) else 0
        own = [l.strip() for l in open(log, errors="replace") if l.startswith("S3 requests:")]
        print(f"\nLarge listing (s3s-fs, {n} objects under one prefix, glob `events/**/*.json`):")
        print(f"| s3meta | wall {wall:.2f} s | peak RSS {rss:.1f} MiB | {own[0] if own else '?'} "
              f"| catalog lines {lines} | exit {rc} |")
    finally:
        server.stdin.close()
        server.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--s3meta", required=True)
    ap.add_argument("--om-server", required=True)
    ap.add_argument("--serve-dir")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--buckets", type=int, default=20)
    ap.add_argument("--entries", type=int, default=20)
    ap.add_argument("--files", type=int, default=10)
    ap.add_argument("--large", action="store_true")
    ap.add_argument("--large-objects", type=int, default=100_000)
    ap.add_argument("--skip-reference", action="store_true")
    ap.add_argument("--bench-s3", help="the bench-s3 binary; serve S3 from it instead of moto")
    ap.add_argument("--list-loop", help="bench-s3's list_loop example (for --million)")
    ap.add_argument("--s3-latency-ms", type=int, default=None)
    ap.add_argument("--om-latency-ms", type=int, default=0)
    ap.add_argument("--slowdown-rps", type=int, default=None)
    ap.add_argument("--tuned", action="store_true")
    ap.add_argument("--tuned-options", help="JSON object of s3meta options for the tuned run")
    ap.add_argument("--second-run", action="store_true",
                    help="also measure a second s3meta run of the unchanged lake (state file)")
    ap.add_argument("--reference-runs", type=int, default=None)
    ap.add_argument("--million", action="store_true")
    ap.add_argument("--million-keys", type=int, default=1_000_000)
    ap.add_argument("--entries-bucket", type=int, default=None, metavar="N",
                    help="a bucket whose manifest names N tables one by one (e.g. 10000)")
    ap.add_argument("--server", choices=["moto", "bench-s3"], default=None)
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    a.bench_s3_mode = a.server == "bench-s3" or (
        a.server is None and (a.s3_latency_ms is not None or a.tuned))
    a.s3_latency_ms = a.s3_latency_ms or 0
    if a.reference_runs is None:
        a.reference_runs = a.runs
    if (a.bench_s3_mode or a.million) and not a.bench_s3:
        raise SystemExit("bench: --bench-s3 BINARY is needed (bench/run.sh passes it)")
    if a.million:
        bench_million(a)
    elif a.entries_bucket:
        bench_entries(a)
    elif a.large:
        bench_large(a)
    else:
        bench_medium(a)


if __name__ == "__main__":
    main()
