//! Running what the OpenMetadata UI configured (spec README "Beyond the reference",
//! ACCEPTANCE "Pipelines"): read an IngestionPipeline and its StorageService from the server,
//! build the workflow a user would have written, run it, and let the `metadata-rest` sink
//! report `pipelineStatus`. Also the server-side [`JobSource`] and [`Runner`] of
//! `s3meta serve`.
//!
//! This module only talks to the OpenMetadata API; the run itself is the ordinary ingest.

use super::cron::{Cron, CronError};
use super::isolated::{self, IngestError};
use super::schedule::JobSpec;
use super::{JobSource, RunOutcome, Runner};
use crate::config::{self, Secret, Validated};
use crate::openmetadata::api::{PipelineStatus, RunState, StepSummary};
use crate::openmetadata::client::{segment, Client, ClientError, Transport};
use crate::workflow::SOURCE_STEP;
use async_trait::async_trait;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use reqwest::Method;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Where the OpenMetadata server is and how to authenticate: `--host-port` /
/// `OPENMETADATA_HOST_PORT` and `--jwt-token` / `OPENMETADATA_JWT_TOKEN`.
#[derive(Debug, Clone)]
pub struct ServerAccess {
    /// `http(s)://host:port/api`.
    pub host_port: String,
    /// The ingestion bot's JWT (or a path to a file holding it).
    pub jwt_token: Secret,
}

/// A failure reading a pipeline or building its workflow.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered an error.
    #[error("{what}: {source}")]
    Api {
        /// What was asked.
        what: String,
        /// The error.
        source: ClientError,
    },
    /// The pipeline is not one s3meta runs.
    #[error("pipeline {fqn}: {message}")]
    Unsupported {
        /// The pipeline.
        fqn: String,
        /// Why.
        message: String,
    },
    /// The workflow built from the server's data does not validate.
    #[error("pipeline {fqn}: the configuration stored on the server is not valid: {source}")]
    Config {
        /// The pipeline.
        fqn: String,
        /// Why.
        source: config::ConfigError,
    },
}

/// Why a pipeline's `airflowConfig` gives no schedule.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The pipeline has no FQN to schedule it by.
    #[error("the pipeline has no fullyQualifiedName")]
    NoName,
    /// `pipelineTimezone` is not a known IANA zone.
    #[error("{fqn}: pipelineTimezone `{zone}`: {source}")]
    TimeZone {
        /// The pipeline.
        fqn: String,
        /// The zone as configured.
        zone: String,
        /// Why it is unknown.
        source: jiff::Error,
    },
    /// `scheduleInterval` does not parse.
    #[error("{fqn}: {source}")]
    Cron {
        /// The pipeline.
        fqn: String,
        /// Why.
        source: CronError,
    },
}

