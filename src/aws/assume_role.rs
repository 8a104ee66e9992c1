//! Assume-role credentials with `SourceIdentity`.
//!
//! aws-config's `AssumeRoleProvider` can set the session name but not `SourceIdentity`, so
//! this is our own provider over STS `AssumeRole`. The SDK's lazy identity cache in front of
//! it calls it again before the returned credentials expire, which is how a long run keeps
//! working (the reference wraps boto3's refreshable credentials the same way).

use aws_credential_types::provider::{self, error::CredentialsError, future, ProvideCredentials};
use aws_credential_types::Credentials;
use std::time::SystemTime;

/// Calls STS `AssumeRole(RoleArn, RoleSessionName[, SourceIdentity])` for credentials.
#[derive(Debug, Clone)]
pub struct AssumeRoleProvider {
    sts: aws_sdk_sts::Client,
    role_arn: String,
    session_name: String,
    source_identity: Option<String>,
}

impl AssumeRoleProvider {
    /// A provider that assumes `role_arn` with the STS client's (base) credentials.
    pub fn new(
        sts: aws_sdk_sts::Client,
        role_arn: String,
        session_name: String,
        source_identity: Option<String>,
    ) -> Self {
        AssumeRoleProvider {
            sts,
            role_arn,
            session_name,
            source_identity,
        }
    }

    async fn assume(&self) -> provider::Result {
        let out = self
            .sts
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(&self.session_name)
            .set_source_identity(self.source_identity.clone())
            .send()
            .await
            .map_err(|e| {
                CredentialsError::provider_error(format!(
                    "AssumeRole of {} failed: {}",
                    self.role_arn,
                    aws_sdk_sts::error::DisplayErrorContext(&e)
                ))
            })?;
        let c = out.credentials.ok_or_else(|| {
            CredentialsError::provider_error("AssumeRole returned no credentials")
        })?;
        let expiry = SystemTime::try_from(c.expiration).ok();
        Ok(Credentials::new(
            c.access_key_id,
            c.secret_access_key,
            Some(c.session_token),
            expiry,
            "s3meta-assume-role",
        ))
    }
}

impl ProvideCredentials for AssumeRoleProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.assume())
    }
}
