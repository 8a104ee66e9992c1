//! Manifest precedence (reference §4.3): for each bucket, the global manifest's entries for
//! it (its own manifest is then not read), else the bucket's `openmetadata.json`, else the
//! `defaultManifest` entries for it, else nothing (the bucket alone).
//!
//! The global and default manifests are loaded once per run ([`Manifests::load`]); each
//! bucket's own file is read through the run's store ([`Manifests::entries`]). Problems are
//! recorded in the step status; none of them stops the run.
//!
//! With `s3meta.autoDiscovery`, a bucket with none of the three (no global or default entry,
//! no `openmetadata.json`) gets the entries [`crate::autodiscover`] finds in its listing,
//! exactly as `manifest suggest` writes them.

use super::{entries_for, load_global, parse_bucket_manifest, parse_global_manifest, unknown_keys};
use super::{Entry, GlobalEntry, GlobalSource};
use crate::config::{ManifestSource, Validated, MANIFEST_FILE};
use crate::status::StepStatus;
use crate::store::{ErrorKind, ObjectStore};
use std::time::Duration;

/// The run's global and default manifests.
#[derive(Debug, Default)]
pub struct Manifests {
    global: Vec<GlobalEntry>,
    default: Vec<GlobalEntry>,
    max_bytes: u64,
    /// `autoDiscovery`: the key cap and listing width of a discovery, when it is on.
    discovery: Option<(usize, usize)>,
    /// The read limits, for sniffing files whose names say nothing.
    limits: crate::infer::Limits,
}

/// A bucket's entries, and whether the view they give can be trusted for stale-marking.
#[derive(Debug)]
pub struct Resolved {
    /// The entries, in manifest order (empty: the bucket alone).
    pub entries: Vec<Entry>,
    /// False when the bucket's manifest could not be read or parsed: its containers must
    /// then not be marked deleted.
    pub complete: bool,
    /// True when the entries are `autoDiscovery`'s (the bucket had no manifest).
    pub discovered: bool,
}

impl Manifests {
    /// Loads the global manifest and parses `defaultManifest`. `s3` is the store that reads
    /// an S3 global manifest (built from that variant's own `securityConfig`, spec §2.5);
    /// unused for the other variants. Returns false as the second value when the global
    /// manifest could not be used: every bucket may then resolve differently, so nothing may
    /// be marked deleted.
    pub async fn load(
        v: &Validated,
        s3: Option<&dyn ObjectStore>,
        status: &mut StepStatus,
    ) -> (Manifests, bool) {
        let max_bytes = v.options.max_manifest_bytes;
        let mut complete = true;
        let global = match global_source(v, s3) {
            None => vec![],
            Some(source) => match load_global(source, max_bytes).await {
                Ok((g, unknown)) => {
                    for w in unknown {
                        status.warn("storageMetadataConfigSource", w);
                    }
                    g
                }
                Err(e) => {
                    // DIFF(spec §4.2): recorded in the status (the reference only logs it),
                    // and nothing is marked deleted.
                    status.warn(
                        "storageMetadataConfigSource",
                        format!("Could not get global manifest due to [{e}]"),
                    );
                    complete = false;
                    vec![]
                }
            },
        };
        let default = match &v.default_manifest {
            None => vec![],
            Some(text) => {
                for w in unknown_keys(text.as_bytes(), true) {
                    status.warn("defaultManifest", w);
                }
                parse_global_manifest(text.as_bytes()).unwrap_or_else(|e| {
                    status.warn("defaultManifest", format!("invalid defaultManifest: {e}"));
                    vec![]
                })
            }
        };
        let manifests = Manifests {
            global,
            default,
            max_bytes,
            discovery: v
                .options
                .auto_discovery
                .then_some((v.options.glob_scan_limit, v.options.entry_concurrency)),
            limits: crate::infer::Limits::from_options(&v.options),
        };
        (manifests, complete)
    }