/// Why [`run_pipeline`] produced no status.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The pipeline could not be read or turned into a workflow.
    #[error(transparent)]
    Pipeline(#[from] Error),
    /// The ingest stopped before it could run.
    #[error(transparent)]
    Ingest(#[from] IngestError),
}

/// The OpenMetadata calls for pipelines.
#[derive(Debug, Clone)]
pub struct PipelineClient {
    client: Client,
    access: ServerAccess,
}

fn api(what: impl Into<String>) -> impl FnOnce(ClientError) -> Error {
    let what = what.into();
    move |source| Error::Api { what, source }
}

impl PipelineClient {
    /// A client for the server.
    pub fn new(access: ServerAccess) -> Result<PipelineClient, Error> {
        let cfg = server_config(&access);
        let client = Client::new(
            &cfg,
            &Transport {
                service_name: "s3meta-runner".into(),
                max_attempts: 5,
                read_timeout: Duration::from_secs(60),
            },
        )
        .map_err(api("connecting to OpenMetadata"))?;
        Ok(PipelineClient { client, access })
    }

    /// `GET /v1/services/ingestionPipelines/name/<fqn>`.
    pub async fn pipeline(&self, fqn: &str) -> Result<Value, Error> {
        let path = format!("/services/ingestionPipelines/name/{}", segment(fqn));
        let a = self
            .client
            .call(Method::GET, &path, &[("fields", "*")], None)
            .await
            .map_err(api(format!("reading pipeline {fqn}")))?;
        Ok(a.body)
    }

    /// Every metadata pipeline of a storage service, all pages.
    pub async fn storage_pipelines(&self) -> Result<Vec<Value>, Error> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut q = vec![
                ("serviceType", "storageService"),
                ("pipelineType", "metadata"),
                ("limit", "100"),
            ];
            if let Some(a) = &after {
                q.push(("after", a.as_str()));
            }
            let a = self
                .client
                .call(Method::GET, "/services/ingestionPipelines", &q, None)
                .await
                .map_err(api("listing ingestion pipelines"))?;
            if let Some(items) = a.body["data"].as_array() {
                out.extend(items.iter().cloned());
            }
            match a.body["paging"]["after"].as_str() {
                Some(next) if !next.is_empty() && Some(next) != after.as_deref() => {
                    after = Some(next.to_string())
                }
                _ => return Ok(out),
            }
        }
    }

    /// `GET /v1/services/storageServices/name/<fqn>`, with its connection.
    pub async fn service(&self, fqn: &str) -> Result<Value, Error> {
        let path = format!("/services/storageServices/name/{}", segment(fqn));
        let a = self
            .client
            .call(Method::GET, &path, &[("fields", "*")], None)
            .await
            .map_err(api(format!("reading storage service {fqn}")))?;
        Ok(a.body)
    }

    /// Builds the workflow a user would have written for the pipeline: service name and
    /// connection from the service; `sourceConfig` and `loggerLevel` from the pipeline; the
    /// `metadata-rest` sink; `ingestionPipelineFQN` and `pipelineRunId` set; validated with
    /// what the command line adds (`--shard`).
    pub async fn workflow(
        &self,
        fqn: &str,
        run_id: &str,
        overrides: config::Overrides,
    ) -> Result<Validated, Error> {
        let pipeline = self.pipeline(fqn).await?;
        let service_fqn = service_fqn(&pipeline).ok_or_else(|| Error::Unsupported {
            fqn: fqn.into(),
            message: "it names no service".into(),
        })?;
        let service = self.service(&service_fqn).await?;
        let value = workflow_json(fqn, run_id, &pipeline, &service, &self.access)?;
        let raw = config::parse_value(value).map_err(|source| Error::Config {
            fqn: fqn.into(),
            source,
        })?;
        raw.validate_with(overrides).map_err(|e| Error::Config {
            fqn: fqn.into(),
            source: e.into(),
        })
    }

    /// Reports a final `failed` status for a run that could not run or was abandoned: the
    /// source step failed once, on the pipeline.
    pub async fn report_failed(&self, fqn: &str, run_id: &str, started_ms: i64, message: &str) {
        let now = Timestamp::now().as_millisecond();
        let body = PipelineStatus {
            run_id,
            pipeline_state: RunState::Failed,
            start_date: started_ms,
            timestamp: now,
            end_date: Some(now),
            status: Some(vec![StepSummary::failed(SOURCE_STEP, fqn, message)]),
        };
        let path = format!(
            "/services/ingestionPipelines/{}/pipelineStatus",
            segment(fqn)
        );
        if let Err(e) = self.client.call_with(Method::PUT, &path, &[], &body).await {
            tracing::error!(pipeline = %fqn, error = %e, "Cannot report the failed status.");
        }
    }
}

/// The `openMetadataServerConfig` a workflow run against the server is given.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ServerConfigBody<'a> {
    host_port: &'a str,
    /// Always `openmetadata`: a bot's JWT.
    auth_provider: &'static str,
    security_config: SecurityConfigBody<'a>,
}

/// `securityConfig` of a [`ServerConfigBody`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SecurityConfigBody<'a> {
    jwt_token: &'a str,
}

