//! The driver: config → buckets → manifests → plan → inference → entities → sink.
//!
//! It owns concurrency, ordering and the run's status, and nothing else: bucket discovery
//! lives in [`crate::discover`], manifest precedence in [`crate::manifest`], planning in
//! [`crate::plan`], the schema-merge policy in [`crate::infer`], container construction in
//! [`crate::entity`]. Buckets are processed concurrently (`bucket`) but written in a
//! deterministic order: buckets in discovery order, and inside a bucket the bucket container
//! first, then the structured pass, then the unstructured pass, every parent before its
//! children (`write`).

mod bucket;
mod state;
mod write;

use crate::aws;
use crate::config::{SinkKind, Validated};
use crate::discover;
use crate::entity::{child_fqn, quote_name, Container};
use crate::infer::Limits;
use crate::manifest::Manifests;
use crate::metrics::Metrics;
use crate::progress::{Counters, Reporter, Stages};
use crate::sink::openmetadata::{self as om, OmSink};
use crate::sink::{self, file::FileSink, Seen, ServiceInfo, Sink};
use crate::status::{RunStatus, StepStatus};
use crate::store::{budget::BudgetStore, counting::CountingStore, s3::S3Store, ObjectStore};
use crate::testconn;
use bucket::{BucketResult, Shared};
use futures::stream::{self, StreamExt};
use futures::FutureExt;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// Name of the source step in the summary, as in the reference.
pub const SOURCE_STEP: &str = "S3";

/// A failure that stops the run before or instead of ingesting.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The sink cannot be used. Not a `#[source]`: the sink error's text already says its
    /// causes, and the CLI prints the whole chain (`{:#}`), which would repeat them.
    #[error("sink: {0}")]
    Sink(sink::Error),
    /// A mandatory test-connection step failed (reference §9).
    #[error("Failed to run the test connection step: {step}: {message}")]
    TestConnection {
        /// The step (`ListBuckets`).
        step: String,
        /// Its error and hint.
        message: String,
    },
}

impl From<sink::Error> for InitError {
    fn from(e: sink::Error) -> Self {
        InitError::Sink(e)
    }
}

/// Containers inferred at once at most, whatever `requestConcurrency` is: each may hold a
/// sample of up to `textSampleBytes` (1 MiB by default), so this bounds what samples cost
/// in memory (64 MiB by default).
const MAX_INFERRING: usize = 64;

/// Why CloudWatch is not asked for bucket metrics in this run.
type NoMetrics = String;

