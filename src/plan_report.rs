//! `s3meta plan` and `s3meta manifest suggest`: what a run would see, without running it.
//!
//! `plan` resolves each bucket's manifest (or, with `autoDiscovery`, its discovered
//! entries), plans its containers with the run's own planner, and lists the bucket once to
//! say why every other key is in no container. It reads listings and manifests only: no
//! sample, no schema, nothing written. `suggest` lists each bucket and writes the manifest
//! discovery proposes ([`crate::autodiscover::suggest`]).

use crate::autodiscover::{self, suggest, Reason};
use crate::aws;
use crate::config::Validated;
use crate::discover;
use crate::manifest::Manifests;
use crate::plan::artifact::{is_artifact, is_cold};
use crate::plan::{self, PlanContext, Planned};
use crate::status::StepStatus;
use crate::store::{counting::CountingStore, s3::S3Store, ObjectMeta, ObjectStore};
use serde::Serialize;
use std::fmt::Write as _;
use std::sync::Arc;

/// The run's store, counting requests.
async fn connect(v: &Validated) -> CountingStore {
    let sdk = aws::sdk_config(v.aws(), &v.options).await;
    let s3 = S3Store::new(aws::s3_client(&sdk, v.aws().end_point_url.as_deref()));
    CountingStore::new(Arc::new(s3))
}

/// One bucket's suggested manifest.
#[derive(Debug, Clone)]
pub struct Suggestion {
    /// The bucket.
    pub bucket: String,
    /// The `openmetadata.json` text.
    pub manifest: String,
    /// Why each entry is there and each key is not (`--explain`).
    pub explanation: String,
    /// Requests the discovery cost (listing pages).
    pub requests: u64,
}

/// Failures of `suggest` and `plan` that stop them.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The buckets could not be listed.
    #[error("cannot list the buckets: {0}")]
    Buckets(String),
    /// `--bucket` names a bucket the run does not cover.
    #[error("bucket `{0}` is not among the run's buckets (bucketNames, containerFilterPattern)")]
    UnknownBucket(String),
    /// A bucket's listing failed.
    #[error("cannot list bucket {bucket}")]
    List {
        /// The bucket.
        bucket: String,
        /// The store's error.
        #[source]
        source: crate::store::Error,
    },
}

async fn buckets(
    v: &Validated,
    store: &dyn ObjectStore,
    only: Option<&str>,
) -> Result<Vec<String>, Error> {
    let mut st = StepStatus::default();
    let names = match only {
        // One bucket named on the command line: no ListBuckets needed when it is configured.
        Some(b) if v.bucket_names().is_some_and(|n| n.iter().any(|x| x == b)) => {
            return Ok(vec![b.to_string()])
        }
        _ => {
            discover::buckets(v, store, &mut st)
                .await
                .ok_or_else(|| {
                    Error::Buckets(
                        st.failures
                            .first()
                            .map(|f| f.message.clone())
                            .unwrap_or_default(),
                    )
                })?
                .names
        }
    };
    match only {
        None => Ok(names),
        Some(b) if names.iter().any(|x| x == b) => Ok(vec![b.to_string()]),
        Some(b) => Err(Error::UnknownBucket(b.to_string())),
    }
}

/// The suggested manifest of each bucket (or of `only`).
pub async fn suggest(
    v: &Validated,
    only: Option<&str>,
    opts: suggest::Options,
) -> Result<Vec<Suggestion>, Error> {
    let store = connect(v).await;
    let names = buckets(v, &store, only).await?;
    let mut out = Vec::new();
    for bucket in names {
        let before = store.counts().requests;
        let listing = autodiscover::list_bucket(
            &store,
            &bucket,
            v.options.glob_scan_limit,
            v.options.entry_concurrency,
        )
        .await
        .map_err(|source| Error::List {
            bucket: bucket.clone(),
            source,
        })?;
        let limits = crate::infer::Limits::from_options(&v.options);
        let sniffed = autodiscover::sniff_folders(
            &store,
            &bucket,
            &listing.objects,
            &limits,
            crate::manifest::MAX_SNIFFED,
        )
        .await;
        let found = autodiscover::discover_with(&listing.objects, listing.truncated, &sniffed);
        out.push(Suggestion {
            manifest: suggest::manifest(&found, opts),
            explanation: suggest::explain(&bucket, &found, opts),
            requests: store.counts().requests - before,
            bucket,
        });
    }
    Ok(out)
}

