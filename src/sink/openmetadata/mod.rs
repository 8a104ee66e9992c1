//! The `metadata-rest` sink: the storage service, its containers, tags, safe stale-marking and
//! the pipeline status, written to an OpenMetadata server (reference §8, ACCEPTANCE "OpenMetadata
//! REST writes").
//!
//! - [`OmSink::connect`] builds the client and checks the server version before anything else
//!   (an init error on mismatch, naming both versions).
//! - `begin`: the service is fetched by name and reused unchanged, or created.
//! - `put`: exactly one `PUT /v1/containers` per container; the parent is named by the id
//!   returned by the parent's own PUT, so no GET or search per container. Tags are created
//!   (classification then tag, once per run each) before the first container that carries them.
//! - `finish`: `deleteStale` with the seen FQNs, protecting what the run could not see; the
//!   list-and-delete fallback when the server has no `deleteStale`. The service's containers
//!   are listed first, and a run that would mark more of them deleted than `maxDeletions`
//!   allows deletes nothing (a warning says how many, the limit, and how to override it).
//! - `--dry-run`: only GETs reach the server (version, pipeline, service, the container
//!   listing); what would be created, written and marked deleted goes to the status.
//! - `report`: the final pipeline status with per-step summaries.
//!
//! This module knows nothing of S3: it receives finished [`Container`]s.

use super::{Error, Seen, ServiceInfo, Sink};
use crate::config::{MaxDeletions, OpenMetadataServerConfig, Validated};
use crate::entity::{quote_name, service_request, Container, ParentRef, S3Tag};
use crate::openmetadata::api::{
    self, CreateClassification, CreateTag, DeleteStale, EntityRef, Page, PipelineStatus,
    ProgressEvent, RunState, ServerVersion, COMPATIBLE_VERSION,
};
use crate::openmetadata::client::{segment, Answer, Client, ClientError, Transport};
use crate::status::{RunStatus, StepStatus};
use async_trait::async_trait;
use reqwest::Method;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::OnceCell;

/// Name of the sink step in the summary, as in the reference.
pub const STEP: &str = "OpenMetadata";
/// Page size of container listings.
const LIST_LIMIT: &str = "1000";

/// What the sink needs from the workflow config beyond `openMetadataServerConfig`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `serviceName`.
    pub service_name: String,
    /// `markDeletedContainers`.
    pub mark_deleted: bool,
    /// `ingestionPipelineFQN`.
    pub pipeline_fqn: Option<String>,
    /// `pipelineRunId`; a UUID v4 is generated when absent.
    pub run_id: Option<String>,
    /// `successThreshold`, for the final pipeline state.
    pub success_threshold: u32,
    /// `s3meta.sinkConcurrency`.
    pub concurrency: usize,
    /// `s3meta.sinkMaxAttempts`.
    pub max_attempts: u32,
    /// `s3meta.sinkTimeoutSecs`.
    pub timeout_secs: u64,
    /// `s3meta.statusIntervalSecs`: how often a `PROCESSING` progress event is sent while a
    /// pipeline run lasts (0: never).
    pub progress_interval_secs: u64,
    /// `s3meta.maxDeletions`: over it, stale-marking deletes nothing.
    pub max_deletions: MaxDeletions,
    /// `--dry-run`: only GETs reach the server; what would be written or marked deleted is
    /// listed in the status instead.
    pub dry_run: bool,
    /// Not `--full`: a container the server already holds with the same `sourceHash` is not
    /// sent again (its request body would be the same).
    pub skip_unchanged: bool,
}

