//! Run status (reference §10): per-step counts, every warning, filtered item and failure
//! with the object it concerns, success %, the summary table, and the exit decision.
//!
//! A value, not a global flag: each stage fills its own [`StepStatus`] and the workflow
//! merges them in a deterministic order.

use crate::config::RunRules;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use serde::Serialize;
use std::fmt::Write as _;

/// Something that happened to one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// What it concerns: `bucket`, `bucket/key`, an FQN, or a config key.
    pub scope: String,
    /// What happened.
    pub message: String,
}

impl Event {
    /// An event about `scope`.
    pub fn new(scope: impl Into<String>, message: impl Into<String>) -> Event {
        Event {
            scope: scope.into(),
            message: message.into(),
        }
    }
}

/// How many requests a step sent to S3, and how many of their attempts were retries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RequestCounts {
    /// Requests (operations), each counted once whatever its attempts.
    pub requests: u64,
    /// Attempts beyond the first (retries after throttling, 5xx, dropped connections).
    pub retries: u64,
    /// Attempts the store answered as throttled (`503 SlowDown`, `429`), retried or not.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub throttled: u64,
}

/// The status of one step (the source `S3`, or a sink).
#[derive(Debug, Clone, Default, Serialize)]
pub struct StepStatus {
    /// Step name.
    pub name: String,
    /// Records produced (source) or written (sink).
    pub records: u64,
    /// Records the server reported as updates.
    pub updated: u64,
    /// Nothing lost, but worth knowing.
    pub warnings: Vec<Event>,
    /// Deliberately skipped (filters, artifacts).
    pub filtered: Vec<Event>,
    /// Something could not be done.
    pub failures: Vec<Event>,
    /// What a `--dry-run` sink would have done and did not: `scope` an FQN, `message` the
    /// action (`write`, `create`, `mark deleted`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub planned: Vec<Event>,
    /// S3 requests and retries (source) or API calls (sink), when the step counted them.
    pub requests: Option<RequestCounts>,
    /// Sink: containers the server already held unchanged, so not sent again (counted in
    /// `records`).
    #[serde(skip_serializing_if = "is_zero")]
    pub unchanged: u64,
    /// Bytes the step read from S3, when it counted them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_read: Option<u64>,
    /// Wall time per stage, in seconds, in the order the stages start (work of
    /// different buckets overlaps, so each is the time from the stage's first start to
    /// its last end).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<(String, f64)>,
}

impl StepStatus {
    /// An empty status for a step.
    pub fn new(name: &str) -> StepStatus {
        StepStatus {
            name: name.to_string(),
            ..Default::default()
        }
    }

    /// Records a warning.
    pub fn warn(&mut self, scope: impl Into<String>, message: impl Into<String>) {
        let e = Event::new(scope, message);
        tracing::warn!(scope = %e.scope, "{}", e.message);
        self.warnings.push(e);
    }

    /// Records a filtered item.
    pub fn filter(&mut self, scope: impl Into<String>, reason: impl Into<String>) {
        let e = Event::new(scope, reason);
        tracing::debug!(scope = %e.scope, "Filtered: {}", e.message);
        self.filtered.push(e);
    }

    /// Records what a dry run would do to `scope`.
    pub fn plan(&mut self, scope: impl Into<String>, action: impl Into<String>) {
        self.planned.push(Event::new(scope, action));
    }

    /// Records a failure.
    pub fn fail(&mut self, scope: impl Into<String>, message: impl Into<String>) {
        let e = Event::new(scope, message);
        tracing::error!(scope = %e.scope, "{}", e.message);
        self.failures.push(e);
    }

    /// Appends another status of the same step.
    pub fn absorb(&mut self, other: StepStatus) {
        self.records += other.records;
        self.updated += other.updated;
        self.warnings.extend(other.warnings);
        self.filtered.extend(other.filtered);
        self.failures.extend(other.failures);
        self.planned.extend(other.planned);
        if let Some(o) = other.requests {
            let mine = self.requests.get_or_insert_with(RequestCounts::default);
            mine.requests += o.requests;
            mine.retries += o.retries;
            mine.throttled += o.throttled;
        }
    }

    /// `max(records + updated, 1) × 100 / (that + failures)`, to 2 decimals.
    pub fn success_pct(&self) -> f64 {
        let ok = (self.records + self.updated).max(1) as f64;
        let pct = ok * 100.0 / (ok + self.failures.len() as f64);
        (pct * 100.0).round() / 100.0
    }
}

/// The status of a whole run.
#[derive(Debug, Clone, Serialize)]
pub struct RunStatus {
    /// Source then sink.
    pub steps: Vec<StepStatus>,
    /// Wall time in seconds.
    pub elapsed_secs: f64,
}

/// The final state of a run, as the reference names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PipelineState {
    /// Every step at 100 %.
    Success,
    /// Some failures, but every step at or above the threshold.
    PartialSuccess,
    /// A step with failures below the threshold.
    Failed,
}

impl RunStatus {
    /// Mean of the steps' success %.
    pub fn workflow_pct(&self) -> f64 {
        if self.steps.is_empty() {
            return 100.0;
        }
        let sum: f64 = self.steps.iter().map(StepStatus::success_pct).sum();
        ((sum / self.steps.len() as f64) * 100.0).round() / 100.0
    }