impl<'a> ServerConfigBody<'a> {
    fn of(access: &'a ServerAccess) -> ServerConfigBody<'a> {
        ServerConfigBody {
            host_port: &access.host_port,
            auth_provider: "openmetadata",
            security_config: SecurityConfigBody {
                jwt_token: access.jwt_token.expose(),
            },
        }
    }
}

/// The workflow document built for a server pipeline: what a user would have written.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct WorkflowBody<'a> {
    source: SourceBody<'a>,
    sink: SinkBody,
    workflow_config: WorkflowConfigBody<'a>,
    #[serde(rename = "ingestionPipelineFQN")]
    ingestion_pipeline_fqn: &'a str,
    pipeline_run_id: &'a str,
}

/// `source` of a [`WorkflowBody`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SourceBody<'a> {
    /// Always `s3`.
    #[serde(rename = "type")]
    kind: &'static str,
    service_name: &'a str,
    service_connection: ServiceConnectionBody<'a>,
    /// The pipeline's own `sourceConfig`, as stored.
    source_config: &'a Value,
}

/// `serviceConnection`: the service's stored connection, as stored.
#[derive(Debug, Serialize)]
struct ServiceConnectionBody<'a> {
    config: &'a Value,
}

/// `sink`: always `metadata-rest`, with no options.
#[derive(Debug, Serialize)]
struct SinkBody {
    #[serde(rename = "type")]
    kind: &'static str,
    config: NoOptions,
}

/// An empty object (`{}`).
#[derive(Debug, Serialize)]
struct NoOptions {}

/// `workflowConfig` of a [`WorkflowBody`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct WorkflowConfigBody<'a> {
    logger_level: &'a str,
    open_metadata_server_config: ServerConfigBody<'a>,
}

/// The `openMetadataServerConfig` of a workflow run against `access`.
fn server_config(access: &ServerAccess) -> config::OpenMetadataServerConfig {
    // Strings always serialise.
    let v = serde_json::to_value(ServerConfigBody::of(access)).unwrap_or_default();
    // The body is fixed above and matches the struct.
    #[allow(clippy::expect_used)]
    serde_json::from_value(v).expect("a fixed, valid openMetadataServerConfig")
}

fn service_fqn(pipeline: &Value) -> Option<String> {
    let s = &pipeline["service"];
    s["fullyQualifiedName"]
        .as_str()
        .or_else(|| s["name"].as_str())
        .map(str::to_string)
}

/// The workflow JSON for a pipeline (pure: the tests check it without a server).
pub fn workflow_json(
    fqn: &str,
    run_id: &str,
    pipeline: &Value,
    service: &Value,
    access: &ServerAccess,
) -> Result<Value, Error> {
    let unsupported = |message: &str| Error::Unsupported {
        fqn: fqn.into(),
        message: message.into(),
    };
    if pipeline["pipelineType"]
        .as_str()
        .is_some_and(|t| t != "metadata")
    {
        return Err(unsupported("only metadata pipelines are run by s3meta"));
    }
    if service["serviceType"].as_str().is_some_and(|t| t != "S3") {
        return Err(unsupported("its service is not an S3 storage service"));
    }
    let connection = service["connection"]["config"].clone();
    if connection.is_null() {
        return Err(unsupported(
            "its service has no stored connection (storeServiceConnection was false?)",
        ));
    }
    let mut source_config = pipeline["sourceConfig"].clone();
    if source_config.is_null() {
        source_config = json!({"config": {"type": "StorageMetadata"}});
    }
    let body = WorkflowBody {
        source: SourceBody {
            kind: "s3",
            service_name: service["name"].as_str().unwrap_or_default(),
            service_connection: ServiceConnectionBody {
                config: &connection,
            },
            source_config: &source_config,
        },
        sink: SinkBody {
            kind: "metadata-rest",
            config: NoOptions {},
        },
        workflow_config: WorkflowConfigBody {
            logger_level: pipeline["loggerLevel"].as_str().unwrap_or("INFO"),
            open_metadata_server_config: ServerConfigBody::of(access),
        },
        ingestion_pipeline_fqn: fqn,
        pipeline_run_id: run_id,
    };
    // Strings and JSON values always serialise.
    Ok(serde_json::to_value(body).unwrap_or_default())
}

