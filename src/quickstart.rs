//! `s3meta quickstart`: a sample lake, served by the embedded S3 server, ingested through
//! the real path (SDK, SigV4, listings, ranged reads) into the file sink. Nothing to install,
//! no AWS account, no OpenMetadata server.
//!
//! An on-ramp, not a dead end: the workflow YAML it ran is written beside the catalog, with
//! the next steps printed (point it at a real bucket, then at an OpenMetadata server), files
//! a user added to the sample lake are kept (and said so), and `--serve` keeps the embedded
//! server running so that `test-connection`, `plan` or one's own manifests can be tried
//! against it.

use crate::config;
use crate::embedded;
use crate::status::RunStatus;
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the quickstart writes, under the current directory.
pub const DIR: &str = "s3meta-quickstart";
/// The catalog file, under [`DIR`].
pub const CATALOG: &str = "catalog.jsonl";
/// The workflow file it ran, under [`DIR`].
pub const WORKFLOW: &str = "workflow.yaml";
/// The loopback port `--serve` uses by default, so that the written workflow stays valid
/// from one quickstart to the next.
pub const SERVE_PORT: u16 = 9555;

const ACCESS_KEY: &str = "s3meta-quickstart";
const SECRET_KEY: &str = "s3meta-quickstart-secret";

/// How to run the quickstart.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Keep the embedded server running after the ingest (`--serve`).
    pub serve: bool,
    /// Its loopback port (0: a free one).
    pub port: u16,
}

/// What the quickstart produced.
#[derive(Debug)]
pub struct Quickstart {
    /// The catalog file.
    pub catalog: PathBuf,
    /// The workflow file it ran.
    pub workflow: PathBuf,
    /// Files under the sample lake that are not ours (a user's own), kept and ingested.
    pub kept: Vec<PathBuf>,
    /// The embedded server, still running when [`Options::serve`] asked for it.
    pub server: Option<embedded::Server>,
    /// The run's status.
    pub status: RunStatus,
    /// The exit rules of its workflow.
    pub rules: crate::config::RunRules,
}

/// A quickstart failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Writing the lake failed.
    #[error("cannot write the sample lake: {0}")]
    Lake(String),
    /// The server did not start.
    #[error(transparent)]
    Server(#[from] embedded::StartError),
    /// The config did not validate (a bug: it is ours).
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The run could not start.
    #[error(transparent)]
    Run(#[from] crate::workflow::InitError),
}

/// Writes the lake, serves it, ingests it, and returns where the catalog is.
pub async fn run(base: &Path, opts: Options) -> Result<Quickstart, Error> {
    let dir = base.join(DIR);
    let lake = dir.join("lake");
    let before = files_under(&lake);
    let ours = write_lake(&lake).map_err(|e| Error::Lake(e.to_string()))?;
    // A user's own files in the sample lake are theirs: kept (and ingested), never wiped.
    let kept: Vec<PathBuf> = before.into_iter().filter(|p| !ours.contains(p)).collect();
    let server = embedded::serve_on(&lake, ACCESS_KEY, SECRET_KEY, opts.port).await?;
    let catalog = dir.join(CATALOG);
    let workflow = dir.join(WORKFLOW);
    let yaml = format!(
        r#"source:
  type: s3
  serviceName: quickstart_s3
  serviceConnection:
    config:
      type: S3
      awsConfig:
        awsRegion: us-east-1
        awsAccessKeyId: {ACCESS_KEY}
        awsSecretAccessKey: {SECRET_KEY}
        endPointURL: {endpoint}
  sourceConfig:
    config:
      type: StorageMetadata
      markDeletedContainers: true
sink:
  type: file
  config:
    path: {catalog}
workflowConfig:
  loggerLevel: INFO
  openMetadataServerConfig:
    hostPort: http://localhost:8585/api
    authProvider: openmetadata
s3meta:
  # The embedded server has no CloudWatch.
  bucketMetrics: false
"#,
        endpoint = server.endpoint(),
        catalog = catalog.display(),
    );
    std::fs::write(&workflow, &yaml).map_err(|e| Error::Lake(e.to_string()))?;
    let validated = config::parse_str(&yaml)?
        .validate()
        .map_err(config::ConfigError::from)?;
    let rules = validated.rules;
    let status = crate::workflow::run_ingest(validated).await?;
    Ok(Quickstart {
        catalog,
        workflow,
        kept,
        server: opts.serve.then_some(server),
        status,
        rules,
    })
}

impl Quickstart {
    /// What to do next, for a person who just ran the quickstart (paths relative to `cwd`).
    pub fn next_steps(&self, cwd: &Path) -> String {
        let rel = |p: &Path| p.strip_prefix(cwd).unwrap_or(p).display().to_string();
        let workflow = rel(&self.workflow);
        let mut out = String::new();
        if !self.kept.is_empty() {
            out.push_str(&format!(
                "Kept {} file(s) you added to the sample lake (ingested with it), e.g. {}\n",
                self.kept.len(),
                rel(&self.kept[0])
            ));
        }
        out.push_str(&format!(
            "Workflow written to {workflow}\n\
             Next steps:\n\
             \x20 1. Your own bucket: copy {workflow}, and under source.serviceConnection.config.awsConfig\n\
             \x20    set awsRegion and your credentials (keys, awsSessionToken, profileName or\n\
             \x20    assumeRoleArn); remove endPointURL for AWS S3, or set your S3-compatible endpoint.\n\
             \x20    Remove `bucketMetrics: false` under s3meta: when CloudWatch is available.\n\
             \x20 2. Check it: s3meta test-connection -c <your copy>\n\
             \x20 3. OpenMetadata: set `sink: {{type: metadata-rest, config: {{}}}}` and, under\n\
             \x20    workflowConfig.openMetadataServerConfig, hostPort (http://<host>:8585/api) and\n\
             \x20    securityConfig.jwtToken (a bot's token); then s3meta ingest -c <your copy>\n"
        ));
        match &self.server {
            Some(server) => out.push_str(&format!(
                "The sample lake is served at {} until Ctrl-C; in another terminal try:\n\
                 \x20 s3meta test-connection -c {workflow}\n\
                 \x20 s3meta ingest -c {workflow}   (after editing its manifest, {}/lake/demo-lake/openmetadata.json)\n",
                server.endpoint(),
                rel(self.workflow.parent().unwrap_or(Path::new(".")))
            )),
            None => out.push_str(&format!(
                "Keep the sample lake served to try commands against it: s3meta quickstart --serve (port {SERVE_PORT})\n"
            )),
        }
        out
    }
}

/// Every file under `dir` (none when it does not exist).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The files of the sample lake, written as they are put.
struct Writer<'a> {
    root: &'a Path,
    written: Vec<PathBuf>,
}