    /// The entries of one bucket, by precedence.
    pub async fn entries(
        &self,
        store: &dyn ObjectStore,
        bucket: &str,
        status: &mut StepStatus,
    ) -> Resolved {
        let from_global = entries_for(&self.global, bucket);
        if !from_global.is_empty() {
            return Resolved {
                entries: from_global,
                complete: true,
                discovered: false,
            };
        }
        let mut complete = true;
        let mut missing = false;
        let scope = || format!("{bucket}/{MANIFEST_FILE}");
        match store.get_small(bucket, MANIFEST_FILE, self.max_bytes).await {
            Ok(bytes) => match parse_bucket_manifest(&bytes) {
                Ok(entries) if !entries.is_empty() => {
                    for w in unknown_keys(&bytes, false) {
                        status.warn(scope(), w);
                    }
                    return Resolved {
                        entries,
                        complete: true,
                        discovered: false,
                    };
                }
                Ok(_) => tracing::info!("The bucket manifest has no entries."),
                Err(e) => {
                    status.warn(scope(), format!("invalid manifest: {e}"));
                    complete = false;
                }
            },
            Err(e) if e.kind == ErrorKind::NotFound => {
                tracing::info!("No manifest file found at s3://{bucket}/{MANIFEST_FILE}.");
                missing = true;
            }
            Err(e) => {
                // DIFF(spec §4.1): the reference treats any read failure as "no manifest",
                // silently. Here a denied read is a warning and any other failure
                // (unreachable, bad credentials, throttled past retries) is a failure; both
                // protect the bucket's containers from stale-marking.
                if e.kind == ErrorKind::PermissionDenied {
                    status.warn(scope(), format!("cannot read the manifest: {e}"));
                } else {
                    status.fail(scope(), format!("cannot read the manifest: {e}"));
                }
                complete = false;
            }
        }
        let entries = entries_for(&self.default, bucket);
        // Only a bucket with no manifest at all: not one whose file is empty, invalid or
        // unreadable, nor one the default manifest covers.
        if let Some((cap, width)) = self.discovery.filter(|_| missing && entries.is_empty()) {
            return discovered(store, bucket, cap, width, &self.limits, status).await;
        }
        Resolved {
            entries,
            complete,
            discovered: false,
        }
    }
}

/// `autoDiscovery` for a bucket without a manifest: the suggested manifest's entries. A
/// failed listing gives none, and the bucket's containers are then protected from
/// stale-marking.
async fn discovered(
    store: &dyn ObjectStore,
    bucket: &str,
    cap: usize,
    width: usize,
    limits: &crate::infer::Limits,
    status: &mut StepStatus,
) -> Resolved {
    use crate::autodiscover::{self, suggest};
    let listing = match autodiscover::list_bucket(store, bucket, cap, width).await {
        Ok(l) => l,
        Err(e) => {
            status.warn(
                bucket,
                format!("autoDiscovery: cannot list the bucket: {e}"),
            );
            return Resolved {
                entries: vec![],
                complete: false,
                discovered: true,
            };
        }
    };
    if listing.truncated {
        status.warn(
            bucket,
            format!("autoDiscovery stopped after {cap} keys in bucket {bucket} (globScanLimit): datasets past them were not found"),
        );
    }
    let sniffed =
        autodiscover::sniff_folders(store, bucket, &listing.objects, limits, MAX_SNIFFED).await;
    let found = autodiscover::discover_with(&listing.objects, listing.truncated, &sniffed);
    match suggest::entries(&found, suggest::Options::default()) {
        Ok(entries) => {
            tracing::info!(
                bucket,
                entries = entries.len(),
                "autoDiscovery: no manifest, so the discovered datasets are ingested."
            );
            Resolved {
                entries,
                complete: !listing.truncated,
                discovered: true,
            }
        }
        Err(e) => {
            status.warn(bucket, format!("autoDiscovery: {e}"));
            Resolved {
                entries: vec![],
                complete: false,
                discovered: true,
            }
        }
    }
}

/// Where the configured global manifest is read from; `None` when there is none (or, for
/// the S3 variant, when no store was given for it).
fn global_source<'a>(
    v: &'a Validated,
    s3: Option<&'a dyn ObjectStore>,
) -> Option<GlobalSource<'a>> {
    match &v.manifest_source {
        ManifestSource::None => None,
        ManifestSource::Local(path) => Some(GlobalSource::Local(path)),
        ManifestSource::Http(url) => Some(GlobalSource::Http {
            url,
            timeout: Duration::from_secs(v.options.http_timeout_secs),
        }),
        ManifestSource::S3 { prefix, .. } => Some(GlobalSource::S3 {
            store: s3?,
            bucket: &prefix.container_name,
            prefix: prefix.object_prefix.as_deref(),
        }),
    }
}

/// Folders sniffed at most per bucket by discovery (one bounded read each).
pub const MAX_SNIFFED: usize = 1000;

/// The store that reads an S3 global manifest, with that variant's own `securityConfig`
/// (spec §2.5: never the connector's credentials); `None` for the other variants.
pub async fn global_store(v: &Validated) -> Option<crate::store::s3::S3Store> {
    match &v.manifest_source {
        ManifestSource::S3 {
            security_config, ..
        } => Some(crate::store::s3::S3Store::new(
            crate::aws::manifest_s3_client(security_config.as_deref(), &v.options).await,
        )),
        _ => None,
    }
}
