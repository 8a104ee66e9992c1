//! `BudgetStore`: one run-wide budget of S3 requests in flight, shrunk by throttling.
//!
//! On a real S3 every request costs tens of milliseconds, so a run is fast only when many
//! requests are in flight at once; nested per-stage limits (buckets × entries) leave most of
//! a slow link idle in some stages and overload it in others. Every request of a run goes
//! through this one decorator instead: at most `limit` requests are in flight, whichever
//! stage sends them (listings, manifests, sample reads, regions, tags), so a bucket's sample
//! reads use the slots other buckets' listings do not.
//!
//! The limit adapts as TCP's congestion window and the SDK's adaptive retry mode do
//! (additive increase, multiplicative decrease): a throttling answer (`503 SlowDown`, `429`,
//! seen by the SDK's interceptor even when a retry then succeeds, or a request that failed
//! throttled) halves it, at most once per round of requests (a request that started before
//! the last decrease cannot decrease it again); `limit` successes in a row add one slot back,
//! up to the configured maximum. A request that still fails throttled after the SDK's own
//! retries is tried again here, after a backoff and with the smaller budget, a few times, so
//! that a store that throttles costs time, not containers.

use super::{GetRange, GetResult, ListPage, ObjectMeta, ObjectStore, Result};
use crate::store::ErrorKind;
use async_trait::async_trait;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, SemaphorePermit};

/// Extra attempts of a request that failed throttled after the SDK's own retries (unless
/// `maxAttempts` is 1).
pub const THROTTLED_RETRIES: u32 = 3;
/// The first backoff before such an attempt; doubled each time.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// The adaptive limit: a semaphore whose size moves between 1 and `max`.
#[derive(Debug)]
pub struct Limiter {
    sem: Semaphore,
    max: usize,
    state: Mutex<State>,
    /// Throttling answers seen so far (the store's own count, see [`ObjectStore::request_counts`]).
    throttled_seen: AtomicU64,
    /// Who throttles and what is limited, for the log line: ("S3", "requests").
    label: (&'static str, &'static str),
}

#[derive(Debug)]
struct State {
    /// Slots currently allowed.
    limit: usize,
    /// Slots to take out of circulation as permits come back (a decrease that could not
    /// take them from the semaphore at once).
    debt: usize,
    /// Successes since the last change.
    successes: usize,
    /// Bumped at each decrease: a request that started before it does not decrease again.
    epoch: u64,
    /// Decreases so far, and the smallest limit reached (for the summary and tests).
    decreases: u64,
    lowest: usize,
}

