//! The test-connection steps (reference §9): `s3meta test-connection -c FILE`, and the same
//! steps run by `ingest` before anything is read.
//!
//! Steps, in order, each under its own timeout:
//!
//! | step | mandatory | what it does |
//! |---|---|---|
//! | `ListBuckets` | yes | `ListBuckets`; with `bucketNames`, `ListObjectsV2 MaxKeys=1` on each of them (the name stays `ListBuckets`, as in the reference) |
//! | `GetMetrics` | no | CloudWatch `ListMetrics(Namespace=AWS/S3)`, one page |
//! | `GetBucketLocation` | no | the first bucket's region (ours) |
//! | `GetManifest` | no | reads and parses the first bucket's `openmetadata.json` (ours) |
//! | `CheckOpenMetadataVersion` | yes, with the `metadata-rest` sink | `GET <hostPort>/v1/system/version` (ours) |
//! | `CheckOpenMetadataToken` | yes, with the `metadata-rest` sink | `GET …/services/storageServices/name/<service>` with the token: the first call the run makes, which the version check (unauthenticated) cannot vouch for (ours) |
//!
//! Like the reference (whose 2.0.7 definition has no "connection gate"), a failed step does
//! not stop the later ones. A step the configured run needs is mandatory: a run that would
//! fail cannot pass its test. A step that could not run is shown as skipped, never as passed.
//! Each failure carries a hint: which permission to grant, an unreachable endpoint, an
//! unknown bucket. This module only probes; it never writes.

use crate::aws;
use crate::config::{OpenMetadataServerConfig, SinkKind, Validated, MANIFEST_FILE};
use crate::manifest::{self, ManifestError};
use crate::metrics::NAMESPACE;
use crate::openmetadata::{api, Client, ClientError, Transport};
use crate::store::{s3::S3Store, Error as StoreError, ErrorKind, ObjectStore};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use std::future::Future;
use std::time::Duration;

/// Longest a step may take, as the reference's per-step alarm.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(60);
/// Name of the mandatory first step.
pub const LIST_BUCKETS: &str = "ListBuckets";
/// Name of the CloudWatch step.
pub const GET_METRICS: &str = "GetMetrics";
/// Bucket names reported at most by the `ListBuckets` evidence.
const MAX_NAMES: usize = 100;

/// One step's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Step name (`ListBuckets`, `GetMetrics`, …).
    pub name: String,
    /// Whether a failure fails the whole test.
    pub mandatory: bool,
    /// Whether the step passed (a skipped step did not fail: `passed` is true).
    pub passed: bool,
    /// Whether the step could not run (no bucket to check, the option is off, …).
    pub skipped: bool,
    /// Evidence when passed; the error and a hint when not; why, when skipped.
    pub message: String,
}

/// Every step's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The steps, in the order they ran.
    pub steps: Vec<Step>,
    /// True when every mandatory step passed.
    pub passed: bool,
    /// What ListBuckets answered, when the step listed every bucket (no `bucketNames`): the
    /// run uses it instead of asking again.
    #[serde(skip)]
    pub listed: Option<Vec<String>>,
    /// Whether the storage service exists, when the token step asked (the sink then does
    /// not ask again).
    #[serde(skip)]
    pub service_exists: Option<bool>,
}

impl Report {
    fn new(steps: Vec<Step>) -> Report {
        let passed = steps.iter().all(|s| s.passed || !s.mandatory);
        Report {
            steps,
            passed,
            listed: None,
            service_exists: None,
        }
    }

    /// The first mandatory step that failed.
    pub fn failed_mandatory(&self) -> Option<&Step> {
        self.steps.iter().find(|s| s.mandatory && !s.passed)
    }

