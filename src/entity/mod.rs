//! The request bodies s3meta sends (or writes): `CreateStorageServiceRequest` and
//! `CreateContainerRequest` (reference §6, §8.3, §8.4), FQN quoting and `sourceUrl`/`fullPath`.
//! The `fileFormats` values come from [`crate::format`].
//!
//! Nulls are omitted; empty lists and `false` are written. This module knows nothing of S3
//! clients or sinks: it turns plain data into JSON.

mod container;
mod service;
mod url;

pub use container::Bucket;
pub use service::service_request;
pub use url::{full_path, Console};

use md5::{Digest, Md5};
use serde::Serialize;

/// The longest entity name the server accepts.
pub const MAX_NAME_LEN: usize = 256;

/// Every value of OpenMetadata 2.0.7's `DataType` enum.
pub const DATA_TYPES: &[&str] = &[
    "NUMBER",
    "TINYINT",
    "SMALLINT",
    "INT",
    "BIGINT",
    "BYTEINT",
    "BYTES",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
    "NUMERIC",
    "TIMESTAMP",
    "TIMESTAMPZ",
    "TIME",
    "DATE",
    "DATETIME",
    "INTERVAL",
    "STRING",
    "MEDIUMTEXT",
    "TEXT",
    "CHAR",
    "LONG",
    "VARCHAR",
    "BOOLEAN",
    "BINARY",
    "VARBINARY",
    "ARRAY",
    "BLOB",
    "LONGBLOB",
    "MEDIUMBLOB",
    "MAP",
    "STRUCT",
    "UNION",
    "SET",
    "GEOGRAPHY",
    "ENUM",
    "JSON",
    "UUID",
    "VARIANT",
    "GEOMETRY",
    "BYTEA",
    "AGGREGATEFUNCTION",
    "ERROR",
    "FIXED",
    "RECORD",
    "NULL",
    "SUPER",
    "HLLSKETCH",
    "PG_LSN",
    "PG_SNAPSHOT",
    "TSQUERY",
    "TXID_SNAPSHOT",
    "XML",
    "MACADDR",
    "TSVECTOR",
    "UNKNOWN",
    "CIDR",
    "INET",
    "CLOB",
    "ROWID",
    "LOWCARDINALITY",
    "YEAR",
    "POINT",
    "POLYGON",
    "TUPLE",
    "SPATIAL",
    "TABLE",
    "NTEXT",
    "IMAGE",
    "IPV4",
    "IPV6",
    "DATETIMERANGE",
    "HLL",
    "LARGEINT",
    "QUANTILE_STATE",
    "AGG_STATE",
    "BITMAP",
    "UINT",
    "BIT",
    "MONEY",
    "MEASURE",
    "KPI",
    "HEIRARCHY",
    "HIERARCHYID",
];

/// A table column (`entity/data/table.Column`), as the connector sends it (and as the
/// second-run state file keeps it).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Column {
    /// Source name truncated to 256 characters.
    pub name: String,
    /// The full source name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// An OpenMetadata `DataType` value.
    pub data_type: String,
    /// Item type of an `ARRAY`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub array_data_type: Option<String>,
    /// Length of binary/char types.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_length: Option<i64>,
    /// Decimal precision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision: Option<u32>,
    /// Decimal scale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<u32>,
    /// The source's own spelling of the type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_type_display: Option<String>,
    /// Description (partition columns, JSON Schema).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Nested fields of a `STRUCT`, `JSON` or `ARRAY<STRUCT>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub children: Option<Vec<Column>>,
}

impl Column {
    /// A column of a type, with nothing else set.
    pub fn new(name: &str, data_type: &str) -> Column {
        Column {
            name: name.to_string(),
            display_name: None,
            data_type: data_type.to_string(),
            array_data_type: None,
            data_length: None,
            precision: None,
            scale: None,
            data_type_display: None,
            description: None,
            children: None,
        }
    }
}

/// `dataModel` of a structured container.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataModel {
    /// Whether the data is partitioned.
    pub is_partitioned: bool,
    /// The columns, possibly none.
    pub columns: Vec<Column>,
}

/// An S3 tag (`Key=Value`), which becomes the OpenMetadata tag `Key.Value` in the
/// classification `Key` (reference §6.6).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct S3Tag {
    /// The S3 tag key: the classification's name.
    pub key: String,
    /// The S3 tag value: the tag's name.
    pub value: String,
}

impl S3Tag {
    /// The tag's FQN, `Key.Value`, each part quoted when it contains a `.`.
    pub fn fqn(&self) -> String {
        format!("{}.{}", quote_name(&self.key), quote_name(&self.value))
    }

    /// The label attached to a container.
    pub fn label(&self) -> TagLabel {
        TagLabel {
            tag_fqn: self.fqn(),
            source: "Classification".into(),
            label_type: "Automated".into(),
            state: "Suggested".into(),
        }
    }
}

/// A tag label on a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TagLabel {
    /// `Classification.Tag`.
    #[serde(rename = "tagFQN")]
    pub tag_fqn: String,
    /// Always `Classification`.
    pub source: String,
    /// Always `Automated`.
    pub label_type: String,
    /// Always `Suggested`.
    pub state: String,
}

