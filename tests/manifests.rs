//! Manifest sources and their precedence (reference §4): global (local file, S3, HTTP) →
//! the bucket's `openmetadata.json` → `defaultManifest`; invalid and missing manifests.

use crate::support::{indent, parquet_id_name, Lake, ACCESS_KEY, SECRET_KEY};
use pretty_assertions::assert_eq;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// ListBuckets order is the server's (s3s-fs lists directories unsorted): compare as sets,
/// after checking that every parent comes before its children.
fn sorted(fqns: Vec<String>) -> Vec<String> {
    for (i, f) in fqns.iter().enumerate() {
        if let Some((parent, _)) = f.rsplit_once('.') {
            if parent.contains('.') {
                assert!(
                    fqns[..i].iter().any(|p| p == parent),
                    "{f} before its parent in {fqns:?}"
                );
            }
        }
    }
    let mut v = fqns;
    v.sort();
    v
}

const GLOBAL: &str = r#"{"entries": [
  {"containerName": "alpha", "dataPath": "from_global", "structureFormat": "parquet"}
]}"#;

/// Four buckets: `alpha` is named by the global manifest (its own manifest must be ignored),
/// `beta` has its own manifest, `gamma` only a defaultManifest entry, `delta` nothing.
fn precedence_lake() -> Lake {
    let lake = Lake::new();
    let pq = parquet_id_name();
    for b in ["alpha", "beta", "gamma", "delta"] {
        lake.put(b, "from_global/a.parquet", &pq);
        lake.put(b, "from_bucket/a.parquet", &pq);
        lake.put(b, "from_default/a.parquet", &pq);
    }
    let own = r#"{"entries": [{"dataPath": "from_bucket", "structureFormat": "parquet"}]}"#;
    lake.put("alpha", "openmetadata.json", own);
    lake.put("beta", "openmetadata.json", own);
    lake
}

const DEFAULT_MANIFEST: &str = "defaultManifest: '{\"entries\": [{\"containerName\": \"gamma\", \"dataPath\": \"from_default\", \"structureFormat\": \"parquet\"}, {\"containerName\": \"beta\", \"dataPath\": \"from_default\", \"structureFormat\": \"parquet\"}]}'\n";

fn expected_precedence() -> Vec<String> {
    s(&[
        "svc.alpha",
        "svc.alpha.from_global",
        "svc.beta",
        "svc.beta.from_bucket",
        "svc.delta",
        "svc.gamma",
        "svc.gamma.from_default",
    ])
}

#[test]
fn global_manifest_from_a_local_file_wins_then_bucket_then_default() {
    let lake = precedence_lake();
    let path = lake.dir.path().join("global.json");
    std::fs::write(&path, GLOBAL).unwrap();
    let pipeline = format!(
        "storageMetadataConfigSource:\n  manifestFilePath: {}\n{DEFAULT_MANIFEST}",
        path.display()
    );
    let run = lake.ingest(&lake.config("", &pipeline));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(sorted(run.fqns()), expected_precedence());
}

#[test]
fn global_manifest_from_s3_with_its_own_credentials() {
    let lake = precedence_lake();
    lake.put(
        "manifests",
        "config/openmetadata_storage_manifest.json",
        GLOBAL,
    );
    let pipeline = format!(
        "storageMetadataConfigSource:\n  securityConfig:\n    awsRegion: us-east-1\n    awsAccessKeyId: {ACCESS_KEY}\n    awsSecretAccessKey: {SECRET_KEY}\n    endPointURL: {}\n  prefixConfig:\n    containerName: manifests\n    objectPrefix: config\n{DEFAULT_MANIFEST}",
        lake.endpoint()
    );
    let run = lake.ingest(&lake.config("bucketNames: [alpha, beta, delta, gamma]\n", &pipeline));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(sorted(run.fqns()), expected_precedence());
}

/// Serves `body` with `status` to every request, on a loopback port; returns the URL.
fn http_server(status: &'static str, body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}/openmetadata_storage_manifest.json")
}

