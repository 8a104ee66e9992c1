//! The one OpenMetadata client of s3meta: the `metadata-rest` sink, `run --pipeline`/`serve`
//! and `test-connection` all build it here, the same way, from `openMetadataServerConfig`
//! (token or token file, `verifySSL` and its CA, `extraHeaders`, `apiVersion`), so that a
//! check cannot pass where a run would fail.
//!
//! - [`client`]: the transport (base URL, Bearer JWT, headers, TLS, timeouts, retries).
//! - [`api`]: the typed request and answer bodies of the calls s3meta makes.
//!
//! What a call means (creating a service, reporting a run) belongs to its caller; this module
//! knows nothing of S3, of sinks or of schedules.

pub mod api;
pub mod client;

pub use client::{Answer, Client, ClientError, Transport};
