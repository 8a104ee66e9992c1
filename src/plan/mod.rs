//! From manifest entries to the containers to build (reference §4.4, §5.1, §5.2, §5.6,
//! §5.7): glob expansion, artifact and filter checks, the structured pass (literal paths,
//! `depth` discovery, archives) then the unstructured pass (literal paths,
//! `unstructuredFormats` folders and files), each in manifest order.
//!
//! The planner lists the bucket and chooses sample files; it reads no object's content and
//! builds no request body. A structured root that holds an open table's marker (Delta,
//! Iceberg, Hudi: [`crate::table`]) becomes one [`Planned::Table`], found from the keys
//! already listed; nothing inside a table becomes a container or a sample.

pub mod artifact;
mod expand;
pub mod glob;
pub mod listing;
mod ordered_permits;

use crate::config::S3metaOptions;
use crate::entity::Column;
use crate::filter::Filter;
use crate::format::{StructureFormat, TableFormat};
use crate::manifest::Entry;
use crate::status::StepStatus;
use crate::store::{Listing, ObjectMeta, ObjectStore};
use crate::table;
use artifact::{is_artifact, is_cold, DEFAULT_EXCLUDE_PATHS};
use futures::stream::{self, StreamExt};
use listing::{BucketIndex, NoIndex};
use std::collections::{BTreeMap, HashSet};

/// Everything the planner needs for one bucket.
#[derive(Debug, Clone, Copy)]
pub struct PlanContext<'a> {
    /// The store.
    pub store: &'a dyn ObjectStore,
    /// The bucket.
    pub bucket: &'a str,
    /// `sourceConfig.config.containerFilterPattern`, applied to each entry's `dataPath`.
    pub filter: &'a Filter,
    /// Limits and concurrency.
    pub opts: &'a S3metaOptions,
}

/// The planner's view of one bucket: the context, plus the bucket's one listing when it
/// was cheaper to list the whole bucket once than each entry's prefix.
#[derive(Debug, Clone, Copy)]
struct Cx<'a> {
    ctx: PlanContext<'a>,
    index: Option<&'a BucketIndex>,
}

impl Cx<'_> {
    /// The keys under `prefix` (at most `limit`), from the index when there is one.
    async fn list(&self, prefix: &str, limit: usize) -> crate::store::Result<Listing> {
        match self.index {
            Some(ix) => Ok(ix.list(prefix, limit)),
            None => {
                let width = self.ctx.opts.entry_concurrency;
                self.ctx
                    .store
                    .list_split(self.ctx.bucket, prefix, limit, width)
                    .await
            }
        }
    }

    /// An object's size, as HEAD answers it (`None` when it is not there or HEAD failed).
    async fn size_of(&self, key: &str) -> Option<u64> {
        match self.index {
            Some(ix) => ix.get(key).map(|o| o.size),
            None => self
                .ctx
                .store
                .head(self.ctx.bucket, key)
                .await
                .ok()
                .map(|m| m.size),
        }
    }
}

/// How many listings (or HEADs) planning `entries` one by one would send at the least.
fn listings_needed(entries: &[Entry]) -> usize {
    entries
        .iter()
        .filter(|e| {
            let literal_object = !glob::is_glob(&e.data_path)
                && match &e.structure_format {
                    Some(f) => f.is_archive(),
                    None => e.unstructured_formats.is_none(),
                };
            !literal_object
        })
        .count()
}

/// A structured container to build, with its sample files.
#[derive(Debug, Clone, PartialEq)]
pub struct StructuredPlan {
    /// Container name: the path with `/` trimmed at both ends.
    pub name: String,
    /// `structureFormat`.
    pub format: StructureFormat,
    /// `separator`.
    pub separator: Option<String>,
    /// `dataModel.isPartitioned`.
    pub is_partitioned: bool,
    /// Columns placed before the inferred ones.
    pub partition_columns: Vec<Column>,
    /// Sample files, best first: newest, ties by key.
    pub samples: Vec<ObjectMeta>,
}

/// An open table to read from its own metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct TablePlan {
    /// Container name: the table's root folder, trimmed.
    pub name: String,
    /// Delta, Iceberg or Hudi.
    pub format: TableFormat,
    /// The keys under the table's metadata folder, when the planner's listing held all of
    /// them (the reader then lists nothing); `None` otherwise.
    pub log: Option<Vec<ObjectMeta>>,
}

