//! S3 faults survived: a run through the fault-injecting proxy (503 SlowDown, 500, dropped
//! connections on a seeded share of requests) still produces every container, and the
//! summary counts the retries. Also: an S3-compatible store without CloudWatch (the
//! embedded s3s server) gives zeros and one warning, not one per bucket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{proxy, Lake};
use arrow_array::{ArrayRef, Int64Array, RecordBatch};
use pretty_assertions::assert_eq;
use std::sync::atomic::Ordering;
use std::sync::Arc;

fn parquet() -> Vec<u8> {
    let batch = RecordBatch::try_from_iter(vec![(
        "id",
        Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef,
    )])
    .unwrap();
    let mut buf = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    buf
}

/// `S3 requests: N, retries: M` from the summary.
fn counts(stdout: &str) -> (u64, u64) {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("S3 requests: "))
        .unwrap_or_else(|| panic!("no request count in\n{stdout}"));
    let nums: Vec<u64> = line["S3 requests: ".len()..]
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    (nums[0], nums[1])
}

fn lake() -> Lake {
    let lake = Lake::new();
    let mut manifest = String::from("{\"entries\": [");
    for t in 0..8 {
        if t > 0 {
            manifest.push(',');
        }
        manifest.push_str(&format!(
            "{{\"dataPath\": \"t{t}\", \"structureFormat\": \"parquet\"}}"
        ));
        lake.put("faulty", &format!("t{t}/part-0.parquet"), parquet());
    }
    manifest.push_str(", {\"dataPath\": \"docs\", \"unstructuredFormats\": [\"pdf\"]}]}");
    lake.put("faulty", "openmetadata.json", manifest);
    for d in 0..4 {
        lake.put("faulty", &format!("docs/d{d}.pdf"), "pdf");
    }
    lake.put("second", "x.txt", "x");
    lake
}

fn expected_fqns() -> Vec<String> {
    let mut v = vec!["svc.faulty".to_string()];
    v.extend((0..8).map(|t| format!("svc.faulty.t{t}")));
    v.push("svc.faulty.docs".into());
    v.extend((0..4).map(|d| format!("svc.faulty.docs.\"d{d}.pdf\"")));
    v.push("svc.second".into());
    v
}

#[test]
fn a_run_through_faults_produces_every_container_and_counts_retries() {
    let lake = lake();
    let clean = lake.ingest(&(lake.config("", "") + "s3meta:\n  bucketMetrics: false\n"));
    assert_eq!(clean.code, 0, "{}\n{}", clean.stdout, clean.stderr);
    let mut want = expected_fqns();
    want.sort();
    let mut got = clean.fqns();
    got.sort();
    assert_eq!(got, want);
    let (clean_requests, clean_retries) = counts(&clean.stdout);
    assert_eq!(clean_retries, 0);

    // ~30 % of requests faulted, each distinct request at most twice; 5 attempts get through.
    let proxy = lake.block_on(proxy::start(&lake.endpoint(), 7, 30));
    let yaml = lake
        .config("", "")
        .replace(&lake.endpoint(), &proxy.endpoint())
        + "s3meta:\n  bucketMetrics: false\n  maxAttempts: 5\n";
    let run = lake.ingest(&yaml);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let mut got = run.fqns();
    got.sort();
    assert_eq!(got, want, "{}", run.stdout);
    let containers = |r: &crate::support::Run| -> Vec<serde_json::Value> {
        r.catalog
            .iter()
            .filter(|l| l["entity"] == "container")
            .cloned()
            .collect()
    };
    assert_eq!(
        containers(&run),
        containers(&clean),
        "the same containers with and without faults"
    );

    let faults = proxy.counts.faults();
    assert!(faults > 0, "the proxy injected faults");
    assert!(proxy.counts.slow_down.load(Ordering::Relaxed) > 0);
    assert!(proxy.counts.internal.load(Ordering::Relaxed) > 0);
    assert!(proxy.counts.dropped.load(Ordering::Relaxed) > 0);
    let (requests, retries) = counts(&run.stdout);
    assert_eq!(requests, clean_requests, "the same requests");
    // Every fault (test-connection steps included: they share the counted client) costs
    // exactly one retry.
    eprintln!("{requests} requests, {faults} faults injected, {retries} retries counted");
    assert_eq!(retries, faults, "one retry per injected fault");
}