    /// The human-readable table: step, mandatory, result, evidence or error, wrapped to
    /// `width` columns.
    pub fn table(&self, width: u16) -> String {
        let mut t = Table::new();
        t.load_style(UTF8_FULL_CONDENSED);
        t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
        t.set_width(width);
        t.set_header(vec!["Step", "Mandatory", "Result", "Details"]);
        for s in &self.steps {
            let result = match (s.skipped, s.passed) {
                (true, _) => "skipped",
                (false, true) => "passed",
                (false, false) => "FAILED",
            };
            t.add_row(vec![
                s.name.clone(),
                if s.mandatory { "yes" } else { "no" }.to_string(),
                result.to_string(),
                s.message.clone(),
            ]);
        }
        let verdict = if self.passed {
            "Test connection passed."
        } else {
            "Test connection FAILED: a mandatory step failed."
        };
        format!("{t}\n{verdict}\n")
    }

    /// The report as one JSON document: `{"steps": [{name, mandatory, passed, message}], "passed"}`.
    pub fn json(&self) -> String {
        // Serialising plain strings and booleans cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Builds the clients from the config and runs every step.
pub async fn run(v: &Validated) -> Report {
    let sdk = aws::sdk_config(v.aws(), &v.options).await;
    let endpoint = v.aws().end_point_url.as_deref();
    let store = S3Store::new(aws::s3_client(&sdk, endpoint));
    let cloudwatch = aws::cloudwatch_client(&sdk, endpoint, None);
    run_with(v, &store, &cloudwatch, false).await
}

/// Runs the steps with the given clients. With `stop_on_mandatory_failure` (what `ingest`
/// asks, since it aborts anyway), nothing runs after a failed mandatory step, so that an
/// unreachable endpoint is not retried once per optional step; GetMetrics then runs
/// alongside ListBuckets (an unreachable endpoint costs both the same time at once), and
/// the first-bucket checks are left to the run, which reads every bucket's region and
/// manifest itself.
pub async fn run_with(
    v: &Validated,
    store: &dyn ObjectStore,
    cloudwatch: &aws_sdk_cloudwatch::Client,
    stop_on_mandatory_failure: bool,
) -> Report {
    let endpoint = v
        .aws()
        .end_point_url
        .clone()
        .unwrap_or_else(|| format!("the AWS endpoints of {}", v.aws().aws_region));
    let configured: Vec<String> = v.connection.bucket_names.clone().unwrap_or_default();

    // The S3 steps and the OpenMetadata steps check different servers: they run at once.
    let s3 = async {
        let mut steps = Vec::new();
        let mut first_bucket: Option<String> = configured.first().cloned();
        // The configured bucket that could not be listed, if one could not.
        let mut unlisted: Option<String> = None;

        // GetMetrics (optional): for `ingest`, alongside ListBuckets (it does not depend on
        // it, and the run needs its verdict before it asks CloudWatch per bucket); for
        // `test-connection`, after it, while the first bucket is checked.
        let metrics_step = async {
            if v.options.bucket_metrics {
                Ok(timed(async {
                    let out = cloudwatch
                        .list_metrics()
                        .namespace(NAMESPACE)
                        .send()
                        .await
                        .map_err(|e| explain_cloudwatch(e, &endpoint))?;
                    Ok(format!(
                        "{} metric(s) visible in namespace '{NAMESPACE}'",
                        out.metrics().len()
                    ))
                })
                .await)
            } else {
                Err(Skip("s3meta.bucketMetrics is false".to_string()))
            }
        };
        tokio::pin!(metrics_step);

        // ListBuckets (mandatory). Said first: on a dead endpoint the SDK's retries take a
        // few seconds, and a person should know what is being waited for.
        tracing::info!(
            "Test connection: listing buckets at {endpoint} (up to {} attempts per request).",
            v.options.max_attempts
        );
        let list = timed(async {
            if configured.is_empty() {
                let names = store
                    .list_buckets()
                    .await
                    .map_err(|e| explain(e, &endpoint, "s3:ListAllMyBuckets"))?;
                Ok(names)
            } else {
                for b in &configured {
                    store.list_first(b).await.map_err(|e| {
                        unlisted = Some(b.clone());
                        explain(e, &endpoint, "s3:ListBucket")
                    })?;
                }
                Ok(configured.clone())
            }
        });
        let (list, early_metrics) = if stop_on_mandatory_failure {
            let (list, metrics) = tokio::join!(list, &mut metrics_step);
            (list, Some(metrics))
        } else {
            (list.await, None)
        };
        let metrics = async {
            match early_metrics {
                Some(m) => m,
                None => metrics_step.await,
            }
        };
        let mut listed = None;
        steps.push(match list {
            Ok(names) if configured.is_empty() => {
                listed = Some(names.clone());
                first_bucket = names.iter().find(|b| !v.filter.excludes(b)).cloned();
                let message = if names.is_empty() {
                    "No buckets visible: ListBuckets answered an empty list".to_string()
                } else {
                    let shown: Vec<&str> =
                        names.iter().take(MAX_NAMES).map(String::as_str).collect();
                    format!("{} bucket(s) visible: {}", names.len(), shown.join(", "))
                };
                step(LIST_BUCKETS, true, Ok(message))
            }
            Ok(names) => step(
                LIST_BUCKETS,
                true,
                Ok(format!("{} configured bucket(s) accessible", names.len())),
            ),
            Err(e) => step(LIST_BUCKETS, true, Err(e)),
        });
        if stop_on_mandatory_failure && steps.iter().any(|s| s.mandatory && !s.passed) {
            return (steps, None, true);
        }

        // DIFF(spec §9): GetBucketLocation, GetManifest and the OpenMetadata version are steps
        // of ours (optional), which the reference's definition lacks.
        // GetBucketLocation and GetManifest on the first bucket.
        // A bucket the ListBuckets step could not list is not checked again: a missing
        // manifest there would say nothing about the manifest.
        let listed_first = unlisted.is_none() || unlisted != first_bucket;
        let bucket_steps = async {
            let mut steps = vec![];
            if stop_on_mandatory_failure {
                // `ingest` reads every bucket's region and manifest itself right after, and
                // reports what fails there: asking the first one twice only delays it.
                return steps;
            }
            match &first_bucket {
                None => {
                    for name in ["GetBucketLocation", "GetManifest"] {
                        steps.push(skipped(name, false, "no bucket to check".into()));
                    }
                }
                Some(bucket) if !listed_first => {
                    for name in ["GetBucketLocation", "GetManifest"] {
                        steps.push(skipped(
                            name,
                            false,
                            format!("bucket {bucket} could not be listed (see ListBuckets)"),
                        ));
                    }
                }
                Some(bucket) => {
                    let region = timed(async {
                        match store.bucket_region(bucket).await {
                            Ok(r) => Ok(format!(
                                "bucket {bucket} is in region {}",
                                r.as_deref().unwrap_or("us-east-1")
                            )),
                            Err(e) => Err(explain(e, &endpoint, "s3:GetBucketLocation")),
                        }
                    });
                    let max = v.options.max_manifest_bytes;
                    let read = timed(async {
                        match store.get_small(bucket, MANIFEST_FILE, max).await {
                    Ok(bytes) => match manifest::parse_bucket_manifest(&bytes) {
                        Ok(entries) => Ok(format!(
                            "s3://{bucket}/{MANIFEST_FILE} read: {} entr{}",
                            entries.len(),
                            if entries.len() == 1 { "y" } else { "ies" }
                        )),
                        Err(source) => Err(StepError::Manifest {
                            bucket: bucket.clone(),
                            source,
                        }),
                    },
                    Err(e) if e.kind == ErrorKind::NotFound => Ok(format!(
                        "no {MANIFEST_FILE} in bucket {bucket}: it is catalogued as a bucket only, unless a global or default manifest covers it"
                    )),
                    Err(e) => Err(explain(e, &endpoint, "s3:GetObject")),
                }
                    });
                    let (region, read) = tokio::join!(region, read);
                    steps.push(step("GetBucketLocation", false, region));
                    steps.push(step("GetManifest", false, read));
                }
            }
            steps
        };
        let (metrics, bucket_steps) = tokio::join!(metrics, bucket_steps);
        steps.push(match metrics {
            Err(Skip(why)) => skipped(GET_METRICS, false, why),
            Ok(m) => step(GET_METRICS, false, m),
        });
        steps.extend(bucket_steps);
        (steps, listed, false)
    };
    // The OpenMetadata server, only when the run will write to it: then the run cannot
    // succeed without it, so both steps are mandatory.
    let mut service_exists = None;
    let om = async {
        let mut steps = vec![];
        if let SinkKind::MetadataRest(om) = &v.sink {
            match om_client(v, om) {
                Err(e) => {
                    steps.push(step("CheckOpenMetadataVersion", true, Err(e)));
                    steps.push(skipped(
                        "CheckOpenMetadataToken",
                        true,
                        "the client could not be set up (see CheckOpenMetadataVersion)".into(),
                    ));
                }
                Ok(client) => {
                    // Both at once; the token's answer only counts when the server was
                    // reached (an unreachable server fails both the same way).
                    let (version, token) = tokio::join!(
                        timed(om_version(&client)),
                        timed(om_token(&client, &v.service_name))
                    );
                    let reached = version.is_ok();
                    steps.push(step("CheckOpenMetadataVersion", true, version));
                    if reached {
                        let token = token.map(|(message, exists)| {
                            service_exists = Some(exists);
                            message
                        });
                        steps.push(step("CheckOpenMetadataToken", true, token));
                    } else {
                        steps.push(skipped(
                            "CheckOpenMetadataToken",
                            true,
                            "the server was not reached (see CheckOpenMetadataVersion)".into(),
                        ));
                    }
                }
            }
        }
        steps
    };
    let ((mut steps, listed, stopped), om_steps) = tokio::join!(s3, om);
    if !stopped {
        steps.extend(om_steps);
    }
    let mut report = Report::new(steps);
    report.listed = listed;
    report.service_exists = service_exists;
    report
}

/// A step that could not run, and why.
struct Skip(String);

fn skipped(name: &str, mandatory: bool, why: String) -> Step {
    Step {
        name: name.to_string(),
        mandatory,
        passed: true,
        skipped: true,
        message: format!("skipped: {why}"),
    }
}

fn step(name: &str, mandatory: bool, result: Result<String, StepError>) -> Step {
    let (passed, message) = match result {
        Ok(m) => (true, m),
        Err(e) => (false, e.to_string()),
    };
    Step {
        name: name.to_string(),
        mandatory,
        passed,
        skipped: false,
        message,
    }
}

async fn timed<T, F>(f: F) -> Result<T, StepError>
where
    F: Future<Output = Result<T, StepError>>,
{
    match tokio::time::timeout(STEP_TIMEOUT, f).await {
        Ok(r) => r,
        Err(_) => Err(StepError::TimedOut {
            limit: STEP_TIMEOUT,
        }),
    }
}

/// A store error with what to do about it.
fn explain(e: StoreError, endpoint: &str, permission: &str) -> StepError {
    let hint = match e.kind {
        ErrorKind::NotFound => format!("Bucket not found: check that {} exists, and bucketNames", e.bucket),
        ErrorKind::PermissionDenied => {
            format!("Not authorized: grant {permission} to the connector's credentials")
        }
        ErrorKind::Unauthenticated => "The credentials were rejected: check awsAccessKeyId, awsSecretAccessKey, awsSessionToken, the profile or the role".to_string(),
        ErrorKind::Unreachable => {
            format!("Cannot reach the AWS endpoint ({endpoint}): check endPointURL, awsRegion, the network and any proxy")
        }
        ErrorKind::Throttled => "Throttled by the server: try again later".to_string(),
        _ => "Unexpected answer from the server".to_string(),
    };
    StepError::Store {
        hint,
        source: Box::new(e),
    }
}

fn explain_cloudwatch<E>(
    e: aws_sdk_cloudwatch::error::SdkError<E, aws_sdk_cloudwatch::config::http::HttpResponse>,
    endpoint: &str,
) -> StepError
where
    E: aws_sdk_cloudwatch::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    use aws_sdk_cloudwatch::error::SdkError;
    let detail = crate::metrics::describe(&e);
    let hint = match &e {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => format!(
            "Cannot reach the CloudWatch endpoint ({endpoint}): check endPointURL and the network, or set s3meta.bucketMetrics: false for a store without CloudWatch"
        ),
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or_default();
            if code.contains("AccessDenied") || code.contains("Unauthorized") {
                "Not authorized: grant cloudwatch:ListMetrics (and cloudwatch:GetMetricData for the metrics)".to_string()
            } else {
                "CloudWatch refused the call (for a store without CloudWatch, set s3meta.bucketMetrics: false)".to_string()
            }
        }
        _ => "CloudWatch call failed; bucket metrics will be 0".to_string(),
    };
    StepError::CloudWatch {
        hint,
        detail,
        source: Box::new(e),
    }
}

