//! Parquet: the schema from the footer alone.
//!
//! One speculative read of the object's tail (`parquet_prefetch` bytes) usually holds the
//! whole footer; a second ranged read fetches the rest only when it does not, and only after
//! the claimed footer length has been checked against `max_footer`, so that a hostile file
//! cannot force a huge read. No data page is ever read. The same reads work on a parquet
//! file stored uncompressed inside a zip archive (a byte range of the archive).
//!
//! The footer is foreign bytes: before parquet-rs decodes it, [`schema`] measures its schema
//! with a small Thrift scanner ([`thrift`]) and, when the tree is larger than the column
//! limits allow, hands parquet-rs a footer with a trimmed schema instead (parquet-rs builds
//! schemas by recursion, and holds every element several times). When parquet-rs refuses a
//! footer for a part other than the schema (a row group, statistics), the schema alone is
//! decoded. Decoding runs on the blocking pool ([`cpu::blocking`]).

mod schema;
mod thrift;

use super::bound::TreeLimits;
use super::{cpu, types, Error, Limits, Sample};
use crate::entity::Column;
use crate::store::{GetRange, ObjectStore};
use parquet::file::metadata::ParquetMetaDataReader;
use schema::{FileMeta, Keep};

pub use schema::ParquetSchemaError;
pub use thrift::ThriftError;

const FOOTER_TAIL: u64 = 8;

pub(super) async fn infer(
    store: &dyn ObjectStore,
    s: Sample<'_>,
    limits: &Limits,
) -> Result<Vec<Column>, Error> {
    infer_range(store, s.bucket, &s.object.key, 0, s.object.size, limits)
        .await
        .map_err(|e| match e {
            RangeError::Store(e) => Error::Store(e),
            RangeError::Footer(f) => s.corrupt("parquet", f),
        })
}

