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

use super::bound::{Budget, TreeLimits};
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

/// Types values into merged shapes within the tree limits: a new key is a node taken from
/// the budget (at most `maxColumns + 1` keys in all, whatever the number of records), and
/// an object's keys are kept only where its column may have children (`maxColumnDepth`).
/// Values are merged into the shape in place, so a key seen in every record costs one node.
/// Recursion follows the value's nesting, which serde_json bounds at 128 levels (a deeper
/// document is invalid JSON to it).
struct Typer {
    budget: Budget,
}

impl Typer {
    fn new(limits: TreeLimits) -> Typer {
        Typer {
            budget: limits.budget(),
        }
    }

    /// Merges the fields of `map`, at `depth` (the top level is 1), into `fields`.
    fn absorb_fields(
        &mut self,
        fields: &mut Fields,
        map: &serde_json::Map<String, Value>,
        depth: usize,
    ) {
        for (k, v) in map {
            let i = match fields.index.get(k.as_str()) {
                Some(&i) => i,
                None => {
                    if !self.budget.take() {
                        continue;
                    }
                    fields.index.insert(k.clone(), fields.order.len());
                    fields.order.push((k.clone(), Shape::Null));
                    fields.order.len() - 1
                }
            };
            self.absorb(&mut fields.order[i].1, v, depth);
        }
    }

    /// Merges the value `v`, seen at a place of `depth`, into the shape `into`.
    fn absorb(&mut self, into: &mut Shape, v: &Value, depth: usize) {
        match v {
            Value::Null => {}
            Value::Bool(_) => merge_scalar(into, Shape::Bool),
            Value::Number(n) if n.is_i64() || n.is_u64() => merge_scalar(into, Shape::Int),
            Value::Number(_) => merge_scalar(into, Shape::Float),
            Value::String(_) => merge_scalar(into, Shape::Str),
            Value::Array(items) => {
                match into {
                    Shape::Null => *into = Shape::Array(Box::new(Shape::Null)),
                    Shape::Array(_) => {}
                    _ => {
                        *into = Shape::Str;
                        return;
                    }
                }
                if let Shape::Array(item) = into {
                    for it in items {
                        // Items give the array's own children: the same depth.
                        self.absorb(item, it, depth);
                    }
                }
            }
            Value::Object(map) => {
                match into {
                    Shape::Null => *into = Shape::Object(Fields::default()),
                    Shape::Object(_) => {}
                    _ => {
                        *into = Shape::Str;
                        return;
                    }
                }
                if let Shape::Object(fields) = into {
                    if self.budget.descend(depth) {
                        self.absorb_fields(fields, map, depth + 1);
                    }
                }
            }
        }
    }
}