/// The client the run itself uses (token or token file, `verifySSL` and its CA,
/// `extraHeaders`, `apiVersion`, retries), so that these steps cannot pass where the run
/// would fail.
fn om_client(v: &Validated, om: &OpenMetadataServerConfig) -> Result<Client, StepError> {
    let transport = Transport::of_run(
        &v.service_name,
        v.options.sink_max_attempts,
        v.options.sink_timeout_secs,
    );
    Ok(Client::new(om, &transport).map_err(OmStepError::Setup)?)
}

/// `GET <hostPort>/<apiVersion>/system/version`: the server is there and speaks the API.
async fn om_version(client: &Client) -> Result<String, StepError> {
    let url = format!("{}{}", client.base(), api::VERSION_PATH);
    let answer = client
        .call(Method::GET, api::VERSION_PATH, &[], None)
        .await
        .map_err(|e| OmStepError::of(url.clone(), e))?;
    let version = answer.body["version"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if version.is_empty() {
        return Err(OmStepError::NoVersion {
            url,
            body: answer.body,
        }
        .into());
    }
    Ok(format!("OpenMetadata server version {version}"))
}

/// The storage service by name, with the token: the first call of a run. 200 and 404 both
/// prove the token is accepted (404: the first run creates the service).
async fn om_token(client: &Client, service: &str) -> Result<(String, bool), StepError> {
    let fqn = crate::entity::quote_name(service);
    let path = format!(
        "/services/storageServices/name/{}",
        crate::openmetadata::client::segment(&fqn)
    );
    let url = format!("{}{path}", client.base());
    match client.call(Method::GET, &path, &[], None).await {
        Ok(_) => Ok((
            format!("the token is accepted; storage service {fqn} exists"),
            true,
        )),
        Err(ClientError::NotFound(_)) => Ok((
            format!(
                "the token is accepted; storage service {fqn} does not exist yet (the first run creates it)"
            ),
            false,
        )),
        Err(e) => Err(OmStepError::of(url, e).into()),
    }
}

/// Why a step failed: the error and a hint at what to do (the step's message).
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// A store call failed.
    #[error("{hint}. Error: {source}")]
    Store {
        /// What to do about it.
        hint: String,
        /// The store's error (boxed: it is large, and step results travel everywhere).
        source: Box<StoreError>,
    },
    /// A CloudWatch call failed.
    #[error("{hint}. Error: {detail}")]
    CloudWatch {
        /// What to do about it.
        hint: String,
        /// The error as CloudWatch described it.
        detail: String,
        /// The SDK's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The bucket's manifest was read but does not parse.
    #[error("s3://{bucket}/{MANIFEST_FILE} is not a valid manifest: {source}")]
    Manifest {
        /// The bucket.
        bucket: String,
        /// Why it does not parse.
        source: ManifestError,
    },
    /// The OpenMetadata server check failed.
    #[error(transparent)]
    OpenMetadata(#[from] OmStepError),
    /// The step took longer than [`STEP_TIMEOUT`].
    #[error("timed out after {}s: the endpoint is slow or unreachable", limit.as_secs())]
    TimedOut {
        /// The limit.
        limit: Duration,
    },
}

/// Why the OpenMetadata step failed, with the hint for each case.
#[derive(Debug, thiserror::Error)]
pub enum OmStepError {
    /// The client could not be built from `openMetadataServerConfig` (token file, CA,
    /// headers): the run would fail the same way.
    #[error(transparent)]
    Setup(ClientError),
    /// The server could not be reached.
    #[error("Cannot reach the OpenMetadata server at {url}: check hostPort (it must end in /api). Error: {}", transport_detail(source))]
    Unreachable {
        /// The version URL.
        url: String,
        /// The client's error.
        source: ClientError,
    },
    /// The token was refused.
    #[error("The OpenMetadata server at {url} answered {status}: check securityConfig.jwtToken (use the ingestion-bot token)")]
    Refused {
        /// The version URL.
        url: String,
        /// 401 or 403.
        status: StatusCode,
        /// The client's error.
        source: ClientError,
    },
    /// Any other error answer.
    #[error(
        "The OpenMetadata server at {url} answered {status}: check hostPort (it must end in /api)"
    )]
    Answered {
        /// The version URL.
        url: String,
        /// The status.
        status: StatusCode,
        /// The client's error.
        source: ClientError,
    },
    /// The answer was not JSON (HTML: the UI, not the API).
    #[error("{url} did not answer JSON: {source}")]
    NotJson {
        /// The version URL.
        url: String,
        /// The client's error.
        source: ClientError,
    },
    /// The answer carried no version.
    #[error("{url} answered no version: {body}")]
    NoVersion {
        /// The version URL.
        url: String,
        /// What it answered.
        body: serde_json::Value,
    },
}

