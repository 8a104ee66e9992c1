//! `CreateStorageServiceRequest` (reference §8.3).

use crate::config::{AwsCredentials, S3Connection};
use serde_json::{json, Map, Value};

/// The request body for the storage service.
///
/// `connection` carries the S3 connection with the reference's defaults filled in, unless
/// `storeServiceConnection` is false. With `redact`, secrets are written as `"***"` (the
/// file sink is not a secret store); the REST sink sends them as the reference does.
pub fn service_request(
    name: &str,
    conn: &S3Connection,
    store_connection: bool,
    redact: bool,
) -> Value {
    let mut body = Map::new();
    body.insert("name".into(), json!(name));
    body.insert("serviceType".into(), json!("S3"));
    if store_connection {
        let mut config = Map::new();
        config.insert("type".into(), json!("S3"));
        config.insert("awsConfig".into(), aws_config(&conn.aws_config, redact));
        if let Some(b) = &conn.bucket_names {
            config.insert("bucketNames".into(), json!(b));
        }
        if let Some(o) = &conn.connection_options {
            config.insert("connectionOptions".into(), json!(o));
        }
        if let Some(a) = &conn.connection_arguments {
            config.insert("connectionArguments".into(), json!(a));
        }
        config.insert(
            "containerFilterPattern".into(),
            json!(conn.container_filter_pattern),
        );
        config.insert(
            "supportsMetadataExtraction".into(),
            json!(conn.supports_metadata_extraction),
        );
        config.insert("supportsProfiler".into(), json!(conn.supports_profiler));
        if let Some(u) = &conn.console_endpoint_url {
            config.insert("consoleEndpointURL".into(), json!(normalise_url(u)));
        }
        body.insert("connection".into(), json!({ "config": config }));
    }
    Value::Object(body)
}

fn aws_config(a: &AwsCredentials, redact: bool) -> Value {
    let secret = |s: &crate::config::Secret| {
        if redact {
            json!("***")
        } else {
            json!(s.expose())
        }
    };
    let mut m = Map::new();
    m.insert("enabled".into(), json!(a.enabled));
    if let Some(k) = &a.aws_access_key_id {
        m.insert("awsAccessKeyId".into(), json!(k));
    }
    if let Some(s) = &a.aws_secret_access_key {
        m.insert("awsSecretAccessKey".into(), secret(s));
    }
    if let Some(t) = &a.aws_session_token {
        m.insert("awsSessionToken".into(), secret(t));
    }
    m.insert("awsRegion".into(), json!(a.aws_region));
    if let Some(u) = &a.end_point_url {
        m.insert("endPointURL".into(), json!(normalise_url(u)));
    }
    if let Some(p) = &a.profile_name {
        m.insert("profileName".into(), json!(p));
    }
    if let Some(r) = &a.assume_role_arn {
        m.insert("assumeRoleArn".into(), json!(r));
    }
    m.insert(
        "assumeRoleSessionName".into(),
        json!(a.assume_role_session_name),
    );
    if let Some(s) = &a.assume_role_source_identity {
        m.insert("assumeRoleSourceIdentity".into(), json!(s));
    }
    Value::Object(m)
}

/// pydantic re-serialises URLs (`http://h:1` → `http://h:1/`); so do we, so that the stored
/// connection is the same.
fn normalise_url(u: &str) -> String {
    url::Url::parse(u)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| u.to_string())
}
