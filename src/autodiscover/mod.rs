//! Dataset discovery (issue #13): from a bucket's listing alone, the datasets a person would
//! name — one per folder of files that share a format, with the partition folders below it
//! as its partitions, and one per Delta/Iceberg/Hudi table — plus every key left out and why.
//!
//! Everything here is a pure function over [`ObjectMeta`] lists except [`list_bucket`], the
//! one bounded listing it starts from. It reads no object: a file's format comes from its
//! name ([`format_of`], the one place content sniffing will be consulted). What the datasets
//! become — manifest entries, explanations — lives in [`suggest`]; the column types of the
//! files are the ingest's business, as for any manifest entry.

pub mod partitions;
pub mod suggest;

use crate::format::TableFormat;
use crate::plan::artifact::{is_artifact, is_cold};
use crate::plan::glob;
use crate::store::{self, ObjectMeta, ObjectStore};
use crate::table;
use std::collections::BTreeMap;
use std::fmt;

/// Keys of one dataset kept for `--explain`; the rest are only counted.
const KEYS_KEPT: usize = 5;

/// The `structureFormat` of a key, from its name: `.parquet`, `.snappy.parquet`, `.csv.gz`,
/// `.jsonl`… `None` when the name says nothing (no extension, an image, a log).
///
/// This is the one place where discovery asks for a file's format: content sniffing
/// (`infer::sniff`) is to be consulted here for the keys whose name says nothing.
pub fn format_of(key: &str) -> Option<&'static str> {
    glob::format_from_extension(key)
}

/// What content sniffing found, per folder: the `structureFormat` of the folder's files
/// whose names say nothing (one file sniffed per folder, see [`sniff_folders`]).
pub type Sniffed = BTreeMap<String, &'static str>;

/// The format of `key`: its extension, else what sniffing found in its folder.
fn format_with(key: &str, sniffed: &Sniffed) -> Option<&'static str> {
    format_of(key).or_else(|| {
        let folder = key.rsplit_once('/').map_or("", |(f, _)| f);
        sniffed.get(folder).copied()
    })
}

/// Sniffs one file per folder among the keys whose names say nothing (no extension: Kinesis
/// Firehose objects, exports), with one bounded ranged read each
/// (`infer::sniff::format_of`), at most `max_folders` folders. Artifacts, folder markers,
/// cold objects and empty files are not read. Compression is not part of the result
/// (`json`, not `json.gz`): the reader finds it in the bytes again. Archives and formats
/// without a reader give nothing.
pub async fn sniff_folders(
    store: &dyn crate::store::ObjectStore,
    bucket: &str,
    objects: &[ObjectMeta],
    limits: &crate::infer::Limits,
    max_folders: usize,
) -> Sniffed {
    let mut pick: BTreeMap<&str, &ObjectMeta> = BTreeMap::new();
    for o in objects {
        let key = o.key.as_str();
        if key.ends_with('/')
            || is_artifact(key)
            || is_cold(o.storage_class.as_deref())
            || o.size == 0
            || format_of(key).is_some()
            // Only names with no extension at all: an image or a log says what it is.
            || key.rsplit('/').next().is_some_and(|name| name.contains('.'))
        {
            continue;
        }
        let folder = key.rsplit_once('/').map_or("", |(f, _)| f);
        if pick.len() >= max_folders && !pick.contains_key(folder) {
            continue;
        }
        // The newest file of the folder: the one a run would sample.
        let e = pick.entry(folder).or_insert(o);
        if o.last_modified > e.last_modified {
            *e = o;
        }
    }
    let mut out = Sniffed::new();
    for (folder, o) in pick {
        let format = match crate::infer::sniff::format_of(store, bucket, o, limits).await {
            Ok(Some(sniffed)) => match sniffed.format() {
                Some(f) => f,
                None => continue,
            },
            _ => continue,
        };
        let name = format.name();
        let base = name.strip_suffix(".gz").unwrap_or(name);
        // JSON Lines and records back to back are declared `json`, as the reference names them.
        let base = if base.starts_with("json") {
            "json"
        } else {
            base
        };
        if let Some(known) = glob::format_from_extension(&format!("x.{base}")) {
            out.insert(folder.to_string(), known);
        }
    }
    out
}