/// One container the bucket will get, in emission order.
#[derive(Debug, Clone, PartialEq)]
pub enum Planned {
    /// A structured container (literal, depth-discovered or glob-derived).
    Structured(StructuredPlan),
    /// A Delta, Iceberg or Hudi table at a structured root.
    Table(TablePlan),
    /// An archive object; the workflow reads its members.
    Archive {
        /// The archive key, trimmed.
        name: String,
        /// Its `structureFormat` (`zip`, `tar.gz`, …).
        format: StructureFormat,
        /// Its size, when HEAD answered.
        size: Option<u64>,
    },
    /// A literal unstructured path or a glob `unstructuredData` file.
    Unstructured {
        /// The path, trimmed.
        name: String,
        /// Its size, when known.
        size: Option<u64>,
    },
    /// A folder of an `unstructuredFormats` entry.
    Folder {
        /// Full path of the folder inside the bucket.
        path: String,
        /// Its last segment.
        name: String,
        /// Path of the parent folder; `None` under the bucket.
        parent: Option<String>,
    },
    /// A file of an `unstructuredFormats` entry.
    File {
        /// Its key.
        key: String,
        /// Its last segment.
        name: String,
        /// Path of its folder; `None` at the bucket root.
        parent: Option<String>,
        /// Its size from the listing.
        size: u64,
    },
}

/// An entry after glob expansion, with the objects already listed for it, if any.
#[derive(Debug, Clone)]
struct Expanded {
    entry: Entry,
    listed: Option<Vec<ObjectMeta>>,
    /// A glob's table root that is an open table; `listed` is then its log, if complete.
    table: Option<TableFormat>,
}

fn trimmed(p: &str) -> &str {
    p.trim_matches('/')
}

fn folder_prefix(path: &str) -> String {
    let t = trimmed(path);
    if t.is_empty() {
        String::new()
    } else {
        format!("{t}/")
    }
}

/// Plans every container of a bucket from its resolved manifest entries.
pub async fn plan_bucket(
    ctx: PlanContext<'_>,
    entries: Vec<Entry>,
    status: &mut StepStatus,
) -> Vec<Planned> {
    let n = ctx.opts.entry_concurrency;

    // 0. One listing of the whole bucket when that is cheaper than one per entry.
    let needed = listings_needed(&entries);
    let index = if needed >= 2 && ctx.opts.bucket_listing_cap > 0 {
        match BucketIndex::build(ctx.store, ctx.bucket, needed, ctx.opts.bucket_listing_cap).await {
            Ok(ix) => Some(ix),
            Err(NoIndex::TooLarge) => {
                tracing::debug!(
                    bucket = ctx.bucket,
                    "Bucket too large to list once; listing each entry's prefix."
                );
                None
            }
            Err(NoIndex::Failed(e)) => {
                tracing::debug!(bucket = ctx.bucket, error = %e, "Bucket listing failed; listing each entry's prefix.");
                None
            }
        }
    } else {
        None
    };
    let cx = Cx {
        ctx,
        index: index.as_ref(),
    };

    // 1. Glob expansion, each entry on its own (a failure only skips that entry).
    let expanded: Vec<(Vec<Expanded>, StepStatus)> = stream::iter(entries)
        .map(|e| async move {
            let mut st = StepStatus::default();
            let out = if glob::is_glob(&e.data_path) {
                expand_glob(cx, e, &mut st).await
            } else {
                vec![Expanded {
                    entry: e,
                    listed: None,
                    table: None,
                }]
            };
            (out, st)
        })
        .buffered(n)
        .collect()
        .await;
    let mut kept = Vec::new();
    for (list, st) in expanded {
        status.absorb(st);
        // 2. Artifacts, then containerFilterPattern, on every expanded dataPath.
        for x in list {
            let scope = format!("{}/{}", ctx.bucket, x.entry.data_path);
            if is_artifact(trimmed(&x.entry.data_path)) {
                status.filter(scope, "Default exclude (Spark artifact)");
            } else if ctx.filter.excludes(&x.entry.data_path) {
                status.filter(scope, "containerFilterPattern excluded");
            } else {
                kept.push(x);
            }
        }
    }

    // 3. Structured pass, in manifest order (concurrent listings, ordered results).
    let structured: Vec<(Vec<Planned>, StepStatus)> = stream::iter(
        kept.iter()
            .filter_map(|x| Some((x, x.entry.structure_format.as_ref()?))),
    )
    .map(|(x, fmt)| async move {
        let mut st = StepStatus::default();
        let out = plan_structured(cx, x, fmt, &mut st).await;
        (out, st)
    })
    .buffered(n)
    .collect()
    .await;
    let mut planned = Vec::new();
    for (p, st) in structured {
        planned.extend(p);
        status.absorb(st);
    }

    // 4. Unstructured pass, in manifest order.
    let unstructured: Vec<(Vec<Planned>, StepStatus)> =
        stream::iter(kept.iter().filter(|x| x.entry.structure_format.is_none()))
            .map(|x| async move {
                let mut st = StepStatus::default();
                let out = plan_unstructured(cx, x, &mut st).await;
                (out, st)
            })
            .buffered(n)
            .collect()
            .await;
    // Folders are created once per bucket, however many entries share them.
    let mut folders = HashSet::new();
    for (p, st) in unstructured {
        status.absorb(st);
        for item in p {
            if let Planned::Folder { path, .. } = &item {
                if !folders.insert(path.clone()) {
                    continue;
                }
            }
            planned.push(item);
        }
    }
    planned
}

