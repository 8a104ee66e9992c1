//! Orchestration: config → buckets → manifests → plan → inference → entities → sink.
//!
//! The workflow owns concurrency (buckets, entries and sample reads, each under its own
//! bound) and the status. Results are produced concurrently but written in a deterministic
//! order: buckets in discovery order, and inside a bucket the bucket container first, then
//! the structured pass, then the unstructured pass, every parent before its children.

use crate::aws;
use crate::config::{ManifestSource, SinkKind, Validated, MANIFEST_FILE};
use crate::entity::{
    self, child_fqn, full_path, invalid_name, quote_name, Column, Console, Container, DataModel,
    ParentRef,
};
use crate::infer::{self, Limits, Sample};
use crate::manifest::{self, Entry, GlobalEntry, GlobalSource};
use crate::metrics::Metrics;
use crate::plan::{self, PlanContext, Planned, StructuredPlan};
use crate::progress::{Counters, Reporter, Stages};
use crate::sink::openmetadata::{self as om, OmSink};
use crate::sink::{self, file::FileSink, Seen, ServiceInfo, Sink};
use crate::status::{RunStatus, StepStatus};
use crate::store::{counting::CountingStore, s3::S3Store, ErrorKind, ObjectStore};
use crate::testconn;
use futures::stream::{self, StreamExt};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tracing::Instrument;

/// Name of the source step in the summary, as in the reference.
pub const SOURCE_STEP: &str = "S3";

/// A failure that stops the run before or instead of ingesting.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The sink cannot be used.
    #[error("sink: {0}")]
    Sink(#[from] sink::Error),
    /// A mandatory test-connection step failed (reference §9).
    #[error("Failed to run the test connection step: {step}: {message}")]
    TestConnection {
        /// The step (`ListBuckets`).
        step: String,
        /// Its error and hint.
        message: String,
    },
}

/// What one bucket produced.
#[derive(Debug)]
struct BucketResult {
    fqn: String,
    containers: Vec<Container>,
    status: StepStatus,
    complete: bool,
    /// True when CloudWatch answered but had no data point for a metric of this bucket.
    metrics_unknown: bool,
}

/// Everything the per-bucket work shares.
#[derive(Debug)]
struct Shared {
    v: Validated,
    store: Arc<dyn ObjectStore>,
    global: Vec<GlobalEntry>,
    default_manifest: Vec<GlobalEntry>,
    limits: Limits,
    /// CloudWatch, unless `s3meta.bucketMetrics` is off.
    metrics: Option<Metrics>,
    /// Progress counters.
    counters: Arc<Counters>,
    /// Wall time per stage.
    stages: Stages,
}

/// Runs an ingestion with the configured sink.
pub async fn run_ingest(v: Validated) -> Result<RunStatus, InitError> {
    let sink: Box<dyn Sink> = match &v.sink {
        SinkKind::File { path } => Box::new(FileSink::new(path)),
        SinkKind::MetadataRest(om) => Box::new(OmSink::connect(om, om_settings(&v)).await?),
    };
    let sdk = aws::sdk_config(&v.aws, &v.raw.s3meta).await;
    let endpoint = v.aws.end_point_url.as_deref();
    let s3 = S3Store::new(aws::s3_client(&sdk, endpoint));

    // The reference's test connection runs before anything is read (spec §9).
    let cloudwatch = aws::cloudwatch_client(&sdk, endpoint, None);
    let report = testconn::run_with(&v, &s3, &cloudwatch, true).await;
    if let Some(failed) = report.failed_mandatory() {
        return Err(InitError::TestConnection {
            step: failed.name.clone(),
            message: failed.message.clone(),
        });
    }
    for s in report.steps.iter().filter(|s| !s.passed) {
        tracing::warn!(step = %s.name, "Optional test-connection step failed: {}", s.message);
    }

    let metrics = if !v.raw.s3meta.bucket_metrics {
        Ok(None)
    } else {
        match report
            .steps
            .iter()
            .find(|s| s.name == testconn::GET_METRICS)
        {
            // DIFF(spec §7): when CloudWatch cannot even list metrics (an S3-compatible store
            // without it, a denied permission), it is not asked per bucket: one warning for
            // the run instead of one failed call and warning per bucket.
            Some(s) if !s.passed => Err(s.message.clone()),
            _ => Ok(Some(Metrics::new(&sdk, endpoint))),
        }
    };
    let store: Arc<dyn ObjectStore> = Arc::new(s3);
    run_inner(v, store, metrics, sink).await
}

