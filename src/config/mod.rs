//! The workflow configuration: one struct per YAML object, mirroring OpenMetadata's
//! `OpenMetadataWorkflowConfig` (reference §1), plus our own `s3meta:` key.
//!
//! This module owns parsing (YAML or JSON, with the key path and line of every error) and the
//! pure validation step that turns the raw [`Workflow`] into a [`Validated`] one. It never does
//! I/O beyond reading the file it is given, and never reads the environment.

pub mod headers;
mod load;
mod secret;
mod validate;

pub use load::{load_file, parse_str, parse_value, ConfigError};
pub use secret::Secret;
pub use validate::{
    ManifestSource, Overrides, RunRules, Shard, ShardError, SinkKind, Validated, ValidationError,
    ValidationErrors,
};

use serde::Deserialize;
use std::collections::BTreeMap;

/// Name of the manifest every bucket may hold at its root.
pub const MANIFEST_FILE: &str = "openmetadata.json";
/// Name of the global manifest read from S3 under `prefixConfig.objectPrefix`.
pub const GLOBAL_MANIFEST_FILE: &str = "openmetadata_storage_manifest.json";
/// Default `workflowConfig.successThreshold`, as in the reference.
pub const DEFAULT_SUCCESS_THRESHOLD: u32 = 90;
/// Default `assumeRoleSessionName`, as in the reference.
pub const DEFAULT_SESSION_NAME: &str = "OpenMetadataSession";

/// The top-level workflow file (`OpenMetadataWorkflowConfig`, extra keys forbidden).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Workflow {
    /// What to read: the S3 service and its pipeline options.
    pub source: Source,
    /// Where to write. Absent means `metadata-rest`, as in the reference.
    #[serde(default)]
    pub sink: Option<SinkConfig>,
    /// Logging, thresholds and the OpenMetadata server.
    pub workflow_config: WorkflowConfig,
    /// Accepted for compatibility, unused by a storage workflow.
    #[serde(default)]
    pub processor: Option<serde_json::Value>,
    /// Accepted for compatibility, unused by a storage workflow.
    #[serde(default)]
    pub stage: Option<serde_json::Value>,
    /// Accepted for compatibility, unused by a storage workflow.
    #[serde(default)]
    pub bulk_sink: Option<serde_json::Value>,
    /// FQN of the IngestionPipeline this run reports its status to.
    #[serde(default, rename = "ingestionPipelineFQN")]
    pub ingestion_pipeline_fqn: Option<String>,
    /// Run id (a UUID) of this pipeline run.
    #[serde(default)]
    pub pipeline_run_id: Option<String>,
    /// Accepted for compatibility; s3meta does not stream logs to the server.
    #[serde(default)]
    pub enable_streamable_logs: bool,
    /// Accepted for compatibility.
    #[serde(default)]
    pub ingestion_runner_name: Option<String>,
    /// Our own options, in a file only s3meta reads. The reference refuses an unknown
    /// top-level key, so a file shared with it keeps them under
    /// `serviceConnection.config.connectionArguments.s3meta` instead (a map the reference
    /// stores and never reads); see [`S3metaOptions`].
    #[serde(default)]
    pub s3meta: Option<S3metaOptions>,
}

/// `source`: the connector type, the service and its connection.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Source {
    /// Must name the S3 storage connector (`s3`, matched as the reference matches it).
    #[serde(rename = "type")]
    pub source_type: String,
    /// Name of the StorageService entity; the first part of every FQN.
    #[serde(default)]
    pub service_name: Option<String>,
    /// The connection. Required by s3meta (fetching it from the server is not built yet).
    #[serde(default)]
    pub service_connection: Option<ServiceConnection>,
    /// The pipeline options.
    pub source_config: SourceConfig,
}

/// `source.serviceConnection`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConnection {
    /// The S3 connection.
    pub config: S3Connection,
}

