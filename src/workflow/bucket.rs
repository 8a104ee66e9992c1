//! One bucket, start to finish: its console and region, its entries, its plan, the sample
//! reads, then its containers in plan order. CloudWatch metrics and the bucket's tags are
//! fetched while the bucket is planned and read, so they cost no wall time.

use crate::config::Validated;
use crate::entity::{child_fqn, invalid_name, quote_name, Bucket, Console, Container};
use crate::entity::{DataModel, S3Tag};
use crate::format::Format;
use crate::infer::bound::{self, TreeLimits};
use crate::infer::{self, archive::Archive, samples::SampleResult, Limits, Sample};
use crate::manifest::Manifests;
use crate::metrics::{self, BucketMetrics, Metrics};
use crate::plan::{self, PlanContext, Planned, StructuredPlan, TablePlan};
use crate::progress::{Counters, Stages};
use crate::status::StepStatus;
use crate::store::{self, ObjectStore};
use futures::stream::{self, StreamExt};
use futures::FutureExt;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

/// Everything the per-bucket work shares.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) v: Validated,
    pub(super) store: Arc<dyn ObjectStore>,
    pub(super) manifests: Manifests,
    pub(super) limits: Limits,
    /// CloudWatch, unless `s3meta.bucketMetrics` is off or CloudWatch is unavailable.
    pub(super) metrics: Option<Metrics>,
    pub(super) counters: Arc<Counters>,
    /// Wall time per stage.
    pub(super) stages: Stages,
    /// The last run's sample columns (`s3meta.stateFile`), when configured.
    pub(super) state: Option<super::state::SampleState>,
    /// Containers being inferred at once across the run (`requestConcurrency`, at most 64):
    /// what bounds the sample bytes held, whatever `bucketConcurrency × entryConcurrency` is.
    pub(super) inferring: tokio::sync::Semaphore,
}

/// What one bucket produced.
#[derive(Debug)]
pub(super) struct BucketResult {
    pub(super) fqn: String,
    pub(super) containers: Vec<Container>,
    pub(super) status: StepStatus,
    /// False when the bucket's view was incomplete: nothing under it may be marked deleted.
    pub(super) complete: bool,
    /// True when CloudWatch answered but had no data point for a metric of this bucket.
    pub(super) metrics_unknown: bool,
}

/// What inference gave for one planned container.
#[derive(Debug)]
enum Inferred {
    /// Not a container with a schema.
    Nothing,
    /// Each sample's key and columns (or error), best sample first, and the warnings
    /// content sniffing gave (key, message).
    Samples(Vec<SampleResult>, Vec<(String, String)>),
    /// An archive's members.
    Archive(Result<Archive, infer::Error>),
    /// An open table's metadata.
    Table(Result<crate::table::Table, crate::table::Error>),
}

type Tags = store::Result<Vec<(String, String)>>;

