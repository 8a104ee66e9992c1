//! The health endpoint of `s3meta serve`: a loopback TCP listener that answers every
//! request with the loop's current [`Health`] as JSON. It only reads the shared value the
//! loop publishes; it never changes the schedule.

use super::schedule::JobRecord;
use super::Error;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

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
    /// The last error refreshing the pipeline list, if any.
    pub last_refresh_error: Option<String>,
}

/// Serves the health endpoint: every request gets the current [`Health`] as JSON.
pub(super) async fn serve_health(
    addr: SocketAddr,
    health: Arc<Mutex<Health>>,
) -> Result<(SocketAddr, JoinHandle<()>), Error> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Health { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| Error::Health { addr, source })?;
    let task = tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let health = health.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = sock.read(&mut buf).await;
                let body = {
                    let h = health.lock().map(|h| h.clone()).unwrap_or_default();
                    serde_json::to_string(&h).unwrap_or_default()
                };
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    Ok((bound, task))
}
