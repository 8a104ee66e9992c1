//! Progress of a run on stderr, and the wall time of its stages.
//!
//! On a terminal, one status line (buckets done/total, containers, bytes read) is redrawn
//! in place; logs go through [`stderr`], which clears that line before a log line and
//! redraws it after, so neither garbles the other. Without a terminal, a status line is
//! logged every `s3meta.statusIntervalSecs` seconds instead, as the reference does.
//! Stdout is never touched: it carries only the command's result.
//!
//! It owns display only: the workflow bumps the counters, and nothing here decides anything.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The progress line currently drawn on the terminal, if any. Process-wide because the log
/// writer (set up once by `main`) and the run that draws the line must agree on it.
static LINE: Mutex<Option<String>> = Mutex::new(None);

fn line() -> MutexGuard<'static, Option<String>> {
    LINE.lock().unwrap_or_else(|p| p.into_inner())
}

/// A stderr writer for logs that keeps the progress line intact (see the module doc).
#[derive(Debug, Clone, Copy, Default)]
pub struct StderrWriter;

/// The log writer for `tracing_subscriber::fmt().with_writer(progress::stderr)`.
pub fn stderr() -> StderrWriter {
    StderrWriter
}

impl Write for StderrWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        let current = line();
        let mut err = std::io::stderr().lock();
        if current.is_some() {
            err.write_all(b"\r\x1b[2K")?;
        }
        err.write_all(buf)?;
        if let Some(l) = current.as_deref() {
            if buf.ends_with(b"\n") {
                err.write_all(l.as_bytes())?;
            }
        }
        err.flush()
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Counts the workflow bumps as it goes.
#[derive(Debug, Default)]
pub struct Counters {
    /// Buckets to process.
    pub buckets_total: AtomicU64,
    /// Buckets processed (planned, inferred and handed to the sink).
    pub buckets_done: AtomicU64,
    /// Containers produced so far.
    pub containers: AtomicU64,
}

impl Counters {
    fn text(&self, started: Instant, (requests, bytes): (u64, u64)) -> String {
        format!(
            "buckets {}/{}, containers {}, S3 requests {requests}, read {:.1} MiB, {:.0}s",
            self.buckets_done.load(Relaxed),
            self.buckets_total.load(Relaxed),
            self.containers.load(Relaxed),
            bytes as f64 / 1048576.0,
            started.elapsed().as_secs_f64()
        )
    }
}

/// Wall time of each stage: from its first start to its last end, across buckets.
#[derive(Debug, Default)]
pub struct Stages {
    spans: Mutex<Vec<(&'static str, Instant, Instant)>>,
}

impl Stages {
    /// Records that `stage` ran from `start` until now.
    pub fn record(&self, stage: &'static str, start: Instant) {
        let end = Instant::now();
        let mut spans = self.spans.lock().unwrap_or_else(|p| p.into_inner());
        match spans.iter_mut().find(|(n, _, _)| *n == stage) {
            Some((_, s, e)) => {
                *s = (*s).min(start);
                *e = (*e).max(end);
            }
            None => spans.push((stage, start, end)),
        }
    }

    /// `(stage, seconds)` in the order the stages started.
    pub fn summary(&self) -> Vec<(String, f64)> {
        let mut spans = self.spans.lock().unwrap_or_else(|p| p.into_inner()).clone();
        spans.sort_by_key(|(_, s, _)| *s);
        spans
            .into_iter()
            .map(|(n, s, e)| (n.to_string(), (e - s).as_secs_f64()))
            .collect()
    }
}

/// Shows progress while it lives: a redrawn line on a terminal, else a status log line every
/// `interval` (none when it is zero). Dropping it stops the display and clears the line.
#[derive(Debug)]
pub struct Reporter {
    task: Option<tokio::task::JoinHandle<()>>,
    tty: bool,
}

impl Reporter {
    /// Starts the display for `counters` and `s3`: the S3 requests sent and bytes read so
    /// far (needs a tokio runtime).
    pub fn start(
        counters: Arc<Counters>,
        s3: impl Fn() -> (u64, u64) + Send + 'static,
        interval: Duration,
    ) -> Reporter {
        // The line redraws itself with control codes: only on a terminal that has them.
        let tty =
            std::io::stderr().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb");
        let width = usize::from(crate::terminal::width()).saturating_sub(1);
        let started = Instant::now();
        let task = if tty {
            Some(tokio::spawn(async move {
                loop {
                    // Cut to the terminal's width: a wrapped line cannot be redrawn.
                    let text: String = counters.text(started, s3()).chars().take(width).collect();
                    {
                        let mut current = line();
                        let mut err = std::io::stderr().lock();
                        let _ = write!(err, "\r\x1b[2K{text}");
                        let _ = err.flush();
                        *current = Some(text);
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }))
        } else if !interval.is_zero() {
            Some(tokio::spawn(async move {
                loop {
                    tokio::time::sleep(interval).await;
                    tracing::info!("Status: {}.", counters.text(started, s3()));
                }
            }))
        } else {
            None
        };
        Reporter { task, tty }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
        if self.tty {
            let mut current = line();
            if current.take().is_some() {
                let mut err = std::io::stderr().lock();
                let _ = err.write_all(b"\r\x1b[2K");
                let _ = err.flush();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_spans_from_its_first_start_to_its_last_end() {
        let stages = Stages::default();
        let t0 = Instant::now();
        stages.record("planning", t0);
        std::thread::sleep(Duration::from_millis(5));
        stages.record("inference", Instant::now());
        stages.record("planning", t0 + Duration::from_millis(1));
        let s = stages.summary();
        assert_eq!(s[0].0, "planning");
        assert_eq!(s[1].0, "inference");
        assert!(s[0].1 >= 0.005);
    }
}
