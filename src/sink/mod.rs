//! The sink seam: where the service and its containers go.
//!
//! A sink receives the service once ([`Sink::begin`]), then every container in order, each
//! parent before its children ([`Sink::put`], which returns how children should refer to it),
//! then [`Sink::finish`] with what the run saw, for stale-marking, then [`Sink::report`] with
//! the run's status. Implementations: `file` (a JSON-lines catalog) and `openmetadata` (the
//! `metadata-rest` sink).
//!
//! `put` takes `&self` so that a sink may accept up to [`Sink::concurrency`] writes at once;
//! the workflow guarantees that a container is put only after its parent's put returned.

pub mod file;
pub mod openmetadata;

use crate::config::S3Connection;
use crate::entity::{Container, ParentRef};
use crate::status::{RunStatus, StepStatus};
use async_trait::async_trait;
use std::collections::BTreeSet;

/// What a sink needs to create the storage service.
#[derive(Debug, Clone)]
pub struct ServiceInfo {
    /// `serviceName`.
    pub name: String,
    /// The connection, as configured.
    pub connection: S3Connection,
    /// `storeServiceConnection`.
    pub store_connection: bool,
    /// Whether the server holds the service, when test-connection already asked this run
    /// (`None`: the sink asks itself).
    pub exists: Option<bool>,
}

/// What the run saw, for stale-marking: the FQNs it produced, the buckets whose view was
/// incomplete (a failed listing or manifest), under which nothing may be marked deleted, and
/// the scope of the run.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// FQNs of every container put this run.
    pub fqns: BTreeSet<String>,
    /// FQNs of buckets whose contents could not be fully seen; the service's own FQN when
    /// nothing at all may be marked deleted.
    pub incomplete: BTreeSet<String>,
    /// `None`: the run covered the whole service, so a container of a bucket that no longer
    /// exists may be marked deleted. `Some(buckets)`: the run covered only these bucket FQNs
    /// (a shard, a filter, `bucketNames`); everything outside them must be left alone.
    pub scope: Option<BTreeSet<String>>,
}

impl Seen {
    /// Whether stale-marking may delete the existing container `fqn` of this service when
    /// the run did not produce it.
    pub fn may_delete(&self, service_fqn: &str, fqn: &str) -> bool {
        if self.fqns.contains(fqn) || self.incomplete.contains(service_fqn) {
            return false;
        }
        let under = |bucket: &String| fqn == bucket || fqn.starts_with(&format!("{bucket}."));
        if self.incomplete.iter().any(under) {
            return false;
        }
        match &self.scope {
            None => true,
            Some(buckets) => buckets.iter().any(under),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn stale_marking_spares_what_was_not_seen() {
        let seen = Seen {
            fqns: set(&["svc.a", "svc.a.t1", "svc.b"]),
            incomplete: set(&["svc.b"]),
            scope: Some(set(&["svc.a", "svc.b"])),
        };
        assert!(!seen.may_delete("svc", "svc.a.t1"), "seen");
        assert!(
            seen.may_delete("svc", "svc.a.gone"),
            "in scope, complete, not seen"
        );
        assert!(
            !seen.may_delete("svc", "svc.b.t9"),
            "its bucket was incomplete"
        );
        assert!(
            !seen.may_delete("svc", "svc.c.t1"),
            "outside the shard or filter"
        );
        assert!(
            !seen.may_delete("svc", "svc.ab"),
            "a prefix of a name is not a parent"
        );
        let whole = Seen {
            scope: None,
            ..seen.clone()
        };
        assert!(
            whole.may_delete("svc", "svc.c.t1"),
            "the whole service was in scope"
        );
        let nothing = Seen {
            incomplete: set(&["svc"]),
            ..whole
        };
        assert!(!nothing.may_delete("svc", "svc.a.gone"));
    }
}

/// A sink failure, naming the entity, with the error that caused it when there is one.
#[derive(Debug, thiserror::Error)]
#[error("{entity}: {message}")]
pub struct Error {
    /// FQN or name of the entity concerned.
    pub entity: String,
    /// What went wrong (the cause's text included, when there is a cause).
    pub message: String,
    /// The underlying error (an I/O error, the OpenMetadata client's answer, …).
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    /// A failure that has no underlying error.
    pub fn new(entity: impl Into<String>, message: impl Into<String>) -> Error {
        Error {
            entity: entity.into(),
            message: message.into(),
            source: None,
        }
    }

    /// A failure caused by `source`; `message` is the whole text shown for it.
    pub fn caused(
        entity: impl Into<String>,
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        Error {
            entity: entity.into(),
            message: message.into(),
            source: Some(source.into()),
        }
    }
}

/// Where entities are written.
#[async_trait]
pub trait Sink: Send + Sync {
    /// Step name in the summary.
    fn name(&self) -> &'static str;

    /// Creates (or finds) the storage service. An error here stops the run.
    async fn begin(&mut self, service: &ServiceInfo) -> Result<(), Error>;

    /// How many `put`s may run at once. 1 (the default) means strictly one after another,
    /// in the workflow's deterministic order.
    fn concurrency(&self) -> usize {
        1
    }

    /// Answers so far that asked for less load (`429`, `503`), retried or not: the writes
    /// in flight are cut when this grows (see [`crate::store::budget::Limiter`]).
    fn throttled(&self) -> u64 {
        0
    }

    /// Writes one container; returns how its children refer to it.
    async fn put(
        &self,
        service: &str,
        container: &Container,
        parent: Option<&ParentRef>,
    ) -> Result<ParentRef, Error>;

    /// Ends the run (flush, stale-marking).
    async fn finish(&mut self, seen: &Seen) -> Result<(), Error>;

    /// Reports the run's final status (the pipeline status of the `metadata-rest` sink).
    async fn report(&mut self, _run: &RunStatus) {}

    /// The sink's own status.
    fn status(&self) -> StepStatus;
}