/// A slot: the request's epoch, returned to the limiter when dropped.
#[derive(Debug)]
pub struct Slot<'a> {
    limiter: &'a Limiter,
    permit: Option<SemaphorePermit<'a>>,
    epoch: u64,
    throttled_at_start: u64,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if let Some(p) = self.permit.take() {
            let mut s = lock(&self.limiter.state);
            if s.debt > 0 {
                s.debt -= 1;
                p.forget();
            }
        }
    }
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Limiter {
    /// A limiter allowing `max` requests at once (at least 1).
    pub fn new(max: usize) -> Limiter {
        let max = max.max(1);
        Limiter {
            sem: Semaphore::new(max),
            max,
            state: Mutex::new(State {
                limit: max,
                debt: 0,
                successes: 0,
                epoch: 0,
                decreases: 0,
                lowest: max,
            }),
            throttled_seen: AtomicU64::new(0),
            label: ("S3", "requests"),
        }
    }

    /// The same limiter for another server: `who` throttles, `what` is limited (the log
    /// line says "`who` throttled the run: `what` in flight cut to N").
    pub fn labelled(mut self, who: &'static str, what: &'static str) -> Limiter {
        self.label = (who, what);
        self
    }

    /// Waits for a slot. `throttled_now` is the store's throttling count at this moment.
    pub async fn acquire(&self, throttled_now: u64) -> Slot<'_> {
        // The semaphore is never closed, so `acquire` cannot fail; a closed one would only
        // mean "no limit", never a lost request.
        let permit = self.sem.acquire().await.ok();
        let epoch = lock(&self.state).epoch;
        Slot {
            limiter: self,
            permit,
            epoch,
            throttled_at_start: throttled_now,
        }
    }

    /// Records how a request ended: `throttled` when it failed throttled, `throttled_now`
    /// the store's throttling count after it (throttled attempts the SDK retried count too).
    pub fn done(&self, slot: &Slot<'_>, throttled: bool, throttled_now: u64) {
        let seen = self
            .throttled_seen
            .fetch_max(throttled_now, Ordering::Relaxed);
        // Throttling answers that arrived while this request was in flight, not yet acted on.
        let new_answers = throttled_now > seen.max(slot.throttled_at_start);
        let mut s = lock(&self.state);
        if throttled || new_answers {
            if slot.epoch == s.epoch && s.limit > 1 {
                let to = (s.limit / 2).max(1);
                let cut = s.limit - to;
                s.limit = to;
                s.epoch += 1;
                s.decreases += 1;
                s.lowest = s.lowest.min(to);
                s.successes = 0;
                // Take what is free now; the rest as permits come back.
                let mut taken = 0;
                while taken < cut {
                    match self.sem.try_acquire() {
                        Ok(p) => {
                            p.forget();
                            taken += 1;
                        }
                        Err(_) => break,
                    }
                }
                s.debt += cut - taken;
                let (who, what) = self.label;
                tracing::info!(
                    limit = to,
                    "{who} throttled the run: {what} in flight cut to {to}"
                );
            }
            return;
        }
        s.successes += 1;
        if s.successes >= s.limit && s.limit < self.max {
            s.successes = 0;
            s.limit += 1;
            if s.debt > 0 {
                s.debt -= 1;
            } else {
                self.sem.add_permits(1);
            }
        }
    }

    /// The limit now.
    pub fn limit(&self) -> usize {
        lock(&self.state).limit
    }

    /// How many times throttling cut the limit, and the smallest limit reached.
    pub fn decreases(&self) -> (u64, usize) {
        let s = lock(&self.state);
        (s.decreases, s.lowest)
    }
}

/// The decorator: every request waits for a slot of the run's one [`Limiter`].
#[derive(Debug)]
pub struct BudgetStore {
    inner: Arc<dyn ObjectStore>,
    limiter: Limiter,
    backoff: Duration,
    retries: u32,
}

impl BudgetStore {
    /// Wraps `inner` with a budget of at most `max` requests in flight. `max_attempts` is
    /// `s3meta.maxAttempts`: at 1 (one attempt per request, asked for) a throttled request is
    /// not tried again here either.
    pub fn new(inner: Arc<dyn ObjectStore>, max: usize, max_attempts: u32) -> BudgetStore {
        BudgetStore {
            inner,
            limiter: Limiter::new(max),
            backoff: FIRST_BACKOFF,
            retries: if max_attempts > 1 {
                THROTTLED_RETRIES
            } else {
                0
            },
        }
    }

    /// The same with a shorter first backoff (tests).
    pub fn with_backoff(mut self, backoff: Duration) -> BudgetStore {
        self.backoff = backoff;
        self
    }

    /// The limiter (its current limit and decreases).
    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    fn throttled_now(&self) -> u64 {
        self.inner
            .request_counts()
            .map(|c| c.throttled)
            .unwrap_or(0)
    }

