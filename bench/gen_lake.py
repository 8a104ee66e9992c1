#!/usr/bin/env python3
"""Writes the benchmark lake into an S3-compatible server (moto on loopback), or with --dir
into a directory laid out as bucket/key, which `bench-s3 --dir` (and s3s-fs) serve.

BUCKETS buckets, each with an `openmetadata.json` of ENTRIES literal entries, each entry a
folder of FILES files; formats cycle parquet (Hive-partitioned), csv, json lines. Every file is
different (seeded random rows), so no two samples are alike. Needs boto3 and pyarrow (the
reference venv from scripts/reference/setup.sh has both).

usage: gen_lake.py (--endpoint http://127.0.0.1:PORT | --dir DIR) [--buckets 20 --entries 20 --files 10]
"""
import argparse
import io
import json
import os
import random
from concurrent.futures import ThreadPoolExecutor

import boto3
import pyarrow as pa
import pyarrow.parquet as pq

FORMATS = ["parquet", "csv", "json"]


def parquet_bytes(rng, rows):
    table = pa.table(
        {
            "id": pa.array([rng.randrange(1 << 40) for _ in range(rows)], pa.int64()),
            "amount": pa.array([rng.random() * 1000 for _ in range(rows)], pa.float64()),
            "label": pa.array([f"label-{rng.randrange(10**6)}" for _ in range(rows)]),
            "flag": pa.array([rng.random() < 0.5 for _ in range(rows)]),
        }
    )
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def csv_bytes(rng, rows):
    lines = ["id,amount,label,booked_on"]
    for _ in range(rows):
        lines.append(
            f"{rng.randrange(10**9)},{rng.random() * 1000:.2f},label-{rng.randrange(10**6)},"
            f"2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        )
    return ("\n".join(lines) + "\n").encode()


def json_bytes(rng, rows):
    out = []
    for _ in range(rows):
        out.append(
            json.dumps(
                {
                    "id": rng.randrange(10**9),
                    "event": rng.choice(["click", "view", "buy"]),
                    "amount": round(rng.random() * 100, 2),
                    "user": {"country": rng.choice(["PT", "ES", "FR"]), "age": rng.randrange(18, 90)},
                }
            )
        )
    return ("\n".join(out) + "\n").encode()


def objects_for_bucket(b, entries, files, seed):
    rng = random.Random(seed * 1_000_003 + b)
    manifest = {"entries": []}
    objs = []
    for e in range(entries):
        fmt = FORMATS[e % len(FORMATS)]
        path = f"e{e:02d}_{fmt}"
        entry = {"dataPath": path, "structureFormat": fmt}
        if fmt == "parquet":
            entry["isPartitioned"] = True
        manifest["entries"].append(entry)
        for f in range(files):
            rows = rng.randrange(50, 200)
            if fmt == "parquet":
                key = f"{path}/year={2020 + f % 5}/part-{f:03d}.parquet"
                body = parquet_bytes(rng, rows)
            elif fmt == "csv":
                key = f"{path}/part-{f:03d}.csv"
                body = csv_bytes(rng, rows)
            else:
                key = f"{path}/part-{f:03d}.json"
                body = json_bytes(rng, rows)
            objs.append((key, body))
    objs.append(("openmetadata.json", json.dumps(manifest, indent=1).encode()))
    return objs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint")
    ap.add_argument("--dir")
    ap.add_argument("--buckets", type=int, default=20)
    ap.add_argument("--entries", type=int, default=20)
    ap.add_argument("--files", type=int, default=10)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--prefix", default="bench")
    a = ap.parse_args()
    if a.dir:
        n = size = 0
        for b in range(a.buckets):
            name = f"{a.prefix}-b{b:02d}"
            for key, body in objects_for_bucket(b, a.entries, a.files, a.seed):
                path = os.path.join(a.dir, name, *key.split("/"))
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as f:
                    f.write(body)
                n += 1
                size += len(body)
        print(json.dumps({"buckets": a.buckets, "objects": n, "bytes": size}))
        return
    if not a.endpoint:
        raise SystemExit("gen_lake.py: --endpoint or --dir")
    s3 = boto3.client(
        "s3",
        endpoint_url=a.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    jobs = []
    for b in range(a.buckets):
        name = f"{a.prefix}-b{b:02d}"
        s3.create_bucket(Bucket=name)
        for key, body in objects_for_bucket(b, a.entries, a.files, a.seed):
            jobs.append((name, key, body))
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda j: s3.put_object(Bucket=j[0], Key=j[1], Body=j[2]), jobs))
    sizes = sum(len(j[2]) for j in jobs)
    print(json.dumps({"buckets": a.buckets, "objects": len(jobs), "bytes": sizes}))


if __name__ == "__main__":
    main()