async fn plan_structured(
    cx: Cx<'_>,
    x: &Expanded,
    fmt: &StructureFormat,
    st: &mut StepStatus,
) -> Vec<Planned> {
    let ctx = cx.ctx;
    let e = &x.entry;
    let path = trimmed(&e.data_path).to_string();
    let scope = format!("{}/{}", ctx.bucket, path);
    if fmt.is_archive() {
        let size = cx.size_of(&path).await;
        return vec![Planned::Archive {
            name: path,
            format: fmt.clone(),
            size,
        }];
    }
    if fmt.format().is_none() {
        st.fail(
            &scope,
            format!("Error extracting columns from [{scope}] due to: ['{fmt}' is not a valid SupportedTypes]"),
        );
        return vec![];
    }
    if let Some(format) = x.table {
        return vec![Planned::Table(TablePlan {
            name: path,
            format,
            log: x.listed.clone(),
        })];
    }
    if e.depth == 0 {
        return literal(cx, e, fmt, &path, x.listed.clone(), st)
            .await
            .into_iter()
            .collect();
    }
    // Depth discovery: every folder `depth` levels below dataPath becomes its own entry.
    let listing = match cx
        .list(&folder_prefix(&path), ctx.opts.glob_scan_limit)
        .await
    {
        Ok(l) => l,
        Err(err) => {
            st.fail(&scope, format!("depth discovery failed: {err}"));
            return vec![];
        }
    };
    if listing.truncated {
        st.warn(
            &scope,
            format!(
                "depth discovery stopped after {} keys",
                ctx.opts.glob_scan_limit
            ),
        );
    }
    let base = if path.is_empty() {
        0
    } else {
        path.split('/').count()
    };
    let keep = base + e.depth as usize;
    // Tables among the keys: a folder that is (or lies in) one is that table; a table's
    // keys are never samples of a folder around it.
    let tables = table::roots(listing.objects.iter().map(|o| o.key.as_str()));
    let mut logs = table_logs(&listing.objects, &tables, listing.truncated);
    let mut by_folder: BTreeMap<String, Vec<ObjectMeta>> = BTreeMap::new();
    for o in listing.objects {
        if o.key.ends_with('/') || is_artifact(&o.key) {
            continue;
        }
        let segs: Vec<&str> = o.key.split('/').collect();
        if segs.len() > keep {
            by_folder.entry(segs[..keep].join("/")).or_default().push(o);
        }
    }
    // A table whose folder holds only its metadata (no data file yet) is still a table.
    for root in tables.keys() {
        if root.split('/').count() <= keep && root.starts_with(&folder_prefix(&path)) {
            by_folder.entry(root.clone()).or_default();
        }
    }
    if by_folder.is_empty() {
        st.warn(
            &scope,
            format!("No folders found {} levels below {path}/", e.depth),
        );
    }
    let mut out = Vec::new();
    for (folder, mut objects) in by_folder {
        let table = table::containing(&tables, &folder)
            .map(|(root, f)| (root.to_string(), f))
            .or_else(|| fmt.table().map(|f| (folder.clone(), f)));
        if let Some((root, format)) = table {
            // Emitted once, at the first of its folders (its root, or one below it).
            if let Some(log) = logs.remove(&root) {
                out.push(Planned::Table(TablePlan {
                    name: root,
                    format,
                    log,
                }));
            } else if !tables.contains_key(&root) {
                out.push(Planned::Table(TablePlan {
                    name: root,
                    format,
                    log: None,
                }));
            }
            continue;
        }
        if !tables.is_empty() {
            objects.retain(|o| table::containing(&tables, &o.key).is_none());
        }
        // DIFF(spec §5.1): folders in key order; the reference uses set order (arbitrary).
        if let Some(p) = structured_literal(cx, e, fmt, &folder, Some(objects), st).await {
            out.push(Planned::Structured(p));
        }
    }
    out
}

