//! Request and response shapes of the OpenMetadata calls s3meta makes (reference §8).
//!
//! Responses are read leniently (ACCEPTANCE: rely only on `id`, `name`,
//! `fullyQualifiedName` and resolved references; ignore unknown and missing fields).
//! Container and service request bodies are built by [`crate::entity`], not here.

use crate::status::{PipelineState, RunStatus, StepStatus};
use serde::{Deserialize, Serialize};

/// The major.minor of the server versions s3meta declares compatibility with.
pub const COMPATIBLE_VERSION: &str = "2.0";

/// The path of the server's version, under the API base.
pub const VERSION_PATH: &str = "/system/version";

/// `GET /v1/system/version`.
#[derive(Debug, Deserialize)]
pub struct ServerVersion {
    /// `2.0.7`, …
    pub version: String,
}

/// Major.minor of a version string (`2.0.7` → `2.0`).
pub fn major_minor(v: &str) -> String {
    v.trim()
        .trim_start_matches('v')
        .split(['.', '-'])
        .take(2)
        .collect::<Vec<_>>()
        .join(".")
}

/// What the sink reads from an entity answer.
#[derive(Debug, Clone, Deserialize)]
pub struct EntityRef {
    /// Server id.
    pub id: String,
    /// Fully qualified name.
    #[serde(rename = "fullyQualifiedName", default)]
    pub fqn: Option<String>,
    /// The `sourceHash` the entity was last written with (containers), when the answer has it.
    #[serde(rename = "sourceHash", default)]
    pub source_hash: Option<String>,
}

/// A page of a listing.
#[derive(Debug, Deserialize)]
pub struct Page {
    /// The entities.
    #[serde(default)]
    pub data: Vec<EntityRef>,
    /// The cursor to the next page.
    #[serde(default)]
    pub paging: Option<Paging>,
}

/// `paging` of a listing.
#[derive(Debug, Deserialize)]
pub struct Paging {
    /// Cursor of the next page; absent on the last.
    #[serde(default)]
    pub after: Option<String>,
}

/// `BulkDeleteStaleRequest`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteStale<'a> {
    /// The service FQN.
    pub scope_fqn: &'a str,
    /// Always `service`: the only scope the server offers for containers.
    pub scope_entity_type: &'static str,
    /// Every container FQN that must stay.
    pub seen_fqns: Vec<&'a str>,
    /// Always false.
    pub dry_run: bool,
    /// Always false: soft deletion only.
    pub hard_delete: bool,
    /// Always true, as in the reference.
    pub recursive: bool,
}

/// `pipelineState` of a [`PipelineStatus`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RunState {
    /// The run started and has not ended.
    Running,
    /// Every step at 100 %.
    Success,
    /// Some failures, but every step at or above the threshold.
    PartialSuccess,
    /// A step under the threshold, or a run that could not run.
    Failed,
}

impl From<PipelineState> for RunState {
    fn from(s: PipelineState) -> RunState {
        match s {
            PipelineState::Success => RunState::Success,
            PipelineState::PartialSuccess => RunState::PartialSuccess,
            PipelineState::Failed => RunState::Failed,
        }
    }
}

/// A progress event of a pipeline run
/// (`PUT /v1/services/ingestionPipelines/progress/<fqn>/<runId>`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressEvent<'a> {
    /// `DISCOVERY`, `PROCESSING` or `PIPELINE_COMPLETE`.
    pub update_type: &'a str,
    /// Now, epoch milliseconds.
    pub timestamp: i64,
    /// Records so far.
    pub records: u64,
}

/// `CreateClassificationRequest`: the classification of an S3 tag key.
#[derive(Debug, Serialize)]
pub struct CreateClassification<'a> {
    /// The tag key.
    pub name: &'a str,
    /// Always `S3 TAG KEY`, as in the reference.
    pub description: &'static str,
}

/// `CreateTagRequest`: an S3 tag value under its key's classification.
#[derive(Debug, Serialize)]
pub struct CreateTag<'a> {
    /// The tag key (the classification's name).
    pub classification: &'a str,
    /// The tag value.
    pub name: &'a str,
    /// Always `S3 TAG VALUE`, as in the reference.
    pub description: &'static str,
}

/// `PipelineStatus`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineStatus<'a> {
    /// The run id.
    pub run_id: &'a str,
    /// The run's state.
    pub pipeline_state: RunState,
    /// Start, epoch milliseconds.
    pub start_date: i64,
    /// Now, epoch milliseconds.
    pub timestamp: i64,
    /// End, epoch milliseconds (final status only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<i64>,
    /// Per-step summaries (final status only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Vec<StepSummary>>,
}

/// `StepSummary` of a pipeline status.
#[derive(Debug, Serialize)]
pub struct StepSummary {
    /// Step name (`S3`, `OpenMetadata`).
    pub name: String,
    /// Records.
    pub records: u64,
    /// Updated records.
    pub updated_records: u64,
    /// Number of warnings.
    pub warnings: u64,
    /// Number of failures.
    pub errors: u64,
    /// Number of filtered items.
    pub filtered: u64,
    /// The first failures (at most 10, as the reference lists).
    pub failures: Vec<StackTraceError>,
}

/// One failure of a step summary.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackTraceError {
    /// What it concerns.
    pub name: String,
    /// What happened.
    pub error: String,
}

impl StepSummary {
    /// The summary of a step that failed once, on `name`, before it could count anything.
    pub fn failed(step: &str, name: &str, error: &str) -> StepSummary {
        StepSummary {
            name: step.to_string(),
            records: 0,
            updated_records: 0,
            warnings: 0,
            errors: 1,
            filtered: 0,
            failures: vec![StackTraceError {
                name: name.to_string(),
                error: error.to_string(),
            }],
        }
    }

    /// The summary of one step.
    pub fn of(s: &StepStatus) -> StepSummary {
        StepSummary {
            name: s.name.clone(),
            records: s.records,
            updated_records: s.updated,
            warnings: s.warnings.len() as u64,
            errors: s.failures.len() as u64,
            filtered: s.filtered.len() as u64,
            failures: s
                .failures
                .iter()
                .take(10)
                .map(|e| StackTraceError {
                    name: e.scope.clone(),
                    error: e.message.clone(),
                })
                .collect(),
        }
    }
}

/// Per-step summaries of a run.
pub fn summaries(run: &RunStatus) -> Vec<StepSummary> {
    run.steps.iter().map(StepSummary::of).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_states_have_the_reference_names() {
        let names: Vec<_> = [
            RunState::Running,
            RunState::Success,
            RunState::PartialSuccess,
            RunState::Failed,
        ]
        .into_iter()
        .map(|s| serde_json::to_value(s).unwrap())
        .collect();
        assert_eq!(
            names,
            ["running", "success", "partialSuccess", "failed"].map(serde_json::Value::from)
        );
    }

    #[test]
    fn major_minor_of_server_versions() {
        assert_eq!(major_minor("2.0.7"), "2.0");
        assert_eq!(major_minor("1.5.11-SNAPSHOT"), "1.5");
        assert_eq!(major_minor("2.0"), "2.0");
    }
}
