//! Avro: the writer schema from the object container file's header; no value is read.
//!
//! The header is the magic `Obj\x01`, a metadata map (whose `avro.schema` is the schema as
//! JSON) and a 16-byte sync marker. The schema is mapped onto Arrow types and from there
//! through the one table in [`super::types`]: records are STRUCT with children, a union of
//! `null` and one type is that type, other unions are UNION, arrays ARRAY, maps MAP, enums
//! STRING, fixed BINARY with its length, and the logical types decimal (with its precision
//! and scale), date, time-millis/micros, timestamp-millis/micros (UTC) and
//! local-timestamp-millis/micros, uuid (STRING).
//!
//! DIFF(spec §5.4, §13 #6): the reference parses this schema, discards it, and types the
//! first 100,000 records' values through pandas; we use the writer schema, so an Avro
//! `string` holding `"42"` stays STRING and a nullable `long` stays INT.

use super::bound::TreeLimits;
use super::{cpu, types, Error, Limits, Sample};
use crate::entity::Column;
use crate::store::{GetRange, ObjectStore};
use arrow_schema::{DataType, Field, FieldRef, Fields, TimeUnit, UnionFields, UnionMode};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// The header could not be read from the bytes given.
#[derive(Debug, thiserror::Error)]
pub enum AvroHeaderError {
    /// The bytes end inside the header: read more.
    #[error("the Avro header is cut")]
    Short,
    /// Still cut after reading as much as a document may be.
    #[error("the header does not end within {0} bytes")]
    NotWithin(u64),
    /// Not an Avro object container file.
    #[error("no Avro magic `Obj\\x01` at the start")]
    NoMagic,
    /// A variable-length integer longer than 64 bits.
    #[error("varint too long")]
    VarintTooLong,
    /// A negative length of a metadata key or value.
    #[error("negative length")]
    NegativeLength,
    /// The metadata has no schema.
    #[error("no avro.schema in the header")]
    NoSchema,
    /// The schema is not JSON.
    #[error("avro.schema is not JSON: {0}")]
    SchemaNotJson(#[source] serde_json::Error),
}

/// The writer schema is not one s3meta can map onto columns.
#[derive(Debug, thiserror::Error)]
pub enum AvroSchemaError {
    /// A type name that is neither primitive nor defined before.
    #[error("unknown Avro type `{0}`")]
    UnknownType(String),
    /// A union Arrow cannot represent.
    #[error(transparent)]
    Union(#[from] arrow_schema::ArrowError),
    /// A record without its `fields`.
    #[error("a record without fields")]
    RecordWithoutFields,
    /// A record field without its `type`.
    #[error("a field without a type")]
    FieldWithoutType,
    /// An array without its `items`.
    #[error("an array without items")]
    ArrayWithoutItems,
    /// A map without its `values`.
    #[error("a map without values")]
    MapWithoutValues,
    /// Neither a type name, a union nor a type object.
    #[error("not an Avro schema: {0}")]
    NotASchema(Value),
}

fn read_long(b: &[u8], pos: &mut usize) -> Result<i64, AvroHeaderError> {
    let mut value: u64 = 0;
    let mut shift = 0;
    loop {
        let byte = *b.get(*pos).ok_or(AvroHeaderError::Short)?;
        *pos += 1;
        if shift > 63 {
            return Err(AvroHeaderError::VarintTooLong);
        }
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    Ok(((value >> 1) as i64) ^ -((value & 1) as i64))
}

fn read_bytes<'a>(b: &'a [u8], pos: &mut usize) -> Result<&'a [u8], AvroHeaderError> {
    let len = read_long(b, pos)?;
    let len = usize::try_from(len).map_err(|_| AvroHeaderError::NegativeLength)?;
    let end = pos.checked_add(len).ok_or(AvroHeaderError::Short)?;
    let s = b.get(*pos..end).ok_or(AvroHeaderError::Short)?;
    *pos = end;
    Ok(s)
}

/// The `avro.schema` JSON of a header at the start of `b`.
pub(super) fn header_schema(b: &[u8]) -> Result<Value, AvroHeaderError> {
    if b.len() < 4 {
        return Err(AvroHeaderError::Short);
    }
    if &b[..4] != b"Obj\x01" {
        return Err(AvroHeaderError::NoMagic);
    }
    let mut pos = 4;
    let mut schema = None;
    loop {
        let mut count = read_long(b, &mut pos)?;
        if count == 0 {
            break;
        }
        if count < 0 {
            // A block written with its byte size; i64::MIN has no positive count.
            count = count.checked_neg().ok_or(AvroHeaderError::NegativeLength)?;
            read_long(b, &mut pos)?; // the block's byte size
        }
        for _ in 0..count {
            let key = read_bytes(b, &mut pos)?;
            let value = read_bytes(b, &mut pos)?;
            if key == b"avro.schema" {
                schema = Some(value.to_vec());
            }
        }
    }
    let schema = schema.ok_or(AvroHeaderError::NoSchema)?;
    serde_json::from_slice(&schema).map_err(AvroHeaderError::SchemaNotJson)
}

/// Named types (records, enums, fixed) defined so far, by full and short name, each with
/// its expanded size.
///
/// A reference to a named type is a clone of its `DataType`, which shares the type's
/// fields (an `Arc`), so the type built here is a graph whose expansion as a tree can be
/// exponential in the schema's length (records each referencing the previous one ten
/// times). Every type therefore carries its expanded size (nodes, as a column tree), and a
/// record stops taking fields once its size passes `maxColumns + 1`: no type built here
/// expands to more than about twice the limit, and nothing downstream can blow up.
struct Mapper {
    names: HashMap<String, Typed>,
    limits: TreeLimits,
}

/// A type and the number of column nodes it expands to.
type Typed = (DataType, u64);

impl Mapper {
    fn define(&mut self, v: &serde_json::Map<String, Value>, ns: Option<&str>, t: &Typed) {
        if let Some(name) = v.get("name").and_then(Value::as_str) {
            self.names.insert(name.to_string(), t.clone());
            let space = v.get("namespace").and_then(Value::as_str).or(ns);
            if let Some(space) = space.filter(|s| !s.is_empty() && !name.contains('.')) {
                self.names.insert(format!("{space}.{name}"), t.clone());
            }
        }
    }