/// Each table's log (the keys under its metadata folder) from a listing; `None` for a
/// table whose listing was cut (its reader lists the log itself).
fn table_logs(
    objects: &[ObjectMeta],
    tables: &BTreeMap<String, TableFormat>,
    truncated: bool,
) -> BTreeMap<String, Option<Vec<ObjectMeta>>> {
    let mut logs: BTreeMap<String, Option<Vec<ObjectMeta>>> = tables
        .keys()
        .map(|r| (r.clone(), (!truncated).then(Vec::new)))
        .collect();
    if truncated || tables.is_empty() {
        return logs;
    }
    for o in objects {
        if let Some((root, f)) = table::containing(tables, &o.key) {
            let folder = f.metadata_folder();
            let in_log = o.key[root.len()..]
                .strip_prefix('/')
                .and_then(|rest| rest.strip_prefix(folder))
                .is_some_and(|rest| rest.starts_with('/'));
            if in_log {
                if let Some(Some(log)) = logs.get_mut(root) {
                    log.push(o.clone());
                }
            }
        }
    }
    logs
}

/// A literal structured entry: a table when its root holds a table's marker (or the
/// manifest names a table format), otherwise a structured container of sample files.
async fn literal(
    cx: Cx<'_>,
    e: &Entry,
    fmt: &StructureFormat,
    path: &str,
    listed: Option<Vec<ObjectMeta>>,
    st: &mut StepStatus,
) -> Option<Planned> {
    let ctx = cx.ctx;
    let scope = format!("{}/{}", ctx.bucket, path);
    let (objects, truncated) = match listed {
        Some(o) => (o, false),
        None => match cx
            .list(&folder_prefix(path), ctx.opts.sample_scan_limit)
            .await
        {
            Ok(l) => (l.objects, l.truncated),
            Err(err) => {
                st.fail(&scope, format!("cannot list sample files: {err}"));
                return None;
            }
        },
    };
    let tables = table::roots(objects.iter().map(|o| o.key.as_str()));
    let mut format = tables.get(path).copied().or_else(|| fmt.table());
    if format.is_none() && truncated && fmt.format() == Some(crate::format::Format::Parquet) {
        // `.hoodie/` and `_delta_log/` sort before data files and partition folders, so a
        // cut listing still shows them; Iceberg's `metadata/` sorts after `data/`: one
        // page of it says.
        format = iceberg_probe(cx, path).await;
    }
    if let Some(format) = format {
        let log = (!truncated).then(|| {
            let one = BTreeMap::from([(path.to_string(), format)]);
            table_logs(&objects, &one, false)
                .remove(path)
                .flatten()
                .unwrap_or_default()
        });
        return Some(Planned::Table(TablePlan {
            name: path.to_string(),
            format,
            log,
        }));
    }
    let mut objects = objects;
    if !tables.is_empty() {
        objects.retain(|o| table::containing(&tables, &o.key).is_none());
    }
    structured_literal(cx, e, fmt, path, Some(objects), st)
        .await
        .map(Planned::Structured)
}

