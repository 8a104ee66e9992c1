//! Spark/Hadoop artifacts and cold storage (reference §5.2).

/// Path segments that mark a key as an artifact wherever they appear.
const ARTIFACT_SEGMENTS: &[&str] = &[
    "_delta_log",
    "_temporary",
    "_spark_metadata",
    ".tmp",
    "_SUCCESS",
];

/// The default `excludePaths` of a glob entry.
pub const DEFAULT_EXCLUDE_PATHS: &[&str] = ARTIFACT_SEGMENTS;

/// Storage classes skipped by glob listings.
const COLD_STORAGE: &[&str] = &["GLACIER", "DEEP_ARCHIVE", "GLACIER_IR"];

/// True when `key` is a Spark/Hadoop artifact: a segment in the artifact list, or a last
/// segment that is `_SUCCESS`, starts with `_SUCCESS.`, `_committed_`, `_started_`, or ends
/// with `.crc`.
pub fn is_artifact(key: &str) -> bool {
    if key.split('/').any(|s| ARTIFACT_SEGMENTS.contains(&s)) {
        return true;
    }
    let last = key.rsplit('/').next().unwrap_or(key);
    last == "_SUCCESS"
        || last.starts_with("_SUCCESS.")
        || last.starts_with("_committed_")
        || last.starts_with("_started_")
        || last.ends_with(".crc")
}

/// True for Glacier-class objects, which cannot be read without a restore.
pub fn is_cold(storage_class: Option<&str>) -> bool {
    storage_class.is_some_and(|c| COLD_STORAGE.contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifacts_are_recognised() {
        for k in [
            "t/_delta_log/0001.json",
            "t/_SUCCESS",
            "t/_SUCCESS.crc",
            "t/.part-0001.parquet.crc",
            "t/_committed_123",
            "t/_started_123",
            "t/_temporary/0/x.parquet",
            "t/.tmp/x",
            "_spark_metadata/0",
        ] {
            assert!(is_artifact(k), "{k}");
        }
        for k in ["t/part-0001.parquet", "t/success.csv", "t/x_SUCCESS"] {
            assert!(!is_artifact(k), "{k}");
        }
    }

    #[test]
    fn cold_classes() {
        assert!(is_cold(Some("GLACIER")));
        assert!(!is_cold(Some("STANDARD")));
        assert!(!is_cold(None));
    }
}
