//! Open table formats (Delta Lake, Apache Iceberg, Apache Hudi): which folders are tables,
//! and a table's current columns and partitioning from its own metadata.
//!
//! A table's data files do not tell its schema: a Delta data file lacks the partition
//! columns, and an old file lacks the columns added since. So a folder holding a table's
//! marker (`_delta_log/` with a log file, `metadata/*.metadata.json`, `.hoodie/`) is read as one table from
//! its metadata, whatever the manifest's `structureFormat`, and none of its files is
//! sampled. Detection ([`marker_root`], [`roots`]) works on keys the planner has already
//! listed, so that it costs no request.
//!
//! Reads are bounded: every metadata document is read within `maxDocumentBytes` (refused by
//! its size when the listing tells it, never read past the cap), a Delta checkpoint by its
//! footer and the column chunks of its `metaData` action only, and the number of reads per
//! table does not grow with the table's history (see each reader). Foreign documents are
//! parsed by serde_json (which stops at 128 levels) and walked by recursion no deeper than
//! `maxColumnDepth` + 1, within the node budget of [`crate::infer::bound`].
//!
//! This module reads through the store seam and builds columns; it knows nothing of the
//! plan, the entities or the sinks.

pub mod delta;
pub mod hudi;
pub mod iceberg;

use crate::entity::Column;
use crate::format::TableFormat;
use crate::infer::{cpu, Limits};
use crate::store::{self, ErrorKind, ObjectMeta, ObjectStore};
use bytes::Bytes;
use std::collections::BTreeMap;

/// Keys listed at most when a reader lists a table's metadata folder itself (the
/// planner's listing did not reach it). A log longer than this has no recent checkpoint.
pub const MAX_LOG_KEYS: usize = 100_000;

/// What a table's metadata says, for its container.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The format.
    pub format: TableFormat,
    /// The current schema's columns (partition columns first for Delta), within one node
    /// and one level past the tree limits, as every reader (the caller cuts them).
    pub columns: Vec<Column>,
    /// The table is partitioned.
    pub is_partitioned: bool,
    /// One line for the container's description: format, version, partitioning.
    pub description: String,
}

/// Why a table could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A read or listing failed (the store's error names the object).
    #[error(transparent)]
    Store(#[from] store::Error),
    /// A metadata file is missing, too large or not what its format says.
    #[error("s3://{bucket}/{key}: {problem}")]
    Invalid {
        /// Bucket.
        bucket: String,
        /// The metadata file (or folder) concerned.
        key: String,
        /// What is wrong.
        problem: Problem,
    },
    /// A reader panicked (caught; a bug in s3meta).
    #[error("s3://{bucket}/{key}: {source}")]
    Panicked {
        /// Bucket.
        bucket: String,
        /// The metadata file being decoded.
        key: String,
        /// The panic.
        source: cpu::Panicked,
    },
}

/// What is wrong with one metadata file.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// Not JSON.
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Valid JSON (or parquet), but not what the format's specification says.
    #[error("{0}")]
    Format(String),
    /// Larger than `maxDocumentBytes`, as its listing says: not read.
    #[error("{size} bytes, over the {cap}-byte maxDocumentBytes limit: not read")]
    TooLarge {
        /// Its size.
        size: u64,
        /// The cap.
        cap: u64,
    },
    /// A file the table's metadata points to is not there.
    #[error("{0}")]
    Missing(String),
    /// A Delta checkpoint's footer.
    #[error("checkpoint footer: {0}")]
    Footer(#[from] crate::infer::FooterError),
    /// A Delta checkpoint's `metaData` column chunks.
    #[error("checkpoint data: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// parquet-rs panicked decoding a Delta checkpoint's pages (caught; a parquet-rs bug
    /// reachable from hostile input).
    #[error("parquet-rs panicked decoding the checkpoint's metaData chunks: {0}")]
    Decoder(crate::infer::cpu::Panicked),
    /// A Hudi table's Avro schema.
    #[error("Avro schema: {0}")]
    Avro(#[from] crate::infer::AvroSchemaError),
}

/// The store, the bucket and the caps one table is read with; every error names the file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Io<'a> {
    pub(crate) store: &'a dyn ObjectStore,
    pub(crate) bucket: &'a str,
    pub(crate) limits: &'a Limits,
}

