//! bench-s3: an in-memory S3-compatible server for s3meta's benchmarks, built so that the
//! server is never the bottleneck (moto serves ~270 requests a second, s3s-fs walks a whole
//! bucket per listing page).
//!
//! - [`store`]: buckets as sorted maps; a listing page is O(page).
//! - [`s3`]: the S3 operations s3meta and the reference connector use, on `s3s` with SigV4.
//! - [`shaping`]: per-request latency, per-prefix `503 SlowDown`, request counts.
//! - [`admin`]: `GET /?x-bench=counts`, `POST /?x-bench=reset`, and a CloudWatch stand-in.
//! - [`seed`]: filling the store from a directory or a generator.

pub mod admin;
pub mod s3;
pub mod seed;
pub mod shaping;
pub mod store;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use shaping::{Meter, Shape};
use std::net::SocketAddr;
use std::sync::Arc;
use store::Store;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A running server; dropping it stops accepting connections.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    meter: Arc<Meter>,
    stop: Option<oneshot::Sender<()>>,
}

impl Server {
    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Request counts so far (the JSON `GET /?x-bench=counts` answers).
    pub fn counts_json(&self) -> String {
        self.meter.to_json()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Serves `store` on loopback `port` (0: a free one), accepting only `access_key`/`secret_key`,
/// shaped by `shape`.
pub async fn serve(
    store: Store,
    shape: Shape,
    access_key: &str,
    secret_key: &str,
    port: u16,
) -> std::io::Result<Server> {
    let meter = Arc::new(Meter::new(shape));
    let service = {
        let mut b = S3ServiceBuilder::new(s3::Service::new(store, meter.clone()));
        b.set_auth(SimpleAuth::from_single(access_key, secret_key));
        b.set_route(admin::Admin::new(meter.clone()));
        b.build()
    };
    let cw_meter = meter.clone();
    // CloudWatch calls are answered before s3s, which refuses their credential scope.
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let (s3, meter) = (service.clone(), cw_meter.clone());
        async move {
            if admin::is_cloudwatch(&req) {
                return Ok(admin::cloudwatch(req.map(s3s::Body::from), &meter).await);
            }
            s3.call(req.map(s3s::Body::from)).await
        }
    });
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
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
            let _ = socket.set_nodelay(true);
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
        meter,
        stop: Some(tx),
    })
}
