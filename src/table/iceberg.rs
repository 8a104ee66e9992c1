//! Apache Iceberg: the current schema and default partition spec of a table's newest
//! metadata file (`metadata/*.metadata.json`).
//!
//! The newest metadata file is the one with the highest version: `vN.metadata.json`
//! (Hadoop tables) or `NNNNN-<uuid>.metadata.json` (catalog tables). Without a listing, a
//! Hadoop table's `version-hint.text` names a version, and the versions after it are tried
//! until one is missing, as Iceberg's `HadoopTableOperations` does (a hint may be stale);
//! otherwise `metadata/` is listed. Exactly one metadata file is read, however many
//! snapshots the table has; it is refused by its size when over `maxDocumentBytes`.
//!
//! Columns come from the `current-schema-id` schema (`schema` in format version 1); the
//! default partition spec's fields are recorded on their source columns' descriptions
//! (`Iceberg partition field ts_day: day(ts)`) and in the table's description line.

use super::{listed_size, too_deep, Error, Io, Problem, Table};
use crate::entity::Column;
use crate::format::TableFormat;
use crate::infer::bound::{Budget, TreeLimits};
use crate::infer::types;
use crate::store::ObjectMeta;
use arrow_schema::{DataType, Field, Fields, TimeUnit};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// Versions tried past a `version-hint.text`, at most.
const MAX_HINT_PROBES: u64 = 1_000;

/// The version of a metadata file name: `v12.metadata.json` → 12,
/// `00012-<uuid>.metadata.json` → 12.
fn metadata_version(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(".metadata.json")?;
    if let Some(n) = stem.strip_prefix('v') {
        return n.parse().ok();
    }
    let (n, _uuid) = stem.split_once('-')?;
    (n.len() >= 5 && n.bytes().all(|b| b.is_ascii_digit()))
        .then(|| n.parse().ok())
        .flatten()
}

/// Reads the Iceberg table at `root`.
pub(super) async fn read(
    io: &Io<'_>,
    root: &str,
    log: Option<&[ObjectMeta]>,
) -> Result<Table, Error> {
    let dir = format!("{root}/metadata/");
    let (key, size) = match log {
        Some(l) => newest(l, &dir).ok_or_else(|| no_metadata(io, &dir))?,
        None => match hinted(io, &dir).await? {
            Some(k) => (k, None),
            None => {
                let l = io.list(&dir).await?;
                newest(&l, &dir).ok_or_else(|| no_metadata(io, &dir))?
            }
        },
    };
    let size = size.or_else(|| listed_size(log, &key));
    let bytes = io.required(&key, size).await?;
    let tree = io.limits.tree;
    let limits = *io.limits;
    io.cpu(&key, move || {
        let doc: Value = serde_json::from_slice(&bytes)?;
        from_metadata(&doc, tree, &limits)
    })
    .await?
    .map_err(|e| io.invalid(&key, e))
}

fn no_metadata(io: &Io<'_>, dir: &str) -> Error {
    io.invalid(dir, Problem::Missing("no *.metadata.json file".into()))
}

/// The newest metadata file of a listing (highest version, then newest, then last key).
fn newest(listing: &[ObjectMeta], dir: &str) -> Option<(String, Option<u64>)> {
    listing
        .iter()
        .filter_map(|o| {
            let name = o.key.strip_prefix(dir)?;
            (!name.contains('/')).then_some(())?;
            Some((metadata_version(name)?, o))
        })
        .max_by(|(va, a), (vb, b)| {
            va.cmp(vb)
                .then(a.last_modified.cmp(&b.last_modified))
                .then(a.key.cmp(&b.key))
        })
        .map(|(_, o)| (o.key.clone(), Some(o.size)))
}

/// A Hadoop table's current metadata file from `version-hint.text`, reading on past a stale
/// hint; `None` when there is no hint.
async fn hinted(io: &Io<'_>, dir: &str) -> Result<Option<String>, Error> {
    let hint_key = format!("{dir}version-hint.text");
    let Some(bytes) = io.document(&hint_key, None).await? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&bytes);
    let v: u64 = text.trim().parse().map_err(|_| {
        io.invalid(
            &hint_key,
            Problem::Format(format!(
                "not a version number: `{}`",
                text.trim().chars().take(64).collect::<String>()
            )),
        )
    })?;
    let name = |v: u64| format!("{dir}v{v}.metadata.json");
    let mut current = v;
    for next in v + 1..=v.saturating_add(MAX_HINT_PROBES) {
        match io.store.head(io.bucket, &name(next)).await {
            Ok(_) => current = next,
            Err(e) if e.kind == crate::store::ErrorKind::NotFound => break,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Some(name(current)))
}