/// Why the bytes are not a parquet file (as far as its footer tells).
#[derive(Debug, thiserror::Error)]
pub enum FooterError {
    /// Smaller than the magic, the footer length and the magic again.
    #[error("{0} bytes is too small for a parquet file")]
    TooSmall(u64),
    /// Not a parquet file.
    #[error("no PAR1 magic at the end")]
    NoMagic,
    /// The footer length cannot be read.
    #[error("short footer")]
    Short,
    /// A footer longer than `max_footer`: not read, a hostile file could claim any size.
    #[error("footer claims {claimed} bytes, over the {cap} limit")]
    OverCap {
        /// The length the file claims.
        claimed: u64,
        /// The cap.
        cap: u64,
    },
    /// A footer longer than the file.
    #[error("footer claims {claimed} bytes in a {size}-byte file")]
    OverSize {
        /// The length the file claims.
        claimed: u64,
        /// The file's size.
        size: u64,
    },
    /// The second read did not return what the first one promised.
    #[error("the object changed while it was read")]
    Changed,
    /// The bytes `base..base + size` asked for end past 2^64 (a caller's bug, or a hostile
    /// archive record that got past its checks).
    #[error("a parquet file of {size} bytes at offset {base} ends past 2^64")]
    OutOfRange {
        /// Where the file starts in the object.
        base: u64,
        /// Its size.
        size: u64,
    },
    /// The footer or its schema does not decode.
    #[error(transparent)]
    Decode(#[from] parquet::errors::ParquetError),
    /// The footer's schema cannot be measured (checked before parquet-rs sees it).
    #[error("the footer's schema: {0}")]
    Schema(#[from] ParquetSchemaError),
    /// The decoder panicked (caught; a bug in s3meta).
    #[error(transparent)]
    Panicked(#[from] cpu::Panicked),
}

/// Why [`infer_range`] failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RangeError {
    /// A read failed.
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    /// The bytes are not a parquet file.
    #[error(transparent)]
    Footer(#[from] FooterError),
}

/// The columns of a parquet file held in bytes `base..base + size` of an object.
pub(crate) async fn infer_range(
    store: &dyn ObjectStore,
    bucket: &str,
    key: &str,
    base: u64,
    size: u64,
    limits: &Limits,
) -> Result<Vec<Column>, RangeError> {
    if size < FOOTER_TAIL + 4 {
        return Err(FooterError::TooSmall(size).into());
    }
    let end = base
        .checked_add(size)
        .ok_or(FooterError::OutOfRange { base, size })?;
    let first = store
        .get_range(
            bucket,
            key,
            GetRange::Bounded(end - limits.parquet_prefetch.min(size), end),
        )
        .await?;
    let tail = &first.bytes;
    let footer_len = footer_len(tail, size, limits)?;
    let footer = if footer_len + FOOTER_TAIL <= tail.len() as u64 {
        let end = tail.len() - FOOTER_TAIL as usize;
        tail.slice(end - footer_len as usize..end)
    } else {
        let start = end - footer_len - FOOTER_TAIL;
        let got = store
            .get_range(bucket, key, GetRange::Bounded(start, end - FOOTER_TAIL))
            .await?;
        if got.bytes.len() as u64 != footer_len {
            return Err(FooterError::Changed.into());
        }
        got.bytes
    };
    let tree = limits.tree;
    let decoded = cpu::blocking(move || decode(&footer, tree))
        .await
        .map_err(FooterError::from)??;
    decoded.log(bucket, key);
    Ok(decoded.columns)
}

/// The footer length a tail claims, checked against the file size and the cap.
fn footer_len(tail: &[u8], size: u64, limits: &Limits) -> Result<u64, FooterError> {
    if (tail.len() as u64) < FOOTER_TAIL || &tail[tail.len() - 4..] != b"PAR1" {
        return Err(FooterError::NoMagic);
    }
    let len_bytes: [u8; 4] = tail[tail.len() - 8..tail.len() - 4]
        .try_into()
        .map_err(|_| FooterError::Short)?;
    let footer_len = u64::from(u32::from_le_bytes(len_bytes));
    if footer_len > limits.max_footer {
        return Err(FooterError::OverCap {
            claimed: footer_len,
            cap: limits.max_footer,
        });
    }
    if footer_len + FOOTER_TAIL > size {
        return Err(FooterError::OverSize {
            claimed: footer_len,
            size,
        });
    }
    Ok(footer_len)
}

/// What decoding a footer gave.
#[derive(Debug)]
struct Decoded {
    /// The columns (within the limits plus one, for [`super::bound::cut`] to report).
    columns: Vec<Column>,
    /// The schema was larger than the limits and trimmed before decoding.
    trimmed: Option<Trimmed>,
    /// parquet-rs refused the whole footer; this is what it said, and the schema was
    /// decoded alone.
    schema_alone: Option<parquet::errors::ParquetError>,
}

/// How large a trimmed schema was.
#[derive(Debug, Clone, Copy)]
struct Trimmed {
    elements: u64,
    depth: u64,
    dropped: u64,
}

impl Decoded {
    /// Says, naming the file, what was not read as written.
    fn log(&self, bucket: &str, key: &str) {
        if let Some(t) = self.trimmed {
            tracing::warn!(
                bucket,
                key,
                elements = t.elements,
                depth = t.depth,
                dropped = t.dropped,
                "Parquet schema larger than maxColumns/maxColumnDepth allow; trimmed before decoding."
            );
        }
        if let Some(e) = &self.schema_alone {
            tracing::warn!(
                bucket,
                key,
                error = %e,
                "Parquet footer does not decode whole; its schema was read alone."
            );
        }
    }
}

/// The columns of a footer, its schema measured first (see the module doc).
fn decode(footer: &[u8], tree: TreeLimits) -> Result<Decoded, FooterError> {
    let meta = FileMeta::scan(footer).map_err(ParquetSchemaError::from)?;
    let measured = schema::measure(footer, &meta, tree)?;
    if measured.is_trimmed() {
        let small = schema::write_footer(footer, &meta, &measured, Keep::SchemaOnly);
        return Ok(Decoded {
            columns: columns(&small, tree)?,
            trimmed: Some(Trimmed {
                elements: measured.elements,
                depth: measured.depth,
                dropped: measured.trimmed,
            }),
            schema_alone: None,
        });
    }
    let whole = match columns(footer, tree) {
        Ok(columns) => {
            return Ok(Decoded {
                columns,
                trimmed: None,
                schema_alone: None,
            })
        }
        Err(e) => e,
    };
    // Refused, perhaps for a part that has nothing to do with the schema: the schema
    // alone, with the key-value metadata (the Arrow schema) first, then without it.
    for keep in [Keep::WithKeyValues, Keep::SchemaOnly] {
        let small = schema::write_footer(footer, &meta, &measured, keep);
        if let Ok(columns) = columns(&small, tree) {
            return Ok(Decoded {
                columns,
                trimmed: None,
                schema_alone: Some(whole),
            });
        }
    }
    Err(whole.into())
}

/// Whether a footer's schema is within `tree`, measured by the Thrift scanner without
/// parquet-rs, so that a caller may hand the footer to parquet-rs whole (a Delta
/// checkpoint's, `crate::table::delta`).
pub(crate) fn schema_fits(footer: &[u8], tree: TreeLimits) -> Result<bool, FooterError> {
    let meta = FileMeta::scan(footer).map_err(ParquetSchemaError::from)?;
    Ok(!schema::measure(footer, &meta, tree)?.is_trimmed())
}

/// The columns parquet-rs finds in a footer already measured.
fn columns(footer: &[u8], tree: TreeLimits) -> Result<Vec<Column>, parquet::errors::ParquetError> {
    let meta = ParquetMetaDataReader::decode_metadata(footer)?;
    let file = meta.file_metadata();
    let schema =
        parquet::arrow::parquet_to_arrow_schema(file.schema_descr(), file.key_value_metadata())?;
    Ok(types::columns(schema.fields(), tree))
}

/// The columns of a whole parquet file held in memory (an archive member).
pub(super) fn from_bytes(bytes: &[u8], tree: TreeLimits) -> Result<Vec<Column>, FooterError> {
    let size = bytes.len() as u64;
    if size < FOOTER_TAIL + 4 {
        return Err(FooterError::TooSmall(size));
    }
    let limits = Limits::default();
    let len = footer_len(bytes, size, &limits)? as usize;
    let end = bytes.len() - FOOTER_TAIL as usize;
    Ok(decode(&bytes[end - len..end], tree)?.columns)
}

#[cfg(test)]
mod tests {
    use super::thrift::{ty, Writer};
    use super::*;
    use crate::infer::bound::{self, TreeLimits};
    use arrow_array::{ArrayRef, Int32Array, RecordBatch, StringArray};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    /// A `FileMetaData` with these schema elements, written as a parquet writer would
    /// (version, schema, num_rows, no row groups).
    pub(super) fn footer(elements: impl FnOnce(&mut Writer) -> usize, count: usize) -> Vec<u8> {
        let mut w = Writer::default();
        w.begin();
        w.field(1, ty::I32);
        w.i32(1);
        w.field(2, ty::LIST);
        w.list(count, ty::STRUCT);
        let written = elements(&mut w);
        assert_eq!(written, count);
        w.field(3, ty::I64);
        w.i64(0);
        w.field(4, ty::LIST);
        w.list(0, ty::STRUCT);
        w.end();
        w.out
    }

    /// A schema element: a group when `children` is set, else an INT32 leaf.
    pub(super) fn element(w: &mut Writer, name: &str, children: Option<i32>) {
        w.begin();
        if children.is_none() {
            w.field(1, ty::I32);
            w.i32(1); // INT32
        }
        w.field(3, ty::I32);
        w.i32(1); // OPTIONAL
        w.field(4, ty::BINARY);
        w.len(name.len());
        w.raw(name.as_bytes());
        if let Some(n) = children {
            w.field(5, ty::I32);
            w.i32(n);
        }
        w.end();
    }

    /// The footer: one column nested `depth` levels deep.
    pub(super) fn deep_footer(depth: usize) -> Vec<u8> {
        footer(
            |w| {
                element(w, "schema", Some(1));
                for i in 0..depth {
                    element(w, &format!("s{i}"), Some(1));
                }
                element(w, "leaf", None);
                depth + 2
            },
            depth + 2,
        )
    }

    /// The footer: `n` flat INT32 columns.
    pub(super) fn wide_footer(n: usize) -> Vec<u8> {
        footer(
            |w| {
                element(w, "schema", Some(n as i32));
                for i in 0..n {
                    element(w, &format!("c{i}"), None);
                }
                n + 1
            },
            n + 1,
        )
    }

    use crate::infer::bound::depth;

    /// Decodes on a thread with a 2 MiB stack (tokio's blocking pool has that much), so
    /// that a recursion that would overflow it fails the test (by aborting it).
    fn decode_on_small_stack(
        footer: Vec<u8>,
        tree: TreeLimits,
    ) -> (Result<Decoded, FooterError>, Duration) {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let start = Instant::now();
                let d = decode(&footer, tree);
                (d, start.elapsed())
            })
            .unwrap()
            .join()
            .unwrap()
    }

    #[test]
    fn a_schema_nested_10_000_levels_deep_is_cut_not_a_stack_overflow() {
        let f = deep_footer(10_000);
        assert!(f.len() > 70_000, "{}", f.len());
        let tree = TreeLimits::default();
        let (d, took) = decode_on_small_stack(f, tree);
        let d = d.unwrap();
        assert!(took < Duration::from_secs(10), "{took:?}");
        let t = d.trimmed.unwrap();
        assert_eq!(t.elements, 10_002);
        let mut cols = d.columns;
        assert_eq!(cols.len(), 1);
        assert_eq!(cols[0].name, "s0");
        assert!(depth(&cols) <= tree.max_depth + 1, "{}", depth(&cols));
        let cut = bound::cut(&mut cols, tree).expect("cut reports the excess");
        assert!(cut.too_deep > 0);
        assert_eq!(depth(&cols), tree.max_depth);
    }

    #[test]
    fn a_schema_nested_within_the_element_limit_decodes_on_a_small_stack() {
        // The deepest footer handed to parquet-rs unchanged: 3 × 65 levels.
        let (d, _) = decode_on_small_stack(deep_footer(194), TreeLimits::default());
        let d = d.unwrap();
        assert!(d.trimmed.is_none());
        assert_eq!(depth(&d.columns), 65);
    }

    #[test]
    fn a_footer_of_a_million_columns_keeps_the_first_within_the_limit() {
        let f = wide_footer(1_000_000);
        assert!(f.len() > 10_000_000, "{}", f.len());
        let tree = TreeLimits::default();
        let (d, took) = decode_on_small_stack(f, tree);
        let d = d.unwrap();
        assert!(took < Duration::from_secs(30), "{took:?}");
        assert!(d.trimmed.is_some());
        let mut cols = d.columns;
        assert_eq!(cols.len(), tree.max_nodes + 1);
        assert_eq!(cols[0].name, "c0");
        let cut = bound::cut(&mut cols, tree).expect("cut reports the excess");
        assert_eq!(cut.too_many, 1);
        assert_eq!(cols.len(), tree.max_nodes);
        assert_eq!(cols[tree.max_nodes - 1].name, "c9999");
    }

    #[test]
    fn a_wide_footer_within_the_limits_goes_to_parquet_rs_unchanged() {
        let tree = TreeLimits {
            max_depth: 4,
            max_nodes: 10,
        };
        let d = decode(&wide_footer(10), tree).unwrap();
        assert!(d.trimmed.is_none() && d.schema_alone.is_none());
        assert_eq!(d.columns.len(), 10);
        // 34 elements is past 3 × 11 + 1: trimmed to the first 33 columns.
        let d = decode(&wide_footer(34), tree).unwrap();
        assert_eq!(d.trimmed.unwrap().dropped, 1);
        assert_eq!(d.columns.len(), 11);
    }

    #[test]
    fn a_group_claiming_more_children_than_exist_is_refused_before_parquet_rs() {
        let f = footer(
            |w| {
                element(w, "schema", Some(i32::MAX));
                element(w, "a", None);
                2
            },
            2,
        );
        let e = decode(&f, TreeLimits::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the footer's schema: schema element 0 claims 2147483647 children, more than the schema holds"
        );
    }

    #[test]
    fn a_root_annotated_as_a_list_is_refused_not_a_panic() {
        // Found by the parquet_footer fuzz target: parquet-rs's Arrow conversion asserts
        // that a LIST group has a repetition, which the root has not.
        let f = include_bytes!("../../../fuzz/corpus/parquet_footer/crash_root_annotated_list");
        let e = decode(f, TreeLimits::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the footer's schema: the schema's root carries a type annotation"
        );
    }

    #[test]
    fn a_map_whose_entry_is_a_leaf_is_refused_not_a_panic() {
        // Found by the parquet_footer fuzz target (from the legacy-layouts seed: `LIST`
        // turned into `MAP_KEY_VALUE` over `repeated int32 array`): parquet-rs's Arrow
        // conversion asks the leaf for its fields, a panic.
        let f = include_bytes!("../../../fuzz/corpus/parquet_footer/crash_map_of_a_leaf");
        let e = decode(f, TreeLimits::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the footer's schema: schema element 2, the entry of a map, is not a group"
        );
        // The same with a MAP logical type and no converted type.
        let f = footer(
            |w| {
                element(w, "schema", Some(1));
                w.begin();
                w.field(3, ty::I32);
                w.i32(1); // OPTIONAL
                w.field(4, ty::BINARY);
                w.len(1);
                w.raw(b"m");
                w.field(5, ty::I32);
                w.i32(1);
                w.field(10, ty::STRUCT);
                w.begin();
                w.field(2, ty::STRUCT); // LogicalType::MAP
                w.begin();
                w.end();
                w.end();
                w.end();
                w.begin();
                w.field(1, ty::I32);
                w.i32(1); // INT32
                w.field(3, ty::I32);
                w.i32(2); // REPEATED
                w.field(4, ty::BINARY);
                w.len(1);
                w.raw(b"k");
                w.end();
                3
            },
            3,
        );
        let e = decode(&f, TreeLimits::default()).unwrap_err();
        assert!(
            matches!(
                e,
                FooterError::Schema(ParquetSchemaError::MapEntryNotGroup { index: 2 })
            ),
            "{e}"
        );
    }

    #[test]
    fn counts_and_annotations_under_any_integer_header_are_read_as_parquet_rs_reads_them() {
        // Found by the parquet_footer fuzz target: the same map with its converted type
        // under an I16 header, which parquet-rs reads as an i32 and this walk skipped.
        let f =
            include_bytes!("../../../fuzz/corpus/parquet_footer/crash_map_of_a_leaf_i16_header");
        let e = decode(f, TreeLimits::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the footer's schema: schema element 2, the entry of a map, is not a group"
        );
        // 10,000 levels whose `num_children` come under I16 headers: measured (and
        // trimmed) all the same, never handed whole to parquet-rs's recursion.
        let f = footer(
            |w| {
                for i in 0..10_001 {
                    w.begin();
                    if i > 0 {
                        w.field(3, ty::I32);
                        w.i32(1);
                    }
                    w.field(4, ty::BINARY);
                    w.len(1);
                    w.raw(b"g");
                    w.field(5, ty::I16);
                    w.i32(1);
                    w.end();
                }
                element(w, "leaf", None);
                10_002
            },
            10_002,
        );
        let (d, _) = decode_on_small_stack(f, TreeLimits::default());
        assert_eq!(d.unwrap().trimmed.unwrap().elements, 10_002);
        // A type parquet-rs would read otherwise (a one-byte I8) is refused.
        let f = footer(
            |w| {
                w.begin();
                w.field(4, ty::BINARY);
                w.len(1);
                w.raw(b"s");
                w.field(5, ty::I8);
                w.raw(&[2]);
                w.end();
                element(w, "leaf", None);
                2
            },
            2,
        );
        assert!(matches!(
            decode(&f, TreeLimits::default()),
            Err(FooterError::Schema(ParquetSchemaError::Thrift(
                ThriftError::FieldType { field: 5, .. }
            )))
        ));
    }

    #[test]
    fn footers_written_by_pyarrow_give_their_columns() {
        let f = include_bytes!("../../../fuzz/corpus/parquet_footer/pyarrow_nested");
        let d = decode(f, TreeLimits::default()).unwrap();
        let got: Vec<_> = d
            .columns
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.data_type.as_str(),
                    c.array_data_type.as_deref(),
                    c.children.as_ref().map(Vec::len),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("id", "INT", None, None),
                ("s", "STRUCT", None, Some(2)),
                ("l", "ARRAY", Some("INT"), None),
                ("ls", "ARRAY", Some("STRUCT"), Some(1)),
                ("m", "MAP", None, Some(2)),
                ("d", "DECIMAL", None, None),
                ("ts", "DATETIME", None, None),
                ("cat", "STRING", None, None),
            ]
        );
        assert_eq!(
            d.columns[6].data_type_display.as_deref(),
            Some("timestamp[ms, tz=UTC]")
        );
        // Spark-style: INT96 timestamps, Spark's row metadata key.
        let f = include_bytes!("../../../fuzz/corpus/parquet_footer/spark_style_int96");
        let d = decode(f, TreeLimits::default()).unwrap();
        let got: Vec<_> = d
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.data_type.as_str()))
            .collect();
        assert_eq!(got, vec![("id", "INT"), ("t", "DATETIME")]);
    }

    /// A parquet file written by parquet-rs's `ArrowWriter`.
    pub(super) fn arrow_file() -> Vec<u8> {
        let batch = RecordBatch::try_from_iter([
            ("id", Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef),
            (
                "name",
                Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef,
            ),
        ])
        .unwrap();
        let mut buf = Vec::new();
        let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        buf
    }

    fn footer_of(file: &[u8]) -> &[u8] {
        let len = footer_len(file, file.len() as u64, &Limits::default()).unwrap() as usize;
        &file[file.len() - 8 - len..file.len() - 8]
    }

    #[test]
    fn a_footer_whose_row_groups_do_not_decode_still_gives_its_schema() {
        let file = arrow_file();
        let real = footer_of(&file);
        // The same footer, its row group's `columns` written as a list of i64.
        let mut w = Writer::default();
        w.begin();
        let mut r = thrift::Reader::new(real);
        let mut last = 0;
        while let Some(f) = r.field_at(last).unwrap() {
            last = f.id;
            w.field(f.id, f.ty);
            if f.id == 4 {
                w.list(1, ty::STRUCT);
                w.begin();
                w.field(1, ty::LIST);
                w.list(2, ty::I64);
                w.i64(1);
                w.i64(2);
                w.field(2, ty::I64);
                w.i64(100);
                w.field(3, ty::I64);
                w.i64(2);
                w.end();
            } else {
                w.raw(&real[f.value]);
            }
        }
        w.end();
        let broken = w.out;
        assert!(ParquetMetaDataReader::decode_metadata(&broken).is_err());
        let d = decode(&broken, TreeLimits::default()).unwrap();
        assert!(d.schema_alone.is_some());
        let got: Vec<_> = d
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.data_type.as_str()))
            .collect();
        assert_eq!(got, vec![("id", "INT"), ("name", "STRING")]);
        let whole = decode(real, TreeLimits::default()).unwrap();
        assert!(whole.schema_alone.is_none());
        assert_eq!(whole.columns, d.columns);
    }

    /// A store that fails the test when it is read at all.
    #[derive(Debug)]
    struct NoReads;

    #[async_trait::async_trait]
    impl ObjectStore for NoReads {
        async fn list_buckets(&self) -> crate::store::Result<Vec<String>> {
            unreachable!("no listing")
        }
        async fn list_page(
            &self,
            _: &str,
            _: &str,
            _: Option<String>,
        ) -> crate::store::Result<crate::store::ListPage> {
            unreachable!("no listing")
        }
        async fn get_range(
            &self,
            _: &str,
            _: &str,
            range: GetRange,
        ) -> crate::store::Result<crate::store::GetResult> {
            panic!("read {range:?}")
        }
        async fn head(&self, _: &str, _: &str) -> crate::store::Result<crate::store::ObjectMeta> {
            unreachable!("no head")
        }
        async fn bucket_region(&self, _: &str) -> crate::store::Result<Option<String>> {
            unreachable!("no region")
        }
        async fn bucket_tags(&self, _: &str) -> crate::store::Result<Vec<(String, String)>> {
            unreachable!("no tags")
        }
        async fn object_tags(
            &self,
            _: &str,
            _: &str,
        ) -> crate::store::Result<Vec<(String, String)>> {
            unreachable!("no tags")
        }
        async fn list_level(
            &self,
            _: &str,
            _: &str,
        ) -> crate::store::Result<(Vec<crate::store::ObjectMeta>, Vec<String>)> {
            unreachable!("no listing")
        }
    }

    #[test]
    fn a_range_ending_past_2_pow_64_is_an_error_before_any_read() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let limits = Limits::default();
        for (base, size) in [(u64::MAX - 5, 100), (u64::MAX, u64::MAX), (1, u64::MAX)] {
            let e = rt
                .block_on(infer_range(&NoReads, "b", "k", base, size, &limits))
                .unwrap_err();
            assert!(
                matches!(
                    e,
                    RangeError::Footer(FooterError::OutOfRange { base: b, size: s })
                        if b == base && s == size
                ),
                "{e:?}"
            );
        }
        assert_eq!(
            rt.block_on(infer_range(&NoReads, "b", "k", u64::MAX, 12, &limits))
                .unwrap_err()
                .to_string(),
            format!(
                "a parquet file of 12 bytes at offset {} ends past 2^64",
                u64::MAX
            )
        );
    }
}