/// Whether `path/metadata/` holds an Iceberg metadata file (one listing page).
async fn iceberg_probe(cx: Cx<'_>, path: &str) -> Option<TableFormat> {
    let prefix = format!("{}metadata/", folder_prefix(path));
    let page = cx
        .ctx
        .store
        .list_page(cx.ctx.bucket, &prefix, None)
        .await
        .ok()?;
    page.objects
        .iter()
        .any(|o| table::marker_root(&o.key).is_some_and(|(r, _)| r == path))
        .then_some(TableFormat::Iceberg)
}

/// A literal structured entry: list `path/` (unless already listed) and choose samples.
async fn structured_literal(
    cx: Cx<'_>,
    e: &Entry,
    fmt: &StructureFormat,
    path: &str,
    listed: Option<Vec<ObjectMeta>>,
    st: &mut StepStatus,
) -> Option<StructuredPlan> {
    let ctx = cx.ctx;
    let scope = format!("{}/{}", ctx.bucket, path);
    let objects = match listed {
        Some(o) => o,
        None => match cx
            .list(&folder_prefix(path), ctx.opts.sample_scan_limit)
            .await
        {
            Ok(l) => l.objects,
            Err(err) => {
                st.fail(&scope, format!("cannot list sample files: {err}"));
                return None;
            }
        },
    };
    let samples = choose_samples(objects, fmt.as_str(), ctx.opts.sample_files);
    if samples.is_empty() {
        st.warn(
            &scope,
            format!("No sample files found in {path}/ with {fmt} extension"),
        );
        return None;
    }
    let partition_columns = e
        .partition_columns
        .as_ref()
        .map(|cols| {
            cols.iter()
                .map(|p| {
                    let mut c = Column::new(&p.name, &p.data_type.0);
                    c.data_type_display = p.data_type_display.clone();
                    c.description = p.description.clone();
                    c
                })
                .collect()
        })
        .unwrap_or_default();
    Some(StructuredPlan {
        name: path.to_string(),
        format: fmt.clone(),
        separator: e.separator.clone(),
        is_partitioned: e.is_partitioned,
        partition_columns,
        samples,
    })
}

/// The sample ranking: non-empty first, then newest, ties by key (a total order on
/// distinct keys, so the best `n` of any split of the keys are the best `n` of the whole).
fn sample_order(a: &ObjectMeta, b: &ObjectMeta) -> std::cmp::Ordering {
    (b.size > 0)
        .cmp(&(a.size > 0))
        .then(b.last_modified.cmp(&a.last_modified))
        .then(a.key.cmp(&b.key))
}

/// Chooses up to `n` sample files, best first.
///
/// Candidates are the non-folder, non-artifact keys; those ending in `.<format>` (the
/// `structureFormat` as written, any case) are preferred
/// when there are any (so `.pq` or `.csv.gz` files are still used otherwise), and non-empty
/// files before empty ones. DIFF(spec §13 #2): the reference picks at random from the first
/// listing page; we take the newest file, ties broken by key, from every page up to
/// `sampleScanLimit`, so that two runs over the same lake infer the same schema.
pub fn choose_samples(objects: Vec<ObjectMeta>, format: &str, n: usize) -> Vec<ObjectMeta> {
    let suffix = format!(".{}", format.to_ascii_lowercase());
    let listed = objects.len();
    let mut candidates: Vec<(bool, ObjectMeta)> = objects
        .into_iter()
        .filter(|o| !o.key.ends_with('/') && !is_artifact(&o.key))
        .map(|o| (o.key.to_ascii_lowercase().ends_with(&suffix), o))
        .collect();
    let skipped = listed - candidates.len();
    let before = candidates.len();
    let by_extension = candidates.iter().any(|(matches, _)| *matches);
    if by_extension {
        candidates.retain(|(matches, _)| *matches);
    }
    let other_extension = before - candidates.len();
    let mut candidates: Vec<ObjectMeta> = candidates.into_iter().map(|(_, o)| o).collect();
    candidates.sort_by(sample_order);
    candidates.truncate(n);
    if tracing::enabled!(tracing::Level::DEBUG) {
        let which = if by_extension {
            format!("ending in {suffix}")
        } else {
            format!("of any extension (none ends in {suffix})")
        };
        for (i, o) in candidates.iter().enumerate() {
            tracing::debug!(
                sample = %o.key,
                size = o.size,
                last_modified = ?o.last_modified,
                rank = i + 1,
                "sample file chosen: newest first, non-empty first, ties by key, among the files {which}; of {listed} key(s) listed, {skipped} folder marker(s) or artifact(s) and {other_extension} file(s) with another extension left out"
            );
        }
    }
    candidates
}

