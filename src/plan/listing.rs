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
//!
//! [`fold_split`] is the other way to list a large prefix: page by page into a [`Fold`], so
//! that a glob over a million keys keeps what planning needs (a few samples per table root)
//! instead of every key. It splits the prefix by sub-prefix, recursively, so that a
//! Hive-partitioned prefix is listed many pages at once rather than one after another.

use super::ordered_permits::OrderedPermits;
use crate::store::{self, ListPage, Listing, ObjectMeta, ObjectStore};
use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};

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

/// Listing pages one split glob listing keeps in flight.
///
/// A page costs the server little (S3 serves 3,500 LIST requests a second per prefix) and
/// the client about 2 ms of parsing, and a listing waits on nothing else: at 25 ms of
/// latency 8 pages in flight leave the link mostly idle (1,000,000 keys in 6.3 s), 32 keep it
/// busy until the parsing CPU is the limit (5.9 s; 4.4 s at 0 ms latency; 47 MiB peak RSS),
/// 64 reach 4.4 s at 25 ms but peak at 65 MiB (each page in flight holds its XML and its
/// parsed keys). The run-wide request budget (`requestConcurrency`) bounds it further.
pub const GLOB_PAGES_IN_FLIGHT: usize = 48;

/// What a streaming listing folds each listed key into.
pub trait Fold: Send {
    /// Takes one listed key.
    fn add(&mut self, o: ObjectMeta);
    /// Takes everything `later` folded; every key of `later` sorts after this fold's keys.
    fn merge(&mut self, later: Self);
}

/// A prefix's keys, folded.
#[derive(Debug)]
pub struct Folded<F> {
    /// What the keys were folded into.
    pub fold: F,
    /// Keys folded (at most the limit).
    pub listed: usize,
    /// True when the prefix holds more keys than the limit: then exactly the first `limit`
    /// keys in key order were folded, as [`ObjectStore::list_all`] would have returned them.
    pub truncated: bool,
}

/// Lists every key under `prefix` (the first `limit` in key order) into folds made by `new`,
/// at most `width` requests in flight.
///
/// A prefix of more than one page is split by its sub-prefixes (`Delimiter=/`), and each
/// sub-prefix of more than one page again, so that `events/year=*/day=*/` is listed one
/// day per request, `width` at a time: 1,000 partitions of one page cost 1,000 pages plus
/// two requests per split folder, and take a thousandth of the sequential time at best.
/// A prefix with fewer than two sub-prefixes is listed page after page.
///
/// Memory is the folds (one per split folder, merged as they finish) and the pages in
/// flight; no key is kept unless the fold keeps it.
pub async fn fold_split<F: Fold>(
    store: &dyn ObjectStore,
    bucket: &str,
    prefix: &str,
    limit: usize,
    width: usize,
    new: &(dyn Fn() -> F + Send + Sync),
) -> store::Result<Folded<F>> {
    let lister = Lister {
        store,
        bucket,
        limit,
        split: width >= 2,
        permits: OrderedPermits::new(width),
        folded: Default::default(),
        new,
    };
    lister.node(prefix.to_string()).await
}

struct Lister<'a, F> {
    store: &'a dyn ObjectStore,
    bucket: &'a str,
    limit: usize,
    split: bool,
    /// One permit per request in flight (a level listing holds one for all its pages),
    /// smallest prefix first: the keys a limit keeps are listed before those it drops.
    permits: OrderedPermits,
    /// Keys folded so far (see [`Folded`]): a prefix with `limit` keys before it cannot
    /// hold one of the first `limit` keys, so it is not listed (or no further).
    folded: std::sync::Mutex<FoldedPages>,
    new: &'a (dyn Fn() -> F + Send + Sync),
}

/// The pages a split listing has folded: each page's last key and key count, their total,
/// and the key by which `limit` keys are reached (recomputed only when a page lands before
/// it), so that asking "are `limit` keys before this prefix?" costs a comparison, not a walk
/// over every page (a million keys in small partitions are hundreds of thousands of pages).
#[derive(Debug, Default)]
struct FoldedPages {
    pages: std::collections::BTreeMap<String, usize>,
    total: usize,
    /// `None`: to compute; `Some(None)`: fewer than `limit` keys; `Some(Some(k))`: the pages
    /// up to the one ending at `k` hold `limit` keys.
    reached_at: Option<Option<String>>,
}

