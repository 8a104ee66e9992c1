//! s3meta: a fast drop-in replacement for OpenMetadata's S3 storage connector.
//!
//! Data flows one way, and the modules say so:
//!
//! ```text
//! config → discover → manifest → plan → infer → entity → sink
//!                 workflow: drives the flow, owns concurrency and status
//! ```
//!
//! - [`config`]: the workflow YAML, parsed with key paths and lines, validated purely.
//! - [`aws`]: one `SdkConfig` from `awsConfig` (keys, token, profile, assume-role, endpoint).
//! - [`store`]: the object-store seam (list, ranged get, head, buckets, region, tags); S3 behind it.
//! - [`filter`]: `containerFilterPattern` semantics.
//! - [`discover`]: which buckets a run covers (`bucketNames`, the filter, `--shard`).
//! - [`autodiscover`]: datasets found in a bucket's listing when it has no manifest (`autoDiscovery`,
//!   `manifest suggest`).
//! - [`manifest`]: `openmetadata.json`, the global manifest and `defaultManifest`, and the
//!   precedence that picks each bucket's entries.
//! - [`format`](mod@format): the file formats, one type: spellings, extensions, `fileFormats`, reader kind.
//! - [`plan`]: entries → containers to build (literal, depth, glob, unstructured).
//! - [`plan_report`]: `s3meta plan` and `manifest suggest`: what a run would see, without running it.
//! - [`table`]: Delta Lake, Iceberg and Hudi tables: detection, and columns from their metadata.
//! - [`infer`]: columns from sample files, by bounded reads, and the policy that merges a
//!   container's samples.
//! - [`entity`]: request bodies, FQNs, URLs, the constructors of every kind of container.
//! - [`sink`]: the sink seam: `file` and `metadata-rest` (OpenMetadata REST).
//! - [`openmetadata`]: the one OpenMetadata client (transport and typed bodies), shared by
//!   the sink, [`serve`] and [`testconn`].
//! - [`metrics`]: CloudWatch object count and size per bucket.
//! - [`testconn`]: the test-connection steps (`s3meta test-connection`, and before `ingest`).
//! - [`workflow`]: the driver (concurrency, ordering, status); [`status`]: counts, summary,
//!   the exit decision; [`progress`]: the progress line and stage timings.
//! - [`embedded`] and [`quickstart`]: the embedded S3 server and the zero-install demo.
//!
//! Beside the flow, a second application over the same ingest:
//!
//! - [`serve`]: `s3meta serve` (a scheduler daemon: cron rules, the loop, its state file and
//!   health endpoint) and `s3meta run --pipeline` (pipelines configured in the OpenMetadata
//!   UI).

#![warn(missing_docs, unreachable_pub, missing_debug_implementations)]
// Not in the unit-test build, which also links the dev-dependencies.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]
#![warn(clippy::unwrap_used, clippy::expect_used)]

// `unused_crate_dependencies` checks each target alone: these are the binary's
// (src/main.rs) dependencies, not the library's. Any other unused dependency is a warning
// (clippy -D warnings in CI), which is how a dead one such as `time` gets noticed.
use anyhow as _;
use clap as _;
use tracing_subscriber as _;

pub mod autodiscover;
pub mod aws;
pub mod config;
pub mod discover;
#[cfg(feature = "quickstart")]
pub mod embedded;
pub mod entity;
pub mod explain;
pub mod filter;
pub mod format;
#[cfg(test)]
pub(crate) mod fuzz;
pub mod infer;
pub mod manifest;
pub mod metrics;
pub mod openmetadata;
pub mod plan;
pub mod plan_report;
pub mod progress;
#[cfg(feature = "quickstart")]
pub mod quickstart;
pub mod serve;
pub mod sink;
pub mod status;
pub mod store;
pub mod table;
pub mod terminal;
pub mod testconn;
pub mod workflow;