/// Why a key is in no dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// A folder marker (a key ending in `/`).
    FolderMarker,
    /// A Spark/Hadoop artifact (`_SUCCESS`, `.crc`, `_temporary/`, …).
    Artifact,
    /// A Glacier-class object, unreadable without a restore.
    ColdStorage,
    /// Its name names no structured format (and nothing sniffed one).
    UnknownFormat,
    /// A file at the bucket root: no folder to name a container after.
    BucketRoot,
    /// Its folder's main dataset has another format; a container can have only one.
    MixedFolder,
    /// Its dataset's folder has `*` or `?` in its name, which a manifest's `dataPath` reads
    /// as a glob: no entry can name it.
    GlobCharacters,
}

impl Reason {
    /// The reason as reports print it.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::FolderMarker => "folder marker",
            Reason::Artifact => "artifact",
            Reason::ColdStorage => "cold storage class",
            Reason::UnknownFormat => "unknown format",
            Reason::BucketRoot => "at the bucket root",
            Reason::MixedFolder => "another format's dataset holds this folder",
            Reason::GlobCharacters => {
                "its folder's name has * or ?, which a dataPath reads as a glob"
            }
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of dataset was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Files of one format (`parquet`, `csv`, `json`, …: a `structureFormat` value).
    Files(&'static str),
    /// An open table, read from its own metadata.
    Table(TableFormat),
}

impl Kind {
    /// The `structureFormat` value the dataset gets.
    pub fn structure_format(self) -> &'static str {
        match self {
            Kind::Files(f) => f,
            Kind::Table(t) => t.structure_format(),
        }
    }
}

/// One dataset found.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Its root folder (no leading or trailing `/`).
    pub root: String,
    /// Files of a format, or a table.
    pub kind: Kind,
    /// True when its files sit under partition folders.
    pub partitioned: bool,
    /// Partition columns named from the folders (name, DataType), when every file agrees.
    pub partition_columns: Vec<(String, &'static str)>,
    /// Number of keys that made it.
    pub files: usize,
    /// The first few of them, in key order.
    pub keys: Vec<String>,
    /// True when some file sits directly in the root (not under a partition or sub-folder).
    pub flat_files: bool,
}

/// A key left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOut {
    /// The key.
    pub key: String,
    /// Why.
    pub reason: Reason,
}

/// What discovery found in one listing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Discovery {
    /// Datasets, by root then format.
    pub datasets: Vec<Dataset>,
    /// Keys in no dataset, in key order.
    pub left_out: Vec<LeftOut>,
    /// True when the listing stopped at the key cap: keys past it were not seen.
    pub truncated: bool,
    /// Keys listed.
    pub listed: usize,
}

/// Lists a bucket for discovery: at most `cap` keys (the rest are not looked at; the
/// result says so), with the store's parallel listing.
pub async fn list_bucket(
    store: &dyn ObjectStore,
    bucket: &str,
    cap: usize,
    width: usize,
) -> store::Result<store::Listing> {
    let listing = store.list_split(bucket, "", cap, width).await?;
    if listing.truncated {
        tracing::warn!(
            bucket,
            cap,
            "Discovery stopped after {cap} keys in bucket {bucket} (globScanLimit); keys past them were not examined."
        );
    }
    Ok(listing)
}

/// The datasets of a listing, formats from names only. `truncated` is carried into the
/// result.
pub fn discover(objects: &[ObjectMeta], truncated: bool) -> Discovery {
    discover_with(objects, truncated, &Sniffed::new())
}

