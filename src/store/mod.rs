//! The object-store seam: what s3meta needs from S3, and nothing else.
//!
//! A small trait in the style of arrow-rs `object_store`: listing (page by page), ranged
//! reads, HEAD, bucket listing, region and tags. Keys are raw strings and never normalised (a key
//! with `//` or a trailing `/` is a different object). Errors are semantic ([`ErrorKind`]) and
//! carry the bucket and key they concern, so that callers can tell "not there" from
//! "not allowed" from "unreachable" without knowing the backend.

pub mod budget;
pub mod counting;
pub mod s3;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use std::fmt;

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The key, as stored.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification, milliseconds since the epoch.
    pub last_modified: Option<i64>,
    /// `STANDARD`, `GLACIER`, … when the listing says.
    pub storage_class: Option<String>,
    /// The entity tag as the server gives it, quotes stripped (a multipart upload's `-N`
    /// suffix kept); `None` when the listing has none (s3s-fs). Tells a rewrite apart from
    /// the object the last run read when size and time are the same (`s3meta.stateFile`).
    pub etag: Option<String>,
}

/// One page of a listing.
#[derive(Debug, Clone, Default)]
pub struct ListPage {
    /// The objects, in key order.
    pub objects: Vec<ObjectMeta>,
    /// Continuation token of the next page, if any.
    pub next: Option<String>,
}

/// A full listing, possibly cut at a limit.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// The objects, in key order.
    pub objects: Vec<ObjectMeta>,
    /// True when the limit stopped the listing before its last page.
    pub truncated: bool,
}

/// Which bytes of an object to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetRange {
    /// Bytes `start..end` (end exclusive; clamped to the object's size by the server).
    Bounded(u64, u64),
    /// The last `n` bytes.
    Suffix(u64),
}

/// What a ranged read returned.
#[derive(Debug, Clone)]
pub struct GetResult {
    /// The bytes.
    pub bytes: Bytes,
}

/// What went wrong, in terms a caller can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No such bucket or key.
    NotFound,
    /// The credentials may not do this (AccessDenied).
    PermissionDenied,
    /// The credentials are not valid (bad key, signature, expired token).
    Unauthenticated,
    /// The server asked us to slow down and retries did not help.
    Throttled,
    /// The endpoint could not be reached (DNS, connect, TLS, timeout).
    Unreachable,
    /// The object or response is not what it should be.
    Corrupt,
    /// Anything else.
    Other,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::NotFound => "not found",
            ErrorKind::PermissionDenied => "access denied",
            ErrorKind::Unauthenticated => "not authenticated",
            ErrorKind::Throttled => "throttled",
            ErrorKind::Unreachable => "endpoint unreachable",
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::Other => "error",
        })
    }
}

/// A store error with the bucket and key it concerns.
#[derive(Debug, thiserror::Error)]
#[error("{op} s3://{bucket}{}: {kind}: {message}", key.as_deref().map(|k| format!("/{k}")).unwrap_or_default())]
pub struct Error {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// The operation (`ListObjectsV2`, `GetObject`, …).
    pub op: &'static str,
    /// The bucket.
    pub bucket: String,
    /// The key, when the call had one.
    pub key: Option<String>,
    /// The server's or client's message.
    pub message: String,
    /// The underlying error (the SDK's), kept for callers that inspect the chain; the
    /// message above already says what a person needs.
    #[source]
    pub source: Option<BoxError>,
}

/// A boxed error kept as the source of a store error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Result of a store call.
pub type Result<T> = std::result::Result<T, Error>;

/// What s3meta needs from an object store.
#[async_trait]
pub trait ObjectStore: Send + Sync + fmt::Debug {
    /// Every bucket the credentials can see, all pages.
    async fn list_buckets(&self) -> Result<Vec<String>>;

    /// One page of `ListObjectsV2(bucket, prefix)`.
    async fn list_page(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<String>,
    ) -> Result<ListPage>;

    /// One page of at most one key (`ListObjectsV2 MaxKeys=1`): a cheap probe that the
    /// bucket exists and may be listed.
    async fn list_first(&self, bucket: &str) -> Result<ListPage> {
        let mut page = self.list_page(bucket, "", None).await?;
        page.objects.truncate(1);
        Ok(page)
    }

