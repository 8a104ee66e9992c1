//! Every entry kind of the spec's example manifests, against a lake the test writes and the
//! embedded S3 server, compared with FQNs and fields written here by hand.

use crate::support::{id_name_columns, parquet_id_name, Lake};
use pretty_assertions::assert_eq;
use serde_json::json;

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn example_lake() -> Lake {
    let lake = Lake::new();
    let pq = parquet_id_name();
    let b = "demo";
    lake.put(
        b,
        "openmetadata.json",
        include_str!("data/openmetadata.json"),
    );
    lake.put(b, "transactions/2024.csv", "id,amount\n1,2.5\n");
    lake.put(b, "transactions_old/x.csv", "id\n1\n");
    lake.put(b, "transactions_semicolon/t.csv", "id;amount\n1;2.5\n");
    lake.put(b, "cities/State=CA/part-0.parquet", &pq);
    lake.put(b, "cities/_SUCCESS", "");
    lake.put(b, "cities_multiple/Year=2024/State=CA/part-0.parquet", &pq);
    lake.put(b, "athena_service/db_a/t1/f.parquet", &pq);
    lake.put(b, "athena_service/db_a/t2/f.parquet", &pq);
    lake.put(b, "athena_service/db_b/t3/f.parquet", &pq);
    lake.put(b, "athena_service/db_b/t3/_temporary/0/x.parquet", &pq);
    lake.put(b, "events_json/e.json", "{\"a\": 1}\n");
    lake.put(b, "docs/solution.pdf", "%PDF-1.4 twelve");
    lake.put(b, "images/a.png", "png");
    lake.put(b, "images/sub/b.png", "png!");
    lake.put(b, "images/c.gif", "gif");
    lake.put(b, "images_old/z.png", "png");
    lake.put(b, "raw_drop/x.bin", "bin");
    lake.put(b, "raw_drop/_SUCCESS", "");
    lake
}

#[test]
fn example_manifest_produces_the_reference_containers_in_order() {
    let lake = example_lake();
    let run = lake.ingest(&lake.config("", ""));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.fqns(),
        s(&[
            "svc.demo",
            // structured pass, in manifest order
            "svc.demo.transactions",
            "svc.demo.transactions_semicolon",
            "svc.demo.cities",
            "svc.demo.cities_multiple",
            "svc.demo.athena_service/db_a/t1",
            "svc.demo.athena_service/db_a/t2",
            "svc.demo.athena_service/db_b/t3",
            "svc.demo.events_json",
            // unstructured pass
            "svc.demo.\"docs/solution.pdf\"",
            "svc.demo.images",
            "svc.demo.images.\"a.png\"",
            "svc.demo.images.sub",
            "svc.demo.images.sub.\"b.png\"",
            "svc.demo.raw_drop",
            "svc.demo.raw_drop.\"x.bin\"",
        ])
    );
    // The service line comes first.
    assert_eq!(run.catalog[0]["entity"], "storageService");
    assert_eq!(run.catalog[0]["fqn"], "svc");
}

