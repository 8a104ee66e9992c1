//! Transport to the OpenMetadata API: base URL, Bearer JWT, extra headers, TLS, timeouts and
//! retries (reference §8.1). Answers are JSON values or a typed [`ClientError`]; what the
//! calls mean is the callers' business (the sink, the pipeline runner, test-connection), not
//! this module's.
//!
//! The token lives in a sensitive header value: it is never logged, and no error message
//! built here contains it.

use crate::config::{headers, OpenMetadataServerConfig, VerifySsl};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;

/// Connect timeout, as in the reference.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// First retry delay; doubled per attempt, with jitter.
const RETRY_BASE: Duration = Duration::from_millis(200);
/// Longest wait between two attempts, whatever `Retry-After` says.
const RETRY_CAP: Duration = Duration::from_secs(30);
/// The header a server uses to say whether a PUT created, updated or left an entity.
pub const CHANGE_HEADER: &str = "x-openmetadata-change";

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The client could not be built (bad header, unreadable CA or token file).
    #[error("{0}")]
    Setup(String),
    /// 401/403: the token was refused.
    #[error("the server refused the request (HTTP {status}: {message}): check workflowConfig.openMetadataServerConfig.securityConfig.jwtToken")]
    Unauthorized {
        /// 401 or 403.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// 404.
    #[error("not found (HTTP 404: {0})")]
    NotFound(String),
    /// Any other error answer (after retries for 429/5xx).
    #[error("HTTP {status}: {message}")]
    Api {
        /// Status code.
        status: u16,
        /// The server's message, or the body.
        message: String,
    },
    /// The answer was HTML: `hostPort` points at the UI, not the API.
    #[error("the server answered HTML, not JSON: does hostPort point at the OpenMetadata API (ending in /api)?")]
    Html,
    /// The server could not be reached (after retries).
    #[error(
        "cannot reach the OpenMetadata server: {}",
        crate::explain::root_cause(source)
    )]
    Transport {
        /// The URL called.
        url: String,
        /// The HTTP client's error.
        source: reqwest::Error,
    },
    /// The answer's body could not be read.
    #[error("cannot reach the OpenMetadata server: {}", crate::explain::root_cause(.0))]
    Body(#[source] reqwest::Error),
    /// A request body could not be encoded as JSON.
    #[error("cannot encode the request body: {0}")]
    Encode(#[source] serde_json::Error),
}

/// A successful answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status code (200, 201, …).
    pub status: u16,
    /// The JSON body (`Null` when empty).
    pub body: Value,
    /// The server's change header, when sent (`entityCreated`, `entityUpdated`, …).
    pub change: Option<String>,
}

/// Settings of the transport beyond the server config.
#[derive(Debug, Clone)]
pub struct Transport {
    /// Service name, for the User-Agent.
    pub service_name: String,
    /// Attempts per call, retries included.
    pub max_attempts: u32,
    /// Read timeout.
    pub read_timeout: Duration,
}

impl Transport {
    /// The transport of a workflow run, the same for the sink and for test-connection:
    /// `serviceName` in the User-Agent, `s3meta.sinkMaxAttempts` attempts, and
    /// `s3meta.sinkTimeoutSecs` (at least one second) to read an answer.
    pub fn of_run(service_name: &str, max_attempts: u32, timeout_secs: u64) -> Transport {
        Transport {
            service_name: service_name.to_string(),
            max_attempts,
            read_timeout: Duration::from_secs(timeout_secs.max(1)),
        }
    }
}

/// The HTTP client of one run.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    max_attempts: u32,
    /// Calls made (each once whatever its attempts), attempts beyond the first, and attempts
    /// answered `429`/`503` (the server asking for less load; the sink's writes shrink).
    calls: std::sync::Arc<(
        std::sync::atomic::AtomicU64,
        std::sync::atomic::AtomicU64,
        std::sync::atomic::AtomicU64,
    )>,
}

/// The JWT: the value itself, or, when it names an existing file, that file's content with
/// trailing whitespace removed (reference §1.5).
pub fn resolve_token(value: &str) -> Result<String, ClientError> {
    let path = std::path::Path::new(value);
    if !value.is_empty() && path.is_file() {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ClientError::Setup(format!(
                "cannot read the jwtToken file {}: {e}",
                path.display()
            ))
        })?;
        return Ok(text.trim_end().to_string());
    }
    Ok(value.to_string())
}

