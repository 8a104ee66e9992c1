//! Writing one bucket's containers to the sink in an order the server accepts: a container
//! only after its parent's write returned (the parent's server id is in the child's
//! request), as many at once as the sink allows.

use crate::entity::{Container, ParentRef};
use crate::sink::Sink;
use crate::status::StepStatus;
use crate::store::budget::Limiter;
use futures::stream::{self, StreamExt};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::watch;

/// A container's write outcome, as its children wait for it: `None` while in flight, then
/// `Some(Some(parent ref))` when written or `Some(None)` when it failed.
type Outcome = watch::Sender<Option<Option<ParentRef>>>;

/// Where a container's parent will be known: nothing to wait for (a bucket), the parent's
/// FQN and outcome, or `Err(parent FQN)` when the parent is not in this run.
type ParentWait = Result<Option<(String, watch::Receiver<Option<Option<ParentRef>>>)>, String>;

/// Registers `c`'s own outcome among `outcomes` and returns it, with where its parent's
/// will be known. A parent is always registered before its children.
fn register(
    outcomes: &mut HashMap<String, Arc<Outcome>>,
    c: &Container,
) -> (Arc<Outcome>, ParentWait) {
    let tx = Arc::new(watch::channel(None).0);
    let parent = match &c.parent_fqn {
        None => Ok(None),
        Some(p) => outcomes
            .get(p)
            .map(|s| Some((p.clone(), s.subscribe())))
            .ok_or_else(|| p.clone()),
    };
    outcomes.insert(c.fqn.clone(), tx.clone());
    (tx, parent)
}

/// Writes `c` once its parent is written (taking one of `slots`, when given, only then, so
/// that waiting children never hold the slots their parents need), and publishes the outcome
/// for its own children.
async fn write_after_parent(
    sink: &dyn Sink,
    service: &str,
    c: &Container,
    tx: &Outcome,
    parent: ParentWait,
    slots: Option<Arc<Limiter>>,
) -> Result<(), String> {
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
        Ok(p) => {
            // Never closed: a slot is always had.
            let slot = match &slots {
                Some(l) => Some(l.acquire(sink.throttled()).await),
                None => None,
            };
            tracing::trace!(fqn = %c.fqn, "write sent");
            let r = sink.put(service, c, p.as_ref()).await;
            tracing::trace!(fqn = %c.fqn, "write answered");
            if let (Some(l), Some(slot)) = (&slots, &slot) {
                l.done(slot, false, sink.throttled());
            }
            r.map_err(|e| e.message)
        }
        Err(m) => Err(m),
    };
    tx.send_replace(Some(res.as_ref().ok().cloned()));
    res.map(|_| ())
}

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
    let jobs: Vec<_> = containers
        .into_iter()
        .map(|c| {
            let (tx, parent) = register(&mut senders, &c);
            (c, tx, parent)
        })
        .collect();
    drop(senders);
    let outcomes: Vec<(String, Result<(), String>)> = stream::iter(jobs)
        .map(|(c, tx, parent)| async move {
            let r = write_after_parent(sink, service, &c, &tx, parent, None).await;
            (c.fqn, r)
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

/// One container to write in the pipelined mode, and where its outcome is recorded: `seq`
/// orders the failures in the summary as the plan does (bucket, then plan position).
#[derive(Debug)]
pub(super) struct Job {
    pub(super) seq: (usize, usize),
    pub(super) container: Container,
}

/// The writes of a whole run for a sink that takes several at once: every container is
/// written as soon as its parent's write returned and a write slot (`sink.concurrency()`)
/// is free, whichever bucket it belongs to. A bucket's container goes out while its files
/// are still being read, and one bucket's writes overlap the next one's.
///
/// A container waits for its parent *before* it takes a slot, so waiting children never
/// hold the slots their parents need; a parent is always submitted before its children
/// (each bucket sends its own container first, then its plan in order), so every wait ends.
pub(super) struct Pipeline<'a> {
    sink: &'a dyn Sink,
    service: &'a str,
    slots: Arc<Limiter>,
    outcomes: HashMap<String, Arc<Outcome>>,
    failures: std::collections::BTreeMap<(usize, usize), (String, String)>,
}

/// A write in flight: its order and FQN, and what happened.
type Done = ((usize, usize), String, Result<(), String>);

impl<'a> Pipeline<'a> {
    /// A pipeline writing to `sink`.
    pub(super) fn new(sink: &'a dyn Sink, service: &'a str) -> Pipeline<'a> {
        Pipeline {
            sink,
            service,
            slots: Arc::new(Limiter::new(sink.concurrency()).labelled("OpenMetadata", "writes")),
            outcomes: HashMap::new(),
            failures: Default::default(),
        }
    }

    /// The write of `job`, to be polled with the others in flight. Its parent must have
    /// been submitted before it (or be absent from the run: then it fails at once).
    pub(super) fn submit(&mut self, job: Job) -> impl std::future::Future<Output = Done> + 'a {
        let Job { seq, container: c } = job;
        let (tx, parent) = register(&mut self.outcomes, &c);
        let (sink, service, slots) = (self.sink, self.service, self.slots.clone());
        async move {
            let r = write_after_parent(sink, service, &c, &tx, parent, Some(slots)).await;
            (seq, c.fqn, r)
        }
    }

    /// Records a finished write.
    pub(super) fn record(&mut self, (seq, fqn, r): Done) {
        if let Err(m) = r {
            self.failures.insert(seq, (fqn, m));
        }
    }

    /// The failures, in plan order.
    pub(super) fn finish(self, failures: &mut StepStatus) {
        for (_, (fqn, m)) in self.failures {
            failures.fail(fqn, m);
        }
    }
}
