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
//! | `CheckOpenMetadataVersion` | no | `GET <hostPort>/v1/system/version`, only with the `metadata-rest` sink (ours) |
//!
//! Like the reference (whose 2.0.7 definition has no "connection gate"), a failed step does
//! not stop the later ones. Each failure carries a hint: which permission to grant, an
//! unreachable endpoint, an unknown bucket. This module only probes; it never writes.

use crate::aws;
use crate::config::{SinkKind, Validated, MANIFEST_FILE};
use crate::manifest;
use crate::metrics::NAMESPACE;
use crate::store::{s3::S3Store, Error as StoreError, ErrorKind, ObjectStore};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
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
/// Timeout of the OpenMetadata version call.
const OM_TIMEOUT: Duration = Duration::from_secs(20);

/// One step's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Step name (`ListBuckets`, `GetMetrics`, …).
    pub name: String,
    /// Whether a failure fails the whole test.
    pub mandatory: bool,
    /// Whether the step passed.
    pub passed: bool,
    /// Evidence when passed; the error and a hint when not.
    pub message: String,
}

/// Every step's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The steps, in the order they ran.
    pub steps: Vec<Step>,
    /// True when every mandatory step passed.
    pub passed: bool,
}

impl Report {
    fn new(steps: Vec<Step>) -> Report {
        let passed = steps.iter().all(|s| s.passed || !s.mandatory);
        Report { steps, passed }
    }

    /// The first mandatory step that failed.
    pub fn failed_mandatory(&self) -> Option<&Step> {
        self.steps.iter().find(|s| s.mandatory && !s.passed)
    }