/// Processes one bucket. With `early`, the bucket's own container is sent there as soon as
/// its region, metrics and tags are known (while its files are still being read) and is not
/// in the result; without, it comes first in the result.
pub(super) async fn process(
    shared: &Shared,
    bucket: &str,
    early: Option<tokio::sync::oneshot::Sender<Container>>,
) -> BucketResult {
    let fqn = child_fqn(&quote_name(&shared.v.service_name), bucket);
    let mut st = StepStatus::default();
    if let Some(why) = invalid_name(bucket) {
        st.fail(
            bucket,
            format!("bucket name cannot be an entity name: {why}"),
        );
        return BucketResult {
            fqn,
            containers: vec![],
            status: st,
            complete: false,
            metrics_unknown: false,
        };
    }
    // The region only shapes the bucket's own container (its console URL, where CloudWatch
    // is asked): the manifest, listing and samples are read meanwhile.
    let own = async {
        let mut console_status = StepStatus::default();
        let (console, region) = console(shared, bucket, &mut console_status).await;
        let (metrics, bucket_tags) = extras(shared, bucket, &region).await;
        let mut st = StepStatus::default();
        let site = Bucket {
            name: bucket,
            fqn: &fqn,
            console: &console,
        };
        let mut own = site.container();
        let metrics_unknown = apply_metrics(&mut own, metrics, bucket, &mut st);
        match bucket_tags {
            None => {}
            Some(Ok(tags)) => own.tags = s3_tags(tags),
            // DIFF(spec §6.6): the reference swallows every tagging error at debug level; a
            // denied or failed call is a warning here (a missing tag set is not an error).
            Some(Err(e)) => st.warn(bucket, format!("cannot read the bucket's tags: {e}")),
        }
        let own = match early {
            Some(tx) => {
                // The receiver is only gone when the run is being torn down.
                let _ = tx.send(own);
                None
            }
            None => Some(own),
        };
        (console, own, metrics_unknown, console_status, st)
    };
    let (
        (console, own, metrics_unknown, console_status, own_status),
        (manifest_ok, planned, inferred, file_tags),
    ) = tokio::join!(own, read(shared, bucket, &mut st));
    // The summary says them in the order they always came: region, reading, metrics/tags.
    let read_status = std::mem::replace(&mut st, console_status);
    st.absorb(read_status);
    st.absorb(own_status);
    let site = Bucket {
        name: bucket,
        fqn: &fqn,
        console: &console,
    };
    let sent_early = own.is_none();
    let mut containers: Vec<Container> = own.into_iter().collect();
    assemble(
        &site,
        planned,
        inferred,
        file_tags,
        shared.limits.tree,
        &mut st,
        &mut containers,
    );
    let complete = manifest_ok && st.failures.is_empty();
    shared
        .counters
        .containers
        .fetch_add(containers.len() as u64 + u64::from(sent_early), Relaxed);
    BucketResult {
        fqn,
        containers,
        status: st,
        complete,
        metrics_unknown,
    }
}

/// How `sourceUrl`s are built, and the bucket's region (where CloudWatch is asked).
async fn console(shared: &Shared, bucket: &str, st: &mut StepStatus) -> (Console, String) {
    let v = &shared.v;
    // DIFF(spec §7, §13 #11): CloudWatch is asked in the bucket's own region when
    // GetBucketLocation ran; the reference always asks `awsRegion` (0 for other regions).
    let configured = v.aws().aws_region.clone();
    match v.connection.console_endpoint_url.as_deref() {
        Some(base) => (Console::custom(base), configured),
        None => {
            // DIFF(spec §13 #10): GetBucketLocation once per bucket, not once per container.
            let region = match shared.store.bucket_region(bucket).await {
                Ok(Some(r)) => r,
                Ok(None) => configured,
                Err(e) => {
                    st.warn(
                        bucket,
                        format!("GetBucketLocation failed, using awsRegion for sourceUrl: {e}"),
                    );
                    configured
                }
            };
            (
                Console::Aws {
                    region: region.clone(),
                },
                region,
            )
        }
    }
}

/// The bucket's CloudWatch metrics and tags, each when asked for.
async fn extras(
    shared: &Shared,
    bucket: &str,
    region: &str,
) -> (Option<Result<BucketMetrics, metrics::Error>>, Option<Tags>) {
    let metrics = match &shared.metrics {
        Some(m) => Some(m.bucket(bucket, region).await),
        None => None,
    };
    let tags = if shared.v.include_tags {
        Some(shared.store.bucket_tags(bucket).await)
    } else {
        None
    };
    (metrics, tags)
}

/// Manifest → plan → sample reads (and the files' tags): the bucket's reading part.
async fn read(
    shared: &Shared,
    bucket: &str,
    st: &mut StepStatus,
) -> (bool, Vec<Planned>, Vec<Inferred>, HashMap<String, Tags>) {
    let v = &shared.v;
    let begun = Instant::now();
    let resolved = shared
        .manifests
        .entries(shared.store.as_ref(), bucket, st)
        .await;
    shared.stages.record("manifests", begun);
    let begun = Instant::now();
    let ctx = PlanContext {
        store: shared.store.as_ref(),
        bucket,
        filter: &v.filter,
        opts: &v.options,
    };
    let planned = plan::plan_bucket(ctx, resolved.entries, st).await;
    shared.stages.record("planning", begun);
    let begun = Instant::now();
    let (inferred, file_tags) = tokio::join!(
        infer_all(shared, bucket, &planned),
        file_tags(shared, bucket, &planned)
    );
    shared.stages.record("inference", begun);
    (resolved.complete, planned, inferred, file_tags)
}