/// A container `plan` says a run would create.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PlannedContainer {
    /// Its path in the bucket (the container's name for the structured ones).
    pub path: String,
    /// `structured`, `table`, `archive`, `unstructured`, `folder` or `file`.
    pub kind: &'static str,
    /// Its format, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The sample file a run would read first, for a structured container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample: Option<String>,
}

/// A key or entry a run would leave out, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Dropped {
    /// The key (or `bucket/dataPath` of an entry).
    pub key: String,
    /// Why.
    pub reason: String,
}

/// `plan` for one bucket.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketPlan {
    /// The bucket.
    pub bucket: String,
    /// Where its entries come from: `manifest`, `autoDiscovery` or `none`.
    pub entries_from: &'static str,
    /// The containers, in the order a run writes them.
    pub containers: Vec<PlannedContainer>,
    /// Every key in no container, and every entry skipped, with the reason.
    pub dropped: Vec<Dropped>,
    /// Warnings the planning raised.
    pub warnings: Vec<String>,
    /// Requests the plan cost (manifest read and listings).
    pub requests: u64,
    /// Object reads among them: the bucket's own manifest (found or not) at most, since a
    /// plan reads no sample.
    pub sample_reads: u64,
}

fn container_of(p: &Planned) -> PlannedContainer {
    match p {
        Planned::Structured(s) => PlannedContainer {
            path: s.name.clone(),
            kind: "structured",
            format: Some(s.format.to_string()),
            sample: s.samples.first().map(|o| o.key.clone()),
        },
        Planned::Table(t) => PlannedContainer {
            path: t.name.clone(),
            kind: "table",
            format: Some(t.format.structure_format().to_string()),
            sample: None,
        },
        Planned::Archive { name, format, .. } => PlannedContainer {
            path: name.clone(),
            kind: "archive",
            format: Some(format.to_string()),
            sample: None,
        },
        Planned::Unstructured { name, .. } => PlannedContainer {
            path: name.clone(),
            kind: "unstructured",
            format: None,
            sample: None,
        },
        Planned::Folder { path, .. } => PlannedContainer {
            path: path.clone(),
            kind: "folder",
            format: None,
            sample: None,
        },
        Planned::File { key, .. } => PlannedContainer {
            path: key.clone(),
            kind: "file",
            format: None,
            sample: None,
        },
    }
}

/// Whether `key` is inside what container `c` covers.
fn covers(c: &PlannedContainer, key: &str) -> bool {
    match c.kind {
        "structured" | "table" => key
            .strip_prefix(c.path.as_str())
            .is_some_and(|r| r.starts_with('/')),
        "folder" => false,
        _ => key == c.path,
    }
}

/// Why a key that no container covers is left out.
fn reason_for(v: &Validated, key: &str, discovered: bool) -> String {
    if autodiscover::format_of(key).is_none() {
        return Reason::UnknownFormat.as_str().to_string();
    }
    let folders: Vec<&str> = key.split('/').collect();
    let folders = &folders[..folders.len() - 1];
    let root_len = autodiscover::partitions::split(folders)
        .map(|(s, _)| s)
        .unwrap_or(folders.len());
    if root_len == 0 {
        return Reason::BucketRoot.as_str().to_string();
    }
    let root = folders[..root_len].join("/");
    if v.filter.excludes(&root) {
        return format!("filter (containerFilterPattern excludes {root})");
    }
    if discovered {
        Reason::MixedFolder.as_str().to_string()
    } else {
        "in no manifest entry".to_string()
    }
}