#[cfg(test)]
mod fuzz {
    use super::tests::{arrow_file, deep_footer, wide_footer};
    use super::*;
    use crate::infer::bound::drop_flat;

    use crate::infer::bound::depth;

    /// Footer bytes → `decode`: never a panic or an overflow, and a tree within the limits
    /// plus one (small limits, so that mutations reach the trimming).
    #[test]
    fn parquet_footer() {
        let file = arrow_file();
        let len = footer_len(&file, file.len() as u64, &Limits::default()).unwrap() as usize;
        let seeds = vec![
            file[file.len() - 8 - len..file.len() - 8].to_vec(),
            deep_footer(40),
            wide_footer(400),
        ];
        let tree = TreeLimits {
            max_depth: 8,
            max_nodes: 100,
        };
        crate::fuzz::run("parquet_footer", seeds, |b| {
            if let Ok(d) = decode(b, tree) {
                assert!(depth(&d.columns) <= tree.max_depth + 1);
                assert!(drop_flat(d.columns) <= tree.max_nodes + 1);
            }
        });
    }
}

/// Files in the layouts parquet-mr, Hive and Spark wrote before the LIST and MAP
/// specification settled, written by parquet-rs's own low-level writer (a schema, no row
/// group); `testdata/legacy.parquet` is this file, and `testdata/legacy.pyarrow.txt` what
/// pyarrow reads from it (`scripts/fixtures/parquet_legacy.py`).
#[cfg(test)]
mod legacy {
    use super::*;
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;
    use pretty_assertions::assert_eq;
    use std::sync::Arc;

