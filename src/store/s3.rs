//! The S3 backend of the store seam, on the official AWS SDK. Retries and timeouts live in
//! the client's configuration (see `aws`), not here.

use super::{Error, ErrorKind, GetRange, GetResult, ListPage, ObjectMeta, ObjectStore, Result};
use crate::aws::RequestCounter;
use crate::status::RequestCounts;
use async_trait::async_trait;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::Client;

/// Amazon S3 or an S3-compatible server.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    counter: RequestCounter,
}

impl S3Store {
    /// Wraps a configured client, counting its requests and retries from now on.
    pub fn new(client: Client) -> Self {
        let counter = RequestCounter::default();
        S3Store {
            client: counter.install(&client),
            counter,
        }
    }
}

fn err<E, R>(op: &'static str, bucket: &str, key: Option<&str>, e: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + HttpStatus + Send + Sync + 'static,
{
    let (kind, message) = match &e {
        // No credentials at all fails before any request is sent, as a dispatch failure.
        SdkError::DispatchFailure(d) if !d.is_io() && !d.is_timeout() && is_no_credentials(&e) => (
            ErrorKind::Unauthenticated,
            "no AWS credentials found (awsAccessKeyId/awsSecretAccessKey, profileName, assumeRoleArn, the environment or an instance role)".to_string(),
        ),
        SdkError::DispatchFailure(_) => (ErrorKind::Unreachable, crate::explain::root_cause(&e)),
        SdkError::TimeoutError(_) => (ErrorKind::Unreachable, "timed out".to_string()),
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or_default().to_string();
            let status = se.raw().status();
            let kind = match code.as_str() {
                "NoSuchKey" | "NoSuchBucket" | "NotFound" | "NoSuchTagSet" => ErrorKind::NotFound,
                "AccessDenied" | "AllAccessDisabled" | "Forbidden" | "AccountProblem" => {
                    ErrorKind::PermissionDenied
                }
                "InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
                | "ExpiredToken"
                | "InvalidToken"
                | "TokenRefreshRequired" => ErrorKind::Unauthenticated,
                "SlowDown" | "Throttling" | "ThrottlingException" | "RequestLimitExceeded" => {
                    ErrorKind::Throttled
                }
                _ => match status {
                    404 => ErrorKind::NotFound,
                    403 => ErrorKind::PermissionDenied,
                    401 => ErrorKind::Unauthenticated,
                    429 | 503 => ErrorKind::Throttled,
                    _ => ErrorKind::Other,
                },
            };
            let msg = se.err().message().map(str::to_string).unwrap_or_default();
            let code = if code.is_empty() {
                format!("HTTP {status}")
            } else {
                code
            };
            (
                kind,
                if msg.is_empty() {
                    code
                } else {
                    format!("{code}: {msg}")
                },
            )
        }
        other => (
            ErrorKind::Other,
            aws_sdk_s3::error::DisplayErrorContext(other).to_string(),
        ),
    };
    Error {
        kind,
        op,
        bucket: bucket.to_string(),
        key: key.map(str::to_string),
        message,
        source: Some(Box::new(e)),
    }
}

/// Whether a dispatch failed because no credentials provider gave any.
fn is_no_credentials(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    let mut depth = 0;
    while let Some(err) = cur {
        if depth > 32 {
            break;
        }
        if err.to_string().contains("no credentials found") {
            return true;
        }
        cur = err.source();
        depth += 1;
    }
    false
}

/// Whether a tagging call failed only because there are no tags (`NoSuchTagSet`, or a
/// server that answers 404 without a code for "no tag set").
fn no_tags<E: ProvideErrorMetadata, R: HttpStatus>(e: &SdkError<E, R>) -> bool {
    match e {
        SdkError::ServiceError(se) => match se.err().code() {
            Some(code) => code == "NoSuchTagSet" || code == "NoSuchTagSetError",
            None => se.raw().status() == 404,
        },
        _ => false,
    }
}

/// The HTTP status of a raw response, whatever the SDK's response type.
trait HttpStatus {
    fn status(&self) -> u16;
}

impl HttpStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status(&self) -> u16 {
        self.status().as_u16()
    }
}

/// One listed object; `None` for an entry without a key.
fn object_meta(o: &aws_sdk_s3::types::Object) -> Option<ObjectMeta> {
    Some(ObjectMeta {
        key: o.key()?.to_string(),
        size: o.size().unwrap_or(0).max(0) as u64,
        last_modified: millis(o.last_modified()),
        storage_class: o.storage_class().map(|s| s.as_str().to_string()),
        etag: etag(o.e_tag()),
    })
}

/// An ETag header or element without its quotes (S3 sends `"…"`; some servers send it
/// bare); `None` when absent or empty.
fn etag(raw: Option<&str>) -> Option<String> {
    let t = raw?.trim();
    let t = t.strip_prefix('"').unwrap_or(t);
    let t = t.strip_suffix('"').unwrap_or(t);
    (!t.is_empty()).then(|| t.to_string())
}

