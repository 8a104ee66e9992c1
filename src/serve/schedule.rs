//! Scheduling pipelines: which run is due when, retries, no overlap, and the state that
//! survives a restart. Pure logic over injected time: nothing here sleeps, spawns or reads a
//! clock, so that every rule is tested without waiting (the `serve` loop drives it).
//!
//! Rules, as Airflow applies an OpenMetadata IngestionPipeline's `airflowConfig`:
//! - a pipeline fires at each cron time in its timezone, from `startDate` to `endDate`;
//! - no catch-up: after downtime, only the latest missed fire time runs, once;
//! - `pausePipeline` stops it firing; a manual pipeline (no cron) never fires;
//! - one run at a time per pipeline (`maxActiveRuns: 1`): a fire time reached while a run is
//!   in flight is skipped, not queued;
//! - a failed run is retried `retries` times, `retryDelay` apart.

use super::cron::Cron;
use crate::status::PipelineState;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// How a run ended. The state file and the health endpoint spell it as the reference's
/// pipeline states do (`success`, `partialSuccess`, `failed`), so state files written by
/// earlier versions still load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RunOutcome {
    /// Every step at 100 %.
    Success,
    /// Some failures, but every step at or above the threshold.
    PartialSuccess,
    /// The run failed, could not start, or was abandoned: retried when attempts remain.
    Failed,
}

impl RunOutcome {
    /// The name written to the state file and the health endpoint.
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Success => "success",
            RunOutcome::PartialSuccess => "partialSuccess",
            RunOutcome::Failed => "failed",
        }
    }
}

impl From<PipelineState> for RunOutcome {
    fn from(s: PipelineState) -> RunOutcome {
        match s {
            PipelineState::Success => RunOutcome::Success,
            PipelineState::PartialSuccess => RunOutcome::PartialSuccess,
            PipelineState::Failed => RunOutcome::Failed,
        }
    }
}

impl fmt::Display for RunOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How one pipeline is scheduled.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    /// Pipeline FQN (or a local name).
    pub id: String,
    /// `scheduleInterval`; `None` for a manual pipeline.
    pub cron: Option<Cron>,
    /// `pipelineTimezone`.
    pub tz: TimeZone,
    /// `startDate`: no fire before it.
    pub start: Option<Timestamp>,
    /// `endDate`: no fire after it.
    pub end: Option<Timestamp>,
    /// `pausePipeline`.
    pub paused: bool,
    /// `retries`: extra attempts after a failure.
    pub retries: u32,
    /// `retryDelay`.
    pub retry_delay: Duration,
}

/// What is remembered of a pipeline across restarts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRecord {
    /// The cron time of the last run started (the schedule's position).
    pub last_fire: Option<Timestamp>,
    /// When the last run ended.
    pub last_finished: Option<Timestamp>,
    /// How it ended.
    pub last_state: Option<RunOutcome>,
}

#[derive(Debug, Clone)]
struct Job {
    spec: JobSpec,
    record: JobRecord,
    /// When the scheduler first saw the job: the first fire is after this.
    seen_at: Timestamp,
    running: bool,
    attempt: u32,
    retry_at: Option<Timestamp>,
}

/// A run to start now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    /// The pipeline.
    pub id: String,
    /// 1 for the first attempt, 2 for the first retry, ….
    pub attempt: u32,
}

/// All scheduled pipelines and their state.
#[derive(Debug, Default)]
pub struct Scheduler {
    jobs: BTreeMap<String, Job>,
}

impl Scheduler {
    /// A scheduler that remembers `records` (from a previous process).
    pub fn with_records(records: BTreeMap<String, JobRecord>, now: Timestamp) -> Scheduler {
        let mut s = Scheduler::default();
        for (id, record) in records {
            s.jobs.insert(
                id.clone(),
                Job {
                    spec: JobSpec {
                        id,
                        cron: None,
                        tz: TimeZone::UTC,
                        start: None,
                        end: None,
                        paused: true,
                        retries: 0,
                        retry_delay: Duration::ZERO,
                    },
                    record,
                    seen_at: now,
                    running: false,
                    attempt: 0,
                    retry_at: None,
                },
            );
        }
        s
    }

