//! The pure validation step: raw [`Workflow`] → [`Validated`]. Regexes compiled, variants
//! chosen, cross-field rules checked, every problem gathered into one list. No I/O.

use super::{
    AwsCredentials, LogLevel, OpenMetadataServerConfig, PrefixConfig, S3Connection, S3metaOptions,
    SinkType, VerifySsl, Workflow,
};
use crate::filter::Filter;
use regex::Regex;
use std::fmt;
use std::sync::LazyLock;

/// One semantic problem, with the key path it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// Dotted key path.
    pub key_path: String,
    /// What is wrong and what was expected.
    pub message: String,
}

/// Every semantic problem of a config.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "invalid config at `{}`: {}", e.key_path, e.message)?;
        }
        Ok(())
    }
}

/// The global manifest variant in use.
#[derive(Debug, Clone)]
pub enum ManifestSource {
    /// `{}` or absent.
    None,
    /// `manifestFilePath`.
    Local(String),
    /// `manifestHttpPath`.
    Http(String),
    /// `prefixConfig` (+ optional `securityConfig`).
    S3 {
        /// Credentials for the manifest bucket; the ambient chain when absent.
        security_config: Option<Box<AwsCredentials>>,
        /// Bucket and folder.
        prefix: PrefixConfig,
    },
}

/// Which sink the run writes to.
#[derive(Debug, Clone)]
pub enum SinkKind {
    /// `metadata-rest`: the OpenMetadata server.
    MetadataRest(Box<OpenMetadataServerConfig>),
    /// `file`: a local JSON-lines catalog.
    File {
        /// Path, relative to the current directory.
        path: String,
    },
}

/// A workflow that passed validation: everything the run needs, resolved once. Nothing after
/// validation reads the raw YAML or re-checks what validation guaranteed.
#[derive(Debug, Clone)]
pub struct Validated {
    /// `source.serviceName`.
    pub service_name: String,
    /// `source.serviceConnection.config`, as configured: the service request's connection,
    /// `awsConfig`, `bucketNames` and `consoleEndpointURL`.
    pub connection: S3Connection,
    /// The compiled `sourceConfig.config.containerFilterPattern`.
    pub filter: Filter,
    /// The global manifest variant.
    pub manifest_source: ManifestSource,
    /// `sourceConfig.config.defaultManifest`: JSON text, parsed at run time (an invalid one
    /// is a warning of the run, as in the reference, not a config error).
    pub default_manifest: Option<String>,
    /// `sourceConfig.config.markDeletedContainers`.
    pub mark_deleted: bool,
    /// `sourceConfig.config.includeTags`.
    pub include_tags: bool,
    /// The sink.
    pub sink: SinkKind,
    /// Whether `storeServiceConnection` allows sending the connection.
    pub store_service_connection: bool,
    /// `workflowConfig.raiseOnError` and `successThreshold`: the exit decision.
    pub rules: RunRules,
    /// `workflowConfig.loggerLevel`.
    pub logger_level: LogLevel,
    /// `ingestionPipelineFQN`: the IngestionPipeline this run reports its status to.
    pub pipeline_fqn: Option<String>,
    /// `pipelineRunId`.
    pub run_id: Option<String>,
    /// Our own options (`s3meta:`), defaults filled in.
    pub options: S3metaOptions,
    /// `--shard I/N`: this worker's share of the buckets.
    pub shard: Option<Shard>,
    /// `--dry-run`: the sink lists what it would write and mark deleted, and writes nothing
    /// (no catalog file, no PUT, PATCH or DELETE to the server).
    pub dry_run: bool,
    /// `--full`: re-send every container, even one the server already holds unchanged.
    pub full: bool,
}

impl Validated {
    /// `source.serviceConnection.config.awsConfig`.
    pub fn aws(&self) -> &AwsCredentials {
        &self.connection.aws_config
    }

    /// `bucketNames` when non-empty: exactly these buckets, no ListBuckets, no filter.
    pub fn bucket_names(&self) -> Option<&[String]> {
        self.connection
            .bucket_names
            .as_deref()
            .filter(|n| !n.is_empty())
    }
}

