//! Assume role end to end on moto's STS: the AssumeRole call carries RoleSessionName and
//! SourceIdentity (moto does not echo SourceIdentity, so its request recorder proves it),
//! S3 is then called with the assumed credentials, and they are refreshed before expiry
//! (an injected clock jumps past the expiry; nothing sleeps).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::moto::{MotoLake, MOTO_KEY, MOTO_SECRET};
use aws_smithy_async::time::{SharedTimeSource, TimeSource};
use pretty_assertions::assert_eq;
use s3meta::aws::AssumeRoleProvider;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// moto's recorder is one per server: tests that read it take turns.
static RECORDER: Mutex<()> = Mutex::new(());

const ROLE: &str = "arn:aws:iam::123456789012:role/s3meta-reader";

/// The form fields of a recorded Query-protocol request.
fn form(entry: &serde_json::Value) -> HashMap<String, String> {
    let body = entry["body"].as_str().unwrap_or_default();
    let raw = if entry["body_encoded"] == true {
        String::from_utf8(aws_smithy_types::base64::decode(body).unwrap()).unwrap()
    } else {
        body.to_string()
    };
    url::form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect()
}

/// Recorded AssumeRole calls with this session name.
fn assume_role_calls(lake: &MotoLake, session: &str) -> Vec<HashMap<String, String>> {
    lake.moto
        .recording()
        .iter()
        .map(form)
        .filter(|f| {
            f.get("Action").map(String::as_str) == Some("AssumeRole")
                && f.get("RoleSessionName").map(String::as_str) == Some(session)
        })
        .collect()
}

/// Access key ids in the SigV4 `Authorization` headers of recorded S3 requests to `bucket`.
fn s3_key_ids(lake: &MotoLake, bucket: &str) -> Vec<String> {
    lake.moto
        .recording()
        .iter()
        .filter(|e| e["url"].as_str().unwrap_or_default().contains(bucket))
        .filter_map(|e| {
            let auth = e["headers"]["Authorization"].as_str()?;
            let cred = auth.split("Credential=").nth(1)?;
            Some(cred.split('/').next()?.to_string())
        })
        .collect()
}

#[test]
fn ingest_assumes_the_role_with_session_name_and_source_identity() {
    let _turn = RECORDER.lock().unwrap_or_else(|e| e.into_inner());
    let lake = MotoLake::new();
    let b = lake.name("assumed");
    lake.bucket(&b);
    let session = format!("s3meta-{}", lake.id);
    let identity = format!("alice-{}", lake.id);
    let aws_extra = format!(
        "assumeRoleArn: {ROLE}\nassumeRoleSessionName: {session}\nassumeRoleSourceIdentity: {identity}\n"
    );
    let yaml = lake.config_at(
        &lake.moto.endpoint(),
        &aws_extra,
        &format!("bucketNames: [\"{b}\"]\n"),
        "",
        "",
    );
    lake.moto.start_recording();
    let run = lake.ingest(&yaml);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.fqns(), vec![format!("svc.{b}")]);

    let calls = assume_role_calls(&lake, &session);
    assert_eq!(calls.len(), 1, "one AssumeRole call for the whole run");
    assert_eq!(calls[0]["RoleArn"], ROLE);
    assert_eq!(calls[0]["SourceIdentity"], identity);
    // S3 was called with the assumed (temporary, ASIA…) key, never the base key.
    let keys = s3_key_ids(&lake, &b);
    assert!(!keys.is_empty());
    assert!(
        keys.iter().all(|k| k.starts_with("ASIA") && k != MOTO_KEY),
        "{keys:?}"
    );
    assert!(!run.stdout.contains(MOTO_SECRET) && !run.stderr.contains(MOTO_SECRET));
}

#[test]
fn source_identity_is_not_sent_when_unset() {
    let _turn = RECORDER.lock().unwrap_or_else(|e| e.into_inner());
    let lake = MotoLake::new();
    let b = lake.name("noident");
    lake.bucket(&b);
    let session = format!("s3meta-plain-{}", lake.id);
    let yaml = lake.config_at(
        &lake.moto.endpoint(),
        &format!("assumeRoleArn: {ROLE}\nassumeRoleSessionName: {session}\n"),
        &format!("bucketNames: [\"{b}\"]\n"),
        "",
        "",
    );
    lake.moto.start_recording();
    let run = lake.ingest(&yaml);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let calls = assume_role_calls(&lake, &session);
    assert_eq!(calls.len(), 1);
    assert!(!calls[0].contains_key("SourceIdentity"), "{:?}", calls[0]);
}

/// A clock the test moves by hand.
#[derive(Debug, Clone)]
struct Clock(Arc<Mutex<SystemTime>>);

impl Clock {
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl TimeSource for Clock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
}

#[test]
fn assumed_credentials_are_refreshed_before_they_expire() {
    let _turn = RECORDER.lock().unwrap_or_else(|e| e.into_inner());
    let lake = MotoLake::new();
    let b = lake.name("refresh");
    lake.bucket(&b);
    let session = format!("s3meta-refresh-{}", lake.id);
    let clock = Clock(Arc::new(Mutex::new(SystemTime::now())));
    let base = aws_credential_types::Credentials::new(MOTO_KEY, MOTO_SECRET, None, None, "base");
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::Config::builder()
            .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
            .region(aws_sdk_sts::config::Region::new("us-east-1"))
            .credentials_provider(base)
            .endpoint_url(lake.moto.endpoint())
            .time_source(SharedTimeSource::new(clock.clone()))
            .build(),
    );
    let provider = AssumeRoleProvider::new(
        sts,
        ROLE.to_string(),
        session.clone(),
        Some("refresher".to_string()),
    );
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .credentials_provider(provider)
            .endpoint_url(lake.moto.endpoint())
            .force_path_style(true)
            .time_source(SharedTimeSource::new(clock.clone()))
            .build(),
    );
    lake.moto.start_recording();
    let list = || {
        lake.rt
            .block_on(s3.list_objects_v2().bucket(&b).send())
            .unwrap();
    };
    list();
    list();
    assert_eq!(
        assume_role_calls(&lake, &session).len(),
        1,
        "cached while valid"
    );
    // moto's credentials last an hour: two hours later they must have been renewed.
    clock.advance(Duration::from_secs(2 * 3600));
    list();
    assert_eq!(
        assume_role_calls(&lake, &session).len(),
        2,
        "renewed past expiry"
    );
    let keys = s3_key_ids(&lake, &b);
    assert_eq!(keys.len(), 3);
    assert_eq!(keys[0], keys[1]);
    assert_ne!(keys[1], keys[2], "the renewed key is used: {keys:?}");
}
