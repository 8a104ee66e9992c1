//! Loading the global manifest once per run (reference §4.2): from a local file, over HTTP
//! (with a timeout, unlike the reference), or from S3.

use super::{parse_global_manifest, GlobalEntry, ManifestError};
use crate::config::GLOBAL_MANIFEST_FILE;
use crate::store::ObjectStore;
use std::time::Duration;

/// Why the global manifest could not be used.
#[derive(Debug, thiserror::Error)]
pub enum GlobalManifestError {
    /// The local file could not be read.
    #[error("cannot read {path}: {source}")]
    Local {
        /// The path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The HTTP fetch failed.
    #[error("cannot fetch {url}: {message}")]
    Http {
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },
    /// The S3 read failed.
    #[error(transparent)]
    S3(#[from] crate::store::Error),
    /// The manifest is not valid.
    #[error("{location}: {source}")]
    Invalid {
        /// Where it was read from.
        location: String,
        /// What is wrong.
        source: ManifestError,
    },
}

/// Where to read the global manifest from, with what is needed to read it.
#[derive(Debug)]
pub enum GlobalSource<'a> {
    /// A local file.
    Local(&'a str),
    /// A URL.
    Http {
        /// The URL.
        url: &'a str,
        /// Timeout of the whole request.
        timeout: Duration,
    },
    /// `s3://bucket/prefix/openmetadata_storage_manifest.json`.
    S3 {
        /// Store built from the variant's `securityConfig`.
        store: &'a dyn ObjectStore,
        /// Bucket.
        bucket: &'a str,
        /// Folder, verbatim (a trailing `/` gives `//`, as in the reference).
        prefix: Option<&'a str>,
    },
}

/// Loads and validates the global manifest.
pub async fn load_global(
    source: GlobalSource<'_>,
    max_bytes: u64,
) -> Result<Vec<GlobalEntry>, GlobalManifestError> {
    let (location, bytes) = match source {
        GlobalSource::Local(path) => {
            let bytes =
                tokio::fs::read(path)
                    .await
                    .map_err(|source| GlobalManifestError::Local {
                        path: path.to_string(),
                        source,
                    })?;
            (path.to_string(), bytes)
        }
        GlobalSource::Http { url, timeout } => {
            let fail = |message: String| GlobalManifestError::Http {
                url: url.to_string(),
                message,
            };
            let client = reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .map_err(|e| fail(e.to_string()))?;
            let resp = client
                .get(url)
                .send()
                .await
                .map_err(|e| fail(e.to_string()))?;
            if !resp.status().is_success() {
                return Err(fail(format!("HTTP {}", resp.status())));
            }
            let bytes = resp.bytes().await.map_err(|e| fail(e.to_string()))?;
            if bytes.len() as u64 > max_bytes {
                return Err(fail(format!("larger than the {max_bytes}-byte limit")));
            }
            (url.to_string(), bytes.to_vec())
        }
        GlobalSource::S3 {
            store,
            bucket,
            prefix,
        } => {
            let key = match prefix {
                Some(p) if !p.is_empty() => format!("{p}/{GLOBAL_MANIFEST_FILE}"),
                _ => GLOBAL_MANIFEST_FILE.to_string(),
            };
            let bytes = store.get_small(bucket, &key, max_bytes).await?;
            (format!("s3://{bucket}/{key}"), bytes.to_vec())
        }
    };
    parse_global_manifest(&bytes)
        .map_err(|source| GlobalManifestError::Invalid { location, source })
}
