"""Writes the archive fixtures of src/infer/archive with Python's own zipfile and tarfile
(the ecosystem's writers, not ours), so the readers are tested against files they did not
write. Run from this directory: `python3 make.py` (Python 3.8+; no third-party package).

The parquet member is a tiny file written by pyarrow once and kept as `tiny.parquet`;
`zip64.zip` needs Info-ZIP's `zip` on the PATH.
"""
import gzip
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import zipfile

CSV = b"id,name,score\n1,a,2.5\n2,b,3\n"
TSV = b"id\tname\n1\ta\n"
JSONL = b'{"a": 1, "b": "x"}\n{"a": 2, "c": [1, 2]}\n'
PARQUET = open("tiny.parquet", "rb").read()


def members():
    return [
        ("one.csv", CSV),
        ("dir/two.jsonl", JSONL),
        ("readme.txt", b"hello"),
        ("p.parquet", PARQUET),
        ("t.TSV", TSV),
        ("nested.zip", b"PK"),
        ("../evil.csv", CSV),
    ]


def write_zip(path, compression):
    # A fixed date, so that the fixtures are the same bytes on every run.
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        for name, data in [("dir/", b"")] + members():
            z.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 2, 3, 4, 6)), data, compression)


write_zip("stored.zip", zipfile.ZIP_STORED)
write_zip("deflated.zip", zipfile.ZIP_DEFLATED)

# Zip64 from Info-ZIP's `zip -fz` (forced zip64): its end-of-central-directory record
# says 0xFFFFFFFF and the zip64 records hold the real values, as for a large archive.
with tempfile.TemporaryDirectory() as d:
    names = [n for n, _ in members() if not n.startswith("..")]
    for name, data in members():
        if name in names:
            os.makedirs(os.path.dirname(os.path.join(d, name)) or d, exist_ok=True)
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
            os.utime(os.path.join(d, name), (1704164646, 1704164646))
    subprocess.run(["zip", "-q", "-fz", "-0", "-X", "-D", "zip64.zip"] + names, cwd=d, check=True)
    shutil.copy(os.path.join(d, "zip64.zip"), "zip64.zip")


def write_tar(fmt):
    # No padding to 20 blocks after the end-of-archive marker: smaller, still a valid tar.
    tarfile.RECORDSIZE = tarfile.BLOCKSIZE
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as t:
        d = tarfile.TarInfo("./dir")
        d.type = tarfile.DIRTYPE
        t.addfile(d)
        link = tarfile.TarInfo("dir/link.csv")
        link.type = tarfile.SYMTYPE
        link.linkname = "one.csv"
        t.addfile(link)
        for name, data in members() + [("long/" + "x" * 120 + "/deep.csv", CSV)]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return out.getvalue()


# The long path is 134 characters: ustar splits it into its prefix and name fields, GNU
# writes a `L` long-name entry, pax an `x` extended header.
open("ustar.tar", "wb").write(write_tar(tarfile.USTAR_FORMAT))
open("gnu.tar.gz", "wb").write(gzip.compress(write_tar(tarfile.GNU_FORMAT), mtime=0))
open("pax.tar.gz", "wb").write(gzip.compress(write_tar(tarfile.PAX_FORMAT), mtime=0))


def write_names(fmt):
    # Names the ustar fields cannot hold: a 656-character path (GNU `L`, pax `path`), UTF-8
    # (pax `path`; GNU writes the bytes as they are), a link whose target is long (GNU `K`),
    # a long directory name, and (pax) a global header `g` before everything.
    tarfile.RECORDSIZE = tarfile.BLOCKSIZE
    out = io.BytesIO()
    extra = {"pax_headers": {"comment": "global record"}} if fmt == tarfile.PAX_FORMAT else {}
    with tarfile.open(fileobj=out, mode="w", format=fmt, encoding="utf-8", **extra) as t:
        d = tarfile.TarInfo("d/" + "y" * 150)
        d.type = tarfile.DIRTYPE
        t.addfile(d)
        link = tarfile.TarInfo("link.csv")
        link.type = tarfile.SYMTYPE
        link.linkname = "z" * 300 + ".csv"
        t.addfile(link)
        for name, data in [
            ("/".join(["n" * 50] * 12) + "/" + "f" * 44 + ".csv", CSV),
            ("données/é.csv", TSV.replace(b"\t", b",")),
            ("empty.parquet", b""),
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return out.getvalue()


open("names-gnu.tar.gz", "wb").write(gzip.compress(write_names(tarfile.GNU_FORMAT), mtime=0))
open("names-pax.tar.gz", "wb").write(gzip.compress(write_names(tarfile.PAX_FORMAT), mtime=0))
