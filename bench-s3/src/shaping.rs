//! What makes the server behave like a remote S3: a fixed latency per request, a request rate
//! per prefix above which it answers `503 SlowDown` (as S3 does above ~5,500 GETs/s per
//! prefix), and the request counts by kind that the benchmark reads back. Owns no objects.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Latency and rate options.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shape {
    /// Added before every answer.
    pub latency: Duration,
    /// Requests per second per prefix before `SlowDown`; `None`: unlimited.
    pub slowdown_rps: Option<u32>,
}

/// Request counts and the rate windows. Shared by every request.
#[derive(Debug, Default)]
pub struct Meter {
    shape: Shape,
    counts: Mutex<BTreeMap<String, u64>>,
    bytes_served: AtomicU64,
    slowdowns: AtomicU64,
    /// Per prefix: the start of its current one-second window and requests in it.
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

/// The rate prefix of a request: the bucket and the key's (or listing prefix's) first path
/// segment. S3 partitions by key prefix; one level is enough to tell `events/` from `logs/`.
pub fn rate_prefix(bucket: &str, key: &str) -> String {
    let first = key.split('/').next().unwrap_or("");
    format!("{bucket}/{first}")
}

impl Meter {
    /// A meter applying `shape`.
    pub fn new(shape: Shape) -> Self {
        Self {
            shape,
            ..Self::default()
        }
    }

    /// Counts one request of `kind` on `prefix` (see [`rate_prefix`]), waits the latency, and
    /// says whether it is over the prefix's rate (the caller answers `SlowDown`).
    pub async fn enter(&self, kind: &str, prefix: Option<&str>) -> bool {
        {
            let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            *c.entry(kind.to_owned()).or_default() += 1;
        }
        if !self.shape.latency.is_zero() {
            tokio::time::sleep(self.shape.latency).await;
        }
        let (Some(limit), Some(prefix)) = (self.shape.slowdown_rps, prefix) else {
            return false;
        };
        let now = Instant::now();
        let over = {
            let mut w = self.windows.lock().unwrap_or_else(|p| p.into_inner());
            let slot = w.entry(prefix.to_owned()).or_insert((now, 0));
            if now.duration_since(slot.0) >= Duration::from_secs(1) {
                *slot = (now, 0);
            }
            slot.1 += 1;
            slot.1 > limit
        };
        if over {
            self.slowdowns.fetch_add(1, Ordering::Relaxed);
        }
        over
    }

    /// Adds `n` body bytes served by GetObject.
    pub fn served(&self, n: u64) {
        self.bytes_served.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts so far, as one JSON object: each kind, `bytesServed` and `slowDown`.
    pub fn to_json(&self) -> String {
        let c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::from("{");
        for (k, v) in c.iter() {
            out.push_str(&format!("\"{}\": {v}, ", k.replace('"', "'")));
        }
        out.push_str(&format!(
            "\"total\": {}, \"bytesServed\": {}, \"slowDown\": {}}}",
            c.values().sum::<u64>(),
            self.bytes_served.load(Ordering::Relaxed),
            self.slowdowns.load(Ordering::Relaxed)
        ));
        out
    }

    /// Forgets all counts (between benchmark runs on one seeded server).
    pub fn reset(&self) {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.bytes_served.store(0, Ordering::Relaxed);
        self.slowdowns.store(0, Ordering::Relaxed);
        self.windows
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn over_the_rate_per_prefix_only() {
        let m = Meter::new(Shape {
            latency: Duration::ZERO,
            slowdown_rps: Some(2),
        });
        assert!(!m.enter("GetObject", Some("b/x")).await);
        assert!(!m.enter("GetObject", Some("b/x")).await);
        assert!(m.enter("GetObject", Some("b/x")).await);
        assert!(!m.enter("GetObject", Some("b/y")).await);
        assert!(m.to_json().contains("\"GetObject\": 4"));
        assert!(m.to_json().contains("\"slowDown\": 1"));
    }

    #[test]
    fn prefix_is_bucket_and_first_segment() {
        assert_eq!(rate_prefix("b", "events/day=1/x"), "b/events");
        assert_eq!(rate_prefix("b", ""), "b/");
    }
}