/// A date from `airflowConfig` (`2026-01-01`, or a timestamp), in the pipeline's zone.
fn airflow_date(v: &Value, tz: &TimeZone) -> Option<Timestamp> {
    if let Some(ms) = v.as_i64() {
        return Timestamp::from_millisecond(ms).ok();
    }
    let s = v.as_str()?;
    if let Ok(t) = s.parse::<Timestamp>() {
        return Some(t);
    }
    let date: jiff::civil::Date = s.get(..10)?.parse().ok()?;
    date.to_datetime(jiff::civil::time(0, 0, 0, 0))
        .to_zoned_datetime(tz.clone())
        .ok()
        .map(|z| z.timestamp())
}

/// The schedule of a pipeline from its `airflowConfig` (reference §11).
pub fn job_spec(pipeline: &Value) -> Result<JobSpec, ScheduleError> {
    let fqn = pipeline["fullyQualifiedName"]
        .as_str()
        .ok_or(ScheduleError::NoName)?
        .to_string();
    let a = &pipeline["airflowConfig"];
    let tz_name = a["pipelineTimezone"].as_str().unwrap_or("UTC");
    let tz = TimeZone::get(tz_name).map_err(|source| ScheduleError::TimeZone {
        fqn: fqn.clone(),
        zone: tz_name.to_string(),
        source,
    })?;
    let cron = match a["scheduleInterval"].as_str() {
        None | Some("") => None,
        Some(expr) => Some(Cron::parse(expr).map_err(|source| ScheduleError::Cron {
            fqn: fqn.clone(),
            source,
        })?),
    };
    Ok(JobSpec {
        start: airflow_date(&a["startDate"], &tz),
        end: airflow_date(&a["endDate"], &tz),
        paused: a["pausePipeline"].as_bool().unwrap_or(false)
            || pipeline["enabled"].as_bool() == Some(false),
        retries: a["retries"].as_u64().unwrap_or(0) as u32,
        retry_delay: Duration::from_secs(a["retryDelay"].as_u64().unwrap_or(300)),
        cron,
        tz,
        id: fqn,
    })
}

/// The S3 storage pipelines of the server (or the ones named), for `s3meta serve`.
#[derive(Debug)]
pub struct ServerJobs {
    client: PipelineClient,
    only: Vec<String>,
}

impl ServerJobs {
    /// All the server's S3 metadata pipelines, or only `only` when it is not empty.
    pub fn new(client: PipelineClient, only: Vec<String>) -> ServerJobs {
        ServerJobs { client, only }
    }
}

#[async_trait]
impl JobSource for ServerJobs {
    type Error = Error;

    async fn jobs(&self) -> Result<Vec<JobSpec>, Error> {
        let pipelines = if self.only.is_empty() {
            self.client.storage_pipelines().await?
        } else {
            let mut v = Vec::new();
            for fqn in &self.only {
                v.push(self.client.pipeline(fqn).await?);
            }
            v
        };
        let mut services: HashMap<String, bool> = HashMap::new();
        let mut out = Vec::new();
        for p in pipelines {
            if p["pipelineType"].as_str().is_some_and(|t| t != "metadata") {
                continue;
            }
            let Some(svc) = service_fqn(&p) else { continue };
            if !services.contains_key(&svc) {
                let is_s3 = self.client.service(&svc).await?["serviceType"].as_str() == Some("S3");
                services.insert(svc.clone(), is_s3);
            }
            if services.get(&svc) != Some(&true) {
                continue;
            }
            match job_spec(&p) {
                Ok(spec) => out.push(spec),
                Err(e) => {
                    tracing::warn!(error = %e, "Pipeline skipped: its schedule is not valid.")
                }
            }
        }
        Ok(out)
    }
}

