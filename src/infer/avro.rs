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

use super::{types, Error, Limits, Sample};
use crate::entity::Column;
use crate::store::{GetRange, ObjectStore};
use arrow_schema::{DataType, Field, Fields, TimeUnit, UnionFields, UnionMode};
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
            count = -count;
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

/// Named types (records, enums, fixed) defined so far, by full and short name.
#[derive(Default)]
struct Names(HashMap<String, DataType>);

impl Names {
    fn define(&mut self, v: &serde_json::Map<String, Value>, ns: Option<&str>, t: &DataType) {
        if let Some(name) = v.get("name").and_then(Value::as_str) {
            self.0.insert(name.to_string(), t.clone());
            let space = v.get("namespace").and_then(Value::as_str).or(ns);
            if let Some(space) = space.filter(|s| !s.is_empty() && !name.contains('.')) {
                self.0.insert(format!("{space}.{name}"), t.clone());
            }
        }
    }
}

fn to_arrow(v: &Value, ns: Option<&str>, names: &mut Names) -> Result<DataType, AvroSchemaError> {
    match v {
        Value::String(s) => primitive(s)
            .or_else(|| names.0.get(s.as_str()).cloned())
            .ok_or_else(|| AvroSchemaError::UnknownType(s.clone())),
        Value::Array(members) => {
            let non_null: Vec<&Value> = members.iter().filter(|m| *m != "null").collect();
            match non_null.as_slice() {
                [] => Ok(DataType::Null),
                [one] => to_arrow(one, ns, names),
                many => {
                    let fields: Vec<Field> = many
                        .iter()
                        .enumerate()
                        .map(|(i, m)| {
                            Ok(Field::new(
                                format!("member{i}"),
                                to_arrow(m, ns, names)?,
                                true,
                            ))
                        })
                        .collect::<Result<_, AvroSchemaError>>()?;
                    let ids: Vec<i8> = (0..fields.len() as i8).collect();
                    let uf = UnionFields::try_new(ids, fields)?;
                    Ok(DataType::Union(uf, UnionMode::Dense))
                }
            }
        }
        Value::Object(o) => {
            let t = o.get("type").and_then(Value::as_str).unwrap_or_default();
            let logical = o.get("logicalType").and_then(Value::as_str);
            let my_ns = o.get("namespace").and_then(Value::as_str).or(ns);
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
                        names.define(o, ns, &d);
                    }
                    return Ok(d);
                }
                (Some("date"), "int") => return Ok(DataType::Date32),
                (Some("time-millis"), "int") => return Ok(DataType::Time32(TimeUnit::Millisecond)),
                (Some("time-micros"), "long") => {
                    return Ok(DataType::Time64(TimeUnit::Microsecond))
                }
                (Some("timestamp-millis"), "long") => {
                    return Ok(DataType::Timestamp(
                        TimeUnit::Millisecond,
                        Some("UTC".into()),
                    ))
                }
                (Some("timestamp-micros"), "long") => {
                    return Ok(DataType::Timestamp(
                        TimeUnit::Microsecond,
                        Some("UTC".into()),
                    ))
                }
                (Some("timestamp-nanos"), "long") => {
                    return Ok(DataType::Timestamp(
                        TimeUnit::Nanosecond,
                        Some("UTC".into()),
                    ))
                }
                (Some("local-timestamp-millis"), "long") => {
                    return Ok(DataType::Timestamp(TimeUnit::Millisecond, None))
                }
                (Some("local-timestamp-micros"), "long") => {
                    return Ok(DataType::Timestamp(TimeUnit::Microsecond, None))
                }
                (Some("uuid"), "string") => return Ok(DataType::Utf8),
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
                    names.define(o, ns, &DataType::Struct(Fields::empty()));
                    let fs: Vec<Field> = fields
                        .iter()
                        .map(|f| {
                            let name = f.get("name").and_then(Value::as_str).unwrap_or_default();
                            let ft = f.get("type").ok_or(AvroSchemaError::FieldWithoutType)?;
                            Ok(Field::new(name, to_arrow(ft, my_ns, names)?, true))
                        })
                        .collect::<Result<_, AvroSchemaError>>()?;
                    let st = DataType::Struct(Fields::from(fs));
                    names.define(o, ns, &st);
                    Ok(st)
                }
                "enum" => {
                    let d =
                        DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
                    names.define(o, ns, &d);
                    Ok(d)
                }
                "fixed" => {
                    let size = o.get("size").and_then(Value::as_i64).unwrap_or(0) as i32;
                    let d = DataType::FixedSizeBinary(size);
                    names.define(o, ns, &d);
                    Ok(d)
                }
                "array" => {
                    let items = o.get("items").ok_or(AvroSchemaError::ArrayWithoutItems)?;
                    let it = to_arrow(items, my_ns, names)?;
                    Ok(DataType::List(Arc::new(Field::new("item", it, true))))
                }
                "map" => {
                    let values = o.get("values").ok_or(AvroSchemaError::MapWithoutValues)?;
                    let vt = to_arrow(values, my_ns, names)?;
                    let entries = DataType::Struct(Fields::from(vec![
                        Field::new("key", DataType::Utf8, false),
                        Field::new("value", vt, true),
                    ]));
                    Ok(DataType::Map(
                        Arc::new(Field::new("entries", entries, false)),
                        false,
                    ))
                }
                other => primitive(other)
                    .or_else(|| names.0.get(other).cloned())
                    .ok_or_else(|| AvroSchemaError::UnknownType(other.to_string())),
            }
        }
        other => Err(AvroSchemaError::NotASchema(other.clone())),
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

/// The columns of a writer schema: one per field of its top-level record.
pub(super) fn columns(schema: &Value) -> Result<Vec<Column>, AvroSchemaError> {
    let mut names = Names::default();
    match to_arrow(schema, None, &mut names)? {
        DataType::Struct(fields) => Ok(types::columns(
            fields.iter(),
            crate::infer::bound::TreeLimits::default(),
        )),
        other => Ok(types::columns(
            [&Arc::new(Field::new("value", other, true))],
            crate::infer::bound::TreeLimits::default(),
        )),
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
        match header_schema(&got.bytes) {
            Ok(schema) => return columns(&schema).map_err(|e| s.corrupt("avro", e)),
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
        let cols = columns(&schema).unwrap();
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
}
