//! moto (PyPI `moto[server]`) as a second S3 implementation and as our CloudWatch and STS:
//! one `moto_server -H 127.0.0.1 -p <free port>` per test binary, started on first use and
//! killed when the test process exits (a small shell watchdog polls the test process). A
//! missing `moto_server` FAILS the test with the install command; it never skips.
//!
//! [`MotoLake`] seeds buckets, objects, tags and metrics through the SDK, writes workflow
//! configs pointing at moto, and runs the built binary against them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::{indent, run_binary_env, Run};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Any key pair works with moto; these never reach AWS.
pub const MOTO_KEY: &str = "AKIAMOTOTESTKEY";
/// Its secret.
pub const MOTO_SECRET: &str = "moto-secret-do-not-print";
/// How to install moto when it is missing.
pub const INSTALL: &str =
    "moto_server not found: run scripts/install-test-deps.sh (a venv at .test-venv/), or put `moto[server]==5.2.5`'s moto_server on PATH";

/// A running moto server.
#[derive(Debug)]
pub struct Moto {
    port: u16,
    /// The recorder's file (moto writes recorded requests there).
    pub recording: PathBuf,
    _dir: tempfile::TempDir,
    /// The shell that owns moto; it exits (killing moto) once the test process is gone.
    _watchdog: std::process::Child,
}

impl Moto {
    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts recording requests (and clears what was recorded before).
    pub fn start_recording(&self) {
        self.post("/moto-api/recorder/reset-recording");
        self.post("/moto-api/recorder/start-recording");
    }

    /// The recorded requests, one JSON object each.
    pub fn recording(&self) -> Vec<serde_json::Value> {
        let text = http(self.port, "GET", "/moto-api/recorder/download-recording");
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("recorder line is JSON"))
            .collect()
    }

    fn post(&self, path: &str) {
        http(self.port, "POST", path);
    }
}

/// The moto server of this test binary, started on first use.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(start)
}

/// `moto_server`: from `MOTO_SERVER`, else the venv `scripts/install-test-deps.sh` owns
/// (`S3META_TEST_VENV`, default `.test-venv/`), else PATH.
fn moto_server() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("MOTO_SERVER") {
        return Some(p.into());
    }
    let venv = std::env::var_os("S3META_TEST_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".test-venv"));
    let in_venv = venv.join("bin/moto_server");
    if in_venv.is_file() {
        return Some(in_venv);
    }
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("moto_server"))
            .find(|p| p.is_file())
    })
}

fn start() -> Moto {
    let Some(server) = moto_server() else {
        panic!("{INSTALL}")
    };
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let recording = dir.path().join("moto_recording");
    let log = dir.path().join("moto.log");
    // The watchdog kills moto once this test process is gone: statics are never dropped,
    // and a thread-bound death signal would fire when the first test thread ends.
    let script = format!(
        "'{server}' -H 127.0.0.1 -p {port} >'{log}' 2>&1 & m=$!\n\
         trap 'kill $m 2>/dev/null' EXIT INT TERM\n\
         while kill -0 {parent} 2>/dev/null && kill -0 $m 2>/dev/null; do sleep 0.5; done\n",
        server = server.display(),
        log = log.display(),
        parent = std::process::id(),
    );
    let watchdog = Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("MOTO_RECORDER_FILEPATH", &recording)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start moto_server: {e}. {INSTALL}"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if raw_http(port, "GET", "/moto-api/data.json").starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "moto_server did not start within 60 s; its log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    Moto {
        port,
        recording,
        _dir: dir,
        _watchdog: watchdog,
    }
}

/// A tiny HTTP/1.1 client for moto's own API (body of the answer, or "" on error).
fn http(port: u16, method: &str, path: &str) -> String {
    let text = raw_http(port, method, path);
    match text.split_once("\r\n\r\n") {
        Some((_, body)) => body.to_string(),
        None => String::new(),
    }
}

