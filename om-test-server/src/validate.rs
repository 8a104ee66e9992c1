//! The contract checks: which keys each create request may carry, which are required, and
//! the enums and name rules the real server enforces (reference §8.3, §8.4). Pure functions
//! over JSON; every error says which field broke which rule.

use serde_json::{Map, Value};

/// `CreateStorageServiceRequest` fields.
pub const SERVICE_KEYS: &[&str] = &[
    "name",
    "displayName",
    "description",
    "serviceType",
    "connection",
    "tags",
    "style",
    "owners",
    "dataProducts",
    "domains",
    "ingestionRunner",
];

/// `CreateContainerRequest` fields.
pub const CONTAINER_KEYS: &[&str] = &[
    "name",
    "displayName",
    "description",
    "service",
    "parent",
    "dataModel",
    "prefix",
    "numberOfObjects",
    "size",
    "fileFormats",
    "owners",
    "tags",
    "extension",
    "sourceUrl",
    "fullPath",
    "domains",
    "dataProducts",
    "lifeCycle",
    "sourceHash",
];

/// `EntityReference` fields.
pub const REFERENCE_KEYS: &[&str] = &[
    "id",
    "type",
    "name",
    "fullyQualifiedName",
    "description",
    "displayName",
    "deleted",
    "inherited",
    "href",
];

/// `ContainerDataModel` fields.
pub const DATA_MODEL_KEYS: &[&str] = &["isPartitioned", "columns"];

/// `Column` fields.
pub const COLUMN_KEYS: &[&str] = &[
    "name",
    "displayName",
    "dataType",
    "arrayDataType",
    "dataLength",
    "precision",
    "scale",
    "dataTypeDisplay",
    "description",
    "fullyQualifiedName",
    "tags",
    "constraint",
    "ordinalPosition",
    "jsonSchema",
    "children",
    "profile",
    "customMetrics",
    "extension",
];

/// `TagLabel` fields.
pub const TAG_LABEL_KEYS: &[&str] = &[
    "tagFQN",
    "source",
    "labelType",
    "state",
    "name",
    "displayName",
    "description",
    "style",
    "href",
    "reason",
    "appliedAt",
    "appliedBy",
    "metadata",
];

/// `CreateClassification` fields.
pub const CLASSIFICATION_KEYS: &[&str] = &[
    "name",
    "displayName",
    "description",
    "provider",
    "mutuallyExclusive",
    "owners",
    "domains",
    "reviewers",
];

/// `CreateTag` fields.
pub const TAG_KEYS: &[&str] = &[
    "classification",
    "name",
    "displayName",
    "description",
    "parent",
    "style",
    "associatedTags",
    "provider",
    "mutuallyExclusive",
    "owners",
    "domains",
    "reviewers",
];

/// `BulkDeleteStaleRequest` fields.
pub const DELETE_STALE_KEYS: &[&str] = &[
    "scopeFqn",
    "scopeEntityType",
    "seenFqns",
    "dryRun",
    "hardDelete",
    "recursive",
];

/// `PipelineStatus` fields.
pub const PIPELINE_STATUS_KEYS: &[&str] = &[
    "runId",
    "pipelineState",
    "startDate",
    "timestamp",
    "endDate",
    "status",
    "config",
    "metadata",
];

/// `CreateIngestionPipeline` fields.
pub const PIPELINE_KEYS: &[&str] = &[
    "name",
    "displayName",
    "description",
    "pipelineType",
    "sourceConfig",
    "airflowConfig",
    "loggerLevel",
    "service",
    "owners",
    "domains",
    "provider",
    "raiseOnError",
    "enableStreamableLogs",
    "processingEngine",
    "ingestionRunner",
];

/// The server's `FileFormat` values.
pub const FILE_FORMATS: &[&str] = &[
    "zip", "gz", "zstd", "csv", "tsv", "json", "parquet", "avro", "MF4",
];

/// The pipeline states a status may carry.
pub const PIPELINE_STATES: &[&str] = &["queued", "success", "failed", "running", "partialSuccess"];

/// The `DataType` enum of `entity/data/table.json`.
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

/// The body as an object, or an error.
pub fn object<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, String> {
    v.as_object()
        .ok_or_else(|| format!("{what}: expected a JSON object"))
}

/// Rejects keys outside `allowed` (the server's `additionalProperties: false`).
pub fn known_keys(m: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<(), String> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "{what}: Unrecognized field \"{k}\" (not one of the known properties)"
        )),
        None => Ok(()),
    }
}

/// A required string field.
pub fn required_str<'a>(
    m: &'a Map<String, Value>,
    key: &str,
    what: &str,
) -> Result<&'a str, String> {
    match m.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(format!("{what}.{key}: expected a string")),
        None => Err(format!("{what}.{key}: must not be null")),
    }
}

/// An optional field of the given JSON kind.
pub fn optional<'a>(
    m: &'a Map<String, Value>,
    key: &str,
    what: &str,
    check: fn(&Value) -> bool,
    kind: &str,
) -> Result<Option<&'a Value>, String> {
    match m.get(key) {
        None => Ok(None),
        Some(v) if check(v) => Ok(Some(v)),
        Some(_) => Err(format!("{what}.{key}: expected {kind}")),
    }
}