/// `S3Connection` (extra keys forbidden).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct S3Connection {
    /// Always `S3`.
    #[serde(rename = "type", default = "default_s3_type")]
    pub connection_type: S3Type,
    /// Credentials, region and endpoint.
    pub aws_config: AwsCredentials,
    /// When non-empty: exactly these buckets, no ListBuckets, no filter.
    #[serde(default)]
    pub bucket_names: Option<Vec<String>>,
    /// Stored on the service only.
    #[serde(default)]
    pub connection_options: Option<BTreeMap<String, String>>,
    /// Stored on the service only.
    #[serde(default)]
    pub connection_arguments: Option<BTreeMap<String, serde_json::Value>>,
    /// Stored on the service only; ingestion uses `sourceConfig.config.containerFilterPattern`.
    #[serde(default = "default_connection_filter")]
    pub container_filter_pattern: FilterPattern,
    /// Stored on the service only.
    #[serde(default = "yes")]
    pub supports_metadata_extraction: bool,
    /// Stored on the service only.
    #[serde(default = "yes")]
    pub supports_profiler: bool,
    /// Base URL of an S3 console (MinIO, …): changes `sourceUrl` and skips GetBucketLocation.
    #[serde(default, rename = "consoleEndpointURL")]
    pub console_endpoint_url: Option<String>,
}

/// The only connection type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum S3Type {
    /// Amazon S3 or a compatible store.
    S3,
}

fn default_s3_type() -> S3Type {
    S3Type::S3
}

fn yes() -> bool {
    true
}

fn default_connection_filter() -> FilterPattern {
    FilterPattern {
        includes: vec![],
        excludes: vec!["_SUCCESS".to_string()],
    }
}

/// `AWSCredentials` (extra keys forbidden).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AwsCredentials {
    /// Required. A real AWS region, or any name when `endPointURL` is set.
    pub aws_region: String,
    /// Access key id.
    #[serde(default)]
    pub aws_access_key_id: Option<String>,
    /// Secret access key.
    #[serde(default)]
    pub aws_secret_access_key: Option<Secret>,
    /// Session token of temporary credentials.
    #[serde(default)]
    pub aws_session_token: Option<Secret>,
    /// S3-compatible endpoint, also used for CloudWatch (not STS).
    #[serde(default, rename = "endPointURL")]
    pub end_point_url: Option<String>,
    /// Named profile from the shared config and credentials files.
    #[serde(default)]
    pub profile_name: Option<String>,
    /// Role to assume through STS.
    #[serde(default)]
    pub assume_role_arn: Option<String>,
    /// `RoleSessionName` of the AssumeRole call.
    #[serde(default = "default_session_name")]
    pub assume_role_session_name: String,
    /// `SourceIdentity` of the AssumeRole call, sent only when set.
    #[serde(default)]
    pub assume_role_source_identity: Option<String>,
    /// Accepted and ignored, as in the reference.
    #[serde(default)]
    pub enabled: bool,
}

fn default_session_name() -> String {
    DEFAULT_SESSION_NAME.to_string()
}

/// `{includes: [regex], excludes: [regex]}`.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct FilterPattern {
    /// A name must match one of these (when any are given).
    #[serde(default)]
    pub includes: Vec<String>,
    /// A name matching any of these is filtered out; excludes win.
    #[serde(default)]
    pub excludes: Vec<String>,
}

/// `source.sourceConfig`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// The storage metadata pipeline options.
    pub config: StorageMetadataPipeline,
}

/// `StorageServiceMetadataPipeline` (extra keys forbidden).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StorageMetadataPipeline {
    /// Always `StorageMetadata`.
    #[serde(rename = "type", default = "default_pipeline_type")]
    pub pipeline_type: PipelineType,
    /// Applied to discovered bucket names and to every manifest entry's `dataPath`.
    #[serde(default)]
    pub container_filter_pattern: Option<FilterPattern>,
    /// The global manifest, if any.
    #[serde(default)]
    pub storage_metadata_config_source: Option<MetadataConfigSource>,
    /// Soft-delete containers of the service not seen in this run.
    #[serde(default = "yes")]
    pub mark_deleted_containers: bool,
    /// Accepted; no effect on this connector.
    #[serde(default)]
    pub override_metadata: bool,
    /// Bucket and object tags become classifications and tags.
    #[serde(default)]
    pub include_tags: bool,
    /// Fallback manifest (JSON text; each entry needs `containerName`).
    #[serde(default)]
    pub default_manifest: Option<String>,
}