/// Puts the CloudWatch figures on the bucket's container; true when CloudWatch had no data
/// point for one of them.
fn apply_metrics(
    own: &mut Container,
    metrics: Option<Result<BucketMetrics, metrics::Error>>,
    bucket: &str,
    st: &mut StepStatus,
) -> bool {
    match metrics {
        None => false,
        Some(Ok(m)) => {
            own.number_of_objects = Some(m.number_of_objects.unwrap_or(0) as f64);
            own.size = Some(m.size_bytes.unwrap_or(0) as f64);
            m.number_of_objects.is_none() || m.size_bytes.is_none()
        }
        Some(Err(e)) => {
            st.warn(
                bucket,
                format!("Failed fetching the metrics of bucket {bucket}, returning 0: {e}"),
            );
            false
        }
    }
}

/// Turns the plan and what inference gave into containers, in plan order. A container
/// whose name the server would refuse is a failure, not a container.
fn assemble(
    site: &Bucket<'_>,
    planned: Vec<Planned>,
    inferred: Vec<Inferred>,
    mut file_tags: HashMap<String, Tags>,
    tree: TreeLimits,
    st: &mut StepStatus,
    out: &mut Vec<Container>,
) {
    let bucket = site.name;
    let mut folder_fqns: BTreeMap<String, String> = BTreeMap::new();
    let mut not_built: BTreeMap<String, usize> = BTreeMap::new();
    let parent_of = |parent: Option<String>, folders: &BTreeMap<String, String>| {
        parent
            .and_then(|p| folders.get(&p).cloned())
            .unwrap_or_else(|| site.fqn.to_string())
    };
    for (p, inferred) in planned.into_iter().zip(inferred) {
        let c = match p {
            Planned::Structured(s) => match structured(site, s, inferred, tree, st, &mut not_built)
            {
                Some(c) => c,
                None => continue,
            },
            Planned::Archive { name, size, .. } => {
                archive(site, site.unstructured(name, size), inferred, tree, st, out);
                continue;
            }
            Planned::Table(t) => match table(site, t, inferred, tree, st) {
                Some(c) => c,
                None => continue,
            },
            Planned::Unstructured { name, size } => site.unstructured(name, size),
            Planned::Folder { path, name, parent } => {
                let c = site.folder(parent_of(parent, &folder_fqns), name, &path);
                folder_fqns.insert(path, c.fqn.clone());
                c
            }
            Planned::File {
                key,
                name,
                parent,
                size,
            } => {
                let tags = match file_tags.remove(&key) {
                    None => vec![],
                    Some(Ok(t)) => s3_tags(t),
                    Some(Err(e)) => {
                        st.warn(
                            format!("{bucket}/{key}"),
                            format!("cannot read the object's tags: {e}"),
                        );
                        vec![]
                    }
                };
                site.file(parent_of(parent, &folder_fqns), name, &key, size, tags)
            }
        };
        push_valid(c, st, out);
    }
    for (format, n) in not_built {
        st.warn(
            bucket,
            format!("schemas not inferred for {n} `{format}` container(s): that reader is not built yet; only partition columns are sent"),
        );
    }
}

/// Adds `c` unless the server would refuse its name.
fn push_valid(c: Container, st: &mut StepStatus, out: &mut Vec<Container>) {
    match invalid_name(&c.name) {
        Some(why) => st.fail(&c.fqn, format!("not published: {why}")),
        None => out.push(c),
    }
}