    /// Adds a pipeline or updates its schedule (a change made in the UI), keeping its state.
    pub fn upsert(&mut self, spec: JobSpec, now: Timestamp) {
        match self.jobs.get_mut(&spec.id) {
            Some(job) => job.spec = spec,
            None => {
                self.jobs.insert(
                    spec.id.clone(),
                    Job {
                        spec,
                        record: JobRecord::default(),
                        seen_at: now,
                        running: false,
                        attempt: 0,
                        retry_at: None,
                    },
                );
            }
        }
    }

    /// Forgets pipelines no longer listed (unless running: they finish first).
    pub fn retain(&mut self, ids: &[String]) {
        self.jobs.retain(|id, j| j.running || ids.contains(id));
    }

    /// The next cron time of a job after its last fire (or after it was first seen).
    fn next_fire(job: &Job) -> Option<Timestamp> {
        let cron = job.spec.cron.as_ref()?;
        let mut base = job.record.last_fire.unwrap_or(job.seen_at);
        if let Some(start) = job.spec.start {
            if start > base {
                base = start.checked_sub(jiff::SignedDuration::from_secs(1)).ok()?;
            }
        }
        let next = cron.next_after(base, &job.spec.tz)?;
        match job.spec.end {
            Some(end) if next > end => None,
            _ => Some(next),
        }
    }

    /// The runs to start at `now`; each is marked running until [`Scheduler::finished`].
    pub fn due(&mut self, now: Timestamp) -> Vec<Start> {
        let mut out = Vec::new();
        for job in self.jobs.values_mut() {
            if job.running {
                // No overlap: let fire times pass while a run is in flight.
                if let Some(latest) = latest_fire(job, now) {
                    job.record.last_fire = Some(latest);
                }
                continue;
            }
            if let Some(at) = job.retry_at {
                if at <= now {
                    job.retry_at = None;
                    job.running = true;
                    job.attempt += 1;
                    out.push(Start {
                        id: job.spec.id.clone(),
                        attempt: job.attempt,
                    });
                }
                continue;
            }
            if job.spec.paused {
                continue;
            }
            if let Some(latest) = latest_fire(job, now) {
                // No catch-up: only the latest missed fire time runs.
                job.record.last_fire = Some(latest);
                job.running = true;
                job.attempt = 1;
                out.push(Start {
                    id: job.spec.id.clone(),
                    attempt: 1,
                });
            }
        }
        out
    }

    /// Starts a run of `id` now, outside its schedule (a manual trigger), unless one is in
    /// flight.
    pub fn trigger(&mut self, id: &str) -> Option<Start> {
        let job = self.jobs.get_mut(id)?;
        if job.running {
            return None;
        }
        job.running = true;
        job.attempt = 1;
        job.retry_at = None;
        Some(Start {
            id: id.to_string(),
            attempt: 1,
        })
    }

    /// Records the end of a run; schedules a retry when it failed and attempts remain.
    pub fn finished(&mut self, id: &str, now: Timestamp, outcome: RunOutcome) {
        let Some(job) = self.jobs.get_mut(id) else {
            return;
        };
        job.running = false;
        job.record.last_finished = Some(now);
        job.record.last_state = Some(outcome);
        if outcome == RunOutcome::Failed && job.attempt <= job.spec.retries {
            let delay = jiff::SignedDuration::try_from(job.spec.retry_delay).unwrap_or_default();
            job.retry_at = now.checked_add(delay).ok();
        } else {
            job.attempt = 0;
        }
    }

    /// When the loop should next look: the earliest fire or retry time.
    pub fn next_wakeup(&self) -> Option<Timestamp> {
        self.jobs
            .values()
            .filter(|j| !j.running)
            .filter_map(Self::next_run)
            .min()
    }

    /// Each job's next run: its retry time, else its next fire time; `None` when it is
    /// paused, manual, or past its end.
    pub fn next_runs(&self) -> BTreeMap<String, Option<Timestamp>> {
        self.jobs
            .iter()
            .map(|(id, j)| (id.clone(), Self::next_run(j)))
            .collect()
    }

    fn next_run(j: &Job) -> Option<Timestamp> {
        match j.retry_at {
            Some(r) => Some(r),
            None if j.spec.paused => None,
            None => Self::next_fire(j),
        }
    }