async fn expand_glob(cx: Cx<'_>, e: Entry, st: &mut StepStatus) -> Vec<Expanded> {
    // A bucket listed once is in memory already, and unstructured globs keep every match:
    // only a structured glob over a prefix of its own is folded page by page.
    if cx.index.is_none() && !e.unstructured_data {
        match expand::glob_streaming(cx, &e, st).await {
            expand::Streamed::Done(out) => return out,
            expand::Streamed::Failed => return vec![],
            expand::Streamed::NeedsKeys => {}
        }
    }
    expand_glob_listed(cx, e, st).await
}

/// [`expand_glob`] over the whole listing held in memory: every key under the static
/// prefix, then grouped. The reference for what [`expand::glob_streaming`] must answer.
async fn expand_glob_listed(cx: Cx<'_>, e: Entry, st: &mut StepStatus) -> Vec<Expanded> {
    let ctx = cx.ctx;
    // DIFF(spec §13 #28): a leading `/` is ignored, as for literal paths; the reference
    // matches nothing.
    let pattern = e.data_path.trim_start_matches('/').to_string();
    let scope = format!("{}/{}", ctx.bucket, pattern);
    let listing = match cx
        .list(&glob::static_prefix(&pattern), ctx.opts.glob_scan_limit)
        .await
    {
        Ok(l) => l,
        Err(err) => {
            // A failure, not a warning: the containers this glob made before were not seen,
            // so the bucket must not count as complete (nothing under it is marked deleted),
            // and the exit code must know (found with bench-s3's SlowDown: the container was
            // silently dropped before).
            st.fail(&scope, format!("glob expansion failed: {err}"));
            return vec![];
        }
    };
    if listing.truncated {
        st.warn(
            &scope,
            format!(
                "glob expansion stopped after {} keys",
                ctx.opts.glob_scan_limit
            ),
        );
    }
    let n_listed = listing.objects.len();
    // Tables among every listed key (their markers are artifacts, never matched).
    let tables = table::roots(listing.objects.iter().map(|o| o.key.as_str()));
    let mut logs = table_logs(&listing.objects, &tables, listing.truncated);
    let rule = GlobMatch::new(&e, &pattern);
    let matched: Vec<ObjectMeta> = listing
        .objects
        .into_iter()
        .filter(|o| rule.matches(o))
        .collect();
    if matched.is_empty() {
        // DIFF(spec §5.7, §13 #28): the reference logs this at INFO; a glob that matches nothing is
        // as suspicious as a literal path that matches nothing (which warns), so it warns.
        st.warn(
            &scope,
            format!(
                "No files matched the glob {pattern} ({} key(s) listed under `{}`)",
                n_listed,
                glob::static_prefix(&pattern)
            ),
        );
        return vec![];
    }
    if e.unstructured_data {
        return matched
            .into_iter()
            .map(|o| Expanded {
                entry: Entry {
                    unstructured_data: true,
                    ..Entry::at(o.key.clone())
                },
                listed: Some(vec![o]),
                table: None,
            })
            .collect();
    }
    // Group by table root, in first-seen (key) order.
    let mut roots: Vec<(String, Vec<ObjectMeta>)> = Vec::new();
    let mut root_index: std::collections::HashMap<String, usize> = Default::default();
    let mut table_roots: Vec<(String, TableFormat)> = Vec::new();
    for o in matched {
        if let Some((root, f)) = table::containing(&tables, &o.key) {
            if !table_roots.iter().any(|(r, _)| r == root) {
                table_roots.push((root.to_string(), f));
            }
            continue;
        }
        let root = glob::table_root(&o.key);
        if root.is_empty() {
            continue;
        }
        match root_index.get(&root) {
            Some(&i) => roots[i].1.push(o),
            None => {
                root_index.insert(root.clone(), roots.len());
                roots.push((root, vec![o]));
            }
        }
    }
    drop(root_index);
    let mut out = Vec::new();
    for (root, format) in table_roots {
        let log = logs.remove(&root).flatten();
        out.push(glob_table(root, format, log));
    }
    for (root, files) in roots {
        let Some(format) = glob_root_format(ctx.bucket, &e, &root, &files[0].key, st) else {
            continue;
        };
        let partitioning = glob_partitioning(&e, || {
            let cols = glob::hive_columns(&root, files.iter().map(|f| f.key.as_str()));
            let deep = files
                .iter()
                .any(|f| glob::folders_below(&root, &f.key) >= 2);
            (cols, deep)
        });
        // Only the sample files travel on: a root of 100,000 keys is not held (or cloned)
        // past this point. Choosing again from them later gives the same samples.
        let files = choose_samples(files, format.as_str(), ctx.opts.sample_files);
        out.push(glob_root(&e, root, format, partitioning, files));
    }
    out
}