/// One container to publish: everything of its request but the parent's server id.
#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    /// Entity name (may contain `/`).
    pub name: String,
    /// Fully qualified name: parent FQN + `.` + quoted name.
    pub fqn: String,
    /// FQN of the parent container; `None` for a bucket.
    pub parent_fqn: Option<String>,
    /// Columns, for structured containers.
    pub data_model: Option<DataModel>,
    /// `/`-path of the container inside its bucket.
    pub prefix: String,
    /// Object count (buckets only).
    pub number_of_objects: Option<f64>,
    /// Size in bytes.
    pub size: Option<f64>,
    /// `FileFormat` values.
    pub file_formats: Vec<&'static str>,
    /// S3 tags (`includeTags`), sent as tag labels.
    pub tags: Vec<S3Tag>,
    /// Console URL.
    pub source_url: String,
    /// `s3://bucket/path`.
    pub full_path: String,
    /// A description line: set for open tables only (their format and version).
    pub description: Option<String>,
}

/// How a request names its parent: by the id a server returned, or (file sink) by FQN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParentRef {
    /// A server id.
    Id(String),
    /// A fully qualified name (no server exists).
    Fqn(String),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ParentBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(rename = "type")]
    entity_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    fqn: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContainerBody<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    service: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<ParentBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_model: Option<&'a DataModel>,
    prefix: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    number_of_objects: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<f64>,
    file_formats: &'a [&'static str],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<TagLabel>,
    source_url: &'a str,
    full_path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_hash: Option<&'a str>,
}

impl Container {
    fn body<'a>(
        &'a self,
        service: &'a str,
        parent: Option<&'a ParentRef>,
        hash: Option<&'a str>,
    ) -> ContainerBody<'a> {
        ContainerBody {
            name: &self.name,
            description: self.description.as_deref(),
            service,
            parent: parent.map(|p| match p {
                ParentRef::Id(id) => ParentBody {
                    id: Some(id),
                    entity_type: "container",
                    fqn: None,
                },
                ParentRef::Fqn(fqn) => ParentBody {
                    id: None,
                    entity_type: "container",
                    fqn: Some(fqn),
                },
            }),
            data_model: self.data_model.as_ref(),
            prefix: &self.prefix,
            number_of_objects: self.number_of_objects,
            size: self.size,
            file_formats: &self.file_formats,
            tags: self.tags.iter().map(S3Tag::label).collect(),
            source_url: &self.source_url,
            full_path: &self.full_path,
            source_hash: hash,
        }
    }

    /// A stable hash of the request (parent by FQN, so it does not depend on server ids):
    /// MD5 hex, 32 characters. The server skips an update whose hash it already has.
    ///
    /// DIFF(spec §8.4): the reference hashes a Python-specific dump; ours differs, which
    /// costs one extra update per container after switching from the Python connector.
    pub fn source_hash(&self, service: &str) -> String {
        let parent = self.parent_fqn.clone().map(ParentRef::Fqn);
        let body = self.body(service, parent.as_ref(), None);
        let json = serde_json::to_vec(&body).unwrap_or_default();
        let digest = Md5::digest(&json);
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The `CreateContainerRequest` body, with `sourceHash`.
    pub fn request(&self, service: &str, parent: Option<&ParentRef>) -> serde_json::Value {
        let hash = self.source_hash(service);
        serde_json::to_value(self.body(service, parent, Some(&hash))).unwrap_or_default()
    }
}

/// Quotes an entity name for use in an FQN: wrapped in `"` when it contains a `.`.
pub fn quote_name(name: &str) -> String {
    if name.contains('.') {
        format!("\"{name}\"")
    } else {
        name.to_string()
    }
}

/// The FQN of a child named `name` under `parent_fqn`.
pub fn child_fqn(parent_fqn: &str, name: &str) -> String {
    format!("{parent_fqn}.{}", quote_name(name))
}

/// Why a name cannot be an OpenMetadata entity name.
pub fn invalid_name(name: &str) -> Option<String> {
    let n = name.chars().count();
    if n == 0 {
        Some("the name is empty".into())
    } else if n > MAX_NAME_LEN {
        Some(format!(
            "the name has {n} characters; the server accepts at most {MAX_NAME_LEN}"
        ))
    } else if name.contains("::") {
        Some("the name contains `::`".into())
    } else if name.contains('"') {
        Some("the name contains `\"`, which cannot be quoted in an FQN".into())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_dots_are_quoted() {
        assert_eq!(
            child_fqn("svc.bucket", "docs/solution.pdf"),
            "svc.bucket.\"docs/solution.pdf\""
        );
        assert_eq!(child_fqn("svc", "lake"), "svc.lake");
        assert_eq!(child_fqn("svc", "my.bucket"), "svc.\"my.bucket\"");
    }

    #[test]
    fn invalid_names_are_explained() {
        assert!(invalid_name(&"x".repeat(257)).unwrap().contains("257"));
        assert!(invalid_name("a::b").is_some());
        assert!(invalid_name("a\"b").is_some());
        assert!(invalid_name("ok/name.csv").is_none());
    }

    #[test]
    fn request_omits_nulls_and_keeps_empty_lists() {
        let c = Container {
            name: "b".into(),
            fqn: "svc.b".into(),
            parent_fqn: None,
            data_model: None,
            prefix: "/".into(),
            number_of_objects: Some(0.0),
            size: Some(0.0),
            file_formats: vec![],
            tags: vec![],
            source_url: "u".into(),
            full_path: "s3://b".into(),
            description: None,
        };
        let r = c.request("svc", None);
        assert_eq!(r["fileFormats"], serde_json::json!([]));
        assert!(r.get("parent").is_none());
        assert!(r.get("dataModel").is_none());
        assert_eq!(r["sourceHash"].as_str().unwrap().len(), 32);
        assert_eq!(r["numberOfObjects"], serde_json::json!(0.0));
    }
}