/// What decides a run's exit code and pipeline state (reference §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunRules {
    /// `raiseOnError`: fail when a step is under the threshold.
    pub raise_on_error: bool,
    /// `successThreshold`, a percentage from 0 to 100.
    pub success_threshold: u32,
}

/// What the command line sets before validation (it is part of what is validated, not a
/// change made to a validated value).
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    /// `--shard I/N`.
    pub shard: Option<Shard>,
    /// `--dry-run`: read and infer everything, write nothing.
    pub dry_run: bool,
    /// `--full`: re-send every container.
    pub full: bool,
}

/// Worker `index` of `count`: the buckets whose name hashes to `index` modulo `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based index of this worker.
    pub index: u32,
    /// Number of workers.
    pub count: u32,
}

/// A `--shard` value that is not `I/N` with `0 <= I < N`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// No `/`.
    #[error("expected I/N, e.g. 0/4, found `{0}`")]
    Form(String),
    /// `I` is not a number.
    #[error("`{0}` is not a shard index")]
    Index(String),
    /// `N` is not a number.
    #[error("`{0}` is not a shard count")]
    Count(String),
    /// Out of range.
    #[error("expected 0 <= I < N, found {0}/{1}")]
    Range(u32, u32),
}

impl std::str::FromStr for Shard {
    type Err = ShardError;

    /// Parses `I/N` with `0 <= I < N`.
    fn from_str(s: &str) -> Result<Shard, ShardError> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| ShardError::Form(s.to_string()))?;
        let index: u32 = i
            .trim()
            .parse()
            .map_err(|_| ShardError::Index(i.to_string()))?;
        let count: u32 = n
            .trim()
            .parse()
            .map_err(|_| ShardError::Count(n.to_string()))?;
        if count == 0 || index >= count {
            return Err(ShardError::Range(index, count));
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// Whether `bucket` belongs to this shard. The split depends only on the bucket's name
    /// (FNV-1a), so every worker agrees without talking to the others.
    pub fn owns(&self, bucket: &str) -> bool {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in bucket.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h % u64::from(self.count) == u64::from(self.index)
    }
}

const PIPELINE: &str = "source.sourceConfig.config";
const AWS: &str = "source.serviceConnection.config.awsConfig";

impl Workflow {
    /// Validates the parsed workflow. Pure: no I/O, no environment.
    pub fn validate(self) -> Result<Validated, ValidationErrors> {
        self.validate_with(Overrides::default())
    }