fn millis(d: Option<&aws_sdk_s3::primitives::DateTime>) -> Option<i64> {
    d.and_then(|d| d.to_millis().ok())
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn list_buckets(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .list_buckets()
                .set_continuation_token(token.clone())
                .send()
                .await
                .map_err(|e| err("ListBuckets", "", None, e))?;
            names.extend(
                out.buckets()
                    .iter()
                    .filter_map(|b| b.name().map(str::to_string)),
            );
            match out.continuation_token() {
                Some(t) if !t.is_empty() && Some(t) != token.as_deref() => {
                    token = Some(t.to_string())
                }
                _ => return Ok(names),
            }
        }
    }

    async fn list_page(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<String>,
    ) -> Result<ListPage> {
        let out = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(continuation)
            .send()
            .await
            .map_err(|e| err("ListObjectsV2", bucket, Some(prefix), e))?;
        let objects = out.contents().iter().filter_map(object_meta).collect();
        let next = if out.is_truncated().unwrap_or(false) {
            out.next_continuation_token().map(str::to_string)
        } else {
            None
        };
        Ok(ListPage { objects, next })
    }

    async fn list_level(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<(Vec<ObjectMeta>, Vec<String>)> {
        let mut objects = Vec::new();
        let mut folders = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .delimiter("/")
                .set_continuation_token(token.clone())
                .send()
                .await
                .map_err(|e| err("ListObjectsV2", bucket, Some(prefix), e))?;
            objects.extend(out.contents().iter().filter_map(object_meta));
            folders.extend(
                out.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_string)),
            );
            match out.next_continuation_token() {
                Some(t) if out.is_truncated().unwrap_or(false) && Some(t) != token.as_deref() => {
                    token = Some(t.to_string())
                }
                _ => return Ok((objects, folders)),
            }
        }
    }

    async fn list_first(&self, bucket: &str) -> Result<ListPage> {
        let out = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .max_keys(1)
            .send()
            .await
            .map_err(|e| err("ListObjectsV2", bucket, None, e))?;
        let objects = out.contents().iter().filter_map(object_meta).collect();
        Ok(ListPage {
            objects,
            next: None,
        })
    }

    async fn get_range(&self, bucket: &str, key: &str, range: GetRange) -> Result<GetResult> {
        let header = match range {
            GetRange::Bounded(start, end) => format!("bytes={start}-{}", end.saturating_sub(1)),
            GetRange::Suffix(n) => format!("bytes=-{n}"),
        };
        let resp = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .range(header)
            .send()
            .await;
        let out = match resp {
            Ok(o) => o,
            Err(e) => {
                // A range on a 0-byte object is "not satisfiable": the object is empty.
                if let SdkError::ServiceError(se) = &e {
                    if se.err().code() == Some("InvalidRange") || se.raw().status().as_u16() == 416
                    {
                        return Ok(GetResult {
                            bytes: bytes::Bytes::new(),
                        });
                    }
                }
                return Err(err("GetObject", bucket, Some(key), e));
            }
        };
        let bytes = out.body.collect().await.map_err(|e| Error {
            kind: ErrorKind::Unreachable,
            op: "GetObject",
            bucket: bucket.to_string(),
            key: Some(key.to_string()),
            message: e.to_string(),
            source: Some(Box::new(e)),
        })?;
        Ok(GetResult {
            bytes: bytes.into_bytes(),
        })
    }

    async fn head(&self, bucket: &str, key: &str) -> Result<ObjectMeta> {
        let out = self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| err("HeadObject", bucket, Some(key), e))?;
        Ok(ObjectMeta {
            key: key.to_string(),
            size: out.content_length().unwrap_or(0).max(0) as u64,
            last_modified: millis(out.last_modified()),
            storage_class: out.storage_class().map(|s| s.as_str().to_string()),
            etag: etag(out.e_tag()),
        })
    }

    fn request_counts(&self) -> Option<RequestCounts> {
        Some(RequestCounts {
            requests: self.counter.requests(),
            retries: self.counter.retries(),
            throttled: self.counter.throttled(),
        })
    }

    async fn bucket_tags(&self, bucket: &str) -> Result<Vec<(String, String)>> {
        match self.client.get_bucket_tagging().bucket(bucket).send().await {
            Ok(out) => Ok(out
                .tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect()),
            Err(e) if no_tags(&e) => Ok(vec![]),
            Err(e) => Err(err("GetBucketTagging", bucket, None, e)),
        }
    }

    async fn object_tags(&self, bucket: &str, key: &str) -> Result<Vec<(String, String)>> {
        match self
            .client
            .get_object_tagging()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect()),
            Err(e) if no_tags(&e) => Ok(vec![]),
            Err(e) => Err(err("GetObjectTagging", bucket, Some(key), e)),
        }
    }

    async fn bucket_region(&self, bucket: &str) -> Result<Option<String>> {
        let out = self
            .client
            .get_bucket_location()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| err("GetBucketLocation", bucket, None, e))?;
        Ok(out
            .location_constraint()
            .map(|c| c.as_str().to_string())
            .filter(|s| !s.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::etag;

    #[test]
    fn etags_lose_their_quotes_and_keep_a_multipart_suffix() {
        assert_eq!(
            etag(Some("\"9b2cf535f27731c974343645a3985328\"")).as_deref(),
            Some("9b2cf535f27731c974343645a3985328")
        );
        assert_eq!(
            etag(Some("\"d41d8cd98f00b204e9800998ecf8427e-3\"")).as_deref(),
            Some("d41d8cd98f00b204e9800998ecf8427e-3")
        );
        assert_eq!(etag(Some("bare")).as_deref(), Some("bare"));
        assert_eq!(etag(Some("\"\"")), None);
        assert_eq!(etag(Some("")), None);
        assert_eq!(etag(None), None);
    }
}