/// [`discover`], with the formats sniffing found for files whose names say nothing.
pub fn discover_with(objects: &[ObjectMeta], truncated: bool, sniffed: &Sniffed) -> Discovery {
    let tables = table::roots(objects.iter().map(|o| o.key.as_str()));
    let mut out = Discovery {
        truncated,
        listed: objects.len(),
        ..Discovery::default()
    };
    // (root, format) → files with their partition levels.
    struct Group {
        files: usize,
        keys: Vec<String>,
        levels: Vec<Vec<partitions::Level>>,
        partitioned: bool,
        flat: bool,
    }
    let mut groups: BTreeMap<(String, &'static str), Group> = BTreeMap::new();
    let mut table_sets: BTreeMap<String, (TableFormat, usize, Vec<String>)> = BTreeMap::new();
    for root in tables.keys() {
        if let Some(f) = tables.get(root) {
            table_sets.insert(root.clone(), (*f, 0, Vec::new()));
        }
    }
    for o in objects {
        let key = o.key.as_str();
        if let Some((root, _)) = table::containing(&tables, key) {
            if let Some(t) = table_sets.get_mut(root) {
                t.1 += 1;
                if t.2.len() < KEYS_KEPT {
                    t.2.push(key.to_string());
                }
            }
            continue;
        }
        let reason = if key.ends_with('/') {
            Some(Reason::FolderMarker)
        } else if is_artifact(key) {
            Some(Reason::Artifact)
        } else if is_cold(o.storage_class.as_deref()) {
            Some(Reason::ColdStorage)
        } else {
            None
        };
        if let Some(reason) = reason {
            out.left_out.push(LeftOut {
                key: key.to_string(),
                reason,
            });
            continue;
        }
        let Some(format) = format_with(key, sniffed) else {
            out.left_out.push(LeftOut {
                key: key.to_string(),
                reason: Reason::UnknownFormat,
            });
            continue;
        };
        let segs: Vec<&str> = key.split('/').collect();
        let folders = &segs[..segs.len() - 1];
        let (root_len, levels) = match partitions::split(folders) {
            Some((start, levels)) => (start, Some(levels)),
            None => (folders.len(), None),
        };
        if root_len == 0 {
            out.left_out.push(LeftOut {
                key: key.to_string(),
                reason: Reason::BucketRoot,
            });
            continue;
        }
        let root = folders[..root_len].join("/");
        if crate::plan::glob::is_glob(&root) {
            out.left_out.push(LeftOut {
                key: key.to_string(),
                reason: Reason::GlobCharacters,
            });
            continue;
        }
        let g = groups.entry((root, format)).or_insert(Group {
            files: 0,
            keys: Vec::new(),
            levels: Vec::new(),
            partitioned: false,
            flat: false,
        });
        g.files += 1;
        if g.keys.len() < KEYS_KEPT {
            g.keys.push(key.to_string());
        }
        match levels {
            Some(l) => {
                g.partitioned = true;
                g.levels.push(l);
            }
            None => {
                g.flat = true;
                // A flat file among partitioned ones: columns cannot be named.
                g.levels.push(Vec::new());
            }
        }
    }
    for (root, (format, files, keys)) in table_sets {
        out.datasets.push(Dataset {
            root,
            kind: Kind::Table(format),
            partitioned: false,
            partition_columns: vec![],
            files,
            keys,
            flat_files: false,
        });
    }
    for ((root, format), g) in groups {
        let partition_columns = if g.partitioned {
            partitions::columns(&g.levels)
        } else {
            vec![]
        };
        out.datasets.push(Dataset {
            root,
            kind: Kind::Files(format),
            partitioned: g.partitioned,
            partition_columns,
            files: g.files,
            keys: g.keys,
            flat_files: g.flat,
        });
    }
    out.datasets
        .sort_by(|a, b| a.root.cmp(&b.root).then(b.files.cmp(&a.files)));
    out.left_out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

/// Splits the datasets into those a manifest can name and those it cannot: a container is
/// named by its folder, so a folder mixing formats keeps its largest dataset (most files,
/// ties by format name) and the others' keys are left out ([`Reason::MixedFolder`]).
pub fn one_per_root(d: &Discovery) -> (Vec<&Dataset>, Vec<&Dataset>) {
    let mut kept: Vec<&Dataset> = Vec::new();
    let mut dropped = Vec::new();
    let mut by_root: BTreeMap<&str, Vec<&Dataset>> = BTreeMap::new();
    for ds in &d.datasets {
        by_root.entry(ds.root.as_str()).or_default().push(ds);
    }
    for (_, mut list) in by_root {
        // Tables first, then most files, then format name.
        list.sort_by(|a, b| {
            matches!(b.kind, Kind::Table(_))
                .cmp(&matches!(a.kind, Kind::Table(_)))
                .then(b.files.cmp(&a.files))
                .then(a.kind.structure_format().cmp(b.kind.structure_format()))
        });
        let mut it = list.into_iter();
        if let Some(first) = it.next() {
            kept.push(first);
        }
        dropped.extend(it);
    }
    (kept, dropped)
}

#[cfg(test)]
mod tests;