    /// Validates the parsed workflow with what the command line adds (`--shard`).
    pub fn validate_with(self, overrides: Overrides) -> Result<Validated, ValidationErrors> {
        let mut errors = Vec::new();
        let mut err = |key_path: &str, message: String| {
            errors.push(ValidationError {
                key_path: key_path.to_string(),
                message,
            })
        };

        if !is_s3_source_type(&self.source.source_type) {
            err(
                "source.type",
                format!(
                    "expected `s3` (the S3 storage connector), found `{}`",
                    self.source.source_type
                ),
            );
        }
        let service_name = match &self.source.service_name {
            Some(n) if !n.trim().is_empty() => n.clone(),
            _ => {
                err(
                    "source.serviceName",
                    "required: the name of the StorageService".into(),
                );
                String::new()
            }
        };
        if service_name.contains('"') || service_name.contains("::") {
            err(
                "source.serviceName",
                "must not contain `\"` or `::` (OpenMetadata entity name rules)".into(),
            );
        }
        let connection = match &self.source.service_connection {
            Some(c) => {
                check_region(&c.config.aws_config, AWS, &mut err);
                check_endpoint(&c.config.aws_config, AWS, &mut err);
                if let Some(url) = &c.config.console_endpoint_url {
                    if url::Url::parse(url).is_err() {
                        err(
                            "source.serviceConnection.config.consoleEndpointURL",
                            format!("expected a URL, found `{url}`"),
                        );
                    }
                }
                Some(c.config.clone())
            }
            None => {
                err(
                    "source.serviceConnection",
                    "required by s3meta: reading the connection from the server by \
                     serviceName is not built yet"
                        .into(),
                );
                None
            }
        };

        let pipeline = &self.source.source_config.config;
        let filter = match &pipeline.container_filter_pattern {
            Some(p) => match Filter::compile(&p.includes, &p.excludes) {
                Ok(f) => f,
                Err(e) => {
                    err(&format!("{PIPELINE}.containerFilterPattern"), e.to_string());
                    Filter::default()
                }
            },
            None => Filter::default(),
        };

        let manifest_source = match &pipeline.storage_metadata_config_source {
            None => ManifestSource::None,
            Some(s) => {
                let key = format!("{PIPELINE}.storageMetadataConfigSource");
                let set = [
                    s.manifest_file_path.is_some(),
                    s.manifest_http_path.is_some(),
                    s.prefix_config.is_some() || s.security_config.is_some(),
                ]
                .iter()
                .filter(|b| **b)
                .count();
                if set > 1 {
                    err(
                        &key,
                        "expected one variant: `manifestFilePath`, `manifestHttpPath`, or \
                         `prefixConfig` (with optional `securityConfig`)"
                            .into(),
                    );
                    ManifestSource::None
                } else if let Some(p) = &s.manifest_file_path {
                    ManifestSource::Local(p.clone())
                } else if let Some(u) = &s.manifest_http_path {
                    if url::Url::parse(u).is_err() {
                        err(
                            &format!("{key}.manifestHttpPath"),
                            format!("expected a URL, found `{u}`"),
                        );
                    }
                    ManifestSource::Http(u.clone())
                } else if let Some(prefix) = &s.prefix_config {
                    if let Some(sc) = &s.security_config {
                        check_region(sc, &format!("{key}.securityConfig"), &mut err);
                    }
                    ManifestSource::S3 {
                        security_config: s.security_config.clone().map(Box::new),
                        prefix: prefix.clone(),
                    }
                } else if s.security_config.is_some() {
                    err(
                        &format!("{key}.prefixConfig"),
                        "required with `securityConfig`: `{containerName, objectPrefix}`".into(),
                    );
                    ManifestSource::None
                } else {
                    ManifestSource::None
                }
            }
        };

        let wc = &self.workflow_config;
        if wc.success_threshold > 100 {
            err(
                "workflowConfig.successThreshold",
                format!(
                    "expected an integer from 0 to 100, found {}",
                    wc.success_threshold
                ),
            );
        }

        // Whatever the sink: the server config may also serve pipeline status reports.
        if let Some(extra) = wc
            .open_metadata_server_config
            .as_ref()
            .and_then(|om| om.extra_headers.as_ref())
        {
            if let Err(e) = super::headers::check(extra) {
                err(
                    &format!(
                        "workflowConfig.openMetadataServerConfig.extraHeaders.{}",
                        e.name()
                    ),
                    e.to_string(),
                );
            }
        }

        let sink_type = self
            .sink
            .as_ref()
            .map_or(SinkType::MetadataRest, |s| s.sink_type);
        let sink = match sink_type {
            SinkType::File => {
                let options = self.sink.as_ref().and_then(|s| s.config.as_ref());
                // `path` (ours) or `filename` (the reference's file sink): the same thing.
                let path = match options.map(|c| (c.path.clone(), c.filename.clone())) {
                    Some((Some(_), Some(_))) => {
                        err(
                            "sink.config.filename",
                            "give `path` or `filename` (the same catalog file), not both".into(),
                        );
                        None
                    }
                    Some((path, filename)) => path.or(filename),
                    None => None,
                };
                match path {
                    Some(p) if !p.is_empty() => SinkKind::File { path: p },
                    _ => {
                        err(
                            "sink.config.path",
                            "required by the `file` sink: the catalog file to write".into(),
                        );
                        SinkKind::File {
                            path: String::new(),
                        }
                    }
                }
            }
            SinkType::MetadataRest => {
                if self
                    .sink
                    .as_ref()
                    .and_then(|s| s.config.as_ref())
                    .is_some_and(|c| c.path.is_some() || c.filename.is_some())
                {
                    err(
                        "sink.config.path",
                        "only the `file` sink takes `path` (or `filename`)".into(),
                    );
                }
                match &wc.open_metadata_server_config {
                    Some(om) => {
                        check_om(om, &mut err);
                        SinkKind::MetadataRest(Box::new(om.clone()))
                    }
                    None => {
                        err(
                            "workflowConfig.openMetadataServerConfig",
                            "required by the `metadata-rest` sink".into(),
                        );
                        SinkKind::File {
                            path: String::new(),
                        }
                    }
                }
            }
        };

        // Our options: the top-level `s3meta:` key (files only s3meta reads) or
        // `connectionArguments.s3meta` (files shared with the reference), not both.
        let in_arguments = self
            .source
            .service_connection
            .as_ref()
            .and_then(|c| c.config.connection_arguments.as_ref())
            .and_then(|a| a.get("s3meta"));
        let (options, prefix) = match (self.s3meta, in_arguments) {
            (Some(_), Some(_)) => {
                err(
                    ARGUMENTS_KEY,
                    "s3meta options are given here and under the top-level `s3meta:` key: keep one (connectionArguments.s3meta when the file is shared with the reference)".into(),
                );
                (S3metaOptions::default(), "s3meta")
            }
            (Some(o), None) => (o, "s3meta"),
            (None, Some(value)) => match options_from(value) {
                Ok(o) => (o, ARGUMENTS_KEY),
                Err((path, message)) => {
                    let key = if path.is_empty() {
                        ARGUMENTS_KEY.to_string()
                    } else {
                        format!("{ARGUMENTS_KEY}.{path}")
                    };
                    err(&key, message);
                    (S3metaOptions::default(), ARGUMENTS_KEY)
                }
            },
            (None, None) => (S3metaOptions::default(), "s3meta"),
        };
        let opts = &options;
        for (name, v) in [
            ("requestConcurrency", opts.request_concurrency),
            ("bucketConcurrency", opts.bucket_concurrency),
            ("entryConcurrency", opts.entry_concurrency),
            ("sampleScanLimit", opts.sample_scan_limit),
            ("globScanLimit", opts.glob_scan_limit),
            ("sampleFiles", opts.sample_files),
            ("textSampleRows", opts.text_sample_rows),
            ("maxArchiveMembers", opts.max_archive_members),
            ("maxColumnDepth", opts.max_column_depth),
            ("maxColumns", opts.max_columns),
        ] {
            if v == 0 {
                err(
                    &format!("{prefix}.{name}"),
                    "expected a number of at least 1".into(),
                );
            }
        }
        if opts.max_column_depth > 256 {
            // Column trees are walked recursively (merge, serialisation): bounded here.
            err(
                &format!("{prefix}.maxColumnDepth"),
                "expected a number from 1 to 256".into(),
            );
        }
        if opts.max_attempts == 0 {
            err(
                &format!("{prefix}.maxAttempts"),
                "expected a number of at least 1".into(),
            );
        }

        let connection = match connection {
            Some(c) if errors.is_empty() => c,
            _ => return Err(ValidationErrors(errors)),
        };
        let store_service_connection = wc
            .open_metadata_server_config
            .as_ref()
            .is_none_or(|om| om.store_service_connection);
        let rules = RunRules {
            raise_on_error: wc.raise_on_error,
            success_threshold: wc.success_threshold,
        };
        let logger_level = wc.logger_level;
        let pipeline = self.source.source_config.config;
        Ok(Validated {
            service_name,
            connection,
            filter,
            manifest_source,
            default_manifest: pipeline.default_manifest,
            mark_deleted: pipeline.mark_deleted_containers,
            include_tags: pipeline.include_tags,
            sink,
            store_service_connection,
            rules,
            logger_level,
            pipeline_fqn: self.ingestion_pipeline_fqn,
            run_id: self.pipeline_run_id,
            options,
            shard: overrides.shard,
            dry_run: overrides.dry_run,
            full: overrides.full,
        })
    }
}

