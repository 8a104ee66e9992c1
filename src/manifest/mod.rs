//! Manifests (reference §4): the bucket's `openmetadata.json`, the global manifest, and
//! `defaultManifest`: their model, parsing with positions, loading of the global one, and the
//! precedence that picks each bucket's entries.
//!
//! Parsing is strict where the reference is (the top level takes only `entries`; a partition
//! column's `dataType` must be an upper-case DataType value) and lenient where it is (unknown
//! keys inside an entry are ignored).

mod load;
mod resolve;

pub use load::{load_global, GlobalManifestError, GlobalSource};
pub use resolve::{global_store, Manifests, Resolved, MAX_SNIFFED};

use crate::format::StructureFormat;
use serde::Deserialize;

/// One manifest entry (`MetadataEntry`, reference §4.1).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Literal path or glob, relative to the bucket root.
    pub data_path: String,
    /// Format for schema inference, as written; `None` means unstructured.
    #[serde(default)]
    pub structure_format: Option<StructureFormat>,
    /// Delimiter for csv/tsv.
    #[serde(default)]
    pub separator: Option<String>,
    /// Copied to `dataModel.isPartitioned`.
    #[serde(default)]
    pub is_partitioned: bool,
    /// Prepended to the inferred columns.
    #[serde(default)]
    pub partition_columns: Option<Vec<PartitionColumn>>,
    /// Discover sub-folders this many levels below `dataPath`.
    #[serde(default)]
    pub depth: u32,
    /// Catalogue every file under `dataPath` ending with one of these (`*` = all).
    #[serde(default)]
    pub unstructured_formats: Option<Vec<String>>,
    /// With a glob: one container per matching file.
    #[serde(default)]
    pub unstructured_data: bool,
    /// With a glob: Hive `k=v` partition columns.
    #[serde(default)]
    pub auto_partition_detection: bool,
    /// Glob only: path segments to skip (`None` = the default set, `[]` = none).
    #[serde(default)]
    pub exclude_paths: Option<Vec<String>>,
    /// Glob only: globs of keys to skip.
    #[serde(default)]
    pub exclude_patterns: Option<Vec<String>>,
}

impl Entry {
    /// An entry for `data_path` with every other field as a manifest leaving it out reads
    /// (`{"dataPath": …}` alone): the base of the entries planning derives from a glob.
    pub fn at(data_path: impl Into<String>) -> Entry {
        Entry {
            data_path: data_path.into(),
            structure_format: None,
            separator: None,
            is_partitioned: false,
            partition_columns: None,
            depth: 0,
            unstructured_formats: None,
            unstructured_data: false,
            auto_partition_detection: false,
            exclude_paths: None,
            exclude_patterns: None,
        }
    }
}

/// A partition column declared in a manifest.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionColumn {
    /// Column name.
    pub name: String,
    /// An OpenMetadata DataType value, upper case.
    pub data_type: DataTypeName,
    /// Display form of the type.
    #[serde(default)]
    pub data_type_display: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
}

/// A DataType enum value, checked on parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataTypeName(pub String);

impl<'de> Deserialize<'de> for DataTypeName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if DATA_TYPES.contains(&s.as_str()) {
            Ok(DataTypeName(s))
        } else {
            Err(serde::de::Error::custom(format!(
                "`{s}` is not an OpenMetadata DataType (upper case, e.g. STRING, INT, DATE)"
            )))
        }
    }
}

pub use crate::entity::DATA_TYPES;

/// An entry of a global (or default) manifest: an entry plus the bucket it applies to.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GlobalEntry {
    /// The bucket (exact, case-sensitive).
    pub container_name: String,
    /// The entry itself.
    #[serde(flatten)]
    pub entry: Entry,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document<T> {
    entries: Vec<T>,
}

/// A manifest that is not valid JSON or not a valid manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Not JSON at all.
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// JSON, but a field is wrong.
    #[error("invalid manifest at `{field}` (line {line}, column {column}): {message}")]
    Schema {
        /// Path of the field, e.g. `entries[2].partitionColumns[0].dataType`.
        field: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What was expected.
        message: String,
    },
}