/// Merges a scalar shape into `into` (the widening rules of the module doc).
fn merge_scalar(into: &mut Shape, s: Shape) {
    let merged = match (&*into, s) {
        (Shape::Null, x) => x,
        (Shape::Int, Shape::Float) | (Shape::Float, Shape::Int) => Shape::Float,
        (x, y) if *x == y => y,
        _ => Shape::Str,
    };
    *into = merged;
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
fn from_records<'a>(records: impl Iterator<Item = &'a Value>, tree: TreeLimits) -> Vec<Column> {
    let mut typer = Typer::new(tree);
    let mut all = Fields::default();
    for r in records {
        if let Value::Object(map) = r {
            typer.absorb_fields(&mut all, map, 1);
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
pub(super) fn from_lines(
    text: &[u8],
    complete: bool,
    max_rows: usize,
    tree: TreeLimits,
) -> Vec<Column> {
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
    from_records(records.iter(), tree)
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
    tree: TreeLimits,
) -> Result<Vec<Column>, JsonError> {
    if !complete {
        let items = array_items(text, max_rows)?;
        return Ok(from_records(items.iter(), tree));
    }
    let doc: Value = serde_json::from_slice(text).map_err(JsonError::Invalid)?;
    if doc.get("$schema").is_some() {
        return Ok(json_schema_column(&doc, tree).into_iter().collect());
    }
    if is_iceberg_delta(&doc) {
        return Ok(iceberg_columns(
            &doc["schema"]["fields"],
            1,
            &mut tree.budget(),
        ));
    }
    Ok(match &doc {
        Value::Array(items) => from_records(items.iter().take(max_rows), tree),
        other => from_records(std::iter::once(other), tree),
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

/// The columns of `v`'s `properties`, at `depth`, while the budget lasts.
fn json_schema_props(v: &Value, depth: usize, budget: &mut Budget) -> Option<Vec<Column>> {
    let props = v.get("properties").and_then(Value::as_object)?;
    let mut out = Vec::new();
    for (k, p) in props {
        match json_schema_field(k, p, depth, budget) {
            Some(c) => out.push(c),
            None => break,
        }
    }
    Some(out)
}

/// The column of a JSON Schema property at `depth` (top level 1); `None` once the budget
/// refuses a node. Children are read only where the budget allows the next level, so the
/// recursion is bounded by `maxColumnDepth` (and by serde_json's 128 levels).
fn json_schema_field(name: &str, v: &Value, depth: usize, budget: &mut Budget) -> Option<Column> {
    if !budget.take() {
        return None;
    }
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
        if budget.descend(depth) {
            c.children = json_schema_props(&items, depth + 1, budget);
        }
    } else if t == "RECORD" && budget.descend(depth) {
        c.children = json_schema_props(v, depth + 1, budget).or_else(|| {
            v.get("oneOf").and_then(Value::as_array).and_then(|m| {
                m.iter()
                    .find_map(|m| json_schema_props(m, depth + 1, budget))
            })
        });
    }
    Some(c)
}

/// A JSON Schema document: one column named after its `title` (reference §5.5).
fn json_schema_column(doc: &Value, tree: TreeLimits) -> Option<Column> {
    let title = doc
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or("default");
    json_schema_field(title, doc, 1, &mut tree.budget())
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

/// Iceberg/Delta metadata: one column per field (reference §5.5), at `depth`, while the
/// budget lasts; a struct's fields only where the budget allows the next level.
fn iceberg_columns(fields: &Value, depth: usize, budget: &mut Budget) -> Vec<Column> {
    let Some(fields) = fields.as_array() else {
        return vec![];
    };
    let mut out = Vec::new();
    for f in fields {
        let Some(name) = f.get("name").and_then(Value::as_str) else {
            continue;
        };
        if !budget.take() {
            break;
        }
        out.push({
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
            if om == "STRUCT" && budget.descend(depth) {
                c.children = Some(iceberg_columns(&t["fields"], depth + 1, budget));
            }
            c
        });
    }
    out
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
        let cols = from_lines(text, false, 100, TreeLimits::default());
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
            TreeLimits::default(),
        )
        .unwrap();
        let got: Vec<_> = cols
            .iter()
            .map(|c| (c.name.as_str(), c.data_type.as_str()))
            .collect();
        assert_eq!(got, vec![("a", "INT"), ("b", "BOOLEAN")]);
        assert!(from_document(b"{\"a\": [1, 2", false, 100, TreeLimits::default()).is_err());
    }

    use crate::infer::bound::depth;

    #[test]
    fn a_100k_deep_document_is_refused_by_the_parser_before_any_recursion_of_ours() {
        // serde_json stops at 128 levels: the document is invalid JSON to it, the line of
        // JSON Lines is skipped. That is how "100k-deep JSON holds".
        let deep = format!("{}1{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
        let e = from_document(deep.as_bytes(), true, 100, TreeLimits::default()).unwrap_err();
        assert!(e.to_string().contains("recursion limit exceeded"), "{e}");
        assert!(from_lines(deep.as_bytes(), true, 100, TreeLimits::default()).is_empty());
        let arr = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(
            from_document(arr.as_bytes(), false, 100, TreeLimits::default())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn nesting_within_the_parser_limit_is_built_to_the_depth_limit_only() {
        let tree = TreeLimits {
            max_depth: 5,
            max_nodes: 1000,
        };
        let doc = format!("{}1{}", "{\"a\":".repeat(100), "}".repeat(100));
        let mut cols = from_document(doc.as_bytes(), true, 100, tree).unwrap();
        assert_eq!(depth(&cols), tree.max_depth + 1);
        let cut = crate::infer::bound::cut(&mut cols, tree).expect("the excess is reported");
        assert_eq!(cut.too_deep, 1);
    }

    #[test]
    fn a_million_distinct_keys_do_not_build_a_million_columns() {
        let tree = TreeLimits::default();
        let mut doc = String::from("{");
        for i in 0..1_000_000 {
            if i > 0 {
                doc.push(',');
            }
            doc.push_str(&format!("\"k{i}\":{i}"));
        }
        doc.push('}');
        let mut cols = from_document(doc.as_bytes(), true, 100, tree).unwrap();
        assert_eq!(cols.len(), tree.max_nodes + 1);
        assert_eq!(cols[0].name, "k0");
        assert_eq!(
            crate::infer::bound::cut(&mut cols, tree).unwrap().too_many,
            1
        );
        // Spread over many records (JSON Lines), the keys still count once each.
        let lines: String = (0..20_000)
            .map(|i| format!("{{\"id\":1,\"k{i}\":{{\"x\":1}}}}\n"))
            .collect();
        let cols = from_lines(lines.as_bytes(), true, 100_000, tree);
        assert_eq!(crate::infer::bound::drop_flat(cols), tree.max_nodes + 1);
    }

    #[test]
    fn json_schema_and_iceberg_documents_are_bounded_too() {
        let tree = TreeLimits {
            max_depth: 3,
            max_nodes: 50,
        };
        let props: serde_json::Map<String, Value> = (0..1000)
            .map(|i| (format!("p{i}"), serde_json::json!({"type": "integer"})))
            .collect();
        let doc = serde_json::json!({"$schema": "x", "type": "object", "properties": props});
        let cols = from_document(doc.to_string().as_bytes(), true, 100, tree).unwrap();
        assert_eq!(crate::infer::bound::drop_flat(cols), 51);
        let mut nested = serde_json::json!({"type": "integer"});
        for _ in 0..20 {
            nested = serde_json::json!({"type": "object", "properties": {"n": nested}});
        }
        let doc =
            serde_json::json!({"$schema": "x", "type": "object", "properties": {"n": nested}});
        let cols = from_document(doc.to_string().as_bytes(), true, 100, tree).unwrap();
        assert_eq!(depth(&cols), tree.max_depth + 1);
        let fields: Vec<Value> = (0..1000)
            .map(|i| serde_json::json!({"name": format!("f{i}"), "type": "int"}))
            .collect();
        let doc = serde_json::json!({"schema": {"fields": fields}});
        let cols = from_document(doc.to_string().as_bytes(), true, 100, tree).unwrap();
        assert_eq!(cols.len(), 51);
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::infer::bound::drop_flat;

    use crate::infer::bound::depth;

    /// A text prefix → JSON Lines and document paths (whole and cut): never a panic, a
    /// tree within the limits plus one.
    #[test]
    fn json() {
        let seeds = vec![
            format!("{}1{}", "{\"a\":".repeat(60), "}".repeat(60)).into_bytes(),
            (0..300)
                .map(|i| format!("{{\"k{i}\":[{{\"x\":{i}}}]}}\n"))
                .collect::<String>()
                .into_bytes(),
        ];
        let tree = TreeLimits {
            max_depth: 8,
            max_nodes: 100,
        };
        let check = |cols: Vec<Column>| {
            assert!(depth(&cols) <= tree.max_depth + 1);
            assert!(drop_flat(cols) <= tree.max_nodes + 1);
        };
        crate::fuzz::run("json", seeds, |b| {
            let first = b.split(|&c| c == b'\n').next().unwrap_or_default();
            let _ = is_lines(first);
            check(from_lines(b, false, 1000, tree));
            check(from_lines(b, true, 1000, tree));
            for complete in [true, false] {
                if let Ok(cols) = from_document(b, complete, 1000, tree) {
                    check(cols);
                }
            }
        });
    }
}