    const LEGACY: &str = "
        message spark_schema {
          optional group two_level (LIST) { repeated int32 array; }
          optional group hive_bag (LIST) { repeated group bag { optional int32 array_element; } }
          optional group array_group (LIST) {
            repeated group array { required binary s (UTF8); required int32 n; }
          }
          optional group one_field_array (LIST) { repeated group array { required int32 x; } }
          optional group tuple (LIST) { repeated group tuple_tuple { required int64 x; } }
          optional group legacy_map (MAP_KEY_VALUE) {
            repeated group map { required binary key (UTF8); optional int32 value; }
          }
          optional group map_no_annotation_inside (MAP) {
            repeated group key_value { required binary key (UTF8); optional double value; }
          }
          optional int96 t96;
          repeated int32 bare_repeated;
          repeated group bare_group { optional int32 x; optional binary y (UTF8); }
        }";

    pub(super) fn legacy_file() -> Vec<u8> {
        let schema = Arc::new(parse_message_type(LEGACY).unwrap());
        let props = Arc::new(WriterProperties::builder().build());
        let mut buf = Vec::new();
        SerializedFileWriter::new(&mut buf, schema, props)
            .unwrap()
            .close()
            .unwrap();
        buf
    }

    /// pyarrow's type of each column, in our spelling: pyarrow adds ` not null` (we carry
    /// no nullability) and, after a map's value type, the map's name in brackets.
    fn pyarrow_types() -> Vec<(String, String)> {
        include_str!("testdata/legacy.pyarrow.txt")
            .lines()
            .map(|l| {
                let (name, t) = l.split_once('\t').unwrap();
                let mut t = t.replace(" not null", "");
                if let Some(at) = t.find(" ('") {
                    t = format!("{}>", &t[..at]);
                }
                (name.to_string(), t)
            })
            .collect()
    }