/// The only pipeline type s3meta runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum PipelineType {
    /// Storage metadata ingestion.
    StorageMetadata,
}

fn default_pipeline_type() -> PipelineType {
    PipelineType::StorageMetadata
}

/// `storageMetadataConfigSource`, all variants in one struct: the variant is chosen in
/// validation by the keys present, so that an error inside a variant keeps its key path and
/// line instead of becoming "did not match any variant".
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetadataConfigSource {
    /// Local variant: path of the manifest file.
    #[serde(default)]
    pub manifest_file_path: Option<String>,
    /// HTTP variant: URL of the manifest.
    #[serde(default)]
    pub manifest_http_path: Option<String>,
    /// S3 variant: credentials for the manifest bucket (ambient chain when absent).
    #[serde(default)]
    pub security_config: Option<AwsCredentials>,
    /// S3 variant: where the manifest is.
    #[serde(default)]
    pub prefix_config: Option<PrefixConfig>,
}

/// `prefixConfig` of the S3 global manifest.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrefixConfig {
    /// Bucket holding the manifest.
    pub container_name: String,
    /// Folder inside it (used verbatim).
    #[serde(default)]
    pub object_prefix: Option<String>,
}

/// `sink`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {
    /// `metadata-rest` or `file`.
    #[serde(rename = "type")]
    pub sink_type: SinkType,
    /// Options of that sink (`config:` with nothing under it is the same as no options).
    #[serde(default)]
    pub config: Option<SinkOptions>,
}

/// `sink.type`: which sink the run writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum SinkType {
    /// The OpenMetadata server's REST API (the reference's default).
    #[serde(rename = "metadata-rest")]
    MetadataRest,
    /// A local JSON-lines catalog.
    #[serde(rename = "file")]
    File,
}

/// The union of the options of our sinks; validation checks which belong to the chosen one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkOptions {
    /// `file`: path of the catalog file, relative to the current directory.
    #[serde(default)]
    pub path: Option<String>,
    /// `file`: the reference's name for the same path (its file sink takes `filename`).
    #[serde(default)]
    pub filename: Option<String>,
    /// `metadata-rest`: accepted for compatibility.
    #[serde(default)]
    pub api_endpoint: Option<String>,
    /// `metadata-rest`: accepted for compatibility.
    #[serde(default)]
    pub bulk_sink_batch_size: Option<u32>,
    /// `metadata-rest`: accepted for compatibility.
    #[serde(default)]
    pub enable_async_pipeline: Option<bool>,
    /// `metadata-rest`: accepted for compatibility.
    #[serde(default)]
    pub async_pipeline_workers: Option<u32>,
    /// `metadata-rest`: accepted for compatibility.
    #[serde(default)]
    pub override_metadata: Option<bool>,
}

/// `workflowConfig`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkflowConfig {
    /// Log level; `RUST_LOG` overrides it.
    #[serde(default)]
    pub logger_level: LogLevel,
    /// Exit non-zero when a step's success % is under `successThreshold`.
    #[serde(default = "yes")]
    pub raise_on_error: bool,
    /// Percentage (0..=100) a step must reach.
    #[serde(default = "default_threshold")]
    pub success_threshold: u32,
    /// The OpenMetadata server. Required by the `metadata-rest` sink only.
    #[serde(default)]
    pub open_metadata_server_config: Option<OpenMetadataServerConfig>,
    /// Free-form, unused.
    #[serde(default)]
    pub config: Option<BTreeMap<String, serde_json::Value>>,
}

fn default_threshold() -> u32 {
    DEFAULT_SUCCESS_THRESHOLD
}

/// `loggerLevel`: the reference's enum (`WARNING` is rejected there too).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum LogLevel {
    /// Everything.
    #[serde(rename = "DEBUG")]
    Debug,
    /// The default.
    #[default]
    #[serde(rename = "INFO")]
    Info,
    /// Warnings and errors.
    #[serde(rename = "WARN")]
    Warn,
    /// Errors only.
    #[serde(rename = "ERROR")]
    Error,
}

