//! JSON and JSON Lines (reference §5.4, §5.5): lines-vs-document detection, typing of
//! values, JSON Schema and Iceberg/Delta `{"schema": {"fields": …}}` documents.
//!
//! Pure functions over text the caller read with a bound: JSON Lines from a prefix (its
//! last partial line dropped, at most `textSampleRows` records), a document whole when it fits
//! `maxDocumentBytes`, otherwise the items of its top-level array that fit (a larger
//! top-level object is reported, not read).
//!
//! Typing of a record's values: `null` is no type; `true`/`false` BOOLEAN; integers INT;
//! other numbers FLOAT; strings STRING; objects JSON with `children` (merged over every
//! record, keys in first-seen order); arrays ARRAY with `arrayDataType` the widened item type
//! (STRUCT with `children` for objects). Widening: INT with FLOAT is FLOAT, objects merge,
//! arrays merge their items, any other mix is STRING; a field that is only ever null is
//! STRING. `dataTypeDisplay` is the type (`INT`, `JSON`), and `ARRAY<ITEM>` for arrays.
//!
//! DIFF(spec §5.5, §13 #7): the reference types JSON through pandas: string values that
//! look like numbers or dates become INT/DATETIME (STRING here), integer fields with nulls
//! become FLOAT (INT here), and arrays of scalars get `arrayDataType: UNKNOWN` (their item
//! type here).

use super::types;
use crate::entity::Column;
use serde_json::Value;
use std::collections::HashMap;

/// Why a JSON document could not be typed.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// Nothing but whitespace.
    #[error("the document is empty")]
    Empty,
    /// A document too large to read whole, which cannot be read in parts either.
    #[error("the document is larger than maxDocumentBytes and is not a top-level array, so it cannot be read in parts")]
    NotAnArray,
    /// Not JSON.
    #[error("invalid JSON: {0}")]
    Invalid(#[source] serde_json::Error),
}

/// The merged type of the values seen at one place.
#[derive(Debug, Clone, PartialEq)]
enum Shape {
    Null,
    Bool,
    Int,
    Float,
    Str,
    Object(Fields),
    Array(Box<Shape>),
}

/// Object fields in first-seen order.
#[derive(Debug, Clone, PartialEq, Default)]
struct Fields {
    order: Vec<(String, Shape)>,
    index: HashMap<String, usize>,
}

impl Fields {
    fn add(&mut self, name: &str, shape: Shape) {
        match self.index.get(name) {
            Some(&i) => {
                let old = std::mem::replace(&mut self.order[i].1, Shape::Null);
                self.order[i].1 = merge(old, shape);
            }
            None => {
                self.index.insert(name.to_string(), self.order.len());
                self.order.push((name.to_string(), shape));
            }
        }
    }
}

fn shape_of(v: &Value) -> Shape {
    match v {
        Value::Null => Shape::Null,
        Value::Bool(_) => Shape::Bool,
        Value::Number(n) if n.is_i64() || n.is_u64() => Shape::Int,
        Value::Number(_) => Shape::Float,
        Value::String(_) => Shape::Str,
        Value::Array(items) => Shape::Array(Box::new(
            items.iter().map(shape_of).fold(Shape::Null, merge),
        )),
        Value::Object(map) => {
            let mut f = Fields::default();
            for (k, v) in map {
                f.add(k, shape_of(v));
            }
            Shape::Object(f)
        }
    }
}

fn merge(a: Shape, b: Shape) -> Shape {
    match (a, b) {
        (Shape::Null, x) | (x, Shape::Null) => x,
        (Shape::Int, Shape::Float) | (Shape::Float, Shape::Int) => Shape::Float,
        (Shape::Object(mut x), Shape::Object(y)) => {
            for (k, v) in y.order {
                x.add(&k, v);
            }
            Shape::Object(x)
        }
        (Shape::Array(x), Shape::Array(y)) => Shape::Array(Box::new(merge(*x, *y))),
        (x, y) if x == y => x,
        _ => Shape::Str,
    }
}

fn om(s: &Shape) -> &'static str {
    match s {
        Shape::Null | Shape::Str => "STRING",
        Shape::Bool => "BOOLEAN",
        Shape::Int => "INT",
        Shape::Float => "FLOAT",
        Shape::Object(_) => "JSON",
        Shape::Array(_) => "ARRAY",
    }
}

fn children(f: &Fields) -> Vec<Column> {
    f.order.iter().map(|(k, s)| column(k, s)).collect()
}

