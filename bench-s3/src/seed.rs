//! Filling the store without PutObject round trips: from a local directory (each
//! sub-directory a bucket, as s3s-fs lays them out) or from generators: `--gen-lake BxExF`
//! (the benchmark lake's shape) and `--gen-keys N` (a million Hive-partitioned keys under one
//! prefix, all sharing one small body).

use crate::store::{etag_of, Object, Store};
use bytes::Bytes;
use std::path::{Path, PathBuf};

/// A seeding error, with the path it concerns.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// Reading the directory failed.
    #[error("cannot read {path}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A path under the directory is not UTF-8.
    #[error("{0} is not UTF-8")]
    NotUtf8(PathBuf),
}

/// Loads every file under `root/<bucket>/…` as `<bucket>`/`…` (keys use `/`). Returns the
/// number of objects loaded.
pub fn from_dir(store: &Store, root: &Path) -> Result<usize, SeedError> {
    let read = |path: &Path| {
        std::fs::read_dir(path).map_err(|source| SeedError::Read {
            path: path.to_owned(),
            source,
        })
    };
    let mut n = 0;
    for entry in read(root)? {
        let entry = entry.map_err(|source| SeedError::Read {
            path: root.to_owned(),
            source,
        })?;
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let bucket = entry
            .file_name()
            .to_str()
            .ok_or_else(|| SeedError::NotUtf8(path.clone()))?
            .to_owned();
        store.create_bucket(&bucket);
        // An explicit stack: a directory tree is foreign input, so no recursion.
        let mut stack = vec![path.clone()];
        while let Some(dir) = stack.pop() {
            for e in read(&dir)? {
                let e = e.map_err(|source| SeedError::Read {
                    path: dir.clone(),
                    source,
                })?;
                let p = e.path();
                let ft = e.file_type().map_err(|source| SeedError::Read {
                    path: p.clone(),
                    source,
                })?;
                if ft.is_dir() {
                    stack.push(p);
                    continue;
                }
                let rel = p
                    .strip_prefix(&path)
                    .ok()
                    .and_then(|r| r.to_str())
                    .ok_or_else(|| SeedError::NotUtf8(p.clone()))?
                    .replace(std::path::MAIN_SEPARATOR, "/");
                let data = std::fs::read(&p).map_err(|source| SeedError::Read {
                    path: p.clone(),
                    source,
                })?;
                store.put(&bucket, rel, Object::new(Bytes::from(data)));
                n += 1;
            }
        }
    }
    Ok(n)
}

/// The benchmark lake's shape: `buckets` buckets `bench-bNN`, each with an `openmetadata.json`
/// of `entries` literal entries of `files` files. Formats cycle Hive-partitioned csv
/// (`isPartitioned`), csv and json lines; every file differs. (bench/gen_lake.py writes the
/// same layout with parquet for the first format; it needs pyarrow, this needs nothing.)
pub fn gen_lake(store: &Store, buckets: usize, entries: usize, files: usize) -> usize {
    let mut n = 0;
    for b in 0..buckets {
        let bucket = format!("bench-b{b:02}");
        store.create_bucket(&bucket);
        let mut manifest = Vec::new();
        for e in 0..entries {
            let fmt = ["hive", "csv", "json"][e % 3];
            let path = format!("e{e:02}_{fmt}");
            manifest.push(match fmt {
                "hive" => format!(
                    "{{\"dataPath\": \"{path}\", \"structureFormat\": \"csv\", \"isPartitioned\": true}}"
                ),
                _ => format!("{{\"dataPath\": \"{path}\", \"structureFormat\": \"{fmt}\"}}"),
            });
            for f in 0..files {
                let seed = (b * 1000 + e) * 1000 + f;
                let rows = 50 + seed % 150;
                let (key, body) = match fmt {
                    "hive" => (
                        format!("{path}/year={}/part-{f:03}.csv", 2020 + f % 5),
                        csv_body(seed, rows),
                    ),
                    "csv" => (format!("{path}/part-{f:03}.csv"), csv_body(seed, rows)),
                    _ => (format!("{path}/part-{f:03}.json"), json_body(seed, rows)),
                };
                store.put(&bucket, key, Object::new(Bytes::from(body)));
                n += 1;
            }
        }
        let manifest = format!("{{\"entries\": [\n {}\n]}}\n", manifest.join(",\n "));
        store.put(
            &bucket,
            "openmetadata.json".to_owned(),
            Object::new(Bytes::from(manifest)),
        );
        n += 1;
    }
    n
}

