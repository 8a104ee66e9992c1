//! The S3 operations s3meta and the reference connector use, over [`Store`]: ListBuckets,
//! GetBucketLocation, ListObjectsV2, GetObject (with Range), HeadObject, the tagging calls
//! (always `NoSuchTagSet`), and CreateBucket/PutObject for seeding. Every operation goes
//! through [`Meter::enter`] first (count, latency, SlowDown). Anything else answers
//! `NotImplemented` (s3s's default).

use crate::shaping::{rate_prefix, Meter};
use crate::store::{ListRequest, NoSuchBucket, Object, Store};
use s3s::dto::{
    Bucket, CommonPrefix, CreateBucketInput, CreateBucketOutput, ETag, GetBucketLocationInput,
    GetBucketLocationOutput, GetBucketTaggingInput, GetBucketTaggingOutput, GetObjectInput,
    GetObjectOutput, GetObjectTaggingInput, GetObjectTaggingOutput, HeadBucketInput,
    HeadBucketOutput, HeadObjectInput, HeadObjectOutput, ListBucketsInput, ListBucketsOutput,
    ListObjectsV2Input, ListObjectsV2Output, PutObjectInput, PutObjectOutput, StreamingBlob,
    Timestamp,
};
use s3s::{s3_error, Body, S3Request, S3Response, S3Result, S3};
use std::sync::Arc;

/// Largest PutObject body accepted (seeding only).
const MAX_PUT: usize = 256 << 20;

/// The S3 service: the store and the meter.
#[derive(Debug, Clone)]
pub struct Service {
    store: Store,
    meter: Arc<Meter>,
}

impl Service {
    /// A service over `store`, shaped and counted by `meter`.
    pub fn new(store: Store, meter: Arc<Meter>) -> Self {
        Self { store, meter }
    }

    async fn enter(&self, kind: &str, bucket: Option<&str>, key: &str) -> S3Result<()> {
        let prefix = bucket.map(|b| rate_prefix(b, key));
        if self.meter.enter(kind, prefix.as_deref()).await {
            return Err(s3_error!(SlowDown, "Please reduce your request rate."));
        }
        Ok(())
    }
}

fn no_bucket(e: NoSuchBucket) -> s3s::S3Error {
    s3_error!(NoSuchBucket, "{e}")
}

fn no_key() -> s3s::S3Error {
    s3_error!(NoSuchKey, "The specified key does not exist.")
}