    /// A range of an object's bytes.
    async fn get_range(&self, bucket: &str, key: &str, range: GetRange) -> Result<GetResult>;

    /// An object's size and date, without its bytes.
    async fn head(&self, bucket: &str, key: &str) -> Result<ObjectMeta>;

    /// The bucket's region (`LocationConstraint`); `None` for `us-east-1`'s empty answer.
    async fn bucket_region(&self, bucket: &str) -> Result<Option<String>>;

    /// The bucket's tags (`GetBucketTagging`), in the server's order; none when the bucket
    /// has no tag set (`NoSuchTagSet`).
    async fn bucket_tags(&self, bucket: &str) -> Result<Vec<(String, String)>>;

    /// An object's tags (`GetObjectTagging`), in the server's order; none when it has none.
    async fn object_tags(&self, bucket: &str, key: &str) -> Result<Vec<(String, String)>>;

    /// Requests sent and retries made so far, when the store counts them.
    fn request_counts(&self) -> Option<crate::status::RequestCounts> {
        None
    }

    /// The level directly under `prefix` (`ListObjectsV2` with `Delimiter=/`, all pages):
    /// the objects at that level and the sub-prefixes (each ending in `/`).
    async fn list_level(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<(Vec<ObjectMeta>, Vec<String>)>;

    /// Lists every key under `prefix` (at most `limit`), splitting a listing of more than one
    /// page by its sub-prefixes and listing those `width` at a time: a 100,000-key prefix is
    /// 100 pages in a row otherwise. The result is the same as [`ObjectStore::list_all`]'s,
    /// in key order; a one-page listing costs nothing more.
    async fn list_split(
        &self,
        bucket: &str,
        prefix: &str,
        limit: usize,
        width: usize,
    ) -> Result<Listing> {
        let first = self.list_page(bucket, prefix, None).await?;
        if first.next.is_none() || width < 2 {
            if first.next.is_none() {
                let mut objects = first.objects;
                let truncated = objects.len() > limit;
                objects.truncate(limit);
                return Ok(Listing { objects, truncated });
            }
            return self.list_all(bucket, prefix, limit).await;
        }
        let (mut objects, folders) = self.list_level(bucket, prefix).await?;
        if folders.len() < 2 {
            return self.list_all(bucket, prefix, limit).await;
        }
        let parts: Vec<Result<Listing>> = futures::stream::iter(folders)
            .map(|f| async move { self.list_all(bucket, &f, limit).await })
            .buffered(width)
            .collect()
            .await;
        let mut truncated = false;
        for p in parts {
            let p = p?;
            truncated |= p.truncated;
            objects.extend(p.objects);
        }
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        if objects.len() > limit {
            objects.truncate(limit);
            truncated = true;
        }
        Ok(Listing { objects, truncated })
    }

    /// Lists every page under `prefix`, stopping after `limit` objects.
    async fn list_all(&self, bucket: &str, prefix: &str, limit: usize) -> Result<Listing> {
        let mut out = Listing::default();
        let mut next = None;
        loop {
            let page = self.list_page(bucket, prefix, next).await?;
            for o in page.objects {
                if out.objects.len() >= limit {
                    out.truncated = true;
                    return Ok(out);
                }
                out.objects.push(o);
            }
            match page.next {
                Some(n) => next = Some(n),
                None => return Ok(out),
            }
        }
    }

    /// Reads a whole small object, refusing one larger than `max_bytes`.
    async fn get_small(&self, bucket: &str, key: &str, max_bytes: u64) -> Result<Bytes> {
        let got = self
            .get_range(bucket, key, GetRange::Bounded(0, max_bytes + 1))
            .await?;
        if got.bytes.len() as u64 > max_bytes {
            return Err(Error {
                kind: ErrorKind::Corrupt,
                op: "GetObject",
                bucket: bucket.to_string(),
                key: Some(key.to_string()),
                message: format!("object is larger than the {max_bytes}-byte limit"),
                source: None,
            });
        }
        Ok(got.bytes)
    }
}
