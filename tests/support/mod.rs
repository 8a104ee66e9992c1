//! Test support: a lake on disk served by the embedded S3 server (s3s-fs, SigV4 checked),
//! a workflow config pointing at it, and a runner for the built `s3meta` binary.
// Test helpers panic on purpose: a failed set-up is a failed test.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub mod moto;
pub mod proxy;
pub mod serving;

/// The key pair the test server accepts.
pub const ACCESS_KEY: &str = "AKIATESTS3META";
/// Its secret.
pub const SECRET_KEY: &str = "test-secret-key-do-not-print";

/// A lake in a temporary directory, served on loopback.
pub struct Lake {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
    server: Option<s3meta::embedded::Server>,
    rt: tokio::runtime::Runtime,
}

/// What a run of the binary gave.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub catalog: Vec<serde_json::Value>,
}

impl Run {
    /// FQNs of the container lines, in file order.
    pub fn fqns(&self) -> Vec<String> {
        self.catalog
            .iter()
            .filter(|l| l["entity"] == "container")
            .map(|l| l["fqn"].as_str().unwrap().to_string())
            .collect()
    }

    /// The request of the container with this FQN.
    pub fn container(&self, fqn: &str) -> &serde_json::Value {
        &self
            .catalog
            .iter()
            .find(|l| l["fqn"] == fqn && l["entity"] == "container")
            .unwrap_or_else(|| panic!("no container {fqn} in {:#?}", self.fqns()))["request"]
    }

    /// `(name, dataType)` of a container's columns.
    pub fn columns(&self, fqn: &str) -> Vec<(String, String)> {
        self.container(fqn)["dataModel"]["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_string(),
                    c["dataType"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
}

impl Lake {
    /// An empty lake with its server running.
    pub fn new() -> Lake {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("lake");
        std::fs::create_dir_all(&root).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = rt
            .block_on(s3meta::embedded::serve(&root, ACCESS_KEY, SECRET_KEY))
            .unwrap();
        Lake {
            dir,
            root,
            server: Some(server),
            rt,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        self.server.as_ref().unwrap().endpoint()
    }

    /// Stops the server (for unreachable-endpoint tests).
    pub fn stop(&mut self) {
        self.server.take();
    }

    /// Creates an empty bucket.
    pub fn bucket(&self, name: &str) -> &Self {
        std::fs::create_dir_all(self.root.join(name)).unwrap();
        self
    }

    /// Writes an object.
    pub fn put(&self, bucket: &str, key: &str, bytes: impl AsRef<[u8]>) -> &Self {
        let p = self.root.join(bucket).join(key);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
        self
    }

    /// Path of the catalog file the default config writes.
    pub fn catalog_path(&self) -> PathBuf {
        self.dir.path().join("catalog.jsonl")
    }

    /// A workflow YAML for this lake with the file sink. `connection_extra` is added under
    /// `serviceConnection.config` and `pipeline_extra` under `sourceConfig.config` (each line
    /// already indented by the caller's text being re-indented here).
    pub fn config(&self, connection_extra: &str, pipeline_extra: &str) -> String {
        format!(
            "source:\n  type: s3\n  serviceName: svc\n  serviceConnection:\n    config:\n      type: S3\n      awsConfig:\n        awsRegion: us-east-1\n        awsAccessKeyId: {ACCESS_KEY}\n        awsSecretAccessKey: {SECRET_KEY}\n        endPointURL: {}\n{}  sourceConfig:\n    config:\n      type: StorageMetadata\n{}sink:\n  type: file\n  config:\n    path: {}\nworkflowConfig:\n  loggerLevel: DEBUG\n  openMetadataServerConfig:\n    hostPort: http://127.0.0.1:9/api\n    authProvider: openmetadata\n    securityConfig:\n      jwtToken: not-a-real-jwt-token\n",
            self.endpoint(),
            indent(connection_extra, 6),
            indent(pipeline_extra, 6),
            self.catalog_path().display()
        )
    }

    /// Runs `s3meta ingest -c` on `yaml` in the lake's directory.
    pub fn ingest(&self, yaml: &str) -> Run {
        run_binary(
            self.dir.path(),
            &["ingest", "-c"],
            yaml,
            &self.catalog_path(),
        )
    }

    /// Like [`Lake::ingest`], with extra environment variables for the process.
    pub fn ingest_with_env(&self, yaml: &str, env: &[(&str, &str)]) -> Run {
        let dir = self.dir.path();
        run_binary_env(dir, &["ingest", "-c"], yaml, &self.catalog_path(), env)
    }

    /// A store talking to this lake's server (the real S3 client, SigV4 signed).
    pub fn store(&self) -> std::sync::Arc<dyn s3meta::store::ObjectStore> {
        let creds: s3meta::config::AwsCredentials = serde_json::from_value(serde_json::json!({
            "awsRegion": "us-east-1",
            "awsAccessKeyId": ACCESS_KEY,
            "awsSecretAccessKey": SECRET_KEY,
            "endPointURL": self.endpoint(),
        }))
        .unwrap();
        let opts = s3meta::config::S3metaOptions::default();
        let endpoint = self.endpoint();
        self.rt.block_on(async move {
            let sdk = s3meta::aws::sdk_config(&creds, &opts).await;
            let client = s3meta::aws::s3_client(&sdk, Some(&endpoint));
            std::sync::Arc::new(s3meta::store::s3::S3Store::new(client))
                as std::sync::Arc<dyn s3meta::store::ObjectStore>
        })
    }

    /// Runs an async block on the lake's runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }
}

/// Indents every line of `text` by `n` spaces (empty text stays empty).
pub fn indent(text: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    text.lines()
        .map(|l| format!("{pad}{l}\n"))
        .collect::<String>()
}

/// Writes `yaml` to `dir/workflow.yaml`, runs the binary with `args` + that path, and reads
/// the catalog at `catalog` if it exists.
pub fn run_binary(dir: &Path, args: &[&str], yaml: &str, catalog: &Path) -> Run {
    run_binary_env(dir, args, yaml, catalog, &[])
}

/// [`run_binary`] with extra environment variables. The process never sees the developer's
/// own AWS settings: credentials, profiles and endpoints come only from the test.
pub fn run_binary_env(
    dir: &Path,
    args: &[&str],
    yaml: &str,
    catalog: &Path,
    env: &[(&str, &str)],
) -> Run {
    let cfg = dir.join("workflow.yaml");
    std::fs::write(&cfg, yaml).unwrap();
    let _ = std::fs::remove_file(catalog);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_s3meta"));
    cmd.args(args)
        .arg(&cfg)
        .current_dir(dir)
        .env_remove("RUST_LOG");
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            cmd.env_remove(&k);
        }
    }
    cmd.env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.join("no-aws-credentials"),
        );
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let catalog = std::fs::read_to_string(catalog)
        .map(|t| {
            t.lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        })
        .unwrap_or_default();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        catalog,
    }
}

/// A small parquet file with an `id: int64` and a `name: string` column.
pub fn parquet_id_name() -> Vec<u8> {
    use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
    use std::sync::Arc;
    let batch = RecordBatch::try_from_iter(vec![
        ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
        (
            "name",
            Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef,
        ),
    ])
    .unwrap();
    let mut buf = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    buf
}

/// `(id, INT), (name, STRING)`: the columns of [`parquet_id_name`].
pub fn id_name_columns() -> Vec<(String, String)> {
    vec![
        ("id".into(), "INT".into()),
        ("name".into(), "STRING".into()),
    ]
}
