//! An embedded S3-compatible server (s3s-fs over a local directory, each sub-directory a
//! bucket) on `127.0.0.1:0`, with SigV4 checked against one key pair. The quickstart runs
//! the real ingest path against it, and the integration tests use it as their S3 server.

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use std::net::SocketAddr;
use std::path::Path;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A running server; dropping it stops accepting connections.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl Server {
    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// An error starting the server.
#[derive(Debug, thiserror::Error)]
#[error("cannot start the embedded S3 server over {root}: {message}")]
pub struct StartError {
    /// The directory.
    pub root: String,
    /// Why.
    pub message: String,
}

/// Serves `root` on a free loopback port, accepting only `access_key`/`secret_key`.
pub async fn serve(root: &Path, access_key: &str, secret_key: &str) -> Result<Server, StartError> {
    serve_on(root, access_key, secret_key, 0).await
}

/// [`serve`] on loopback port `port` (0: a free one).
pub async fn serve_on(
    root: &Path,
    access_key: &str,
    secret_key: &str,
    port: u16,
) -> Result<Server, StartError> {
    let fail = |message: String| StartError {
        root: root.display().to_string(),
        message,
    };
    std::fs::create_dir_all(root).map_err(|e| fail(e.to_string()))?;
    let fs = s3s_fs::FileSystem::new(root).map_err(|e| fail(format!("{e:?}")))?;
    let service = {
        let mut b = S3ServiceBuilder::new(fs);
        b.set_auth(SimpleAuth::from_single(access_key, secret_key));
        b.build()
    };
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| fail(e.to_string()))?;
    let addr = listener.local_addr().map_err(|e| fail(e.to_string()))?;
    let (tx, mut rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let http = ConnBuilder::new(TokioExecutor::new());
        loop {
            let (socket, _) = tokio::select! {
                r = listener.accept() => match r {
                    Ok(c) => c,
                    // Out of file descriptors, say: wait instead of spinning.
                    Err(_) => {
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = &mut rx => break,
            };
            let conn = http
                .serve_connection(TokioIo::new(socket), service.clone())
                .into_owned();
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
    });
    Ok(Server {
        addr,
        stop: Some(tx),
    })
}