impl Writer<'_> {
    fn put(&mut self, bucket: &str, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.root.join(bucket).join(key);
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p)?;
        }
        std::fs::write(&path, bytes)?;
        self.written.push(path);
        Ok(())
    }
}

fn parquet_bytes(columns: Vec<(&str, ArrayRef)>) -> std::io::Result<Vec<u8>> {
    let batch = RecordBatch::try_from_iter(columns).map_err(std::io::Error::other)?;
    let mut buf = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, batch.schema(), None)
        .map_err(std::io::Error::other)?;
    w.write(&batch).map_err(std::io::Error::other)?;
    w.close().map_err(std::io::Error::other)?;
    Ok(buf)
}

/// The sample lake: a bucket with a manifest naming every kind of entry, and one without.
/// Returns the files written (ours; anything else under `root` is a user's).
fn write_lake(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut w = Writer {
        root,
        written: vec![],
    };
    let b = "demo-lake";
    w.put(
        b,
        "openmetadata.json",
        br#"{
  "entries": [
    {"dataPath": "transactions", "structureFormat": "csv", "separator": ","},
    {"dataPath": "events", "structureFormat": "json"},
    {"dataPath": "cities", "structureFormat": "parquet", "isPartitioned": true,
     "partitionColumns": [{"name": "State", "dataType": "STRING"}]},
    {"dataPath": "sales/**/*.parquet", "autoPartitionDetection": true},
    {"dataPath": "warehouse", "structureFormat": "parquet", "depth": 2},
    {"dataPath": "docs/guide.pdf"},
    {"dataPath": "images", "unstructuredFormats": ["png", "jpg"]}
  ]
}
"#,
    )?;
    w.put(
        b,
        "transactions/2024-01.csv",
        b"id,amount,currency,booked_on\n1,10.5,EUR,2024-01-02\n2,99.0,USD,2024-01-03\n",
    )?;
    w.put(
        b,
        "events/2024-01-01.json",
        b"{\"event\":\"click\",\"user\":{\"id\":7,\"country\":\"PT\"},\"ts\":\"2024-01-01T10:00:00Z\"}\n{\"event\":\"view\",\"user\":{\"id\":8,\"country\":\"ES\"},\"ts\":\"2024-01-01T10:01:00Z\"}\n",
    )?;
    let cities = parquet_bytes(vec![
        (
            "city",
            Arc::new(StringArray::from(vec!["Austin", "Fresno"])) as ArrayRef,
        ),
        (
            "population",
            Arc::new(Int64Array::from(vec![961_855, 542_107])) as ArrayRef,
        ),
    ])?;
    w.put(b, "cities/State=TX/part-0.parquet", &cities)?;
    w.put(b, "cities/State=CA/part-0.parquet", &cities)?;
    let sales = parquet_bytes(vec![
        (
            "order_id",
            Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef,
        ),
        (
            "total",
            Arc::new(Float64Array::from(vec![9.99, 20.0, 5.5])) as ArrayRef,
        ),
    ])?;
    for (y, m) in [(2024, 1), (2024, 2), (2025, 1)] {
        w.put(
            b,
            &format!("sales/orders/year={y}/month={m}/part-0.parquet"),
            &sales,
        )?;
    }
    w.put(b, "sales/orders/_SUCCESS", b"")?;
    let users = parquet_bytes(vec![
        (
            "user_id",
            Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef,
        ),
        (
            "email",
            Arc::new(StringArray::from(vec!["a@example.com", "b@example.com"])) as ArrayRef,
        ),
    ])?;
    w.put(b, "warehouse/crm/users/part-0.parquet", &users)?;
    w.put(b, "warehouse/crm/accounts/part-0.parquet", &users)?;
    w.put(b, "warehouse/finance/ledger/part-0.parquet", &sales)?;
    w.put(b, "docs/guide.pdf", b"%PDF-1.4 sample\n")?;
    w.put(b, "images/logo.png", b"\x89PNG sample")?;
    w.put(b, "images/icons/search.png", b"\x89PNG sample")?;
    w.put(b, "images/icons/readme.txt", b"not an image")?;
    w.put(
        "raw-landing",
        "incoming/drop-001.bin",
        b"raw bytes without a manifest",
    )?;
    Ok(w.written)
}
