//! A strict OpenMetadata API stand-in, on loopback, for s3meta's tests and benchmarks.
//!
//! It implements the calls of the reference's §8 the way a real 2.0 server checks them:
//! a Bearer token on every call but `/v1/system/version`; `CreateStorageServiceRequest` and
//! `CreateContainerRequest` with unknown keys, missing required fields, bad names, unknown
//! services or parents, unknown `fileFormats`/`dataType`s and over-long `sourceHash`es
//! rejected; create-or-update with versions (an unchanged `sourceHash` is a no-op); soft
//! deletion by `deleteStale` or by id; classifications and tags; ingestion pipelines and
//! their statuses; and, for the Python connector, the test-connection definition, get by id
//! and the search `fieldQuery`. State can be persisted to a JSON file so that it survives
//! runs of the binary. Faults (429 with `Retry-After`, 503) can be injected.
//!
//! It owns no client logic and knows nothing of s3meta: it only answers HTTP.

#![warn(missing_docs, missing_debug_implementations)]

mod handlers;
pub mod validate;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

/// How to start a server.
#[derive(Debug, Clone)]
pub struct Options {
    /// The bot token every authenticated call must carry as `Authorization: Bearer <token>`.
    pub token: String,
    /// What `GET /v1/system/version` answers.
    pub version: String,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Where state is loaded from at start and saved to after changes.
    pub state_file: Option<PathBuf>,
    /// Answer `DELETE /v1/containers/deleteStale` with 404, like an older server, so that
    /// clients take their list-and-delete fallback.
    pub delete_stale_404: bool,
    /// Added before every answer, to stand in for a real server's per-call latency in
    /// benchmarks (a container PUT takes tens of milliseconds on a real OpenMetadata).
    pub latency: std::time::Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            token: "test-token".into(),
            version: "2.0.7".into(),
            port: 0,
            state_file: None,
            delete_stale_404: false,
            latency: std::time::Duration::ZERO,
        }
    }
}

/// A stored entity: what the server knows of it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Entity {
    /// Server id (UUID).
    pub id: String,
    /// Entity name.
    pub name: String,
    /// Fully qualified name.
    pub fqn: String,
    /// 0.1 at creation, +0.1 per change.
    pub version: f64,
    /// Soft-deleted.
    pub deleted: bool,
    /// The last accepted request body.
    pub request: Value,
    /// Parent container id (containers).
    pub parent: Option<String>,
    /// Owning service FQN (containers, pipelines) or classification (tags).
    pub owner: Option<String>,
}

/// Everything the server stores.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// Storage services by FQN.
    pub services: BTreeMap<String, Entity>,
    /// Containers by FQN.
    pub containers: BTreeMap<String, Entity>,
    /// Classifications by name.
    pub classifications: BTreeMap<String, Entity>,
    /// Tags by FQN.
    pub tags: BTreeMap<String, Entity>,
    /// Ingestion pipelines by FQN.
    pub pipelines: BTreeMap<String, Entity>,
    /// Pipeline statuses by pipeline FQN, in arrival order (one per runId, last wins).
    pub pipeline_statuses: BTreeMap<String, Vec<Value>>,
    /// Progress events, in arrival order.
    pub progress: Vec<Value>,
    /// Container FQN by id.
    #[serde(skip)]
    pub(crate) container_ids: HashMap<String, String>,
}

impl State {
    pub(crate) fn reindex(&mut self) {
        self.container_ids = self
            .containers
            .values()
            .map(|c| (c.id.clone(), c.fqn.clone()))
            .collect();
    }

    /// The container with this id.
    pub fn container_by_id(&self, id: &str) -> Option<&Entity> {
        self.container_ids
            .get(id)
            .and_then(|f| self.containers.get(f))
    }

    /// FQNs of the containers not soft-deleted.
    pub fn live_containers(&self) -> Vec<String> {
        self.containers
            .values()
            .filter(|c| !c.deleted)
            .map(|c| c.fqn.clone())
            .collect()
    }

    /// FQNs of the soft-deleted containers.
    pub fn deleted_containers(&self) -> Vec<String> {
        self.containers
            .values()
            .filter(|c| c.deleted)
            .map(|c| c.fqn.clone())
            .collect()
    }
}

/// One request, as received.
#[derive(Debug, Clone, Serialize)]
pub struct Logged {
    /// `GET`, `PUT`, …
    pub method: String,
    /// The path after `/api`, as sent (percent-encoded).
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// The JSON body, if any.
    pub body: Option<Value>,
    /// The status answered.
    pub status: u16,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// Every header, names lower-cased (`authorization` included, for auth tests).
    pub headers: BTreeMap<String, String>,
}

/// An injected fault: answer matching requests with `status` instead of handling them.
#[derive(Debug, Clone)]
pub struct Fault {
    /// 429, 503, …
    pub status: u16,
    /// How many requests to fail at most.
    pub times: u32,
    /// Fail only every n-th matching request (1 = each).
    pub every: u32,
    /// `Retry-After` seconds to send.
    pub retry_after: Option<u32>,
    /// Only requests of this method (`PUT`, …).
    pub method: Option<String>,
    /// Only requests whose path (after `/api`) starts with this.
    pub path: Option<String>,
    seen: u32,
}

impl Fault {
    /// Fails the next `times` requests with `status`.
    pub fn new(status: u16, times: u32) -> Fault {
        Fault {
            status,
            times,
            every: 1,
            retry_after: None,
            method: None,
            path: None,
            seen: 0,
        }
    }