/// S3's `EncodingType=url`: everything but unreserved characters and `/` percent-encoded.
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[async_trait::async_trait]
impl S3 for Service {
    async fn list_buckets(
        &self,
        _req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        self.enter("ListBuckets", None, "").await?;
        let now = Timestamp::from(std::time::SystemTime::now());
        let buckets = self
            .store
            .bucket_names()
            .into_iter()
            .map(|name| Bucket {
                creation_date: Some(now.clone()),
                name: Some(name),
                bucket_region: None,
            })
            .collect();
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(buckets),
            ..Default::default()
        }))
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        let bucket = req.input.bucket;
        self.enter("GetBucketLocation", Some(&bucket), "").await?;
        if !self.store.has_bucket(&bucket) {
            return Err(s3_error!(NoSuchBucket));
        }
        Ok(S3Response::new(GetBucketLocationOutput::default()))
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        let bucket = req.input.bucket;
        self.enter("HeadBucket", Some(&bucket), "").await?;
        if !self.store.has_bucket(&bucket) {
            return Err(s3_error!(NoSuchBucket));
        }
        Ok(S3Response::new(HeadBucketOutput::default()))
    }

    async fn get_bucket_tagging(
        &self,
        req: S3Request<GetBucketTaggingInput>,
    ) -> S3Result<S3Response<GetBucketTaggingOutput>> {
        let bucket = req.input.bucket;
        self.enter("GetBucketTagging", Some(&bucket), "").await?;
        if !self.store.has_bucket(&bucket) {
            return Err(s3_error!(NoSuchBucket));
        }
        Err(s3_error!(NoSuchTagSet, "The TagSet does not exist"))
    }

    async fn get_object_tagging(
        &self,
        req: S3Request<GetObjectTaggingInput>,
    ) -> S3Result<S3Response<GetObjectTaggingOutput>> {
        let i = req.input;
        self.enter("GetObjectTagging", Some(&i.bucket), &i.key)
            .await?;
        match self.store.get(&i.bucket, &i.key).map_err(no_bucket)? {
            Some(_) => Err(s3_error!(NoSuchTagSet, "The TagSet does not exist")),
            None => Err(no_key()),
        }
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let i = req.input;
        let prefix = i.prefix.clone().unwrap_or_default();
        self.enter("ListObjectsV2", Some(&i.bucket), &prefix)
            .await?;
        let max_keys = i.max_keys.unwrap_or(1000).clamp(0, 1000);
        let after = match (i.continuation_token.as_deref(), i.start_after.as_deref()) {
            (Some(t), Some(s)) => Some(t.max(s)),
            (t, s) => t.or(s),
        };
        let page = self
            .store
            .list(
                &i.bucket,
                &ListRequest {
                    prefix: &prefix,
                    delimiter: i.delimiter.as_deref(),
                    after,
                    max_keys: usize::try_from(max_keys).unwrap_or(1000),
                },
            )
            .map_err(no_bucket)?;
        let url = i
            .encoding_type
            .as_ref()
            .is_some_and(|e| e.as_str() == "url");
        let enc = |s: String| if url { url_encode(&s) } else { s };
        let key_count = page.objects.len() + page.common_prefixes.len();
        let contents: Vec<s3s::dto::Object> = page
            .objects
            .into_iter()
            .map(|(key, size, etag, modified)| s3s::dto::Object {
                key: Some(enc(key)),
                size: Some(i64::try_from(size).unwrap_or(i64::MAX)),
                e_tag: Some(ETag::Strong(etag.to_string())),
                last_modified: Some(Timestamp::from(modified)),
                storage_class: Some(s3s::dto::ObjectStorageClass::from_static(
                    s3s::dto::ObjectStorageClass::STANDARD,
                )),
                ..Default::default()
            })
            .collect();
        let prefixes: Vec<CommonPrefix> = page
            .common_prefixes
            .into_iter()
            .map(|p| CommonPrefix {
                prefix: Some(enc(p)),
            })
            .collect();
        Ok(S3Response::new(ListObjectsV2Output {
            key_count: Some(i32::try_from(key_count).unwrap_or(i32::MAX)),
            max_keys: Some(max_keys),
            is_truncated: Some(page.next.is_some()),
            contents: (!contents.is_empty()).then_some(contents),
            common_prefixes: (!prefixes.is_empty()).then_some(prefixes),
            continuation_token: i.continuation_token,
            next_continuation_token: page.next,
            delimiter: i.delimiter,
            encoding_type: i.encoding_type,
            name: Some(i.bucket),
            prefix: i.prefix,
            start_after: i.start_after,
            ..Default::default()
        }))
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let i = req.input;
        self.enter("GetObject", Some(&i.bucket), &i.key).await?;
        let obj = self
            .store
            .get(&i.bucket, &i.key)
            .map_err(no_bucket)?
            .ok_or_else(no_key)?;
        let len = obj.data.len() as u64;
        let (body, content_range) = match i.range {
            None => (obj.data.clone(), None),
            Some(r) => {
                let r = r.check(len)?;
                let (start, end) = (r.start as usize, r.end as usize);
                (
                    obj.data.slice(start..end),
                    Some(format!(
                        "bytes {}-{}/{len}",
                        r.start,
                        r.end.saturating_sub(1)
                    )),
                )
            }
        };
        self.meter.served(body.len() as u64);
        let content_length = i64::try_from(body.len()).unwrap_or(i64::MAX);
        Ok(S3Response::new(GetObjectOutput {
            body: Some(StreamingBlob::from(Body::from(body))),
            content_length: Some(content_length),
            content_range,
            accept_ranges: Some("bytes".to_owned()),
            e_tag: Some(ETag::Strong(obj.etag.to_string())),
            last_modified: Some(Timestamp::from(obj.last_modified)),
            ..Default::default()
        }))
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let i = req.input;
        self.enter("HeadObject", Some(&i.bucket), &i.key).await?;
        let obj = self
            .store
            .get(&i.bucket, &i.key)
            .map_err(no_bucket)?
            .ok_or_else(no_key)?;
        Ok(S3Response::new(HeadObjectOutput {
            content_length: Some(i64::try_from(obj.data.len()).unwrap_or(i64::MAX)),
            accept_ranges: Some("bytes".to_owned()),
            e_tag: Some(ETag::Strong(obj.etag.to_string())),
            last_modified: Some(Timestamp::from(obj.last_modified)),
            ..Default::default()
        }))
    }

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let bucket = req.input.bucket;
        self.enter("CreateBucket", None, "").await?;
        self.store.create_bucket(&bucket);
        Ok(S3Response::new(CreateBucketOutput {
            location: Some(format!("/{bucket}")),
        }))
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let i = req.input;
        self.enter("PutObject", Some(&i.bucket), &i.key).await?;
        if !self.store.has_bucket(&i.bucket) {
            return Err(s3_error!(NoSuchBucket));
        }
        let Some(blob) = i.body else {
            return Err(s3_error!(IncompleteBody));
        };
        let mut body = Body::from(blob);
        let data = body
            .store_all_limited(MAX_PUT)
            .await
            .map_err(|e| s3_error!(EntityTooLarge, "{e}"))?;
        let obj = Object::new(data);
        let etag = obj.etag.to_string();
        self.store.put(&i.bucket, i.key, obj);
        Ok(S3Response::new(PutObjectOutput {
            e_tag: Some(ETag::Strong(etag)),
            ..Default::default()
        }))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn url_encoding_keeps_slashes() {
        assert_eq!(super::url_encode("a b/c=d"), "a%20b/c%3Dd");
    }
}
