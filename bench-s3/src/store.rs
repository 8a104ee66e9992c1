//! The in-memory object store: one `BTreeMap` per bucket, sorted by key, so a ListObjectsV2
//! page costs O(page + log n) whatever the bucket's size (s3s-fs walks the whole bucket for
//! every page, which makes it useless for a million keys). Owns listing semantics (prefix,
//! delimiter, continuation token, start-after, max-keys); knows nothing of HTTP.

use bytes::Bytes;
use md5::{Digest, Md5};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

/// One stored object. Its body is shared (`Bytes`), so a million generated keys can point at
/// one buffer.
#[derive(Debug, Clone)]
pub struct Object {
    /// The body.
    pub data: Bytes,
    /// The quoted-less hex MD5 of the body, shared between objects with the same body.
    pub etag: Arc<str>,
    /// When it was written.
    pub last_modified: SystemTime,
}

impl Object {
    /// An object holding `data`, its ETag computed here.
    pub fn new(data: Bytes) -> Self {
        let etag = etag_of(&data);
        Self::with_etag(data, etag)
    }

    /// An object whose ETag the caller already computed (generators share one).
    pub fn with_etag(data: Bytes, etag: Arc<str>) -> Self {
        Self {
            data,
            etag,
            last_modified: SystemTime::now(),
        }
    }
}

/// The hex MD5 of `data` (S3's ETag of a single-part upload).
pub fn etag_of(data: &[u8]) -> Arc<str> {
    let digest = Md5::digest(data);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Arc::from(hex)
}

/// A bucket: its creation time and its keys, sorted.
#[derive(Debug, Default)]
pub struct Bucket {
    /// Keys to objects.
    pub objects: BTreeMap<String, Object>,
}

/// All buckets. Cloned cheaply (an `Arc` inside); readers take a read lock per request.
#[derive(Debug, Clone, Default)]
pub struct Store {
    buckets: Arc<RwLock<BTreeMap<String, Bucket>>>,
}

/// What a ListObjectsV2 request asks for, after defaults.
#[derive(Debug, Clone, Default)]
pub struct ListRequest<'a> {
    /// Only keys starting with this.
    pub prefix: &'a str,
    /// Roll keys up to the first delimiter after the prefix into common prefixes.
    pub delimiter: Option<&'a str>,
    /// Resume after this key or common prefix (the later of token and start-after).
    pub after: Option<&'a str>,
    /// At most this many keys and common prefixes together.
    pub max_keys: usize,
}

/// One page of a listing.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ListPage {
    /// Keys with their object's size and ETag, in order.
    pub objects: Vec<(String, u64, Arc<str>, SystemTime)>,
    /// Common prefixes, in order.
    pub common_prefixes: Vec<String>,
    /// The last key or prefix of this page when more follow (the next continuation token).
    pub next: Option<String>,
}

/// A missing bucket.
#[derive(Debug, thiserror::Error)]
#[error("no bucket {0}")]
pub struct NoSuchBucket(pub String);

impl Store {
    /// Creates `name` if it does not exist yet.
    pub fn create_bucket(&self, name: &str) {
        let mut b = self.buckets.write().unwrap_or_else(|p| p.into_inner());
        b.entry(name.to_owned()).or_default();
    }

    /// Writes `key` into `bucket` (created when missing).
    pub fn put(&self, bucket: &str, key: String, obj: Object) {
        let mut b = self.buckets.write().unwrap_or_else(|p| p.into_inner());
        b.entry(bucket.to_owned())
            .or_default()
            .objects
            .insert(key, obj);
    }

    /// Bucket names, sorted.
    pub fn bucket_names(&self) -> Vec<String> {
        let b = self.buckets.read().unwrap_or_else(|p| p.into_inner());
        b.keys().cloned().collect()
    }

    /// Whether `bucket` exists.
    pub fn has_bucket(&self, bucket: &str) -> bool {
        let b = self.buckets.read().unwrap_or_else(|p| p.into_inner());
        b.contains_key(bucket)
    }

    /// The object at `bucket`/`key`: `Err` when the bucket is missing, `Ok(None)` when the key is.
    pub fn get(&self, bucket: &str, key: &str) -> Result<Option<Object>, NoSuchBucket> {
        let b = self.buckets.read().unwrap_or_else(|p| p.into_inner());
        let bucket = b
            .get(bucket)
            .ok_or_else(|| NoSuchBucket(bucket.to_owned()))?;
        Ok(bucket.objects.get(key).cloned())
    }

    /// Number of objects over all buckets.
    pub fn len(&self) -> usize {
        let b = self.buckets.read().unwrap_or_else(|p| p.into_inner());
        b.values().map(|b| b.objects.len()).sum()
    }

    /// Whether no bucket holds an object.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One page of `bucket`'s listing.
    pub fn list(&self, bucket: &str, req: &ListRequest<'_>) -> Result<ListPage, NoSuchBucket> {
        let b = self.buckets.read().unwrap_or_else(|p| p.into_inner());
        let bucket = b
            .get(bucket)
            .ok_or_else(|| NoSuchBucket(bucket.to_owned()))?;
        Ok(list_page(&bucket.objects, req))
    }
}

