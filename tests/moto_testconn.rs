//! `s3meta test-connection` against moto, and `ingest` stopping on a failed mandatory step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::moto::MotoLake;
use pretty_assertions::assert_eq;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn steps(json: &serde_json::Value) -> Vec<(String, bool, bool)> {
    json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["mandatory"].as_bool().unwrap(),
                s["passed"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn test_connection_passes_against_moto() {
    let lake = MotoLake::new();
    let b = lake.name("tc-ok");
    lake.bucket(&b).put(
        &b,
        "openmetadata.json",
        r#"{"entries": [{"dataPath": "a", "structureFormat": "csv"}]}"#,
    );
    let run = lake.run(&["test-connection", "-c"], &lake.config(&[&b], ""));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    for want in [
        "ListBuckets",
        "1 configured bucket(s) accessible",
        "GetMetrics",
        "metric(s) visible in namespace 'AWS/S3'",
        "GetBucketLocation",
        "GetManifest",
        "1 entry",
        "Test connection passed.",
    ] {
        assert!(
            run.stdout.contains(want),
            "{want} missing from\n{}",
            run.stdout
        );
    }
    // The OpenMetadata step only runs with the metadata-rest sink.
    assert!(!run.stdout.contains("OpenMetadata"), "{}", run.stdout);
}

#[test]
fn test_connection_lists_buckets_without_bucket_names() {
    let lake = MotoLake::new();
    let b = lake.name("tc-list");
    lake.bucket(&b);
    let yaml = lake.config_at(&lake.moto.endpoint(), "", "", "", "");
    let run = lake.run(&["test-connection", "--json", "-c"], &yaml);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(json["passed"], true);
    let first = &json["steps"][0];
    assert_eq!(first["name"], "ListBuckets");
    assert!(first["message"].as_str().unwrap().contains(&b), "{first}");
}

#[test]
fn a_missing_bucket_fails_list_buckets_with_a_hint() {
    let lake = MotoLake::new();
    let b = lake.name("tc-here");
    let missing = lake.name("tc-missing");
    lake.bucket(&b);
    let run = lake.run(
        &["test-connection", "--json", "-c"],
        &lake.config(&[&b, &missing], ""),
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(json["passed"], false);
    assert_eq!(
        steps(&json),
        vec![
            ("ListBuckets".to_string(), true, false),
            ("GetMetrics".to_string(), false, true),
            ("GetBucketLocation".to_string(), false, true),
            ("GetManifest".to_string(), false, true),
        ]
    );
    let msg = json["steps"][0]["message"].as_str().unwrap();
    assert!(
        msg.contains("Bucket not found") && msg.contains(&missing),
        "{msg}"
    );

    // The table names the failed step too.
    let table = lake.run(
        &["test-connection", "-c"],
        &lake.config(&[&b, &missing], ""),
    );
    assert_eq!(table.code, 1);
    assert!(table.stdout.contains("FAILED") && table.stdout.contains("Bucket not found"));
}

#[test]
fn the_checks_of_a_bucket_that_cannot_be_listed_are_skipped_not_passed() {
    let lake = MotoLake::new();
    let missing = lake.name("tc-nowhere");
    let yaml = lake.config(&[&missing], "") + "s3meta:\n  bucketMetrics: false\n";
    let run = lake.run(&["test-connection", "--json", "-c"], &yaml);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    let skipped: Vec<(&str, &str)> = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["skipped"] == true)
        .map(|s| (s["name"].as_str().unwrap(), s["message"].as_str().unwrap()))
        .collect();
    let why = format!("skipped: bucket {missing} could not be listed (see ListBuckets)");
    assert_eq!(
        skipped,
        vec![
            ("GetMetrics", "skipped: s3meta.bucketMetrics is false"),
            ("GetBucketLocation", why.as_str()),
            ("GetManifest", why.as_str()),
        ]
    );
    // The table says "skipped", never "passed", for them.
    let table = lake.run(&["test-connection", "-c"], &yaml);
    for line in table.stdout.lines().filter(|l| l.contains("GetManifest")) {
        assert!(
            line.contains("skipped") && !line.contains("passed"),
            "{line}"
        );
    }
}

#[test]
fn an_unreachable_endpoint_fails_with_a_hint() {
    let lake = MotoLake::new();
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let yaml = lake.config_at(
        &endpoint,
        "",
        "bucketNames: [\"x-bucket\"]\n",
        "",
        "s3meta:\n  maxAttempts: 1\n",
    );
    let run = lake.run(&["test-connection", "--json", "-c"], &yaml);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(json["steps"][0]["name"], "ListBuckets");
    assert_eq!(json["steps"][0]["passed"], false);
    let msg = json["steps"][0]["message"].as_str().unwrap();
    assert!(
        msg.contains("Cannot reach the AWS endpoint") && msg.contains(&endpoint),
        "{msg}"
    );
    assert_eq!(json["steps"][1]["name"], "GetMetrics");
    assert_eq!(json["steps"][1]["passed"], false);
}

#[test]
fn ingest_stops_before_reading_on_a_failed_mandatory_step() {
    let lake = MotoLake::new();
    let missing = lake.name("ingest-missing");
    let run = lake.ingest(&lake.config(&[&missing], ""));
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("Failed to run the test connection step: ListBuckets"),
        "{}",
        run.stderr
    );
    assert!(
        run.catalog.is_empty(),
        "nothing is written: {:?}",
        run.catalog
    );
}

#[test]
fn the_openmetadata_step_runs_only_with_the_rest_sink() {
    let lake = MotoLake::new();
    let b = lake.name("tc-om");
    lake.bucket(&b);
    let yaml = lake
        .config(&[&b], "")
        .replace(
            "sink:\n  type: file\n  config:\n",
            "sink:\n  type: metadata-rest\n  config: {}\nunused:\n",
        )
        .lines()
        .filter(|l| !l.starts_with("    path: ") && *l != "unused:")
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    let run = lake.run(&["test-connection", "--json", "-c"], &yaml);
    // Port 9 (discard) refuses: the run would fail, so the test fails too.
    assert_eq!(run.code, 1, "{}\n{}\n{yaml}", run.stdout, run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(json["passed"], false);
    let steps = json["steps"].as_array().unwrap();
    let version = &steps[steps.len() - 2];
    assert_eq!(version["name"], "CheckOpenMetadataVersion");
    assert_eq!(version["mandatory"], true);
    assert_eq!(version["passed"], false);
    assert!(
        version["message"]
            .as_str()
            .unwrap()
            .contains("Cannot reach the OpenMetadata server"),
        "{version}"
    );
    let token = &steps[steps.len() - 1];
    assert_eq!(token["name"], "CheckOpenMetadataToken");
    assert_eq!(token["skipped"], true);
    assert_eq!(
        token["message"],
        "skipped: the server was not reached (see CheckOpenMetadataVersion)"
    );
    assert!(!run.stdout.contains("not-a-real-jwt-token"));
    assert!(!run.stderr.contains("not-a-real-jwt-token"));
}