    /// Runs one request within the budget, again after a backoff when it failed throttled.
    async fn run<'a, T, F, Fut>(&'a self, f: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T>> + 'a,
    {
        let mut attempt = 0;
        loop {
            let slot = self.limiter.acquire(self.throttled_now()).await;
            // The run's timeline at trace level (where latency goes: bench/timeline.py).
            tracing::trace!("S3 request sent");
            let r = f().await;
            tracing::trace!("S3 request answered");
            let throttled = matches!(&r, Err(e) if e.kind == ErrorKind::Throttled);
            self.limiter.done(&slot, throttled, self.throttled_now());
            drop(slot);
            if !throttled || attempt >= self.retries {
                return r;
            }
            let wait = self.backoff * 2u32.pow(attempt);
            attempt += 1;
            tracing::debug!(
                attempt,
                "request throttled after the SDK's retries; trying again in {wait:?}"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

#[async_trait]
impl ObjectStore for BudgetStore {
    async fn list_buckets(&self) -> Result<Vec<String>> {
        self.run(|| self.inner.list_buckets()).await
    }

    async fn list_page(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<String>,
    ) -> Result<ListPage> {
        self.run(|| self.inner.list_page(bucket, prefix, continuation.clone()))
            .await
    }

    async fn list_level(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<(Vec<ObjectMeta>, Vec<String>)> {
        // One slot for the whole level: its pages are sequential anyway.
        self.run(|| self.inner.list_level(bucket, prefix)).await
    }

    async fn list_first(&self, bucket: &str) -> Result<ListPage> {
        self.run(|| self.inner.list_first(bucket)).await
    }

    async fn get_range(&self, bucket: &str, key: &str, range: GetRange) -> Result<GetResult> {
        self.run(|| self.inner.get_range(bucket, key, range)).await
    }

    async fn head(&self, bucket: &str, key: &str) -> Result<ObjectMeta> {
        self.run(|| self.inner.head(bucket, key)).await
    }

    async fn bucket_region(&self, bucket: &str) -> Result<Option<String>> {
        self.run(|| self.inner.bucket_region(bucket)).await
    }

    async fn bucket_tags(&self, bucket: &str) -> Result<Vec<(String, String)>> {
        self.run(|| self.inner.bucket_tags(bucket)).await
    }

    async fn object_tags(&self, bucket: &str, key: &str) -> Result<Vec<(String, String)>> {
        self.run(|| self.inner.object_tags(bucket, key)).await
    }

    fn request_counts(&self) -> Option<crate::status::RequestCounts> {
        self.inner.request_counts()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn throttling_halves_the_limit_once_per_round_and_successes_give_it_back() {
        let l = Limiter::new(8);
        let a = l.acquire(0).await;
        let b = l.acquire(0).await;
        // Two requests of the same round throttled: one decrease.
        l.done(&a, true, 0);
        l.done(&b, true, 0);
        drop((a, b));
        assert_eq!(l.limit(), 4);
        assert_eq!(l.decreases(), (1, 4));
        assert_eq!(
            l.sem.available_permits(),
            4,
            "the cut slots are out of circulation"
        );
        // A request of the new round throttled: another decrease.
        let c = l.acquire(0).await;
        l.done(&c, true, 0);
        drop(c);
        assert_eq!(l.limit(), 2);
        // `limit` successes in a row add one slot.
        for _ in 0..2 {
            let s = l.acquire(0).await;
            l.done(&s, false, 0);
        }
        assert_eq!(l.limit(), 3);
        assert_eq!(l.sem.available_permits(), 3);
        // Never below 1, never above the maximum.
        for _ in 0..5 {
            let s = l.acquire(0).await;
            l.done(&s, true, 0);
        }
        assert_eq!(l.limit(), 1);
        for _ in 0..200 {
            let s = l.acquire(0).await;
            l.done(&s, false, 0);
        }
        assert_eq!(l.limit(), 8);
        assert_eq!(l.sem.available_permits(), 8);
    }

    #[tokio::test]
    async fn a_cut_while_slots_are_out_takes_them_back_as_they_return() {
        let l = Limiter::new(4);
        let slots: Vec<_> = futures::future::join_all((0..4).map(|_| l.acquire(0))).await;
        l.done(&slots[0], true, 0);
        assert_eq!(l.limit(), 2);
        drop(slots);
        assert_eq!(l.sem.available_permits(), 2);
    }

    #[tokio::test]
    async fn a_throttled_answer_the_sdk_retried_still_cuts_the_limit() {
        let l = Limiter::new(8);
        let s = l.acquire(0).await;
        // The request succeeded, but the store saw a throttled attempt meanwhile.
        l.done(&s, false, 1);
        drop(s);
        assert_eq!(l.limit(), 4);
        // The same answer is not acted on twice.
        let s = l.acquire(1).await;
        l.done(&s, false, 1);
        assert_eq!(l.limit(), 4);
    }
}