#[test]
fn structured_containers_have_the_reference_fields() {
    let lake = example_lake();
    let run = lake.ingest(&lake.config("", ""));
    let t = run.container("svc.demo.transactions");
    assert_eq!(t["name"], "transactions");
    assert_eq!(t["service"], "svc");
    assert_eq!(t["parent"], json!({"type": "container", "fqn": "svc.demo"}));
    assert_eq!(t["prefix"], "/transactions");
    assert_eq!(t["fileFormats"], json!(["csv"]));
    assert_eq!(t["fullPath"], "s3://demo/transactions");
    assert_eq!(
        t["sourceUrl"],
        "https://s3.console.aws.amazon.com/s3/buckets/demo?region=us-east-1&prefix=transactions/&showversions=false"
    );
    assert_eq!(t["dataModel"]["isPartitioned"], false);
    assert!(t.get("size").is_none() && t.get("numberOfObjects").is_none());
    assert_eq!(t["sourceHash"].as_str().unwrap().len(), 32);

    let c = run.container("svc.demo.cities");
    assert_eq!(c["dataModel"]["isPartitioned"], true);
    assert_eq!(run.columns("svc.demo.cities"), id_name_columns());
    assert_eq!(c["dataModel"]["columns"][0]["displayName"], "id");
    assert_eq!(c["dataModel"]["columns"][0]["dataTypeDisplay"], "int64");

    // Declared partition columns come first, with their display and description, no displayName.
    let m = run.container("svc.demo.cities_multiple");
    let cols = m["dataModel"]["columns"].as_array().unwrap();
    assert_eq!(
        cols[0],
        json!({"name": "Year", "dataType": "DATE", "dataTypeDisplay": "date (year)", "description": "Partition year"})
    );
    assert_eq!(cols[1], json!({"name": "State", "dataType": "STRING"}));
    assert_eq!(cols.len(), 4);

    // Depth-discovered folders are direct children of the bucket.
    let d = run.container("svc.demo.athena_service/db_a/t1");
    assert_eq!(d["parent"]["fqn"], "svc.demo");
    assert_eq!(d["prefix"], "/athena_service/db_a/t1");
    assert_eq!(d["dataModel"]["isPartitioned"], true);
    assert_eq!(
        run.columns("svc.demo.athena_service/db_b/t3"),
        id_name_columns()
    );
}

#[test]
fn unstructured_containers_have_the_expected_fields() {
    let lake = example_lake();
    let run = lake.ingest(&lake.config("", ""));
    let pdf = run.container("svc.demo.\"docs/solution.pdf\"");
    assert_eq!(pdf["name"], "docs/solution.pdf");
    assert_eq!(pdf["parent"]["fqn"], "svc.demo");
    assert_eq!(pdf["prefix"], "/docs/solution.pdf");
    assert_eq!(pdf["size"], json!(15.0));
    assert_eq!(pdf["fileFormats"], json!([]));
    assert!(pdf.get("dataModel").is_none());
    assert_eq!(pdf["fullPath"], "s3://demo/docs/solution.pdf");

    let sub = run.container("svc.demo.images.sub");
    assert_eq!(sub["name"], "sub");
    assert_eq!(sub["parent"]["fqn"], "svc.demo.images");
    assert_eq!(sub["prefix"], "/images/sub");
    assert_eq!(sub["fullPath"], "s3://demo/images/sub");
    assert!(sub.get("size").is_none());

    let b = run.container("svc.demo.images.sub.\"b.png\"");
    assert_eq!(b["name"], "b.png");
    assert_eq!(b["parent"]["fqn"], "svc.demo.images.sub");
    assert_eq!(b["prefix"], "/images/sub/b.png");
    assert_eq!(b["size"], json!(4.0));
    assert_eq!(b["fullPath"], "s3://demo/images/sub/b.png");
}

fn glob_lake() -> Lake {
    let lake = Lake::new();
    let pq = parquet_id_name();
    let b = "globs";
    lake.put(
        b,
        "openmetadata.json",
        include_str!("data/openmetadata-glob.json"),
    );
    lake.put(b, "lake/events/year=2024/month=1/a.parquet", &pq);
    lake.put(b, "lake/events/year=2024/month=2/b.parquet", &pq);
    lake.put(b, "lake/events/_delta_log/00.parquet", &pq);
    lake.put(b, "lake/users/u.parquet", &pq);
    lake.put(b, "lake/users/_backup/old.parquet", &pq);
    lake.put(b, "lake/tmp/x.parquet", &pq);
    lake.put(b, "lake/root.parquet", &pq);
    lake.put(b, "exports/eu/daily/1.csv", "a|b\n1|2\n");
    lake.put(b, "exports/us/daily/2.csv", "a|b\n1|2\n");
    lake.put(b, "exports/us/weekly/3.csv", "a|b\n1|2\n");
    lake.put(b, "warehouse/sales/region=eu/dt=2024-01-01/p.parquet", &pq);
    lake.put(b, "media/a.jpg", "jpg");
    lake.put(b, "media/x/b.jpg", "jpeg");
    lake.put(b, "media/c.png", "png");
    lake.put(b, "archives/monthly_dump.zip", "PK not really");
    lake
}