impl Client {
    /// Builds the client from `openMetadataServerConfig`.
    pub fn new(cfg: &OpenMetadataServerConfig, t: &Transport) -> Result<Client, ClientError> {
        let token = cfg
            .security_config
            .as_ref()
            .and_then(|s| s.jwt_token.as_ref())
            .ok_or_else(|| {
                ClientError::Setup(
                    "workflowConfig.openMetadataServerConfig.securityConfig.jwtToken is required by the metadata-rest sink".into(),
                )
            })?;
        let token = resolve_token(token.expose())?;
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let mut auth = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| ClientError::Setup("the jwtToken is not a valid header value".into()))?;
        auth.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, auth);
        let agent = format!(
            "s3_metadata (service: {}; v{})",
            t.service_name,
            env!("CARGO_PKG_VERSION")
        );
        headers.insert(
            reqwest::header::USER_AGENT,
            HeaderValue::from_str(&agent)
                .map_err(|_| ClientError::Setup(format!("invalid User-Agent `{agent}`")))?,
        );
        if let Some(extra) = &cfg.extra_headers {
            // References name the client's own headers (above), never what an extra header
            // set: `resolve` copies each value once and stops at a cycle.
            let own = headers.clone();
            let resolved = headers::resolve(extra, |name| {
                own.get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            })
            .map_err(|e| ClientError::Setup(format!("extraHeaders.{}: {e}", e.name())))?;
            for (name, value) in resolved {
                let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                    ClientError::Setup(format!("extraHeaders: `{name}` is not a header name"))
                })?;
                let mut v = HeaderValue::from_str(&value).map_err(|_| {
                    ClientError::Setup(format!("extraHeaders.{name}: not a valid header value"))
                })?;
                // A header copied from Authorization carries the token.
                v.set_sensitive(true);
                headers.insert(n, v);
            }
        }
        let mut b = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(t.read_timeout)
            .redirect(reqwest::redirect::Policy::none());
        match cfg.verify_ssl {
            VerifySsl::Ignore => b = b.danger_accept_invalid_certs(true),
            VerifySsl::Validate => {
                let ca = cfg
                    .ssl_config
                    .as_ref()
                    .and_then(|s| s.ca_certificate.as_deref())
                    .ok_or_else(|| {
                        ClientError::Setup(
                            "verifySSL: validate needs sslConfig.caCertificate".into(),
                        )
                    })?;
                let pem = std::fs::read(ca).map_err(|e| {
                    ClientError::Setup(format!("cannot read sslConfig.caCertificate {ca}: {e}"))
                })?;
                let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| {
                    ClientError::Setup(format!("sslConfig.caCertificate {ca} is not PEM: {e}"))
                })?;
                b = b.add_root_certificate(cert);
            }
            VerifySsl::NoSsl => {}
        }
        let http = b
            .build()
            .map_err(|e| ClientError::Setup(format!("cannot build the HTTP client: {e}")))?;
        let api_version = cfg.api_version.as_deref().unwrap_or("v1");
        Ok(Client {
            http,
            base: format!("{}/{api_version}", cfg.host_port.trim_end_matches('/')),
            max_attempts: t.max_attempts.max(1),
            calls: Default::default(),
        })
    }

    /// Calls sent so far, and their retries.
    pub fn request_counts(&self) -> crate::status::RequestCounts {
        use std::sync::atomic::Ordering::Relaxed;
        crate::status::RequestCounts {
            requests: self.calls.0.load(Relaxed),
            retries: self.calls.1.load(Relaxed),
            throttled: self.calls.2.load(Relaxed),
        }
    }

    /// `hostPort/v1`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends one call, retrying 429, 5xx and connection failures with exponential backoff
    /// and jitter (or the server's `Retry-After`), up to the attempt bound. `path` starts
    /// with `/` and is already percent-encoded.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Answer, ClientError> {
        self.send(method, path, query, body.map(Value::to_string))
            .await
    }

    /// [`Client::call`] with a typed body (one of [`super::api`]'s requests).
    pub async fn call_with<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: &B,
    ) -> Result<Answer, ClientError> {
        let text = serde_json::to_string(body).map_err(ClientError::Encode)?;
        self.send(method, path, query, Some(text)).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<Answer, ClientError> {
        let mut url = format!("{}{path}", self.base);
        if !query.is_empty() {
            url.push('?');
            url.push_str(
                &url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(query)
                    .finish(),
            );
        }
        let mut attempt = 0;
        self.calls
            .0
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        loop {
            attempt += 1;
            if attempt > 1 {
                self.calls
                    .1
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            let mut req = self.http.request(method.clone(), &url);
            if let Some(b) = &body {
                req = req.body(b.clone());
            }
            let last = attempt >= self.max_attempts;
            match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    if matches!(status.as_u16(), 429 | 503) {
                        self.calls
                            .2
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    if retryable(status) && !last {
                        let wait = retry_after(resp.headers()).unwrap_or_else(|| backoff(attempt));
                        tracing::warn!(%method, path, status = status.as_u16(), attempt, wait_ms = wait.as_millis() as u64, "OpenMetadata asked to retry.");
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    return read(resp).await;
                }
                Err(e) if !last && (e.is_connect() || e.is_timeout() || e.is_request()) => {
                    let wait = backoff(attempt);
                    tracing::warn!(
                        "waiting for the OpenMetadata server at {}: {method} {path} attempt {attempt} of {} failed ({}); retrying in {:.1} s",
                        self.base,
                        self.max_attempts,
                        crate::explain::root_cause(&e),
                        wait.as_secs_f64()
                    );
                    tokio::time::sleep(wait).await;
                }
                Err(source) => return Err(ClientError::Transport { url, source }),
            }
        }
    }
}

fn retryable(s: StatusCode) -> bool {
    matches!(s.as_u16(), 429 | 500 | 502 | 503 | 504)
}

fn retry_after(h: &HeaderMap) -> Option<Duration> {
    let secs: u64 = h.get("retry-after")?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs).min(RETRY_CAP))
}