/// The table a metadata document describes.
pub fn from_metadata(
    doc: &Value,
    tree: TreeLimits,
    limits: &crate::infer::Limits,
) -> Result<Table, Problem> {
    let bad = |m: &str| Problem::Format(m.to_string());
    let format_version = doc
        .get("format-version")
        .and_then(Value::as_u64)
        .unwrap_or(1);
    let schema = match doc.get("current-schema-id").and_then(Value::as_i64) {
        Some(id) => doc
            .get("schemas")
            .and_then(Value::as_array)
            .and_then(|s| {
                s.iter()
                    .find(|s| s.get("schema-id").and_then(Value::as_i64) == Some(id))
            })
            .ok_or_else(|| Problem::Format(format!("no schema with the current-schema-id {id}")))?,
        None => doc
            .get("schema")
            .ok_or_else(|| bad("no current-schema-id and no schema"))?,
    };
    let mut ids = Ids::default();
    let mut budget = tree.budget();
    let fields = struct_fields(schema, 1, "", &mut ids, &mut budget, limits)?;
    let fields = Fields::from(fields);
    let mut columns = types::columns(fields.iter(), tree);
    describe(&mut columns, &fields);

    // The default partition spec.
    let spec_fields = match doc.get("default-spec-id").and_then(Value::as_i64) {
        Some(id) => doc
            .get("partition-specs")
            .and_then(Value::as_array)
            .and_then(|s| {
                s.iter()
                    .find(|s| s.get("spec-id").and_then(Value::as_i64) == Some(id))
            })
            .and_then(|s| s.get("fields"))
            .ok_or_else(|| {
                Problem::Format(format!("no partition spec with the default-spec-id {id}"))
            })?,
        None => doc.get("partition-spec").unwrap_or(&Value::Null),
    };
    let mut parts = vec![];
    for f in spec_fields
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let transform = f
            .get("transform")
            .and_then(Value::as_str)
            .unwrap_or("identity");
        if transform == "void" {
            continue;
        }
        let name = f.get("name").and_then(Value::as_str).unwrap_or("");
        let source = f
            .get("source-id")
            .and_then(Value::as_i64)
            .or_else(|| {
                f.get("source-ids")
                    .and_then(Value::as_array)
                    .and_then(|a| a.first())
                    .and_then(Value::as_i64)
            })
            .ok_or_else(|| bad("a partition field without a source-id"))?;
        let (path, top) = ids.get(source).ok_or_else(|| {
            Problem::Format(format!(
                "partition field `{name}`: no column has field id {source}"
            ))
        })?;
        let spelled = spell(transform, &path);
        if let Some(c) = top.and_then(|i| columns.get_mut(i)) {
            let line = format!("Iceberg partition field {name}: {spelled}");
            c.description = Some(match c.description.take() {
                Some(d) => format!("{d}\n{line}"),
                None => line,
            });
        }
        parts.push(spelled);
    }
    let snapshot = match doc.get("current-snapshot-id").and_then(Value::as_i64) {
        Some(id) if id >= 0 => format!("snapshot {id}"),
        _ => "no snapshot".to_string(),
    };
    let mut description =
        format!("Apache Iceberg table, format version {format_version}, {snapshot}");
    if !parts.is_empty() {
        description.push_str(&format!("; partitioned by {}", parts.join(", ")));
    }
    Ok(Table {
        format: TableFormat::Iceberg,
        columns,
        is_partitioned: !parts.is_empty(),
        description,
    })
}

/// A transform as people write it: `day(ts)`, `bucket(16, id)`, `truncate(4, name)`,
/// `region` for identity.
fn spell(transform: &str, column: &str) -> String {
    if transform == "identity" {
        return column.to_string();
    }
    match transform.split_once('[') {
        Some((name, rest)) => format!("{name}({}, {column})", rest.trim_end_matches(']')),
        None => format!("{transform}({column})"),
    }
}

