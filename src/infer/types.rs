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

use super::bound::{Budget, TreeLimits};
use crate::entity::{Column, MAX_NAME_LEN};
use arrow_schema::{DataType, Field, FieldRef, Fields, IntervalUnit, TimeUnit};

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

/// Longest `dataTypeDisplay` kept, in bytes. A nested type's spelling holds every type
/// below it, so a deep or shared (Avro named types) tree could spell to gigabytes; past this
/// length the spelling stops and ends with `…`. Healthy types spell to far less.
pub const MAX_DISPLAY: usize = 64 * 1024;

/// pyarrow's spelling of an Arrow type, cut at [`MAX_DISPLAY`] bytes.
pub fn display(t: &DataType) -> String {
    let mut out = String::new();
    display_into(t, &mut out);
    if out.len() > MAX_DISPLAY {
        let mut at = MAX_DISPLAY;
        while !out.is_char_boundary(at) {
            at -= 1;
        }
        out.truncate(at);
        out.push('…');
    }
    out
}

/// Appends the spelling of `t` to `out`, stopping once `out` is past [`MAX_DISPLAY`]: the
/// work is bounded by the cap, not by the size of the (possibly shared) type tree.
fn display_into(t: &DataType, out: &mut String) {
    use std::fmt::Write;
    if out.len() > MAX_DISPLAY {
        return;
    }
    // `write!` into a String cannot fail.
    let _ = match t {
        DataType::Null => write!(out, "null"),
        DataType::Boolean => write!(out, "bool"),
        DataType::Int8 => write!(out, "int8"),
        DataType::Int16 => write!(out, "int16"),
        DataType::Int32 => write!(out, "int32"),
        DataType::Int64 => write!(out, "int64"),
        DataType::UInt8 => write!(out, "uint8"),
        DataType::UInt16 => write!(out, "uint16"),
        DataType::UInt32 => write!(out, "uint32"),
        DataType::UInt64 => write!(out, "uint64"),
        DataType::Float16 => write!(out, "halffloat"),
        DataType::Float32 => write!(out, "float"),
        DataType::Float64 => write!(out, "double"),
        DataType::Utf8 | DataType::Utf8View => write!(out, "string"),
        DataType::LargeUtf8 => write!(out, "large_string"),
        DataType::Binary | DataType::BinaryView => write!(out, "binary"),
        DataType::LargeBinary => write!(out, "large_binary"),
        DataType::FixedSizeBinary(n) => write!(out, "fixed_size_binary[{n}]"),
        DataType::Date32 => write!(out, "date32[day]"),
        DataType::Date64 => write!(out, "date64[ms]"),
        DataType::Time32(u) => write!(out, "time32[{}]", unit(u)),
        DataType::Time64(u) => write!(out, "time64[{}]", unit(u)),
        DataType::Duration(u) => write!(out, "duration[{}]", unit(u)),
        DataType::Interval(IntervalUnit::MonthDayNano) => write!(out, "month_day_nano_interval"),
        DataType::Interval(IntervalUnit::YearMonth) => write!(out, "month_interval"),
        DataType::Interval(IntervalUnit::DayTime) => write!(out, "day_time_interval"),
        DataType::Timestamp(u, None) => write!(out, "timestamp[{}]", unit(u)),
        DataType::Timestamp(u, Some(tz)) => write!(out, "timestamp[{}, tz={tz}]", unit(u)),
        DataType::Decimal32(p, s) => write!(out, "decimal32({p}, {s})"),
        DataType::Decimal64(p, s) => write!(out, "decimal64({p}, {s})"),
        DataType::Decimal128(p, s) => write!(out, "decimal128({p}, {s})"),
        DataType::Decimal256(p, s) => write!(out, "decimal256({p}, {s})"),
        DataType::List(f) | DataType::ListView(f) => {
            let _ = write!(out, "list<{}: ", f.name());
            display_into(f.data_type(), out);
            write!(out, ">")
        }
        DataType::LargeList(f) | DataType::LargeListView(f) => {
            let _ = write!(out, "large_list<{}: ", f.name());
            display_into(f.data_type(), out);
            write!(out, ">")
        }
        DataType::FixedSizeList(f, n) => {
            let _ = write!(out, "fixed_size_list<{}: ", f.name());
            display_into(f.data_type(), out);
            write!(out, ">[{n}]")
        }
        DataType::Struct(fields) => {
            out.push_str("struct<");
            for (i, f) in fields.iter().enumerate() {
                if out.len() > MAX_DISPLAY {
                    return;
                }
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{}: ", f.name());
                display_into(f.data_type(), out);
            }
            write!(out, ">")
        }
        DataType::Map(f, _) => match f.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                out.push_str("map<");
                display_into(kv[0].data_type(), out);
                out.push_str(", ");
                display_into(kv[1].data_type(), out);
                write!(out, ">")
            }
            other => {
                out.push_str("map<");
                display_into(other, out);
                write!(out, ">")
            }
        },
        DataType::Dictionary(k, v) => {
            out.push_str("dictionary<values=");
            display_into(v, out);
            out.push_str(", indices=");
            display_into(k, out);
            write!(out, ", ordered=0>")
        }
        other => write!(out, "{}", other.to_string().to_lowercase()),
    };
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

/// The columns of Arrow fields (a schema's top level), built within `limits`: at most one
/// node and one level past them, so that [`super::bound::cut`] sees the excess and reports it. The
/// recursion goes no deeper than `max_depth + 1`, and a type tree with shared parts (Avro
/// named types) is never expanded past the node budget.
pub fn columns<'a>(
    fields: impl IntoIterator<Item = &'a FieldRef>,
    limits: TreeLimits,
) -> Vec<Column> {
    let mut budget = limits.budget();
    fields_within(fields, 1, &mut budget)
}

/// The columns of `fields` at `depth` (top level is 1), while the budget lasts.
fn fields_within<'a>(
    fields: impl IntoIterator<Item = &'a FieldRef>,
    depth: usize,
    budget: &mut Budget,
) -> Vec<Column> {
    let mut out = Vec::new();
    for f in fields {
        match column_at(f.name(), f.data_type(), depth, budget) {
            Some(c) => out.push(c),
            None => break,
        }
    }
    out
}

/// The children of a node at `depth`, or none when the budget forbids the next level.
fn children_within(fields: &Fields, depth: usize, budget: &mut Budget) -> Option<Vec<Column>> {
    budget
        .descend(depth)
        .then(|| fields_within(fields.iter(), depth + 1, budget))
}

/// The column of an Arrow field at `depth`, with children for nested types; `None` once
/// the budget refuses a node.
fn column_at(name: &str, t: &DataType, depth: usize, budget: &mut Budget) -> Option<Column> {
    if !budget.take() {
        return None;
    }
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
        DataType::Struct(fields) => c.children = children_within(fields, depth, budget),
        DataType::Map(f, _) => {
            if let DataType::Struct(kv) = f.data_type() {
                c.children = children_within(kv, depth, budget);
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
            c.children = children_within(fields, depth, budget);
        }
    }
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// The column of one field, under the default limits.
    fn column(name: &str, t: &DataType) -> Column {
        let f: FieldRef = Arc::new(Field::new(name, t.clone(), true));
        columns([&f], TreeLimits::default()).remove(0)
    }

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
            // pyarrow's names; an Avro `duration` is a month-day-nano interval.
            (
                DataType::Interval(IntervalUnit::MonthDayNano),
                "INTERVAL",
                "month_day_nano_interval",
            ),
            (
                DataType::Interval(IntervalUnit::YearMonth),
                "INTERVAL",
                "month_interval",
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
