//! Helpers of the `serve` tests: a clock moved by hand, a bounded wait, a TCP server that
//! never answers, and a plain GET of the health endpoint.

use futures::future::BoxFuture;
use jiff::Timestamp;
use s3meta::serve::Clock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// A clock the test moves by hand.
pub struct ManualClock {
    now: Mutex<Timestamp>,
    tick: watch::Sender<Timestamp>,
    /// How often the loop went to sleep: once it has, it has registered its jobs.
    sleeps: AtomicU32,
}

impl ManualClock {
    /// A clock standing at `at` (RFC 3339).
    pub fn new(at: &str) -> Arc<ManualClock> {
        let t: Timestamp = at.parse().unwrap();
        Arc::new(ManualClock {
            now: Mutex::new(t),
            tick: watch::channel(t).0,
            sleeps: AtomicU32::new(0),
        })
    }

    /// Moves the clock to `at`, waking the sleepers whose time has come.
    pub fn set(&self, at: &str) {
        let t: Timestamp = at.parse().unwrap();
        *self.now.lock().unwrap() = t;
        self.tick.send_replace(t);
    }

    /// Whether the loop has gone to sleep at least once (so it has registered its jobs).
    pub fn idle(&self) -> bool {
        self.sleeps.load(Ordering::SeqCst) > 0
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap()
    }

    fn sleep_until(&self, t: Timestamp) -> BoxFuture<'_, ()> {
        self.sleeps.fetch_add(1, Ordering::SeqCst);
        let mut rx = self.tick.subscribe();
        Box::pin(async move {
            while *rx.borrow_and_update() < t {
                if rx.changed().await.is_err() {
                    return;
                }
            }
        })
    }
}

/// Waits (bounded, 10 s) until `cond` holds.
pub async fn until(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..400 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A TCP server that accepts connections and never answers: a run against it hangs.
pub fn blackhole() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = vec![];
        for s in l.incoming().flatten().take(64) {
            held.push(s);
        }
    });
    format!("http://{addr}")
}

/// A loopback address with a port free a moment ago.
pub fn free_addr() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

/// `GET /` on `addr`, the whole answer as text.
pub fn get(addr: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}