/// Why a listed key is in no container (`None`: it is in one, or is a table's own file).
fn dropped_reason(
    v: &Validated,
    o: &ObjectMeta,
    containers: &[PlannedContainer],
    discovered: bool,
) -> Option<String> {
    let key = o.key.as_str();
    if key == crate::config::MANIFEST_FILE || crate::table::marker_root(key).is_some() {
        None
    } else if key.ends_with('/') {
        Some(Reason::FolderMarker.as_str().to_string())
    } else if is_artifact(key) {
        Some(Reason::Artifact.as_str().to_string())
    } else if is_cold(o.storage_class.as_deref()) {
        Some(Reason::ColdStorage.as_str().to_string())
    } else if containers.iter().any(|c| covers(c, key)) {
        None
    } else {
        Some(reason_for(v, key, discovered))
    }
}

/// What a run would create in each bucket, and what it would leave out.
pub async fn plan(v: &Validated) -> Result<Vec<BucketPlan>, Error> {
    let store = connect(v).await;
    let mstore = crate::manifest::global_store(v).await;
    let mut st = StepStatus::default();
    let (manifests, _) =
        Manifests::load(v, mstore.as_ref().map(|s| s as &dyn ObjectStore), &mut st).await;
    let names = buckets(v, &store, None).await?;
    let mut out = Vec::new();
    for bucket in names {
        let before = store.counts();
        let mut st = StepStatus::default();
        let resolved = manifests.entries(&store, &bucket, &mut st).await;
        let discovered = resolved.discovered;
        let n_entries = resolved.entries.len();
        let ctx = PlanContext {
            store: &store,
            bucket: &bucket,
            filter: &v.filter,
            opts: &v.options,
        };
        let planned = plan::plan_bucket(ctx, resolved.entries, &mut st).await;
        let containers: Vec<PlannedContainer> = planned.iter().map(container_of).collect();
        let mut dropped: Vec<Dropped> = st
            .filtered
            .iter()
            .map(|f| Dropped {
                key: f.scope.clone(),
                reason: f.message.clone(),
            })
            .collect();
        match store
            .list_split(
                &bucket,
                "",
                v.options.glob_scan_limit,
                v.options.entry_concurrency,
            )
            .await
        {
            Ok(listing) => {
                for o in &listing.objects {
                    if let Some(reason) = dropped_reason(v, o, &containers, discovered) {
                        dropped.push(Dropped {
                            key: o.key.clone(),
                            reason,
                        });
                    }
                }
                if listing.truncated {
                    dropped.push(Dropped {
                        key: format!("{bucket}/…"),
                        reason: format!(
                            "over a cap: keys past the first {} (globScanLimit) were not examined",
                            v.options.glob_scan_limit
                        ),
                    });
                }
            }
            // The bucket's planning already said what it could; the others still plan.
            Err(e) => st.warn(&bucket, format!("cannot list the bucket's keys: {e}")),
        }
        let entries_from = if discovered {
            "autoDiscovery"
        } else if n_entries > 0 {
            "manifest"
        } else {
            "none"
        };
        out.push(BucketPlan {
            bucket,
            entries_from,
            containers,
            dropped,
            warnings: st
                .warnings
                .iter()
                .chain(&st.failures)
                .map(|w| format!("{}: {}", w.scope, w.message))
                .collect(),
            requests: store.counts().requests - before.requests,
            sample_reads: store.counts().gets - before.gets,
        });
    }
    Ok(out)
}

/// The plan as text, one block per bucket.
pub fn text(plans: &[BucketPlan]) -> String {
    let mut s = String::new();
    for p in plans {
        let _ = writeln!(
            s,
            "bucket {} (entries: {}; {} request(s))",
            p.bucket, p.entries_from, p.requests
        );
        for c in &p.containers {
            let _ = writeln!(
                s,
                "  + {} [{}{}]{}",
                c.path,
                c.kind,
                c.format
                    .as_deref()
                    .map(|f| format!(", {f}"))
                    .unwrap_or_default(),
                c.sample
                    .as_deref()
                    .map(|k| format!(" sample {k}"))
                    .unwrap_or_default()
            );
        }
        for d in &p.dropped {
            let _ = writeln!(s, "  - {}: {}", d.key, d.reason);
        }
        for w in &p.warnings {
            let _ = writeln!(s, "  ! {w}");
        }
    }
    s
}

/// The plan as one JSON document.
pub fn json(plans: &[BucketPlan]) -> String {
    // Strings, numbers and lists: serialising cannot fail.
    serde_json::to_string_pretty(plans).unwrap_or_default()
}