impl LogLevel {
    /// The `tracing` filter directive for this level.
    pub fn directive(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// `openMetadataServerConfig` (`OpenMetadataConnection`, extra keys forbidden).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OpenMetadataServerConfig {
    /// `http(s)://host:port/api`.
    pub host_port: String,
    /// Accepted; the JWT is used whatever the value, as in the reference.
    #[serde(default)]
    pub auth_provider: Option<String>,
    /// The bot's JWT.
    #[serde(default)]
    pub security_config: Option<OmSecurityConfig>,
    /// `v1`.
    #[serde(default)]
    pub api_version: Option<String>,
    /// `no-ssl` (the default), `ignore` or `validate`.
    #[serde(default, rename = "verifySSL")]
    pub verify_ssl: VerifySsl,
    /// CA certificate for `validate`.
    #[serde(default)]
    pub ssl_config: Option<SslConfig>,
    /// Server major.minor must match ours.
    #[serde(default = "yes")]
    pub enable_version_validation: bool,
    /// Send the connection in CreateStorageServiceRequest.
    #[serde(default = "yes")]
    pub store_service_connection: bool,
    /// Accepted for compatibility.
    #[serde(default)]
    pub force_entity_overwriting: bool,
    /// Extra HTTP headers.
    #[serde(default)]
    pub extra_headers: Option<BTreeMap<String, String>>,
    /// Accepted for compatibility.
    #[serde(rename = "type", default)]
    pub connection_type: Option<String>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub cluster_name: Option<String>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub secrets_manager_provider: Option<String>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub secrets_manager_loader: Option<String>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub limit_records: Option<u64>,
    /// Accepted for compatibility (the reference's `include*`/`supports*` flags).
    #[serde(default)]
    pub include_topics: Option<bool>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub include_tables: Option<bool>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub include_dashboards: Option<bool>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub include_pipelines: Option<bool>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub include_ml_models: Option<bool>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub include_users: Option<bool>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub include_teams: Option<bool>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub include_glossary_terms: Option<bool>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub include_tags: Option<bool>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub include_policy: Option<bool>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub include_messaging_services: Option<bool>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub include_database_services: Option<bool>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub include_pipeline_services: Option<bool>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub supports_data_insight_extraction: Option<bool>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub supports_elastic_search_reindexing_extraction: Option<bool>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub elasticsearch: Option<serde_json::Value>,
}

/// `verifySSL`: how the OpenMetadata server's certificate is checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum VerifySsl {
    /// Plain HTTP, or HTTPS with the system's roots (the reference's default).
    #[default]
    #[serde(rename = "no-ssl")]
    NoSsl,
    /// HTTPS without checking the certificate.
    #[serde(rename = "ignore")]
    Ignore,
    /// HTTPS checked against `sslConfig.caCertificate`.
    #[serde(rename = "validate")]
    Validate,
}

/// `securityConfig` of the OpenMetadata connection.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OmSecurityConfig {
    /// The token, or the path of a file holding it.
    #[serde(default)]
    pub jwt_token: Option<Secret>,
}

/// `sslConfig`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SslConfig {
    /// Path of a PEM CA certificate.
    #[serde(default)]
    pub ca_certificate: Option<String>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub ssl_certificate: Option<String>,
    /// Accepted for compatibility.
    #[serde(default)]
    pub ssl_key: Option<String>,
}