/// Field ids seen while building the schema: id → (dotted path, index of its top-level
/// column when it is one).
#[derive(Debug, Default)]
struct Ids(HashMap<i64, (String, Option<usize>)>);

impl Ids {
    fn get(&self, id: i64) -> Option<(String, Option<usize>)> {
        self.0.get(&id).cloned()
    }
}

fn struct_fields(
    v: &Value,
    depth: usize,
    parent: &str,
    ids: &mut Ids,
    budget: &mut Budget,
    limits: &crate::infer::Limits,
) -> Result<Vec<Field>, Problem> {
    let mut out = Vec::new();
    for field in super::struct_fields(v)? {
        if !budget.take() {
            break;
        }
        let (f, name, t) = field?;
        let path = if parent.is_empty() {
            name.to_string()
        } else {
            format!("{parent}.{name}")
        };
        if let Some(id) = f.get("id").and_then(Value::as_i64) {
            let top = (depth == 1).then_some(out.len());
            ids.0.insert(id, (path.clone(), top));
        }
        let required = f.get("required").and_then(Value::as_bool).unwrap_or(false);
        let dt = data_type(t, depth, &path, ids, budget, limits)?;
        let mut field = Field::new(name, dt, !required);
        if let Some(doc) = f.get("doc").and_then(Value::as_str) {
            field.set_metadata(HashMap::from([("doc".to_string(), doc.to_string())]));
        }
        out.push(field);
    }
    Ok(out)
}

fn data_type(
    t: &Value,
    depth: usize,
    path: &str,
    ids: &mut Ids,
    budget: &mut Budget,
    limits: &crate::infer::Limits,
) -> Result<DataType, Problem> {
    let nested_ok = budget.descend(depth) && !too_deep(depth + 1, limits);
    match t {
        Value::String(s) => primitive(s),
        Value::Object(o) => match o.get("type").and_then(Value::as_str) {
            Some("struct") => Ok(DataType::Struct(Fields::from(if nested_ok {
                struct_fields(t, depth + 1, path, ids, budget, limits)?
            } else {
                vec![]
            }))),
            Some("list") => {
                let element = o
                    .get("element")
                    .ok_or_else(|| Problem::Format("a list type without `element`".into()))?;
                let inner = if nested_ok {
                    data_type(element, depth + 1, path, ids, budget, limits)?
                } else {
                    DataType::Null
                };
                let required = o
                    .get("element-required")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                Ok(DataType::List(Arc::new(Field::new(
                    "element", inner, !required,
                ))))
            }
            Some("map") => {
                let (k, v) = match (o.get("key"), o.get("value")) {
                    (Some(k), Some(v)) => (k, v),
                    _ => {
                        return Err(Problem::Format(
                            "a map type without `key` or `value`".into(),
                        ))
                    }
                };
                let (kt, vt) = if nested_ok {
                    (
                        data_type(k, depth + 1, path, ids, budget, limits)?,
                        data_type(v, depth + 1, path, ids, budget, limits)?,
                    )
                } else {
                    (DataType::Null, DataType::Null)
                };
                let required = o
                    .get("value-required")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let entries = Fields::from(vec![
                    Field::new("key", kt, false),
                    Field::new("value", vt, !required),
                ]);
                Ok(DataType::Map(
                    Arc::new(Field::new("key_value", DataType::Struct(entries), false)),
                    false,
                ))
            }
            other => Err(Problem::Format(format!(
                "unknown Iceberg type `{}`",
                other
                    .unwrap_or("(none)")
                    .chars()
                    .take(64)
                    .collect::<String>()
            ))),
        },
        _ => Err(Problem::Format(
            "a type that is neither a name nor an object".into(),
        )),
    }
}

