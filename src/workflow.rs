//! Orchestration: config → buckets → manifests → plan → inference → entities → sink.
//!
//! The workflow owns concurrency (buckets, entries and sample reads, each under its own
//! bound) and the status. Results are produced concurrently but written in a deterministic
//! order: buckets in discovery order, and inside a bucket the bucket container first, then
//! the structured pass, then the unstructured pass, every parent before its children.

use crate::aws;
use crate::config::{ManifestSource, SinkKind, Validated, MANIFEST_FILE};
use crate::entity::{
    self, child_fqn, full_path, invalid_name, quote_name, Column, Console, Container, DataModel,
    ParentRef,
};
use crate::infer::{self, Limits, Sample};
use crate::manifest::{self, Entry, GlobalEntry, GlobalSource};
use crate::plan::{self, PlanContext, Planned, StructuredPlan};
use crate::sink::{self, file::FileSink, Seen, ServiceInfo, Sink};
use crate::status::{RunStatus, StepStatus};
use crate::store::{s3::S3Store, ErrorKind, ObjectStore};
use futures::stream::{self, StreamExt};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// Name of the source step in the summary, as in the reference.
pub const SOURCE_STEP: &str = "S3";

/// A failure that stops the run before or instead of ingesting.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The sink cannot be used.
    #[error("sink: {0}")]
    Sink(#[from] sink::Error),
    /// A sink type that is not built yet.
    #[error("the `{0}` sink is not built yet; use `sink: {{type: file, config: {{path: …}}}}`")]
    SinkNotBuilt(&'static str),
}

/// What one bucket produced.
#[derive(Debug)]
struct BucketResult {
    fqn: String,
    containers: Vec<Container>,
    status: StepStatus,
    complete: bool,
}

/// Everything the per-bucket work shares.
#[derive(Debug)]
struct Shared {
    v: Validated,
    store: Arc<dyn ObjectStore>,
    global: Vec<GlobalEntry>,
    default_manifest: Vec<GlobalEntry>,
    limits: Limits,
}

/// Runs an ingestion with the configured sink.
pub async fn run_ingest(v: Validated) -> Result<RunStatus, InitError> {
    let sink: Box<dyn Sink> = match &v.sink {
        SinkKind::File { path } => Box::new(FileSink::new(path)),
        SinkKind::MetadataRest(_) => return Err(InitError::SinkNotBuilt("metadata-rest")),
    };
    let sdk = aws::sdk_config(&v.aws, &v.raw.s3meta).await;
    let store: Arc<dyn ObjectStore> = Arc::new(S3Store::new(aws::s3_client(
        &sdk,
        v.aws.end_point_url.as_deref(),
    )));
    run_with(v, store, sink).await
}

/// Runs an ingestion against a given store and sink (the seam the tests and quickstart use
/// as well as `ingest`).
pub async fn run_with(
    v: Validated,
    store: Arc<dyn ObjectStore>,
    mut sink: Box<dyn Sink>,
) -> Result<RunStatus, InitError> {
    let started = Instant::now();
    let mut source = StepStatus::new(SOURCE_STEP);
    let mut seen = Seen::default();
    let mut everything_incomplete = false;
    let opts = v.raw.s3meta.clone();
    let pipeline = v.raw.source.source_config.config.clone();

    // Global manifest, once.
    let global = match load_global(&v, store.as_ref()).await {
        Ok(g) => g,
        Err(msg) => {
            // DIFF(spec §4.2): recorded in the status (the reference only logs it), and
            // nothing is marked deleted, since every bucket may now resolve differently.
            source.warn(
                "storageMetadataConfigSource",
                format!("Could not get global manifest due to [{msg}]"),
            );
            everything_incomplete = true;
            vec![]
        }
    };
    let default_manifest = match &pipeline.default_manifest {
        None => vec![],
        Some(text) => match manifest::parse_global_manifest(text.as_bytes()) {
            Ok(entries) => entries,
            Err(e) => {
                source.warn("defaultManifest", format!("invalid defaultManifest: {e}"));
                vec![]
            }
        },
    };
    if pipeline.include_tags {
        source.warn(
            "includeTags",
            "includeTags is not built yet: no tags are read or attached",
        );
    }

    // Buckets.
    let buckets = match discover(&v, store.as_ref(), &mut source).await {
        Some(b) => b,
        None => {
            everything_incomplete = true;
            vec![]
        }
    };

    let service = ServiceInfo {
        name: v.service_name.clone(),
        connection: v
            .raw
            .source
            .service_connection
            .as_ref()
            .map(|c| c.config.clone())
            .ok_or_else(|| sink::Error {
                entity: v.service_name.clone(),
                message: "no service connection".into(),
            })?,
        store_connection: v.store_service_connection,
    };
    sink.begin(&service).await?;
    source.records += 1;
    if !buckets.is_empty() {
        source.warn(
            "CloudWatch",
            "bucket metrics are not fetched yet: numberOfObjects and size are sent as 0, as the reference does when CloudWatch has no data",
        );
    }

    let shared = Arc::new(Shared {
        v,
        store,
        global,
        default_manifest,
        limits: Limits::from_options(&opts),
    });
    let mut results = stream::iter(buckets)
        .map(|bucket| {
            let shared = shared.clone();
            let span = tracing::info_span!("bucket", bucket = %bucket);
            async move { process_bucket(&shared, &bucket).await }.instrument(span)
        })
        .buffered(opts.bucket_concurrency);

    let service_name = shared.v.service_name.clone();
    let mut refs: HashMap<String, ParentRef> = HashMap::new();
    let mut sink_failures = StepStatus::default();
    while let Some(r) = results.next().await {
        source.absorb(r.status);
        if !r.complete {
            seen.incomplete.insert(r.fqn.clone());
        }
        for c in r.containers {
            source.records += 1;
            seen.fqns.insert(c.fqn.clone());
            let parent = match &c.parent_fqn {
                None => None,
                Some(p) => match refs.get(p) {
                    Some(r) => Some(r.clone()),
                    None => {
                        sink_failures.fail(
                            &c.fqn,
                            format!("not written: its parent {p} was not written"),
                        );
                        continue;
                    }
                },
            };
            match sink.put(&service_name, &c, parent.as_ref()).await {
                Ok(r) => {
                    refs.insert(c.fqn.clone(), r);
                }
                Err(e) => sink_failures.fail(&c.fqn, e.message),
            }
        }
    }
    drop(results);
    if everything_incomplete {
        seen.incomplete.insert(quote_name(&service_name));
    }
    if let Err(e) = sink.finish(&seen).await {
        sink_failures.fail(e.entity, e.message);
    }
    let mut sink_status = sink.status();
    sink_status.absorb(sink_failures);
    Ok(RunStatus {
        steps: vec![source, sink_status],
        elapsed_secs: started.elapsed().as_secs_f64(),
    })
}

async fn load_global(v: &Validated, store: &dyn ObjectStore) -> Result<Vec<GlobalEntry>, String> {
    let max = v.raw.s3meta.max_manifest_bytes;
    let source = match &v.manifest_source {
        ManifestSource::None => return Ok(vec![]),
        ManifestSource::Local(path) => GlobalSource::Local(path),
        ManifestSource::Http(url) => GlobalSource::Http {
            url,
            timeout: Duration::from_secs(v.raw.s3meta.http_timeout_secs),
        },
        ManifestSource::S3 {
            security_config,
            prefix,
        } => {
            // The reference reads it with the variant's own credentials, or the ambient
            // default chain when none are given — never the connector's.
            let sdk = match security_config {
                Some(sc) => aws::sdk_config(sc, &v.raw.s3meta).await,
                None => {
                    aws_config::defaults(aws_config::BehaviorVersion::latest())
                        .load()
                        .await
                }
            };
            let endpoint = security_config
                .as_ref()
                .and_then(|s| s.end_point_url.clone());
            let own = S3Store::new(aws::s3_client(&sdk, endpoint.as_deref()));
            let _ = store;
            return manifest::load_global(
                GlobalSource::S3 {
                    store: &own,
                    bucket: &prefix.container_name,
                    prefix: prefix.object_prefix.as_deref(),
                },
                max,
            )
            .await
            .map_err(|e| e.to_string());
        }
    };
    manifest::load_global(source, max)
        .await
        .map_err(|e| e.to_string())
}

/// The buckets to ingest: `bucketNames` as given (no filter), or every bucket ListBuckets
/// returns that passes the filter. `None` when ListBuckets failed.
async fn discover(
    v: &Validated,
    store: &dyn ObjectStore,
    source: &mut StepStatus,
) -> Option<Vec<String>> {
    let conn = v.raw.source.service_connection.as_ref()?;
    if let Some(names) = conn.config.bucket_names.as_ref().filter(|n| !n.is_empty()) {
        return Some(names.clone());
    }
    match store.list_buckets().await {
        Ok(all) => Some(
            all.into_iter()
                .filter(|b| {
                    let out = v.filter.excludes(b);
                    if out {
                        source.filter(b.clone(), "Bucket Filtered Out");
                    }
                    !out
                })
                .collect(),
        ),
        Err(e) => {
            // DIFF(spec §13 #26): a failed ListBuckets is a failure, not zero buckets.
            source.fail("ListBuckets", format!("cannot list buckets: {e}"));
            None
        }
    }
}

/// Which entries a bucket gets: global manifest, then its own `openmetadata.json`, then
/// `defaultManifest` (reference §4.3). Returns whether the view is trustworthy.
async fn resolve_entries(shared: &Shared, bucket: &str, st: &mut StepStatus) -> (Vec<Entry>, bool) {
    let from_global = manifest::entries_for(&shared.global, bucket);
    if !from_global.is_empty() {
        return (from_global, true);
    }
    let max = shared.v.raw.s3meta.max_manifest_bytes;
    let mut complete = true;
    match shared.store.get_small(bucket, MANIFEST_FILE, max).await {
        Ok(bytes) => match manifest::parse_bucket_manifest(&bytes) {
            Ok(entries) if !entries.is_empty() => return (entries, true),
            Ok(_) => tracing::info!("The bucket manifest has no entries."),
            Err(e) => {
                st.warn(
                    format!("{bucket}/{MANIFEST_FILE}"),
                    format!("invalid manifest: {e}"),
                );
                complete = false;
            }
        },
        Err(e) if e.kind == ErrorKind::NotFound => {
            tracing::info!("No manifest file found at s3://{bucket}/{MANIFEST_FILE}.");
        }
        Err(e) => {
            // DIFF(spec §4.1): the reference treats any read failure as "no manifest"
            // silently; a denied or failed read is a warning here, and protects the bucket's
            // containers from stale-marking.
            st.warn(
                format!("{bucket}/{MANIFEST_FILE}"),
                format!("cannot read the manifest: {e}"),
            );
            complete = false;
        }
    }
    (
        manifest::entries_for(&shared.default_manifest, bucket),
        complete,
    )
}

async fn process_bucket(shared: &Shared, bucket: &str) -> BucketResult {
    let v = &shared.v;
    let service_fqn = quote_name(&v.service_name);
    let fqn = child_fqn(&service_fqn, bucket);
    let mut st = StepStatus::default();
    if let Some(why) = invalid_name(bucket) {
        st.fail(
            bucket,
            format!("bucket name cannot be an entity name: {why}"),
        );
        return BucketResult {
            fqn,
            containers: vec![],
            status: st,
            complete: false,
        };
    }
    let conn = v.raw.source.service_connection.as_ref().map(|c| &c.config);
    let console = match conn.and_then(|c| c.console_endpoint_url.as_deref()) {
        Some(base) => Console::custom(base),
        None => {
            // DIFF(spec §13 #10): GetBucketLocation once per bucket, not once per container.
            let region = match shared.store.bucket_region(bucket).await {
                Ok(Some(r)) => r,
                Ok(None) => v.aws.aws_region.clone(),
                Err(e) => {
                    st.warn(
                        bucket,
                        format!("GetBucketLocation failed, using awsRegion for sourceUrl: {e}"),
                    );
                    v.aws.aws_region.clone()
                }
            };
            Console::Aws { region }
        }
    };
    let mut containers = vec![Container {
        name: bucket.to_string(),
        fqn: fqn.clone(),
        parent_fqn: None,
        data_model: None,
        prefix: "/".into(),
        number_of_objects: Some(0.0),
        size: Some(0.0),
        file_formats: vec![],
        tags: vec![],
        source_url: console.bucket_url(bucket),
        full_path: full_path(bucket, ""),
    }];

    let (entries, manifest_ok) = resolve_entries(shared, bucket, &mut st).await;
    let ctx = PlanContext {
        store: shared.store.as_ref(),
        bucket,
        filter: &v.filter,
        opts: &v.raw.s3meta,
    };
    let planned = plan::plan_bucket(ctx, entries, &mut st).await;

    // Inference for every structured plan (each of its samples) and every archive,
    // concurrently, results in plan order.
    let store = shared.store.as_ref();
    let limits = shared.limits;
    let inferred: Vec<Inferred> = stream::iter(planned.iter())
        .map(|p| async move {
            match p {
                Planned::Structured(s) => {
                    let mut out = Vec::with_capacity(s.samples.len());
                    for object in &s.samples {
                        let sample = Sample {
                            bucket,
                            object,
                            format: &s.format,
                            separator: s.separator.as_deref(),
                        };
                        let r = infer::infer_columns(store, sample, &limits).await;
                        out.push((object.key.clone(), r));
                    }
                    Inferred::Samples(out)
                }
                Planned::Archive { name, format, size } => Inferred::Archive(
                    infer::archive::read_archive(store, bucket, name, *size, format, &limits).await,
                ),
                _ => Inferred::Nothing,
            }
        })
        .buffered(v.raw.s3meta.entry_concurrency)
        .collect()
        .await;

    let mut folder_fqns: BTreeMap<String, String> = BTreeMap::new();
    let mut not_built: BTreeMap<String, usize> = BTreeMap::new();
    for (p, inferred) in planned.into_iter().zip(inferred) {
        let c = match p {
            Planned::Structured(s) => {
                match structured_container(
                    bucket,
                    &fqn,
                    &console,
                    s,
                    inferred,
                    &mut st,
                    &mut not_built,
                ) {
                    Some(c) => c,
                    None => continue,
                }
            }
            Planned::Archive { name, size, .. } => {
                let archive = unstructured_container(bucket, &fqn, &console, name, size);
                if let Some(why) = invalid_name(&archive.name) {
                    st.fail(&archive.fqn, format!("not published: {why}"));
                    continue;
                }
                let members = match inferred {
                    Inferred::Archive(read) => {
                        archive_members(bucket, &console, &archive, read, &mut st)
                    }
                    _ => vec![],
                };
                containers.push(archive);
                for m in members {
                    match invalid_name(&m.name) {
                        Some(why) => st.fail(&m.fqn, format!("not published: {why}")),
                        None => containers.push(m),
                    }
                }
                continue;
            }
            Planned::Unstructured { name, size } => {
                unstructured_container(bucket, &fqn, &console, name, size)
            }
            Planned::Folder { path, name, parent } => {
                let parent_fqn = parent
                    .and_then(|p| folder_fqns.get(&p).cloned())
                    .unwrap_or_else(|| fqn.clone());
                let my = child_fqn(&parent_fqn, &name);
                folder_fqns.insert(path.clone(), my.clone());
                // DIFF(spec §6.3, §13 #12): a `/`-path prefix and a well-formed sourceUrl;
                // the reference writes an `s3://` URI into `prefix`.
                Container {
                    name,
                    fqn: my,
                    parent_fqn: Some(parent_fqn),
                    data_model: None,
                    prefix: format!("/{path}"),
                    number_of_objects: None,
                    size: None,
                    file_formats: vec![],
                    tags: vec![],
                    source_url: console.folder_url(bucket, &path),
                    full_path: full_path(bucket, &path),
                }
            }
            Planned::File {
                key,
                name,
                parent,
                size,
            } => {
                let parent_fqn = parent
                    .and_then(|p| folder_fqns.get(&p).cloned())
                    .unwrap_or_else(|| fqn.clone());
                Container {
                    fqn: child_fqn(&parent_fqn, &name),
                    name,
                    parent_fqn: Some(parent_fqn),
                    data_model: None,
                    prefix: format!("/{key}"),
                    number_of_objects: None,
                    size: Some(size as f64),
                    file_formats: vec![],
                    tags: vec![],
                    source_url: console.object_url(bucket, &key),
                    full_path: full_path(bucket, &key),
                }
            }
        };
        if let Some(why) = invalid_name(&c.name) {
            st.fail(&c.fqn, format!("not published: {why}"));
            continue;
        }
        containers.push(c);
    }
    for (format, n) in not_built {
        st.warn(
            bucket,
            format!("schemas not inferred for {n} `{format}` container(s): that reader is not built yet; only partition columns are sent"),
        );
    }
    let complete = manifest_ok && st.failures.is_empty();
    BucketResult {
        fqn,
        containers,
        status: st,
        complete,
    }
}

fn structured_container(
    bucket: &str,
    bucket_fqn: &str,
    console: &Console,
    s: StructuredPlan,
    inferred: Inferred,
    st: &mut StepStatus,
    not_built: &mut BTreeMap<String, usize>,
) -> Option<Container> {
    let scope = format!("{bucket}/{}", s.samples[0].key);
    let mut all = s.partition_columns.clone();
    let mut read = Vec::new();
    let mut failed = false;
    if let Inferred::Samples(results) = inferred {
        for (key, r) in results {
            match r {
                Ok(cols) => read.push((key, cols)),
                Err(infer::Error::NotBuilt { format }) => {
                    *not_built.entry(format).or_default() += 1;
                    break;
                }
                Err(e) => {
                    failed = true;
                    // DIFF(spec §13 #21): a read or parse failure is counted, not only logged.
                    st.fail(
                        format!("{bucket}/{key}"),
                        format!("Error fetching the schema of {}: {e}", s.name),
                    );
                }
            }
        }
    }
    if !read.is_empty() {
        let keys: Vec<String> = read.iter().map(|(k, _)| k.clone()).collect();
        let merged = infer::merge::merge(read);
        if !merged.disagreeing.is_empty() {
            st.warn(
                &scope,
                format!(
                    "the sample files of {} disagree on the schema: {} differ from {}; columns merged (union by name, INT with FLOAT is FLOAT, other conflicts STRING)",
                    s.name,
                    merged.disagreeing.join(", "),
                    keys[0]
                ),
            );
        }
        if merged.columns.is_empty() && all.is_empty() {
            st.warn(
                &scope,
                format!("no columns found in the sample of {}; no container", s.name),
            );
            return None;
        }
        all.extend(merged.columns);
    } else if failed && all.is_empty() {
        return None;
    }
    Some(Container {
        fqn: child_fqn(bucket_fqn, &s.name),
        parent_fqn: Some(bucket_fqn.to_string()),
        data_model: Some(DataModel {
            is_partitioned: s.is_partitioned,
            columns: all,
        }),
        prefix: format!("/{}", s.name),
        number_of_objects: None,
        size: None,
        file_formats: entity::file_formats(&s.format).unwrap_or_default(),
        tags: vec![],
        source_url: console.folder_url(bucket, &s.name),
        full_path: full_path(bucket, &s.name),
        name: s.name,
    })
}

/// What inference gave for one planned container.
#[derive(Debug)]
enum Inferred {
    /// Not a container with a schema.
    Nothing,
    /// Each sample's key and columns (or error), best sample first.
    Samples(Vec<(String, Result<Vec<Column>, infer::Error>)>),
    /// An archive's members.
    Archive(Result<infer::archive::Archive, infer::Error>),
}

/// A literal unstructured path, or an archive's own container (reference §5.6, §5.8).
fn unstructured_container(
    bucket: &str,
    bucket_fqn: &str,
    console: &Console,
    name: String,
    size: Option<u64>,
) -> Container {
    Container {
        fqn: child_fqn(bucket_fqn, &name),
        parent_fqn: Some(bucket_fqn.to_string()),
        data_model: None,
        prefix: format!("/{name}"),
        number_of_objects: None,
        size: size.map(|s| s as f64),
        file_formats: vec![],
        tags: vec![],
        source_url: if size.is_some() {
            console.object_url(bucket, &name)
        } else {
            console.folder_url(bucket, &name)
        },
        full_path: full_path(bucket, &name),
        name,
    }
}

/// One child container per file member of an archive (reference §5.8), each with the
/// columns of its own content.
fn archive_members(
    bucket: &str,
    console: &Console,
    archive: &Container,
    read: Result<infer::archive::Archive, infer::Error>,
    st: &mut StepStatus,
) -> Vec<Container> {
    let scope = format!("{bucket}/{}", archive.name);
    let read = match read {
        Ok(r) => r,
        Err(e) => {
            // The reference logs archive errors and records nothing; a warning here.
            st.warn(&scope, format!("archive members not read: {e}"));
            return vec![];
        }
    };
    for w in &read.warnings {
        st.warn(&scope, w.clone());
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for m in read.members {
        let name = m.name().to_string();
        let fqn = child_fqn(&archive.fqn, &name);
        if !seen.insert(fqn.clone()) {
            st.warn(
                &scope,
                format!(
                    "member {} skipped: another member is also named {name}",
                    m.path
                ),
            );
            continue;
        }
        let inner = format!("{}/{}", archive.name, m.path);
        out.push(Container {
            fqn,
            parent_fqn: Some(archive.fqn.clone()),
            data_model: m
                .columns
                .filter(|c| !c.is_empty())
                .map(|columns| DataModel {
                    is_partitioned: false,
                    columns,
                }),
            prefix: format!("/{inner}"),
            number_of_objects: None,
            size: Some(m.size as f64),
            // `[inner format]` only when the format is itself a FileFormat value (`jsonl`
            // is not), as the reference.
            file_formats: m
                .format
                .as_deref()
                .and_then(|f| entity::file_formats(f).filter(|v| v.as_slice() == [f]))
                .unwrap_or_default(),
            tags: vec![],
            source_url: console.object_url(bucket, &archive.name),
            full_path: full_path(bucket, &inner),
            name,
        });
    }
    out
}
