//! Ingestion against moto: CloudWatch metrics on bucket containers, bucket and object tags,
//! and the foundation's ingest behaviour on a second S3 implementation (keys with spaces and
//! `//`, which s3s-fs cannot hold).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::moto::MotoLake;
use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use pretty_assertions::assert_eq;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

fn parquet(columns: Vec<(&str, ArrayRef)>) -> Vec<u8> {
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let mut buf = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    buf
}

fn orders() -> Vec<u8> {
    parquet(vec![
        ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
        (
            "city",
            Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef,
        ),
    ])
}

#[test]
fn cloudwatch_metrics_come_back_on_the_bucket_container() {
    let lake = MotoLake::new();
    let b = lake.name("metrics");
    lake.bucket(&b).put(&b, "x.txt", "x");
    // Older and newer points: the newest wins, truncated to an integer.
    lake.put_metric(
        "us-east-1",
        &b,
        "NumberOfObjects",
        7.0,
        Duration::from_secs(3 * 3600),
    );
    lake.put_metric(
        "us-east-1",
        &b,
        "NumberOfObjects",
        42.9,
        Duration::from_secs(600),
    );
    lake.put_metric(
        "us-east-1",
        &b,
        "BucketSizeBytes",
        123456.7,
        Duration::from_secs(600),
    );
    let run = lake.ingest(&lake.config(&[&b], ""));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let c = run.container(&format!("svc.{b}"));
    assert_eq!(c["numberOfObjects"], json!(42.0));
    assert_eq!(c["size"], json!(123456.0));
    assert!(!run.stdout.contains("no CloudWatch data"), "{}", run.stdout);
}

#[test]
fn a_bucket_without_metrics_gets_zero_and_a_note() {
    let lake = MotoLake::new();
    let b = lake.name("nometrics");
    lake.bucket(&b);
    let run = lake.ingest(&lake.config(&[&b], ""));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let c = run.container(&format!("svc.{b}"));
    assert_eq!(c["numberOfObjects"], json!(0.0));
    assert_eq!(c["size"], json!(0.0));
    assert!(
        run.stdout.contains("no CloudWatch data") && run.stdout.contains("unknown"),
        "{}",
        run.stdout
    );
}

#[test]
fn metrics_of_a_bucket_in_another_region_are_asked_in_that_region() {
    let lake = MotoLake::new();
    let b = lake.name("euro");
    lake.bucket_in(&b, "eu-west-1");
    lake.put_metric(
        "eu-west-1",
        &b,
        "NumberOfObjects",
        5.0,
        Duration::from_secs(600),
    );
    lake.put_metric(
        "eu-west-1",
        &b,
        "BucketSizeBytes",
        2048.0,
        Duration::from_secs(600),
    );
    let run = lake.ingest(&lake.config(&[&b], ""));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let c = run.container(&format!("svc.{b}"));
    assert_eq!(c["numberOfObjects"], json!(5.0));
    assert_eq!(c["size"], json!(2048.0));
    assert!(c["sourceUrl"]
        .as_str()
        .unwrap()
        .contains("region=eu-west-1"));
}

#[test]
fn metrics_can_be_turned_off() {
    let lake = MotoLake::new();
    let b = lake.name("off");
    lake.bucket(&b);
    lake.put_metric(
        "us-east-1",
        &b,
        "NumberOfObjects",
        9.0,
        Duration::from_secs(600),
    );
    let yaml = lake.config(&[&b], "") + "s3meta:\n  bucketMetrics: false\n";
    let run = lake.ingest(&yaml);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.container(&format!("svc.{b}"))["numberOfObjects"],
        json!(0.0)
    );
    assert!(!run.stdout.contains("CloudWatch"), "{}", run.stdout);
}

