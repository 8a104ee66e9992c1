//! A Delta `schemaString` (the protocol's "Schema Serialization Format") as columns.
//!
//! The document is parsed by serde_json (128 levels at most) and turned into Arrow types
//! within a [`Budget`]: no more than one node and one level past the tree limits are built,
//! then [`types::columns`] maps them through the one type table.

use crate::entity::Column;
use crate::infer::bound::{Budget, TreeLimits};
use crate::infer::types;
use crate::table::Problem;
use arrow_schema::{DataType, Field, Fields, TimeUnit};
use serde_json::Value;
use std::sync::Arc;

/// The columns of a `schemaString`, the partition columns first (in `partitionColumns`
/// order), within `tree` plus one node and one level.
pub fn columns(
    schema_string: &str,
    partition_columns: &[String],
    tree: TreeLimits,
) -> Result<Vec<Column>, Problem> {
    let doc: Value = serde_json::from_str(schema_string)?;
    if doc.get("type").and_then(Value::as_str) != Some("struct") {
        return Err(Problem::Format("schemaString is not a struct type".into()));
    }
    let mut budget = tree.budget();
    let mut fields = struct_fields(&doc, 1, &mut budget)?;
    // Partition columns first, as Hive-style partition columns are placed elsewhere.
    let mut first = Vec::with_capacity(partition_columns.len());
    for p in partition_columns {
        match fields.iter().position(|f| f.name() == p) {
            Some(i) => first.push(fields.remove(i)),
            // A schema cut by the budget may lack it; a complete one must have it.
            None if budget.exhausted() => {}
            None => {
                return Err(Problem::Format(format!(
                    "partition column `{p}` is not in the schema"
                )))
            }
        }
    }
    first.extend(fields);
    let fields = Fields::from(first);
    Ok(types::columns(fields.iter(), tree))
}

/// The fields of a struct type at `depth` (top level is 1), while the budget lasts.
fn struct_fields(v: &Value, depth: usize, budget: &mut Budget) -> Result<Vec<Field>, Problem> {
    let mut out = Vec::new();
    for field in crate::table::struct_fields(v)? {
        if !budget.take() {
            break;
        }
        let (f, name, t) = field?;
        let nullable = f.get("nullable").and_then(Value::as_bool).unwrap_or(true);
        out.push(Field::new(name, data_type(t, depth, budget)?, nullable));
    }
    Ok(out)
}

/// The Arrow type of a Delta type whose field is at `depth`. Children are built only while
/// the budget allows the next level; past it a nested type is left empty (the level is
/// cut anyway), so recursion is bounded by the limits, not by the document.
fn data_type(t: &Value, depth: usize, budget: &mut Budget) -> Result<DataType, Problem> {
    match t {
        Value::String(s) => primitive(s),
        Value::Object(o) => match o.get("type").and_then(Value::as_str) {
            Some("struct") => {
                let fields = if budget.descend(depth) {
                    struct_fields(t, depth + 1, budget)?
                } else {
                    vec![]
                };
                Ok(DataType::Struct(Fields::from(fields)))
            }
            Some("array") => {
                let element = o
                    .get("elementType")
                    .ok_or_else(|| Problem::Format("an array type without `elementType`".into()))?;
                let inner = if budget.descend(depth) {
                    data_type(element, depth + 1, budget)?
                } else {
                    DataType::Null
                };
                let nullable = o
                    .get("containsNull")
                    .and_then(Value::as_bool)
                    .unwrap_or(true);
                Ok(DataType::List(Arc::new(Field::new(
                    "element", inner, nullable,
                ))))
            }
            Some("map") => {
                let (k, v) = match (o.get("keyType"), o.get("valueType")) {
                    (Some(k), Some(v)) => (k, v),
                    _ => {
                        return Err(Problem::Format(
                            "a map type without `keyType` or `valueType`".into(),
                        ))
                    }
                };
                let (kt, vt) = if budget.descend(depth) {
                    (
                        data_type(k, depth + 1, budget)?,
                        data_type(v, depth + 1, budget)?,
                    )
                } else {
                    (DataType::Null, DataType::Null)
                };
                let nullable = o
                    .get("valueContainsNull")
                    .and_then(Value::as_bool)
                    .unwrap_or(true);
                let entries = Fields::from(vec![
                    Field::new("key", kt, false),
                    Field::new("value", vt, nullable),
                ]);
                Ok(DataType::Map(
                    Arc::new(Field::new("key_value", DataType::Struct(entries), false)),
                    false,
                ))
            }
            other => Err(Problem::Format(format!(
                "unknown Delta type `{}`",
                other.unwrap_or("(none)")
            ))),
        },
        other => Err(Problem::Format(format!(
            "a type that is neither a name nor an object: {}",
            short(other)
        ))),
    }
}