    /// The human-readable table: step, mandatory, result, evidence or error.
    pub fn table(&self) -> String {
        let mut t = Table::new();
        t.load_style(UTF8_FULL_CONDENSED);
        t.set_header(vec!["Step", "Mandatory", "Result", "Details"]);
        for s in &self.steps {
            t.add_row(vec![
                s.name.clone(),
                if s.mandatory { "yes" } else { "no" }.to_string(),
                if s.passed { "passed" } else { "FAILED" }.to_string(),
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
/// unreachable endpoint is not retried once per optional step.
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

    let mut steps = Vec::new();
    let mut first_bucket: Option<String> = configured.first().cloned();

    // ListBuckets (mandatory).
    let list = timed(async {
        if configured.is_empty() {
            let names = store
                .list_buckets()
                .await
                .map_err(|e| explain(&e, &endpoint, "s3:ListAllMyBuckets"))?;
            Ok(names)
        } else {
            for b in &configured {
                store
                    .list_first(b)
                    .await
                    .map_err(|e| explain(&e, &endpoint, "s3:ListBucket"))?;
            }
            Ok(configured.clone())
        }
    })
    .await;
    steps.push(match list {
        Ok(names) if configured.is_empty() => {
            first_bucket = names.iter().find(|b| !v.filter.excludes(b)).cloned();
            let message = if names.is_empty() {
                "No buckets visible: ListBuckets answered an empty list".to_string()
            } else {
                let shown: Vec<&str> = names.iter().take(MAX_NAMES).map(String::as_str).collect();
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
        return Report::new(steps);
    }

    // GetMetrics (optional).
    let metrics = if v.options.bucket_metrics {
        timed(async {
            let out = cloudwatch
                .list_metrics()
                .namespace(NAMESPACE)
                .send()
                .await
                .map_err(|e| explain_cloudwatch(&e, &endpoint))?;
            Ok(format!(
                "{} metric(s) visible in namespace '{NAMESPACE}'",
                out.metrics().len()
            ))
        })
        .await
    } else {
        Ok("skipped: s3meta.bucketMetrics is false".to_string())
    };
    steps.push(step(GET_METRICS, false, metrics));

    // DIFF(spec §9): GetBucketLocation, GetManifest and the OpenMetadata version are steps
    // of ours (optional), which the reference's definition lacks.
    // GetBucketLocation and GetManifest on the first bucket.
    match &first_bucket {
        None => {
            for name in ["GetBucketLocation", "GetManifest"] {
                steps.push(step(name, false, Ok("skipped: no bucket to check".into())));
            }
        }
        Some(bucket) => {
            let region = timed(async {
                match store.bucket_region(bucket).await {
                    Ok(r) => Ok(format!(
                        "bucket {bucket} is in region {}",
                        r.as_deref().unwrap_or("us-east-1")
                    )),
                    Err(e) => Err(explain(&e, &endpoint, "s3:GetBucketLocation")),
                }
            })
            .await;
            steps.push(step("GetBucketLocation", false, region));
            let max = v.options.max_manifest_bytes;
            let read = timed(async {
                match store.get_small(bucket, MANIFEST_FILE, max).await {
                    Ok(bytes) => match manifest::parse_bucket_manifest(&bytes) {
                        Ok(entries) => Ok(format!(
                            "s3://{bucket}/{MANIFEST_FILE} read: {} entr{}",
                            entries.len(),
                            if entries.len() == 1 { "y" } else { "ies" }
                        )),
                        Err(e) => Err(format!(
                            "s3://{bucket}/{MANIFEST_FILE} is not a valid manifest: {e}"
                        )),
                    },
                    Err(e) if e.kind == ErrorKind::NotFound => Ok(format!(
                        "no {MANIFEST_FILE} in bucket {bucket}: it is catalogued as a bucket only, unless a global or default manifest covers it"
                    )),
                    Err(e) => Err(explain(&e, &endpoint, "s3:GetObject")),
                }
            })
            .await;
            steps.push(step("GetManifest", false, read));
        }
    }

    // The OpenMetadata server, only when the run will write to it.
    if let SinkKind::MetadataRest(om) = &v.sink {
        let version = timed(om_version(om)).await;
        steps.push(step("CheckOpenMetadataVersion", false, version));
    }
    Report::new(steps)
}

fn step(name: &str, mandatory: bool, result: Result<String, String>) -> Step {
    let (passed, message) = match result {
        Ok(m) => (true, m),
        Err(m) => (false, m),
    };
    Step {
        name: name.to_string(),
        mandatory,
        passed,
        message,
    }
}

async fn timed<T, F>(f: F) -> Result<T, String>
where
    F: Future<Output = Result<T, String>>,
{
    match tokio::time::timeout(STEP_TIMEOUT, f).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "timed out after {}s: the endpoint is slow or unreachable",
            STEP_TIMEOUT.as_secs()
        )),
    }
}

/// A store error with what to do about it.
fn explain(e: &StoreError, endpoint: &str, permission: &str) -> String {
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
    format!("{hint}. Error: {e}")
}

fn explain_cloudwatch<E>(
    e: &aws_sdk_cloudwatch::error::SdkError<E, aws_sdk_cloudwatch::config::http::HttpResponse>,
    endpoint: &str,
) -> String
where
    E: aws_sdk_cloudwatch::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    use aws_sdk_cloudwatch::error::SdkError;
    let detail = crate::metrics::describe(e);
    let hint = match e {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => format!(
            "Cannot reach the CloudWatch endpoint ({endpoint}): check endPointURL and the network, or set s3meta.bucketMetrics: false for a store without CloudWatch"
        ),
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or_default();
            if code.contains("AccessDenied") || code.contains("Unauthorized") {
                "Not authorized: grant cloudwatch:ListMetrics (and cloudwatch:GetMetricData for the metrics)".to_string()
            } else {
                "CloudWatch refused the call; bucket metrics will be 0 (set s3meta.bucketMetrics: false for a store without CloudWatch)".to_string()
            }
        }
        _ => "CloudWatch call failed; bucket metrics will be 0".to_string(),
    };
    format!("{hint}. Error: {detail}")
}

/// `GET <hostPort>/v1/system/version` with the bot's token; the full client lives in the
/// OpenMetadata sink.
async fn om_version(om: &crate::config::OpenMetadataServerConfig) -> Result<String, String> {
    let base = om.host_port.trim_end_matches('/');
    let url = format!("{base}/v1/system/version");
    let mut b = reqwest::Client::builder().timeout(OM_TIMEOUT);
    if om.verify_ssl == crate::config::VerifySsl::Ignore {
        b = b.danger_accept_invalid_certs(true);
    }
    let client = b
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    let mut req = client.get(&url);
    if let Some(token) = om
        .security_config
        .as_ref()
        .and_then(|s| s.jwt_token.as_ref())
    {
        req = req.bearer_auth(token.expose());
    }
    let resp = req.send().await.map_err(|e| {
        format!("Cannot reach the OpenMetadata server at {url}: check hostPort (it must end in /api). Error: {e}")
    })?;
    let status = resp.status();
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Err(format!(
            "The OpenMetadata server at {url} answered {status}: check securityConfig.jwtToken (use the ingestion-bot token)"
        ));
    }
    if !status.is_success() {
        return Err(format!(
            "The OpenMetadata server at {url} answered {status}: check hostPort (it must end in /api)"
        ));
    }
    let body: serde_json::Value = resp
        .json()
        .await
        .map_err(|e| format!("{url} did not answer JSON: {e}"))?;
    let version = body["version"].as_str().unwrap_or_default().to_string();
    if version.is_empty() {
        return Err(format!("{url} answered no version: {body}"));
    }
    Ok(format!("OpenMetadata server version {version}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_passes_only_when_every_mandatory_step_passed() {
        let ok = step(LIST_BUCKETS, true, Ok("1 bucket(s) visible: a".into()));
        let opt_fail = step("GetMetrics", false, Err("no".into()));
        assert!(Report::new(vec![ok.clone(), opt_fail.clone()]).passed);
        let bad = step(LIST_BUCKETS, true, Err("Bucket not found".into()));
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
