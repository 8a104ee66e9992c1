//! Avro: the writer schema from the object container file's header; no value is read.
//!
//! The header is the magic `Obj\x01`, a metadata map (whose `avro.schema` is the schema as
//! JSON) and a 16-byte sync marker. The schema is mapped onto Arrow types and from there
//! through the one table in [`super::types`]: records are STRUCT with children, a union of
//! `null` and one type is that type, other unions are UNION (branches named as arrow-avro
//! names them), arrays ARRAY, maps MAP, enums STRING, fixed BINARY with its length, and the
//! logical types decimal (with its precision and scale), date, time-millis/micros,
//! timestamp-millis/micros/nanos (UTC), local-timestamp-millis/micros/nanos, duration
//! (INTERVAL) and uuid (STRING). The Arrow types are arrow-avro's reader's, checked type by
//! type on files from other writers (`writers`, which lists where we differ on purpose).
//!
//! DIFF(spec §5.4, §13 #6): the reference parses this schema, discards it, and types the
//! first 100,000 records' values through pandas; we use the writer schema, so an Avro
//! `string` holding `"42"` stays STRING and a nullable `long` stays INT.

use super::bound::TreeLimits;
use super::{cpu, types, Error, Limits, Sample};
use crate::entity::Column;
use crate::store::{GetRange, ObjectStore};
use arrow_schema::{
    DataType, Field, FieldRef, Fields, IntervalUnit, TimeUnit, UnionFields, UnionMode,
};
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
///
/// The types are arrow-avro's reader's for the same schema (checked against it for every
/// Avro type in `writers`, with the deliberate differences listed there): a field is
/// nullable when its type is a union of `null` and one other type, and a union's branches
/// are named as arrow-avro names them (the full name of a named type, else the type's kind).
struct Mapper {
    names: HashMap<String, Typed>,
    limits: TreeLimits,
}

/// A type, the number of column nodes it expands to, whether it admits null, and its name
/// as a union branch.
#[derive(Debug, Clone)]
struct Typed {
    t: DataType,
    size: u64,
    nullable: bool,
    branch: String,
}

impl Typed {
    /// A type of one node, not null, named `branch` in a union.
    fn leaf(t: DataType, branch: &str) -> Typed {
        Typed {
            t,
            size: 1,
            nullable: false,
            branch: branch.to_string(),
        }
    }
}

/// The full name of the named type `v` (its `name`, qualified by its `namespace` or, without
/// one, by the enclosing namespace `ns`), or `None` when it has no name.
fn full_name(v: &serde_json::Map<String, Value>, ns: Option<&str>) -> Option<String> {
    let name = v.get("name").and_then(Value::as_str)?;
    if name.contains('.') {
        return Some(name.to_string());
    }
    let space = v.get("namespace").and_then(Value::as_str).or(ns);
    Some(match space.filter(|s| !s.is_empty()) {
        Some(space) => format!("{space}.{name}"),
        None => name.to_string(),
    })
}

impl Mapper {
    /// Registers the named type `v` under its full name and its short name (references by
    /// short name from another namespace are accepted, as before: lenient, not ambiguous
    /// in practice). Returns `t` with its branch name set to the full name.
    fn define(&mut self, v: &serde_json::Map<String, Value>, ns: Option<&str>, t: Typed) -> Typed {
        let Some(full) = full_name(v, ns) else {
            return t;
        };
        let t = Typed { branch: full, ..t };
        let short = t.branch.rsplit('.').next().unwrap_or_default().to_string();
        self.names.insert(short, t.clone());
        self.names.insert(t.branch.clone(), t.clone());
        t
    }

