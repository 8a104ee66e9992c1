//! The state file of second runs (`s3meta.stateFile`): the columns each sample file gave,
//! keyed by what identifies its content in a listing (bucket, key, size, last-modified time,
//! ETag) and how it was read (format, separator). A second run over an unchanged lake reads
//! no sample: its listings show the same objects, and their columns come from here. The
//! ETag catches a rewrite to the same size within the same second; a listing without ETags
//! (s3s-fs) matches on the rest. A state file written before ETags were kept loads with
//! none, so its samples miss once against a listing that has them and are read again.
//!
//! The state is dropped whole when the s3meta version or the options that shape inference
//! differ from the run that wrote it (a reader fix, another `textSampleRows`), so a cached
//! schema is always the one this run would infer. Only successful reads are kept, and only
//! the samples the last run used (the file does not grow with history). Written at the end
//! of a run, atomically (a temporary file renamed).

use crate::entity::Column;
use crate::infer::Limits;
use crate::store::ObjectMeta;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Largest state file read; a larger one is ignored (it is ours, but a disk is shared).
const MAX_STATE_BYTES: u64 = 512 * 1024 * 1024;

/// What identifies one sample's content and how it was read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct SampleKey {
    bucket: String,
    key: String,
    size: u64,
    last_modified: Option<i64>,
    /// Absent from state files written before ETags were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    format: String,
    separator: Option<String>,
}

impl SampleKey {
    /// The key of `object` in `bucket`, read as `format` with `separator`.
    pub(crate) fn new(
        bucket: &str,
        object: &ObjectMeta,
        format: &str,
        separator: Option<&str>,
    ) -> SampleKey {
        SampleKey {
            bucket: bucket.to_string(),
            key: object.key.clone(),
            size: object.size,
            last_modified: object.last_modified,
            etag: object.etag.clone(),
            format: format.to_string(),
            separator: separator.map(str::to_string),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct StateFile {
    version: String,
    /// The inference options the columns were read with.
    limits: String,
    samples: Vec<(SampleKey, Vec<Column>)>,
}

/// The sample columns of the last run (read) and of this one (recorded).
#[derive(Debug)]
pub(crate) struct SampleState {
    path: PathBuf,
    limits: String,
    previous: HashMap<SampleKey, Vec<Column>>,
    current: Mutex<Vec<(SampleKey, Vec<Column>)>>,
}

fn limits_fingerprint(limits: &Limits) -> String {
    format!("{limits:?}")
}

impl SampleState {
    /// Loads the state at `path`; a missing, unreadable or outdated file gives an empty
    /// state (and a log line saying why), never an error: it only saves work.
    pub(crate) fn load(path: &Path, limits: &Limits) -> SampleState {
        let mut state = SampleState::fresh(path, limits);
        state.previous = match read(path) {
            Ok(Some(f)) if f.version == env!("CARGO_PKG_VERSION") && f.limits == state.limits => {
                f.samples.into_iter().collect()
            }
            Ok(Some(_)) => {
                tracing::info!(path = %path.display(), "The state file is from another s3meta version or other options: every sample is read again.");
                HashMap::new()
            }
            Ok(None) => HashMap::new(),
            Err(e) => {
                tracing::warn!(path = %path.display(), "The state file cannot be used, every sample is read again: {e}");
                HashMap::new()
            }
        };
        state
    }

    /// A state that knows nothing of the last run (`--full`), and records this one.
    pub(crate) fn fresh(path: &Path, limits: &Limits) -> SampleState {
        SampleState {
            path: path.to_path_buf(),
            limits: limits_fingerprint(limits),
            previous: HashMap::new(),
            current: Mutex::new(vec![]),
        }
    }

    /// The columns the last run read for this very sample, if any.
    pub(crate) fn get(&self, key: &SampleKey) -> Option<Vec<Column>> {
        self.previous.get(key).cloned()
    }

    /// Records what this run read (or reused) for a sample.
    pub(crate) fn record(&self, key: SampleKey, columns: &[Column]) {
        if let Ok(mut c) = self.current.lock() {
            c.push((key, columns.to_vec()));
        }
    }

    /// Writes this run's state (atomically).
    pub(crate) fn save(&self) -> std::io::Result<()> {
        let mut samples = self
            .current
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default();
        samples.sort_by(|a, b| (&a.0.bucket, &a.0.key).cmp(&(&b.0.bucket, &b.0.key)));
        samples.dedup_by(|a, b| a.0 == b.0);
        let file = StateFile {
            version: env!("CARGO_PKG_VERSION").to_string(),
            limits: self.limits.clone(),
            samples,
        };
        let tmp = self.path.with_extension("partial");
        let bytes = serde_json::to_vec(&file).map_err(std::io::Error::other)?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &self.path)
    }
}

fn read(path: &Path) -> std::io::Result<Option<StateFile>> {
    use std::io::Read;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if file.metadata()?.len() > MAX_STATE_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_STATE_BYTES} bytes"
        )));
    }
    let mut bytes = vec![];
    file.take(MAX_STATE_BYTES).read_to_end(&mut bytes)?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn object(etag: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            key: "data/a.csv".into(),
            size: 8,
            last_modified: Some(1_700_000_000_000),
            storage_class: None,
            etag: etag.map(str::to_string),
        }
    }

    fn column() -> Vec<Column> {
        vec![Column::new("x", "INT")]
    }

    /// A state saved with `object` recorded, loaded again.
    fn saved(dir: &Path, object: &ObjectMeta) -> SampleState {
        let path = dir.join("state.json");
        let limits = Limits::default();
        let first = SampleState::fresh(&path, &limits);
        first.record(SampleKey::new("b", object, "csv", Some(",")), &column());
        first.save().unwrap();
        SampleState::load(&path, &limits)
    }

    #[test]
    fn a_changed_etag_misses_the_cache_with_the_same_key_size_and_time() {
        let dir = tempfile::tempdir().unwrap();
        let state = saved(dir.path(), &object(Some("aaa")));
        let same = SampleKey::new("b", &object(Some("aaa")), "csv", Some(","));
        assert_eq!(state.get(&same), Some(column()));
        let rewritten = SampleKey::new("b", &object(Some("bbb")), "csv", Some(","));
        assert_eq!(state.get(&rewritten), None);
    }

    #[test]
    fn a_listing_without_etags_matches_on_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let state = saved(dir.path(), &object(None));
        let key = SampleKey::new("b", &object(None), "csv", Some(","));
        assert_eq!(state.get(&key), Some(column()));
        // Nothing written for the absent ETag: the file is what it was before ETags.
        let text = std::fs::read_to_string(dir.path().join("state.json")).unwrap();
        assert!(!text.contains("etag"), "{text}");
    }

    #[test]
    fn a_state_file_from_before_etags_loads_with_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let limits = Limits::default();
        let old = serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "limits": limits_fingerprint(&limits),
            "samples": [[
                {"bucket": "b", "key": "data/a.csv", "size": 8,
                 "last_modified": 1_700_000_000_000_i64, "format": "csv", "separator": ","},
                [{"name": "x", "dataType": "INT"}]
            ]]
        });
        std::fs::write(&path, old.to_string()).unwrap();
        let state = SampleState::load(&path, &limits);
        assert_eq!(state.previous.len(), 1, "loaded, not dropped as unreadable");
        let without = SampleKey::new("b", &object(None), "csv", Some(","));
        assert_eq!(state.get(&without), Some(column()));
        // Against a listing that has an ETag, the old entry misses once: the sample is read.
        let with = SampleKey::new("b", &object(Some("aaa")), "csv", Some(","));
        assert_eq!(state.get(&with), None);
    }
}