/// A primitive Delta type.
fn primitive(s: &str) -> Result<DataType, Problem> {
    Ok(match s {
        "string" => DataType::Utf8,
        "long" => DataType::Int64,
        "integer" => DataType::Int32,
        "short" => DataType::Int16,
        "byte" => DataType::Int8,
        "float" => DataType::Float32,
        "double" => DataType::Float64,
        "boolean" => DataType::Boolean,
        "binary" => DataType::Binary,
        "date" => DataType::Date32,
        // Delta timestamps are instants (stored as UTC microseconds); `_ntz` ones are not.
        "timestamp" => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        "timestamp_ntz" => DataType::Timestamp(TimeUnit::Microsecond, None),
        "void" => DataType::Null,
        // Stored as binary (its metadata and value); no richer type exists to map it to.
        "variant" => DataType::Binary,
        _ => match decimal(s) {
            Some((p, sc)) => DataType::Decimal128(p, sc),
            None => {
                return Err(Problem::Format(format!(
                    "unknown Delta type `{}`",
                    short_str(s)
                )))
            }
        },
    })
}

/// `decimal(p,s)` with 1 ≤ p ≤ 38 and 0 ≤ s ≤ p.
pub(crate) fn decimal(s: &str) -> Option<(u8, i8)> {
    let inner = s.strip_prefix("decimal(")?.strip_suffix(')')?;
    let (p, sc) = inner.split_once(',')?;
    let p: u8 = p.trim().parse().ok()?;
    let sc: i8 = sc.trim().parse().ok()?;
    ((1..=38).contains(&p) && sc >= 0 && sc as u8 <= p).then_some((p, sc))
}

/// A value shown in a message, cut short.
fn short(v: &Value) -> String {
    short_str(&v.to_string()).to_string()
}