/// A primitive Iceberg type.
fn primitive(s: &str) -> Result<DataType, Problem> {
    use DataType as D;
    Ok(match s {
        "boolean" => D::Boolean,
        "int" => D::Int32,
        "long" => D::Int64,
        "float" => D::Float32,
        "double" => D::Float64,
        "date" => D::Date32,
        "time" => D::Time64(TimeUnit::Microsecond),
        "timestamp" => D::Timestamp(TimeUnit::Microsecond, None),
        "timestamptz" => D::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        "timestamp_ns" => D::Timestamp(TimeUnit::Nanosecond, None),
        "timestamptz_ns" => D::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
        "string" => D::Utf8,
        "uuid" => D::FixedSizeBinary(16),
        "binary" => D::Binary,
        "unknown" => D::Null,
        // Stored as binary; no richer type exists to map them to.
        "variant" => D::Binary,
        _ if s.starts_with("geometry") || s.starts_with("geography") => D::Binary,
        _ => {
            if let Some(n) = s.strip_prefix("fixed[").and_then(|r| r.strip_suffix(']')) {
                let n: i32 = n
                    .trim()
                    .parse()
                    .map_err(|_| Problem::Format(format!("bad fixed length in `{s}`")))?;
                D::FixedSizeBinary(n)
            } else if let Some((p, sc)) = super::delta::decimal_type(s) {
                D::Decimal128(p, sc)
            } else {
                return Err(Problem::Format(format!(
                    "unknown Iceberg type `{}`",
                    s.chars().take(64).collect::<String>()
                )));
            }
        }
    })
}

/// Top-level columns get their field's `doc` as description ([`types::columns`] carries
/// none); `bound::cut` shortens a long one.
fn describe(columns: &mut [Column], fields: &Fields) {
    for (c, f) in columns.iter_mut().zip(fields.iter()) {
        if let Some(doc) = f.metadata().get("doc") {
            c.description = Some(doc.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::Limits;

    #[test]
    fn metadata_versions_of_both_namings() {
        assert_eq!(metadata_version("v12.metadata.json"), Some(12));
        assert_eq!(
            metadata_version("00012-3fc396dd-cc84-4ab9-a7b2-9654b8a134c1.metadata.json"),
            Some(12)
        );
        assert_eq!(metadata_version("snap-1.avro"), None);
        assert_eq!(metadata_version("x-y.metadata.json"), None);
    }

    #[test]
    fn transforms_are_spelled_as_people_write_them() {
        assert_eq!(spell("day", "ts"), "day(ts)");
        assert_eq!(spell("bucket[16]", "id"), "bucket(16, id)");
        assert_eq!(spell("truncate[4]", "name"), "truncate(4, name)");
        assert_eq!(spell("identity", "region"), "region");
    }

    #[test]
    fn a_v1_document_with_a_nested_partition_source() {
        let doc: Value = serde_json::from_str(
            r#"{"format-version":1,"schema":{"type":"struct","fields":[
                {"id":1,"name":"a","required":true,"type":"uuid"},
                {"id":2,"name":"s","required":false,"type":{"type":"struct","fields":[
                    {"id":3,"name":"t","required":false,"type":"fixed[4]"}]}}]},
              "partition-spec":[{"source-id":3,"field-id":1000,"name":"t_trunc","transform":"truncate[2]"}]}"#,
        )
        .unwrap();
        let t = from_metadata(&doc, TreeLimits::default(), &Limits::default()).unwrap();
        assert_eq!(
            t.description,
            "Apache Iceberg table, format version 1, no snapshot; partitioned by truncate(2, s.t)"
        );
        assert!(t.is_partitioned);
        assert_eq!(t.columns[0].data_type, "BINARY");
        assert_eq!(
            t.columns[1].children.as_ref().unwrap()[0].data_length,
            Some(4)
        );
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::infer::Limits;
    use crate::table::{tree_size, FUZZ_TREE};

    /// A metadata file: its current schema and default spec.
    #[test]
    fn iceberg_metadata() {
        let mut t = r#""long""#.to_string();
        for i in 0..20 {
            t = format!(r#"{{"type":"list","element-id":{i},"element":{t}}}"#);
        }
        let deep = format!(
            r#"{{"format-version":2,"current-schema-id":0,"schemas":[{{"schema-id":0,"type":"struct","fields":[{{"id":1,"name":"d","type":{t}}}]}}]}}"#
        );
        let limits = Limits {
            tree: FUZZ_TREE,
            ..Limits::default()
        };
        crate::fuzz::run("iceberg_metadata", vec![deep.into_bytes()], |b| {
            if let Ok(doc) = serde_json::from_slice::<Value>(b) {
                if let Ok(t) = from_metadata(&doc, FUZZ_TREE, &limits) {
                    let (depth, nodes) = tree_size(&t.columns);
                    assert!(depth <= FUZZ_TREE.max_depth + 1, "{depth}");
                    assert!(nodes <= FUZZ_TREE.max_nodes + 1, "{nodes}");
                }
            }
        });
    }
}