#[test]
fn glob_manifest_groups_tables_and_detects_partitions() {
    let lake = glob_lake();
    let run = lake.ingest(&lake.config("", ""));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let archive = "svc.globs.\"archives/monthly_dump.zip\"";
    let fqns: Vec<String> = run
        .fqns()
        .into_iter()
        .filter(|f| !f.starts_with(&format!("{archive}.")))
        .collect();
    assert_eq!(
        fqns,
        s(&[
            "svc.globs",
            "svc.globs.lake/events",
            // a file directly under `lake/` has `lake` as its table root
            "svc.globs.lake",
            "svc.globs.lake/users",
            "svc.globs.exports/eu/daily",
            "svc.globs.exports/us/daily",
            "svc.globs.warehouse/sales",
            archive,
            "svc.globs.\"media/a.jpg\"",
            "svc.globs.\"media/x/b.jpg\"",
        ])
    );
    let events = run.container("svc.globs.lake/events");
    assert_eq!(events["dataModel"]["isPartitioned"], true);
    let mut expected = vec![
        ("year".to_string(), "INT".to_string()),
        ("month".into(), "INT".into()),
    ];
    expected.extend(id_name_columns());
    assert_eq!(run.columns("svc.globs.lake/events"), expected);
    assert_eq!(
        events["dataModel"]["columns"][0],
        json!({"name": "year", "dataType": "INT", "dataTypeDisplay": "INT"})
    );
    assert_eq!(events["fileFormats"], json!(["parquet"]));

    assert_eq!(
        run.container("svc.globs.lake/users")["dataModel"]["isPartitioned"],
        false
    );
    assert_eq!(run.columns("svc.globs.lake/users"), id_name_columns());

    let daily = run.container("svc.globs.exports/eu/daily");
    assert_eq!(daily["fileFormats"], json!(["csv"]));
    assert_eq!(daily["prefix"], "/exports/eu/daily");

    let sales = run.container("svc.globs.warehouse/sales");
    assert_eq!(sales["dataModel"]["isPartitioned"], true);
    let mut expected = vec![
        ("region".to_string(), "STRING".to_string()),
        ("dt".into(), "DATE".into()),
    ];
    expected.extend(id_name_columns());
    assert_eq!(run.columns("svc.globs.warehouse/sales"), expected);

    let a = run.container(archive);
    assert_eq!(a["prefix"], "/archives/monthly_dump.zip");
    assert_eq!(a["fileFormats"], json!([]));
    assert_eq!(a["parent"]["fqn"], "svc.globs");

    let jpg = run.container("svc.globs.\"media/x/b.jpg\"");
    assert_eq!(jpg["name"], "media/x/b.jpg");
    assert_eq!(jpg["size"], json!(4.0));
    assert_eq!(jpg["parent"]["fqn"], "svc.globs");
}

