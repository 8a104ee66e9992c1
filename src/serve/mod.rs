//! The second application in s3meta: `s3meta serve`, a scheduler daemon, and `s3meta run
//! --pipeline`, which runs one pipeline configured in the OpenMetadata UI.
//!
//! - [`schedule`] and [`cron`]: which run is due when (pure rules over injected time).
//! - this module: the long-running loop around [`schedule::Scheduler`].
//! - [`pipeline`]: the server's pipelines as jobs, their runner, and `run --pipeline`.
//! - [`local_job`]: a local workflow file on a cron schedule.
//! - `health`: the loopback health endpoint ([`Health`]).
//! - [`isolated`]: one ingest on a thread and runtime of its own.
//!
//! The ingest itself is the ordinary workflow; nothing here reads S3 or builds entities.
//!
//! ## The loop
//!
//! It refreshes the pipeline list from a [`JobSource`] (so changes made in the UI are picked
//! up without a restart), starts the runs that are due through a [`Runner`], persists each
//! pipeline's last run to a state file, answers a health endpoint on loopback, and on shutdown
//! (SIGTERM, Ctrl-C) lets the runs in flight finish within a grace period and reports the rest
//! as failed — a run is never left "running". Time comes from a [`Clock`], so tests drive it
//! without sleeping.

pub mod cron;
mod health;
pub mod isolated;
pub mod local_job;
pub mod pipeline;
pub mod schedule;

pub use health::Health;
pub use schedule::RunOutcome;

use async_trait::async_trait;
use futures::future::BoxFuture;
use health::serve_health;
use jiff::Timestamp;
use schedule::{JobRecord, JobSpec, Scheduler};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Where time comes from.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> Timestamp;
    /// Resolves at `t` (or at once when `t` has passed).
    fn sleep_until(&self, t: Timestamp) -> BoxFuture<'_, ()>;
}

/// The machine's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    fn sleep_until(&self, t: Timestamp) -> BoxFuture<'_, ()> {
        let wait = t.duration_since(Timestamp::now());
        let wait = Duration::try_from(wait).unwrap_or(Duration::ZERO);
        Box::pin(tokio::time::sleep(wait))
    }
}

/// Where the pipelines to schedule come from (a local schedule, or the server).
#[async_trait]
pub trait JobSource: Send + Sync {
    /// Why the list could not be read; the loop keeps the last list and says why.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The current pipelines and their schedules.
    async fn jobs(&self) -> Result<Vec<JobSpec>, Self::Error>;
}

/// Runs one pipeline once.
#[async_trait]
pub trait Runner: Send + Sync + 'static {
    /// Runs `id`; returns how it ended. Reports to the server, if any, are the runner's job.
    async fn run(&self, id: &str, attempt: u32) -> RunOutcome;

    /// Called for a run still in flight when the grace period after shutdown ends: report it
    /// as failed wherever its status is kept.
    async fn abandoned(&self, id: &str);
}

/// Options of the loop.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// JSON file holding each pipeline's last run, across restarts.
    pub state_file: Option<PathBuf>,
    /// Loopback address of the health endpoint (`127.0.0.1:0` picks a port).
    pub health_addr: Option<SocketAddr>,
    /// How often the pipeline list is refreshed.
    pub refresh: Duration,
    /// How long runs in flight may take to finish after a shutdown request.
    pub grace: Duration,
    /// Run every pipeline once at start, besides its schedule.
    pub run_at_start: bool,
}