impl Io<'_> {
    /// The error for `key`.
    pub(crate) fn invalid(&self, key: &str, problem: impl Into<Problem>) -> Error {
        Error::Invalid {
            bucket: self.bucket.to_string(),
            key: key.to_string(),
            problem: problem.into(),
        }
    }

    /// A whole metadata document, within `maxDocumentBytes`; refused without a read when
    /// `size` (from a listing) is already over it. `None` when it does not exist.
    pub(crate) async fn document(
        &self,
        key: &str,
        size: Option<u64>,
    ) -> Result<Option<Bytes>, Error> {
        let cap = self.limits.max_document;
        if let Some(size) = size.filter(|s| *s > cap) {
            return Err(self.invalid(key, Problem::TooLarge { size, cap }));
        }
        match self.store.get_small(self.bucket, key, cap).await {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) if e.kind == ErrorKind::Corrupt && e.key.as_deref() == Some(key) => {
                // `get_small` read one byte past the cap: the object is larger.
                Err(self.invalid(
                    key,
                    Problem::Format(format!(
                        "larger than the {cap}-byte maxDocumentBytes limit: not read"
                    )),
                ))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A document that must exist.
    pub(crate) async fn required(&self, key: &str, size: Option<u64>) -> Result<Bytes, Error> {
        self.document(key, size)
            .await?
            .ok_or_else(|| self.invalid(key, Problem::Missing("not found".into())))
    }

    /// Every key under `prefix`, up to [`MAX_LOG_KEYS`].
    pub(crate) async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, Error> {
        let l = self
            .store
            .list_all(self.bucket, prefix, MAX_LOG_KEYS)
            .await?;
        if l.truncated {
            return Err(self.invalid(
                prefix,
                Problem::Format(format!("more than {MAX_LOG_KEYS} keys: not read")),
            ));
        }
        Ok(l.objects)
    }

    /// Runs CPU work (a parse) on the blocking pool; a panic becomes an error naming `key`.
    pub(crate) async fn cpu<T: Send + 'static>(
        &self,
        key: &str,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        cpu::blocking(f).await.map_err(|source| Error::Panicked {
            bucket: self.bucket.to_string(),
            key: key.to_string(),
            source,
        })
    }
}

/// Reads the table at `root` (a folder, without a trailing `/`). `log` is what the planner
/// listed under the table's metadata folder, when its listing was complete: readers then
/// list nothing themselves.
pub async fn read(
    store: &dyn ObjectStore,
    bucket: &str,
    root: &str,
    format: TableFormat,
    log: Option<&[ObjectMeta]>,
    limits: &Limits,
) -> Result<Table, Error> {
    let io = Io {
        store,
        bucket,
        limits,
    };
    match format {
        TableFormat::Delta => delta::read(&io, root, log).await,
        TableFormat::Iceberg => iceberg::read(&io, root, log).await,
        TableFormat::Hudi => hudi::read(&io, root, log).await,
    }
}

