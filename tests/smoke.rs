//! The harness itself: a bucket with one parquet entry comes back as the expected catalog.
use crate::support::Lake;

#[test]
fn bucket_without_manifest_is_a_bucket_only_result() {
    let lake = Lake::new();
    lake.put("plain", "a/b.txt", "x");
    let run = lake.ingest(&lake.config("", ""));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.fqns(), vec!["svc.plain"]);
    let b = run.container("svc.plain");
    assert_eq!(b["prefix"], "/");
    assert_eq!(b["fullPath"], "s3://plain");
    assert_eq!(b["fileFormats"], serde_json::json!([]));
}