impl FoldedPages {
    fn insert(&mut self, last: &str, n: usize) {
        // Pages are disjoint ranges of keys: a last key is never seen twice.
        let e = self.pages.entry(last.to_string()).or_default();
        *e = e.saturating_add(n);
        self.total = self.total.saturating_add(n);
        let stale = match &self.reached_at {
            Some(Some(k)) => last < k.as_str(),
            _ => true,
        };
        if stale {
            self.reached_at = None;
        }
    }

    /// Whether `limit` keys lie before `prefix` (in pages that end before it: every key
    /// of such a page sorts before `prefix`, as pages of other prefixes do not overlap it).
    /// `limit` is the listing's one limit: the threshold found is kept for it.
    fn past(&mut self, prefix: &str, limit: usize) -> bool {
        if self.total < limit {
            return false;
        }
        if self.reached_at.is_none() {
            let mut sum = 0usize;
            let mut at = None;
            for (k, n) in &self.pages {
                sum = sum.saturating_add(*n);
                if sum >= limit {
                    at = Some(k.clone());
                    break;
                }
            }
            self.reached_at = Some(at);
        }
        matches!(&self.reached_at, Some(Some(k)) if k.as_str() < prefix)
    }
}

/// One part of a split prefix, in key order: a key directly under it, or a sub-prefix.
enum Unit {
    Key(ObjectMeta),
    Folder(String),
}

impl Unit {
    fn name(&self) -> &str {
        match self {
            Unit::Key(o) => &o.key,
            Unit::Folder(f) => f,
        }
    }
}