/// The reference strips `-`/`_` and matches case-insensitively; `s3` is the only storage
/// service type we run.
fn is_s3_source_type(t: &str) -> bool {
    let norm: String = t.chars().filter(|c| *c != '-' && *c != '_').collect();
    norm.eq_ignore_ascii_case("s3")
}

static REGION: LazyLock<Regex> = LazyLock::new(|| {
    // Every AWS partition's region names: `us-east-1`, `us-gov-west-1`, `cn-north-1`,
    // `us-isob-east-1`, `eu-isoe-west-1`, `ap-southeast-7`, `mx-central-1`, …
    #[allow(clippy::unwrap_used)] // a literal pattern, checked by the tests
    Regex::new(r"^[a-z]{2}(-(gov|iso[a-z]?))?-[a-z]+-\d{1,2}$").unwrap()
});

fn check_region(aws: &AwsCredentials, base: &str, err: &mut impl FnMut(&str, String)) {
    let r = &aws.aws_region;
    // DIFF(spec §13 #23): with `endPointURL` (MinIO, Ceph, …) any non-empty region name is
    // accepted; the reference rejects names botocore does not know.
    if aws.end_point_url.is_some() {
        if r.trim().is_empty() {
            err(
                &format!("{base}.awsRegion"),
                "expected a region name, found an empty string".into(),
            );
        }
        return;
    }
    if !REGION.is_match(r) {
        let hint = if r.len() > 1
            && r.ends_with(|c: char| c.is_ascii_lowercase())
            && REGION.is_match(&r[..r.len() - 1])
        {
            format!(
                " (`{r}` looks like an availability zone; the region is `{}`)",
                &r[..r.len() - 1]
            )
        } else {
            String::new()
        };
        err(
            &format!("{base}.awsRegion"),
            format!("Invalid AWS Region `{r}`: expected an AWS region such as `us-east-1`{hint}"),
        );
    }
}