/// What the `metadata-rest` sink takes from the workflow.
fn om_settings(v: &Validated) -> om::Settings {
    let o = &v.raw.s3meta;
    om::Settings {
        service_name: v.service_name.clone(),
        mark_deleted: v.raw.source.source_config.config.mark_deleted_containers,
        pipeline_fqn: v.raw.ingestion_pipeline_fqn.clone(),
        run_id: v.raw.pipeline_run_id.clone(),
        success_threshold: v.raw.workflow_config.success_threshold,
        concurrency: o.sink_concurrency,
        max_attempts: o.sink_max_attempts,
        timeout_secs: o.sink_timeout_secs,
        progress_interval_secs: o.status_interval_secs,
    }
}

/// Runs an ingestion against a given store and sink (the seam the tests and quickstart use
/// as well as `ingest`).
pub async fn run_with(
    v: Validated,
    store: Arc<dyn ObjectStore>,
    sink: Box<dyn Sink>,
) -> Result<RunStatus, InitError> {
    let metrics = if v.raw.s3meta.bucket_metrics {
        let sdk = aws::sdk_config(&v.aws, &v.raw.s3meta).await;
        Ok(Some(Metrics::new(&sdk, v.aws.end_point_url.as_deref())))
    } else {
        Ok(None)
    };
    run_inner(v, store, metrics, sink).await
}

