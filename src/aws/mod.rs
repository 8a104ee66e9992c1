//! AWS set-up from `awsConfig` (reference §2): one `SdkConfig` with region, credentials
//! (static keys and session token, a named profile, assume-role, or the default chain),
//! the standard retry mode and timeouts; S3 clients built from it.
//!
//! This module only builds clients; it never calls S3 itself.

mod assume_role;

pub use assume_role::AssumeRoleProvider;

use crate::config::{AwsCredentials, S3metaOptions};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use std::time::Duration;

/// Connect timeout of every AWS call.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Timeout of one attempt (one HTTP request and its response).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);
/// Timeout of one operation, retries included; the SDK sets none by default.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(300);

/// Builds the shared SDK configuration for one set of credentials.
///
/// Precedence follows boto3 as the reference uses it: explicit keys win over a profile's,
/// which win over the default chain; with `assumeRoleArn`, those are the *base* credentials
/// of the STS call and the assumed ones are used for everything else.
pub async fn sdk_config(creds: &AwsCredentials, opts: &S3metaOptions) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(creds.aws_region.clone()))
        .retry_config(RetryConfig::standard().with_max_attempts(opts.max_attempts))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        );
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
