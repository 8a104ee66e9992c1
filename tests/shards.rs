//! `--shard I/N`: shards together produce exactly the containers of one unsharded run.

use crate::support::{parquet_id_name, run_binary, Lake};

#[test]
fn shards_together_equal_one_unsharded_run() {
    let lake = Lake::new();
    let pq = parquet_id_name();
    let manifest = r#"{"entries": [{"dataPath": "t", "structureFormat": "parquet"}]}"#;
    for i in 0..8 {
        let b = format!("bucket-{i}");
        lake.put(&b, "openmetadata.json", manifest);
        lake.put(&b, "t/a.parquet", &pq);
    }
    let yaml = lake.config("", "");
    let whole = lake.ingest(&yaml);
    assert_eq!(whole.code, 0, "{}", whole.stderr);
    let mut all: Vec<String> = whole.fqns();
    all.sort();
    assert_eq!(all.len(), 16);

    let mut union = Vec::new();
    for i in 0..3 {
        let shard = format!("{i}/3");
        let run = run_binary(
            lake.dir.path(),
            &["ingest", "--shard", &shard, "-c"],
            &yaml,
            &lake.catalog_path(),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        union.extend(run.fqns());
    }
    union.sort();
    assert_eq!(union, all, "every container exactly once across the shards");
}

#[test]
fn a_bad_shard_is_a_usage_error() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_s3meta"))
        .args(["ingest", "--shard", "3/3", "-c", "x.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 <= I < N"));
}