impl<'a, F: Fold + 'a> Lister<'a, F> {
    async fn page(&self, prefix: &str, next: Option<String>) -> store::Result<ListPage> {
        // The semaphore is never closed, so acquiring only waits.
        let _permit = self.permits.acquire(prefix).await;
        self.store.list_page(self.bucket, prefix, next).await
    }

    /// Whether `limit` keys are known to lie before `prefix` (see `folded`).
    fn past_the_limit(&self, prefix: &str) -> bool {
        let mut folded = self.folded.lock().unwrap_or_else(|e| e.into_inner());
        folded.past(prefix, self.limit)
    }

    /// Folds `page` and the pages after it, stopping after `cap` keys, or once `limit`
    /// keys are known before `prefix`. `count`: whether these keys count in `folded` (not
    /// when a part is listed a second time to cut it).
    async fn sequential(
        &self,
        prefix: &str,
        mut page: ListPage,
        cap: usize,
        count: bool,
    ) -> store::Result<Folded<F>> {
        let mut out = Folded {
            fold: (self.new)(),
            listed: 0,
            truncated: false,
        };
        loop {
            if count {
                if let Some(last) = page.objects.last() {
                    let mut folded = self.folded.lock().unwrap_or_else(|e| e.into_inner());
                    folded.insert(&last.key, page.objects.len());
                }
            }
            for o in page.objects {
                if out.listed >= cap {
                    out.truncated = true;
                    return Ok(out);
                }
                out.fold.add(o);
                out.listed += 1;
            }
            match page.next {
                Some(_) if count && self.past_the_limit(prefix) => {
                    out.truncated = true;
                    return Ok(out);
                }
                Some(n) => page = self.page(prefix, Some(n)).await?,
                None => return Ok(out),
            }
        }
    }

    /// The first `limit` keys under `prefix`, folded. Recursion depth is bounded by the
    /// number of `/` in a key (S3 keys are at most 1,024 bytes).
    fn node(&'a self, prefix: String) -> BoxFuture<'a, store::Result<Folded<F>>> {
        Box::pin(async move {
            if self.past_the_limit(&prefix) {
                // Every key here comes after the first `limit`: not one is needed.
                return Ok(Folded {
                    fold: (self.new)(),
                    listed: 0,
                    truncated: true,
                });
            }
            let first = self.page(&prefix, None).await?;
            if first.next.is_none() || !self.split {
                return self.sequential(&prefix, first, self.limit, true).await;
            }
            let (objects, folders) = {
                let _permit = self.permits.acquire(&prefix).await;
                self.store.list_level(self.bucket, &prefix).await?
            };
            if folders.len() < 2 {
                return self.sequential(&prefix, first, self.limit, true).await;
            }
            drop(first);
            let mut units: Vec<Unit> = objects
                .into_iter()
                .map(Unit::Key)
                .chain(folders.into_iter().map(Unit::Folder))
                .collect();
            // A key directly under the prefix has no `/` past it, so it sorts against every
            // key of a sub-prefix as it sorts against the sub-prefix itself: unit order is
            // key order.
            units.sort_by(|a, b| a.name().as_bytes().cmp(b.name().as_bytes()));
            // The parts in key order, a window of them listed at once: once the parts
            // before hold `limit` keys the rest are never listed (a 10,000,000-key prefix
            // under a 100,000-key limit costs about 100,000 keys of pages, not all of them).
            // As many parts at once as requests may be in flight.
            let window = self.permits.size();
            let parts: Vec<BoxFuture<'a, store::Result<Folded<F>>>> = units
                .iter()
                .map(|u| -> BoxFuture<'a, store::Result<Folded<F>>> {
                    match u {
                        Unit::Key(o) => {
                            let mut fold = (self.new)();
                            fold.add(o.clone());
                            Box::pin(futures::future::ready(Ok(Folded {
                                fold,
                                listed: 1,
                                truncated: false,
                            })))
                        }
                        Unit::Folder(f) => self.node(f.clone()),
                    }
                })
                .collect();
            let mut parts = stream::iter(parts).buffered(window);
            let mut out = Folded {
                fold: (self.new)(),
                listed: 0,
                truncated: false,
            };
            let mut i = 0;
            let mut cut_in: Option<(&str, usize)> = None;
            while let Some(part) = parts.next().await {
                let part = part?;
                let unit = &units[i];
                i += 1;
                let room = self.limit - out.listed;
                if part.listed <= room {
                    out.fold.merge(part.fold);
                    out.listed += part.listed;
                    if part.truncated || (out.listed == self.limit && i < units.len()) {
                        out.truncated = true;
                        break;
                    }
                    continue;
                }
                // Only the first `room` keys of this part fit: listed again below, in order.
                if let (true, Unit::Folder(f)) = (room > 0, unit) {
                    cut_in = Some((f.as_str(), room));
                }
                out.truncated = true;
                break;
            }
            // The parts not needed are dropped first: a slot already handed to one of them
            // comes back, and the listing below can have it.
            drop(parts);
            if let Some((f, room)) = cut_in {
                let first = self.page(f, None).await?;
                let cut = self.sequential(f, first, room, false).await?;
                out.fold.merge(cut.fold);
                out.listed += cut.listed;
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A listing is the server's word: a page sent twice, pages out of order or an empty
    /// key only move the threshold (a cut comes sooner, with its warning), never panic, and
    /// keep one entry per distinct last key.
    #[test]
    fn folded_pages_take_a_lying_listing_without_harm() {
        let mut f = FoldedPages::default();
        f.insert("z/9", 3);
        f.insert("z/9", 3);
        f.insert("", 0);
        f.insert("a/1", usize::MAX / 2);
        f.insert("a/0", 7);
        assert_eq!(f.pages.len(), 4);
        assert!(f.past("b/", 10));
        assert!(!f.past("", 10));
        assert!(!f.past("a/0", 10));
    }

    #[test]
    fn folded_pages_say_when_the_limit_lies_before_a_prefix() {
        let mut f = FoldedPages::default();
        assert!(!f.past("b/", 10));
        f.insert("c/9", 6);
        assert!(!f.past("d/", 10), "6 keys before d/");
        f.insert("a/9", 5);
        // 11 keys end by c/9: past for anything after c/9, not for b/ (5 before it).
        assert!(f.past("d/", 10));
        assert!(!f.past("b/", 10));
        assert!(!f.past("c/", 10));
        // A page landing before the threshold moves it down.
        f.insert("b/9", 5);
        assert!(f.past("c/", 10), "10 keys end by b/9");
        assert!(!f.past("b/", 10));
        // (One limit per listing: the threshold is kept for it.)
        let mut one = FoldedPages::default();
        one.insert("a/9", 1);
        assert!(!one.past("a/", 1));
        assert!(one.past("a/9x", 1));
    }

    fn index(keys: &[&str]) -> BucketIndex {
        let mut objects: Vec<ObjectMeta> = keys
            .iter()
            .map(|k| ObjectMeta {
                key: k.to_string(),
                size: k.len() as u64,
                last_modified: None,
                storage_class: None,
                etag: None,
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
