//! `CountingStore`: a store decorator that counts the requests made through it and the
//! bytes it returned, for benchmarks, tests and progress. It changes nothing it forwards.

use super::{GetRange, GetResult, ListPage, ObjectMeta, ObjectStore, Result};
use async_trait::async_trait;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Requests and bytes seen so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Every call forwarded (lists, gets, heads, regions).
    pub requests: u64,
    /// Ranged GETs among them.
    pub gets: u64,
    /// Bytes returned by the GETs.
    pub bytes: u64,
}

/// Counts what passes through to the inner store.
#[derive(Debug)]
pub struct CountingStore {
    inner: Arc<dyn ObjectStore>,
    requests: AtomicU64,
    gets: AtomicU64,
    bytes: AtomicU64,
}

impl CountingStore {
    /// Wraps a store.
    pub fn new(inner: Arc<dyn ObjectStore>) -> CountingStore {
        CountingStore {
            inner,
            requests: AtomicU64::new(0),
            gets: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    /// The counts so far.
    pub fn counts(&self) -> Counts {
        Counts {
            requests: self.requests.load(Ordering::Relaxed),
            gets: self.gets.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
        }
    }

    /// Sets every count back to 0.
    pub fn reset(&self) {
        self.requests.store(0, Ordering::Relaxed);
        self.gets.store(0, Ordering::Relaxed);
        self.bytes.store(0, Ordering::Relaxed);
    }

    fn count(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }
}

#[async_trait]
impl ObjectStore for CountingStore {
    async fn list_buckets(&self) -> Result<Vec<String>> {
        self.count();
        self.inner.list_buckets().await
    }

    async fn list_page(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<String>,
    ) -> Result<ListPage> {
        self.count();
        self.inner.list_page(bucket, prefix, continuation).await
    }

    async fn list_level(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<(Vec<ObjectMeta>, Vec<String>)> {
        self.count();
        self.inner.list_level(bucket, prefix).await
    }

    async fn list_first(&self, bucket: &str) -> Result<ListPage> {
        self.count();
        self.inner.list_first(bucket).await
    }

    async fn get_range(&self, bucket: &str, key: &str, range: GetRange) -> Result<GetResult> {
        self.count();
        self.gets.fetch_add(1, Ordering::Relaxed);
        let r = self.inner.get_range(bucket, key, range).await?;
        self.bytes
            .fetch_add(r.bytes.len() as u64, Ordering::Relaxed);
        Ok(r)
    }

    async fn head(&self, bucket: &str, key: &str) -> Result<ObjectMeta> {
        self.count();
        self.inner.head(bucket, key).await
    }

    async fn bucket_region(&self, bucket: &str) -> Result<Option<String>> {
        self.count();
        self.inner.bucket_region(bucket).await
    }

    async fn bucket_tags(&self, bucket: &str) -> Result<Vec<(String, String)>> {
        self.count();
        self.inner.bucket_tags(bucket).await
    }

    async fn object_tags(&self, bucket: &str, key: &str) -> Result<Vec<(String, String)>> {
        self.count();
        self.inner.object_tags(bucket, key).await
    }

    fn request_counts(&self) -> Option<crate::status::RequestCounts> {
        self.inner.request_counts()
    }
}
