//! AWS set-up from `awsConfig` (reference §2): one `SdkConfig` with region, credentials
//! (static keys and session token, a named profile, assume-role, or the default chain),
//! the standard retry mode and timeouts; S3 and CloudWatch clients built from it, and the
//! interceptor that counts S3 requests and retries.
//!
//! This module only builds clients; it never calls S3 itself.
//!
//! Retries and timeouts (the reference sets none and relies on botocore's defaults): every
//! client uses the SDK's *standard* retry mode — exponential backoff with jitter and a retry
//! token bucket; throttling (503 SlowDown, 429), 5xx answers, and transport errors (reset,
//! refused, timed out) are retried — up to `s3meta.maxAttempts` attempts per request (default
//! 5). A connection must be established within [`CONNECT_TIMEOUT`], the first byte of an
//! answer must arrive within [`READ_TIMEOUT`], one attempt may last [`ATTEMPT_TIMEOUT`] and one
//! request, retries included, [`OPERATION_TIMEOUT`].

mod assume_role;

pub use assume_role::AssumeRoleProvider;

use crate::config::{AwsCredentials, S3metaOptions};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_smithy_async::time::SharedTimeSource;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Connect timeout of every AWS call (TCP and TLS handshake).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Read timeout: the longest wait for the first byte of an answer once the request is sent.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Timeout of one attempt (one HTTP request and its whole response).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);
/// Timeout of one operation, retries included; the SDK sets none by default.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(300);

/// Builds the shared SDK configuration for one set of credentials.
///
/// Precedence follows boto3 as the reference uses it: explicit keys win over a profile's,
/// which win over the default chain; with `assumeRoleArn`, those are the *base* credentials
/// of the STS call and the assumed ones are used for everything else.
pub async fn sdk_config(creds: &AwsCredentials, opts: &S3metaOptions) -> SdkConfig {
    build_sdk_config(creds, opts, None).await
}

async fn build_sdk_config(
    creds: &AwsCredentials,
    opts: &S3metaOptions,
    clock: Option<SharedTimeSource>,
) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(creds.aws_region.clone()))
        .retry_config(RetryConfig::standard().with_max_attempts(opts.max_attempts))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .read_timeout(READ_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        );
    if let Some(clock) = clock {
        loader = loader.time_source(clock);
    }
    if let Some(profile) = &creds.profile_name {
        loader = loader.profile_name(profile);
    }
    if let (Some(key), Some(secret)) = (&creds.aws_access_key_id, &creds.aws_secret_access_key) {
        loader = loader.credentials_provider(Credentials::new(
            key,
            secret.expose(),
            creds
                .aws_session_token
                .as_ref()
                .map(|t| t.expose().to_string()),
            None,
            "s3meta-config",
        ));
    }
    let base = loader.load().await;
    match &creds.assume_role_arn {
        None => base,
        Some(role_arn) => {
            // STS gets no endpoint from the YAML (spec §2); AWS_ENDPOINT_URL_STS still works.
            let sts = aws_sdk_sts::Client::new(&base);
            let provider = AssumeRoleProvider::new(
                sts,
                role_arn.clone(),
                creds.assume_role_session_name.clone(),
                creds.assume_role_source_identity.clone(),
            );
            base.into_builder()
                .credentials_provider(SharedCredentialsProvider::new(provider))
                .build()
        }
    }
}

/// An S3 client for `sdk`, pointed at `endPointURL` with path-style addressing when set.
pub fn s3_client(sdk: &SdkConfig, endpoint: Option<&str>) -> aws_sdk_s3::Client {
    let mut b = aws_sdk_s3::config::Builder::from(sdk);
    if let Some(url) = endpoint {
        b = b.endpoint_url(url).force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(b.build())
}

/// The S3 client that reads an S3 global manifest: built from that variant's own
/// `securityConfig`, or from the ambient default chain when it has none — never from the
/// connector's credentials (spec §2.5).
pub async fn manifest_s3_client(
    security: Option<&AwsCredentials>,
    opts: &S3metaOptions,
) -> aws_sdk_s3::Client {
    match security {
        Some(sc) => s3_client(&sdk_config(sc, opts).await, sc.end_point_url.as_deref()),
        None => s3_client(
            &aws_config::defaults(BehaviorVersion::latest()).load().await,
            None,
        ),
    }
}

/// A CloudWatch client for `sdk` in `region` (the SDK config's region when `None`), pointed
/// at `endPointURL` when set: the same credentials and endpoint as S3 (reference §2).
pub fn cloudwatch_client(
    sdk: &SdkConfig,
    endpoint: Option<&str>,
    region: Option<&str>,
) -> aws_sdk_cloudwatch::Client {
    let mut b = aws_sdk_cloudwatch::config::Builder::from(sdk);
    if let Some(url) = endpoint {
        b = b.endpoint_url(url);
    }
    if let Some(r) = region {
        b = b.region(Region::new(r.to_string()));
    }
    aws_sdk_cloudwatch::Client::from_conf(b.build())
}

/// Counts the requests a client makes and the attempts they took, through an SDK
/// interceptor: `attempts - requests` is the number of retries.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter {
    counts: Arc<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    requests: AtomicU64,
    attempts: AtomicU64,
    throttled: AtomicU64,
}

impl RequestCounter {
    /// Requests (operations) started so far.
    pub fn requests(&self) -> u64 {
        self.counts.requests.load(Ordering::Relaxed)
    }

    /// Retries so far: attempts beyond the first of each request.
    pub fn retries(&self) -> u64 {
        self.counts
            .attempts
            .load(Ordering::Relaxed)
            .saturating_sub(self.requests())
    }

    /// Attempts answered `503` (S3's `SlowDown`) or `429` so far, retried or not: the
    /// run-wide request budget shrinks on them (`store::budget`).
    pub fn throttled(&self) -> u64 {
        self.counts.throttled.load(Ordering::Relaxed)
    }

    /// `client` with this counter installed.
    pub fn install(&self, client: &aws_sdk_s3::Client) -> aws_sdk_s3::Client {
        let conf = client
            .config()
            .to_builder()
            .interceptor(self.clone())
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }
}

impl aws_sdk_s3::config::Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "s3meta-request-counter"
    }

    fn read_before_execution(
        &self,
        _ctx: &aws_sdk_s3::config::interceptors::BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        self.counts.requests.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _ctx: &aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _rc: &aws_sdk_s3::config::RuntimeComponents,
        _cfg: &mut aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        self.counts.attempts.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn read_before_deserialization(
        &self,
        ctx: &aws_sdk_s3::config::interceptors::BeforeDeserializationInterceptorContextRef<'_>,
        _rc: &aws_sdk_s3::config::RuntimeComponents,
        _cfg: &mut aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        if matches!(ctx.response().status().as_u16(), 429 | 503) {
            self.counts.throttled.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}