/// `metrics`: `Ok(None)` when turned off, `Err(why)` when CloudWatch is unavailable.
async fn run_inner(
    v: Validated,
    store: Arc<dyn ObjectStore>,
    metrics: Result<Option<Metrics>, String>,
    mut sink: Box<dyn Sink>,
) -> Result<RunStatus, InitError> {
    let started = Instant::now();
    // Counts bytes read, for progress and the summary (requests are counted by the store
    // itself, retries included, and forwarded).
    let counting = Arc::new(CountingStore::new(store));
    let store: Arc<dyn ObjectStore> = counting.clone();
    let stages = Stages::default();
    let counters = Arc::new(Counters::default());
    let reading = counting.clone();
    let _progress = Reporter::start(
        counters.clone(),
        move || {
            let c = reading.counts();
            (c.requests, c.bytes)
        },
        Duration::from_secs(v.raw.s3meta.status_interval_secs),
    );
    let mut source = StepStatus::new(SOURCE_STEP);
    let metrics = match metrics {
        Ok(m) => m,
        Err(why) => {
            source.warn(
                "CloudWatch",
                format!("bucket metrics unavailable, numberOfObjects and size are sent as 0 for every bucket (set s3meta.bucketMetrics: false for a store without CloudWatch): {why}"),
            );
            None
        }
    };
    let mut seen = Seen::default();
    let mut everything_incomplete = false;
    let opts = v.raw.s3meta.clone();
    let pipeline = v.raw.source.source_config.config.clone();

    // Global manifest, once.
    let global = match load_global(&v, store.as_ref()).await {
        Ok(g) => g,
        Err(msg) => {
            // DIFF(spec §4.2): recorded in the status (the reference only logs it), and
            // nothing is marked deleted, since every bucket may now resolve differently.
            source.warn(
                "storageMetadataConfigSource",
                format!("Could not get global manifest due to [{msg}]"),
            );
            everything_incomplete = true;
            vec![]
        }
    };
    let default_manifest = match &pipeline.default_manifest {
        None => vec![],
        Some(text) => match manifest::parse_global_manifest(text.as_bytes()) {
            Ok(entries) => entries,
            Err(e) => {
                source.warn("defaultManifest", format!("invalid defaultManifest: {e}"));
                vec![]
            }
        },
    };

    // Buckets.
    let buckets = match discover(&v, store.as_ref(), &mut source).await {
        Some((b, whole)) => {
            if !whole {
                let service_fqn = quote_name(&v.service_name);
                seen.scope = Some(b.iter().map(|b| child_fqn(&service_fqn, b)).collect());
            }
            b
        }
        None => {
            everything_incomplete = true;
            vec![]
        }
    };

    let service = ServiceInfo {
        name: v.service_name.clone(),
        connection: v
            .raw
            .source
            .service_connection
            .as_ref()
            .map(|c| c.config.clone())
            .ok_or_else(|| sink::Error::new(&v.service_name, "no service connection"))?,
        store_connection: v.store_service_connection,
    };
    stages.record("discovery", started);
    counters
        .buckets_total
        .store(buckets.len() as u64, std::sync::atomic::Ordering::Relaxed);
    let begun = Instant::now();
    sink.begin(&service).await?;
    stages.record("sink writes", begun);
    source.records += 1;

    let shared = Arc::new(Shared {
        v,
        store,
        global,
        default_manifest,
        limits: Limits::from_options(&opts),
        metrics,
        counters,
        stages,
    });
    let mut results = stream::iter(buckets)
        .map(|bucket| {
            let shared = shared.clone();
            let span = tracing::info_span!("bucket", bucket = %bucket);
            async move { process_bucket(&shared, &bucket).await }.instrument(span)
        })
        .buffered(opts.bucket_concurrency);

    let service_name = shared.v.service_name.clone();
    let mut sink_failures = StepStatus::default();
    let width = sink.concurrency().max(1);
    let mut metrics_unknown: Vec<String> = vec![];
    // The bucket stream feeds a channel that the writer drains, both in this task: buckets
    // keep being processed while the sink writes the previous ones (a `buffered` stream only
    // progresses when polled), and the channel's bound keeps memory bounded.
    let (tx, mut rx) = tokio::sync::mpsc::channel(opts.bucket_concurrency.max(1));
    let produce = async move {
        while let Some(r) = results.next().await {
            if tx.send(r).await.is_err() {
                break;
            }
        }
    };
    let consume = async {
        while let Some(r) = rx.recv().await {
            source.absorb(r.status);
            if r.metrics_unknown {
                metrics_unknown.push(r.fqn.clone());
            }
            if !r.complete {
                seen.incomplete.insert(r.fqn.clone());
            }
            for c in &r.containers {
                source.records += 1;
                seen.fqns.insert(c.fqn.clone());
            }
            let begun = Instant::now();
            write_bucket(
                sink.as_ref(),
                &service_name,
                r.containers,
                width,
                &mut sink_failures,
            )
            .await;
            shared.stages.record("sink writes", begun);
            shared
                .counters
                .buckets_done
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    };
    futures::future::join(produce, consume).await;
    if !metrics_unknown.is_empty() {
        // Noted once per run: the reference sends 0 silently, indistinguishable from empty.
        source.warn(
            "CloudWatch",
            format!(
                "no CloudWatch data in the last 2 days for {} bucket(s) ({}): their numberOfObjects and size are unknown and sent as 0, as the reference does",
                metrics_unknown.len(),
                metrics_unknown.join(", ")
            ),
        );
    }
    source.requests = shared.store.request_counts();
    source.bytes_read = Some(counting.counts().bytes);
    if everything_incomplete {
        seen.incomplete.insert(quote_name(&service_name));
    }
    let begun = Instant::now();
    if let Err(e) = sink.finish(&seen).await {
        sink_failures.fail(e.entity, e.message);
    }
    shared.stages.record("sink writes", begun);
    source.stages = shared.stages.summary();
    let mut sink_status = sink.status();
    sink_status.absorb(sink_failures);
    let run = RunStatus {
        steps: vec![source, sink_status],
        elapsed_secs: started.elapsed().as_secs_f64(),
    };
    sink.report(&run).await;
    Ok(run)
}

/// Writes one bucket's containers, at most `width` at once, each only after its parent's
/// write returned (its id is in the child's request).
///
/// Each write publishes its outcome on a watch channel that its children wait on. `buffered`
/// starts writes in plan order, where every parent precedes its children, so a parent is
/// always finished or in flight when a child waits: no deadlock. With `width` 1 the writes
/// happen one by one in plan order, which keeps the file sink's output as it always was.
async fn write_bucket(
    sink: &dyn Sink,
    service: &str,
    containers: Vec<Container>,
    width: usize,
    failures: &mut StepStatus,
) {
    type Outcome = watch::Sender<Option<Option<ParentRef>>>;
    let mut senders: HashMap<String, Arc<Outcome>> = HashMap::new();
    let mut jobs = Vec::with_capacity(containers.len());
    for c in containers {
        let tx = Arc::new(watch::channel(None).0);
        let parent = match &c.parent_fqn {
            None => Ok(None),
            Some(p) => senders
                .get(p)
                .map(|s| Some((p.clone(), s.subscribe())))
                .ok_or_else(|| p.clone()),
        };
        senders.insert(c.fqn.clone(), tx.clone());
        jobs.push((c, tx, parent));
    }
    drop(senders);
    let outcomes: Vec<(String, Result<(), String>)> = stream::iter(jobs)
        .map(|(c, tx, parent)| async move {
            let parent = match parent {
                Ok(None) => Ok(None),
                Ok(Some((p, mut rx))) => match rx.wait_for(Option::is_some).await {
                    Ok(v) => v
                        .clone()
                        .flatten()
                        .map(Some)
                        .ok_or_else(|| format!("not written: its parent {p} was not written")),
                    Err(_) => Err(format!("not written: its parent {p} was not written")),
                },
                Err(p) => Err(format!("not written: its parent {p} is not in this run")),
            };
            let res = match parent {
                Ok(p) => sink
                    .put(service, &c, p.as_ref())
                    .await
                    .map_err(|e| e.message),
                Err(m) => Err(m),
            };
            tx.send_replace(Some(res.as_ref().ok().cloned()));
            (c.fqn, res.map(|_| ()))
        })
        .buffered(width)
        .collect()
        .await;
    for (fqn, r) in outcomes {
        if let Err(m) = r {
            failures.fail(fqn, m);
        }
    }
}

async fn load_global(v: &Validated, store: &dyn ObjectStore) -> Result<Vec<GlobalEntry>, String> {
    let max = v.raw.s3meta.max_manifest_bytes;
    let source = match &v.manifest_source {
        ManifestSource::None => return Ok(vec![]),
        ManifestSource::Local(path) => GlobalSource::Local(path),
        ManifestSource::Http(url) => GlobalSource::Http {
            url,
            timeout: Duration::from_secs(v.raw.s3meta.http_timeout_secs),
        },
        ManifestSource::S3 {
            security_config,
            prefix,
        } => {
            // The reference reads it with the variant's own credentials, or the ambient
            // default chain when none are given — never the connector's.
            let sdk = match security_config {
                Some(sc) => aws::sdk_config(sc, &v.raw.s3meta).await,
                None => {
                    aws_config::defaults(aws_config::BehaviorVersion::latest())
                        .load()
                        .await
                }
            };
            let endpoint = security_config
                .as_ref()
                .and_then(|s| s.end_point_url.clone());
            let own = S3Store::new(aws::s3_client(&sdk, endpoint.as_deref()));
            let _ = store;
            return manifest::load_global(
                GlobalSource::S3 {
                    store: &own,
                    bucket: &prefix.container_name,
                    prefix: prefix.object_prefix.as_deref(),
                },
                max,
            )
            .await
            .map_err(|e| e.to_string());
        }
    };
    manifest::load_global(source, max)
        .await
        .map_err(|e| e.to_string())
}

/// The buckets to ingest: `bucketNames` as given (no filter), or every bucket ListBuckets
/// returns that passes the filter; then this worker's shard of them. `None` when ListBuckets
/// failed. The flag says whether the run covers the whole service (no `bucketNames`, nothing
/// filtered, no shard), which decides the scope of stale-marking.
async fn discover(
    v: &Validated,
    store: &dyn ObjectStore,
    source: &mut StepStatus,
) -> Option<(Vec<String>, bool)> {
    let conn = v.raw.source.service_connection.as_ref()?;
    let (mut buckets, mut whole) = match conn.config.bucket_names.as_ref().filter(|n| !n.is_empty())
    {
        Some(names) => (names.clone(), false),
        None => match store.list_buckets().await {
            Ok(all) => {
                let mut whole = true;
                let kept = all
                    .into_iter()
                    .filter(|b| {
                        let out = v.filter.excludes(b);
                        if out {
                            source.filter(b.clone(), "Bucket Filtered Out");
                            whole = false;
                        }
                        !out
                    })
                    .collect();
                (kept, whole)
            }
            Err(e) => {
                // DIFF(spec §13 #26): a failed ListBuckets is a failure, not zero buckets.
                source.fail("ListBuckets", format!("cannot list buckets: {e}"));
                return None;
            }
        },
    };
    if let Some(shard) = v.shard {
        buckets.retain(|b| shard.owns(b));
        whole = false;
        tracing::info!(shard = %format!("{}/{}", shard.index, shard.count), buckets = buckets.len(), "Shard selected.");
    }
    Some((buckets, whole))
}

/// Which entries a bucket gets: global manifest, then its own `openmetadata.json`, then
/// `defaultManifest` (reference §4.3). Returns whether the view is trustworthy.
async fn resolve_entries(shared: &Shared, bucket: &str, st: &mut StepStatus) -> (Vec<Entry>, bool) {
    let from_global = manifest::entries_for(&shared.global, bucket);
    if !from_global.is_empty() {
        return (from_global, true);
    }
    let max = shared.v.raw.s3meta.max_manifest_bytes;
    let mut complete = true;
    match shared.store.get_small(bucket, MANIFEST_FILE, max).await {
        Ok(bytes) => match manifest::parse_bucket_manifest(&bytes) {
            Ok(entries) if !entries.is_empty() => return (entries, true),
            Ok(_) => tracing::info!("The bucket manifest has no entries."),
            Err(e) => {
                st.warn(
                    format!("{bucket}/{MANIFEST_FILE}"),
                    format!("invalid manifest: {e}"),
                );
                complete = false;
            }
        },
        Err(e) if e.kind == ErrorKind::NotFound => {
            tracing::info!("No manifest file found at s3://{bucket}/{MANIFEST_FILE}.");
        }
        Err(e) => {
            // DIFF(spec §4.1): the reference treats any read failure as "no manifest",
            // silently. Here a denied read is a warning and any other failure (unreachable,
            // bad credentials, throttled past retries) is a failure; both protect the
            // bucket's containers from stale-marking.
            let scope = format!("{bucket}/{MANIFEST_FILE}");
            if e.kind == ErrorKind::PermissionDenied {
                st.warn(scope, format!("cannot read the manifest: {e}"));
            } else {
                st.fail(scope, format!("cannot read the manifest: {e}"));
            }
            complete = false;
        }
    }
    (
        manifest::entries_for(&shared.default_manifest, bucket),
        complete,
    )
}

async fn process_bucket(shared: &Shared, bucket: &str) -> BucketResult {
    let v = &shared.v;
    let service_fqn = quote_name(&v.service_name);
    let fqn = child_fqn(&service_fqn, bucket);
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
    let conn = v.raw.source.service_connection.as_ref().map(|c| &c.config);
    // DIFF(spec §7, §13 #11): CloudWatch is asked in the bucket's own region when
    // GetBucketLocation ran; the reference always asks `awsRegion` (0 for other regions).
    let mut metrics_region = v.aws.aws_region.clone();
    let console = match conn.and_then(|c| c.console_endpoint_url.as_deref()) {
        Some(base) => Console::custom(base),
        None => {
            // DIFF(spec §13 #10): GetBucketLocation once per bucket, not once per container.
            let region = match shared.store.bucket_region(bucket).await {
                Ok(Some(r)) => r,
                Ok(None) => v.aws.aws_region.clone(),
                Err(e) => {
                    st.warn(
                        bucket,
                        format!("GetBucketLocation failed, using awsRegion for sourceUrl: {e}"),
                    );
                    v.aws.aws_region.clone()
                }
            };
            metrics_region = region.clone();
            Console::Aws { region }
        }
    };
    let mut containers = vec![Container {
        name: bucket.to_string(),
        fqn: fqn.clone(),
        parent_fqn: None,
        data_model: None,
        prefix: "/".into(),
        number_of_objects: Some(0.0),
        size: Some(0.0),
        file_formats: vec![],
        tags: vec![],
        source_url: console.bucket_url(bucket),
        full_path: full_path(bucket, ""),
    }];

    let include_tags = v.raw.source.source_config.config.include_tags;
    let store = shared.store.as_ref();
    // Metrics and bucket tags are fetched while the bucket is planned, so they cost no time.
    let extras = async {
        let metrics = match &shared.metrics {
            Some(m) => Some(m.bucket(bucket, &metrics_region).await),
            None => None,
        };
        let tags = if include_tags {
            Some(store.bucket_tags(bucket).await)
        } else {
            None
        };
        (metrics, tags)
    };
    let body = async {
        let begun = Instant::now();
        let (entries, manifest_ok) = resolve_entries(shared, bucket, &mut st).await;
        shared.stages.record("manifests", begun);
        let begun = Instant::now();
        let ctx = PlanContext {
            store,
            bucket,
            filter: &v.filter,
            opts: &v.raw.s3meta,
        };
        let planned = plan::plan_bucket(ctx, entries, &mut st).await;
        shared.stages.record("planning", begun);
        let begun = Instant::now();
        let (inferred, file_tags) = tokio::join!(
            infer_all(shared, bucket, &planned),
            file_tags(shared, bucket, &planned)
        );
        shared.stages.record("inference", begun);
        (manifest_ok, planned, inferred, file_tags)
    };
    let ((metrics, bucket_tags), (manifest_ok, planned, inferred, mut file_tags)) =
        tokio::join!(extras, body);
    let mut metrics_unknown = false;
    match metrics {
        None => {}
        Some(Ok(m)) => {
            metrics_unknown = m.number_of_objects.is_none() || m.size_bytes.is_none();
            containers[0].number_of_objects = Some(m.number_of_objects.unwrap_or(0) as f64);
            containers[0].size = Some(m.size_bytes.unwrap_or(0) as f64);
        }
        Some(Err(e)) => st.warn(
            bucket,
            format!("Failed fetching the metrics of bucket {bucket}, returning 0: {e}"),
        ),
    }
    match bucket_tags {
        None => {}
        Some(Ok(tags)) => containers[0].tags = s3_tags(tags),
        // DIFF(spec §6.6): the reference swallows every tagging error at debug level; a
        // denied or failed call is a warning here (a missing tag set is not an error).
        Some(Err(e)) => st.warn(bucket, format!("cannot read the bucket's tags: {e}")),
    }

    let mut folder_fqns: BTreeMap<String, String> = BTreeMap::new();
    let mut not_built: BTreeMap<String, usize> = BTreeMap::new();
    for (p, inferred) in planned.into_iter().zip(inferred) {
        let c = match p {
            Planned::Structured(s) => {
                match structured_container(
                    bucket,
                    &fqn,
                    &console,
                    s,
                    inferred,
                    &mut st,
                    &mut not_built,
                ) {
                    Some(c) => c,
                    None => continue,
                }
            }
            Planned::Archive { name, size, .. } => {
                let archive = unstructured_container(bucket, &fqn, &console, name, size);
                if let Some(why) = invalid_name(&archive.name) {
                    st.fail(&archive.fqn, format!("not published: {why}"));
                    continue;
                }
                let members = match inferred {
                    Inferred::Archive(read) => {
                        archive_members(bucket, &console, &archive, read, &mut st)
                    }
                    _ => vec![],
                };
                containers.push(archive);
                for m in members {
                    match invalid_name(&m.name) {
                        Some(why) => st.fail(&m.fqn, format!("not published: {why}")),
                        None => containers.push(m),
                    }
                }
                continue;
            }
            Planned::Unstructured { name, size } => {
                unstructured_container(bucket, &fqn, &console, name, size)
            }
            Planned::Folder { path, name, parent } => {
                let parent_fqn = parent
                    .and_then(|p| folder_fqns.get(&p).cloned())
                    .unwrap_or_else(|| fqn.clone());
                let my = child_fqn(&parent_fqn, &name);
                folder_fqns.insert(path.clone(), my.clone());
                // DIFF(spec §6.3, §13 #12): a `/`-path prefix and a well-formed sourceUrl;
                // the reference writes an `s3://` URI into `prefix`.
                Container {
                    name,
                    fqn: my,
                    parent_fqn: Some(parent_fqn),
                    data_model: None,
                    prefix: format!("/{path}"),
                    number_of_objects: None,
                    size: None,
                    file_formats: vec![],
                    tags: vec![],
                    source_url: console.folder_url(bucket, &path),
                    full_path: full_path(bucket, &path),
                }
            }
            Planned::File {
                key,
                name,
                parent,
                size,
            } => {
                let parent_fqn = parent
                    .and_then(|p| folder_fqns.get(&p).cloned())
                    .unwrap_or_else(|| fqn.clone());
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
                Container {
                    fqn: child_fqn(&parent_fqn, &name),
                    name,
                    parent_fqn: Some(parent_fqn),
                    data_model: None,
                    prefix: format!("/{key}"),
                    number_of_objects: None,
                    size: Some(size as f64),
                    file_formats: vec![],
                    tags,
                    source_url: console.object_url(bucket, &key),
                    full_path: full_path(bucket, &key),
                }
            }
        };
        if let Some(why) = invalid_name(&c.name) {
            st.fail(&c.fqn, format!("not published: {why}"));
            continue;
        }
        containers.push(c);
    }
    for (format, n) in not_built {
        st.warn(
            bucket,
            format!("schemas not inferred for {n} `{format}` container(s): that reader is not built yet; only partition columns are sent"),
        );
    }
    let complete = manifest_ok && st.failures.is_empty();
    shared.counters.containers.fetch_add(
        containers.len() as u64,
        std::sync::atomic::Ordering::Relaxed,
    );
    BucketResult {
        fqn,
        containers,
        status: st,
        complete,
        metrics_unknown,
    }
}

/// S3 tags as the container carries them: blank values skipped, as the reference does.
fn s3_tags(tags: Vec<(String, String)>) -> Vec<entity::S3Tag> {
    tags.into_iter()
        .filter(|(_, value)| !value.trim().is_empty())
        .map(|(key, value)| entity::S3Tag { key, value })
        .collect()
}

/// Tags of the `unstructuredFormats` leaf files (spec §6.6: only they, and the bucket, get
/// tags), concurrently; nothing when `includeTags` is off.
async fn file_tags(
    shared: &Shared,
    bucket: &str,
    planned: &[Planned],
) -> HashMap<String, crate::store::Result<Vec<(String, String)>>> {
    if !shared.v.raw.source.source_config.config.include_tags {
        return HashMap::new();
    }
    let store = shared.store.as_ref();
    stream::iter(planned.iter().filter_map(|p| match p {
        Planned::File { key, .. } => Some(key.as_str()),
        _ => None,
    }))
    .map(|key| async move { (key.to_string(), store.object_tags(bucket, key).await) })
    .buffer_unordered(shared.v.raw.s3meta.entry_concurrency)
    .collect()
    .await
}

/// Inference for every structured plan, concurrently, results in plan order.
/// Inference for every structured plan (each of its samples) and every archive,
/// concurrently within `entryConcurrency`, results in plan order.
async fn infer_all(shared: &Shared, bucket: &str, planned: &[Planned]) -> Vec<Inferred> {
    let store = shared.store.as_ref();
    let limits = shared.limits;
    stream::iter(planned.iter())
        .map(|p| async move {
            match p {
                Planned::Structured(s) => {
                    let mut out = Vec::with_capacity(s.samples.len());
                    for object in &s.samples {
                        let sample = Sample {
                            bucket,
                            object,
                            format: &s.format,
                            separator: s.separator.as_deref(),
                        };
                        let r = infer::infer_columns(store, sample, &limits).await;
                        out.push((object.key.clone(), r));
                    }
                    Inferred::Samples(out)
                }
                Planned::Archive { name, format, size } => Inferred::Archive(
                    infer::archive::read_archive(store, bucket, name, *size, format, &limits).await,
                ),
                _ => Inferred::Nothing,
            }
        })
        .buffered(shared.v.raw.s3meta.entry_concurrency)
        .collect()
        .await
}

fn structured_container(
    bucket: &str,
    bucket_fqn: &str,
    console: &Console,
    s: StructuredPlan,
    inferred: Inferred,
    st: &mut StepStatus,
    not_built: &mut BTreeMap<String, usize>,
) -> Option<Container> {
    let scope = format!("{bucket}/{}", s.samples[0].key);
    let mut all = s.partition_columns.clone();
    let mut read = Vec::new();
    let mut failed = false;
    if let Inferred::Samples(results) = inferred {
        for (key, r) in results {
            match r {
                Ok(cols) => read.push((key, cols)),
                Err(infer::Error::NotBuilt { format }) => {
                    *not_built.entry(format).or_default() += 1;
                    break;
                }
                Err(e) => {
                    failed = true;
                    // DIFF(spec §13 #21): a read or parse failure is counted, not only logged.
                    st.fail(
                        format!("{bucket}/{key}"),
                        format!("Error fetching the schema of {}: {e}", s.name),
                    );
                }
            }
        }
    }
    if !read.is_empty() {
        let keys: Vec<String> = read.iter().map(|(k, _)| k.clone()).collect();
        let merged = infer::merge::merge(read);
        if !merged.disagreeing.is_empty() {
            st.warn(
                &scope,
                format!(
                    "the sample files of {} disagree on the schema: {} differ from {}; columns merged (union by name, INT with FLOAT is FLOAT, other conflicts STRING)",
                    s.name,
                    merged.disagreeing.join(", "),
                    keys[0]
                ),
            );
        }
        if merged.columns.is_empty() && all.is_empty() {
            st.warn(
                &scope,
                format!("no columns found in the sample of {}; no container", s.name),
            );
            return None;
        }
        all.extend(merged.columns);
    } else if failed && all.is_empty() {
        return None;
    }
    Some(Container {
        fqn: child_fqn(bucket_fqn, &s.name),
        parent_fqn: Some(bucket_fqn.to_string()),
        data_model: Some(DataModel {
            is_partitioned: s.is_partitioned,
            columns: all,
        }),
        prefix: format!("/{}", s.name),
        number_of_objects: None,
        size: None,
        file_formats: entity::file_formats(&s.format).unwrap_or_default(),
        tags: vec![],
        source_url: console.folder_url(bucket, &s.name),
        full_path: full_path(bucket, &s.name),
        name: s.name,
    })
}

/// Runs an ingestion on a runtime of its own, in its own thread, and awaits its result.
///
/// The scheduler spawns runs as tasks, which must be `Send`; the ingest future is, but the
/// compiler cannot prove it through the higher-ranked lifetimes of its bounded streams
/// (rust-lang/rust#102211). A thread per run sidesteps that and also isolates runs from one
/// another; a run is minutes long, so the thread is cheap.
pub async fn run_ingest_isolated(v: Validated) -> Result<RunStatus, String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let result = match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(run_ingest(v)).map_err(|e| e.to_string()),
            Err(e) => Err(format!("cannot start a runtime for the run: {e}")),
        };
        let _ = tx.send(result);
    });
    rx.await
        .map_err(|_| "the run's thread ended without a result".to_string())?
}