fn short_str(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::bound;

    fn kinds(cols: &[Column]) -> Vec<(String, String, Option<String>)> {
        cols.iter()
            .map(|c| {
                (
                    c.name.clone(),
                    c.data_type.clone(),
                    c.data_type_display.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn every_delta_type_maps() {
        let schema = r#"{"type":"struct","fields":[
            {"name":"s","type":"string","nullable":true,"metadata":{}},
            {"name":"l","type":"long","nullable":true,"metadata":{}},
            {"name":"i","type":"integer","nullable":true,"metadata":{}},
            {"name":"sh","type":"short","nullable":true,"metadata":{}},
            {"name":"b","type":"byte","nullable":true,"metadata":{}},
            {"name":"f","type":"float","nullable":true,"metadata":{}},
            {"name":"d","type":"double","nullable":true,"metadata":{}},
            {"name":"bo","type":"boolean","nullable":true,"metadata":{}},
            {"name":"bi","type":"binary","nullable":true,"metadata":{}},
            {"name":"da","type":"date","nullable":true,"metadata":{}},
            {"name":"ts","type":"timestamp","nullable":true,"metadata":{}},
            {"name":"tn","type":"timestamp_ntz","nullable":true,"metadata":{}},
            {"name":"de","type":"decimal(10, 2)","nullable":true,"metadata":{}}
        ]}"#;
        let cols = columns(schema, &[], TreeLimits::default()).unwrap();
        let got: Vec<(String, String)> = cols
            .iter()
            .map(|c| (c.name.clone(), c.data_type.clone()))
            .collect();
        let want: Vec<(String, String)> = [
            ("s", "STRING"),
            ("l", "INT"),
            ("i", "INT"),
            ("sh", "INT"),
            ("b", "INT"),
            ("f", "FLOAT"),
            ("d", "FLOAT"),
            ("bo", "BOOLEAN"),
            ("bi", "BINARY"),
            ("da", "DATE"),
            ("ts", "DATETIME"),
            ("tn", "DATETIME"),
            ("de", "DECIMAL"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(got, want);
        assert_eq!((cols[12].precision, cols[12].scale), (Some(10), Some(2)));
    }

    #[test]
    fn nested_types_and_partition_columns_first() {
        let schema = r#"{"type":"struct","fields":[
            {"name":"id","type":"long","nullable":true,"metadata":{}},
            {"name":"tags","type":{"type":"array","elementType":"string","containsNull":true},"nullable":true,"metadata":{}},
            {"name":"attrs","type":{"type":"map","keyType":"string","valueType":"long","valueContainsNull":true},"nullable":true,"metadata":{}},
            {"name":"p","type":{"type":"struct","fields":[{"name":"x","type":"double","nullable":true,"metadata":{}}]},"nullable":true,"metadata":{}},
            {"name":"region","type":"string","nullable":true,"metadata":{}}
        ]}"#;
        let cols = columns(schema, &["region".into()], TreeLimits::default()).unwrap();
        assert_eq!(
            kinds(&cols),
            vec![
                ("region".into(), "STRING".into(), Some("string".into())),
                ("id".into(), "INT".into(), Some("int64".into())),
                (
                    "tags".into(),
                    "ARRAY".into(),
                    Some("list<element: string>".into())
                ),
                (
                    "attrs".into(),
                    "MAP".into(),
                    Some("map<string, int64>".into())
                ),
                (
                    "p".into(),
                    "STRUCT".into(),
                    Some("struct<x: double>".into())
                ),
            ]
        );
        assert_eq!(cols[2].array_data_type.as_deref(), Some("STRING"));
        assert_eq!(cols[4].children.as_ref().map(Vec::len), Some(1));
    }

    #[test]
    fn bad_schemas_are_refused_with_a_reason() {
        for (schema, why) in [
            ("{", "invalid JSON"),
            (r#"{"type":"array"}"#, "not a struct"),
            (
                r#"{"type":"struct","fields":[{"name":"a","type":"uint128"}]}"#,
                "unknown Delta type `uint128`",
            ),
            (
                r#"{"type":"struct","fields":[{"name":"a","type":"decimal(99,1)"}]}"#,
                "unknown Delta type",
            ),
            (
                r#"{"type":"struct","fields":[{"type":"long"}]}"#,
                "without a `name`",
            ),
        ] {
            let e = columns(schema, &[], TreeLimits::default())
                .unwrap_err()
                .to_string();
            assert!(e.contains(why), "{schema}: {e}");
        }
        let e = columns(
            r#"{"type":"struct","fields":[]}"#,
            &["r".into()],
            TreeLimits::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("partition column `r`"), "{e}");
    }

    #[test]
    fn a_deep_or_wide_schema_is_built_within_the_limits() {
        let limits = TreeLimits {
            max_depth: 4,
            max_nodes: 50,
        };
        // 40 nested structs: as deep as serde_json allows for this shape.
        let mut t = r#""long""#.to_string();
        for _ in 0..40 {
            t = format!(r#"{{"type":"struct","fields":[{{"name":"s","type":{t}}}]}}"#);
        }
        let schema = format!(r#"{{"type":"struct","fields":[{{"name":"top","type":{t}}}]}}"#);
        let mut cols = columns(&schema, &[], limits).unwrap();
        let cut = bound::cut(&mut cols, limits).unwrap();
        assert!(cut.too_deep > 0);
        let wide: Vec<String> = (0..1000)
            .map(|i| format!(r#"{{"name":"c{i}","type":"long"}}"#))
            .collect();
        let schema = format!(r#"{{"type":"struct","fields":[{}]}}"#, wide.join(","));
        let cols = columns(&schema, &[], limits).unwrap();
        assert!(cols.len() <= 51, "{}", cols.len());
    }
}
