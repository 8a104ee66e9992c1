//! The `file` sink: one JSON object per line,
//! `{"entity": "storageService" | "container", "fqn": …, "request": {…}}`, where `request`
//! is the exact body `metadata-rest` would send, except that a parent is named by FQN (no
//! server id exists) and secrets are written as `"***"`.
//!
//! With `--dry-run` no file is touched: the status lists the lines it would have written.
//!
//! The file is written to a temporary name beside the target and renamed at the end, so a
//! failed run never leaves a half catalog behind a good one; a run that ends any other way
//! (an error, a panic, SIGTERM/SIGINT dropping the run) removes the temporary file when the
//! sink is dropped, and the previous catalog stays as it was.

use super::{Error, Seen, ServiceInfo, Sink};
use crate::entity::{quote_name, service_request, Container, ParentRef};
use crate::status::StepStatus;
use async_trait::async_trait;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section is a single write; a panic leaves nothing half-done.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Writes the catalog file.
#[derive(Debug)]
pub struct FileSink {
    path: PathBuf,
    tmp: PathBuf,
    out: Mutex<Option<std::io::BufWriter<std::fs::File>>>,
    status: Mutex<StepStatus>,
    /// `--dry-run`: no file at all; each line is listed in the status instead.
    dry_run: bool,
}

impl FileSink {
    /// A sink writing to `path` (relative to the current directory).
    pub fn new(path: impl Into<PathBuf>) -> FileSink {
        let path = path.into();
        let mut tmp = path.clone().into_os_string();
        tmp.push(".partial");
        FileSink {
            path,
            tmp: tmp.into(),
            out: Mutex::new(None),
            status: Mutex::new(StepStatus::new("File")),
            dry_run: false,
        }
    }

    /// A sink that writes no file and lists what it would have written (`--dry-run`).
    pub fn dry_run(mut self, dry_run: bool) -> FileSink {
        self.dry_run = dry_run;
        self
    }

    /// Removes the temporary file of an unfinished run.
    fn discard(&self) {
        // Nothing to report to: the run is already failing or gone; a file that is not there
        // is what we want.
        let _ = std::fs::remove_file(&self.tmp);
    }

    fn line(&self, entity: &str, value: serde_json::Value) -> Result<(), Error> {
        let mut guard = lock(&self.out);
        let out = guard
            .as_mut()
            .ok_or_else(|| Error::new(entity, "the sink was not started"))?;
        serde_json::to_writer(&mut *out, &value)
            .map_err(std::io::Error::from)
            .and_then(|_| out.write_all(b"\n"))
            .map_err(|e| {
                Error::caused(
                    entity,
                    format!("cannot write {}: {e}", self.tmp.display()),
                    e,
                )
            })
    }
}

impl Drop for FileSink {
    /// A sink dropped between `begin` and `finish` belongs to a run that stopped early: its
    /// partial catalog goes, the previous catalog stays.
    fn drop(&mut self) {
        let unfinished = lock(&self.out).take();
        if let Some(out) = unfinished {
            // Its buffered lines would only be written to a file about to be removed.
            let (file, _) = out.into_parts();
            drop(file);
            self.discard();
        }
    }
}

#[async_trait]
impl Sink for FileSink {
    fn name(&self) -> &'static str {
        "File"
    }

    async fn begin(&mut self, service: &ServiceInfo) -> Result<(), Error> {
        if self.dry_run {
            lock(&self.status).plan(quote_name(&service.name), "write");
            return Ok(());
        }
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::caused(
                    &service.name,
                    format!("cannot create {}: {e}", dir.display()),
                    e,
                )
            })?;
        }
        let f = std::fs::File::create(&self.tmp).map_err(|e| {
            Error::caused(
                &service.name,
                format!("cannot create {}: {e}", self.tmp.display()),
                e,
            )
        })?;
        *lock(&self.out) = Some(std::io::BufWriter::new(f));
        let request = service_request(
            &service.name,
            &service.connection,
            service.store_connection,
            true,
        );
        self.line(
            &service.name,
            json!({"entity": "storageService", "fqn": quote_name(&service.name), "request": request}),
        )?;
        lock(&self.status).records += 1;
        Ok(())
    }

    async fn put(
        &self,
        service: &str,
        c: &Container,
        parent: Option<&ParentRef>,
    ) -> Result<ParentRef, Error> {
        if self.dry_run {
            lock(&self.status).plan(&c.fqn, "write");
            return Ok(ParentRef::Fqn(c.fqn.clone()));
        }
        let request = c.request(service, parent);
        self.line(
            &c.fqn,
            json!({"entity": "container", "fqn": c.fqn, "request": request}),
        )?;
        lock(&self.status).records += 1;
        Ok(ParentRef::Fqn(c.fqn.clone()))
    }

    async fn finish(&mut self, _seen: &Seen) -> Result<(), Error> {
        let fail =
            |e: std::io::Error| Error::caused(self.path.display().to_string(), e.to_string(), e);
        let taken = lock(&self.out).take();
        if let Some(mut out) = taken {
            let written = out.flush();
            drop(out);
            if let Err(e) = written.and_then(|()| std::fs::rename(&self.tmp, &self.path)) {
                self.discard();
                return Err(fail(e));
            }
        }
        Ok(())
    }

    fn status(&self) -> StepStatus {
        lock(&self.status).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> ServiceInfo {
        ServiceInfo {
            name: "svc".into(),
            connection: serde_json::from_value(json!({"awsConfig": {"awsRegion": "us-east-1"}}))
                .unwrap(),
            store_connection: true,
            exists: None,
        }
    }

    #[tokio::test]
    async fn a_run_dropped_midway_leaves_no_partial_file_and_the_old_catalog() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.jsonl");
        std::fs::write(&path, "previous\n").unwrap();
        let mut sink = FileSink::new(&path);
        sink.begin(&service()).await.unwrap();
        let partial = dir.path().join("catalog.jsonl.partial");
        assert!(partial.exists());
        drop(sink);
        assert!(!partial.exists());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "previous\n");
    }

    #[tokio::test]
    async fn a_finished_run_replaces_the_catalog() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.jsonl");
        std::fs::write(&path, "previous\n").unwrap();
        let mut sink = FileSink::new(&path);
        sink.begin(&service()).await.unwrap();
        sink.finish(&Seen::default()).await.unwrap();
        drop(sink);
        assert!(!dir.path().join("catalog.jsonl.partial").exists());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("{\"entity\":\"storageService\""), "{text}");
    }

    #[tokio::test]
    async fn a_failed_rename_removes_the_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the catalog should go: the rename fails.
        let path = dir.path().join("catalog.jsonl");
        std::fs::create_dir_all(path.join("occupied")).unwrap();
        let mut sink = FileSink::new(&path);
        sink.begin(&service()).await.unwrap();
        assert!(sink.finish(&Seen::default()).await.is_err());
        assert!(!dir.path().join("catalog.jsonl.partial").exists());
    }
}
