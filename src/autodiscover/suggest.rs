//! Datasets → the bucket manifest (`openmetadata.json`) that describes them, in the
//! reference's own entry kinds, and the explanation of each choice.
//!
//! The manifest is written first and parsed back with [`parse_bucket_manifest`]: the entries
//! `autoDiscovery` ingests are exactly those `manifest suggest` writes, so ingesting with
//! either gives the same containers.

use super::{one_per_root, Dataset, Discovery, Kind, Reason};
use crate::manifest::{parse_bucket_manifest, Entry, ManifestError};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// What the suggestion covers besides structured datasets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Also catalogue the folders of files no format was found for, as
    /// `unstructuredFormats` entries (by extension).
    pub unstructured: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonEntry {
    data_path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    structure_format: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    separator: Option<&'static str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    is_partitioned: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    partition_columns: Option<Vec<JsonColumn>>,
    #[serde(skip_serializing_if = "is_zero")]
    depth: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    unstructured_formats: Option<Vec<String>>,
    /// The roots of the datasets the entry stands for (for `--explain`).
    #[serde(skip)]
    members: Vec<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Sibling datasets at least this many make one `depth: 1` entry of their parent folder.
const DEPTH_SIBLINGS: usize = 3;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonColumn {
    name: String,
    data_type: &'static str,
}

#[derive(Serialize)]
struct JsonManifest {
    entries: Vec<JsonEntry>,
}

/// Compression suffixes that travel with a file's format extension in a glob.
const WRAPPERS: &[&str] = &["gz", "zip", "snappy", "bz2", "zst", "lz4"];

/// The file-name suffix a glob can select a dataset's files by: `.parquet`,
/// `.snappy.parquet` → `.parquet`, `.csv.gz`; `None` when its files disagree.
fn shared_suffix(keys: &[String]) -> Option<String> {
    let mut found: Option<String> = None;
    for k in keys {
        let name = k.rsplit('/').next().unwrap_or(k);
        let parts: Vec<&str> = name.split('.').collect();
        if parts.len() < 2 {
            return None;
        }
        let last = parts[parts.len() - 1];
        let suffix = if WRAPPERS.contains(&last.to_ascii_lowercase().as_str()) && parts.len() >= 3 {
            format!(".{}.{last}", parts[parts.len() - 2])
        } else {
            format!(".{last}")
        };
        if suffix.contains(['*', '?']) {
            return None;
        }
        match &found {
            None => found = Some(suffix),
            Some(f) if *f != suffix => return None,
            Some(_) => {}
        }
    }
    found
}

/// How a dataset is written as an entry, and why, for `--explain`.
fn entry_of(ds: &Dataset, nested: bool) -> (JsonEntry, String) {
    let format = ds.kind.structure_format();
    let mut why = match ds.kind {
        Kind::Table(t) => format!("a {} table: its metadata folder marks the root", t.title()),
        Kind::Files(f) => format!("{} file(s) named as {f}", ds.files),
    };
    let mut data_path = ds.root.clone();
    if let Kind::Files(_) = ds.kind {
        if nested && !ds.partitioned {
            // Another dataset lies below this one: a literal path would take its files as
            // samples too; a glob of this folder's own files does not.
            match shared_suffix(&ds.keys) {
                Some(s) => {
                    data_path = format!("{}/*{s}", ds.root);
                    why.push_str(&format!(
                        "; a glob of its own files, since another dataset lies below {}/",
                        ds.root
                    ));
                }
                None => why.push_str("; another dataset lies below it, and its files' names share no suffix a glob could select: its samples may come from below"),
            }
        }
    }
    if ds.partitioned {
        if ds.partition_columns.is_empty() {
            why.push_str(
                "; partitioned (its partition folders differ between files, so no column is named)",
            );
        } else {
            let cols: Vec<String> = ds
                .partition_columns
                .iter()
                .map(|(n, t)| format!("{n} {t}"))
                .collect();
            why.push_str(&format!("; partitioned by {}", cols.join(", ")));
        }
    }
    let entry = JsonEntry {
        data_path,
        structure_format: Some(format),
        separator: (format == "tsv").then_some("\t"),
        is_partitioned: ds.partitioned,
        partition_columns: (!ds.partition_columns.is_empty()).then(|| {
            ds.partition_columns
                .iter()
                .map(|(n, t)| JsonColumn {
                    name: n.clone(),
                    data_type: t,
                })
                .collect()
        }),
        depth: 0,
        unstructured_formats: None,
        members: vec![ds.root.clone()],
    };
    (entry, why)
}

fn within(inner: &str, outer: &str) -> bool {
    inner == outer
        || inner
            .strip_prefix(outer)
            .is_some_and(|r| r.starts_with('/'))
}

fn parent_of(root: &str) -> Option<&str> {
    root.rfind('/').map(|i| &root[..i])
}

/// Parent folders whose sibling datasets one `depth: 1` entry describes exactly: at least
/// [`DEPTH_SIBLINGS`] unpartitioned datasets of one format one folder below the parent, no
/// dataset inside any of them, and nothing else under the parent that depth discovery would
/// make a container of (another dataset, a table, a folder of unknown or cold files). Files
/// directly in the parent are ignored by depth discovery, as by literal entries. Returns
/// parent → (format, sibling roots).
fn depth_groups<'a>(
    d: &Discovery,
    kept: &[&'a Dataset],
) -> BTreeMap<String, (&'static str, Vec<&'a Dataset>)> {
    let mut by_parent: BTreeMap<(&str, &'static str), Vec<&Dataset>> = BTreeMap::new();
    for ds in kept {
        let Kind::Files(f) = ds.kind else { continue };
        if ds.partitioned
            || kept
                .iter()
                .any(|o| o.root != ds.root && within(&o.root, &ds.root))
        {
            continue;
        }
        if let Some(p) = parent_of(&ds.root) {
            by_parent.entry((p, f)).or_default().push(ds);
        }
    }
    let mut out = BTreeMap::new();
    for ((parent, format), sibs) in by_parent {
        if sibs.len() < DEPTH_SIBLINGS || out.contains_key(parent) {
            continue;
        }
        let is_sibling = |path: &str| sibs.iter().any(|s| within(path, &s.root));
        let below = format!("{parent}/");
        let other_dataset = d
            .datasets
            .iter()
            .any(|o| o.root.starts_with(&below) && !is_sibling(&o.root));
        let other_key = d.left_out.iter().any(|l| {
            let inside = l.key.strip_prefix(&below).is_some_and(|r| r.contains('/'));
            inside
                && !matches!(l.reason, Reason::Artifact | Reason::FolderMarker)
                && !is_sibling(&l.key)
        });
        if !other_dataset && !other_key {
            out.insert(parent.to_string(), (format, sibs));
        }
    }
    out
}

/// Unstructured folders and the file-name suffixes found in each.
type Folders = BTreeMap<String, BTreeSet<String>>;

/// The unstructured folders of the keys left out for an unknown format: per folder above
/// any partition folders, the extensions of its files (files without one cannot be named
/// by a suffix and stay out). A folder inside another is merged into it (an
/// `unstructuredFormats` entry lists its whole folder). A folder that is, holds or lies in
/// a structured dataset's root is not suggested: its containers would collide with the
/// dataset's; its keys stay out (second value, with the dataset's root).
fn unstructured_folders(
    d: &Discovery,
    structured: &[&Dataset],
) -> (Folders, Vec<(String, String)>) {
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for l in d
        .left_out
        .iter()
        .filter(|l| l.reason == Reason::UnknownFormat)
    {
        let segs: Vec<&str> = l.key.split('/').collect();
        let folders = &segs[..segs.len() - 1];
        let end = super::partitions::split(folders)
            .map(|(s, _)| s)
            .unwrap_or(folders.len());
        if end == 0 {
            continue;
        }
        let name = segs[segs.len() - 1];
        let Some(dot) = name.rfind('.').filter(|&i| i > 0 && i + 1 < name.len()) else {
            continue;
        };
        found
            .entry(folders[..end].join("/"))
            .or_default()
            .insert(name[dot..].to_string());
    }
    // Key order puts an ancestor before the folders inside it.
    let mut merged: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (folder, exts) in found {
        let ancestor = merged.keys().find(|a| within(&folder, a)).cloned();
        match ancestor {
            Some(a) => merged.entry(a).or_default().extend(exts),
            None => {
                merged.insert(folder, exts);
            }
        }
    }
    let mut clashes = Vec::new();
    merged.retain(|folder, _| {
        match structured
            .iter()
            .find(|ds| within(folder, &ds.root) || within(&ds.root, folder))
        {
            Some(ds) => {
                clashes.push((folder.clone(), ds.root.clone()));
                false
            }
            None => true,
        }
    });
    (merged, clashes)
}

/// The manifest, the reason for each of its entries, and notes on what was not suggested.
fn build(d: &Discovery, opts: Options) -> (JsonManifest, Vec<String>, Vec<String>) {
    let (kept, _) = one_per_root(d);
    let mut entries = Vec::new();
    let mut whys = Vec::new();
    let mut notes = Vec::new();
    let groups = depth_groups(d, &kept);
    let grouped = |root: &str| {
        parent_of(root)
            .and_then(|p| groups.get(p))
            .is_some_and(|(_, sibs)| sibs.iter().any(|s| s.root == root))
    };
    for (parent, (format, sibs)) in &groups {
        whys.push(format!(
            "depth 1: {} datasets of {format} one folder below {parent}/ ({}), and nothing else below it",
            sibs.len(),
            sibs.iter()
                .map(|s| s.root.rsplit('/').next().unwrap_or(&s.root))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        entries.push(JsonEntry {
            data_path: parent.clone(),
            structure_format: Some(format),
            separator: (*format == "tsv").then_some("\t"),
            is_partitioned: false,
            partition_columns: None,
            depth: 1,
            unstructured_formats: None,
            members: sibs.iter().map(|s| s.root.clone()).collect(),
        });
    }
    for ds in &kept {
        if grouped(&ds.root) {
            continue;
        }
        let below = format!("{}/", ds.root);
        let nested = kept.iter().any(|o| o.root.starts_with(&below));
        let (e, why) = entry_of(ds, nested);
        entries.push(e);
        whys.push(why);
    }
    // Structured entries by path, whichever way they were made.
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by(|&a, &b| entries[a].data_path.cmp(&entries[b].data_path));
    let mut slots: Vec<Option<(JsonEntry, String)>> =
        entries.into_iter().zip(whys).map(Some).collect();
    let (mut entries, mut whys): (Vec<JsonEntry>, Vec<String>) =
        order.iter().filter_map(|&i| slots[i].take()).unzip();
    if opts.unstructured {
        let (folders, clashes) = unstructured_folders(d, &kept);
        for (folder, root) in clashes {
            notes.push(format!(
                "not an unstructured entry: {folder}/, since the dataset {root} is, holds or lies in it"
            ));
        }
        for (folder, exts) in folders {
            whys.push(format!(
                "files with no structured format ({}), catalogued as unstructured as asked",
                exts.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
            entries.push(JsonEntry {
                data_path: folder,
                structure_format: None,
                separator: None,
                is_partitioned: false,
                partition_columns: None,
                depth: 0,
                unstructured_formats: Some(exts.into_iter().collect()),
                members: vec![],
            });
        }
    }
    (JsonManifest { entries }, whys, notes)
}

/// The `openmetadata.json` text describing the datasets (pretty JSON, newline-terminated).
pub fn manifest(d: &Discovery, opts: Options) -> String {
    let (m, _, _) = build(d, opts);
    // Plain strings, numbers and booleans: serialising cannot fail.
    let mut s = serde_json::to_string_pretty(&m).unwrap_or_default();
    s.push('\n');
    s
}

/// The manifest entries of the datasets, as our parser reads [`manifest`]'s text.
pub fn entries(d: &Discovery, opts: Options) -> Result<Vec<Entry>, ManifestError> {
    parse_bucket_manifest(manifest(d, opts).as_bytes())
}

/// What made each entry, and every key left out with its reason.
pub fn explain(bucket: &str, d: &Discovery, opts: Options) -> String {
    let mut s = String::new();
    let (m, whys, notes) = build(d, opts);
    let _ = writeln!(
        s,
        "bucket {bucket}: {} key(s) listed{}",
        d.listed,
        if d.truncated {
            " (stopped at the key cap: keys past it were not examined)"
        } else {
            ""
        }
    );
    let (kept, dropped) = one_per_root(d);
    for (e, why) in m.entries.iter().zip(&whys) {
        let _ = writeln!(
            s,
            "  entry {} ({}): {why}",
            e.data_path,
            e.structure_format.unwrap_or("unstructured")
        );
        for ds in kept.iter().filter(|ds| e.members.contains(&ds.root)) {
            if e.members.len() > 1 {
                let _ = writeln!(s, "    {}/ ({} file(s))", ds.root, ds.files);
            }
            for k in &ds.keys {
                let _ = writeln!(s, "    {k}");
            }
            if ds.files > ds.keys.len() {
                let _ = writeln!(s, "    … and {} more", ds.files - ds.keys.len());
            }
        }
    }
    for ds in dropped {
        let _ = writeln!(
            s,
            "  not an entry: {} file(s) of {} in {}/ (the folder's container is {}'s): {}",
            ds.files,
            ds.kind.structure_format(),
            ds.root,
            kept.iter()
                .find(|k| k.root == ds.root)
                .map(|k| k.kind.structure_format())
                .unwrap_or("another format"),
            ds.keys.join(", ")
        );
    }
    for n in notes {
        let _ = writeln!(s, "  {n}");
    }
    if !d.left_out.is_empty() {
        let _ = writeln!(s, "  left out:");
        for l in &d.left_out {
            let _ = writeln!(s, "    {}: {}", l.key, l.reason);
        }
    }
    s
}
