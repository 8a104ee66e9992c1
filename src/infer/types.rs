//! The one table from Arrow types to OpenMetadata column types.
//!
//! Parquet (and, through Arrow, every typed format) maps here. `dataTypeDisplay` is the
//! type's pyarrow spelling (`int64`, `timestamp[ms, tz=UTC]`, `list<item: int64>`), as the
//! reference shows it.
//!
//! DIFF(spec §5.5, §13 #4): the reference types parquet after a pandas round-trip. We map
//! the file's declared types: a nullable int stays INT (the reference says FLOAT), decimals
//! keep their declared precision and scale, fixed-size binary keeps its length
//! (`dataLength`), `large_string` is STRING (not UNKNOWN), time-of-day is TIME (not
//! DATETIME), maps are MAP, lists of structs carry their `children`, and dictionary columns
//! take their value type.

use crate::entity::{Column, MAX_NAME_LEN};
use arrow_schema::{DataType, Field, TimeUnit};

/// The OpenMetadata `dataType` of an Arrow type.
pub fn om_type(t: &DataType) -> &'static str {
    match t {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::Duration(_) => "INT",
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => "UINT",
        DataType::Float16 | DataType::Float32 | DataType::Float64 => "FLOAT",
        DataType::Boolean => "BOOLEAN",
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "STRING",
        DataType::Timestamp(_, _) | DataType::Date64 => "DATETIME",
        DataType::Date32 => "DATE",
        DataType::Time32(_) | DataType::Time64(_) => "TIME",
        DataType::Decimal32(_, _)
        | DataType::Decimal64(_, _)
        | DataType::Decimal128(_, _)
        | DataType::Decimal256(_, _) => "DECIMAL",
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => "BINARY",
        DataType::Struct(_) => "STRUCT",
        DataType::List(_)
        | DataType::LargeList(_)
        | DataType::FixedSizeList(_, _)
        | DataType::ListView(_)
        | DataType::LargeListView(_) => "ARRAY",
        DataType::Map(_, _) => "MAP",
        DataType::Dictionary(_, v) => om_type(v),
        DataType::Null => "NULL",
        DataType::Interval(_) => "INTERVAL",
        DataType::Union(_, _) => "UNION",
        _ => "UNKNOWN",
    }
}

fn unit(u: &TimeUnit) -> &'static str {
    match u {
        TimeUnit::Second => "s",
        TimeUnit::Millisecond => "ms",
        TimeUnit::Microsecond => "us",
        TimeUnit::Nanosecond => "ns",
    }
}

/// pyarrow's spelling of an Arrow type.
pub fn display(t: &DataType) -> String {
    match t {
        DataType::Null => "null".into(),
        DataType::Boolean => "bool".into(),
        DataType::Int8 => "int8".into(),
        DataType::Int16 => "int16".into(),
        DataType::Int32 => "int32".into(),
        DataType::Int64 => "int64".into(),
        DataType::UInt8 => "uint8".into(),
        DataType::UInt16 => "uint16".into(),
        DataType::UInt32 => "uint32".into(),
        DataType::UInt64 => "uint64".into(),
        DataType::Float16 => "halffloat".into(),
        DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Utf8 | DataType::Utf8View => "string".into(),
        DataType::LargeUtf8 => "large_string".into(),
        DataType::Binary | DataType::BinaryView => "binary".into(),
        DataType::LargeBinary => "large_binary".into(),
        DataType::FixedSizeBinary(n) => format!("fixed_size_binary[{n}]"),
        DataType::Date32 => "date32[day]".into(),
        DataType::Date64 => "date64[ms]".into(),
        DataType::Time32(u) => format!("time32[{}]", unit(u)),
        DataType::Time64(u) => format!("time64[{}]", unit(u)),
        DataType::Duration(u) => format!("duration[{}]", unit(u)),
        DataType::Timestamp(u, None) => format!("timestamp[{}]", unit(u)),
        DataType::Timestamp(u, Some(tz)) => format!("timestamp[{}, tz={tz}]", unit(u)),
        DataType::Decimal32(p, s) => format!("decimal32({p}, {s})"),
        DataType::Decimal64(p, s) => format!("decimal64({p}, {s})"),
        DataType::Decimal128(p, s) => format!("decimal128({p}, {s})"),
        DataType::Decimal256(p, s) => format!("decimal256({p}, {s})"),
        DataType::List(f) | DataType::ListView(f) => {
            format!("list<{}: {}>", f.name(), display(f.data_type()))
        }
        DataType::LargeList(f) | DataType::LargeListView(f) => {
            format!("large_list<{}: {}>", f.name(), display(f.data_type()))
        }
        DataType::FixedSizeList(f, n) => format!(
            "fixed_size_list<{}: {}>[{n}]",
            f.name(),
            display(f.data_type())
        ),
        DataType::Struct(fields) => format!(
            "struct<{}>",
            fields
                .iter()
                .map(|f| format!("{}: {}", f.name(), display(f.data_type())))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        DataType::Map(f, _) => match f.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                format!(
                    "map<{}, {}>",
                    display(kv[0].data_type()),
                    display(kv[1].data_type())
                )
            }
            other => format!("map<{}>", display(other)),
        },
        DataType::Dictionary(k, v) => format!(
            "dictionary<values={}, indices={}, ordered=0>",
            display(v),
            display(k)
        ),
        other => other.to_string().to_lowercase(),
    }
}