/// Runs an ingestion with the configured sink, against S3 as configured.
pub async fn run_ingest(v: Validated) -> Result<RunStatus, InitError> {
    let sdk = aws::sdk_config(v.aws(), &v.options).await;
    let endpoint = v.aws().end_point_url.as_deref();
    let s3 = S3Store::new(aws::s3_client(&sdk, endpoint));

    // The reference's test connection runs before anything is read (spec §9); the sink
    // connects meanwhile (different servers), and its failure is said first.
    let cloudwatch = aws::cloudwatch_client(&sdk, endpoint, None);
    let (sink, report) = tokio::join!(
        connect_sink(&v),
        testconn::run_with(&v, &s3, &cloudwatch, true)
    );
    let sink = sink?;
    if let Some(failed) = report.failed_mandatory() {
        return Err(InitError::TestConnection {
            step: failed.name.clone(),
            message: failed.message.clone(),
        });
    }
    // GetMetrics becomes the run's one CloudWatch warning below: not logged twice.
    for s in report
        .steps
        .iter()
        .filter(|s| !s.passed && s.name != testconn::GET_METRICS)
    {
        tracing::warn!(step = %s.name, "Optional test-connection step failed: {}", s.message);
    }
    let metrics = if !v.options.bucket_metrics {
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
    let found = Found {
        buckets: report.listed,
        service: report.service_exists,
    };
    run(v, Arc::new(s3), found, metrics, sink).await
}

/// The configured sink, connected (the `metadata-rest` sink checks the server first).
async fn connect_sink(v: &Validated) -> Result<Box<dyn Sink>, InitError> {
    Ok(match &v.sink {
        SinkKind::File { path } => Box::new(FileSink::new(path).dry_run(v.dry_run)),
        SinkKind::MetadataRest(server) => {
            Box::new(OmSink::connect(server, om::Settings::of(v)).await?)
        }
    })
}

/// What test-connection already learnt, so the run does not ask again.
#[derive(Debug, Default)]
struct Found {
    /// ListBuckets' answer.
    buckets: Option<Vec<String>>,
    /// Whether the storage service exists.
    service: Option<bool>,
}

/// The run itself. `metrics`: `Ok(None)` when turned off, `Err(why)` when CloudWatch is
/// unavailable.
async fn run(
    v: Validated,
    store: Arc<dyn ObjectStore>,
    found: Found,
    metrics: Result<Option<Metrics>, NoMetrics>,
    mut sink: Box<dyn Sink>,
) -> Result<RunStatus, InitError> {
    let started = Instant::now();
    // One budget of requests in flight for the whole run, whichever stage sends them.
    let budget: Arc<dyn ObjectStore> = Arc::new(BudgetStore::new(
        store,
        v.options.request_concurrency,
        v.options.max_attempts,
    ));
    // Counts bytes read, for progress and the summary (requests are counted by the store
    // itself, retries included, and forwarded).
    let counting = Arc::new(CountingStore::new(budget));
    let counters = Arc::new(Counters::default());
    let _progress = progress(&counting, &counters, v.options.status_interval_secs);
    let mut source = StepStatus::new(SOURCE_STEP);
    let metrics = metrics.unwrap_or_else(|why| {
        source.warn(
            "CloudWatch",
            format!(
                "unavailable, so numberOfObjects and size are sent as 0 for every bucket: {why}"
            ),
        );
        None
    });
    let (manifests, buckets, mut seen) =
        survey(&v, found.buckets, counting.as_ref(), &mut source).await;
    let stages = Stages::default();
    stages.record("discovery", started);
    counters.buckets_total.store(buckets.len() as u64, Relaxed);

    let limits = Limits::from_options(&v.options);
    let state = v
        .options
        .state_file
        .as_deref()
        .map(std::path::Path::new)
        .map(|p| match v.full {
            true => state::SampleState::fresh(p, &limits),
            false => state::SampleState::load(p, &limits),
        });
    let shared = Arc::new(Shared {
        inferring: tokio::sync::Semaphore::new(
            v.options.request_concurrency.clamp(1, MAX_INFERRING),
        ),
        limits,
        state,
        v,
        store: counting.clone(),
        manifests,
        metrics,
        counters,
        stages,
    });
    let service = ServiceInfo {
        name: shared.v.service_name.clone(),
        connection: shared.v.connection.clone(),
        store_connection: shared.v.store_service_connection,
        exists: found.service,
    };
    let mut sink_failures = process_and_write(
        &shared,
        buckets,
        sink.as_mut(),
        &service,
        &mut source,
        &mut seen,
    )
    .await?;

    if let Some(state) = &shared.state {
        // Not after a dry run: it wrote nothing, so the next run starts where this one did.
        if !shared.v.dry_run {
            if let Err(e) = state.save() {
                source.warn(
                    "s3meta.stateFile",
                    format!("cannot write the state file (the next run reads every sample): {e}"),
                );
            }
        }
    }
    source.requests = shared.store.request_counts();
    source.bytes_read = Some(counting.counts().bytes);
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

/// Progress on stderr while the run lasts.
fn progress(counting: &Arc<CountingStore>, counters: &Arc<Counters>, every_secs: u64) -> Reporter {
    let reading = counting.clone();
    Reporter::start(
        counters.clone(),
        move || {
            let c = reading.counts();
            (c.requests, c.bytes)
        },
        Duration::from_secs(every_secs),
    )
}

/// The run's manifests and buckets, and what stale-marking may touch: nothing at all when
/// the global manifest or ListBuckets failed, only the listed buckets when the run does not
/// cover the whole service.
async fn survey(
    v: &Validated,
    listed: Option<Vec<String>>,
    store: &dyn ObjectStore,
    source: &mut StepStatus,
) -> (Manifests, Vec<String>, Seen) {
    let own = crate::manifest::global_store(v).await;
    let own = own.as_ref().map(|s| s as &dyn ObjectStore);
    let (manifests, global_ok) = Manifests::load(v, own, source).await;
    let found = discover::buckets_listed(v, listed, store, source).await;
    let service_fqn = quote_name(&v.service_name);
    let mut seen = Seen::default();
    if !global_ok || found.is_none() {
        seen.incomplete.insert(service_fqn.clone());
    }
    let buckets = found.map_or_else(Vec::new, |b| {
        if !b.whole_service {
            seen.scope = Some(b.names.iter().map(|n| child_fqn(&service_fqn, n)).collect());
        }
        b.names
    });
    (manifests, buckets, seen)
}

/// Processes the buckets, `bucketConcurrency` at once, and writes their containers: in a
/// deterministic order for a sink that takes one write at a time (the file sink), as soon as
/// each is ready for one that takes several (`metadata-rest`). The sink's service is found
/// or created first (`Sink::begin`), while the first buckets are already being read; its
/// failure stops the run. Returns the sink's failures.
async fn process_and_write(
    shared: &Arc<Shared>,
    buckets: Vec<String>,
    sink: &mut dyn Sink,
    service: &ServiceInfo,
    source: &mut StepStatus,
    seen: &mut Seen,
) -> Result<StepStatus, InitError> {
    let mut sink_failures = StepStatus::default();
    let mut metrics_unknown: Vec<String> = vec![];
    let mut absorb = |r: &mut BucketResult, seen: &mut Seen| {
        source.absorb(std::mem::take(&mut r.status));
        if r.metrics_unknown {
            metrics_unknown.push(r.fqn.clone());
        }
        if !r.complete {
            seen.incomplete.insert(r.fqn.clone());
        }
    };
    let begin = Begin { sink, service };
    let produced = if begin.sink.concurrency() > 1 {
        pipelined(
            shared,
            buckets,
            begin,
            &mut sink_failures,
            seen,
            &mut absorb,
        )
        .await?
    } else {
        ordered(
            shared,
            buckets,
            begin,
            &mut sink_failures,
            seen,
            &mut absorb,
        )
        .await?
    };
    // The service, then the containers.
    source.records += 1 + produced;
    if !metrics_unknown.is_empty() {
        // Noted once per run: the reference sends 0 silently, indistinguishable from empty.
        source.warn(
            "CloudWatch",
            format!(
                "no CloudWatch data in the last 2 days for {} bucket(s) ({}): their numberOfObjects and size are unknown and sent as 0, as the reference does",
                metrics_unknown.len(),
                some_of(&metrics_unknown, 5)
            ),
        );
    }
    Ok(sink_failures)
}

/// The sink before its service is found or created.
struct Begin<'a> {
    sink: &'a mut dyn Sink,
    service: &'a ServiceInfo,
}

impl<'a> Begin<'a> {
    /// Finds or creates the service; then the sink takes containers.
    async fn begin(self, stages: &Stages) -> Result<&'a dyn Sink, InitError> {
        let begun = Instant::now();
        let r = self.sink.begin(self.service).await;
        stages.record("sink writes", begun);
        r?;
        Ok(self.sink)
    }
}