/// A structured container, with the columns the merge policy decides.
fn structured(
    site: &Bucket<'_>,
    s: StructuredPlan,
    inferred: Inferred,
    tree: TreeLimits,
    st: &mut StepStatus,
    not_built: &mut BTreeMap<String, usize>,
) -> Option<Container> {
    let bucket = site.name;
    let mut samples = match inferred {
        Inferred::Samples(results, warnings) => {
            for (key, message) in warnings {
                st.warn(format!("{bucket}/{key}"), message);
            }
            results
        }
        _ => vec![],
    };
    for (key, r) in &mut samples {
        if let Ok(cols) = r {
            bounded(
                cols,
                &format!("s3://{bucket}/{key}"),
                tree,
                st,
                &format!("{bucket}/{key}"),
            );
        }
    }
    let decided = infer::samples::container_columns(&s.name, s.partition_columns, samples);
    for (key, e) in decided.failed {
        // DIFF(spec §13 #21): a read or parse failure is counted, not only logged.
        st.fail(
            format!("{bucket}/{key}"),
            format!("Error fetching the schema of {}: {e}", s.name),
        );
    }
    if let Some(format) = decided.not_built {
        *not_built.entry(format).or_default() += 1;
    }
    let first = s.samples.first().map_or("", |o| o.key.as_str());
    for w in decided.warnings {
        st.warn(format!("{bucket}/{first}"), w);
    }
    let data_model = DataModel {
        is_partitioned: s.is_partitioned,
        columns: decided.columns?,
    };
    let formats = s.format.file_formats();
    Some(site.structured(s.name, data_model, formats))
}

/// An open table's container, from its metadata; a table that cannot be read is that
/// container's failure, naming the file.
fn table(
    site: &Bucket<'_>,
    t: TablePlan,
    inferred: Inferred,
    tree: TreeLimits,
    st: &mut StepStatus,
) -> Option<Container> {
    let scope = format!("{}/{}", site.name, t.name);
    let read = match inferred {
        Inferred::Table(Ok(read)) => read,
        Inferred::Table(Err(e)) => {
            st.fail(
                &scope,
                format!(
                    "Error reading the {} table {}: {e}",
                    t.format.title(),
                    t.name
                ),
            );
            return None;
        }
        _ => return None,
    };
    let mut columns = read.columns;
    let what = format!(
        "the {} table s3://{}/{}",
        t.format.title(),
        site.name,
        t.name
    );
    bounded(&mut columns, &what, tree, st, &scope);
    let data_model = DataModel {
        is_partitioned: read.is_partitioned,
        columns,
    };
    let formats = crate::format::StructureFormat::new(t.format.structure_format()).file_formats();
    Some(site.table(t.name, data_model, formats, read.description))
}

/// Trims one file's column tree to `maxColumnDepth` and `maxColumns`, with a warning
/// naming the file when anything was cut.
fn bounded(
    cols: &mut Vec<crate::entity::Column>,
    what: &str,
    tree: TreeLimits,
    st: &mut StepStatus,
    scope: &str,
) {
    if let Some(cut) = bound::cut(cols, tree) {
        st.warn(scope, cut.describe(what, tree));
    }
}

/// An archive's own container and one child per file member (reference §5.8), each member
/// typed from its own content.
fn archive(
    site: &Bucket<'_>,
    archive: Container,
    inferred: Inferred,
    tree: TreeLimits,
    st: &mut StepStatus,
    out: &mut Vec<Container>,
) {
    if let Some(why) = invalid_name(&archive.name) {
        st.fail(&archive.fqn, format!("not published: {why}"));
        return;
    }
    let scope = format!("{}/{}", site.name, archive.name);
    let read = match inferred {
        Inferred::Archive(Ok(read)) => Some(read),
        Inferred::Archive(Err(e)) => {
            // The reference logs archive errors and records nothing; a warning here.
            st.warn(&scope, format!("archive members not read: {e}"));
            None
        }
        _ => None,
    };
    let mut members = vec![];
    if let Some(read) = read {
        for w in &read.warnings {
            st.warn(&scope, w.clone());
        }
        let mut seen = HashSet::new();
        for mut m in read.members {
            if let Some(cols) = m.columns.as_mut() {
                let what = format!("member {} of s3://{}/{}", m.path, site.name, archive.name);
                bounded(cols, &what, tree, st, &scope);
            }
            let name = m.name().to_string();
            // `[inner format]` only when the format is itself a FileFormat value (`jsonl`
            // is not), as the reference.
            let formats = m
                .format
                .map(Format::member_file_formats)
                .unwrap_or_default();
            let c = site.archive_member(&archive, name, &m.path, m.size, m.columns, formats);
            if !seen.insert(c.fqn.clone()) {
                st.warn(
                    &scope,
                    format!(
                        "member {} skipped: another member is also named {}",
                        m.path, c.name
                    ),
                );
                continue;
            }
            members.push(c);
        }
    }
    out.push(archive);
    for m in members {
        push_valid(m, st, out);
    }
}