fn parse<T: serde::de::DeserializeOwned>(text: &[u8]) -> Result<Vec<T>, ManifestError> {
    // A UTF-8 byte-order mark (Windows editors write one) is not JSON, but the reference
    // reads such a file: skip it.
    let text = text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(text);
    // A syntax check first, so that broken JSON is reported as such rather than as a field.
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(text) {
        return Err(ManifestError::Json {
            line: e.line(),
            column: e.column(),
            message: strip_position(&e.to_string()),
        });
    }
    let de = &mut serde_json::Deserializer::from_slice(text);
    serde_path_to_error::deserialize::<_, Document<T>>(de)
        .map(|d| d.entries)
        .map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner();
            ManifestError::Schema {
                field: if field == "." {
                    "(top level)".into()
                } else {
                    field
                },
                line: inner.line(),
                column: inner.column(),
                message: strip_position(&inner.to_string()),
            }
        })
}

fn strip_position(s: &str) -> String {
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s.to_string(),
    }
}

/// Parses a bucket manifest (`openmetadata.json`).
pub fn parse_bucket_manifest(text: &[u8]) -> Result<Vec<Entry>, ManifestError> {
    parse(text)
}

/// Parses a global manifest (or `defaultManifest`): every entry needs `containerName`.
pub fn parse_global_manifest(text: &[u8]) -> Result<Vec<GlobalEntry>, ManifestError> {
    parse(text)
}

/// The keys a manifest entry may have (`MetadataEntry`); a global entry also `containerName`.
const ENTRY_KEYS: &[&str] = &[
    "dataPath",
    "structureFormat",
    "separator",
    "isPartitioned",
    "partitionColumns",
    "depth",
    "unstructuredFormats",
    "unstructuredData",
    "autoPartitionDetection",
    "excludePaths",
    "excludePatterns",
];

/// One warning per unknown key of an entry: the reference's schema ignores them, so a typo
/// (`structurFormat`) silently yields a container without format or columns. Named with the
/// entry and the known key it most resembles. `global`: entries may carry `containerName`.
/// Empty for a text that is not a manifest (its parse error says why).
pub fn unknown_keys(text: &[u8], global: bool) -> Vec<String> {
    let text = text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(text);
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(text) else {
        return vec![];
    };
    let Some(entries) = doc.get("entries").and_then(|e| e.as_array()) else {
        return vec![];
    };
    let mut out = vec![];
    for (i, entry) in entries.iter().enumerate() {
        let Some(map) = entry.as_object() else {
            continue;
        };
        let path = map
            .get("dataPath")
            .and_then(|p| p.as_str())
            .map(|p| format!(" (dataPath `{p}`)"))
            .unwrap_or_default();
        for key in map.keys() {
            let known = ENTRY_KEYS.contains(&key.as_str()) || (global && key == "containerName");
            if known {
                continue;
            }
            let hint = if key == "containerName" {
                " (it belongs in a global manifest)".to_string()
            } else {
                closest(key, global)
                    .map(|k| format!("; did you mean `{k}`?"))
                    .unwrap_or_default()
            };
            out.push(format!(
                "entries[{i}]{path}: unknown key `{key}` ignored{hint}"
            ));
        }
    }
    out
}