#[test]
fn without_retries_faults_are_reported_not_hidden() {
    let lake = lake();
    let proxy = lake.block_on(proxy::start(&lake.endpoint(), 11, 50));
    let yaml = lake
        .config("", "")
        .replace(&lake.endpoint(), &proxy.endpoint())
        + "s3meta:\n  bucketMetrics: false\n  maxAttempts: 1\n";
    let run = lake.ingest(&yaml);
    // Either ListBuckets failed (exit 1, named) or the run reports failures or warnings.
    if run.code == 1 && run.stderr.contains("test connection step") {
        return;
    }
    assert!(
        run.stdout.contains("Failures") || run.stdout.contains("Warnings"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(counts(&run.stdout).1, 0, "maxAttempts 1 never retries");
}

#[test]
fn a_store_without_cloudwatch_gives_zeros_and_one_warning() {
    let lake = lake();
    let run = lake.ingest(&lake.config("", ""));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    for b in ["svc.faulty", "svc.second"] {
        assert_eq!(run.container(b)["numberOfObjects"], serde_json::json!(0.0));
        assert_eq!(run.container(b)["size"], serde_json::json!(0.0));
    }
    let warnings: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains("[CloudWatch]"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", run.stdout);
    assert_eq!(
        warnings[0],
        "  - [CloudWatch] unavailable, so numberOfObjects and size are sent as 0 for every bucket: CloudWatch refused the call (for a store without CloudWatch, set s3meta.bucketMetrics: false). Error: HTTP 501 NotImplemented: unknown service 'monitoring' in credential scope; expected 's3' or 'sts'"
    );
    // Said once: not also logged as a failed test-connection step.
    assert!(!run.stderr.contains("GetMetrics"), "{}", run.stderr);
}

/// Eight globs under one prefix on bench-s3 answering SlowDown above three requests a second
/// per prefix: their listings arrive together, over the rate (the other requests, location
/// and manifest, stay under it on their own prefixes). Runs `ingest` with `options` added
/// under `s3meta:` and returns the run and its catalog.
fn ingest_throttled_globs(options: &str) -> (crate::support::Run, String) {
    use bench_s3::shaping::Shape;
    use bench_s3::store::{Object, Store};
    let store = Store::default();
    let put = |key: &str, body: &str| {
        store.put(
            "throttled",
            key.to_string(),
            Object::new(bytes::Bytes::from(body.to_string())),
        )
    };
    let dirs = ["a", "b", "c", "d", "e", "f", "g", "h"];
    let entries: Vec<String> = dirs
        .iter()
        .map(|d| format!(r#"{{"dataPath": "events/{d}/*.json", "structureFormat": "json"}}"#))
        .collect();
    put(
        "openmetadata.json",
        &format!(r#"{{"entries": [{}]}}"#, entries.join(", ")),
    );
    for d in dirs {
        put(&format!("events/{d}/x.json"), "{\"n\": 1}\n");
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(bench_s3::serve(
            store,
            Shape {
                latency: std::time::Duration::ZERO,
                slowdown_rps: Some(3),
            },
            "ak",
            "sk",
            0,
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.jsonl");
    let yaml = format!(
        "source:\n  type: s3\n  serviceName: svc\n  serviceConnection:\n    config:\n      type: S3\n      awsConfig:\n        awsRegion: us-east-1\n        awsAccessKeyId: ak\n        awsSecretAccessKey: sk\n        endPointURL: {}\n      bucketNames: [throttled]\n  sourceConfig:\n    config:\n      type: StorageMetadata\nsink:\n  type: file\n  config:\n    path: {}\nworkflowConfig:\n  loggerLevel: INFO\ns3meta:\n  bucketMetrics: false\n{options}",
        server.endpoint(),
        catalog.display()
    );
    let run = crate::support::run_binary(dir.path(), &["ingest", "-c"], &yaml, &catalog);
    let written = std::fs::read_to_string(&catalog).unwrap_or_default();
    drop(server);
    (run, written)
}

/// A request the server keeps refusing (one attempt per request asked for: a glob's
/// listing or a sample's GET) is a failure of the run, never a silently missing container: the bucket then counts as
/// incomplete, so nothing under it could be marked deleted, and the exit code follows
/// successThreshold.
#[test]
fn a_glob_listing_refused_by_slow_down_is_a_failure_not_a_warning() {
    let (run, _) = ingest_throttled_globs("  maxAttempts: 1\n");
    let failures = run
        .stdout
        .split("Failures (S3):")
        .nth(1)
        .unwrap_or_default()
        .split("Warnings")
        .next()
        .unwrap_or_default()
        .to_string();
    // Which request meets the refusal (a glob's listing, a sample's GET) depends on timing;
    // whichever it is, it is a failure naming the throttling.
    assert!(
        failures.contains("throttled: SlowDown"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
}

/// With the default attempts, the same SlowDown answers cost time, not containers: they
/// shrink the run's budget of requests in flight, the refused listings are tried again
/// after a backoff, every glob's container is written and the summary counts the throttled
/// answers.
#[test]
fn slow_down_answers_shrink_the_request_budget_instead_of_failing_containers() {
    let (run, catalog) = ingest_throttled_globs("");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("Failures (S3)"), "{}", run.stdout);
    for d in ["a", "b", "c", "d", "e", "f", "g", "h"] {
        assert!(
            catalog.contains(&format!("\"fqn\":\"svc.throttled.events/{d}\"")),
            "events/{d} missing:\n{catalog}"
        );
    }
    assert!(
        run.stdout.contains("answered throttled)"),
        "the throttled answers are counted:\n{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("requests in flight cut to"),
        "the budget was cut:\n{}",
        run.stderr
    );
}
