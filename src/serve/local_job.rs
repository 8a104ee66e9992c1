//! A local workflow file on a cron schedule (`s3meta serve -c workflow.yaml --schedule …`):
//! the job source and runner of the serve loop without an OpenMetadata server. The file is
//! read again for every run, so edits apply to the next run without a restart.

use super::cron::Cron;
use super::schedule::JobSpec;
use super::{JobSource, RunOutcome, Runner};
use crate::config;
use async_trait::async_trait;
use jiff::tz::TimeZone;
use std::path::PathBuf;
use std::time::Duration;

/// One workflow file and its schedule.
#[derive(Debug, Clone)]
pub struct LocalJob {
    /// The workflow file.
    pub config: PathBuf,
    /// When it runs.
    pub cron: Cron,
    /// The cron's time zone.
    pub tz: TimeZone,
    /// Extra attempts after a failed run.
    pub retries: u32,
    /// Wait before a retry.
    pub retry_delay: Duration,
}

impl LocalJob {
    /// The job's id: the workflow file's path.
    pub fn id(&self) -> String {
        self.config.display().to_string()
    }
}

#[async_trait]
impl JobSource for LocalJob {
    /// The one job is known without reading anything.
    type Error = std::convert::Infallible;

    async fn jobs(&self) -> Result<Vec<JobSpec>, Self::Error> {
        Ok(vec![JobSpec {
            id: self.id(),
            cron: Some(self.cron.clone()),
            tz: self.tz.clone(),
            start: None,
            end: None,
            paused: false,
            retries: self.retries,
            retry_delay: self.retry_delay,
        }])
    }
}

#[async_trait]
impl Runner for LocalJob {
    async fn run(&self, _id: &str, attempt: u32) -> RunOutcome {
        let v = match config::load_file(&self.config)
            .and_then(|w| w.validate().map_err(config::ConfigError::from))
        {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(error = %e, attempt, "The workflow file is not valid; run failed.");
                return RunOutcome::Failed;
            }
        };
        let rules = v.rules;
        let threshold = rules.success_threshold;
        match super::isolated::run_ingest(v).await {
            Ok(status) => {
                tracing::info!(attempt, "Run summary:\n{}", status.summary());
                if status.fails(rules) {
                    RunOutcome::Failed
                } else {
                    status.state(threshold).into()
                }
            }
            Err(e) => {
                tracing::error!(error = %e, attempt, "Run failed.");
                RunOutcome::Failed
            }
        }
    }

    async fn abandoned(&self, _id: &str) {}
}