/// `RETRY_BASE × 2^(attempt-1)`, capped, times a random factor in [0.5, 1).
fn backoff(attempt: u32) -> Duration {
    use std::hash::BuildHasher;
    let exp = RETRY_BASE.saturating_mul(1 << attempt.saturating_sub(1).min(16));
    let exp = exp.min(RETRY_CAP);
    let r = std::collections::hash_map::RandomState::new().hash_one(attempt) % 1000;
    exp.mul_f64(0.5 + r as f64 / 2000.0)
}

async fn read(resp: reqwest::Response) -> Result<Answer, ClientError> {
    let status = resp.status();
    let change = resp
        .headers()
        .get(CHANGE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let html = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.contains("html"));
    let text = resp.text().await.map_err(ClientError::Body)?;
    if html || text.trim_start().starts_with('<') {
        return Err(ClientError::Html);
    }
    let body: Value = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text.clone()))
    };
    if status.is_success() {
        return Ok(Answer {
            status: status.as_u16(),
            body,
            change,
        });
    }
    let message = body
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| truncate(&text, 500));
    Err(match status.as_u16() {
        401 | 403 => ClientError::Unauthorized {
            status: status.as_u16(),
            message,
        },
        404 => ClientError::NotFound(message),
        s => ClientError::Api { status: s, message },
    })
}

fn truncate(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Percent-encodes one path segment (an FQN or id): everything but unreserved characters,
/// so `/`, `"` and spaces in FQNs survive JAX-RS `/name/{fqn}` routes.
///
/// DIFF(spec §8.2): the reference leaves `/` unescaped, which a real server may not route.
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fqn_segments_are_fully_encoded() {
        assert_eq!(
            segment("svc.b.\"docs/a b.pdf\""),
            "svc.b.%22docs%2Fa%20b.pdf%22"
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) < Duration::from_millis(201));
        assert!(backoff(3) >= Duration::from_millis(400));
        assert!(backoff(30) <= RETRY_CAP);
    }

    #[test]
    fn token_may_be_a_file_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("jwt");
        std::fs::write(&p, "abc.def.ghi\n\n").unwrap();
        assert_eq!(resolve_token(p.to_str().unwrap()).unwrap(), "abc.def.ghi");
        assert_eq!(resolve_token("abc").unwrap(), "abc");
    }
}