    /// A type by name: a primitive, or a named type defined before (looked up in the
    /// enclosing namespace `ns` first, as the Avro specification resolves names).
    fn named(&self, s: &str, ns: Option<&str>) -> Result<Typed, AvroSchemaError> {
        if let Some(t) = primitive(s) {
            return Ok(Typed::leaf(t, s));
        }
        let qualified = ns
            .filter(|ns| !ns.is_empty() && !s.contains('.'))
            .and_then(|ns| self.names.get(&format!("{ns}.{s}")));
        qualified
            .or_else(|| self.names.get(s))
            .map(|t| Typed {
                nullable: false,
                ..t.clone()
            })
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
            Value::String(s) => self.named(s, ns),
            Value::Array(members) => {
                let is_null = |m: &&Value| *m == "null";
                match members.as_slice() {
                    [] => Ok(Typed::leaf(DataType::Null, "null")),
                    // Unlike arrow-avro (a UNION of one), on purpose: see `writers`.
                    [one] if !is_null(&one) => self.arrow_type(one, ns, depth),
                    // `null` and one type: that type, nullable (either order).
                    [a, b] if is_null(&a) != is_null(&b) => {
                        let one = if is_null(&a) { b } else { a };
                        let t = self.arrow_type(one, ns, depth)?;
                        Ok(Typed {
                            nullable: true,
                            ..t
                        })
                    }
                    many => {
                        let mut size = 1u64;
                        let mut fields = Vec::with_capacity(many.len().min(128));
                        for m in many {
                            let b = self.arrow_type(m, ns, depth)?;
                            size = size.saturating_add(b.size);
                            fields.push(Field::new(b.branch, b.t, b.nullable));
                        }
                        // More than 127 branches do not fit Arrow's type ids: an error.
                        let ids: Vec<i8> = (0..fields.len())
                            .map(|i| i8::try_from(i).unwrap_or(i8::MAX))
                            .collect();
                        let uf = UnionFields::try_new(ids, fields)?;
                        Ok(Typed {
                            size,
                            ..Typed::leaf(DataType::Union(uf, UnionMode::Dense), "union")
                        })
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
        let leaf = |d: DataType, branch: &str| Ok(Typed::leaf(d, branch));
        let utc = || Some("UTC".into());
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
                    return Ok(self.define(o, ns, Typed::leaf(d, "decimal")));
                }
                return leaf(d, "decimal");
            }
            (Some("duration"), "fixed") => {
                let d = DataType::Interval(IntervalUnit::MonthDayNano);
                return Ok(self.define(o, ns, Typed::leaf(d, "duration")));
            }
            (Some("date"), "int") => return leaf(DataType::Date32, "date"),
            (Some("time-millis"), "int") => {
                return leaf(DataType::Time32(TimeUnit::Millisecond), "time_millis")
            }
            (Some("time-micros"), "long") => {
                return leaf(DataType::Time64(TimeUnit::Microsecond), "time_micros")
            }
            (Some("timestamp-millis"), "long") => {
                return leaf(
                    DataType::Timestamp(TimeUnit::Millisecond, utc()),
                    "timestamp_millis_utc",
                )
            }
            (Some("timestamp-micros"), "long") => {
                return leaf(
                    DataType::Timestamp(TimeUnit::Microsecond, utc()),
                    "timestamp_micros_utc",
                )
            }
            (Some("timestamp-nanos"), "long") => {
                return leaf(
                    DataType::Timestamp(TimeUnit::Nanosecond, utc()),
                    "timestamp_nanos_utc",
                )
            }
            (Some("local-timestamp-millis"), "long") => {
                return leaf(
                    DataType::Timestamp(TimeUnit::Millisecond, None),
                    "timestamp_millis_local",
                )
            }
            (Some("local-timestamp-micros"), "long") => {
                return leaf(
                    DataType::Timestamp(TimeUnit::Microsecond, None),
                    "timestamp_micros_local",
                )
            }
            (Some("local-timestamp-nanos"), "long") => {
                return leaf(
                    DataType::Timestamp(TimeUnit::Nanosecond, None),
                    "timestamp_nanos_local",
                )
            }
            // Unlike arrow-avro (16 bytes), on purpose: the file holds text. See `writers`.
            (Some("uuid"), "string") => return leaf(DataType::Utf8, "uuid"),
            _ => {}
        }
        match t {
            "record" | "error" => {
                let fields = o
                    .get("fields")
                    .and_then(Value::as_array)
                    .ok_or(AvroSchemaError::RecordWithoutFields)?;
                // Its fields' names resolve in its own namespace (from a dotted name, or
                // its `namespace`, or the enclosing one).
                let full = full_name(o, ns);
                let my_ns = full
                    .as_deref()
                    .and_then(|f| f.rsplit_once('.'))
                    .map(|(space, _)| space.to_string());
                let my_ns = my_ns.as_deref().or(ns);
                // Defined before its fields, so that a recursive reference resolves
                // (to an empty struct: a schema cannot be infinitely deep).
                self.define(
                    o,
                    ns,
                    Typed::leaf(DataType::Struct(Fields::empty()), "record"),
                );
                let cap = self.limits.max_nodes as u64 + 1;
                let keep_fields = depth <= self.limits.max_depth;
                let mut size = 1u64;
                let mut fs: Vec<Field> = Vec::new();
                for f in fields {
                    let name = f.get("name").and_then(Value::as_str).unwrap_or_default();
                    let ft = f.get("type").ok_or(AvroSchemaError::FieldWithoutType)?;
                    // Walked even when not kept: it may define named types used later.
                    let typed = self.arrow_type(ft, my_ns, depth + 1)?;
                    if keep_fields && size <= cap {
                        size = size.saturating_add(typed.size);
                        fs.push(Field::new(name, typed.t, typed.nullable));
                    }
                }
                let st = Typed {
                    size,
                    ..Typed::leaf(DataType::Struct(Fields::from(fs)), "record")
                };
                Ok(self.define(o, ns, st))
            }
            "enum" => {
                let d = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
                Ok(self.define(o, ns, Typed::leaf(d, "enum")))
            }
            "fixed" => {
                let size = o.get("size").and_then(Value::as_i64).unwrap_or(0) as i32;
                let d = DataType::FixedSizeBinary(size);
                Ok(self.define(o, ns, Typed::leaf(d, "fixed")))
            }
            "array" => {
                let items = o.get("items").ok_or(AvroSchemaError::ArrayWithoutItems)?;
                // A list's struct items give the list's own children: same depth.
                let it = self.arrow_type(items, ns, depth)?;
                Ok(Typed {
                    size: it.size.saturating_add(1),
                    ..Typed::leaf(
                        DataType::List(Arc::new(Field::new("item", it.t, it.nullable))),
                        "array",
                    )
                })
            }
            "map" => {
                let values = o.get("values").ok_or(AvroSchemaError::MapWithoutValues)?;
                let vt = self.arrow_type(values, ns, depth + 1)?;
                let entries = DataType::Struct(Fields::from(vec![
                    Field::new("key", DataType::Utf8, false),
                    Field::new("value", vt.t, vt.nullable),
                ]));
                Ok(Typed {
                    size: vt.size.saturating_add(2),
                    ..Typed::leaf(
                        DataType::Map(Arc::new(Field::new("entries", entries, false)), false),
                        "map",
                    )
                })
            }
            other => self.named(other, ns),
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
    Ok(m.arrow_type(schema, None, 0)?.t)
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
    fn names_resolve_in_their_namespace_first() {
        // Two `R`s in two namespaces; the short reference inside `b` means `b.R`, and a
        // type defined by its full name is found by its short name in its namespace.
        let schema = json!({
            "type": "record", "name": "top", "namespace": "a",
            "fields": [
                {"name": "ra", "type": {"type": "fixed", "name": "R", "size": 1}},
                {"name": "inner", "type": {
                    "type": "record", "name": "b.Inner",
                    "fields": [
                        {"name": "rb", "type": {"type": "fixed", "name": "R", "size": 2}},
                        {"name": "again", "type": "R"},
                    ]
                }},
                {"name": "ra_again", "type": "R"},
                {"name": "inner_again", "type": "Inner"},
            ]
        });
        let DataType::Struct(top) = to_arrow(&schema, TreeLimits::default()).unwrap() else {
            panic!("not a record")
        };
        let DataType::Struct(inner) = top[1].data_type() else {
            panic!("not a record")
        };
        assert_eq!(inner[1].data_type(), &DataType::FixedSizeBinary(2));
        assert_eq!(top[2].data_type(), &DataType::FixedSizeBinary(1));
        assert_eq!(top[3].data_type(), top[1].data_type());
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

    use crate::infer::bound::depth;

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

/// Our mapping checked against arrow-avro's reader, field by field, on object container
/// files written by others: Apache Avro's Python library (`testdata/avro_types.avro`, every
/// Avro type and logical type, see `scripts/fixtures/avro_types.py`), fastavro (the same
/// schema with every name written in full) and arrow-avro's own writer (from an Arrow
/// schema). The types compared are Arrow `DataType`s with field metadata removed: arrow-avro
/// keeps the Avro names (`avro.name`, `avro.namespace`, `avro.enum.symbols`) in it for its
/// writer's round trip, and no column of ours carries field metadata.
///
/// Where we differ on purpose:
///
/// | Avro type | ours | arrow-avro 60 | why |
/// |---|---|---|---|
/// | `string` + `uuid` | `Utf8` (STRING, `string`) | `FixedSizeBinary(16)` | the file holds the UUID's text (Avro spec); OpenMetadata and the reference show a string, not 16 bytes |
/// | a one-branch union `["long"]` | the branch (`Int64`) | `Union` of one | it holds exactly the branch's values; UNION would hide the type |
/// | `timestamp-*` | tz `UTC` | tz `+00:00` by default, `UTC` with `Tz::Utc` (compared so) | `timestamp[ms, tz=UTC]` is pyarrow's and the reference's spelling |
/// | `enum` | `Dictionary(Int32, Utf8)` | the same | (no difference: [`types::columns`] types it as its values, STRING) |
/// | names written in full (`"name": "ns.inner.Inner"`, fastavro) | resolved | refused (`Failed to resolve`) | the Avro spec allows both spellings |
#[cfg(test)]
mod writers {
    use super::*;
    use arrow_avro::codec::Tz;
    use arrow_avro::reader::ReaderBuilder;
    use pretty_assertions::assert_eq;

    const APACHE: &[u8] = include_bytes!("testdata/avro_types.avro");
    const FASTAVRO: &[u8] = include_bytes!("testdata/avro_types_fastavro.avro");

    /// `t` without field metadata, at any depth.
    fn plain(t: &DataType) -> DataType {
        let field = |f: &Field| Field::new(f.name(), plain(f.data_type()), f.is_nullable());
        match t {
            DataType::Struct(fs) => DataType::Struct(fs.iter().map(|f| field(f)).collect()),
            DataType::List(f) => DataType::List(Arc::new(field(f))),
            DataType::Map(f, sorted) => DataType::Map(Arc::new(field(f)), *sorted),
            DataType::Union(uf, mode) => {
                let (ids, fs): (Vec<i8>, Vec<Field>) =
                    uf.iter().map(|(id, f)| (id, field(f))).unzip();
                DataType::Union(UnionFields::try_new(ids, fs).unwrap(), *mode)
            }
            other => other.clone(),
        }
    }

    /// Our type of each top-level field of an object container file.
    fn ours(file: &[u8]) -> Vec<(String, DataType)> {
        match to_arrow(&header_schema(file).unwrap(), TreeLimits::default()).unwrap() {
            DataType::Struct(f) => f
                .iter()
                .map(|f| (f.name().clone(), f.data_type().clone()))
                .collect(),
            other => panic!("{other:?}"),
        }
    }

    /// arrow-avro's reader's type of each top-level field.
    fn theirs(file: &[u8]) -> Vec<(String, DataType)> {
        let reader = ReaderBuilder::new()
            .with_tz(Tz::Utc)
            .build(std::io::Cursor::new(file))
            .unwrap();
        let schema = reader.schema();
        // The rows decode too: the file is what its header says.
        for batch in reader {
            batch.unwrap();
        }
        schema
            .fields()
            .iter()
            .map(|f| (f.name().clone(), plain(f.data_type())))
            .collect()
    }

    #[test]
    fn every_avro_type_maps_as_arrow_avro_reads_it_except_the_listed_differences() {
        let mut theirs = theirs(APACHE);
        let ours = ours(APACHE);
        assert_eq!(ours.len(), 42);
        // The deliberate differences (see the table above), then everything else equal.
        let mut deliberate = vec![];
        for (name, t) in &mut theirs {
            let mine = match name.as_str() {
                "u" => DataType::Utf8,
                "one_branch" => DataType::Int64,
                _ => continue,
            };
            deliberate.push((name.clone(), t.clone()));
            *t = mine;
        }
        assert_eq!(
            deliberate,
            vec![
                ("one_branch".to_string(), {
                    let uf = UnionFields::try_new(
                        vec![0],
                        vec![Field::new("long", DataType::Int64, false)],
                    )
                    .unwrap();
                    DataType::Union(uf, UnionMode::Dense)
                }),
                ("u".to_string(), DataType::FixedSizeBinary(16)),
            ]
        );
        for ((name, o), (_, t)) in ours.iter().zip(&theirs) {
            assert_eq!(o, t, "field {name}");
        }
        assert_eq!(ours, theirs);
    }

    #[test]
    fn names_written_in_full_map_as_names_with_a_namespace() {
        // arrow-avro refuses this spelling; ours must be the same types as the other's.
        assert!(ReaderBuilder::new()
            .build(std::io::Cursor::new(FASTAVRO))
            .is_err());
        assert_eq!(ours(FASTAVRO), ours(APACHE));
    }

    #[test]
    fn the_columns_of_every_avro_type() {
        let schema = header_schema(APACHE).unwrap();
        let cols = columns(&schema, TreeLimits::default()).unwrap();
        let got: Vec<(&str, &str, &str)> = cols
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.data_type.as_str(),
                    c.data_type_display.as_deref().unwrap(),
                )
            })
            .collect();
        let inner = "struct<x: int64, deep: struct<z: string>>";
        let want: Vec<(&str, &str, String)> = vec![
            ("n", "NULL", "null".into()),
            ("b", "BOOLEAN", "bool".into()),
            ("i", "INT", "int32".into()),
            ("l", "INT", "int64".into()),
            ("f", "FLOAT", "float".into()),
            ("d", "FLOAT", "double".into()),
            ("by", "BINARY", "binary".into()),
            ("s", "STRING", "string".into()),
            ("rec", "STRUCT", inner.into()),
            ("rec_again", "STRUCT", inner.into()),
            ("e", "STRING", "string".into()),
            ("e_again", "STRING", "string".into()),
            ("arr", "ARRAY", "list<item: int32>".into()),
            ("arr_rec", "ARRAY", format!("list<item: {inner}>")),
            ("arr_opt", "ARRAY", "list<item: string>".into()),
            ("arr_arr", "ARRAY", "list<item: list<item: int64>>".into()),
            ("m", "MAP", "map<string, int64>".into()),
            ("m_rec", "MAP", format!("map<string, {inner}>")),
            ("fx", "BINARY", "fixed_size_binary[8]".into()),
            ("fx_again", "BINARY", "fixed_size_binary[8]".into()),
            ("null_first", "INT", "int64".into()),
            ("null_last", "STRING", "string".into()),
            ("null_rec", "STRUCT", inner.into()),
            (
                "multi",
                "UNION",
                r#"union(dense, 0: ("int": non-null int32), 1: ("string": non-null utf8))"#.into(),
            ),
            (
                "multi_null",
                "UNION",
                r#"union(dense, 0: ("null": non-null null), 1: ("int": non-null int32), 2: ("string": non-null utf8))"#.into(),
            ),
            ("multi_named", "UNION", String::new()),
            ("one_branch", "INT", "int64".into()),
            ("dec_bytes", "DECIMAL", "decimal128(10, 2)".into()),
            ("dec_no_scale", "DECIMAL", "decimal128(5, 0)".into()),
            ("dec_fixed", "DECIMAL", "decimal128(38, 4)".into()),
            ("dec_big", "DECIMAL", "decimal256(50, 5)".into()),
            ("u", "STRING", "string".into()),
            ("date", "DATE", "date32[day]".into()),
            ("t_ms", "TIME", "time32[ms]".into()),
            ("t_us", "TIME", "time64[us]".into()),
            ("ts_ms", "DATETIME", "timestamp[ms, tz=UTC]".into()),
            ("ts_us", "DATETIME", "timestamp[us, tz=UTC]".into()),
            ("ts_ns", "DATETIME", "timestamp[ns, tz=UTC]".into()),
            ("lts_ms", "DATETIME", "timestamp[ms]".into()),
            ("lts_us", "DATETIME", "timestamp[us]".into()),
            ("lts_ns", "DATETIME", "timestamp[ns]".into()),
            ("dur", "INTERVAL", "month_day_nano_interval".into()),
        ];
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            if w.0 == "multi_named" {
                assert_eq!((g.0, g.1), (w.0, w.1));
                assert!(
                    g.2.starts_with(r#"union(dense, 0: ("ns.inner.inner": "#),
                    "{}",
                    g.2
                );
                continue;
            }
            assert_eq!(*g, (w.0, w.1, w.2.as_str()));
        }
        let dec = &cols[29];
        assert_eq!((dec.precision, dec.scale), (Some(38), Some(4)));
    }

    #[test]
    fn files_from_arrow_avros_writer_map_as_its_reader_reads_them() {
        use arrow_schema::Schema;
        let utc = Some("UTC".into());
        let strukt = DataType::Struct(Fields::from(vec![
            Field::new("x", DataType::Int64, false),
            Field::new("y", DataType::Utf8, true),
        ]));
        let fields = vec![
            Field::new("b", DataType::Boolean, false),
            Field::new("i", DataType::Int32, false),
            Field::new("l", DataType::Int64, true),
            Field::new("f", DataType::Float32, false),
            Field::new("d", DataType::Float64, false),
            Field::new("by", DataType::Binary, false),
            Field::new("s", DataType::Utf8, true),
            Field::new("st", strukt.clone(), true),
            Field::new(
                "li",
                DataType::List(Arc::new(Field::new("item", DataType::Int32, true))),
                false,
            ),
            Field::new(
                "ls",
                DataType::List(Arc::new(Field::new("item", strukt, false))),
                false,
            ),
            Field::new_map(
                "m",
                "entries",
                Field::new("key", DataType::Utf8, false),
                Field::new("value", DataType::Float64, true),
                false,
                false,
            ),
            Field::new("fx", DataType::FixedSizeBinary(4), false),
            Field::new("dec", DataType::Decimal128(10, 2), false),
            Field::new("date", DataType::Date32, false),
            Field::new("t_ms", DataType::Time32(TimeUnit::Millisecond), false),
            Field::new("t_us", DataType::Time64(TimeUnit::Microsecond), false),
            Field::new(
                "ts_ms",
                DataType::Timestamp(TimeUnit::Millisecond, utc.clone()),
                false,
            ),
            Field::new(
                "ts_us",
                DataType::Timestamp(TimeUnit::Microsecond, utc.clone()),
                false,
            ),
            Field::new(
                "ts_ns",
                DataType::Timestamp(TimeUnit::Nanosecond, utc),
                false,
            ),
            Field::new(
                "lts_ms",
                DataType::Timestamp(TimeUnit::Millisecond, None),
                false,
            ),
            Field::new(
                "lts_us",
                DataType::Timestamp(TimeUnit::Microsecond, None),
                false,
            ),
            Field::new(
                "lts_ns",
                DataType::Timestamp(TimeUnit::Nanosecond, None),
                false,
            ),
            Field::new("dur", DataType::Interval(IntervalUnit::MonthDayNano), false),
        ];
        let mut w = arrow_avro::writer::AvroWriter::new(Vec::new(), Schema::new(fields)).unwrap();
        w.finish().unwrap();
        let file = w.into_inner();
        assert_eq!(ours(&file), theirs(&file));
    }
}
