//! Writing one bucket's containers to the sink in an order the server accepts: a container
//! only after its parent's write returned (the parent's server id is in the child's
//! request), as many at once as the sink allows.

use crate::entity::{Container, ParentRef};
use crate::sink::Sink;
use crate::status::StepStatus;
use futures::stream::{self, StreamExt};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::watch;

/// A container's write outcome, as its children wait for it: `None` while in flight, then
/// `Some(Some(parent ref))` when written or `Some(None)` when it failed.
type Outcome = watch::Sender<Option<Option<ParentRef>>>;

/// Writes one bucket's containers (in plan order, every parent before its children), at
/// most `sink.concurrency()` at once; failures are recorded in `failures`.
///
/// Each write publishes its outcome on a watch channel that its children wait on. `buffered`
/// starts writes in plan order, so a parent is always finished or in flight when a child
/// waits: no deadlock. With a concurrency of 1 the writes happen one by one in plan order,
/// which keeps the file sink's output as it always was.
pub(super) async fn bucket(
    sink: &dyn Sink,
    service: &str,
    containers: Vec<Container>,
    failures: &mut StepStatus,
) {
    let width = sink.concurrency().max(1);
    let mut senders: HashMap<String, Arc<Outcome>> = HashMap::new();
    let mut jobs = Vec::with_capacity(containers.len());
    for c in containers {
        let tx = Arc::new(watch::channel(None).0);
        let parent = match &c.parent_fqn {
            None => Ok(None),
            Some(p) => senders
                .get(p)
                .map(|s| Some((p.clone(), s.subscribe())))
                .ok_or_else(|| p.clone()),
        };
        senders.insert(c.fqn.clone(), tx.clone());
        jobs.push((c, tx, parent));
    }
    drop(senders);
    let outcomes: Vec<(String, Result<(), String>)> = stream::iter(jobs)
        .map(|(c, tx, parent)| async move {
            let parent = match parent {
                Ok(None) => Ok(None),
                Ok(Some((p, mut rx))) => match rx.wait_for(Option::is_some).await {
                    Ok(v) => v
                        .clone()
                        .flatten()
                        .map(Some)
                        .ok_or_else(|| format!("not written: its parent {p} was not written")),
                    Err(_) => Err(format!("not written: its parent {p} was not written")),
                },
                Err(p) => Err(format!("not written: its parent {p} is not in this run")),
            };
            let res = match parent {
                Ok(p) => sink
                    .put(service, &c, p.as_ref())
                    .await
                    .map_err(|e| e.message),
                Err(m) => Err(m),
            };
            tx.send_replace(Some(res.as_ref().ok().cloned()));
            (c.fqn, res.map(|_| ()))
        })
        .buffered(width)
        .collect()
        .await;
    for (fqn, r) in outcomes {
        if let Err(m) = r {
            failures.fail(fqn, m);
        }
    }
}