/// The table a key lies in, from the key alone: the folder that holds `_delta_log/`,
/// `.hoodie/`, or `metadata/` with a `*.metadata.json` or `version-hint.text` directly in
/// it. The outermost such folder wins (a table's own files never make another table).
/// `None` for a key in no table, and for a marker at the bucket root (no folder to name).
pub fn marker_root(key: &str) -> Option<(&str, TableFormat)> {
    let segs: Vec<&str> = key.split('/').collect();
    let last = segs.len().checked_sub(1)?;
    let mut at = 0;
    for (i, s) in segs.iter().enumerate() {
        let format = match *s {
            "_delta_log" if i < last && is_delta_log_file(segs[last]) => Some(TableFormat::Delta),
            ".hoodie" if i < last => Some(TableFormat::Hudi),
            "metadata"
                if i + 1 == last
                    && (segs[last].ends_with(".metadata.json")
                        || segs[last] == "version-hint.text") =>
            {
                Some(TableFormat::Iceberg)
            }
            _ => None,
        };
        if let Some(f) = format {
            // `at` is the byte offset of this segment: the root is everything before it.
            return (at > 0).then(|| (&key[..at - 1], f));
        }
        at += s.len() + 1;
    }
    None
}

/// A Delta log's own file names: `_last_checkpoint`, or `<20-digit version>.…` (commits,
/// checkpoints, checksums). Another file in a folder named `_delta_log` (a stray copy, a
/// test's artifact) does not make a table.
fn is_delta_log_file(name: &str) -> bool {
    name == "_last_checkpoint"
        || (name.len() > 21
            && name.as_bytes()[..20].iter().all(u8::is_ascii_digit)
            && name.as_bytes()[20] == b'.')
}

/// The tables among listed keys, by root. A table found inside another's folder (its
/// files are the outer table's) is not one of its own.
pub fn roots<'a>(keys: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, TableFormat> {
    let mut found: BTreeMap<String, TableFormat> = BTreeMap::new();
    for key in keys {
        if let Some((root, f)) = marker_root(key) {
            if !found.contains_key(root) {
                found.insert(root.to_string(), f);
            }
        }
    }
    // The map is in key order, so an outer root comes before any root inside it: drop the
    // inner ones.
    let mut out: BTreeMap<String, TableFormat> = BTreeMap::new();
    for (root, f) in found {
        if containing(&out, &root).is_none() {
            out.insert(root, f);
        }
    }
    out
}

/// The table of `tables` that `path` (a key or folder) is, or lies in.
pub fn containing<'a>(
    tables: &'a BTreeMap<String, TableFormat>,
    path: &str,
) -> Option<(&'a str, TableFormat)> {
    // Each ancestor folder of `path`, outermost first, then `path` itself: a few lookups.
    path.match_indices('/')
        .map(|(i, _)| &path[..i])
        .chain(std::iter::once(path))
        .find_map(|p| tables.get_key_value(p))
        .map(|(r, f)| (r.as_str(), *f))
}

/// The keys of `objects` that lie in the metadata folder of the table at `root`.
pub fn metadata_keys(objects: &[ObjectMeta], root: &str, format: TableFormat) -> Vec<ObjectMeta> {
    let prefix = format!("{root}/{}/", format.metadata_folder());
    objects
        .iter()
        .filter(|o| o.key.starts_with(&prefix))
        .cloned()
        .collect()
}

/// The size a listing gives for `key`, if it listed it.
pub(crate) fn listed_size(log: Option<&[ObjectMeta]>, key: &str) -> Option<u64> {
    log?.iter().find(|o| o.key == key).map(|o| o.size)
}

/// Recursion over a foreign type tree stops here: one level past `maxColumnDepth`, so that
/// `bound::cut` sees the excess and warns. Deeper nodes are not built at all.
/// The `fields` of a JSON struct type (Delta's `schemaString`, Iceberg's schemas), each
/// with its `name` and `type`, in order: the one reading of that shape both formats share.
pub(crate) fn struct_fields(
    v: &serde_json::Value,
) -> Result<
    impl Iterator<Item = Result<(&serde_json::Value, &str, &serde_json::Value), Problem>>,
    Problem,
> {
    use serde_json::Value;
    let list = v
        .get("fields")
        .and_then(Value::as_array)
        .ok_or_else(|| Problem::Format("a struct type without `fields`".into()))?;
    Ok(list.iter().map(|f| {
        let name = f
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| Problem::Format("a struct field without a `name`".into()))?;
        let t = f
            .get("type")
            .ok_or_else(|| Problem::Format(format!("field `{name}` has no `type`")))?;
        Ok((f, name, t))
    }))
}