/// Which listed keys a glob entry takes: files (no folder marker, cold object or artifact)
/// outside `excludePaths` and `excludePatterns` that match the pattern.
struct GlobMatch {
    re: regex::Regex,
    exclude_paths: Vec<String>,
    exclude_patterns: Vec<regex::Regex>,
}

impl GlobMatch {
    fn new(e: &Entry, pattern: &str) -> GlobMatch {
        GlobMatch {
            re: glob::glob_regex(pattern),
            exclude_paths: match &e.exclude_paths {
                Some(p) => p.clone(),
                None => DEFAULT_EXCLUDE_PATHS
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            },
            exclude_patterns: e
                .exclude_patterns
                .iter()
                .flatten()
                .map(|p| glob::glob_regex(p.trim_start_matches('/')))
                .collect(),
        }
    }

    fn matches(&self, o: &ObjectMeta) -> bool {
        !o.key.ends_with('/')
            && !is_cold(o.storage_class.as_deref())
            && !is_artifact(&o.key)
            && !o
                .key
                .split('/')
                .any(|s| self.exclude_paths.iter().any(|x| x == s))
            && !self.exclude_patterns.iter().any(|r| r.is_match(&o.key))
            && self.re.is_match(&o.key)
    }
}

/// An open table a glob's keys lie in: planned from its own metadata.
fn glob_table(root: String, format: TableFormat, log: Option<Vec<ObjectMeta>>) -> Expanded {
    Expanded {
        entry: Entry {
            structure_format: Some(StructureFormat::new(format.structure_format())),
            ..Entry::at(root)
        },
        listed: log,
        table: Some(format),
    }
}

/// The format of a glob's table root: the entry's, else the one its first key's extension
/// names; none (with a warning) when the extension names none.
fn glob_root_format(
    bucket: &str,
    e: &Entry,
    root: &str,
    first_key: &str,
    st: &mut StepStatus,
) -> Option<StructureFormat> {
    match &e.structure_format {
        Some(f) => Some(f.clone()),
        None => match glob::format_from_extension(first_key) {
            Some(f) => Some(StructureFormat::new(f)),
            None => {
                st.warn(
                    format!("{bucket}/{root}"),
                    format!(
                        "cannot tell the format of {first_key} from its extension; table skipped"
                    ),
                );
                None
            }
        },
    }
}

/// `isPartitioned` and the partition columns of a glob's table root: the manifest's, or
/// (with `autoPartitionDetection`) the Hive columns and whether any file sits two folders
/// deep, which `hive` computes only when asked.
fn glob_partitioning(
    e: &Entry,
    hive: impl FnOnce() -> (Vec<Column>, bool),
) -> (bool, Option<Vec<crate::manifest::PartitionColumn>>) {
    if let Some(cols) = &e.partition_columns {
        (true, Some(cols.clone()))
    } else if e.auto_partition_detection {
        let (cols, deep) = hive();
        let detected = (!cols.is_empty()).then(|| as_partition_columns(cols));
        (detected.is_some() || deep, detected)
    } else {
        (e.is_partitioned, None)
    }
}

/// A glob's table root as a literal structured entry with its chosen samples.
fn glob_root(
    e: &Entry,
    root: String,
    format: StructureFormat,
    (is_partitioned, partition_columns): (bool, Option<Vec<crate::manifest::PartitionColumn>>),
    samples: Vec<ObjectMeta>,
) -> Expanded {
    Expanded {
        entry: Entry {
            structure_format: Some(format),
            separator: e.separator.clone(),
            is_partitioned,
            partition_columns,
            ..Entry::at(root)
        },
        listed: Some(samples),
        table: None,
    }
}

