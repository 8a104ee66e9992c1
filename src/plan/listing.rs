//! One listing of a whole bucket, shared by its manifest entries (spec ACCEPTANCE "Speed
//! and memory": list a bucket once rather than once per entry).
//!
//! When a manifest has several entries that each need a listing, one paginated listing of
//! the whole bucket usually costs fewer requests than one listing per entry: a bucket of
//! 200 keys and 20 entries is 1 request instead of 20. The index is only built while that
//! holds: it stops (and the planner falls back to per-entry listings) as soon as it has
//! used as many pages as the per-entry listings would at the least, or has gathered
//! `s3meta.bucketListingCap` keys, so a huge bucket with few entries costs at most twice
//! the per-entry requests, and memory stays bounded by the cap.
//!
//! It owns no planning rule: it answers "the keys under this prefix" and "this key's size"
//! exactly as the store would, from memory. It never reads an object.

use crate::store::{self, Listing, ObjectMeta, ObjectStore};

/// Every key of a bucket, sorted by key (bytes, as S3 lists them).
#[derive(Debug, Default)]
pub struct BucketIndex {
    objects: Vec<ObjectMeta>,
}

/// Why no index was built.
#[derive(Debug)]
pub enum NoIndex {
    /// The bucket has more keys than the page or key budget allows.
    TooLarge,
    /// The listing failed; per-entry listings will report their own errors.
    Failed(store::Error),
}

impl BucketIndex {
    /// Lists the whole bucket, page by page, giving up after `max_pages` pages or `max_keys`
    /// keys.
    pub async fn build(
        store: &dyn ObjectStore,
        bucket: &str,
        max_pages: usize,
        max_keys: usize,
    ) -> Result<BucketIndex, NoIndex> {
        let mut objects: Vec<ObjectMeta> = Vec::new();
        let mut next = None;
        let mut pages = 0;
        loop {
            if pages >= max_pages {
                return Err(NoIndex::TooLarge);
            }
            let page = store
                .list_page(bucket, "", next)
                .await
                .map_err(NoIndex::Failed)?;
            pages += 1;
            if objects.len() + page.objects.len() > max_keys {
                return Err(NoIndex::TooLarge);
            }
            objects.extend(page.objects);
            match page.next {
                Some(n) => next = Some(n),
                None => break,
            }
        }
        // S3 lists in UTF-8 byte order already; sorting makes the binary search independent
        // of the server (and is a no-op pass over sorted input).
        objects.sort_by(|a, b| a.key.as_bytes().cmp(b.key.as_bytes()));
        objects.shrink_to_fit();
        Ok(BucketIndex { objects })
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// True when the bucket is empty.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The keys under `prefix`, in key order, at most `limit` (the same answer as
    /// [`ObjectStore::list_all`]).
    pub fn list(&self, prefix: &str, limit: usize) -> Listing {
        let start = self
            .objects
            .partition_point(|o| o.key.as_bytes() < prefix.as_bytes());
        let mut out = Listing::default();
        for o in self.objects[start..]
            .iter()
            .take_while(|o| o.key.starts_with(prefix))
        {
            if out.objects.len() >= limit {
                out.truncated = true;
                break;
            }
            out.objects.push(o.clone());
        }
        out
    }

    /// The object with exactly this key, if the bucket has it (what HEAD would answer).
    pub fn get(&self, key: &str) -> Option<&ObjectMeta> {
        self.objects
            .binary_search_by(|o| o.key.as_bytes().cmp(key.as_bytes()))
            .ok()
            .map(|i| &self.objects[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(keys: &[&str]) -> BucketIndex {
        let mut objects: Vec<ObjectMeta> = keys
            .iter()
            .map(|k| ObjectMeta {
                key: k.to_string(),
                size: k.len() as u64,
                last_modified: None,
                storage_class: None,
            })
            .collect();
        objects.sort_by(|a, b| a.key.as_bytes().cmp(b.key.as_bytes()));
        BucketIndex { objects }
    }

    fn keys(l: &Listing) -> Vec<&str> {
        l.objects.iter().map(|o| o.key.as_str()).collect()
    }

    #[test]
    fn a_prefix_takes_exactly_the_keys_that_start_with_it() {
        let ix = index(&["a/1", "a/2", "a0", "a_old/1", "b/1", "a/", "a"]);
        assert_eq!(keys(&ix.list("a/", 10)), vec!["a/", "a/1", "a/2"]);
        assert_eq!(keys(&ix.list("", 10)).len(), 7);
        assert_eq!(keys(&ix.list("c/", 10)), Vec::<&str>::new());
    }

    #[test]
    fn the_limit_truncates_like_a_store_listing() {
        let ix = index(&["t/1", "t/2", "t/3"]);
        let l = ix.list("t/", 2);
        assert_eq!(keys(&l), vec!["t/1", "t/2"]);
        assert!(l.truncated);
        assert!(!ix.list("t/", 3).truncated);
    }

    #[test]
    fn get_finds_an_exact_key_only() {
        let ix = index(&["x/a.zip", "x/a.zip.bak"]);
        assert_eq!(ix.get("x/a.zip").map(|o| o.size), Some(7));
        assert!(ix.get("x/a").is_none());
    }
}