fn column(name: &str, s: &Shape) -> Column {
    let mut c = types::named(name, om(s));
    c.data_type_display = Some(om(s).to_string());
    match s {
        Shape::Object(f) => c.children = Some(children(f)),
        Shape::Array(item) => {
            let item_type = match item.as_ref() {
                Shape::Null => "UNKNOWN",
                Shape::Object(f) => {
                    c.children = Some(children(f));
                    "STRUCT"
                }
                other => om(other),
            };
            c.array_data_type = Some(item_type.to_string());
            c.data_type_display = Some(format!("ARRAY<{item_type}>"));
        }
        _ => {}
    }
    c
}

/// Columns of a set of records (objects; anything else is skipped, as pandas would make it
/// a single unnamed column the reference then drops).
fn from_records<'a>(records: impl Iterator<Item = &'a Value>) -> Vec<Column> {
    let mut all = Fields::default();
    for r in records {
        if let Value::Object(map) = r {
            for (k, v) in map {
                all.add(k, shape_of(v));
            }
        }
    }
    children(&all)
}

fn is_iceberg_delta(v: &Value) -> bool {
    v.get("schema")
        .and_then(|s| s.get("fields"))
        .is_some_and(Value::is_array)
}

/// The reference's test on the first line: empty, or an object that is neither a JSON
/// Schema nor an Iceberg/Delta document, means JSON Lines.
pub(super) fn is_lines(first_line: &[u8]) -> bool {
    let line = String::from_utf8_lossy(first_line);
    let line = line.trim();
    if line.is_empty() {
        return true;
    }
    match serde_json::from_str::<Value>(line) {
        Ok(v @ Value::Object(_)) => v.get("$schema").is_none() && !is_iceberg_delta(&v),
        _ => false,
    }
}

/// Columns of a JSON Lines text; `complete` says the text is the whole file (else its last
/// line is dropped). Blank and invalid lines are skipped.
pub(super) fn from_lines(text: &[u8], complete: bool, max_rows: usize) -> Vec<Column> {
    let text = if complete {
        text
    } else {
        match text.iter().rposition(|&b| b == b'\n') {
            Some(i) => &text[..i],
            None => &[],
        }
    };
    let records: Vec<Value> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .filter_map(|l| serde_json::from_slice(l).ok())
        .take(max_rows)
        .collect();
    from_records(records.iter())
}

/// The items of a top-level array that fit in `text`, a prefix of a document.
fn array_items(text: &[u8], max_rows: usize) -> Result<Vec<Value>, JsonError> {
    let mut pos = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .ok_or(JsonError::Empty)?;
    if text[pos] != b'[' {
        return Err(JsonError::NotAnArray);
    }
    pos += 1;
    let mut items = Vec::new();
    while items.len() < max_rows {
        while pos < text.len() && (text[pos].is_ascii_whitespace() || text[pos] == b',') {
            pos += 1;
        }
        if pos >= text.len() || text[pos] == b']' {
            break;
        }
        let mut stream = serde_json::Deserializer::from_slice(&text[pos..]).into_iter::<Value>();
        match stream.next() {
            Some(Ok(v)) => {
                items.push(v);
                pos += stream.byte_offset();
            }
            // The item cut by the end of the prefix, or garbage: stop here.
            _ => break,
        }
    }
    Ok(items)
}

/// Columns of a JSON document: the whole text when `complete`, else a prefix of it.
pub(super) fn from_document(
    text: &[u8],
    complete: bool,
    max_rows: usize,
) -> Result<Vec<Column>, JsonError> {
    if !complete {
        let items = array_items(text, max_rows)?;
        return Ok(from_records(items.iter()));
    }
    let doc: Value = serde_json::from_slice(text).map_err(JsonError::Invalid)?;
    if doc.get("$schema").is_some() {
        return Ok(vec![json_schema_column(&doc)]);
    }
    if is_iceberg_delta(&doc) {
        return Ok(iceberg_columns(&doc["schema"]["fields"]));
    }
    Ok(match &doc {
        Value::Array(items) => from_records(items.iter().take(max_rows)),
        other => from_records(std::iter::once(other)),
    })
}

fn json_schema_type(v: &Value) -> &'static str {
    if let Some(one_of) = v.get("oneOf").and_then(Value::as_array) {
        if one_of
            .iter()
            .any(|m| m.get("type") == Some(&Value::from("object")))
        {
            return "RECORD";
        }
    }
    match v.get("type").and_then(Value::as_str) {
        Some("object") => "RECORD",
        Some("string") => "STRING",
        Some("number") => "FLOAT",
        Some("integer") => "INT",
        Some("boolean") => "BOOLEAN",
        Some("null") => "NULL",
        Some("array") => "ARRAY",
        _ => "UNKNOWN",
    }
}