fn check_endpoint(aws: &AwsCredentials, base: &str, err: &mut impl FnMut(&str, String)) {
    if let Some(u) = &aws.end_point_url {
        match url::Url::parse(u) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {}
            _ => err(
                &format!("{base}.endPointURL"),
                format!("expected an http(s) URL, found `{u}`"),
            ),
        }
    }
}

fn check_om(om: &OpenMetadataServerConfig, err: &mut impl FnMut(&str, String)) {
    let base = "workflowConfig.openMetadataServerConfig";
    let hp = om.host_port.trim_end_matches('/');
    if url::Url::parse(hp).is_err() || !hp.ends_with("/api") {
        err(
            &format!("{base}.hostPort"),
            format!(
                "expected the server's API URL ending in `/api`, e.g. `http://localhost:8585/api`, found `{}`",
                om.host_port
            ),
        );
    }
    if om.verify_ssl == VerifySsl::Validate
        && om
            .ssl_config
            .as_ref()
            .and_then(|s| s.ca_certificate.as_ref())
            .is_none()
    {
        err(
            &format!("{base}.sslConfig.caCertificate"),
            "required when `verifySSL: validate`".into(),
        );
    }
}

/// Where a file shared with the reference keeps our options.
const ARGUMENTS_KEY: &str = "source.serviceConnection.config.connectionArguments.s3meta";

/// Our options from `connectionArguments.s3meta`: the key path (below it) and the message
/// when they do not parse.
fn options_from(value: &serde_json::Value) -> Result<S3metaOptions, (String, String)> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        (
            if path == "." { String::new() } else { path },
            e.into_inner().to_string(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_pattern_accepts_every_partition() {
        for r in [
            "us-east-1",
            "eu-west-3",
            "us-gov-west-1",
            "cn-north-1",
            "us-isob-east-1",
            "ap-southeast-7",
        ] {
            assert!(REGION.is_match(r), "{r}");
        }
        for r in ["us-east-1a", "local", "US-EAST-1", ""] {
            assert!(!REGION.is_match(r), "{r}");
        }
    }

    #[test]
    fn shards_split_buckets_exactly_once() {
        let shards: Vec<Shard> = (0..3).map(|i| format!("{i}/3").parse().unwrap()).collect();
        for b in ["a", "sales", "logs-2024", "x.y.z", "raw"] {
            assert_eq!(shards.iter().filter(|s| s.owns(b)).count(), 1, "{b}");
        }
        assert!("3/3".parse::<Shard>().is_err());
        assert!("1".parse::<Shard>().is_err());
        assert!("0/0".parse::<Shard>().is_err());
    }

    #[test]
    fn source_type_is_matched_like_the_reference() {
        assert!(is_s3_source_type("s3"));
        assert!(is_s3_source_type("S3"));
        assert!(is_s3_source_type("s-3"));
        assert!(!is_s3_source_type("s3datalake"));
    }
}