/// Runs a server pipeline: build its workflow, run it on a runtime of its own (the sink
/// reports `running` then the final state), and report `failed` when it cannot even start or
/// is abandoned at shutdown.
#[derive(Debug)]
pub struct ServerRunner {
    client: PipelineClient,
    runs: Mutex<HashMap<String, (String, i64)>>,
}

impl ServerRunner {
    /// A runner for the server's pipelines.
    pub fn new(client: PipelineClient) -> ServerRunner {
        ServerRunner {
            client,
            runs: Mutex::new(HashMap::new()),
        }
    }
}

/// The outcome of one pipeline run.
#[derive(Debug)]
pub struct PipelineRun {
    /// The run's status.
    pub status: crate::status::RunStatus,
    /// `raiseOnError` and `successThreshold` of the workflow.
    pub rules: config::RunRules,
}

/// Runs one pipeline once; used by `s3meta run` and `serve`. The `metadata-rest` sink
/// reports `running` and the final state to the pipeline.
pub async fn run_pipeline(
    client: &PipelineClient,
    fqn: &str,
    run_id: &str,
    shard: Option<config::Shard>,
) -> Result<PipelineRun, RunError> {
    let v = client
        .workflow(
            fqn,
            run_id,
            config::Overrides {
                shard,
                ..Default::default()
            },
        )
        .await?;
    let rules = v.rules;
    let status = isolated::run_ingest(v).await?;
    Ok(PipelineRun { status, rules })
}

#[async_trait]
impl Runner for ServerRunner {
    async fn run(&self, id: &str, attempt: u32) -> RunOutcome {
        let run_id = uuid::Uuid::new_v4().to_string();
        let started = Timestamp::now().as_millisecond();
        if let Ok(mut r) = self.runs.lock() {
            r.insert(id.to_string(), (run_id.clone(), started));
        }
        let outcome = match run_pipeline(&self.client, id, &run_id, None).await {
            Ok(run) => run.status.state(run.rules.success_threshold).into(),
            Err(e) => {
                tracing::error!(pipeline = %id, attempt, error = %e, "Run failed.");
                self.client
                    .report_failed(id, &run_id, started, &e.to_string())
                    .await;
                RunOutcome::Failed
            }
        };
        if let Ok(mut r) = self.runs.lock() {
            r.remove(id);
        }
        outcome
    }