/// The span of one bucket's work.
fn bucket_span(bucket: &str) -> tracing::Span {
    tracing::info_span!("bucket", bucket = %bucket)
}

/// One bucket after the other as the sink sees them: buckets in discovery order, each
/// one's containers in plan order, every write after the previous one (buckets are still
/// processed `bucketConcurrency` at once meanwhile).
async fn ordered(
    shared: &Arc<Shared>,
    buckets: Vec<String>,
    begin: Begin<'_>,
    sink_failures: &mut StepStatus,
    seen: &mut Seen,
    absorb: &mut impl FnMut(&mut BucketResult, &mut Seen),
) -> Result<u64, InitError> {
    let concurrency = shared.v.options.bucket_concurrency;
    let mut produced = 0;
    let mut results = stream::iter(buckets)
        .map(|bucket| {
            let shared = shared.clone();
            let span = bucket_span(&bucket);
            async move { bucket::process(&shared, &bucket, None).await }.instrument(span)
        })
        .buffered(concurrency);
    // The bucket stream feeds a channel that the writer drains, both in this task: buckets
    // keep being processed while the sink writes the previous ones (a `buffered` stream only
    // progresses when polled), and the channel's bound keeps memory bounded.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<BucketResult>(concurrency.max(1));
    let produce = async move {
        while let Some(r) = results.next().await {
            if tx.send(r).await.is_err() {
                break;
            }
        }
    };
    let consume = async {
        let sink = begin.begin(&shared.stages).await?;
        while let Some(mut r) = rx.recv().await {
            absorb(&mut r, seen);
            for c in &r.containers {
                produced += 1;
                seen.fqns.insert(c.fqn.clone());
            }
            let begun = Instant::now();
            write::bucket(sink, &shared.v.service_name, r.containers, sink_failures).await;
            shared.stages.record("sink writes", begun);
            shared.counters.buckets_done.fetch_add(1, Relaxed);
        }
        Ok::<(), InitError>(())
    };
    // A failed `begin` ends the run: the buckets being read are dropped.
    futures::future::try_join(produce.map(Ok), consume).await?;
    Ok(produced)
}