/// S3 tags as the container carries them: blank values skipped, as the reference does.
fn s3_tags(tags: Vec<(String, String)>) -> Vec<S3Tag> {
    tags.into_iter()
        .filter(|(_, value)| !value.trim().is_empty())
        .map(|(key, value)| S3Tag { key, value })
        .collect()
}

/// Tags of the `unstructuredFormats` leaf files (spec §6.6: only they, and the bucket, get
/// tags), concurrently; nothing when `includeTags` is off.
async fn file_tags(shared: &Shared, bucket: &str, planned: &[Planned]) -> HashMap<String, Tags> {
    if !shared.v.include_tags {
        return HashMap::new();
    }
    let store = shared.store.as_ref();
    stream::iter(planned.iter().filter_map(|p| match p {
        Planned::File { key, .. } => Some(key.as_str()),
        _ => None,
    }))
    .map(|key| async move { (key.to_string(), store.object_tags(bucket, key).await) })
    .buffer_unordered(shared.v.options.entry_concurrency)
    .collect()
    .await
}

/// Inference for every structured plan (each of its samples) and every archive,
/// concurrently within `entryConcurrency`, results in plan order.
async fn infer_all(shared: &Shared, bucket: &str, planned: &[Planned]) -> Vec<Inferred> {
    let store = shared.store.as_ref();
    let limits = shared.limits;
    stream::iter(planned.iter())
        .map(|p| async move {
            // Only what reads objects holds a slot; never closed, so the slot is always had.
            let _slot = match p {
                Planned::Structured(_) | Planned::Table(_) | Planned::Archive { .. } => {
                    shared.inferring.acquire().await.ok()
                }
                _ => None,
            };
            match p {
                Planned::Structured(s) => {
                    let mut out = Vec::with_capacity(s.samples.len());
                    let mut warnings = vec![];
                    for object in &s.samples {
                        let sample = Sample {
                            bucket,
                            object,
                            format: &s.format,
                            separator: s.separator.as_deref(),
                        };
                        let key = shared.state.as_ref().map(|_| {
                            super::state::SampleKey::new(
                                bucket,
                                object,
                                s.format.as_str(),
                                s.separator.as_deref(),
                            )
                        });
                        // A second run: the same object read the same way gave these.
                        let known = match (&shared.state, &key) {
                            (Some(state), Some(k)) => state.get(k),
                            _ => None,
                        };
                        let r = match known {
                            Some(cols) => infer::Typed {
                                columns: Ok(cols),
                                warning: None,
                            },
                            // Contained: a reader's panic fails this sample, not the run.
                            None => AssertUnwindSafe(infer::infer_sample(store, sample, &limits))
                                .catch_unwind()
                                .await
                                .unwrap_or_else(|p| infer::Typed {
                                    columns: Err(infer::Error::panicked(bucket, &object.key, &*p)),
                                    warning: None,
                                }),
                        };
                        // A sample typed with a warning (declared csv, content parquet) is
                        // read again next time, so that the warning is said again.
                        if let (Some(state), Some(k), Ok(cols), None) =
                            (&shared.state, key, &r.columns, &r.warning)
                        {
                            state.record(k, cols);
                        }
                        if let Some(w) = r.warning {
                            warnings.push((object.key.clone(), w));
                        }
                        out.push((object.key.clone(), r.columns));
                    }
                    Inferred::Samples(out, warnings)
                }
                Planned::Table(t) => Inferred::Table(
                    AssertUnwindSafe(crate::table::read(
                        store,
                        bucket,
                        &t.name,
                        t.format,
                        t.log.as_deref(),
                        &limits,
                    ))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|p| {
                        Err(crate::table::Error::Panicked {
                            bucket: bucket.to_string(),
                            key: t.name.clone(),
                            source: infer::cpu::Panicked::from_payload(&*p),
                        })
                    }),
                ),
                Planned::Archive { name, format, size } => Inferred::Archive(
                    AssertUnwindSafe(infer::archive::read_archive(
                        store, bucket, name, *size, format, &limits,
                    ))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|p| Err(infer::Error::panicked(bucket, name, &*p))),
                ),
                _ => Inferred::Nothing,
            }
        })
        .buffered(shared.v.options.entry_concurrency)
        .collect()
        .await
}