/// The known key within two edits of `key` (case aside), if any.
fn closest(key: &str, global: bool) -> Option<&'static str> {
    let key = key.to_ascii_lowercase();
    let container: &[&'static str] = if global { &["containerName"] } else { &[] };
    ENTRY_KEYS
        .iter()
        .chain(container)
        .map(|k| (edits(&key, &k.to_ascii_lowercase()), *k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance of two short strings (keys: a few dozen characters at most).
fn edits(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().take(64).collect(), b.chars().collect());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The entries of `global` that apply to `bucket`, in manifest order.
pub fn entries_for(global: &[GlobalEntry], bucket: &str) -> Vec<Entry> {
    global
        .iter()
        .filter(|g| g.container_name == bucket)
        .map(|g| g.entry.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_examples_parse() {
        let bucket =
            parse_bucket_manifest(include_bytes!("../../tests/data/openmetadata.json")).unwrap();
        assert_eq!(bucket.len(), 9);
        assert_eq!(bucket[4].depth, 2);
        assert_eq!(bucket[8].unstructured_formats, Some(vec!["*".to_string()]));
        let glob = parse_bucket_manifest(include_bytes!("../../tests/data/openmetadata-glob.json"))
            .unwrap();
        assert_eq!(glob[0].exclude_paths.as_ref().unwrap().len(), 4);
        let global = parse_global_manifest(include_bytes!(
            "../../tests/data/openmetadata_storage_manifest.json"
        ))
        .unwrap();
        assert_eq!(entries_for(&global, "collate-demo-storage").len(), 3);
        assert_eq!(entries_for(&global, "analytics-landing").len(), 2);
    }

    #[test]
    fn broken_json_gives_line_and_column() {
        let err = parse_bucket_manifest(b"{\n  \"entries\": [\n    {\"dataPath\": \"a\",}\n  ]\n}")
            .unwrap_err();
        match err {
            ManifestError::Json { line, .. } => assert_eq!(line, 3),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wrong_field_is_named() {
        let err = parse_bucket_manifest(
            br#"{"entries": [{"dataPath": "a"}, {"structureFormat": "csv"}]}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("entries[1]"), "{err}");
        assert!(err.to_string().contains("dataPath"), "{err}");
        let err = parse_bucket_manifest(
            br#"{"entries": [{"dataPath": "a", "partitionColumns": [{"name": "x", "dataType": "string"}]}]}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("entries[0].partitionColumns[0].dataType"),
            "{err}"
        );
    }

    #[test]
    fn unknown_top_level_key_is_rejected_but_entry_keys_are_ignored() {
        assert!(parse_bucket_manifest(br#"{"entries": [], "extra": 1}"#).is_err());
        let e =
            parse_bucket_manifest(br#"{"entries": [{"dataPath": "a", "whatever": 1}]}"#).unwrap();
        assert_eq!(e[0].data_path, "a");
    }

    #[test]
    fn global_entries_need_a_container_name() {
        let err = parse_global_manifest(br#"{"entries": [{"dataPath": "a"}]}"#).unwrap_err();
        assert!(err.to_string().contains("containerName"), "{err}");
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let e =
            parse_bucket_manifest(b"\xef\xbb\xbf{\"entries\": [{\"dataPath\": \"a\"}]}").unwrap();
        assert_eq!(e[0].data_path, "a");
    }

    #[test]
    fn fuzz_manifest() {
        // Deep nesting is the classic parser crash: serde_json stops at 128 levels.
        let deep = format!(
            "{{\"entries\": {}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        crate::fuzz::run("manifest", vec![deep.into_bytes()], |b| {
            let _ = parse_bucket_manifest(b);
            if let Ok(g) = parse_global_manifest(b) {
                let _ = entries_for(&g, "a");
            }
        });
    }

    #[test]
    fn unknown_entry_keys_are_named_with_the_key_they_resemble() {
        let text = br#"{"entries": [{"dataPath": "a", "structurFormat": "csv"}, {"dataPath": "b", "whatever": 1, "containerName": "x"}]}"#;
        assert_eq!(
            unknown_keys(text, false),
            vec![
                "entries[0] (dataPath `a`): unknown key `structurFormat` ignored; did you mean `structureFormat`?",
                "entries[1] (dataPath `b`): unknown key `whatever` ignored",
                "entries[1] (dataPath `b`): unknown key `containerName` ignored (it belongs in a global manifest)",
            ]
        );
        assert_eq!(
            unknown_keys(text, true),
            vec![
                "entries[0] (dataPath `a`): unknown key `structurFormat` ignored; did you mean `structureFormat`?",
                "entries[1] (dataPath `b`): unknown key `whatever` ignored",
            ]
        );
        assert!(unknown_keys(b"not json", false).is_empty());
    }
}
