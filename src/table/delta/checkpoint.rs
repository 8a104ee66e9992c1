//! A Delta checkpoint's `metaData` action, read without reading the checkpoint.
//!
//! A checkpoint of a large table holds one row per live file (often hundreds of MiB); its
//! `metaData` action is one row. So: the footer (one ranged read of the tail, a second only
//! when the footer is longer, within the parquet footer cap), checked by the same Thrift
//! scanner as every parquet footer before parquet-rs decodes it; then, per row group whose
//! statistics do not say `metaData.schemaString` is all null, the column chunks of
//! `metaData.schemaString` and `metaData.partitionColumns` only (together within
//! `maxDocumentBytes`), decoded by parquet-rs from those bytes alone. A JSON checkpoint (v2)
//! is read whole within `maxDocumentBytes`.

use super::{last_meta_data, MetaData};
use crate::infer::{parquet_schema_fits, FooterError};
use crate::store::GetRange;
use crate::table::{Error, Io, Problem};
use arrow_array::{Array, ListArray, StringArray, StructArray};
use bytes::Bytes;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use parquet::file::reader::{ChunkReader, Length};
use std::sync::Arc;

const TAIL: u64 = 8;

/// The `metaData` action of one checkpoint file, if it holds one. `size` is the file's
/// size when a listing gave it (a HEAD asks otherwise).
pub(super) async fn meta_data(
    io: &Io<'_>,
    key: &str,
    size: Option<u64>,
) -> Result<Option<MetaData>, Error> {
    if key.ends_with(".json") {
        let bytes = io.required(key, size).await?;
        return io
            .cpu(key, move || last_meta_data(&bytes))
            .await?
            .map_err(|e| io.invalid(key, e));
    }
    let size = match size {
        Some(s) => s,
        None => match io.store.head(io.bucket, key).await {
            Ok(m) => m.size,
            Err(e) if e.kind == crate::store::ErrorKind::NotFound => {
                return Err(io.invalid(key, Problem::Missing("checkpoint file not found".into())))
            }
            Err(e) => return Err(e.into()),
        },
    };
    let footer = footer(io, key, size).await?;
    let tree = io.limits.tree;
    let planned = io
        .cpu(key, move || plan(&footer, size, tree))
        .await?
        .map_err(|e| io.invalid(key, e))?;
    let total: u64 = planned.ranges.iter().map(|r| r.1 - r.0).sum();
    let cap = io.limits.max_document;
    if total > cap {
        return Err(io.invalid(
            key,
            Problem::Format(format!(
                "the metaData column chunks hold {total} bytes, over the {cap}-byte maxDocumentBytes limit: not read"
            )),
        ));
    }
    let mut chunks = Vec::with_capacity(planned.ranges.len());
    for (start, end) in &planned.ranges {
        let got = io
            .store
            .get_range(io.bucket, key, GetRange::Bounded(*start, *end))
            .await?;
        if got.bytes.len() as u64 != end - start {
            return Err(io.invalid(key, FooterError::Changed));
        }
        chunks.push((*start, got.bytes));
    }
    let sparse = Sparse { size, chunks };
    io.cpu(key, move || decode(planned, sparse))
        .await?
        .map_err(|e| io.invalid(key, e))
}

/// The footer's bytes (without the length and magic), within the footer cap.
async fn footer(io: &Io<'_>, key: &str, size: u64) -> Result<Bytes, Error> {
    let bad = |e: FooterError| io.invalid(key, e);
    if size < TAIL + 4 {
        return Err(bad(FooterError::TooSmall(size)));
    }
    let n = io.limits.parquet_prefetch.min(size);
    let tail = io
        .store
        .get_range(io.bucket, key, GetRange::Bounded(size - n, size))
        .await?
        .bytes;
    if (tail.len() as u64) < TAIL || &tail[tail.len() - 4..] != b"PAR1" {
        return Err(bad(FooterError::NoMagic));
    }
    let mut len = [0u8; 4];
    len.copy_from_slice(&tail[tail.len() - 8..tail.len() - 4]);
    let len = u64::from(u32::from_le_bytes(len));
    let cap = io.limits.max_footer;
    if len > cap {
        return Err(bad(FooterError::OverCap { claimed: len, cap }));
    }
    if len + TAIL > size {
        return Err(bad(FooterError::OverSize { claimed: len, size }));
    }
    if len + TAIL <= tail.len() as u64 {
        let end = tail.len() - TAIL as usize;
        return Ok(tail.slice(end - len as usize..end));
    }
    let got = io
        .store
        .get_range(
            io.bucket,
            key,
            GetRange::Bounded(size - TAIL - len, size - TAIL),
        )
        .await?;
    if got.bytes.len() as u64 != len {
        return Err(bad(FooterError::Changed));
    }
    Ok(got.bytes)
}