/// The whole answer, status line and headers included ("" on error).
fn raw_http(port: u16, method: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if s.write_all(req.as_bytes()).is_err() {
        return String::new();
    }
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Buckets on moto plus a work directory for configs and catalogs.
pub struct MotoLake {
    pub moto: &'static Moto,
    pub dir: tempfile::TempDir,
    pub rt: tokio::runtime::Runtime,
    /// A prefix unique to this lake: bucket names start with it, so tests sharing one moto
    /// never see each other's buckets through `bucketNames`.
    pub id: String,
}

impl MotoLake {
    /// A lake on the shared moto server.
    pub fn new() -> MotoLake {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        MotoLake {
            moto: moto(),
            dir: tempfile::tempdir().unwrap(),
            rt: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
            id: format!("t{}-{n}", std::process::id()),
        }
    }

    /// A bucket name unique to this lake.
    pub fn name(&self, bucket: &str) -> String {
        format!("{}-{bucket}", self.id)
    }

    fn sdk(&self, region: &str) -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_string()))
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(
                    aws_credential_types::Credentials::new(
                        MOTO_KEY,
                        MOTO_SECRET,
                        None,
                        None,
                        "test",
                    ),
                ),
            )
            .endpoint_url(self.moto.endpoint())
            .build()
    }

    /// An S3 client on moto, in `region`.
    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::config::Builder::from(&self.sdk(region))
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    /// A CloudWatch client on moto, in `region`.
    pub fn cloudwatch(&self, region: &str) -> aws_sdk_cloudwatch::Client {
        aws_sdk_cloudwatch::Client::new(&self.sdk(region))
    }

    /// Creates `bucket` (already unique, see [`MotoLake::name`]) in us-east-1.
    pub fn bucket(&self, bucket: &str) -> &Self {
        self.bucket_in(bucket, "us-east-1")
    }

    /// Creates `bucket` in `region`.
    pub fn bucket_in(&self, bucket: &str, region: &str) -> &Self {
        let s3 = self.s3(region);
        self.rt.block_on(async {
            let mut req = s3.create_bucket().bucket(bucket);
            if region != "us-east-1" {
                req = req.create_bucket_configuration(
                    aws_sdk_s3::types::CreateBucketConfiguration::builder()
                        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                            region,
                        ))
                        .build(),
                );
            }
            req.send().await.unwrap();
        });
        self
    }

    /// Writes an object.
    pub fn put(&self, bucket: &str, key: &str, bytes: impl AsRef<[u8]>) -> &Self {
        let s3 = self.s3("us-east-1");
        let body = bytes.as_ref().to_vec();
        self.rt.block_on(async {
            s3.put_object()
                .bucket(bucket)
                .key(key)
                .body(body.into())
                .send()
                .await
                .unwrap_or_else(|e| panic!("put {bucket}/{key}: {e:?}"));
        });
        self
    }

    /// Tags a bucket.
    pub fn tag_bucket(&self, bucket: &str, tags: &[(&str, &str)]) -> &Self {
        let s3 = self.s3("us-east-1");
        self.rt.block_on(async {
            s3.put_bucket_tagging()
                .bucket(bucket)
                .tagging(tagging(tags))
                .send()
                .await
                .unwrap();
        });
        self
    }

    /// Tags an object.
    pub fn tag_object(&self, bucket: &str, key: &str, tags: &[(&str, &str)]) -> &Self {
        let s3 = self.s3("us-east-1");
        self.rt.block_on(async {
            s3.put_object_tagging()
                .bucket(bucket)
                .key(key)
                .tagging(tagging(tags))
                .send()
                .await
                .unwrap();
        });
        self
    }

    /// Puts one data point of an S3 storage metric (`NumberOfObjects`/`AllStorageTypes`
    /// with unit Count, or `BucketSizeBytes`/`StandardStorage` with unit Bytes) into moto's
    /// CloudWatch in `region`, `ago` before now.
    pub fn put_metric(&self, region: &str, bucket: &str, metric: &str, value: f64, ago: Duration) {
        use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
        let (storage, unit) = match metric {
            "NumberOfObjects" => ("AllStorageTypes", StandardUnit::Count),
            "BucketSizeBytes" => ("StandardStorage", StandardUnit::Bytes),
            other => panic!("not an S3 storage metric: {other}"),
        };
        let cw = self.cloudwatch(region);
        let at = std::time::SystemTime::now() - ago;
        self.rt.block_on(async {
            cw.put_metric_data()
                .namespace("AWS/S3")
                .metric_data(
                    MetricDatum::builder()
                        .metric_name(metric)
                        .dimensions(
                            Dimension::builder()
                                .name("BucketName")
                                .value(bucket)
                                .build(),
                        )
                        .dimensions(
                            Dimension::builder()
                                .name("StorageType")
                                .value(storage)
                                .build(),
                        )
                        .timestamp(aws_sdk_cloudwatch::primitives::DateTime::from(at))
                        .value(value)
                        .unit(unit)
                        .build(),
                )
                .send()
                .await
                .unwrap();
        });
    }

    /// Path of the catalog file the default config writes.
    pub fn catalog_path(&self) -> PathBuf {
        self.dir.path().join("catalog.jsonl")
    }

    /// A workflow YAML on moto with the file sink; `connection_extra` goes under
    /// `serviceConnection.config`, `pipeline_extra` under `sourceConfig.config`, `top_extra`
    /// at the top level (e.g. an `s3meta:` block).
    pub fn config_at(
        &self,
        endpoint: &str,
        aws_extra: &str,
        connection_extra: &str,
        pipeline_extra: &str,
        top_extra: &str,
    ) -> String {
        format!(
            "source:\n  type: s3\n  serviceName: svc\n  serviceConnection:\n    config:\n      type: S3\n      awsConfig:\n        awsRegion: us-east-1\n        awsAccessKeyId: {MOTO_KEY}\n        awsSecretAccessKey: {MOTO_SECRET}\n        endPointURL: {endpoint}\n{}{}  sourceConfig:\n    config:\n      type: StorageMetadata\n{}sink:\n  type: file\n  config:\n    path: {}\nworkflowConfig:\n  loggerLevel: DEBUG\n  openMetadataServerConfig:\n    hostPort: http://127.0.0.1:9/api\n    authProvider: openmetadata\n    securityConfig:\n      jwtToken: not-a-real-jwt-token\n{top_extra}",
            indent(aws_extra, 8),
            indent(connection_extra, 6),
            indent(pipeline_extra, 6),
            self.catalog_path().display()
        )
    }

    /// [`MotoLake::config_at`] on moto, with `bucketNames` set to `buckets`.
    pub fn config(&self, buckets: &[&str], pipeline_extra: &str) -> String {
        let names = buckets
            .iter()
            .map(|b| format!("  - \"{b}\"\n"))
            .collect::<String>();
        self.config_at(
            &self.moto.endpoint(),
            "",
            &format!("bucketNames:\n{names}"),
            pipeline_extra,
            "",
        )
    }

    /// Runs `s3meta <args> -c` on `yaml`, with STS pointed at moto.
    pub fn run(&self, args: &[&str], yaml: &str) -> Run {
        let sts = self.moto.endpoint();
        run_binary_env(
            self.dir.path(),
            args,
            yaml,
            &self.catalog_path(),
            &[("AWS_ENDPOINT_URL_STS", sts.as_str())],
        )
    }

    /// Runs `s3meta ingest -c` on `yaml`.
    pub fn ingest(&self, yaml: &str) -> Run {
        self.run(&["ingest", "-c"], yaml)
    }

    /// Work directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

fn tagging(tags: &[(&str, &str)]) -> aws_sdk_s3::types::Tagging {
    let mut b = aws_sdk_s3::types::Tagging::builder();
    for (k, v) in tags {
        b = b.tag_set(
            aws_sdk_s3::types::Tag::builder()
                .key(*k)
                .value(*v)
                .build()
                .unwrap(),
        );
    }
    b.build().unwrap()
}