/// What inference gave for one planned container.
#[derive(Debug)]
enum Inferred {
    /// Not a container with a schema.
    Nothing,
    /// Each sample's key and columns (or error), best sample first.
    Samples(Vec<(String, Result<Vec<Column>, infer::Error>)>),
    /// An archive's members.
    Archive(Result<infer::archive::Archive, infer::Error>),
}

/// A literal unstructured path, or an archive's own container (reference §5.6, §5.8).
fn unstructured_container(
    bucket: &str,
    bucket_fqn: &str,
    console: &Console,
    name: String,
    size: Option<u64>,
) -> Container {
    Container {
        fqn: child_fqn(bucket_fqn, &name),
        parent_fqn: Some(bucket_fqn.to_string()),
        data_model: None,
        prefix: format!("/{name}"),
        number_of_objects: None,
        size: size.map(|s| s as f64),
        file_formats: vec![],
        tags: vec![],
        source_url: if size.is_some() {
            console.object_url(bucket, &name)
        } else {
            console.folder_url(bucket, &name)
        },
        full_path: full_path(bucket, &name),
        name,
    }
}

/// One child container per file member of an archive (reference §5.8), each with the
/// columns of its own content.
fn archive_members(
    bucket: &str,
    console: &Console,
    archive: &Container,
    read: Result<infer::archive::Archive, infer::Error>,
    st: &mut StepStatus,
) -> Vec<Container> {
    let scope = format!("{bucket}/{}", archive.name);
    let read = match read {
        Ok(r) => r,
        Err(e) => {
            // The reference logs archive errors and records nothing; a warning here.
            st.warn(&scope, format!("archive members not read: {e}"));
            return vec![];
        }
    };
    for w in &read.warnings {
        st.warn(&scope, w.clone());
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for m in read.members {
        let name = m.name().to_string();
        let fqn = child_fqn(&archive.fqn, &name);
        if !seen.insert(fqn.clone()) {
            st.warn(
                &scope,
                format!(
                    "member {} skipped: another member is also named {name}",
                    m.path
                ),
            );
            continue;
        }
        let inner = format!("{}/{}", archive.name, m.path);
        out.push(Container {
            fqn,
            parent_fqn: Some(archive.fqn.clone()),
            data_model: m
                .columns
                .filter(|c| !c.is_empty())
                .map(|columns| DataModel {
                    is_partitioned: false,
                    columns,
                }),
            prefix: format!("/{inner}"),
            number_of_objects: None,
            size: Some(m.size as f64),
            // `[inner format]` only when the format is itself a FileFormat value (`jsonl`
            // is not), as the reference.
            file_formats: m
                .format
                .as_deref()
                .and_then(|f| entity::file_formats(f).filter(|v| v.as_slice() == [f]))
                .unwrap_or_default(),
            tags: vec![],
            source_url: console.object_url(bucket, &archive.name),
            full_path: full_path(bucket, &inner),
            name,
        });
    }
    out
}