/// Our own options, under the top-level `s3meta:` key.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct S3metaOptions {
    /// S3 requests in flight at once for the whole run, whatever sends them (listings,
    /// manifests, sample reads): the run-wide budget that keeps a slow link full. Throttling
    /// answers shrink it for the rest of the run and successes grow it back (`store::budget`).
    pub request_concurrency: usize,
    /// Buckets processed at once.
    pub bucket_concurrency: usize,
    /// Entries (sample reads, listings) processed at once inside one bucket.
    pub entry_concurrency: usize,
    /// Keys scanned at most when choosing a sample file for one container.
    pub sample_scan_limit: usize,
    /// Keys scanned at most by one glob expansion (the reference stops at 100,000).
    pub glob_scan_limit: usize,
    /// Keys a bucket may have for it to be listed once for all its manifest entries (instead
    /// of once per entry), default 50,000; 0 turns the shared listing off. The shared listing
    /// is also given up once it has cost as many pages as the entries would.
    pub bucket_listing_cap: usize,
    /// Seconds between status lines on stderr when it is not a terminal (default 30);
    /// 0 turns them off.
    pub status_interval_secs: u64,
    /// Timeout of the HTTP global manifest fetch, in seconds.
    pub http_timeout_secs: u64,
    /// Largest manifest read, in bytes.
    pub max_manifest_bytes: u64,
    /// Attempts per AWS request (the SDK's standard retry mode, with backoff).
    pub max_attempts: u32,
    /// `metadata-rest`: container writes in flight at once (parents always land first).
    pub sink_concurrency: usize,
    /// `metadata-rest`: attempts per OpenMetadata call; 429, 5xx and connection failures
    /// are retried with exponential backoff and jitter, honouring `Retry-After`.
    pub sink_max_attempts: u32,
    /// `metadata-rest`: read timeout of one OpenMetadata call, in seconds.
    pub sink_timeout_secs: u64,
    /// Ask CloudWatch for each bucket's object count and size. Turn off for S3-compatible
    /// stores without CloudWatch (MinIO, …): buckets then report 0, as the reference does
    /// when CloudWatch has no data, and no CloudWatch call is made.
    pub bucket_metrics: bool,
    /// Sample files read per structured container; their schemas are merged (default 1).
    pub sample_files: usize,
    /// Bytes of a CSV/TSV/JSON Lines/Avro file read to learn its schema (after
    /// decompression, too), default 1 MiB. The prefix is cut at its last complete line.
    pub text_sample_bytes: u64,
    /// Rows (CSV/TSV) or records (JSON Lines) typed at most, default 1000.
    pub text_sample_rows: usize,
    /// Largest JSON document (not lines) read whole, default 16 MiB; a larger one is read
    /// as a stream of its top-level array's items within this many bytes. Also the largest
    /// archive member held in memory whole (a parquet member of a tar or a deflated zip).
    pub max_document_bytes: u64,
    /// Largest archive read (zip and tar), default 2 GiB, as the reference.
    pub max_archive_bytes: u64,
    /// Archive members larger than this (uncompressed) are skipped, default 256 MiB, as the
    /// reference.
    pub max_member_bytes: u64,
    /// Archive members read at most per archive, default 1000; the rest are skipped with
    /// a warning.
    pub max_archive_members: usize,
    /// Deepest column tree kept (struct/array nesting), default 64; deeper fields are cut
    /// with a warning naming the file.
    pub max_column_depth: usize,
    /// Most columns (nested fields included) kept per file, default 10,000; the rest are
    /// cut with a warning naming the file.
    pub max_columns: usize,
    /// A file where each run keeps the columns its sample files gave, so that the next run
    /// reads no sample whose key, size and modification time are unchanged (none: off).
    pub state_file: Option<String>,
    /// The most containers one run may mark deleted (`markDeletedContainers`): a count, or a
    /// percentage of the service's containers (`"50%"`, the default). Over it, the run
    /// deletes nothing and says so.
    pub max_deletions: MaxDeletions,
    /// Discover the datasets of a bucket that has no manifest (no bucket file, no global or
    /// default entry) from its listing, and ingest them as `manifest suggest` would write
    /// them. A bucket with a manifest is untouched. Default false.
    pub auto_discovery: bool,
}

/// `s3meta.maxDeletions`: how many containers one run may mark deleted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaxDeletions {
    /// At most this many.
    Count(u64),
    /// At most this percentage (0–100) of the service's live containers; never blocks
    /// [`MaxDeletions::FLOOR`] or fewer.
    Percent(f64),
}