fn csv_body(seed: usize, rows: usize) -> String {
    let mut s = String::from("id,amount,label,booked_on\n");
    for r in 0..rows {
        let x = seed.wrapping_mul(2_654_435_761).wrapping_add(r * 40_503);
        s.push_str(&format!(
            "{},{}.{:02},label-{},2024-{:02}-{:02}\n",
            x % 1_000_000_000,
            x % 1000,
            x % 100,
            x % 1_000_000,
            1 + x % 12,
            1 + x % 28
        ));
    }
    s
}

fn json_body(seed: usize, rows: usize) -> String {
    let mut s = String::new();
    for r in 0..rows {
        let x = seed.wrapping_mul(2_654_435_761).wrapping_add(r * 40_503);
        s.push_str(&format!(
            "{{\"id\": {}, \"event\": \"{}\", \"amount\": {}.{:02}, \"user\": {{\"country\": \"{}\", \"age\": {}}}}}\n",
            x % 1_000_000_000,
            ["click", "view", "buy"][x % 3],
            x % 100,
            x % 100,
            ["PT", "ES", "FR"][x % 3],
            18 + x % 72
        ));
    }
    s
}

/// `n` keys in `bucket` under `prefix`, Hive-partitioned two levels deep
/// (`prefix/year=YYYY/day=DDD/part-NNNNNNN.json`, 1,000 partitions), all sharing one JSON-lines
/// body, plus an `openmetadata.json` with one glob entry `prefix/**/*.json`.
pub fn gen_keys(store: &Store, bucket: &str, prefix: &str, n: usize) -> usize {
    store.create_bucket(bucket);
    let body = Bytes::from_static(b"{\"id\": 1, \"kind\": \"click\", \"amount\": 0.5}\n");
    let etag = etag_of(&body);
    let prefix = prefix.trim_end_matches('/');
    for i in 0..n {
        let key = format!(
            "{prefix}/year={}/day={:03}/part-{i:07}.json",
            2000 + i % 10,
            (i / 10) % 100
        );
        store.put(bucket, key, Object::with_etag(body.clone(), etag.clone()));
    }
    let manifest = format!(
        "{{\"entries\": [{{\"dataPath\": \"{prefix}/**/*.json\", \"autoPartitionDetection\": true}}]}}\n"
    );
    store.put(
        bucket,
        "openmetadata.json".to_owned(),
        Object::new(Bytes::from(manifest)),
    );
    n + 1
}

/// A bucket of `n` tables named one by one: `tables/tNNNNN/part-0.json` each (one JSON
/// line), and an `openmetadata.json` with `n` literal entries `tables/tNNNNN` (the shape of a
/// hand-written manifest that lists every table).
pub fn gen_entries(store: &Store, bucket: &str, n: usize) -> usize {
    store.create_bucket(bucket);
    let body = Bytes::from_static(b"{\"id\": 1, \"kind\": \"click\", \"amount\": 0.5}\n");
    let etag = etag_of(&body);
    let mut entries = Vec::with_capacity(n);
    for i in 0..n {
        store.put(
            bucket,
            format!("tables/t{i:05}/part-0.json"),
            Object::with_etag(body.clone(), etag.clone()),
        );
        entries.push(format!(
            "{{\"dataPath\": \"tables/t{i:05}\", \"structureFormat\": \"json\"}}"
        ));
    }
    let manifest = format!("{{\"entries\": [{}]}}\n", entries.join(",\n"));
    store.put(
        bucket,
        "openmetadata.json".to_owned(),
        Object::new(Bytes::from(manifest)),
    );
    n + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lake_has_the_benchmark_shape() {
        let s = Store::default();
        assert_eq!(gen_lake(&s, 2, 3, 4), 2 * (3 * 4 + 1));
        assert_eq!(s.bucket_names(), vec!["bench-b00", "bench-b01"]);
    }

    #[test]
    fn entries_are_named_one_by_one() {
        let s = Store::default();
        assert_eq!(gen_entries(&s, "e", 3), 4);
        let m = s.get("e", "openmetadata.json").ok().flatten().unwrap();
        let m = String::from_utf8(m.data.to_vec()).unwrap();
        assert_eq!(m.matches("\"dataPath\"").count(), 3);
        assert!(m.contains("\"tables/t00002\""));
        assert!(s
            .get("e", "tables/t00002/part-0.json")
            .ok()
            .flatten()
            .is_some());
    }

    #[test]
    fn keys_are_partitioned() {
        let s = Store::default();
        gen_keys(&s, "k", "events/", 20);
        assert!(s
            .get("k", "events/year=2003/day=001/part-0000013.json")
            .ok()
            .flatten()
            .is_some());
    }
}