#[test]
fn a_literal_path_naming_a_file_finds_no_sample_and_warns() {
    let lake = Lake::new();
    lake.put(
        "bkt",
        "openmetadata.json",
        r#"{"entries": [{"dataPath": "single/file.csv", "structureFormat": "csv"}]}"#,
    );
    lake.put("bkt", "single/file.csv", "a\n1\n");
    let run = lake.ingest(&lake.config("", ""));
    assert_eq!(run.code, 0);
    assert_eq!(run.fqns(), s(&["svc.bkt"]));
    assert!(
        run.stdout
            .contains("No sample files found in single/file.csv/ with csv extension"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_invalid_bucket_name_fails_that_bucket_only() {
    let lake = Lake::new();
    lake.put("b", "x.csv", "a\n1\n");
    lake.put("good", "x.csv", "a\n1\n");
    let run = lake.ingest(&lake.config("", ""));
    assert!(
        run.fqns().contains(&"svc.good".to_string()),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
}

#[test]
fn an_unknown_format_fails_its_entry_but_not_the_bucket() {
    let lake = Lake::new();
    let pq = parquet_id_name();
    lake.put(
        "bkt",
        "openmetadata.json",
        r#"{"entries": [
            {"dataPath": "x", "structureFormat": "xml"},
            {"dataPath": "gz", "structureFormat": "csv.gz"},
            {"dataPath": "p", "structureFormat": "pq"}
        ]}"#,
    );
    lake.put("bkt", "x/a.xml", "<a/>");
    lake.put("bkt", "gz/a.csv.gz", "not really gzip");
    lake.put("bkt", "p/a.pq", &pq);
    let run = lake.ingest(&lake.config("", ""));
    // The xml entry is a failure; the others still produce containers, with mapped formats.
    assert!(
        run.fqns().contains(&"svc.bkt.p".to_string()),
        "{:?}\n{}\n{}",
        run.fqns(),
        run.stdout,
        run.stderr
    );
    assert_eq!(
        run.container("svc.bkt.p")["fileFormats"],
        json!(["parquet"])
    );
    assert!(
        run.stdout.contains("'xml' is not a valid SupportedTypes"),
        "{}",
        run.stdout
    );
    assert!(run.fqns().contains(&"svc.bkt.gz".to_string()) || run.stdout.contains("bkt/gz"));
}

#[test]
fn the_chosen_sample_and_the_keys_left_out_are_logged_at_debug() {
    let lake = Lake::new();
    lake.put("debug-log", "data/a.parquet", parquet_id_name());
    lake.put("debug-log", "data/_SUCCESS", "");
    lake.put("debug-log", "data/notes.txt", "x");
    lake.put(
        "debug-log",
        "openmetadata.json",
        r#"{"entries": [{"dataPath": "data", "structureFormat": "parquet"}]}"#,
    );
    let run = lake.ingest(&lake.config("", ""));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("sample file chosen"))
        .unwrap_or_else(|| panic!("no sample log:\n{}", run.stderr));
    assert!(line.contains("data/a.parquet"), "{line}");
    assert!(
        line.contains("among the files ending in .parquet"),
        "{line}"
    );
    assert!(
        line.contains("of 3 key(s) listed, 1 folder marker(s) or artifact(s) and 1 file(s) with another extension left out"),
        "{line}"
    );
}

#[test]
fn a_second_run_with_a_state_file_reads_no_unchanged_sample() {
    let lake = Lake::new();
    lake.put("second", "data/a.parquet", parquet_id_name());
    lake.put("second", "csv/a.csv", "x,y\n1,2\n");
    lake.put(
        "second",
        "openmetadata.json",
        r#"{"entries": [{"dataPath": "data", "structureFormat": "parquet"}, {"dataPath": "csv", "structureFormat": "csv"}]}"#,
    );
    let state = lake.dir.path().join("state/s3meta-state.json");
    let yaml = lake.config("", "")
        + &format!(
            "s3meta:\n  bucketMetrics: false\n  stateFile: {}\n",
            state.display()
        );
    let bytes_read = |run: &crate::support::Run| {
        run.stdout
            .lines()
            .find_map(|l| l.strip_prefix("Bytes read from S3: "))
            .unwrap()
            .to_string()
    };
    let first = lake.ingest(&yaml);
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    assert!(state.exists());
    let second = lake.ingest(&yaml);
    assert_eq!(second.code, 0, "{}\n{}", second.stdout, second.stderr);
    // The same catalog, and only the manifest read (no sample).
    assert_eq!(first.catalog, second.catalog);
    let manifest_len = std::fs::metadata(lake.root.join("second/openmetadata.json"))
        .unwrap()
        .len();
    assert_eq!(
        bytes_read(&second),
        format!("{manifest_len} B"),
        "{}",
        second.stdout
    );

    // A changed file is read again, and its new columns published.
    lake.put("second", "csv/a.csv", "x,y,z\n1,2,3\n");
    let third = lake.ingest(&yaml);
    assert_ne!(bytes_read(&third), format!("{manifest_len} B"));
    let csv = third.container("svc.second.csv");
    assert_eq!(csv["dataModel"]["columns"].as_array().unwrap().len(), 3);
}

/// A sample rewritten to the same size with the same modification time (what a rewrite
/// within the same second looks like in a listing) is read again on the next run, because
/// its ETag changed. bench-s3 is the server here: s3s-fs lists no ETags, and bench-s3 keeps
/// whatever modification time the test gives an object.
#[test]
fn a_sample_rewritten_to_the_same_size_and_time_is_read_again_for_its_etag() {
    use bench_s3::shaping::Shape;
    use bench_s3::store::{Object, Store};
    let store = Store::default();
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
    let put = |key: &str, body: &str| {
        let mut o = Object::new(bytes::Bytes::from(body.to_string()));
        o.last_modified = at;
        store.put("rewrites", key.to_string(), o);
    };
    let manifest = r#"{"entries": [{"dataPath": "csv", "structureFormat": "csv"}]}"#;
    put("openmetadata.json", manifest);
    put("csv/a.csv", "x,y\n1,2\n");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(bench_s3::serve(
            store.clone(),
            Shape {
                latency: std::time::Duration::ZERO,
                slowdown_rps: None,
            },
            "ak",
            "sk",
            0,
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.jsonl");
    let state = dir.path().join("state/s3meta-state.json");
    let yaml = format!(
        "source:\n  type: s3\n  serviceName: svc\n  serviceConnection:\n    config:\n      type: S3\n      awsConfig:\n        awsRegion: us-east-1\n        awsAccessKeyId: ak\n        awsSecretAccessKey: sk\n        endPointURL: {}\n      bucketNames: [rewrites]\n  sourceConfig:\n    config:\n      type: StorageMetadata\nsink:\n  type: file\n  config:\n    path: {}\nworkflowConfig:\n  loggerLevel: INFO\ns3meta:\n  bucketMetrics: false\n  stateFile: {}\n",
        server.endpoint(),
        catalog.display(),
        state.display()
    );
    let ingest = || crate::support::run_binary(dir.path(), &["ingest", "-c"], &yaml, &catalog);
    let bytes_read = |run: &crate::support::Run| {
        run.stdout
            .lines()
            .find_map(|l| l.strip_prefix("Bytes read from S3: "))
            .unwrap_or_else(|| panic!("no bytes line:\n{}", run.stdout))
            .to_string()
    };
    let manifest_only = format!("{} B", manifest.len());
    let columns = |run: &crate::support::Run| -> Vec<String> {
        run.container("svc.rewrites.csv")["dataModel"]["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    };

    let first = ingest();
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    assert_eq!(columns(&first), s(&["x", "y"]));
    assert!(
        std::fs::read_to_string(&state)
            .unwrap()
            .contains("\"etag\""),
        "the state keeps the listing's ETag"
    );
    // Unchanged: only the manifest is read.
    let second = ingest();
    assert_eq!(second.code, 0, "{}\n{}", second.stdout, second.stderr);
    assert_eq!(bytes_read(&second), manifest_only, "{}", second.stdout);

    // Same key, same size, same time, other bytes: read again, new columns published.
    put("csv/a.csv", "a,b\n3,4\n");
    let third = ingest();
    assert_eq!(third.code, 0, "{}\n{}", third.stdout, third.stderr);
    assert_ne!(bytes_read(&third), manifest_only, "{}", third.stdout);
    assert_eq!(columns(&third), s(&["a", "b"]));
    // And the catalog carries no ETag.
    let text = std::fs::read_to_string(&catalog).unwrap();
    assert!(!text.to_lowercase().contains("etag"), "{text}");
    drop(server);
}