impl Settings {
    /// The settings a validated workflow gives.
    pub fn of(v: &Validated) -> Settings {
        let o = &v.options;
        Settings {
            service_name: v.service_name.clone(),
            mark_deleted: v.mark_deleted,
            pipeline_fqn: v.pipeline_fqn.clone(),
            run_id: v.run_id.clone(),
            success_threshold: v.rules.success_threshold,
            concurrency: o.sink_concurrency,
            max_attempts: o.sink_max_attempts,
            timeout_secs: o.sink_timeout_secs,
            progress_interval_secs: o.status_interval_secs,
            max_deletions: o.max_deletions,
            dry_run: v.dry_run,
            skip_unchanged: !v.full,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Critical sections are single updates; a panic cannot leave them half-done.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

type Once = Arc<OnceCell<Result<(), TagError>>>;

/// The OpenMetadata REST sink.
#[derive(Debug)]
pub struct OmSink {
    client: Client,
    settings: Settings,
    run_id: String,
    started_ms: i64,
    /// Set once the pipeline was found and `running` was reported.
    pipeline: Option<String>,
    status: Mutex<StepStatus>,
    tags: Mutex<HashMap<String, Once>>,
    /// The task sending `PROCESSING` events, stopped by `report`.
    ticker: Option<tokio::task::JoinHandle<()>>,
    /// What the server already holds, by FQN: its id and `sourceHash` (read once in `begin`
    /// unless `--full`), so that an unchanged container is not sent again.
    held: HashMap<String, Held>,
    /// The service's live containers (FQN, id) when the run began: listed once then, for
    /// both the unchanged-container check and stale-marking's deletion guard (empty when
    /// this run created the service). `None` when not listed: stale-marking lists then.
    listed: Option<Vec<(String, String)>>,
    /// That listing, started when the sink connected: it runs while test-connection and
    /// the first buckets' reads do (a read, whatever test-connection then says).
    prefetch: Option<tokio::task::JoinHandle<HeldListing>>,
    /// Containers not sent because the server held them unchanged.
    unchanged: std::sync::atomic::AtomicU64,
}

/// A container the server holds.
#[derive(Debug, Clone)]
struct Held {
    id: String,
    source_hash: Option<String>,
}

impl Drop for OmSink {
    fn drop(&mut self) {
        if let Some(t) = self.ticker.take() {
            t.abort();
        }
        if let Some(p) = self.prefetch.take() {
            p.abort();
        }
    }
}

/// What [`list_held`] answers.
type HeldListing = Result<Vec<(String, Held)>, ClientError>;

/// Every live container of `service` with its id and `sourceHash`, page by page.
async fn list_held(client: &Client, service: &str) -> HeldListing {
    let service = quote_name(service);
    let mut out = vec![];
    let mut after: Option<String> = None;
    loop {
        let mut q = vec![("service", service.as_str()), ("limit", LIST_LIMIT)];
        if let Some(a) = &after {
            q.push(("after", a.as_str()));
        }
        let answer = client.call(Method::GET, "/containers", &q, None).await?;
        let page: Page = serde_json::from_value(answer.body).map_err(|e| ClientError::Api {
            status: answer.status,
            message: format!("unexpected listing: {e}"),
        })?;
        out.extend(page.data.into_iter().filter_map(|e| {
            let held = Held {
                id: e.id,
                source_hash: e.source_hash,
            };
            e.fqn.map(|f| (f, held))
        }));
        let next = page.paging.and_then(|p| p.after);
        if next.is_some() && next == after {
            // A server whose cursor does not move would be listed forever.
            return Err(ClientError::Api {
                status: answer.status,
                message: format!(
                    "the container listing's paging does not advance (after={next:?})"
                ),
            });
        }
        after = next;
        if after.is_none() {
            return Ok(out);
        }
    }
}

/// Sends one progress event; best effort (a server without the endpoint costs a debug line).
async fn send_progress(client: &Client, fqn: &str, run_id: &str, update_type: &str, records: u64) {
    let body = ProgressEvent {
        update_type,
        timestamp: now_ms(),
        records,
    };
    let path = format!(
        "/services/ingestionPipelines/progress/{}/{}",
        segment(fqn),
        segment(run_id)
    );
    if let Err(e) = client.call_with(Method::PUT, &path, &[], &body).await {
        tracing::debug!(pipeline = %fqn, error = %e, "Progress event not accepted.");
    }
}

/// A failure of `entity` caused by `e`, with the error's own text as the message.
fn err<E>(entity: impl Into<String>, e: E) -> Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    Error::caused(entity, e.to_string(), e)
}

/// A failure of `entity` while doing `what`, caused by `e`.
fn err_in<E>(entity: impl Into<String>, what: &str, e: E) -> Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    Error::caused(entity, format!("{what}: {e}"), e)
}

/// Why a tag could not be created. Every container carrying the tag shares the one attempt
/// of the run, hence the shared source.
#[derive(Debug, Clone, thiserror::Error)]
enum TagError {
    /// The classification (the tag's key).
    #[error("classification {key}: {source}")]
    Classification {
        /// The tag key.
        key: String,
        /// The server's answer.
        source: Arc<ClientError>,
    },
    /// The tag itself.
    #[error("tag {fqn}: {source}")]
    Tag {
        /// The tag's FQN.
        fqn: String,
        /// The server's answer.
        source: Arc<ClientError>,
    },
}

impl OmSink {
    /// Builds the client and checks the server (`GET /v1/system/version`): unreachable, or a
    /// major.minor other than [`COMPATIBLE_VERSION`] while `enableVersionValidation`, is an error.
    pub async fn connect(
        cfg: &OpenMetadataServerConfig,
        settings: Settings,
    ) -> Result<OmSink, Error> {
        let transport = Transport::of_run(
            &settings.service_name,
            settings.max_attempts,
            settings.timeout_secs,
        );
        let client = Client::new(cfg, &transport).map_err(|e| err(&cfg.host_port, e))?;
        let answer = client
            .call(Method::GET, api::VERSION_PATH, &[], None)
            .await
            .map_err(|e| err(&cfg.host_port, e))?;
        let version: ServerVersion = serde_json::from_value(answer.body)
            .map_err(|e| err_in(&cfg.host_port, "cannot read the server version", e))?;
        let server = api::major_minor(&version.version);
        if cfg.enable_version_validation && server != COMPATIBLE_VERSION {
            return Err(Error::new(
                &cfg.host_port,
                format!(
                    "the OpenMetadata server is version {} ({server}) but s3meta speaks {COMPATIBLE_VERSION}: major.minor must match. Use a {COMPATIBLE_VERSION}.x server, or set workflowConfig.openMetadataServerConfig.enableVersionValidation: false",
                    version.version
                ),
            ));
        }
        tracing::info!(server = %version.version, "Connected to OpenMetadata.");
        let run_id = settings
            .run_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let prefetch = (settings.skip_unchanged || settings.mark_deleted).then(|| {
            let (client, service) = (client.clone(), settings.service_name.clone());
            tokio::spawn(async move { list_held(&client, &service).await })
        });
        Ok(OmSink {
            client,
            settings,
            run_id,
            started_ms: now_ms(),
            pipeline: None,
            status: Mutex::new(StepStatus::new(STEP)),
            tags: Mutex::new(HashMap::new()),
            ticker: None,
            held: HashMap::new(),
            listed: None,
            prefetch,
            unchanged: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// The run id reported in pipeline statuses.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    fn count(&self, a: &Answer) {
        let mut st = lock(&self.status);
        st.records += 1;
        if a.change.as_deref() == Some("entityUpdated") {
            st.updated += 1;
        }
    }

    /// Every live container of the service: `(fqn, id)`, from `GET /v1/containers` pages.
    async fn list_containers(&self) -> Result<Vec<(String, String)>, ClientError> {
        Ok(self
            .list_held()
            .await?
            .into_iter()
            .map(|(f, h)| (f, h.id))
            .collect())
    }

    /// Every live container of the service with its id and `sourceHash`.
    async fn list_held(&self) -> HeldListing {
        list_held(&self.client, &self.settings.service_name).await
    }

    /// Creates the classification and tag of `tag`, once per run each.
    async fn ensure_tag(&self, tag: &S3Tag) -> Result<(), TagError> {
        let class_cell = self.once(format!("c:{}", tag.key));
        class_cell
            .get_or_init(|| async {
                let body = CreateClassification {
                    name: &tag.key,
                    description: "S3 TAG KEY",
                };
                self.client
                    .call_with(Method::PUT, "/classifications", &[], &body)
                    .await
                    .map(|a| self.count(&a))
                    .map_err(|e| TagError::Classification {
                        key: tag.key.clone(),
                        source: Arc::new(e),
                    })
            })
            .await
            .clone()?;
        let tag_cell = self.once(format!("t:{}", tag.fqn()));
        tag_cell
            .get_or_init(|| async {
                let body = CreateTag {
                    classification: &tag.key,
                    name: &tag.value,
                    description: "S3 TAG VALUE",
                };
                self.client
                    .call_with(Method::PUT, "/tags", &[], &body)
                    .await
                    .map(|a| self.count(&a))
                    .map_err(|e| TagError::Tag {
                        fqn: tag.fqn(),
                        source: Arc::new(e),
                    })
            })
            .await
            .clone()
    }

    fn once(&self, key: String) -> Once {
        lock(&self.tags).entry(key).or_default().clone()
    }

    async fn pipeline_status(
        &self,
        fqn: &str,
        body: &PipelineStatus<'_>,
    ) -> Result<(), ClientError> {
        self.client
            .call_with(
                Method::PUT,
                &format!(
                    "/services/ingestionPipelines/{}/pipelineStatus",
                    segment(fqn)
                ),
                &[],
                body,
            )
            .await
            .map(|_| ())
    }

    /// A progress event (`DISCOVERY` at start, `PIPELINE_COMPLETE` at the end), as the
    /// reference sends to `PUT /v1/services/ingestionPipelines/progress/<fqn>/<runId>`. Best
    /// effort: a server without the endpoint only costs a debug line.
    async fn progress(&self, fqn: &str, update_type: &str, records: u64) {
        send_progress(&self.client, fqn, &self.run_id, update_type, records).await;
    }

    /// The fallback of older servers: delete, one by one, every listed container that is not
    /// kept, skipping those whose ancestor was just deleted (recursively).
    async fn delete_each(&self, existing: &[(String, String)], keep: &BTreeSet<String>) {
        let mut sorted: Vec<&(String, String)> = existing.iter().collect();
        sorted.sort();
        let mut deleted: Vec<&str> = vec![];
        for (fqn, id) in sorted {
            if keep.contains(fqn) || deleted.iter().any(|d| fqn.starts_with(&format!("{d}."))) {
                continue;
            }
            let q = [("recursive", "true"), ("hardDelete", "false")];
            match self
                .client
                .call(
                    Method::DELETE,
                    &format!("/containers/{}", segment(id)),
                    &q,
                    None,
                )
                .await
            {
                Ok(_) => deleted.push(fqn),
                Err(e) => lock(&self.status).fail(fqn, format!("Delete Entity: {e}")),
            }
        }
        tracing::info!(
            count = deleted.len(),
            "Marked stale containers deleted (fallback)."
        );
    }
}

#[async_trait]
impl Sink for OmSink {
    fn name(&self) -> &'static str {
        STEP
    }

    fn concurrency(&self) -> usize {
        self.settings.concurrency.max(1)
    }

    fn throttled(&self) -> u64 {
        self.client.request_counts().throttled
    }

    async fn begin(&mut self, service: &ServiceInfo) -> Result<(), Error> {
        // A dry run reports no pipeline status: that would be a write.
        let pipeline_fqn = self
            .settings
            .pipeline_fqn
            .clone()
            .filter(|_| !self.settings.dry_run);
        if let Some(fqn) = pipeline_fqn {
            let path = format!("/services/ingestionPipelines/name/{}", segment(&fqn));
            match self.client.call(Method::GET, &path, &[], None).await {
                Ok(_) => {
                    let now = now_ms();
                    let running = PipelineStatus {
                        run_id: &self.run_id,
                        pipeline_state: RunState::Running,
                        start_date: self.started_ms,
                        timestamp: now,
                        end_date: None,
                        status: None,
                    };
                    match self.pipeline_status(&fqn, &running).await {
                        Ok(()) => {
                            self.progress(&fqn, "DISCOVERY", 0).await;
                            let every = self.settings.progress_interval_secs;
                            if every > 0 {
                                // `PROCESSING` while the run lasts, as the reference's
                                // reporting tick (§8.2).
                                let (client, run, p) =
                                    (self.client.clone(), self.run_id.clone(), fqn.clone());
                                self.ticker = Some(tokio::spawn(async move {
                                    let period = Duration::from_secs(every);
                                    loop {
                                        tokio::time::sleep(period).await;
                                        send_progress(&client, &p, &run, "PROCESSING", 0).await;
                                    }
                                }));
                            }
                            self.pipeline = Some(fqn);
                        }
                        Err(e) => lock(&self.status)
                            .warn(&fqn, format!("cannot report the pipeline status: {e}")),
                    }
                }
                Err(ClientError::NotFound(_)) => lock(&self.status).warn(
                    &fqn,
                    "ingestionPipelineFQN names no pipeline on the server: no status is reported",
                ),
                Err(e) => return Err(err(&fqn, e)),
            }
        }

        let fqn = quote_name(&service.name);
        let path = format!("/services/storageServices/name/{}", segment(&fqn));
        // Test-connection's token step asked the same question moments ago.
        let found = match service.exists {
            Some(true) => Ok(None),
            Some(false) => Err(ClientError::NotFound(path.clone())),
            None => self
                .client
                .call(Method::GET, &path, &[], None)
                .await
                .map(Some),
        };
        match found {
            Ok(answer) => {
                // The reference reuses an existing service unchanged.
                if let Some(answer) = answer {
                    let _: EntityRef = serde_json::from_value(answer.body)
                        .map_err(|e| err_in(&fqn, "unexpected service answer", e))?;
                }
                tracing::info!(service = %fqn, "Using the existing storage service.");
                lock(&self.status).records += 1;
                if self.settings.skip_unchanged || self.settings.mark_deleted {
                    // One paged listing instead of a PUT per unchanged container, and the
                    // base of stale-marking's deletion guard (what this run writes is in
                    // its seen set, so listing before the writes tells the guard the same).
                    // A failed listing only costs the saving: every container is then
                    // sent, and stale-marking lists again.
                    let held = match self.prefetch.take() {
                        Some(started) => match started.await {
                            Ok(r) => r,
                            Err(_) => self.list_held().await,
                        },
                        None => self.list_held().await,
                    };
                    match held {
                        Ok(list) => {
                            self.listed = Some(
                                list.iter()
                                    .map(|(f, h)| (f.clone(), h.id.clone()))
                                    .collect(),
                            );
                            if self.settings.skip_unchanged {
                                self.held = list.into_iter().collect();
                            }
                        }
                        Err(e) if self.settings.skip_unchanged => {
                            tracing::warn!(service = %fqn, "cannot list the service's containers, so every container is sent again: {e}")
                        }
                        Err(_) => {}
                    }
                }
                Ok(())
            }
            Err(ClientError::NotFound(_)) if self.settings.dry_run => {
                lock(&self.status).plan(&fqn, "create the storage service");
                self.listed = Some(vec![]);
                Ok(())
            }
            Err(ClientError::NotFound(_)) => {
                let body = service_request(
                    &service.name,
                    &service.connection,
                    service.store_connection,
                    false,
                );
                let answer = self
                    .client
                    .call(Method::PUT, "/services/storageServices", &[], Some(&body))
                    .await
                    .map_err(|e| err_in(&fqn, "cannot create the storage service", e))?;
                self.count(&answer);
                tracing::info!(service = %fqn, "Created the storage service.");
                // A new service holds no container yet: nothing to list.
                self.listed = Some(vec![]);
                Ok(())
            }
            Err(e) => Err(err(&fqn, e)),
        }
    }

    async fn put(
        &self,
        service: &str,
        c: &Container,
        parent: Option<&ParentRef>,
    ) -> Result<ParentRef, Error> {
        if self.settings.dry_run {
            // Tags would be created with it: part of the same write.
            lock(&self.status).plan(&c.fqn, "write");
            return Ok(ParentRef::Fqn(c.fqn.clone()));
        }
        if let Some(held) = self.held.get(&c.fqn) {
            if held.source_hash.as_deref() == Some(c.source_hash(service).as_str()) {
                // The server holds this very body: nothing to send (a PUT would be a no-op).
                tracing::debug!(container = %c.fqn, "unchanged since the last run: not sent");
                lock(&self.status).records += 1;
                self.unchanged
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return Ok(ParentRef::Id(held.id.clone()));
            }
        }
        let mut body = c.request(service, parent);
        if !c.tags.is_empty() {
            let mut failed = BTreeSet::new();
            for t in &c.tags {
                if let Err(e) = self.ensure_tag(t).await {
                    lock(&self.status).fail(t.fqn(), e.to_string());
                    failed.insert(t.fqn());
                }
            }
            if !failed.is_empty() {
                if let Some(Value::Array(labels)) = body.get_mut("tags") {
                    labels.retain(|l| l["tagFQN"].as_str().is_none_or(|f| !failed.contains(f)));
                }
            }
        }
        let answer = self
            .client
            .call(Method::PUT, "/containers", &[], Some(&body))
            .await
            .map_err(|e| err(&c.fqn, e))?;
        let r: EntityRef = serde_json::from_value(answer.body.clone())
            .map_err(|e| err_in(&c.fqn, "the server's answer has no id", e))?;
        self.count(&answer);
        Ok(ParentRef::Id(r.id))
    }

    async fn finish(&mut self, seen: &Seen) -> Result<(), Error> {
        if !self.settings.mark_deleted {
            return Ok(());
        }
        let service = quote_name(&self.settings.service_name);
        if seen.incomplete.contains(&service) {
            // DIFF(spec §8.5): the reference deletes whatever it did not see.
            lock(&self.status).warn(
                &service,
                "stale-marking skipped: this run could not see the whole service (bucket listing or global manifest failed), so nothing was marked deleted",
            );
            return Ok(());
        }
        let mut keep: BTreeSet<String> = seen.fqns.clone();
        // What the server holds: the base of the deletion guard, and of the protection of
        // what this run could not see.
        let listed_at_begin = self.listed.is_some();
        let listed = match self.listed.take() {
            Some(list) => Ok(list),
            None => self.list_containers().await,
        };
        let list = match listed {
            Ok(list) => list,
            // A dry run of a service that does not exist yet: nothing to delete.
            Err(ClientError::NotFound(_)) if self.settings.dry_run => vec![],
            Err(e) => {
                return Err(err_in(
                    &service,
                    "stale-marking skipped: cannot list the existing containers",
                    e,
                ))
            }
        };
        if !seen.incomplete.is_empty() || seen.scope.is_some() {
            // Protect what this run could not see (incomplete buckets) and what it did not
            // cover (outside a shard, a filter or `bucketNames`): the existing containers
            // there join the seen set, so deleteStale leaves them alone.
            for b in &seen.incomplete {
                let under = format!("{b}.");
                let kept = list
                    .iter()
                    .filter(|(f, _)| f == b || f.starts_with(&under))
                    .count();
                lock(&self.status).warn(
                    b,
                    format!(
                        "stale-marking skipped under this bucket: this run could not see all of it, so its {kept} existing container(s) were kept"
                    ),
                );
            }
            let mut outside = 0usize;
            for (f, _) in &list {
                if !seen.may_delete(&service, f) && keep.insert(f.clone()) && seen.scope.is_some() {
                    outside += usize::from(
                        !seen
                            .incomplete
                            .iter()
                            .any(|b| f == b || f.starts_with(&format!("{b}."))),
                    );
                }
            }
            if outside > 0 {
                tracing::info!(
                    kept = outside,
                    "Existing containers outside this run's buckets (shard, filter or bucketNames) are not stale-marked."
                );
            }
        }
        let stale: Vec<&str> = list
            .iter()
            .map(|(f, _)| f.as_str())
            .filter(|f| !keep.contains(*f))
            .collect();
        // The base: every live container once this run's writes are in (a dry run wrote
        // none, so its new containers are counted on top).
        let total = list
            .iter()
            .map(|(f, _)| f.as_str())
            .chain(seen.fqns.iter().map(String::as_str))
            .collect::<BTreeSet<_>>()
            .len() as u64;
        let limit = self.settings.max_deletions;
        if !limit.allows(stale.len() as u64, total) {
            lock(&self.status).warn(
                &service,
                format!(
                    "stale-marking skipped: this run would mark {} of the service's {total} containers deleted, more than s3meta.maxDeletions allows ({limit}), so nothing was marked deleted. If they are really gone, run once with a higher limit (e.g. `s3meta: {{maxDeletions: 100%}}`); `s3meta ingest --dry-run` lists them",
                    stale.len()
                ),
            );
            return Ok(());
        }
        if self.settings.dry_run {
            let mut st = lock(&self.status);
            for f in stale {
                st.plan(f, "mark deleted");
            }
            return Ok(());
        }
        if stale.is_empty() && listed_at_begin {
            // The service held nothing this run did not write (an unchanged lake, or a
            // service this run created): deleteStale would have nothing to do. Skipping it
            // also spares what another run of the same service (a shard) created since.
            tracing::debug!(service = %service, "Nothing to mark deleted.");
            return Ok(());
        }
        let body = DeleteStale {
            scope_fqn: &service,
            scope_entity_type: "service",
            seen_fqns: keep.iter().map(String::as_str).collect(),
            dry_run: false,
            hard_delete: false,
            recursive: true,
        };
        match self
            .client
            .call_with(Method::DELETE, "/containers/deleteStale", &[], &body)
            .await
        {
            Ok(a) => {
                tracing::info!(answer = %a.body, "Marked stale containers deleted.");
                Ok(())
            }
            Err(ClientError::NotFound(_)) => {
                tracing::info!("The server has no deleteStale; deleting one by one.");
                self.delete_each(&list, &keep).await;
                Ok(())
            }
            Err(e) => Err(err_in(&service, "Delete Entity", e)),
        }
    }

    async fn report(&mut self, run: &RunStatus) {
        let Some(fqn) = self.pipeline.clone() else {
            return;
        };
        if let Some(t) = self.ticker.take() {
            t.abort();
        }
        let records = run.steps.first().map_or(0, |s| s.records);
        self.progress(&fqn, "PIPELINE_COMPLETE", records).await;
        let now = now_ms();
        let body = PipelineStatus {
            run_id: &self.run_id,
            pipeline_state: run.state(self.settings.success_threshold).into(),
            start_date: self.started_ms,
            timestamp: now,
            end_date: Some(now),
            status: Some(api::summaries(run)),
        };
        if let Err(e) = self.pipeline_status(&fqn, &body).await {
            tracing::error!(pipeline = %fqn, error = %e, "Cannot report the final pipeline status.");
        }
    }

    fn status(&self) -> StepStatus {
        let mut st = lock(&self.status).clone();
        st.requests = Some(self.client.request_counts());
        st.unchanged = self.unchanged.load(std::sync::atomic::Ordering::Relaxed);
        st
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server that answers every request with the same listing page, whose `after`
    /// cursor never moves: written by someone else, it must not be listed forever.
    #[tokio::test]
    async fn a_listing_whose_cursor_does_not_advance_is_an_error_not_an_endless_loop() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let served = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = served.clone();
        tokio::spawn(async move {
            let body =
                r#"{"data":[{"id":"1","fullyQualifiedName":"svc.b"}],"paging":{"after":"X"}}"#;
            loop {
                let (mut sock, _) = listener.accept().await.unwrap();
                count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(answer.as_bytes()).await;
            }
        });
        let cfg: OpenMetadataServerConfig = serde_json::from_value(serde_json::json!({
            "hostPort": format!("http://127.0.0.1:{port}/api"),
            "securityConfig": {"jwtToken": "t"},
        }))
        .unwrap();
        let client = Client::new(&cfg, &Transport::of_run("svc", 1, 5)).unwrap();
        let err = list_held(&client, "svc").await.unwrap_err();
        assert!(err.to_string().contains("paging does not advance"), "{err}");
        assert_eq!(served.load(std::sync::atomic::Ordering::Relaxed), 2);
    }
}
