//! Which buckets a run covers (reference §3.1): `bucketNames` as given, or every bucket
//! ListBuckets returns that passes `containerFilterPattern`; then this worker's `--shard`.
//!
//! Owns only the choice of buckets and whether the run covers the whole service (which
//! decides the scope of stale-marking). It reads no bucket's content.

use crate::config::Validated;
use crate::status::StepStatus;
use crate::store::ObjectStore;

/// The buckets of this run, in the order they are processed and written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buckets {
    /// Bucket names.
    pub names: Vec<String>,
    /// True when the run covers the whole service: no `bucketNames`, nothing filtered out,
    /// no shard. Only then may stale-marking delete containers of buckets not listed.
    pub whole_service: bool,
}

/// The buckets to ingest. `None` when ListBuckets failed (recorded as a failure in
/// `status`); filtered-out buckets are recorded as filtered.
pub async fn buckets(
    v: &Validated,
    store: &dyn ObjectStore,
    status: &mut StepStatus,
) -> Option<Buckets> {
    buckets_listed(v, None, store, status).await
}

/// The same, from what an earlier ListBuckets of this run answered (`listed`), when there
/// was one: the test-connection step's answer saves a round trip.
pub async fn buckets_listed(
    v: &Validated,
    listed: Option<Vec<String>>,
    store: &dyn ObjectStore,
    status: &mut StepStatus,
) -> Option<Buckets> {
    let all = match (v.bucket_names(), listed) {
        (Some(_), _) => None,
        (None, Some(listed)) => Some(Ok(listed)),
        (None, None) => Some(store.list_buckets().await),
    };
    let (mut names, mut whole_service) = match v.bucket_names() {
        Some(names) => (names.to_vec(), false),
        None => match all.unwrap_or_else(|| Ok(vec![])) {
            Ok(all) => {
                let mut whole = true;
                let kept = all
                    .into_iter()
                    .filter(|b| {
                        let out = v.filter.excludes(b);
                        if out {
                            status.filter(b.clone(), "Bucket Filtered Out");
                            whole = false;
                        }
                        !out
                    })
                    .collect();
                (kept, whole)
            }
            Err(e) => {
                // DIFF(spec §13 #26): a failed ListBuckets is a failure, not zero buckets.
                status.fail("ListBuckets", format!("cannot list buckets: {e}"));
                return None;
            }
        },
    };
    if let Some(shard) = v.shard {
        names.retain(|b| shard.owns(b));
        whole_service = false;
        tracing::info!(shard = %format!("{}/{}", shard.index, shard.count), buckets = names.len(), "Shard selected.");
    }
    Some(Buckets {
        names,
        whole_service,
    })
}