#[test]
fn global_manifest_over_http() {
    let lake = precedence_lake();
    let url = http_server("200 OK", GLOBAL);
    let pipeline =
        format!("storageMetadataConfigSource:\n  manifestHttpPath: {url}\n{DEFAULT_MANIFEST}");
    let run = lake.ingest(&lake.config("", &pipeline));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(sorted(run.fqns()), expected_precedence());
}

/// Answers every request with a `Content-Length` of 1 GiB and a few bytes, then waits: a
/// reader that trusted the length (or read to the end) would hang or allocate 1 GiB.
fn huge_http_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{{\"entries\": [",
                    1u64 << 30
                );
                std::thread::sleep(std::time::Duration::from_secs(30));
            });
        }
    });
    format!("http://{addr}/openmetadata_storage_manifest.json")
}

#[test]
fn a_global_manifest_over_the_cap_is_refused_before_its_body_is_read() {
    let lake = precedence_lake();
    let url = huge_http_server();
    let pipeline = format!("storageMetadataConfigSource:\n  manifestHttpPath: {url}\n");
    let started = std::time::Instant::now();
    let run = lake.ingest(&lake.config("", &pipeline));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("is larger than the 16777216-byte limit (s3meta.maxManifestBytes)"),
        "{}",
        run.stdout
    );
    assert!(started.elapsed().as_secs() < 20, "waited for the body");

    // A local file of 1 GiB (sparse): refused by its size, nothing read.
    let path = lake.dir.path().join("huge.json");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let pipeline = format!(
        "storageMetadataConfigSource:\n  manifestFilePath: {}\n",
        path.display()
    );
    let run = lake.ingest(&lake.config("", &pipeline));
    assert!(
        run.stdout
            .contains("huge.json is larger than the 16777216-byte limit"),
        "{}",
        run.stdout
    );
    // The buckets' own manifests still apply.
    assert!(run.fqns().contains(&"svc.beta.from_bucket".to_string()));
}

#[test]
fn a_manifest_with_a_utf8_byte_order_mark_is_read() {
    let lake = Lake::new();
    lake.put("bom", "data/a.parquet", parquet_id_name());
    lake.put(
        "bom",
        "openmetadata.json",
        "\u{feff}{\"entries\": [{\"dataPath\": \"data\", \"structureFormat\": \"parquet\"}]}",
    );
    let run = lake.ingest(&lake.config("", ""));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.fqns(), s(&["svc.bom", "svc.bom.data"]));
}

#[test]
fn a_glob_that_matches_nothing_warns_as_a_literal_path_does() {
    let lake = Lake::new();
    lake.put("globs", "data/a.parquet", parquet_id_name());
    lake.put(
        "globs",
        "openmetadata.json",
        r#"{"entries": [{"dataPath": "data/*.csv", "structureFormat": "csv"}]}"#,
    );
    let run = lake.ingest(&lake.config("", ""));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("No files matched the glob data/*.csv (1 key(s) listed under `data/`)"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
}

#[test]
fn an_unavailable_global_manifest_is_a_warning_and_the_run_goes_on() {
    let lake = precedence_lake();
    let url = http_server("404 Not Found", "{}");
    let pipeline = format!("storageMetadataConfigSource:\n  manifestHttpPath: {url}\n");
    let run = lake.ingest(&lake.config("", &pipeline));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("Could not get global manifest"),
        "{}",
        run.stdout
    );
    // Without it, alpha and beta use their own manifests.
    assert_eq!(
        sorted(run.fqns()),
        s(&[
            "svc.alpha",
            "svc.alpha.from_bucket",
            "svc.beta",
            "svc.beta.from_bucket",
            "svc.delta",
            "svc.gamma"
        ])
    );
}