    #[test]
    fn legacy_list_and_map_layouts_give_pyarrows_columns() {
        let committed: &[u8] = include_bytes!("testdata/legacy.parquet");
        let d = decode(footer_of_file(committed), TreeLimits::default()).unwrap();
        assert!(d.trimmed.is_none() && d.schema_alone.is_none());
        let got: Vec<_> = d
            .columns
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.data_type.as_str(),
                    c.array_data_type.as_deref(),
                    c.children
                        .as_ref()
                        .map(|k| k.iter().map(|k| k.data_type.as_str()).collect::<Vec<_>>()),
                )
            })
            .collect();
        let kids = |k: &[&'static str]| Some(k.to_vec());
        assert_eq!(
            got,
            vec![
                ("two_level", "ARRAY", Some("INT"), None),
                ("hive_bag", "ARRAY", Some("INT"), None),
                (
                    "array_group",
                    "ARRAY",
                    Some("STRUCT"),
                    kids(&["STRING", "INT"])
                ),
                ("one_field_array", "ARRAY", Some("STRUCT"), kids(&["INT"])),
                ("tuple", "ARRAY", Some("STRUCT"), kids(&["INT"])),
                ("legacy_map", "MAP", None, kids(&["STRING", "INT"])),
                (
                    "map_no_annotation_inside",
                    "MAP",
                    None,
                    kids(&["STRING", "FLOAT"])
                ),
                ("t96", "DATETIME", None, None),
                ("bare_repeated", "ARRAY", Some("INT"), None),
                (
                    "bare_group",
                    "ARRAY",
                    Some("STRUCT"),
                    kids(&["INT", "STRING"])
                ),
            ]
        );
        let ours: Vec<(String, String)> = d
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.data_type_display.clone().unwrap()))
            .collect();
        assert_eq!(ours, pyarrow_types());
        // The committed file is what parquet-rs's writer gives for the schema above.
        let fresh = legacy_file();
        let again = decode(footer_of_file(&fresh), TreeLimits::default()).unwrap();
        assert_eq!(again.columns, d.columns);
    }

    fn footer_of_file(file: &[u8]) -> &[u8] {
        let len = footer_len(file, file.len() as u64, &Limits::default()).unwrap() as usize;
        &file[file.len() - 8 - len..file.len() - 8]
    }
}