#[test]
fn tags_go_on_the_bucket_and_on_unstructured_leaf_files_only() {
    let lake = MotoLake::new();
    let b = lake.name("tagged");
    lake.bucket(&b)
        .put(
            &b,
            "openmetadata.json",
            r#"{"entries": [
                {"dataPath": "images", "unstructuredFormats": ["png"]},
                {"dataPath": "docs/solution.pdf"},
                {"dataPath": "sales", "structureFormat": "parquet"}
            ]}"#,
        )
        .put(&b, "images/a.png", "png")
        .put(&b, "images/b.png", "png")
        .put(&b, "docs/solution.pdf", "pdf")
        .put(&b, "sales/part-0.parquet", orders())
        .tag_bucket(&b, &[("team", "data"), ("empty", " "), ("env", "prod.eu")])
        .tag_object(&b, "images/a.png", &[("pii", "none")])
        .tag_object(&b, "docs/solution.pdf", &[("pii", "high")])
        .tag_object(&b, "sales/part-0.parquet", &[("pii", "high")]);
    let run = lake.ingest(&lake.config(&[&b], "includeTags: true\n"));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let label = |fqn: &str| json!({"tagFQN": fqn, "source": "Classification", "labelType": "Automated", "state": "Suggested"});
    let bucket = run.container(&format!("svc.{b}"));
    let mut tags = bucket["tags"].as_array().unwrap().clone();
    tags.sort_by_key(|t| t["tagFQN"].as_str().unwrap().to_string());
    // Blank values are skipped; a value with a dot is quoted in the FQN.
    assert_eq!(tags, vec![label("env.\"prod.eu\""), label("team.data")]);
    assert_eq!(
        run.container(&format!("svc.{b}.images.\"a.png\""))["tags"],
        json!([label("pii.none")])
    );
    // b.png has no tag set at all (NoSuchTagSet): no tags, no warning.
    assert!(run
        .container(&format!("svc.{b}.images.\"b.png\""))
        .get("tags")
        .is_none_or(|t| t == &json!([])));
    for other in [
        format!("svc.{b}.\"docs/solution.pdf\""),
        format!("svc.{b}.sales"),
    ] {
        let c = run.container(&other);
        assert!(
            c.get("tags").is_none_or(|t| t == &json!([])),
            "{other} must carry no tags: {c}"
        );
    }
    assert!(!run.stdout.contains("tags"), "{}", run.stdout);
}

#[test]
fn tags_are_not_read_without_include_tags() {
    let lake = MotoLake::new();
    let b = lake.name("untagged");
    lake.bucket(&b).tag_bucket(&b, &[("team", "data")]);
    let run = lake.ingest(&lake.config(&[&b], ""));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let c = run.container(&format!("svc.{b}"));
    assert!(c.get("tags").is_none_or(|t| t == &json!([])), "{c}");
}

#[test]
fn the_foundation_ingest_runs_on_moto_with_spaces_and_double_slashes() {
    let lake = MotoLake::new();
    let b = lake.name("lake");
    let plain = lake.name("plain");
    lake.bucket(&b)
        .bucket(&plain)
        .put(&plain, "a/b.txt", "x")
        .put(
            &b,
            "openmetadata.json",
            r#"{"entries": [
                {"dataPath": "sales data", "structureFormat": "parquet"},
                {"dataPath": "raw", "structureFormat": "csv", "separator": ","},
                {"dataPath": "events/*/*.parquet", "structureFormat": "parquet"},
                {"dataPath": "media", "unstructuredFormats": ["jpg"]}
            ]}"#,
        )
        .put(&b, "sales data/part 0.parquet", orders())
        .put(&b, "raw/one.csv", "id,city\n1,a\n")
        .put(&b, "events/click/p.parquet", orders())
        .put(&b, "events/view/p.parquet", orders())
        .put(&b, "media/x y.jpg", "jpg")
        .put(&b, "media//double.jpg", "jpg")
        .put(&b, "media/sub/z.jpg", "jpg");
    let run = lake.ingest(&lake.config(&[&b, &plain], ""));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let fqns = run.fqns();
    for want in [
        format!("svc.{b}"),
        format!("svc.{b}.sales data"),
        format!("svc.{b}.raw"),
        format!("svc.{b}.events/click"),
        format!("svc.{b}.events/view"),
        format!("svc.{b}.media"),
        format!("svc.{b}.media.\"x y.jpg\""),
        format!("svc.{b}.media.sub"),
        format!("svc.{b}.media.sub.\"z.jpg\""),
        format!("svc.{plain}"),
    ] {
        assert!(fqns.contains(&want), "missing {want} in {fqns:#?}");
    }
    assert_eq!(
        run.columns(&format!("svc.{b}.sales data")),
        vec![
            ("id".to_string(), "INT".to_string()),
            ("city".to_string(), "STRING".to_string())
        ]
    );
    // The `//` key is an object of its own on moto, never merged into `media/double.jpg`;
    // its empty folder segment cannot be an entity name, which the summary reports.
    assert!(
        !fqns.contains(&format!("svc.{b}.media.\"double.jpg\"")),
        "{fqns:#?}"
    );
    println!("{}", run.stdout);
    assert_eq!(
        run.container(&format!("svc.{b}.sales data"))["fullPath"],
        json!(format!("s3://{b}/sales data"))
    );
    // Every container line is followed by the summary's request count.
    assert!(run.stdout.contains("S3 requests: "), "{}", run.stdout);
}