/// A serve loop failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The health endpoint could not listen.
    #[error("cannot serve the health endpoint on {addr}: {source}")]
    Health {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The state file could not be written.
    #[error("cannot write the state file {path}: {source}")]
    State {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

fn load_state(path: Option<&PathBuf>) -> BTreeMap<String, JobRecord> {
    path.and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn save_state(path: Option<&PathBuf>, records: &BTreeMap<String, JobRecord>) -> Result<(), Error> {
    let Some(path) = path else { return Ok(()) };
    let fail = |source| Error::State {
        path: path.display().to_string(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let body = serde_json::to_vec_pretty(records).map_err(|e| fail(std::io::Error::other(e)))?;
    std::fs::write(&tmp, body).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

/// A running serve loop's handle on its health endpoint.
#[derive(Debug, Clone)]
pub struct Started {
    /// Where the health endpoint listens, if it does.
    pub health_addr: Option<SocketAddr>,
}

/// Runs the loop until `shutdown` resolves. `on_start` learns the health address.
pub async fn serve<S, R, C, F>(
    source: S,
    runner: Arc<R>,
    clock: Arc<C>,
    opts: ServeOptions,
    shutdown: F,
    on_start: impl FnOnce(Started),
) -> Result<Health, Error>
where
    S: JobSource,
    R: Runner,
    C: Clock + 'static,
    F: std::future::Future<Output = ()>,
{
    let health = Arc::new(Mutex::new(Health {
        status: "ok".into(),
        ..Default::default()
    }));
    let (health_addr, health_task) = match opts.health_addr {
        Some(addr) => {
            let (a, t) = serve_health(addr, health.clone()).await?;
            (Some(a), Some(t))
        }
        None => (None, None),
    };
    on_start(Started { health_addr });

    let mut sched = Scheduler::with_records(load_state(opts.state_file.as_ref()), clock.now());
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, RunOutcome)>();
    let mut in_flight: HashMap<String, JoinHandle<()>> = HashMap::new();
    let mut next_refresh = clock.now();
    let refresh =
        jiff::SignedDuration::try_from(opts.refresh).unwrap_or(jiff::SignedDuration::from_secs(60));
    tokio::pin!(shutdown);

    let publish = |sched: &Scheduler, in_flight: &HashMap<String, JoinHandle<()>>, status: &str| {
        if let Ok(mut h) = health.lock() {
            h.status = status.to_string();
            h.pipelines = sched.records();
            h.next_runs = sched.next_runs();
            h.running = in_flight.keys().cloned().collect();
            h.running.sort();
        }
    };

    let mut first = opts.run_at_start;
    loop {
        let now = clock.now();
        if now >= next_refresh {
            match source.jobs().await {
                Ok(specs) => {
                    let ids: Vec<String> = specs.iter().map(|s| s.id.clone()).collect();
                    let known = sched.records();
                    let fresh: Vec<String> = ids
                        .iter()
                        .filter(|id| !known.contains_key(*id))
                        .cloned()
                        .collect();
                    for spec in specs {
                        sched.upsert(spec, now);
                    }
                    sched.retain(&ids);
                    // Said once per pipeline, when it is first seen: when it will run.
                    let next = sched.next_runs();
                    for id in fresh {
                        match next.get(&id).copied().flatten() {
                            Some(at) => {
                                tracing::info!(pipeline = %id, "Scheduled: next run at {at}.")
                            }
                            None => {
                                tracing::info!(pipeline = %id, "Not scheduled (paused, manual or past its end date).")
                            }
                        }
                    }
                    if let Ok(mut h) = health.lock() {
                        h.last_refresh_error = None;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "Cannot refresh the pipeline list; keeping the last one.");
                    if let Ok(mut h) = health.lock() {
                        h.last_refresh_error = Some(e.to_string());
                    }
                }
            }
            next_refresh = now.checked_add(refresh).unwrap_or(now);
        }
        let mut starts = sched.due(now);
        if std::mem::take(&mut first) {
            let ids: Vec<String> = sched.records().into_keys().collect();
            starts.extend(ids.iter().filter_map(|id| sched.trigger(id)));
        }
        for start in starts {
            tracing::info!(pipeline = %start.id, attempt = start.attempt, "Starting a run.");
            let runner = runner.clone();
            let tx = tx.clone();
            let id = start.id.clone();
            let task = tokio::spawn(async move {
                let outcome = runner.run(&id, start.attempt).await;
                let _ = tx.send((id, outcome));
            });
            in_flight.insert(start.id, task);
        }
        publish(&sched, &in_flight, "ok");
        let wake = sched
            .next_wakeup()
            .map_or(next_refresh, |w| w.min(next_refresh));
        tokio::select! {
            _ = clock.sleep_until(wake) => {}
            Some((id, outcome)) = rx.recv() => {
                in_flight.remove(&id);
                sched.finished(&id, clock.now(), outcome);
                match sched.next_runs().get(&id).copied().flatten() {
                    Some(at) => tracing::info!(pipeline = %id, state = %outcome, "Run finished; next run at {at}."),
                    None => tracing::info!(pipeline = %id, state = %outcome, "Run finished."),
                }
                save_state(opts.state_file.as_ref(), &sched.records())?;
            }
            _ = &mut shutdown => break,
        }
    }

    // Shutdown: no new runs; the runs in flight get the grace period, then are abandoned.
    publish(&sched, &in_flight, "stopping");
    tracing::info!(running = in_flight.len(), "Shutting down.");
    let deadline = tokio::time::Instant::now() + opts.grace;
    while !in_flight.is_empty() {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some((id, outcome))) => {
                in_flight.remove(&id);
                sched.finished(&id, clock.now(), outcome);
            }
            _ => break,
        }
    }
    for (id, task) in in_flight.drain() {
        task.abort();
        tracing::warn!(pipeline = %id, "Run abandoned at shutdown; reported as failed.");
        runner.abandoned(&id).await;
        sched.finished(&id, clock.now(), RunOutcome::Failed);
    }
    save_state(opts.state_file.as_ref(), &sched.records())?;
    if let Some(t) = health_task {
        t.abort();
    }
    let h = Health {
        status: "stopped".into(),
        running: vec![],
        pipelines: sched.records(),
        next_runs: BTreeMap::new(),
        last_refresh_error: None,
    };
    Ok(h)
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