    /// The pipeline state for `threshold`.
    pub fn state(&self, threshold: u32) -> PipelineState {
        let failed = self
            .steps
            .iter()
            .any(|s| !s.failures.is_empty() && s.success_pct() < threshold as f64);
        if failed {
            PipelineState::Failed
        } else if self.steps.iter().any(|s| !s.failures.is_empty()) {
            PipelineState::PartialSuccess
        } else {
            PipelineState::Success
        }
    }

    /// Whether the run failed by the reference's rules (§10): `raiseOnError` and a step
    /// under `successThreshold`. The one place the exit decision is made; the CLI maps it to
    /// exit code 1, the scheduler to a failed run.
    pub fn fails(&self, rules: RunRules) -> bool {
        rules.raise_on_error && self.state(rules.success_threshold) == PipelineState::Failed
    }

    /// The end-of-run summary: a table of counts, then every failure, warning and filtered
    /// item with the object it concerns.
    pub fn summary(&self) -> String {
        let mut table = Table::new();
        table.load_style(UTF8_FULL_CONDENSED);
        table.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
        table.set_width(crate::terminal::width());
        table.set_header(vec![
            "Step",
            "Processed",
            "Updated",
            "Warnings",
            "Filtered",
            "Errors",
            "Success %",
        ]);
        for s in &self.steps {
            table.add_row(vec![
                s.name.clone(),
                s.records.to_string(),
                s.updated.to_string(),
                s.warnings.len().to_string(),
                s.filtered.len().to_string(),
                s.failures.len().to_string(),
                format!("{:.2}", s.success_pct()),
            ]);
        }
        let mut out = format!("{table}\n");
        for (i, s) in self.steps.iter().enumerate() {
            if let Some(r) = s.requests {
                let what = if i == 0 {
                    "S3".to_string()
                } else {
                    format!("Sink ({})", s.name)
                };
                let throttled = match r.throttled {
                    0 => String::new(),
                    n => format!(" ({n} answered throttled)"),
                };
                let _ = writeln!(
                    out,
                    "{what} requests: {}, retries: {}{throttled}",
                    r.requests, r.retries
                );
            }
            if s.unchanged > 0 {
                let _ = writeln!(
                    out,
                    "{} container(s) unchanged since the last run, not sent again (--full sends them)",
                    s.unchanged
                );
            }
            if let Some(b) = s.bytes_read {
                let _ = writeln!(out, "Bytes read from S3: {}", human_bytes(b));
            }
            if !s.stages.is_empty() {
                let times: Vec<String> = s
                    .stages
                    .iter()
                    .map(|(name, secs)| format!("{name} {secs:.2}s"))
                    .collect();
                let _ = writeln!(out, "Stage wall times: {}", times.join(", "));
            }
        }
        for s in &self.steps {
            for (title, list) in [
                ("Failures", &s.failures),
                ("Warnings", &s.warnings),
                ("Filtered", &s.filtered),
            ] {
                if list.is_empty() {
                    continue;
                }
                let _ = writeln!(out, "{title} ({}):", s.name);
                for e in list {
                    let _ = writeln!(out, "  - [{}] {}", e.scope, e.message);
                }
            }
        }
        for s in self.steps.iter().filter(|s| !s.planned.is_empty()) {
            let _ = writeln!(
                out,
                "Dry run ({}): nothing was written; it would have done ({}):",
                s.name,
                s.planned.len()
            );
            for e in &s.planned {
                let _ = writeln!(out, "  - {} {}", e.message, e.scope);
            }
        }
        let _ = writeln!(out, "Workflow Success %: {:.2}", self.workflow_pct());
        let _ = writeln!(out, "Workflow finished in time: {:.2}s", self.elapsed_secs);
        if self.steps.first().is_some_and(|s| !s.failures.is_empty()) {
            let _ = writeln!(out, "Workflow finished with failures");
        }
        out
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A byte count in the unit that shows it: `512 B`, `4.7 KiB`, `13.5 MiB`, `2.0 GiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(raise_on_error: bool) -> RunRules {
        RunRules {
            raise_on_error,
            success_threshold: 90,
        }
    }

    fn step(records: u64, failures: usize) -> StepStatus {
        let mut s = StepStatus::new("S3");
        s.records = records;
        for i in 0..failures {
            s.failures.push(Event::new(format!("x{i}"), "boom"));
        }
        s
    }

    #[test]
    fn success_pct_matches_the_reference_examples() {
        // run1: 13 records, 2 failures → 86.67 %; run2: 14 and 1 → 93.33 %.
        assert_eq!(step(13, 2).success_pct(), 86.67);
        assert_eq!(step(14, 1).success_pct(), 93.33);
        assert_eq!(step(0, 0).success_pct(), 100.0);
        assert_eq!(step(0, 1).success_pct(), 50.0);
    }

    #[test]
    fn exit_follows_threshold_and_raise_on_error() {
        let run = |s: StepStatus| RunStatus {
            steps: vec![s],
            elapsed_secs: 0.0,
        };
        assert!(run(step(13, 2)).fails(rules(true)));
        assert!(!run(step(13, 2)).fails(rules(false)));
        assert!(!run(step(14, 1)).fails(rules(true)));
        assert_eq!(run(step(14, 1)).state(90), PipelineState::PartialSuccess);
        assert_eq!(run(step(3, 0)).state(90), PipelineState::Success);
    }

    #[test]
    fn byte_counts_use_a_unit_that_shows_them() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(4812), "4.7 KiB");
        assert_eq!(human_bytes(14_130_534), "13.5 MiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }
}