impl OmStepError {
    fn of(url: String, e: ClientError) -> OmStepError {
        let status = |s: u16| StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match e {
            ClientError::Unauthorized { status: s, .. } => OmStepError::Refused {
                url,
                status: status(s),
                source: e,
            },
            ClientError::NotFound(_) => OmStepError::Answered {
                url,
                status: StatusCode::NOT_FOUND,
                source: e,
            },
            ClientError::Api { status: s, .. } => OmStepError::Answered {
                url,
                status: status(s),
                source: e,
            },
            ClientError::Html => OmStepError::NotJson { url, source: e },
            ClientError::Setup(_) | ClientError::Encode(_) => OmStepError::Setup(e),
            ClientError::Transport { .. } | ClientError::Body(_) => {
                OmStepError::Unreachable { url, source: e }
            }
        }
    }
}

/// The transport's own error, its innermost cause (`tcp connect error: Connection refused`), as this step has always
/// shown it, without the client's wording around it.
fn transport_detail(e: &ClientError) -> String {
    match e {
        ClientError::Transport { source, .. } | ClientError::Body(source) => {
            crate::explain::root_cause(source)
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_passes_only_when_every_mandatory_step_passed() {
        let ok = step(LIST_BUCKETS, true, Ok("1 bucket(s) visible: a".into()));
        let timed_out = || {
            Err(StepError::TimedOut {
                limit: STEP_TIMEOUT,
            })
        };
        let opt_fail = step("GetMetrics", false, timed_out());
        assert!(Report::new(vec![ok.clone(), opt_fail.clone()]).passed);
        let bad = step(LIST_BUCKETS, true, timed_out());
        let r = Report::new(vec![bad, opt_fail]);
        assert!(!r.passed);
        assert_eq!(
            r.failed_mandatory().map(|s| s.name.as_str()),
            Some("ListBuckets")
        );
    }

    #[test]
    fn json_has_steps_and_verdict() {
        let r = Report::new(vec![step(LIST_BUCKETS, true, Ok("x".into()))]);
        let v: serde_json::Value = serde_json::from_str(&r.json()).unwrap();
        assert_eq!(v["passed"], true);
        assert_eq!(v["steps"][0]["name"], "ListBuckets");
        assert_eq!(v["steps"][0]["mandatory"], true);
        assert_eq!(v["steps"][0]["passed"], true);
        assert_eq!(v["steps"][0]["message"], "x");
    }
}
