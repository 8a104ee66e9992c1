//! The health endpoint of `s3meta serve`: a loopback TCP listener that answers `GET /` (and
//! `HEAD /`) with the loop's current [`Health`] as JSON. It only reads the shared value the
//! loop publishes; it never changes the schedule.
//!
//! It must keep answering for as long as `serve` runs, whoever connects: a request head has
//! [`HEADER_TIMEOUT`] to arrive (an idle connection is closed, not held), at most
//! [`MAX_CONNECTIONS`] connections are served at once (one over the limit is closed at once,
//! so idle clients cannot exhaust the process's file descriptors), and a failed `accept` (e.g.
//! EMFILE when the descriptors run out anyway) is logged and retried after a short back-off
//! instead of ending the listener. Any other method is 405, any other path 404.

use super::schedule::JobRecord;
use super::Error;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// How long a client has to send its request head, and to take the answer.
pub(super) const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once; one more is closed without an answer.
pub(super) const MAX_CONNECTIONS: usize = 64;
/// The largest request head read; a longer one is answered 431.
const MAX_HEAD: usize = 8 * 1024;
/// Back-off after a failed `accept`, doubling up to [`ACCEPT_BACKOFF_MAX`].
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// The documented path.
const PATH: &str = "/";

/// What the health endpoint reports.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// `ok`, or `stopping`.
    pub status: String,
    /// Pipelines with a run in flight.
    pub running: Vec<String>,
    /// Each pipeline's last run.
    pub pipelines: BTreeMap<String, JobRecord>,
    /// Each pipeline's next run (its next fire or retry time; none when paused, manual or
    /// past its `endDate`).
    pub next_runs: BTreeMap<String, Option<jiff::Timestamp>>,
    /// The last error refreshing the pipeline list, if any.
    pub last_refresh_error: Option<String>,
}

/// Serves the health endpoint until the returned task is aborted.
pub(super) async fn serve_health(
    addr: SocketAddr,
    health: Arc<Mutex<Health>>,
) -> Result<(SocketAddr, JoinHandle<()>), Error> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Health { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| Error::Health { addr, source })?;
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let task = tokio::spawn(async move {
        let mut backoff = ACCEPT_BACKOFF;
        loop {
            let sock = match listener.accept().await {
                Ok((sock, _)) => {
                    backoff = ACCEPT_BACKOFF;
                    sock
                }
                Err(e) => {
                    // EMFILE/ENFILE/ENOBUFS pass when connections close; the listener stays.
                    tracing::warn!(addr = %bound, "health endpoint: accept failed, retrying in {backoff:?}: {e}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                    continue;
                }
            };
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                drop(sock);
                continue;
            };
            let health = health.clone();
            tokio::spawn(async move {
                // Timed out or failed: the connection is closed, nothing else to do.
                let _ = tokio::time::timeout(HEADER_TIMEOUT, answer(sock, &health)).await;
                drop(permit);
            });
        }
    });
    Ok((bound, task))
}

/// Reads one request head and writes the answer.
async fn answer(mut sock: TcpStream, health: &Mutex<Health>) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    let complete = loop {
        let n = sock.read(&mut buf).await?;
        if n == 0 {
            break false;
        }
        head.extend_from_slice(&buf[..n]);
        if head.windows(4).any(|w| w == b"\r\n\r\n") {
            break true;
        }
        if head.len() > MAX_HEAD {
            break false;
        }
    };
    if !complete && head.is_empty() {
        return Ok(());
    }
    let reply = if head.len() > MAX_HEAD {
        Reply::TooLarge
    } else {
        route(&head)
    };
    let body = match reply {
        Reply::Health { .. } => {
            let h = health.lock().map(|h| h.clone()).unwrap_or_default();
            serde_json::to_string(&h).unwrap_or_default()
        }
        _ => String::new(),
    };
    sock.write_all(reply.bytes(&body).as_bytes()).await?;
    sock.shutdown().await
}

/// What a request head gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reply {
    /// 200 with the health document (its body only for GET).
    Health {
        /// HEAD: headers only.
        head_only: bool,
    },
    /// 400: not an HTTP request line.
    BadRequest,
    /// 404: another path.
    NotFound,
    /// 405: the path with another method.
    MethodNotAllowed,
    /// 431: a head over [`MAX_HEAD`].
    TooLarge,
}

/// The reply to a request head (its first line decides).
fn route(head: &[u8]) -> Reply {
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.trim_end_matches('\r').split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Reply::BadRequest;
    };
    if !version.starts_with("HTTP/") {
        return Reply::BadRequest;
    }
    let path = target.split(['?', '#']).next().unwrap_or_default();
    if path != PATH {
        return Reply::NotFound;
    }
    match method {
        "GET" => Reply::Health { head_only: false },
        "HEAD" => Reply::Health { head_only: true },
        _ => Reply::MethodNotAllowed,
    }
}

impl Reply {
    /// The whole answer, with `body` for the health document.
    fn bytes(self, body: &str) -> String {
        let (status, allow) = match self {
            Reply::Health { head_only } => {
                return format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                    body.len(),
                    if head_only { "" } else { body }
                );
            }
            Reply::BadRequest => ("400 Bad Request", ""),
            Reply::NotFound => ("404 Not Found", ""),
            Reply::MethodNotAllowed => ("405 Method Not Allowed", "Allow: GET, HEAD\r\n"),
            Reply::TooLarge => ("431 Request Header Fields Too Large", ""),
        };
        format!("HTTP/1.1 {status}\r\n{allow}Content-Length: 0\r\nConnection: close\r\n\r\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_get_and_head_of_the_documented_path_are_answered() {
        let cases: [(&[u8], Reply); 9] = [
            (
                b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                Reply::Health { head_only: false },
            ),
            (
                b"GET /?probe=1 HTTP/1.0\r\n\r\n",
                Reply::Health { head_only: false },
            ),
            (
                b"HEAD / HTTP/1.1\r\n\r\n",
                Reply::Health { head_only: true },
            ),
            (b"POST / HTTP/1.1\r\n\r\n", Reply::MethodNotAllowed),
            (b"DELETE / HTTP/1.1\r\n\r\n", Reply::MethodNotAllowed),
            (b"GET /admin HTTP/1.1\r\n\r\n", Reply::NotFound),
            (b"POST /x HTTP/1.1\r\n\r\n", Reply::NotFound),
            (b"hello\r\n\r\n", Reply::BadRequest),
            (b"GET / SMTP\r\n\r\n", Reply::BadRequest),
        ];
        for (head, want) in cases {
            assert_eq!(route(head), want, "{}", String::from_utf8_lossy(head));
        }
    }

    #[test]
    fn head_answers_carry_no_body() {
        let a = Reply::Health { head_only: true }.bytes("{\"status\":\"ok\"}");
        assert!(a.starts_with("HTTP/1.1 200 OK\r\n"), "{a}");
        assert!(a.contains("Content-Length: 15\r\n"), "{a}");
        assert!(a.ends_with("\r\n\r\n"), "{a}");
        let a = Reply::MethodNotAllowed.bytes("");
        assert!(a.starts_with("HTTP/1.1 405 ") && a.contains("Allow: GET, HEAD"));
    }
}
