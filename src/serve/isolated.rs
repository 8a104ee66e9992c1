//! One ingest on a thread and a runtime of its own: how the scheduler runs a workflow.
//!
//! The scheduler spawns runs as tasks, which must be `Send`; the ingest future is, but the
//! compiler cannot prove it through the higher-ranked lifetimes of its bounded streams
//! (rust-lang/rust#102211). A thread per run sidesteps that and also isolates runs from one
//! another; a run is minutes long, so the thread is cheap. This module only hosts the run:
//! what the run does is [`crate::workflow::run_ingest`]'s business.

use crate::config::Validated;
use crate::status::RunStatus;
use crate::workflow::{self, InitError};

/// Why an isolated run produced no status.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The run stopped before ingesting (the sink, a mandatory test-connection step).
    #[error(transparent)]
    Init(#[from] InitError),
    /// The run's runtime could not be built.
    #[error("cannot start a runtime for the run: {0}")]
    Runtime(#[source] std::io::Error),
    /// The run's thread ended without sending its result (it panicked).
    #[error("the run's thread ended without a result")]
    Lost,
}

/// Runs an ingestion on a runtime of its own, in its own thread, and awaits its result.
pub async fn run_ingest(v: Validated) -> Result<RunStatus, IngestError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let result = match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt
                .block_on(workflow::run_ingest(v))
                .map_err(IngestError::from),
            Err(e) => Err(IngestError::Runtime(e)),
        };
        let _ = tx.send(result);
    });
    rx.await.map_err(|_| IngestError::Lost)?
}