    fn named(&self, s: &str) -> Result<Typed, AvroSchemaError> {
        primitive(s)
            .map(|t| (t, 1))
            .or_else(|| self.names.get(s).cloned())
            .ok_or_else(|| AvroSchemaError::UnknownType(s.to_string()))
    }

    /// The Arrow type of the Avro schema `v`, whose column would sit at `depth` (the top
    /// record's fields are at 1). Recursion follows the JSON's nesting, which serde_json
    /// bounds (128 levels); fields deeper than `maxColumnDepth + 1` are still walked (they
    /// may define named types) but not kept.
    fn arrow_type(
        &mut self,
        v: &Value,
        ns: Option<&str>,
        depth: usize,
    ) -> Result<Typed, AvroSchemaError> {
        match v {
            Value::String(s) => self.named(s),
            Value::Array(members) => {
                let non_null: Vec<&Value> = members.iter().filter(|m| *m != "null").collect();
                match non_null.as_slice() {
                    [] => Ok((DataType::Null, 1)),
                    [one] => self.arrow_type(one, ns, depth),
                    many => {
                        let mut size = 1u64;
                        let mut fields = Vec::with_capacity(many.len().min(128));
                        for (i, m) in many.iter().enumerate() {
                            let (t, n) = self.arrow_type(m, ns, depth)?;
                            size = size.saturating_add(n);
                            fields.push(Field::new(format!("member{i}"), t, true));
                        }
                        let ids: Vec<i8> = (0..fields.len() as i8).collect();
                        let uf = UnionFields::try_new(ids, fields)?;
                        Ok((DataType::Union(uf, UnionMode::Dense), size))
                    }
                }
            }
            Value::Object(o) => self.object(o, ns, depth),
            other => Err(AvroSchemaError::NotASchema(other.clone())),
        }
    }

