//! A fault-injecting loopback HTTP proxy in front of a real S3 server (the embedded s3s-fs
//! server or moto). It forwards every request unchanged (the Host header too, so SigV4
//! still verifies upstream) except a seeded, deterministic share, which it answers itself
//! with 503 SlowDown or 500 InternalError, or by dropping the connection without an answer.
//!
//! Each distinct request (method + path and query) is faulted at most [`MAX_FAULTS_PER_REQUEST`]
//! times, so a client that retries enough always gets through: the test checks that the
//! client does retry, not the luck of the draw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Faults injected at most per distinct request.
pub const MAX_FAULTS_PER_REQUEST: u32 = 2;

/// What the proxy did.
#[derive(Debug, Default)]
pub struct Counts {
    /// Requests received.
    pub requests: AtomicU64,
    /// Answered 503 SlowDown.
    pub slow_down: AtomicU64,
    /// Answered 500 InternalError.
    pub internal: AtomicU64,
    /// Dropped without an answer.
    pub dropped: AtomicU64,
}

impl Counts {
    /// Faults injected in all.
    pub fn faults(&self) -> u64 {
        self.slow_down.load(Ordering::Relaxed)
            + self.internal.load(Ordering::Relaxed)
            + self.dropped.load(Ordering::Relaxed)
    }
}

/// A running proxy; dropping it stops accepting connections.
pub struct FaultProxy {
    addr: SocketAddr,
    /// What it did so far.
    pub counts: Arc<Counts>,
    _stop: oneshot::Sender<()>,
}

impl FaultProxy {
    /// `http://127.0.0.1:<port>`: use it as `endPointURL`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

enum Fault {
    SlowDown,
    Internal,
    Drop,
}

struct State {
    upstream: String,
    seed: u64,
    percent: u64,
    client: Client<HttpConnector, Full<Bytes>>,
    counts: Arc<Counts>,
    faulted: Mutex<HashMap<String, u32>>,
}

/// splitmix64: a tiny, well-mixed deterministic generator.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl State {
    fn decide(&self, n: u64, request_id: &str) -> Option<Fault> {
        let r = mix(self.seed ^ mix(n));
        if r % 100 >= self.percent {
            return None;
        }
        let mut faulted = self.faulted.lock().unwrap();
        let count = faulted.entry(request_id.to_string()).or_default();
        if *count >= MAX_FAULTS_PER_REQUEST {
            return None;
        }
        *count += 1;
        Some(match (r / 100) % 3 {
            0 => Fault::SlowDown,
            1 => Fault::Internal,
            _ => Fault::Drop,
        })
    }
}

fn s3_error(status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault-proxy</RequestId></Error>"
    );
    Response::builder()
        .status(status)
        .header("content-type", "application/xml")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let n = state.counts.requests.fetch_add(1, Ordering::Relaxed);
    let pq = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let id = format!("{} {pq}", req.method());
    match state.decide(n, &id) {
        Some(Fault::SlowDown) => {
            state.counts.slow_down.fetch_add(1, Ordering::Relaxed);
            return Ok(s3_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "SlowDown",
                "Please reduce your request rate.",
            ));
        }
        Some(Fault::Internal) => {
            state.counts.internal.fetch_add(1, Ordering::Relaxed);
            return Ok(s3_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "We encountered an internal error. Please try again.",
            ));
        }
        Some(Fault::Drop) => {
            state.counts.dropped.fetch_add(1, Ordering::Relaxed);
            // An error from the service makes hyper close the connection unanswered.
            return Err(std::io::Error::other("fault proxy: connection dropped"));
        }
        None => {}
    }
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    let mut fwd = Request::builder()
        .method(parts.method)
        .uri(format!("{}{pq}", state.upstream));
    for (k, v) in parts.headers.iter() {
        fwd = fwd.header(k, v);
    }
    let fwd = fwd.body(Full::new(body)).map_err(std::io::Error::other)?;
    let resp = state
        .client
        .request(fwd)
        .await
        .map_err(std::io::Error::other)?;
    let (parts, body) = resp.into_parts();
    let body = body
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    Ok(Response::from_parts(parts, Full::new(body)))
}

/// Starts a proxy to `upstream` (`http://127.0.0.1:<port>`) on a free loopback port, faulting
/// about `percent` % of requests, chosen by `seed`. Runs on the current tokio runtime.
pub async fn start(upstream: &str, seed: u64, percent: u64) -> FaultProxy {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counts = Arc::new(Counts::default());
    let state = Arc::new(State {
        upstream: upstream.trim_end_matches('/').to_string(),
        seed,
        percent,
        client: Client::builder(TokioExecutor::new()).build_http(),
        counts: counts.clone(),
        faulted: Mutex::new(HashMap::new()),
    });
    let (tx, mut rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        loop {
            let (socket, _) = tokio::select! {
                r = listener.accept() => match r {
                    Ok(c) => c,
                    Err(_) => continue,
                },
                _ = &mut rx => break,
            };
            let state = state.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| handle(state.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(socket), svc)
                    .await;
            });
        }
    });
    FaultProxy {
        addr,
        counts,
        _stop: tx,
    }
}