/// What to read: the decoded footer, the leaves of `metaData` wanted, the row groups that
/// may hold it and the byte ranges of those chunks.
struct Planned {
    meta: ParquetMetaData,
    leaves: Vec<usize>,
    row_groups: Vec<usize>,
    ranges: Vec<(u64, u64)>,
}

impl std::fmt::Debug for Planned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Planned")
            .field("leaves", &self.leaves)
            .field("row_groups", &self.row_groups)
            .field("ranges", &self.ranges)
            .finish()
    }
}

fn plan(
    footer: &[u8],
    size: u64,
    tree: crate::infer::bound::TreeLimits,
) -> Result<Planned, Problem> {
    // parquet-rs builds schemas by recursion: a hostile footer is measured first.
    if !parquet_schema_fits(footer, tree)? {
        return Err(Problem::Format(
            "the checkpoint's schema is larger than maxColumns/maxColumnDepth allow".into(),
        ));
    }
    let meta = ParquetMetaDataReader::decode_metadata(footer)?;
    let schema = meta.file_metadata().schema_descr();
    let mut leaves = vec![];
    let mut schema_leaf = None;
    for i in 0..schema.num_columns() {
        let parts = schema.column(i).path().parts().to_vec();
        if parts.first().map(String::as_str) == Some("metaData") {
            match parts.get(1).map(String::as_str) {
                Some("schemaString") => {
                    schema_leaf = Some(i);
                    leaves.push(i);
                }
                Some("partitionColumns") => leaves.push(i),
                _ => {}
            }
        }
    }
    let Some(schema_leaf) = schema_leaf else {
        return Err(Problem::Format(
            "not a Delta checkpoint: no metaData.schemaString column".into(),
        ));
    };
    let mut row_groups = vec![];
    let mut ranges = vec![];
    for (r, rg) in meta.row_groups().iter().enumerate() {
        let all_null = rg
            .column(schema_leaf)
            .statistics()
            .and_then(|s| s.null_count_opt())
            .is_some_and(|n| i64::try_from(n).is_ok_and(|n| n == rg.num_rows()));
        if all_null {
            continue;
        }
        row_groups.push(r);
        for &leaf in &leaves {
            // Not `byte_range()`, which panics on a negative offset or size (found by the
            // `delta_checkpoint` fuzz target); parquet-rs calls it only for the chunks it
            // reads, which are the ones checked here.
            let c = rg.column(leaf);
            let start = c.dictionary_page_offset().unwrap_or(c.data_page_offset());
            let len = c.compressed_size();
            let (start, end) = u64::try_from(start)
                .ok()
                .zip(u64::try_from(len).ok())
                .and_then(|(s, l)| Some((s, s.checked_add(l)?)))
                .filter(|(_, e)| *e <= size)
                .ok_or_else(|| {
                    Problem::Format(format!(
                        "a column chunk outside the file (offset {start}, {len} bytes)"
                    ))
                })?;
            ranges.push((start, end));
        }
    }
    Ok(Planned {
        ranges: coalesce(ranges),
        meta,
        leaves,
        row_groups,
    })
}

/// Ranges merged where they touch or lie within [`GAP`] bytes of each other: the chunks
/// of one row group are neighbours, and one read costs less than two.
fn coalesce(mut ranges: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    ranges.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (s, e) in ranges {
        match out.last_mut() {
            Some(last) if s <= last.1.saturating_add(GAP) => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// Bytes between two chunks read rather than paid for with a second request.
const GAP: u64 = 64 * 1024;

/// The last `metaData` found in the chunks read. parquet-rs's page decoders panic on some
/// hostile pages (a data page of zero values divides by zero in `byte_array.rs`, found by
/// the `delta_checkpoint` fuzz target): such a panic is caught here and is this
/// checkpoint's error, as it would be any other file's.
fn decode(p: Planned, sparse: Sparse) -> Result<Option<MetaData>, Problem> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decode_chunks(p, sparse)))
        .unwrap_or_else(|payload| {
            Err(Problem::Decoder(crate::infer::cpu::Panicked::from_payload(
                &*payload,
            )))
        })
}

fn decode_chunks(p: Planned, sparse: Sparse) -> Result<Option<MetaData>, Problem> {
    if p.row_groups.is_empty() {
        return Ok(None);
    }
    let schema = p.meta.file_metadata().schema_descr_ptr();
    let mask = ProjectionMask::leaves(&schema, p.leaves.iter().copied());
    let arrow = ArrowReaderMetadata::try_new(Arc::new(p.meta), ArrowReaderOptions::new())?;
    let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(sparse, arrow)
        .with_projection(mask)
        .with_row_groups(p.row_groups)
        .with_batch_size(1024)
        .build()?;
    let mut found = None;
    for batch in reader {
        let batch = batch.map_err(|e| Problem::Format(format!("checkpoint data: {e}")))?;
        let Some(md) = batch
            .column_by_name("metaData")
            .and_then(|c| c.as_any().downcast_ref::<StructArray>())
        else {
            continue;
        };
        let schema_strings = md
            .column_by_name("schemaString")
            .and_then(|c| c.as_any().downcast_ref::<StringArray>());
        let Some(schema_strings) = schema_strings else {
            return Err(Problem::Format(
                "metaData.schemaString is not a string column".into(),
            ));
        };
        let parts = md
            .column_by_name("partitionColumns")
            .and_then(|c| c.as_any().downcast_ref::<ListArray>());
        for row in 0..md.len() {
            if md.is_null(row) || schema_strings.is_null(row) {
                continue;
            }
            let mut partition_columns = vec![];
            if let Some(parts) = parts.filter(|p| !p.is_null(row)) {
                let values = parts.value(row);
                if let Some(names) = values.as_any().downcast_ref::<StringArray>() {
                    partition_columns = names.iter().flatten().map(str::to_string).collect();
                }
            }
            found = Some(MetaData {
                schema_string: schema_strings.value(row).to_string(),
                partition_columns,
            });
        }
    }
    Ok(found)
}

