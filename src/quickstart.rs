//! `s3meta quickstart`: a sample lake, served by the embedded S3 server, ingested through
//! the real path (SDK, SigV4, listings, ranged reads) into the file sink. Nothing to install,
//! no AWS account, no OpenMetadata server.

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

const ACCESS_KEY: &str = "s3meta-quickstart";
const SECRET_KEY: &str = "s3meta-quickstart-secret";

/// What the quickstart produced.
#[derive(Debug)]
pub struct Quickstart {
    /// The catalog file.
    pub catalog: PathBuf,
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
pub async fn run(base: &Path) -> Result<Quickstart, Error> {
    let dir = base.join(DIR);
    let lake = dir.join("lake");
    if lake.exists() {
        std::fs::remove_dir_all(&lake).map_err(|e| Error::Lake(e.to_string()))?;
    }
    write_lake(&lake).map_err(|e| Error::Lake(e.to_string()))?;
    let server = embedded::serve(&lake, ACCESS_KEY, SECRET_KEY).await?;
    let catalog = dir.join(CATALOG);
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
    let validated = config::parse_str(&yaml)?
        .validate()
        .map_err(config::ConfigError::from)?;
    let rules = validated.rules;
    let status = crate::workflow::run_ingest(validated).await?;
    drop(server);
    Ok(Quickstart {
        catalog,
        status,
        rules,
    })
}

fn put(root: &Path, bucket: &str, key: &str, bytes: &[u8]) -> std::io::Result<()> {
    let path = root.join(bucket).join(key);
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p)?;
    }
    std::fs::write(path, bytes)
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
fn write_lake(root: &Path) -> std::io::Result<()> {
    let b = "demo-lake";
    put(
        root,
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
    put(
        root,
        b,
        "transactions/2024-01.csv",
        b"id,amount,currency,booked_on\n1,10.5,EUR,2024-01-02\n2,99.0,USD,2024-01-03\n",
    )?;
    put(
        root,
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
    put(root, b, "cities/State=TX/part-0.parquet", &cities)?;
    put(root, b, "cities/State=CA/part-0.parquet", &cities)?;
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
        put(
            root,
            b,
            &format!("sales/orders/year={y}/month={m}/part-0.parquet"),
            &sales,
        )?;
    }
    put(root, b, "sales/orders/_SUCCESS", b"")?;
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
    put(root, b, "warehouse/crm/users/part-0.parquet", &users)?;
    put(root, b, "warehouse/crm/accounts/part-0.parquet", &users)?;
    put(root, b, "warehouse/finance/ledger/part-0.parquet", &sales)?;
    put(root, b, "docs/guide.pdf", b"%PDF-1.4 sample\n")?;
    put(root, b, "images/logo.png", b"\x89PNG sample")?;
    put(root, b, "images/icons/search.png", b"\x89PNG sample")?;
    put(root, b, "images/icons/readme.txt", b"not an image")?;
    put(
        root,
        "raw-landing",
        "incoming/drop-001.bin",
        b"raw bytes without a manifest",
    )?;
    Ok(())
}