    /// The state to persist.
    pub fn records(&self) -> BTreeMap<String, JobRecord> {
        self.jobs
            .iter()
            .map(|(id, j)| (id.clone(), j.record.clone()))
            .collect()
    }
}

/// The latest cron time at or before `now` that is after the job's last fire, if any.
fn latest_fire(job: &Job, now: Timestamp) -> Option<Timestamp> {
    let mut next = Scheduler::next_fire(job)?;
    if next > now {
        return None;
    }
    let cron = job.spec.cron.as_ref()?;
    // Bounded: at most one step per minute of downtime.
    for _ in 0..1_000_000 {
        match cron.next_after(next, &job.spec.tz) {
            Some(n) if n <= now && job.spec.end.is_none_or(|e| n <= e) => next = n,
            _ => break,
        }
    }
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn hourly(id: &str) -> JobSpec {
        JobSpec {
            id: id.into(),
            cron: Some(Cron::parse("0 * * * *").unwrap()),
            tz: TimeZone::UTC,
            start: None,
            end: None,
            paused: false,
            retries: 0,
            retry_delay: Duration::from_secs(300),
        }
    }

    fn start(id: &str, attempt: u32) -> Start {
        Start {
            id: id.into(),
            attempt,
        }
    }

    #[test]
    fn a_due_pipeline_fires_once_per_cron_time() {
        let mut s = Scheduler::default();
        s.upsert(hourly("p"), ts("2026-11-27T14:10:00Z"));
        assert!(s.due(ts("2026-11-27T14:59:59Z")).is_empty());
        assert_eq!(s.next_wakeup(), Some(ts("2026-11-27T15:00:00Z")));
        assert_eq!(s.due(ts("2026-11-27T15:00:00Z")), vec![start("p", 1)]);
        assert!(
            s.due(ts("2026-11-27T15:00:30Z")).is_empty(),
            "already running"
        );
        s.finished("p", ts("2026-11-27T15:05:00Z"), RunOutcome::Success);
        assert!(s.due(ts("2026-11-27T15:30:00Z")).is_empty());
        assert_eq!(s.due(ts("2026-11-27T16:00:00Z")), vec![start("p", 1)]);
    }

    #[test]
    fn a_paused_pipeline_never_fires() {
        let mut s = Scheduler::default();
        let mut spec = hourly("p");
        spec.paused = true;
        s.upsert(spec, ts("2026-11-27T14:10:00Z"));
        assert!(s.due(ts("2026-11-27T18:00:00Z")).is_empty());
        assert_eq!(s.next_wakeup(), None);
        // Unpaused in the UI: picked up without a restart, no catch-up of the paused hours.
        s.upsert(hourly("p"), ts("2026-11-27T18:00:00Z"));
        assert_eq!(s.due(ts("2026-11-27T18:00:01Z")), vec![start("p", 1)]);
    }

    #[test]
    fn a_failed_run_is_retried_the_configured_number_of_times() {
        let mut s = Scheduler::default();
        let mut spec = hourly("p");
        spec.retries = 2;
        s.upsert(spec, ts("2026-11-27T14:10:00Z"));
        assert_eq!(s.due(ts("2026-11-27T15:00:00Z")), vec![start("p", 1)]);
        s.finished("p", ts("2026-11-27T15:01:00Z"), RunOutcome::Failed);
        assert!(
            s.due(ts("2026-11-27T15:05:59Z")).is_empty(),
            "retryDelay not over"
        );
        assert_eq!(s.due(ts("2026-11-27T15:06:00Z")), vec![start("p", 2)]);
        s.finished("p", ts("2026-11-27T15:07:00Z"), RunOutcome::Failed);
        assert_eq!(s.due(ts("2026-11-27T15:12:00Z")), vec![start("p", 3)]);
        s.finished("p", ts("2026-11-27T15:13:00Z"), RunOutcome::Failed);
        assert!(
            s.due(ts("2026-11-27T15:40:00Z")).is_empty(),
            "no attempts left"
        );
        assert_eq!(s.due(ts("2026-11-27T16:00:00Z")), vec![start("p", 1)]);
    }

    #[test]
    fn fire_times_passed_during_a_run_are_skipped_not_queued() {
        let mut s = Scheduler::default();
        s.upsert(hourly("p"), ts("2026-11-27T14:10:00Z"));
        assert_eq!(s.due(ts("2026-11-27T15:00:00Z")), vec![start("p", 1)]);
        assert!(s.due(ts("2026-11-27T16:00:00Z")).is_empty());
        assert!(s.due(ts("2026-11-27T17:00:00Z")).is_empty());
        s.finished("p", ts("2026-11-27T17:10:00Z"), RunOutcome::Success);
        assert!(s.due(ts("2026-11-27T17:20:00Z")).is_empty());
        assert_eq!(s.due(ts("2026-11-27T18:00:00Z")), vec![start("p", 1)]);
    }

    #[test]
    fn no_catch_up_after_a_restart() {
        let mut first = Scheduler::default();
        first.upsert(hourly("p"), ts("2026-11-27T14:10:00Z"));
        first.due(ts("2026-11-27T15:00:00Z"));
        first.finished("p", ts("2026-11-27T15:01:00Z"), RunOutcome::Success);
        // Down from 15:01 to 19:30: one run for the latest missed time (19:00), then 20:00.
        let mut again = Scheduler::with_records(first.records(), ts("2026-11-27T19:30:00Z"));
        again.upsert(hourly("p"), ts("2026-11-27T19:30:00Z"));
        assert_eq!(again.due(ts("2026-11-27T19:30:00Z")), vec![start("p", 1)]);
        assert_eq!(
            again.records()["p"].last_fire,
            Some(ts("2026-11-27T19:00:00Z"))
        );
        again.finished("p", ts("2026-11-27T19:35:00Z"), RunOutcome::Success);
        assert_eq!(again.next_wakeup(), Some(ts("2026-11-27T20:00:00Z")));
    }

    #[test]
    fn start_and_end_dates_bound_the_schedule() {
        let mut s = Scheduler::default();
        let mut spec = hourly("p");
        spec.start = Some(ts("2026-11-28T00:00:00Z"));
        spec.end = Some(ts("2026-11-28T02:00:00Z"));
        s.upsert(spec, ts("2026-11-27T14:10:00Z"));
        assert!(s.due(ts("2026-11-27T23:00:00Z")).is_empty());
        assert_eq!(s.due(ts("2026-11-28T00:00:00Z")), vec![start("p", 1)]);
        s.finished("p", ts("2026-11-28T00:10:00Z"), RunOutcome::Success);
        assert_eq!(s.due(ts("2026-11-28T02:00:00Z")), vec![start("p", 1)]);
        s.finished("p", ts("2026-11-28T02:10:00Z"), RunOutcome::Success);
        assert!(s.due(ts("2026-11-28T03:00:00Z")).is_empty());
        assert_eq!(s.next_wakeup(), None);
    }

    #[test]
    fn the_state_file_spells_outcomes_as_before() {
        let text = r#"{"a":{"lastFire":"2026-11-27T15:00:00Z","lastFinished":"2026-11-27T15:01:00Z","lastState":"partialSuccess"},"b":{"lastFire":null,"lastFinished":null,"lastState":"failed"},"c":{"lastFire":null,"lastFinished":null,"lastState":"success"}}"#;
        let records: BTreeMap<String, JobRecord> = serde_json::from_str(text).unwrap();
        assert_eq!(records["a"].last_state, Some(RunOutcome::PartialSuccess));
        assert_eq!(records["b"].last_state, Some(RunOutcome::Failed));
        assert_eq!(records["c"].last_state, Some(RunOutcome::Success));
        assert_eq!(serde_json::to_string(&records).unwrap(), text);
        for o in [
            RunOutcome::Success,
            RunOutcome::PartialSuccess,
            RunOutcome::Failed,
        ] {
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str(), "{o:?}");
        }
    }

    #[test]
    fn a_manual_pipeline_never_fires() {
        let mut s = Scheduler::default();
        let mut spec = hourly("p");
        spec.cron = None;
        s.upsert(spec, ts("2026-11-27T14:10:00Z"));
        assert!(s.due(ts("2026-12-27T14:10:00Z")).is_empty());
    }
}