/// Detected Hive columns travel as manifest partition columns, so that one code path turns
/// both into table columns.
fn as_partition_columns(cols: Vec<Column>) -> Vec<crate::manifest::PartitionColumn> {
    cols.into_iter()
        .map(|c| crate::manifest::PartitionColumn {
            name: c.name,
            data_type: crate::manifest::DataTypeName(c.data_type),
            data_type_display: c.data_type_display,
            description: None,
        })
        .collect()
}

async fn plan_unstructured(cx: Cx<'_>, x: &Expanded, st: &mut StepStatus) -> Vec<Planned> {
    let ctx = cx.ctx;
    let e = &x.entry;
    let path = trimmed(&e.data_path).to_string();
    let scope = format!("{}/{}", ctx.bucket, path);
    let Some(formats) = &e.unstructured_formats else {
        if path.is_empty() {
            st.warn(
                &scope,
                "an unstructured entry needs a non-empty dataPath; skipped",
            );
            return vec![];
        }
        let size = match &x.listed {
            Some(l) => l.first().map(|o| o.size),
            None => cx.size_of(&path).await,
        };
        return vec![Planned::Unstructured { name: path, size }];
    };
    // DIFF(spec §13 #13, #29, #30): the listing prefix is the trimmed dataPath plus `/`
    // (the reference lists `images` as written, so it also catalogues `images_old/…`, and a
    // leading `/` finds nothing), and every artifact rule applies (the reference keeps `.crc`
    // and `_committed_*` files).
    let listing = match cx
        .list(&folder_prefix(&path), ctx.opts.glob_scan_limit)
        .await
    {
        Ok(l) => l,
        Err(err) => {
            st.fail(&scope, format!("cannot list unstructured files: {err}"));
            return vec![];
        }
    };
    if listing.truncated {
        st.warn(
            &scope,
            format!("listing stopped after {} keys", ctx.opts.glob_scan_limit),
        );
    }
    let all = formats.iter().any(|f| f == "*");
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for o in listing.objects {
        if o.key.ends_with('/') || is_artifact(&o.key) {
            continue;
        }
        if !all && !formats.iter().any(|f| o.key.ends_with(f.as_str())) {
            continue;
        }
        let segs: Vec<&str> = o.key.split('/').collect();
        let folders = &segs[..segs.len() - 1];
        for i in 0..folders.len() {
            let fpath = folders[..=i].join("/");
            if seen.insert(fpath.clone()) {
                out.push(Planned::Folder {
                    path: fpath,
                    name: folders[i].to_string(),
                    parent: (i > 0).then(|| folders[..i].join("/")),
                });
            }
        }
        out.push(Planned::File {
            name: segs[segs.len() - 1].to_string(),
            parent: (!folders.is_empty()).then(|| folders.join("/")),
            size: o.size,
            key: o.key,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(key: &str, size: u64, t: i64) -> ObjectMeta {
        ObjectMeta {
            key: key.into(),
            size,
            last_modified: Some(t),
            storage_class: None,
            etag: None,
        }
    }

    #[test]
    fn sample_is_the_newest_preferred_file_ties_by_key() {
        let objs = vec![
            meta("t/b.csv", 10, 5),
            meta("t/a.csv", 10, 5),
            meta("t/old.csv", 10, 1),
            meta("t/newer.txt", 10, 9),
            meta("t/_SUCCESS", 0, 10),
            meta("t/", 0, 10),
        ];
        let s = choose_samples(objs, "csv", 1);
        assert_eq!(s[0].key, "t/a.csv");
    }

    #[test]
    fn any_file_is_a_candidate_when_none_has_the_extension() {
        let s = choose_samples(
            vec![meta("t/a.csv.gz", 10, 1), meta("t/b.csv.gz", 10, 2)],
            "csv",
            1,
        );
        assert_eq!(s[0].key, "t/b.csv.gz");
    }

    #[test]
    fn empty_files_come_last() {
        let s = choose_samples(vec![meta("t/a.csv", 0, 9), meta("t/b.csv", 5, 1)], "csv", 1);
        assert_eq!(s[0].key, "t/b.csv");
    }
}
