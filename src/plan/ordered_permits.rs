//! Request slots handed out in key order: when more requests wait than slots are free, the
//! one for the smallest prefix goes first.
//!
//! A split listing under a limit needs only the first `limit` keys in key order. With a
//! plain semaphore, the sub-prefixes of a split all progress at the same pace, so by the time
//! the first ones hold `limit` keys the later ones have been listed just as far, for nothing.
//! Served in key order, the earliest prefixes take the slots and the later ones only get
//! what the earlier cannot use, so a cut listing costs about the pages before the cut.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// The pool. Cheap to share by reference; permits return themselves when dropped.
#[derive(Debug)]
pub(crate) struct OrderedPermits {
    inner: Arc<Mutex<Inner>>,
    size: usize,
}

#[derive(Debug)]
struct Inner {
    free: usize,
    /// Waiters by (prefix, arrival): the smallest prefix first, then first come.
    waiting: BinaryHeap<Reverse<Waiter>>,
    arrivals: u64,
}

#[derive(Debug)]
struct Waiter {
    key: String,
    seq: u64,
    tx: oneshot::Sender<Permit>,
}

impl PartialEq for Waiter {
    fn eq(&self, other: &Self) -> bool {
        (&self.key, self.seq) == (&other.key, other.seq)
    }
}
impl Eq for Waiter {}
impl PartialOrd for Waiter {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Waiter {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.key.as_bytes(), self.seq).cmp(&(other.key.as_bytes(), other.seq))
    }
}

/// One slot; given back (to the smallest waiting prefix) when dropped.
#[derive(Debug)]
pub(crate) struct Permit {
    inner: Option<Arc<Mutex<Inner>>>,
}

fn lock(m: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl OrderedPermits {
    /// A pool of `n` slots (at least 1).
    pub(crate) fn new(n: usize) -> OrderedPermits {
        OrderedPermits {
            size: n.max(1),
            inner: Arc::new(Mutex::new(Inner {
                free: n.max(1),
                waiting: BinaryHeap::new(),
                arrivals: 0,
            })),
        }
    }

    /// How many slots the pool has.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Waits for a slot for a request under `key`.
    pub(crate) async fn acquire(&self, key: &str) -> Permit {
        let rx = {
            let mut g = lock(&self.inner);
            if g.free > 0 && g.waiting.is_empty() {
                g.free -= 1;
                return Permit {
                    inner: Some(self.inner.clone()),
                };
            }
            let (tx, rx) = oneshot::channel();
            let seq = g.arrivals;
            g.arrivals += 1;
            g.waiting.push(Reverse(Waiter {
                key: key.to_string(),
                seq,
                tx,
            }));
            // A slot may be free while others wait (they were just handed one each): give
            // the free ones out now, smallest first.
            let ready = hand_out(&mut g);
            drop(g);
            deliver(&self.inner, ready);
            rx
        };
        match rx.await {
            Ok(p) => p,
            // The sender is only dropped with the pool itself, which outlives its users; a
            // slot-less request then is the worst case, never a hang.
            Err(_) => Permit { inner: None },
        }
    }
}

/// The waiters that free slots go to now (the lock held).
fn hand_out(g: &mut Inner) -> Vec<oneshot::Sender<Permit>> {
    let mut out = vec![];
    while g.free > 0 {
        match g.waiting.pop() {
            Some(Reverse(w)) => {
                g.free -= 1;
                out.push(w.tx);
            }
            None => break,
        }
    }
    out
}

/// Sends each of `ready` a permit (the lock not held); a waiter that gave up passes its slot
/// on, in a loop rather than through drops, so that no chain of them nests.
fn deliver(inner: &Arc<Mutex<Inner>>, ready: Vec<oneshot::Sender<Permit>>) {
    let mut pending = ready;
    while let Some(tx) = pending.pop() {
        let permit = Permit {
            inner: Some(inner.clone()),
        };
        if let Err(mut unused) = tx.send(permit) {
            // Defuse it and give the slot to the next waiter, or back to the pool.
            unused.inner = None;
            let mut g = lock(inner);
            g.free += 1;
            pending.extend(hand_out(&mut g));
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            let ready = {
                let mut g = lock(&inner);
                g.free += 1;
                hand_out(&mut g)
            };
            deliver(&inner, ready);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn waiting_requests_are_served_smallest_prefix_first() {
        let pool = Arc::new(OrderedPermits::new(1));
        let held = pool.acquire("m").await;
        let order = Arc::new(Mutex::new(vec![]));
        let mut tasks = vec![];
        for k in ["z", "b", "q", "a"] {
            let (pool, order) = (pool.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _p = pool.acquire(k).await;
                order.lock().unwrap().push(k);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }));
            // Let each one queue before the next.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(held);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec!["a", "b", "q", "z"]);
    }

    #[tokio::test]
    async fn a_waiter_that_gave_up_passes_its_slot_on() {
        let pool = Arc::new(OrderedPermits::new(1));
        let held = pool.acquire("a").await;
        // Two waiters; the first (smallest) gives up before it is served.
        let gone = {
            let pool = pool.clone();
            tokio::spawn(async move {
                let _p = pool.acquire("b").await;
            })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        let waiting = {
            let pool = pool.clone();
            tokio::spawn(async move {
                let _p = pool.acquire("c").await;
            })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        gone.abort();
        let _ = gone.await;
        drop(held);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the slot reached the second waiter")
            .unwrap();
        // And every slot is back: one can be taken at once.
        tokio::time::timeout(Duration::from_secs(5), pool.acquire("d"))
            .await
            .expect("the slot is free again");
    }

    #[tokio::test]
    async fn many_tasks_through_few_slots_all_finish() {
        let pool = Arc::new(OrderedPermits::new(3));
        let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let (pool, in_flight, most) = (pool.clone(), in_flight.clone(), most.clone());
                tokio::spawn(async move {
                    let _p = pool.acquire(&format!("k{:03}", (i * 37) % 200)).await;
                    let now = in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                })
            })
            .collect();
        for t in tasks {
            tokio::time::timeout(Duration::from_secs(10), t)
                .await
                .expect("no task hangs")
                .unwrap();
        }
        assert!(most.load(std::sync::atomic::Ordering::SeqCst) <= 3);
    }
}
