//! The integration tests, one module per area, linked into one test binary: each file under
//! `tests/` used to be its own binary linking the whole dependency tree (the AWS SDK, arrow,
//! s3s), which made a clean test build link 18 times. Run one area with
//! `cargo test --test integration cli::`.
//!
//! Every test talks to real servers on loopback: the embedded S3 server (s3s-fs, SigV4
//! checked), moto (S3, CloudWatch, STS) and the strict OpenMetadata stand-in
//! (`om-test-server`). Shared set-up lives in `support`.

mod support;

mod cli;
mod credentials;
mod deploy;
mod discovery;
mod entries;
mod hostile;
mod infer;
mod manifests;
mod moto_ingest;
mod moto_sts;
mod moto_testconn;
mod om_server;
mod om_sink;
mod pipelines;
mod quickstart;
mod s3_faults;
mod scale;
mod serve;
mod shards;
mod smoke;
mod sniff;
mod tables;