pub(crate) fn too_deep(depth: usize, limits: &Limits) -> bool {
    depth > limits.tree.max_depth + 1
}

/// Test support for the readers' fuzz targets: the depth and size of a column tree.
#[cfg(test)]
pub(crate) fn tree_size(cols: &[Column]) -> (usize, usize) {
    let mut depth = 0;
    let mut nodes = 0;
    let mut stack: Vec<(&Column, usize)> = cols.iter().map(|c| (c, 1)).collect();
    while let Some((c, d)) = stack.pop() {
        nodes += 1;
        depth = depth.max(d);
        for k in c.children.iter().flatten() {
            stack.push((k, d + 1));
        }
    }
    (depth, nodes)
}

/// The limits the fuzz targets build within, small so that mutations reach them.
#[cfg(test)]
pub(crate) const FUZZ_TREE: crate::infer::bound::TreeLimits = crate::infer::bound::TreeLimits {
    max_depth: 8,
    max_nodes: 100,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_name_their_table_root() {
        let cases: &[(&str, Option<(&str, TableFormat)>)] = &[
            (
                "lake/sales/_delta_log/00000000000000000000.json",
                Some(("lake/sales", TableFormat::Delta)),
            ),
            (
                "lake/t/.hoodie/hoodie.properties",
                Some(("lake/t", TableFormat::Hudi)),
            ),
            (
                "lake/ev/metadata/00001-abc.metadata.json",
                Some(("lake/ev", TableFormat::Iceberg)),
            ),
            (
                "lake/ev/metadata/version-hint.text",
                Some(("lake/ev", TableFormat::Iceberg)),
            ),
            // Not markers: a manifest list, a data file, a folder merely named metadata.
            ("lake/ev/metadata/snap-1.avro", None),
            ("lake/sales/region=eu/part-0.parquet", None),
            ("lake/metadata/x/y.metadata.json", None),
            ("lake/_delta_log", None),
            ("lake/events/_delta_log/00.parquet", None),
            (
                "t/_delta_log/_last_checkpoint",
                Some(("t", TableFormat::Delta)),
            ),
            // At the bucket root: no folder to name.
            ("_delta_log/00000000000000000000.json", None),
            // The outermost marker wins.
            (
                "a/.hoodie/b/_delta_log/00000000000000000000.json",
                Some(("a", TableFormat::Hudi)),
            ),
        ];
        for (key, want) in cases {
            assert_eq!(marker_root(key), *want, "{key}");
        }
    }

    #[test]
    fn roots_skip_tables_inside_tables_and_contain_their_folders() {
        let keys = [
            "lake/a/_delta_log/00000000000000000000.json",
            "lake/a/sub/.hoodie/hoodie.properties",
            "lake/ab/metadata/v1.metadata.json",
            "lake/c/x.parquet",
        ];
        let t = roots(keys);
        assert_eq!(
            t.into_iter().collect::<Vec<_>>(),
            vec![
                ("lake/a".to_string(), TableFormat::Delta),
                ("lake/ab".to_string(), TableFormat::Iceberg)
            ]
        );
        let t = roots(keys);
        assert_eq!(
            containing(&t, "lake/a/region=eu"),
            Some(("lake/a", TableFormat::Delta))
        );
        assert_eq!(
            containing(&t, "lake/a"),
            Some(("lake/a", TableFormat::Delta))
        );
        assert_eq!(
            containing(&t, "lake/ab/data/x.parquet"),
            Some(("lake/ab", TableFormat::Iceberg))
        );
        assert_eq!(containing(&t, "lake/abc"), None);
        assert_eq!(containing(&t, "lake/c/x.parquet"), None);
        assert_eq!(containing(&t, "lake"), None);
    }
}