/// The few byte ranges of a checkpoint that were read, as parquet-rs reads a file: asking
/// for bytes outside them is an error (it would mean the plan missed a chunk).
struct Sparse {
    size: u64,
    chunks: Vec<(u64, Bytes)>,
}

impl Sparse {
    fn find(&self, start: u64, len: u64) -> parquet::errors::Result<Bytes> {
        for (at, bytes) in &self.chunks {
            let end = at + bytes.len() as u64;
            if start >= *at && start.saturating_add(len) <= end {
                let from = (start - at) as usize;
                return Ok(bytes.slice(from..from + len as usize));
            }
        }
        Err(parquet::errors::ParquetError::General(format!(
            "bytes {start}..{} of the checkpoint were not read",
            start.saturating_add(len)
        )))
    }
}

impl Length for Sparse {
    fn len(&self) -> u64 {
        self.size
    }
}

impl ChunkReader for Sparse {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        use bytes::Buf;
        for (at, bytes) in &self.chunks {
            let end = at + bytes.len() as u64;
            if start >= *at && start < end {
                return Ok(bytes.slice((start - at) as usize..).reader());
            }
        }
        Err(parquet::errors::ParquetError::General(format!(
            "byte {start} of the checkpoint was not read"
        )))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        self.find(start, length as u64)
    }
}

/// The `metaData` of a whole checkpoint file held in memory: the fuzz target's entry, the
/// same planning and decoding as from the store.
#[cfg(test)]
pub(super) fn from_bytes(
    file: &[u8],
    tree: crate::infer::bound::TreeLimits,
) -> Result<Option<MetaData>, Problem> {
    let size = file.len() as u64;
    if size < TAIL + 4 || &file[file.len() - 4..] != b"PAR1" {
        return Err(FooterError::NoMagic.into());
    }
    let mut len = [0u8; 4];
    len.copy_from_slice(&file[file.len() - 8..file.len() - 4]);
    let len = u64::from(u32::from_le_bytes(len));
    if len + TAIL > size {
        return Err(FooterError::OverSize { claimed: len, size }.into());
    }
    let end = file.len() - TAIL as usize;
    let footer = &file[end - len as usize..end];
    let planned = plan(footer, size, tree)?;
    let sparse = Sparse {
        size,
        chunks: planned
            .ranges
            .iter()
            .map(|(s, e)| (*s, Bytes::copy_from_slice(&file[*s as usize..*e as usize])))
            .collect(),
    };
    decode(planned, sparse)
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::table::FUZZ_TREE;

    #[test]
    fn the_fixture_checkpoints_give_their_meta_data() {
        for seed in crate::fuzz::corpus("delta_checkpoint") {
            let m = from_bytes(&seed, crate::infer::bound::TreeLimits::default())
                .unwrap()
                .unwrap();
            assert_eq!(m.partition_columns, vec!["region"]);
            assert!(m.schema_string.contains("\"amount\""));
        }
    }

    /// Found by `delta_checkpoint`: a mutated checkpoint that made the reader panic.
    #[test]
    fn a_mutated_checkpoint_is_an_error_not_a_panic() {
        for file in [
            &include_bytes!("testdata/crash-negative-offset.parquet")[..],
            &include_bytes!("testdata/crash-page-levels.parquet")[..],
        ] {
            let e = from_bytes(file, FUZZ_TREE).unwrap_err().to_string();
            assert!(e.contains("a column chunk outside the file"), "{e}");
        }
        let file = include_bytes!("testdata/crash-zero-values.parquet");
        let e = from_bytes(file, FUZZ_TREE).unwrap_err().to_string();
        assert!(e.starts_with("parquet-rs panicked"), "{e}");
    }

    /// A checkpoint file: footer planning and the `metaData` chunks decoded by parquet-rs.
    #[test]
    fn delta_checkpoint() {
        crate::fuzz::run("delta_checkpoint", vec![], |b| {
            let _ = from_bytes(b, FUZZ_TREE);
        });
    }
}