    fn object(
        &mut self,
        o: &serde_json::Map<String, Value>,
        ns: Option<&str>,
        depth: usize,
    ) -> Result<Typed, AvroSchemaError> {
        let t = o.get("type").and_then(Value::as_str).unwrap_or_default();
        let logical = o.get("logicalType").and_then(Value::as_str);
        let my_ns = o.get("namespace").and_then(Value::as_str).or(ns);
        let leaf = |d: DataType| Ok((d, 1));
        match (logical, t) {
            (Some("decimal"), "bytes" | "fixed") => {
                let p = o.get("precision").and_then(Value::as_u64).unwrap_or(38) as u8;
                let s = o.get("scale").and_then(Value::as_i64).unwrap_or(0) as i8;
                let d = if p <= 38 {
                    DataType::Decimal128(p, s)
                } else {
                    DataType::Decimal256(p, s)
                };
                if t == "fixed" {
                    self.define(o, ns, &(d.clone(), 1));
                }
                return leaf(d);
            }
            (Some("date"), "int") => return leaf(DataType::Date32),
            (Some("time-millis"), "int") => return leaf(DataType::Time32(TimeUnit::Millisecond)),
            (Some("time-micros"), "long") => return leaf(DataType::Time64(TimeUnit::Microsecond)),
            (Some("timestamp-millis"), "long") => {
                return leaf(DataType::Timestamp(
                    TimeUnit::Millisecond,
                    Some("UTC".into()),
                ))
            }
            (Some("timestamp-micros"), "long") => {
                return leaf(DataType::Timestamp(
                    TimeUnit::Microsecond,
                    Some("UTC".into()),
                ))
            }
            (Some("timestamp-nanos"), "long") => {
                return leaf(DataType::Timestamp(
                    TimeUnit::Nanosecond,
                    Some("UTC".into()),
                ))
            }
            (Some("local-timestamp-millis"), "long") => {
                return leaf(DataType::Timestamp(TimeUnit::Millisecond, None))
            }
            (Some("local-timestamp-micros"), "long") => {
                return leaf(DataType::Timestamp(TimeUnit::Microsecond, None))
            }
            (Some("uuid"), "string") => return leaf(DataType::Utf8),
            _ => {}
        }
        match t {
            "record" | "error" => {
                let fields = o
                    .get("fields")
                    .and_then(Value::as_array)
                    .ok_or(AvroSchemaError::RecordWithoutFields)?;
                // Defined before its fields, so that a recursive reference resolves
                // (to an empty struct: a schema cannot be infinitely deep).
                self.define(o, ns, &(DataType::Struct(Fields::empty()), 1));
                let cap = self.limits.max_nodes as u64 + 1;
                let keep_fields = depth <= self.limits.max_depth;
                let mut size = 1u64;
                let mut fs: Vec<Field> = Vec::new();
                for f in fields {
                    let name = f.get("name").and_then(Value::as_str).unwrap_or_default();
                    let ft = f.get("type").ok_or(AvroSchemaError::FieldWithoutType)?;
                    // Walked even when not kept: it may define named types used later.
                    let (t, n) = self.arrow_type(ft, my_ns, depth + 1)?;
                    if keep_fields && size <= cap {
                        size = size.saturating_add(n);
                        fs.push(Field::new(name, t, true));
                    }
                }
                let st = (DataType::Struct(Fields::from(fs)), size);
                self.define(o, ns, &st);
                Ok(st)
            }
            "enum" => {
                let d = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
                self.define(o, ns, &(d.clone(), 1));
                leaf(d)
            }
            "fixed" => {
                let size = o.get("size").and_then(Value::as_i64).unwrap_or(0) as i32;
                let d = DataType::FixedSizeBinary(size);
                self.define(o, ns, &(d.clone(), 1));
                leaf(d)
            }
            "array" => {
                let items = o.get("items").ok_or(AvroSchemaError::ArrayWithoutItems)?;
                // A list's struct items give the list's own children: same depth.
                let (it, n) = self.arrow_type(items, my_ns, depth)?;
                Ok((
                    DataType::List(Arc::new(Field::new("item", it, true))),
                    n.saturating_add(1),
                ))
            }
            "map" => {
                let values = o.get("values").ok_or(AvroSchemaError::MapWithoutValues)?;
                let (vt, n) = self.arrow_type(values, my_ns, depth + 1)?;
                let entries = DataType::Struct(Fields::from(vec![
                    Field::new("key", DataType::Utf8, false),
                    Field::new("value", vt, true),
                ]));
                Ok((
                    DataType::Map(Arc::new(Field::new("entries", entries, false)), false),
                    n.saturating_add(2),
                ))
            }
            other => self.named(other),
        }
    }
}

fn primitive(s: &str) -> Option<DataType> {
    Some(match s {
        "null" => DataType::Null,
        "boolean" => DataType::Boolean,
        "int" => DataType::Int32,
        "long" => DataType::Int64,
        "float" => DataType::Float32,
        "double" => DataType::Float64,
        "bytes" => DataType::Binary,
        "string" => DataType::Utf8,
        _ => return None,
    })
}

/// The Arrow type of a writer schema, built within `limits` (see [`Mapper`]).
fn to_arrow(schema: &Value, limits: TreeLimits) -> Result<DataType, AvroSchemaError> {
    let mut m = Mapper {
        names: HashMap::new(),
        limits,
    };
    Ok(m.arrow_type(schema, None, 0)?.0)
}

/// The columns of a writer schema: one per field of its top-level record, within `limits`
/// (one node and one level past them at most, for [`super::bound::cut`] to report).
pub(crate) fn columns(schema: &Value, limits: TreeLimits) -> Result<Vec<Column>, AvroSchemaError> {
    match to_arrow(schema, limits)? {
        DataType::Struct(fields) => Ok(types::columns(fields.iter(), limits)),
        other => {
            let value: FieldRef = Arc::new(Field::new("value", other, true));
            Ok(types::columns([&value], limits))
        }
    }
}

/// The columns of an Avro file, from its header: the first `parquet_prefetch` bytes, one
/// more read (up to `maxDocumentBytes`) when the header is longer.
pub(super) async fn infer(
    store: &dyn ObjectStore,
    s: Sample<'_>,
    limits: &Limits,
) -> Result<Vec<Column>, Error> {
    let size = s.object.size;
    let mut n = limits.parquet_prefetch.min(size);
    loop {
        let got = store
            .get_range(s.bucket, &s.object.key, GetRange::Bounded(0, n))
            .await?;
        let bytes = got.bytes;
        let tree = limits.tree;
        // Parsing the header and mapping its schema are CPU work on foreign bytes.
        let parsed = cpu::blocking(move || header_schema(&bytes).map(|v| columns(&v, tree)))
            .await
            .map_err(|p| s.corrupt("avro", p))?;
        match parsed {
            Ok(columns) => return columns.map_err(|e| s.corrupt("avro", e)),
            Err(AvroHeaderError::Short) if n < size.min(limits.max_document) => {
                // One more ranged read, as large as a document may be.
                n = size.min(limits.max_document);
            }
            Err(AvroHeaderError::Short) => {
                return Err(s.corrupt("avro", AvroHeaderError::NotWithin(n)))
            }
            Err(e) => return Err(s.corrupt("avro", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unions_logical_types_and_named_references() {
        let schema = json!({
            "type": "record", "name": "r", "namespace": "ns",
            "fields": [
                {"name": "id", "type": "long"},
                {"name": "n", "type": ["null", "string"]},
                {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
                {"name": "day", "type": {"type": "int", "logicalType": "date"}},
                {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
                {"name": "kind", "type": {"type": "enum", "name": "K", "symbols": ["a"]}},
                {"name": "kind2", "type": "ns.K"},
                {"name": "h", "type": {"type": "fixed", "name": "F", "size": 16}},
                {"name": "m", "type": {"type": "map", "values": "int"}},
            ]
        });
        let cols = columns(&schema, TreeLimits::default()).unwrap();
        let got: Vec<_> = cols
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.data_type.as_str(),
                    c.data_type_display.as_deref().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("id", "INT", "int64"),
                ("n", "STRING", "string"),
                ("amount", "DECIMAL", "decimal128(10, 2)"),
                ("day", "DATE", "date32[day]"),
                ("ts", "DATETIME", "timestamp[ms, tz=UTC]"),
                ("kind", "STRING", "string"),
                ("kind2", "STRING", "string"),
                ("h", "BINARY", "fixed_size_binary[16]"),
                ("m", "MAP", "map<string, int32>"),
            ]
        );
    }

    #[test]
    fn a_metadata_block_count_of_i64_min_is_an_error_not_a_panic() {
        // Found by the avro_header fuzz target (negation overflow).
        let b = include_bytes!("../../fuzz/corpus/avro_header/crash_block_count_i64_min");
        assert!(header_schema(b).is_err());
        let mut min = b"Obj\x01".to_vec();
        min.extend_from_slice(&[0xff; 9]);
        min.push(0x01);
        assert!(matches!(
            header_schema(&min),
            Err(AvroHeaderError::NegativeLength)
        ));
    }

    #[test]
    fn a_short_header_asks_for_more() {
        assert!(matches!(
            header_schema(b"Obj\x01\x02"),
            Err(AvroHeaderError::Short)
        ));
        assert_eq!(
            header_schema(b"PAR1xxxx").unwrap_err().to_string(),
            "no Avro magic `Obj\\x01` at the start"
        );
    }

    /// The issue's header: records each referencing the previous one `refs` times, `levels`
    /// deep (the innermost has one `long`), as an object container file's header.
    pub(super) fn blowup_header(levels: usize, refs: usize) -> Vec<u8> {
        let mut schema =
            r#"{"type":"record","name":"R0","fields":[{"name":"x","type":"long"}]}"#.to_string();
        for i in 1..=levels {
            let mut fields = vec![format!(r#"{{"name":"f0","type":{schema}}}"#)];
            for j in 1..refs {
                fields.push(format!(r#"{{"name":"f{j}","type":"R{}"}}"#, i - 1));
            }
            schema = format!(
                r#"{{"type":"record","name":"R{i}","fields":[{}]}}"#,
                fields.join(",")
            );
        }
        header(&schema)
    }

    /// An object container file's header holding `schema`.
    pub(super) fn header(schema: &str) -> Vec<u8> {
        fn long(out: &mut Vec<u8>, v: i64) {
            let mut z = ((v << 1) ^ (v >> 63)) as u64;
            while z >= 0x80 {
                out.push((z as u8) | 0x80);
                z >>= 7;
            }
            out.push(z as u8);
        }
        let mut b = b"Obj\x01".to_vec();
        long(&mut b, 1);
        long(&mut b, "avro.schema".len() as i64);
        b.extend_from_slice(b"avro.schema");
        long(&mut b, schema.len() as i64);
        b.extend_from_slice(schema.as_bytes());
        long(&mut b, 0);
        b.extend_from_slice(&[7; 16]);
        b
    }

    #[test]
    fn named_records_referencing_each_other_do_not_expand_past_the_limits() {
        let h = blowup_header(9, 10);
        assert!(h.len() < 3_000, "{}", h.len());
        let tree = TreeLimits::default();
        let start = std::time::Instant::now();
        let mut cols = columns(&header_schema(&h).unwrap(), tree).unwrap();
        assert!(start.elapsed() < std::time::Duration::from_secs(10));
        let nodes = crate::infer::bound::drop_flat(cols.clone());
        assert_eq!(nodes, tree.max_nodes + 1);
        let cut = crate::infer::bound::cut(&mut cols, tree).expect("the excess is reported");
        assert_eq!(cut.too_many, 1);
        // The first field expands R8 fully: 10 fields, each R7, … down to R0's `x`.
        assert_eq!(cols[0].name, "f0");
        let display = cols[0].data_type_display.as_deref().unwrap();
        assert!(display.len() <= types::MAX_DISPLAY + 3, "{}", display.len());
    }

    #[test]
    fn a_schema_deeper_than_the_limit_is_not_built_past_it() {
        let tree = TreeLimits {
            max_depth: 3,
            max_nodes: 100,
        };
        let mut schema =
            r#"{"type":"record","name":"L","fields":[{"name":"x","type":"long"}]}"#.to_string();
        // 30 levels nest 120 JSON levels: serde_json refuses more than 128.
        for i in 0..30 {
            schema = format!(
                r#"{{"type":"record","name":"N{i}","fields":[{{"name":"n{i}","type":{schema}}}]}}"#
            );
        }
        let v: Value = serde_json::from_str(&schema).unwrap();
        let t = to_arrow(&v, tree).unwrap();
        fn depth(t: &DataType) -> usize {
            match t {
                DataType::Struct(f) => {
                    1 + f.iter().map(|f| depth(f.data_type())).max().unwrap_or(0)
                }
                _ => 0,
            }
        }
        assert!(depth(&t) <= tree.max_depth + 2, "{}", depth(&t));
        let mut cols = columns(&v, tree).unwrap();
        let cut = crate::infer::bound::cut(&mut cols, tree).expect("the excess is reported");
        assert!(cut.too_deep > 0);
    }
}

#[cfg(test)]
mod fuzz {
    use super::tests::{blowup_header, header};
    use super::*;
    use crate::infer::bound::drop_flat;

    fn depth(cols: &[Column]) -> usize {
        cols.iter()
            .map(|c| 1 + c.children.as_deref().map_or(0, depth))
            .max()
            .unwrap_or(0)
    }

    /// Header bytes → `header_schema` + `columns`: never a panic, a tree within the limits
    /// plus one.
    #[test]
    fn avro_header() {
        let seeds = vec![
            blowup_header(4, 6),
            header(
                r#"{"type":"record","name":"r","fields":[{"name":"a","type":{"type":"array","items":{"type":"map","values":["null","string","long"]}}}]}"#,
            ),
        ];
        let tree = TreeLimits {
            max_depth: 8,
            max_nodes: 100,
        };
        crate::fuzz::run("avro_header", seeds, |b| {
            if let Ok(schema) = header_schema(b) {
                if let Ok(cols) = columns(&schema, tree) {
                    assert!(depth(&cols) <= tree.max_depth + 1);
                    assert!(drop_flat(cols) <= tree.max_nodes + 1);
                }
            }
        });
    }
}