/// Truncates a source name to the server's limit; the full name goes to `displayName`.
pub fn named(name: &str, data_type: &str) -> Column {
    let short: String = name.chars().take(MAX_NAME_LEN).collect();
    let mut c = Column::new(&short, data_type);
    c.display_name = Some(name.to_string());
    c
}

fn list_item(t: &DataType) -> Option<&Field> {
    match t {
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::FixedSizeList(f, _)
        | DataType::ListView(f)
        | DataType::LargeListView(f) => Some(f),
        _ => None,
    }
}

/// The column of an Arrow field, with children for nested types.
pub fn column(name: &str, t: &DataType) -> Column {
    let t = match t {
        DataType::Dictionary(_, v) => v.as_ref(),
        other => other,
    };
    let mut c = named(name, om_type(t));
    c.data_type_display = Some(display(t));
    match t {
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s) => {
            c.precision = Some(u32::from(*p));
            c.scale = Some((*s).max(0) as u32);
        }
        DataType::FixedSizeBinary(n) => c.data_length = Some(i64::from(*n)),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => c.data_length = Some(-1),
        DataType::Struct(fields) => {
            c.children = Some(
                fields
                    .iter()
                    .map(|f| column(f.name(), f.data_type()))
                    .collect(),
            );
        }
        DataType::Map(f, _) => {
            if let DataType::Struct(kv) = f.data_type() {
                c.children = Some(kv.iter().map(|f| column(f.name(), f.data_type())).collect());
            }
        }
        _ => {}
    }
    if let Some(item) = list_item(t) {
        let inner = match item.data_type() {
            DataType::Dictionary(_, v) => v.as_ref(),
            other => other,
        };
        c.array_data_type = Some(om_type(inner).to_string());
        if let DataType::Struct(fields) = inner {
            c.children = Some(
                fields
                    .iter()
                    .map(|f| column(f.name(), f.data_type()))
                    .collect(),
            );
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::Fields;
    use std::sync::Arc;

    #[test]
    fn scalar_types() {
        let cases: Vec<(DataType, &str, &str)> = vec![
            (DataType::Int64, "INT", "int64"),
            (DataType::UInt8, "UINT", "uint8"),
            (DataType::Float64, "FLOAT", "double"),
            (DataType::Boolean, "BOOLEAN", "bool"),
            (DataType::Utf8, "STRING", "string"),
            (DataType::LargeUtf8, "STRING", "large_string"),
            (DataType::Date32, "DATE", "date32[day]"),
            (
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                "DATETIME",
                "timestamp[ms, tz=UTC]",
            ),
            (
                DataType::Time64(TimeUnit::Microsecond),
                "TIME",
                "time64[us]",
            ),
            (DataType::Decimal128(10, 2), "DECIMAL", "decimal128(10, 2)"),
            (
                DataType::FixedSizeBinary(16),
                "BINARY",
                "fixed_size_binary[16]",
            ),
        ];
        for (t, om, disp) in cases {
            let c = column("c", &t);
            assert_eq!(
                (c.data_type.as_str(), c.data_type_display.as_deref()),
                (om, Some(disp)),
                "{t:?}"
            );
        }
        let d = column("d", &DataType::Decimal128(10, 2));
        assert_eq!((d.precision, d.scale), (Some(10), Some(2)));
        assert_eq!(
            column("b", &DataType::FixedSizeBinary(16)).data_length,
            Some(16)
        );
    }

    #[test]
    fn nested_types_have_children() {
        let inner = DataType::Struct(Fields::from(vec![
            Field::new("x", DataType::Int64, true),
            Field::new("y", DataType::Utf8, true),
        ]));
        let c = column("s", &inner);
        assert_eq!(c.data_type, "STRUCT");
        assert_eq!(
            c.data_type_display.as_deref(),
            Some("struct<x: int64, y: string>")
        );
        let kids: Vec<_> = c
            .children
            .unwrap()
            .iter()
            .map(|k| (k.name.clone(), k.data_type.clone()))
            .collect();
        assert_eq!(
            kids,
            vec![("x".into(), "INT".into()), ("y".into(), "STRING".into())]
        );

        let l = column(
            "l",
            &DataType::List(Arc::new(Field::new("item", inner, true))),
        );
        assert_eq!(l.data_type, "ARRAY");
        assert_eq!(l.array_data_type.as_deref(), Some("STRUCT"));
        assert_eq!(l.children.unwrap().len(), 2);
    }

    #[test]
    fn long_names_are_truncated_with_the_full_name_displayed() {
        let long = "n".repeat(300);
        let c = column(&long, &DataType::Int32);
        assert_eq!(c.name.len(), 256);
        assert_eq!(c.display_name.as_deref(), Some(long.as_str()));
    }
}