/// `EntityName`: 1–256 characters, no `::`, no `"`.
pub fn entity_name(name: &str, what: &str) -> Result<(), String> {
    let n = name.chars().count();
    if n == 0 || n > 256 {
        return Err(format!("{what}.name: size must be between 1 and 256"));
    }
    if name.contains("::") || name.contains('"') {
        return Err(format!(
            "{what}.name: must match \"^((?!::).)*$\" and must not contain '\"'"
        ));
    }
    Ok(())
}

/// An `EntityReference` (`id` and `type` required, no other keys).
pub fn reference<'a>(v: &'a Value, what: &str) -> Result<(&'a str, &'a str), String> {
    let m = object(v, what)?;
    known_keys(m, REFERENCE_KEYS, what)?;
    Ok((required_str(m, "id", what)?, required_str(m, "type", what)?))
}

/// `dataModel`: `columns` required, each column valid.
pub fn data_model(v: &Value) -> Result<(), String> {
    let what = "dataModel";
    let m = object(v, what)?;
    known_keys(m, DATA_MODEL_KEYS, what)?;
    optional(m, "isPartitioned", what, Value::is_boolean, "a boolean")?;
    match m.get("columns") {
        Some(Value::Array(cols)) => cols
            .iter()
            .enumerate()
            .try_for_each(|(i, c)| column(c, &format!("dataModel.columns[{i}]"))),
        Some(_) => Err("dataModel.columns: expected an array".into()),
        None => Err("dataModel.columns: must not be null".into()),
    }
}

fn column(v: &Value, what: &str) -> Result<(), String> {
    let m = object(v, what)?;
    known_keys(m, COLUMN_KEYS, what)?;
    let name = required_str(m, "name", what)?;
    if name.is_empty() || name.chars().count() > 256 {
        return Err(format!("{what}.name: size must be between 1 and 256"));
    }
    let dt = required_str(m, "dataType", what)?;
    if !DATA_TYPES.contains(&dt) {
        return Err(format!("{what}.dataType: `{dt}` is not a DataType value"));
    }
    if let Some(a) = optional(m, "arrayDataType", what, Value::is_string, "a string")? {
        let a = a.as_str().unwrap_or_default();
        if !DATA_TYPES.contains(&a) {
            return Err(format!(
                "{what}.arrayDataType: `{a}` is not a DataType value"
            ));
        }
    }
    optional(m, "dataLength", what, Value::is_number, "a number")?;
    if let Some(children) = optional(m, "children", what, Value::is_array, "an array")? {
        for (i, c) in children.as_array().into_iter().flatten().enumerate() {
            column(c, &format!("{what}.children[{i}]"))?;
        }
    }
    Ok(())
}

/// `fileFormats`: only the server's values.
pub fn file_formats(v: &Value) -> Result<(), String> {
    let arr = v
        .as_array()
        .ok_or_else(|| "fileFormats: expected an array".to_string())?;
    for f in arr {
        match f.as_str() {
            Some(s) if FILE_FORMATS.contains(&s) => {}
            _ => return Err(format!("fileFormats: `{f}` is not a FileFormat value")),
        }
    }
    Ok(())
}

/// `tags`: labels with a `tagFQN`; returns the FQNs.
pub fn tag_labels(v: &Value) -> Result<Vec<String>, String> {
    let arr = v
        .as_array()
        .ok_or_else(|| "tags: expected an array".to_string())?;
    arr.iter()
        .enumerate()
        .map(|(i, t)| {
            let what = format!("tags[{i}]");
            let m = object(t, &what)?;
            known_keys(m, TAG_LABEL_KEYS, &what)?;
            for k in ["source", "labelType", "state"] {
                required_str(m, k, &what)?;
            }
            Ok(required_str(m, "tagFQN", &what)?.to_string())
        })
        .collect()
}

/// Quotes a name for an FQN, as the server does.
pub fn quote(name: &str) -> String {
    if name.contains('.') {
        format!("\"{name}\"")
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_follow_entity_name_rules() {
        assert!(entity_name("ok/name.csv", "x").is_ok());
        assert!(entity_name("", "x").is_err());
        assert!(entity_name(&"a".repeat(257), "x").is_err());
        assert!(entity_name("a::b", "x").is_err());
        assert!(entity_name("a\"b", "x").is_err());
    }

    #[test]
    fn columns_must_have_known_types() {
        assert!(data_model(
            &json!({"isPartitioned": false, "columns": [{"name": "a", "dataType": "INT"}]})
        )
        .is_ok());
        assert!(data_model(
            &json!({"isPartitioned": false, "columns": [{"name": "a", "dataType": "INTEGER"}]})
        )
        .is_err());
        assert!(data_model(&json!({"isPartitioned": false})).is_err());
        assert!(
            data_model(&json!({"columns": [{"name": "a", "dataType": "INT", "ordinal": 1}]}))
                .is_err()
        );
    }

    #[test]
    fn file_formats_are_the_server_values() {
        assert!(file_formats(&json!(["csv", "gz"])).is_ok());
        assert!(file_formats(&json!(["jsonl"])).is_err());
    }
}