    async fn abandoned(&self, id: &str) {
        let run = self.runs.lock().ok().and_then(|mut r| r.remove(id));
        if let Some((run_id, started)) = run {
            self.client
                .report_failed(
                    id,
                    &run_id,
                    started,
                    "s3meta serve stopped before the run finished",
                )
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn airflow_config_becomes_a_schedule() {
        let p = json!({
            "fullyQualifiedName": "svc.nightly",
            "airflowConfig": {
                "scheduleInterval": "0 2 * * *", "pipelineTimezone": "Europe/Lisbon",
                "startDate": "2026-01-01", "endDate": "2026-12-31T00:00:00Z",
                "retries": 2, "retryDelay": 60, "pausePipeline": false
            }
        });
        let s = job_spec(&p).unwrap();
        assert_eq!(s.id, "svc.nightly");
        assert_eq!(s.cron.unwrap().to_string(), "0 2 * * *");
        assert_eq!(s.retries, 2);
        assert_eq!(s.retry_delay, Duration::from_secs(60));
        assert_eq!(s.start.unwrap().to_string(), "2026-01-01T00:00:00Z");
        assert_eq!(s.end.unwrap().to_string(), "2026-12-31T00:00:00Z");
        assert!(!s.paused);
    }

    #[test]
    fn paused_or_disabled_pipelines_do_not_fire_and_manual_ones_have_no_cron() {
        let p = json!({"fullyQualifiedName": "a.b", "airflowConfig": {"pausePipeline": true}});
        let s = job_spec(&p).unwrap();
        assert!(s.paused);
        assert!(s.cron.is_none());
        let p = json!({"fullyQualifiedName": "a.b", "enabled": false, "airflowConfig": {"scheduleInterval": "@daily"}});
        assert!(job_spec(&p).unwrap().paused);
    }

    #[test]
    fn the_workflow_document_has_the_keys_a_user_would_write_in_order() {
        let access = ServerAccess {
            host_port: "http://om:8585/api".into(),
            jwt_token: Secret::new("jwt"),
        };
        let pipeline = json!({"pipelineType": "metadata", "service": {"name": "svc"}});
        let service = json!({
            "name": "svc", "serviceType": "S3", "connection": {"config": {"type": "S3"}}
        });
        let w = workflow_json("svc.p", "run-1", &pipeline, &service, &access).unwrap();
        assert_eq!(
            w.to_string(),
            concat!(
                r#"{"source":{"type":"s3","serviceName":"svc","#,
                r#""serviceConnection":{"config":{"type":"S3"}},"#,
                r#""sourceConfig":{"config":{"type":"StorageMetadata"}}},"#,
                r#""sink":{"type":"metadata-rest","config":{}},"#,
                r#""workflowConfig":{"loggerLevel":"INFO","openMetadataServerConfig":"#,
                r#"{"hostPort":"http://om:8585/api","authProvider":"openmetadata","#,
                r#""securityConfig":{"jwtToken":"jwt"}}},"#,
                r#""ingestionPipelineFQN":"svc.p","pipelineRunId":"run-1"}"#
            )
        );
    }

    #[test]
    fn a_run_that_could_not_run_is_reported_as_one_failure_of_the_source_step() {
        let body = PipelineStatus {
            run_id: "r",
            pipeline_state: RunState::Failed,
            start_date: 1,
            timestamp: 2,
            end_date: Some(2),
            status: Some(vec![StepSummary::failed(SOURCE_STEP, "svc.p", "boom")]),
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            concat!(
                r#"{"runId":"r","pipelineState":"failed","startDate":1,"timestamp":2,"#,
                r#""endDate":2,"status":[{"name":"S3","records":0,"updated_records":0,"#,
                r#""warnings":0,"errors":1,"filtered":0,"#,
                r#""failures":[{"name":"svc.p","error":"boom"}]}]}"#
            )
        );
    }

    #[test]
    fn the_workflow_is_the_one_a_user_would_write() {
        let access = ServerAccess {
            host_port: "http://om:8585/api".into(),
            jwt_token: Secret::new("jwt"),
        };
        let pipeline = json!({
            "fullyQualifiedName": "svc.p", "pipelineType": "metadata", "loggerLevel": "DEBUG",
            "sourceConfig": {"config": {"type": "StorageMetadata", "markDeletedContainers": false}},
            "service": {"fullyQualifiedName": "svc", "type": "storageService"}
        });
        let service = json!({
            "name": "svc", "serviceType": "S3",
            "connection": {"config": {"type": "S3", "awsConfig": {"awsRegion": "us-east-1"}}}
        });
        let w = workflow_json("svc.p", "run-1", &pipeline, &service, &access).unwrap();
        let v = config::parse_value(w).unwrap().validate().unwrap();
        assert_eq!(v.service_name, "svc");
        assert_eq!(v.pipeline_fqn.as_deref(), Some("svc.p"));
        assert_eq!(v.run_id.as_deref(), Some("run-1"));
        assert!(!v.mark_deleted);
        assert_eq!(v.logger_level, config::LogLevel::Debug);
        assert!(matches!(v.sink, config::SinkKind::MetadataRest(_)));
        let gcs = json!({"name": "g", "serviceType": "GCS", "connection": {"config": {}}});
        assert!(workflow_json("svc.p", "r", &pipeline, &gcs, &access).is_err());
    }
}
