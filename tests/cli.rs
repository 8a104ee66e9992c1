//! The command line: help everywhere, config errors that name the key path and line and stop
//! before any AWS call, exit codes, and no secret in any output.

use crate::support::{run_binary, Lake, SECRET_KEY};
use std::process::Command;

fn s3meta(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_s3meta"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn every_command_answers_help() {
    for cmd in [
        vec!["--help"],
        vec!["ingest", "--help"],
        vec!["validate", "--help"],
        vec!["quickstart", "--help"],
        vec!["test-connection", "--help"],
        vec!["run", "--help"],
        vec!["serve", "--help"],
    ] {
        let out = s3meta(&cmd);
        assert!(out.status.success(), "{cmd:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{cmd:?}"
        );
    }
}

#[test]
fn server_commands_without_a_server_say_what_is_missing() {
    for args in [vec!["serve"], vec!["run", "--pipeline", "svc.p"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_s3meta"))
            .args(&args)
            .env_remove("OPENMETADATA_HOST_PORT")
            .env_remove("OPENMETADATA_JWT_TOKEN")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("OPENMETADATA_HOST_PORT"), "{err}");
    }
}

#[test]
fn the_spec_example_workflow_validates() {
    let out = s3meta(&["validate", "-c", "tests/data/s3-storage-workflow.yaml"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A valid base config; each case below breaks one section of it.
const BASE: &str = "source:
  type: s3
  serviceName: svc
  serviceConnection:
    config:
      type: S3
      awsConfig:
        awsRegion: us-east-1
        endPointURL: http://127.0.0.1:9
      bucketNames: [a-bucket]
  sourceConfig:
    config:
      type: StorageMetadata
sink:
  type: file
  config:
    path: out.jsonl
workflowConfig:
  loggerLevel: INFO
";

fn config_error(yaml: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let run = run_binary(
        dir.path(),
        &["ingest", "-c"],
        yaml,
        &dir.path().join("out.jsonl"),
    );
    assert!(run.catalog.is_empty(), "a bad config must not run");
    assert!(!dir.path().join("out.jsonl").exists());
    (run.code, run.stderr)
}

#[test]
fn the_base_config_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("w.yaml"), BASE).unwrap();
    let out = s3meta(&[
        "validate",
        "-c",
        dir.path().join("w.yaml").to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn config_errors_name_the_key_path_and_line() {
    let cases: Vec<(String, &str, &str)> = vec![
        // (broken config, key path expected in the message, line expected)
        (
            BASE.replace("  type: s3\n", "  type: s3\n  bogus: 1\n"),
            "source",
            "line 3",
        ),
        (
            BASE.replace("      bucketNames", "      bucketNamez"),
            "source.serviceConnection.config",
            "line 10",
        ),
        (
            BASE.replace("        awsRegion: us-east-1\n", "        awsRegion: [1]\n"),
            "source.serviceConnection.config.awsConfig.awsRegion",
            "line 8",
        ),
        (
            BASE.replace(
                "      type: StorageMetadata\n",
                "      type: StorageMetadata\n      markDeletedContainers: maybe\n",
            ),
            "source.sourceConfig.config.markDeletedContainers",
            "line 14",
        ),
        (
            BASE.replace(
                "    path: out.jsonl\n",
                "    path: out.jsonl\n    colour: red\n",
            ),
            "sink.config",
            "line 18",
        ),
        (
            BASE.replace("  loggerLevel: INFO", "  loggerLevel: WARNING"),
            "workflowConfig.loggerLevel",
            "line 19",
        ),
        (format!("{BASE}extra: 1\n"), "extra", "line 20"),
    ];
    for (yaml, path, line) in cases {
        let (code, stderr) = config_error(&yaml);
        assert_eq!(code, 1, "{stderr}");
        assert!(
            stderr.contains(&format!("`{path}")),
            "expected `{path}` in: {stderr}"
        );
        assert!(stderr.contains(line), "expected {line} in: {stderr}");
    }
}

#[test]
fn semantic_config_errors_name_the_key() {
    let cases = vec![
        (
            BASE.replace(
                "awsRegion: us-east-1\n        endPointURL: http://127.0.0.1:9\n",
                "awsRegion: us-east-1a\n",
            ),
            "awsConfig.awsRegion",
            "availability zone",
        ),
        (
            BASE.replace("  type: s3\n", "  type: gcs\n"),
            "source.type",
            "expected `s3`",
        ),
        (
            BASE.replace("    path: out.jsonl\n", ""),
            "sink.config.path",
            "required",
        ),
        (
            BASE.replace("  type: file\n", "  type: kafka\n"),
            "sink.type",
            "metadata-rest",
        ),
        (
            format!("{BASE}  successThreshold: 101\n"),
            "workflowConfig.successThreshold",
            "0 to 100",
        ),
        (
            BASE.replace("sink:\n  type: file\n  config:\n    path: out.jsonl\n", ""),
            "workflowConfig.openMetadataServerConfig",
            "metadata-rest",
        ),
        (
            format!("{BASE}  openMetadataServerConfig:\n    hostPort: http://localhost:8585\n")
                .replace("sink:\n  type: file\n  config:\n    path: out.jsonl\n", ""),
            "hostPort",
            "/api",
        ),
        (
            format!("{BASE}  openMetadataServerConfig:\n    hostPort: http://localhost:8585/api\n    verifySSL: strict\n"),
            "workflowConfig.openMetadataServerConfig.verifySSL",
            "validate",
        ),
    ];
    for (yaml, key, words) in cases {
        let (code, stderr) = config_error(&yaml);
        assert_eq!(code, 1, "{stderr}");
        assert!(stderr.contains(key), "expected {key} in: {stderr}");
        assert!(stderr.contains(words), "expected {words} in: {stderr}");
    }
}

#[test]
fn json_configs_are_read_with_positions_too() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("w.json");
    std::fs::write(&p, "{\"source\": {\"type\": \"s3\", \"serviceName\": 5}}").unwrap();
    let out = s3meta(&["validate", "-c", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("source.serviceName") && err.contains("line 1"),
        "{err}"
    );
}

#[test]
fn an_unreachable_endpoint_is_a_clear_failure_not_a_panic() {
    let mut lake = Lake::new();
    let yaml = lake.config("", "");
    lake.stop();
    let run = lake.ingest(&yaml);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    // The test-connection steps run first and stop the run (reference §9).
    assert!(
        run.stderr
            .contains("Failed to run the test connection step: ListBuckets"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("unreachable"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"));
}

#[test]
fn secrets_never_reach_output_or_catalog() {
    let lake = Lake::new();
    lake.put("bkt", "a.txt", "x");
    let yaml = lake.config("", "").replace(
        "        endPointURL",
        "        awsSessionToken: session-token-secret-value\n        endPointURL",
    );
    let run = lake.ingest(&yaml);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let catalog = std::fs::read_to_string(lake.catalog_path()).unwrap();
    for secret in [
        SECRET_KEY,
        "session-token-secret-value",
        "not-a-real-jwt-token",
    ] {
        assert!(!run.stdout.contains(secret), "stdout leaks {secret}");
        assert!(!run.stderr.contains(secret), "stderr leaks {secret}");
        assert!(!catalog.contains(secret), "catalog leaks {secret}");
    }
    assert_eq!(
        run.catalog[0]["request"]["connection"]["config"]["awsConfig"]["awsSecretAccessKey"],
        "***"
    );
    assert_eq!(
        run.catalog[0]["request"]["connection"]["config"]["awsConfig"]["awsSessionToken"],
        "***"
    );
}

#[test]
fn an_unreachable_endpoint_with_bucket_names_fails_the_run() {
    let mut lake = Lake::new();
    let yaml = lake.config("bucketNames: [some-bucket]\n", "");
    lake.stop();
    let run = lake.ingest(&yaml);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("Failed to run the test connection step: ListBuckets"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("some-bucket"), "{}", run.stderr);
}

/// Runs `s3meta <command> -c <yaml>` with a deadline: a hang is a failure, not a stuck test.
fn run_with_deadline(command: &str, yaml: &str, deadline: std::time::Duration) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("w.yaml");
    std::fs::write(&p, yaml).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_s3meta"))
        .args([command, "-c", p.to_str().unwrap()])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > deadline {
            child.kill().unwrap();
            panic!("`s3meta {command}` still running after {deadline:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_extra_header_that_refers_to_itself_is_a_config_error_not_a_hang() {
    let server = "  openMetadataServerConfig:\n    hostPort: http://127.0.0.1:9/api\n    securityConfig:\n      jwtToken: t\n    extraHeaders:\n";
    let metadata_rest = |headers: &str| {
        format!("{BASE}{server}{headers}")
            .replace("sink:\n  type: file\n  config:\n    path: out.jsonl\n", "")
    };
    let cases = [
        // (extraHeaders, key path, cycle)
        (
            metadata_rest("      X-A: \"%(X-A)s\"\n"),
            "X-A",
            "X-A → X-A",
        ),
        (
            metadata_rest("      X-A: \"a %(X-B)s\"\n      X-B: \"%(X-A)s\"\n"),
            "X-A",
            "X-A → X-B → X-A",
        ),
        // The file sink does not use the server, but the file is wrong all the same.
        (
            format!("{BASE}{server}      X-A: \"%(x-a)s\"\n"),
            "X-A",
            "X-A → X-A",
        ),
    ];
    for (yaml, name, chain) in cases {
        for command in ["validate", "ingest"] {
            let (code, stderr) =
                run_with_deadline(command, &yaml, std::time::Duration::from_secs(20));
            assert_eq!(code, 1, "{command}: {stderr}");
            let key = format!("`workflowConfig.openMetadataServerConfig.extraHeaders.{name}`");
            assert!(
                stderr.contains(&key),
                "{command}: expected {key} in: {stderr}"
            );
            assert!(
                stderr.contains(chain),
                "{command}: expected {chain} in: {stderr}"
            );
        }
    }
    // Copying the client's own headers (and another extra header) stays valid.
    let fine = metadata_rest(
        "      X-Copy: \"%(User-Agent)s\"\n      X-Proxy: \"%(X-Copy)s %(Authorization)s\"\n",
    );
    let (code, stderr) = run_with_deadline("validate", &fine, std::time::Duration::from_secs(20));
    assert_eq!(code, 0, "{stderr}");
}

/// A loopback proxy in front of `upstream` that forwards every request except reads of CSV
/// objects (a GET of `/bucket/….csv`), which it holds without answering: a run gets through its test
/// connection and listings and then waits on its first sample for as long as the test likes.
async fn object_reads_stall(upstream: String) -> String {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<bytes::Bytes>>();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let client = client.clone();
            let upstream = upstream.clone();
            let svc =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let client = client.clone();
                    let upstream = upstream.clone();
                    async move {
                        let path = req.uri().path().trim_start_matches('/').to_string();
                        // Manifests are read before the sink begins: only samples stall.
                        let is_sample = path
                            .split_once('/')
                            .is_some_and(|(_, key)| key.ends_with(".csv"));
                        if req.method() == hyper::Method::GET && is_sample {
                            std::future::pending::<()>().await;
                        }
                        let pq = req.uri().path_and_query().unwrap().as_str().to_string();
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await.unwrap().to_bytes();
                        let mut fwd = hyper::Request::builder()
                            .method(parts.method)
                            .uri(format!("{upstream}{pq}"));
                        for (k, v) in parts.headers.iter() {
                            fwd = fwd.header(k, v);
                        }
                        let resp = client
                            .request(fwd.body(Full::new(body)).unwrap())
                            .await
                            .unwrap();
                        let (parts, body) = resp.into_parts();
                        let body = body.collect().await.unwrap().to_bytes();
                        Ok::<_, std::convert::Infallible>(hyper::Response::from_parts(
                            parts,
                            Full::new(body),
                        ))
                    }
                });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(socket), svc)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

#[cfg(unix)]
#[test]
fn a_signal_during_ingest_removes_the_partial_catalog_and_keeps_the_previous_one() {
    let lake = Lake::new();
    lake.put("bkt", "data/a.csv", "id,name\n1,x\n").put(
        "bkt",
        "openmetadata.json",
        r#"{"entries": [{"dataPath": "data", "structureFormat": "csv"}]}"#,
    );
    let proxy = lake.block_on(object_reads_stall(lake.endpoint()));
    let yaml = lake.config("", "").replace(
        &format!("endPointURL: {}", lake.endpoint()),
        &format!("endPointURL: {proxy}"),
    );
    let dir = lake.catalog_path().parent().unwrap().to_path_buf();
    let cfg = dir.join("workflow.yaml");
    std::fs::write(&cfg, &yaml).unwrap();
    let partial = dir.join("catalog.jsonl.partial");
    for (signal, code) in [("TERM", 143), ("INT", 130)] {
        std::fs::write(lake.catalog_path(), "previous catalog\n").unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_s3meta"))
            .args(["ingest", "-c", cfg.to_str().unwrap()])
            .current_dir(&dir)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", dir.join("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                dir.join("no-aws-credentials"),
            )
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while !partial.exists() {
            if child.try_wait().unwrap().is_some() {
                let out = child.wait_with_output().unwrap();
                panic!(
                    "the run ended before it began writing: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            if started.elapsed().as_secs() > 30 {
                child.kill().unwrap();
                let out = child.wait_with_output().unwrap();
                panic!(
                    "no partial catalog after 30 s: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let killed = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let started = std::time::Instant::now();
        while child.try_wait().unwrap().is_none() {
            if started.elapsed().as_secs() > 10 {
                child.kill().unwrap();
                panic!("SIG{signal}: still running 10 s after the signal");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(code),
            "SIG{signal}: {:?}\nstdout: {}\nstderr: {stderr}",
            out.status,
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            stderr.contains(&format!("stopped by SIG{signal}")),
            "{stderr}"
        );
        assert!(
            !partial.exists(),
            "SIG{signal}: the partial catalog is left behind"
        );
        assert_eq!(
            std::fs::read_to_string(lake.catalog_path()).unwrap(),
            "previous catalog\n",
            "SIG{signal}"
        );
    }
}

#[test]
fn version_says_what_a_bug_report_needs() {
    let out = s3meta(&["--version"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        concat!("s3meta ", env!("CARGO_PKG_VERSION")),
        "commit:   ",
        "target:   ",
        "profile:  ",
        "features: quickstart",
    ] {
        assert!(text.contains(want), "{want} missing from {text}");
    }
    // `-V` stays one line, for scripts.
    let short = s3meta(&["-V"]);
    assert_eq!(
        String::from_utf8_lossy(&short.stdout).trim(),
        concat!("s3meta ", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn no_colour_codes_off_a_terminal_and_the_catalog_location_is_said() {
    let lake = Lake::new();
    lake.put("plain", "data/a.csv", "a,b\n1,2\n");
    lake.put(
        "plain",
        "openmetadata.json",
        r#"{"entries": [{"dataPath": "data", "structureFormat": "csv"}]}"#,
    );
    // DEBUG logs on a pipe: plain text.
    let run = lake.ingest(&lake.config("", ""));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(!run.stderr.is_empty());
    assert!(!run.stderr.contains('\x1b'), "{:?}", run.stderr);
    assert!(!run.stdout.contains('\x1b'), "{:?}", run.stdout);
    assert!(
        run.stdout.contains(&format!(
            "Catalog written to {}",
            lake.catalog_path().display()
        )),
        "{}",
        run.stdout
    );
    // Small byte counts in a unit that shows them.
    let bytes = run
        .stdout
        .lines()
        .find(|l| l.starts_with("Bytes read from S3: "))
        .unwrap();
    assert!(bytes.ends_with(" B") || bytes.ends_with(" KiB"), "{bytes}");
}

#[test]
fn a_file_shared_with_the_reference_keeps_our_options_in_connection_arguments() {
    let lake = Lake::new();
    lake.put("shared", "data/a.csv", "a,b\n1,2\n");
    lake.put(
        "shared",
        "openmetadata.json",
        r#"{"entries": [{"dataPath": "data", "structureFormat": "csv"}]}"#,
    );
    // The shared example, pointed at this lake: options from connectionArguments.s3meta
    // (bucketMetrics: false, so no CloudWatch call and no CloudWatch warning), the catalog
    // from the reference's `filename`.
    let yaml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/shared-workflow.yaml"
    ))
    .unwrap()
    .replace("http://127.0.0.1:9\n", &format!("{}\n", lake.endpoint()))
    .replace(
        "awsAccessKeyId: AKIAIOSFODNN7EXAMPLE",
        &format!("awsAccessKeyId: {}", crate::support::ACCESS_KEY),
    )
    .replace(
        "awsSecretAccessKey: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        &format!("awsSecretAccessKey: {SECRET_KEY}"),
    )
    .replace("bucketNames: [a-bucket]", "bucketNames: [shared]")
    .replace(
        "filename: catalog.jsonl",
        &format!("filename: {}", lake.catalog_path().display()),
    );
    let run = lake.ingest(&yaml);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("CloudWatch"), "{}", run.stdout);
    assert!(
        run.fqns().contains(&"shared_s3.shared.data".to_string()),
        "{:?}",
        run.fqns()
    );

    // A wrong value there is named by its full key path.
    let (code, stderr) = config_error(&BASE.replace(
        "      bucketNames: [a-bucket]\n",
        "      bucketNames: [a-bucket]\n      connectionArguments:\n        s3meta:\n          sampleFiles: many\n",
    ));
    assert_eq!(code, 1);
    assert!(
        stderr.contains("source.serviceConnection.config.connectionArguments.s3meta.sampleFiles"),
        "{stderr}"
    );
    // Both homes at once: one must go.
    let (code, stderr) = config_error(&format!(
        "{}s3meta:\n  sampleFiles: 2\n",
        BASE.replace(
            "      bucketNames: [a-bucket]\n",
            "      bucketNames: [a-bucket]\n      connectionArguments:\n        s3meta: {sampleFiles: 3}\n",
        )
    ));
    assert_eq!(code, 1);
    assert!(stderr.contains("keep one"), "{stderr}");
    // `path` and `filename` together are ambiguous.
    let (code, stderr) = config_error(&BASE.replace(
        "    path: out.jsonl\n",
        "    path: out.jsonl\n    filename: other.jsonl\n",
    ));
    assert_eq!(code, 1);
    assert!(stderr.contains("sink.config.filename"), "{stderr}");
}

#[test]
fn errors_are_one_readable_sentence_with_each_cause_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = s3meta(&[
        "validate",
        "-c",
        dir.path().join("missing.yaml").to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("(os error 2)").count(), 1, "{stderr}");

    // An unreachable S3 endpoint: the innermost cause, not the SDK's Debug dump.
    let keys = "        awsAccessKeyId: AKIAEXAMPLE\n        awsSecretAccessKey: not-a-secret\n        endPointURL";
    let with_keys = BASE.replace("        endPointURL", keys);
    let (code, stderr) = config_error(&format!("{with_keys}s3meta:\n  maxAttempts: 1\n"));
    assert_eq!(code, 1);
    assert!(
        stderr.contains("tcp connect error: Connection refused"),
        "{stderr}"
    );
    // No credentials at all: said so, not "unreachable", on one line.
    let (code, stderr) = config_error(&format!("{BASE}s3meta:\n  maxAttempts: 1\n"));
    assert_eq!(code, 1);
    let error = stderr.lines().find(|l| l.starts_with("error: ")).unwrap();
    assert!(error.contains("no AWS credentials found"), "{stderr}");
    assert!(
        error.contains("The credentials were rejected") || error.contains("credentials"),
        "{error}"
    );
    for dump in ["DispatchFailure", "ConnectorError", "hyper_util", "Os {"] {
        assert!(!stderr.contains(dump), "{dump} in {stderr}");
    }
}