fn json_schema_props(v: &Value) -> Option<Vec<Column>> {
    let props = v.get("properties").and_then(Value::as_object)?;
    Some(props.iter().map(|(k, p)| json_schema_field(k, p)).collect())
}

fn json_schema_field(name: &str, v: &Value) -> Column {
    let t = json_schema_type(v);
    let short: String = name.chars().take(crate::entity::MAX_NAME_LEN).collect();
    let mut c = Column::new(&short, t);
    c.data_type_display = Some(t.to_string());
    c.description = v
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_string);
    if t == "ARRAY" {
        let items = v.get("items").cloned().unwrap_or(Value::Null);
        let item_t = json_schema_type(&items);
        c.array_data_type = Some(item_t.to_string());
        c.data_type_display = Some(format!("ARRAY<{item_t}>"));
        c.children = json_schema_props(&items);
    } else if t == "RECORD" {
        c.children = json_schema_props(v).or_else(|| {
            v.get("oneOf")
                .and_then(Value::as_array)
                .and_then(|m| m.iter().find_map(json_schema_props))
        });
    }
    c
}

/// A JSON Schema document: one column named after its `title` (reference §5.5).
fn json_schema_column(doc: &Value) -> Column {
    let title = doc
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or("default");
    json_schema_field(title, doc)
}

/// Python's `str()` of a parsed JSON value, which is how the reference stringifies an
/// object type (`{'type': 'struct', 'fields': [...]}`).
fn python_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(python_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!(
                    "{}: {}",
                    python_repr(&Value::from(k.as_str())),
                    python_repr(v)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Iceberg/Delta metadata: one column per field (reference §5.5).
fn iceberg_columns(fields: &Value) -> Vec<Column> {
    let Some(fields) = fields.as_array() else {
        return vec![];
    };
    fields
        .iter()
        .filter_map(|f| {
            let name = f.get("name")?.as_str()?;
            let t = f.get("type").cloned().unwrap_or(Value::Null);
            let (om, display) = match &t {
                Value::String(s) => {
                    let up = s.to_ascii_uppercase();
                    let om = crate::entity::DATA_TYPES
                        .iter()
                        .find(|v| **v == up)
                        .copied()
                        .unwrap_or("STRING");
                    (om, s.clone())
                }
                Value::Object(o) => {
                    let up = o
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_ascii_uppercase();
                    let om = crate::entity::DATA_TYPES
                        .iter()
                        .find(|v| **v == up)
                        .copied()
                        .unwrap_or("STRING");
                    (om, python_repr(&t))
                }
                other => ("STRING", python_repr(other)),
            };
            let short: String = name.chars().take(crate::entity::MAX_NAME_LEN).collect();
            let mut c = Column::new(&short, om);
            c.data_type_display = Some(display);
            if om == "STRUCT" {
                c.children = Some(iceberg_columns(&t["fields"]));
            }
            Some(c)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_follows_the_reference() {
        assert!(is_lines(b"{\"a\": 1}"));
        assert!(is_lines(b""));
        assert!(!is_lines(b"{"));
        assert!(!is_lines(b"[{\"a\": 1}]"));
        assert!(!is_lines(b"{\"$schema\": \"x\"}"));
        assert!(!is_lines(b"{\"schema\": {\"fields\": []}}"));
    }

    #[test]
    fn records_merge_with_nested_children() {
        let text = b"{\"id\": 1, \"tags\": [\"a\"], \"user\": {\"n\": \"x\"}}\n{\"id\": null, \"v\": 1.5, \"user\": {\"age\": 3}, \"items\": [{\"q\": 1}]}\n{\"v\": 2";
        let cols = from_lines(text, false, 100);
        let got: Vec<_> = cols
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.data_type.as_str(),
                    c.array_data_type.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("id", "INT", None),
                ("tags", "ARRAY", Some("STRING")),
                ("user", "JSON", None),
                ("v", "FLOAT", None),
                ("items", "ARRAY", Some("STRUCT")),
            ]
        );
        let user: Vec<_> = cols[2]
            .children
            .as_ref()
            .unwrap()
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(user, vec!["n", "age"]);
    }

    #[test]
    fn a_large_array_document_is_read_item_by_item() {
        let cols = from_document(
            b"[{\"a\": 1}, {\"a\": 2, \"b\": true}, {\"a\": 3, \"c\": \"cu",
            false,
            100,
        )
        .unwrap();
        let got: Vec<_> = cols
            .iter()
            .map(|c| (c.name.as_str(), c.data_type.as_str()))
            .collect();
        assert_eq!(got, vec![("a", "INT"), ("b", "BOOLEAN")]);
        assert!(from_document(b"{\"a\": [1, 2", false, 100).is_err());
    }
}