impl MaxDeletions {
    /// A percentage never blocks a run that would delete this many containers or fewer: a
    /// small service losing a few containers is ordinary, not an accident.
    pub const FLOOR: u64 = 10;

    /// Whether a run may mark `n` of the service's `total` live containers deleted.
    pub fn allows(self, n: u64, total: u64) -> bool {
        match self {
            MaxDeletions::Count(max) => n <= max,
            MaxDeletions::Percent(p) => {
                n <= Self::FLOOR || (n as f64) <= p / 100.0 * (total.max(n) as f64)
            }
        }
    }
}

impl std::fmt::Display for MaxDeletions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MaxDeletions::Count(n) => write!(f, "{n}"),
            MaxDeletions::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl<'de> Deserialize<'de> for MaxDeletions {
    /// A non-negative integer (a count) or a string `"N%"` with N from 0 to 100.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = MaxDeletions;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a count of containers (e.g. 500) or a percentage (e.g. \"50%\")")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<MaxDeletions, E> {
                Ok(MaxDeletions::Count(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<MaxDeletions, E> {
                u64::try_from(v)
                    .map(MaxDeletions::Count)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<MaxDeletions, E> {
                let bad = || E::invalid_value(serde::de::Unexpected::Str(v), &self);
                match v.trim().strip_suffix('%') {
                    Some(p) => {
                        let p: f64 = p.trim().parse().map_err(|_| bad())?;
                        if (0.0..=100.0).contains(&p) {
                            Ok(MaxDeletions::Percent(p))
                        } else {
                            Err(bad())
                        }
                    }
                    None => v.trim().parse().map(MaxDeletions::Count).map_err(|_| bad()),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl Default for S3metaOptions {
    /// The one place our options' defaults are written (serde fills absent keys from it).
    fn default() -> Self {
        S3metaOptions {
            request_concurrency: 64,
            bucket_concurrency: 32,
            entry_concurrency: 64,
            sample_scan_limit: 10_000,
            glob_scan_limit: 100_000,
            bucket_listing_cap: 50_000,
            status_interval_secs: 30,
            http_timeout_secs: 30,
            max_manifest_bytes: 16 * MIB,
            max_attempts: 5,
            sink_concurrency: 128,
            sink_max_attempts: 5,
            sink_timeout_secs: 300,
            bucket_metrics: true,
            sample_files: 1,
            text_sample_bytes: MIB,
            text_sample_rows: 1000,
            max_document_bytes: 16 * MIB,
            max_archive_bytes: 2048 * MIB,
            max_member_bytes: 256 * MIB,
            max_archive_members: 1000,
            max_column_depth: 64,
            max_columns: 10_000,
            state_file: None,
            max_deletions: MaxDeletions::Percent(50.0),
            auto_discovery: false,
        }
    }
}

const MIB: u64 = 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_deletions_is_a_count_or_a_percentage() {
        let parse = |y: &str| serde_saphyr::from_str::<S3metaOptions>(y).map(|o| o.max_deletions);
        assert_eq!(
            parse("maxDeletions: 500").unwrap(),
            MaxDeletions::Count(500)
        );
        assert_eq!(
            parse("maxDeletions: 25%").unwrap(),
            MaxDeletions::Percent(25.0)
        );
        assert_eq!(
            parse("maxDeletions: \"100 %\"").unwrap(),
            MaxDeletions::Percent(100.0)
        );
        assert_eq!(parse("{}").unwrap(), MaxDeletions::Percent(50.0));
        for bad in [
            "maxDeletions: 101%",
            "maxDeletions: -1",
            "maxDeletions: lots",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_guard_counts_and_percentages() {
        let half = MaxDeletions::Percent(50.0);
        assert!(
            half.allows(10, 10),
            "10 or fewer never blocked by a percentage"
        );
        assert!(half.allows(50, 100));
        assert!(!half.allows(51, 100));
        assert!(!half.allows(11, 12));
        assert!(MaxDeletions::Count(3).allows(3, 3));
        assert!(!MaxDeletions::Count(3).allows(4, 1000));
        assert!(MaxDeletions::Percent(100.0).allows(1_000_000, 1_000_000));
    }
}