/// The page of `objects` that `req` asks for. Starts at the later of the prefix and the
/// resume point and stops after `max_keys` items plus one look-ahead; a run of keys under one
/// common prefix is skipped with one range seek, so the cost is O(page · log n).
pub fn list_page(objects: &BTreeMap<String, Object>, req: &ListRequest<'_>) -> ListPage {
    let mut page = ListPage::default();
    let max = req.max_keys;
    let mut start: Bound<String> = match req.after {
        Some(a) if a >= req.prefix => Bound::Excluded(a.to_owned()),
        _ => Bound::Included(req.prefix.to_owned()),
    };
    // The resume point may itself be a common prefix: its keys were rolled up already.
    let mut last_cp: Option<String> = req.after.map(str::to_owned);
    let mut count = 0usize;
    let mut last_item: Option<String> = None;
    'outer: loop {
        let mut reseek: Option<String> = None;
        for (key, obj) in objects.range((start.clone(), Bound::Unbounded)) {
            if !key.starts_with(req.prefix) {
                break 'outer;
            }
            let rest = &key[req.prefix.len()..];
            let cp = req
                .delimiter
                .filter(|d| !d.is_empty())
                .and_then(|d| rest.find(d).map(|i| &key[..req.prefix.len() + i + d.len()]));
            match cp {
                Some(cp) if last_cp.as_deref() == Some(cp) => {
                    // Under a prefix already emitted: jump past all its keys.
                    reseek = Some(cp.to_owned());
                    break;
                }
                Some(cp) => {
                    if count == max {
                        page.next = last_item;
                        break 'outer;
                    }
                    page.common_prefixes.push(cp.to_owned());
                    last_cp = Some(cp.to_owned());
                    last_item = Some(cp.to_owned());
                    count += 1;
                    reseek = Some(cp.to_owned());
                    break;
                }
                None => {
                    if count == max {
                        page.next = last_item;
                        break 'outer;
                    }
                    page.objects.push((
                        key.clone(),
                        obj.data.len() as u64,
                        obj.etag.clone(),
                        obj.last_modified,
                    ));
                    last_item = Some(key.clone());
                    count += 1;
                }
            }
        }
        match reseek {
            // Keys under `cp` sort before `cp` followed by the largest char, bar keys that
            // continue with that very char: those land on `last_cp` above and reseek again.
            Some(cp) => start = Bound::Excluded(format!("{cp}\u{10FFFF}")),
            None => break,
        }
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(keys: &[&str]) -> BTreeMap<String, Object> {
        keys.iter()
            .map(|k| (k.to_string(), Object::new(Bytes::from_static(b"x"))))
            .collect()
    }

    fn names(p: &ListPage) -> (Vec<&str>, Vec<&str>, Option<&str>) {
        (
            p.objects.iter().map(|o| o.0.as_str()).collect(),
            p.common_prefixes.iter().map(String::as_str).collect(),
            p.next.as_deref(),
        )
    }

    #[test]
    fn pages_with_prefix_and_token() {
        let s = store(&["a/1", "a/2", "a/3", "b/1"]);
        let mut r = ListRequest {
            prefix: "a/",
            max_keys: 2,
            ..Default::default()
        };
        let p = list_page(&s, &r);
        assert_eq!(names(&p), (vec!["a/1", "a/2"], vec![], Some("a/2")));
        r.after = Some("a/2");
        let p = list_page(&s, &r);
        assert_eq!(names(&p), (vec!["a/3"], vec![], None));
    }

    #[test]
    fn delimiter_rolls_up_and_resumes_after_a_prefix() {
        let s = store(&["a/1", "a/2", "b/x/1", "b/y", "c", "d/1"]);
        let mut r = ListRequest {
            delimiter: Some("/"),
            max_keys: 2,
            ..Default::default()
        };
        let p = list_page(&s, &r);
        assert_eq!(names(&p), (vec![], vec!["a/", "b/"], Some("b/")));
        r.after = Some("b/");
        let p = list_page(&s, &r);
        assert_eq!(names(&p), (vec!["c"], vec!["d/"], None));
        r.prefix = "b/";
        r.after = None;
        let p = list_page(&s, &r);
        assert_eq!(names(&p), (vec!["b/y"], vec!["b/x/"], None));
    }

    #[test]
    fn start_after_before_prefix_is_ignored() {
        let s = store(&["a", "b/1", "b/2"]);
        let r = ListRequest {
            prefix: "b/",
            after: Some("a"),
            max_keys: 1000,
            ..Default::default()
        };
        assert_eq!(names(&list_page(&s, &r)).0, vec!["b/1", "b/2"]);
    }

    #[test]
    fn exactly_full_page_is_not_truncated() {
        let s = store(&["a", "b"]);
        let r = ListRequest {
            max_keys: 2,
            ..Default::default()
        };
        assert_eq!(names(&list_page(&s, &r)).2, None);
    }
}