/// What a bucket sends the pipelined writer: its own container as soon as it is ready,
/// then the rest.
enum Msg {
    Own(usize, Container),
    Rest(usize, BucketResult),
}

/// Every write as soon as its parent is written and a write slot is free: a bucket's own
/// container while its files are read, one bucket's children while the next is listed.
/// Buckets finish in any order; their statuses are absorbed in discovery order all the same.
async fn pipelined(
    shared: &Arc<Shared>,
    buckets: Vec<String>,
    begin: Begin<'_>,
    sink_failures: &mut StepStatus,
    seen: &mut Seen,
    absorb: &mut impl FnMut(&mut BucketResult, &mut Seen),
) -> Result<u64, InitError> {
    let concurrency = shared.v.options.bucket_concurrency;
    let n = buckets.len();
    let mut produced = 0;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Msg>(concurrency.max(1) * 2);
    let produce = stream::iter(buckets.into_iter().enumerate())
        // The closure owns the sender: the channel closes when the last bucket is done.
        .map(move |(i, bucket)| {
            let shared = shared.clone();
            let tx = tx.clone();
            let span = bucket_span(&bucket);
            async move {
                let (own_tx, own_rx) = tokio::sync::oneshot::channel();
                let forward = async {
                    if let Ok(c) = own_rx.await {
                        let _ = tx.send(Msg::Own(i, c)).await;
                    }
                };
                let (r, ()) =
                    tokio::join!(bucket::process(&shared, &bucket, Some(own_tx)), forward);
                let _ = tx.send(Msg::Rest(i, r)).await;
            }
            .instrument(span)
        })
        .buffer_unordered(concurrency)
        .for_each(|()| async {});
    let consume = async {
        let sink = begin.begin(&shared.stages).await?;
        let mut first_write: Option<Instant> = None;
        let mut pipeline = write::Pipeline::new(sink, &shared.v.service_name);
        let mut in_flight = futures::stream::FuturesUnordered::new();
        let mut done: Vec<Option<BucketResult>> = (0..n).map(|_| None).collect();
        let mut open = true;
        // Backpressure: with this many writes waiting, no new bucket result is taken, so a
        // sink slower than S3 holds the buckets back instead of queueing the whole lake.
        let most_waiting = sink.concurrency().saturating_mul(16).max(1024);
        while open || !in_flight.is_empty() {
            let room = in_flight.len() < most_waiting;
            tokio::select! {
                msg = rx.recv(), if open && room => match msg {
                    None => open = false,
                    Some(Msg::Own(i, c)) => {
                        first_write.get_or_insert_with(Instant::now);
                        produced += 1;
                        seen.fqns.insert(c.fqn.clone());
                        in_flight.push(pipeline.submit(write::Job { seq: (i, 0), container: c }));
                    }
                    Some(Msg::Rest(i, mut r)) => {
                        for (j, c) in std::mem::take(&mut r.containers).into_iter().enumerate() {
                            first_write.get_or_insert_with(Instant::now);
                            produced += 1;
                            seen.fqns.insert(c.fqn.clone());
                            in_flight.push(pipeline.submit(write::Job { seq: (i, j + 1), container: c }));
                        }
                        shared.counters.buckets_done.fetch_add(1, Relaxed);
                        done[i] = Some(r);
                    }
                },
                Some(d) = in_flight.next(), if !in_flight.is_empty() => pipeline.record(d),
            }
        }
        pipeline.finish(sink_failures);
        for r in done.iter_mut().flatten() {
            absorb(r, seen);
        }
        if let Some(begun) = first_write {
            shared.stages.record("sink writes", begun);
        }
        Ok::<(), InitError>(())
    };
    // A failed `begin` ends the run: the buckets being read are dropped.
    futures::future::try_join(produce.map(Ok), consume).await?;
    Ok(produced)
}

/// The first `n` names, then how many more: a warning stays one readable line.
fn some_of(names: &[String], n: usize) -> String {
    match names.len().checked_sub(n) {
        Some(more) if more > 0 => format!("{} and {more} more", names[..n].join(", ")),
        _ => names.join(", "),
    }
}
