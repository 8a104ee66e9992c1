//! Loading the global manifest once per run (reference §4.2): from a local file, over HTTP
//! (with a timeout, unlike the reference), or from S3.

use super::{parse_global_manifest, unknown_keys, GlobalEntry, ManifestError};
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
    /// The manifest is larger than `s3meta.maxManifestBytes`: not read further.
    #[error("{location} is larger than the {cap}-byte limit (s3meta.maxManifestBytes)")]
    TooLarge {
        /// Where it was read from.
        location: String,
        /// The cap.
        cap: u64,
    },
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

/// Loads and validates the global manifest; with its entries, one warning per unknown
/// entry key ([`unknown_keys`]).
pub async fn load_global(
    source: GlobalSource<'_>,
    max_bytes: u64,
) -> Result<(Vec<GlobalEntry>, Vec<String>), GlobalManifestError> {
    let (location, bytes) = match source {
        GlobalSource::Local(path) => (path.to_string(), read_local(path, max_bytes).await?),
        GlobalSource::Http { url, timeout } => {
            (url.to_string(), read_http(url, timeout, max_bytes).await?)
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
    let entries = parse_global_manifest(&bytes)
        .map_err(|source| GlobalManifestError::Invalid { location, source })?;
    Ok((entries, unknown_keys(&bytes, true)))
}

/// A local manifest, read only up to `max_bytes`: a larger file is refused by its size
/// before any byte is read, and a file that grows while read stops at the cap.
async fn read_local(path: &str, max_bytes: u64) -> Result<Vec<u8>, GlobalManifestError> {
    use tokio::io::AsyncReadExt;
    let local = |source| GlobalManifestError::Local {
        path: path.to_string(),
        source,
    };
    let too_large = || GlobalManifestError::TooLarge {
        location: path.to_string(),
        cap: max_bytes,
    };
    let file = tokio::fs::File::open(path).await.map_err(local)?;
    let len = file.metadata().await.map_err(local)?.len();
    if len > max_bytes {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(local)?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large());
    }
    Ok(bytes)
}

/// A manifest over HTTP, streamed and cut at `max_bytes`: a `Content-Length` over the cap
/// is refused before the body is read, and a body without one stops at the cap.
async fn read_http(
    url: &str,
    timeout: Duration,
    max_bytes: u64,
) -> Result<Vec<u8>, GlobalManifestError> {
    let fail = |message: String| GlobalManifestError::Http {
        url: url.to_string(),
        message,
    };
    let too_large = || GlobalManifestError::TooLarge {
        location: url.to_string(),
        cap: max_bytes,
    };
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let mut resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(fail(format!("HTTP {}", resp.status())));
    }
    if resp.content_length().is_some_and(|n| n > max_bytes) {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| fail(e.to_string()))? {
        if (bytes.len() + chunk.len()) as u64 > max_bytes {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}