    /// Only every n-th matching request.
    pub fn every(mut self, n: u32) -> Fault {
        self.every = n.max(1);
        self
    }

    /// With a `Retry-After` header.
    pub fn retry_after(mut self, secs: u32) -> Fault {
        self.retry_after = Some(secs);
        self
    }

    /// Only requests of this method.
    pub fn method(mut self, m: &str) -> Fault {
        self.method = Some(m.to_string());
        self
    }

    /// Only requests whose path (after `/api`) starts with `p`, e.g. `/v1/containers`.
    pub fn path(mut self, p: &str) -> Fault {
        self.path = Some(p.to_string());
        self
    }
}

/// What handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) opts: Options,
    pub(crate) state: Mutex<State>,
    pub(crate) log: Mutex<Vec<Logged>>,
    pub(crate) faults: Mutex<Vec<Fault>>,
    pub(crate) dirty: std::sync::atomic::AtomicBool,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A handler that panicked leaves consistent data (every mutation is one assignment).
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub(crate) fn save(&self) -> std::io::Result<()> {
        let Some(path) = &self.opts.state_file else {
            return Ok(());
        };
        // One save at a time (the periodic one and the one at shutdown share the file).
        static SAVING: Mutex<()> = Mutex::new(());
        let _saving = SAVING.lock().unwrap_or_else(|e| e.into_inner());
        // A copy under the lock, written outside it: a large state takes milliseconds to
        // serialize, and every handler would wait for the lock meanwhile.
        let state = self.state().clone();
        let text = serde_json::to_vec_pretty(&state).map_err(std::io::Error::other)?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(tmp, path)
    }
}

/// A running server.
#[derive(Debug)]
pub struct OmServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    // Owned runtime when started with [`OmServer::spawn`].
    rt: Option<tokio::runtime::Runtime>,
}

impl OmServer {
    /// Starts on the current tokio runtime.
    pub async fn start(opts: Options) -> std::io::Result<OmServer> {
        let mut state = match &opts.state_file {
            Some(p) if p.exists() => {
                let text = std::fs::read(p)?;
                serde_json::from_slice::<State>(&text).map_err(std::io::Error::other)?
            }
            _ => State::default(),
        };
        state.reindex();
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            opts,
            state: Mutex::new(state),
            log: Mutex::new(vec![]),
            faults: Mutex::new(vec![]),
            dirty: Default::default(),
        });
        let app = axum::Router::new()
            .fallback(handlers::handle)
            .with_state(shared.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        if shared.opts.state_file.is_some() {
            let saver = shared.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    if saver.dirty.swap(false, std::sync::atomic::Ordering::SeqCst) {
                        // Serializing and writing block: off the runtime's workers, which
                        // keep answering meanwhile.
                        let s = saver.clone();
                        let saved = tokio::task::spawn_blocking(move || s.save()).await;
                        if let Ok(Err(e)) = saved {
                            eprintln!("om-test-server: cannot save state: {e}");
                        }
                    }
                }
            });
        }
        Ok(OmServer {
            addr,
            shared,
            stop: Some(tx),
            rt: None,
        })
    }

    /// Starts on a runtime of its own (for synchronous tests).
    pub fn spawn(opts: Options) -> std::io::Result<OmServer> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let mut server = rt.block_on(OmServer::start(opts))?;
        server.rt = Some(rt);
        Ok(server)
    }

    /// `http://127.0.0.1:PORT/api`: the value of `hostPort`.
    pub fn base_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A copy of the stored state.
    pub fn state(&self) -> State {
        self.shared.state().clone()
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Logged> {
        lock(&self.shared.log).clone()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
    }

    /// Adds a fault.
    pub fn inject(&self, fault: Fault) {
        lock(&self.shared.faults).push(fault);
    }

    /// Creates an ingestion pipeline under an existing storage service, as the UI would.
    pub fn add_pipeline(&self, service: &str, name: &str) -> Result<Entity, String> {
        let mut st = self.shared.state();
        let svc = st
            .services
            .get(service)
            .cloned()
            .ok_or_else(|| format!("no service {service}"))?;
        let fqn = format!("{}.{}", svc.fqn, validate::quote(name));
        let e = Entity {
            id: uuid::Uuid::new_v4().to_string(),
            name: name.to_string(),
            fqn: fqn.clone(),
            version: 0.1,
            deleted: false,
            request: serde_json::json!({
                "name": name, "pipelineType": "metadata",
                "sourceConfig": {"config": {"type": "StorageMetadata"}},
                "service": {"id": svc.id, "type": "storageService"},
            }),
            parent: None,
            owner: Some(svc.fqn),
        };
        st.pipelines.insert(fqn, e.clone());
        Ok(e)
    }

    /// Saves the state file now (when one is configured).
    pub fn save(&self) -> std::io::Result<()> {
        self.shared.save()
    }
}

impl Drop for OmServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let _ = self.shared.save();
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn latency_delays_every_answer() {
        let om = OmServer::start(Options {
            latency: std::time::Duration::from_millis(60),
            ..Options::default()
        })
        .await
        .unwrap();
        let t = std::time::Instant::now();
        let mut s = tokio::net::TcpStream::connect(om.addr()).await.unwrap();
        s.write_all(b"GET /api/v1/system/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        assert!(t.elapsed() >= std::time::Duration::from_millis(60));
    }
}