#[test]
fn an_invalid_bucket_manifest_is_a_warning_naming_bucket_and_position() {
    let lake = Lake::new();
    lake.put(
        "broken",
        "openmetadata.json",
        "{\n  \"entries\": [\n    {\"dataPath\": \"a\",}\n  ]\n}",
    );
    lake.put(
        "wrongtype",
        "openmetadata.json",
        r#"{"entries": [{"dataPath": "a", "partitionColumns": [{"name": "x", "dataType": "string"}]}]}"#,
    );
    lake.put(
        "extra-key",
        "openmetadata.json",
        r#"{"entries": [], "version": 2}"#,
    );
    let run = lake.ingest(&lake.config("", ""));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // Each bucket still gets its bucket container, and nothing else.
    assert_eq!(
        sorted(run.fqns()),
        s(&["svc.broken", "svc.extra-key", "svc.wrongtype"])
    );
    assert!(
        run.stdout
            .contains("[broken/openmetadata.json] invalid manifest: invalid JSON at line 3"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("entries[0].partitionColumns[0].dataType"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("[extra-key/openmetadata.json]"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_invalid_default_manifest_is_one_warning() {
    let lake = Lake::new();
    lake.bucket("plain");
    let pipeline = "defaultManifest: '{\"entries\": [{\"dataPath\": \"no-container-name\"}]}'\n";
    let run = lake.ingest(&lake.config("", pipeline));
    assert_eq!(run.code, 0);
    assert_eq!(run.fqns(), s(&["svc.plain"]));
    assert!(
        run.stdout
            .contains("[defaultManifest] invalid defaultManifest"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("containerName"), "{}", run.stdout);
}

#[test]
fn empty_entries_fall_through_to_the_default_manifest() {
    let lake = Lake::new();
    lake.put("gamma", "openmetadata.json", r#"{"entries": []}"#);
    lake.put("gamma", "from_default/a.parquet", parquet_id_name());
    let run = lake.ingest(&lake.config("", DEFAULT_MANIFEST));
    assert_eq!(run.fqns(), s(&["svc.gamma", "svc.gamma.from_default"]));
}

#[test]
fn bucket_names_skip_listing_and_filters() {
    let lake = Lake::new();
    for b in ["keep-me", "tmp-bucket", "other"] {
        lake.bucket(b);
    }
    let filter = "containerFilterPattern:\n  includes: [keep]\n";
    // With ListBuckets the filter applies to bucket names…
    let run = lake.ingest(&lake.config("", filter));
    assert_eq!(run.fqns(), s(&["svc.keep-me"]));
    assert!(
        run.stdout.contains("[other] Bucket Filtered Out"),
        "{}",
        run.stdout
    );
    // …with bucketNames it does not, and the order is the configured one.
    let run = lake.ingest(&lake.config("bucketNames: [tmp-bucket, keep-me]\n", filter));
    assert_eq!(run.fqns(), s(&["svc.tmp-bucket", "svc.keep-me"]));
}

#[test]
fn the_filter_applies_to_entry_paths_too() {
    let lake = Lake::new();
    let pq = parquet_id_name();
    lake.put(
        "data-bucket",
        "openmetadata.json",
        r#"{"entries": [
            {"dataPath": "data-sales", "structureFormat": "parquet"},
            {"dataPath": "tmp_scratch", "structureFormat": "parquet"},
            {"dataPath": "_SUCCESS"}
        ]}"#,
    );
    lake.put("data-bucket", "data-sales/a.parquet", &pq);
    lake.put("data-bucket", "tmp_scratch/a.parquet", &pq);
    let filter = indent(
        "containerFilterPattern:\n  includes: [\"data\", \"TMP\"]\n  excludes: [\"^tmp_\"]",
        0,
    );
    let run = lake.ingest(&lake.config("", &filter));
    assert_eq!(
        run.fqns(),
        s(&["svc.data-bucket", "svc.data-bucket.data-sales"])
    );
    assert!(
        run.stdout
            .contains("[data-bucket/tmp_scratch] containerFilterPattern excluded"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("[data-bucket/_SUCCESS] Default exclude (Spark artifact)"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_typo_in_an_entry_key_is_a_warning_naming_entry_and_key() {
    let lake = Lake::new();
    lake.put("typos", "data/a.parquet", parquet_id_name());
    lake.put(
        "typos",
        "openmetadata.json",
        r#"{"entries": [{"dataPath": "data", "structurFormat": "parquet"}]}"#,
    );
    let run = lake.ingest(&lake.config("", ""));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(
            "[typos/openmetadata.json] entries[0] (dataPath `data`): unknown key `structurFormat` ignored; did you mean `structureFormat`?"
        ),
        "{}",
        run.stdout
    );
}
