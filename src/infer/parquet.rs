//! Parquet: the schema from the footer alone.
//!
//! One speculative read of the object's tail (`parquet_prefetch` bytes) usually holds the
//! whole footer; a second ranged read fetches the rest only when it does not, and only after
//! the claimed footer length has been checked against `max_footer`, so that a hostile file
//! cannot force a huge read. No data page is ever read.

use super::{types, Error, Limits, Sample};
use crate::entity::Column;
use crate::store::{GetRange, ObjectStore};
use parquet::file::metadata::ParquetMetaDataReader;

const FOOTER_TAIL: u64 = 8;

pub(super) async fn infer(
    store: &dyn ObjectStore,
    s: Sample<'_>,
    limits: &Limits,
) -> Result<Vec<Column>, Error> {
    let corrupt = |message: String| Error::Corrupt {
        bucket: s.bucket.to_string(),
        key: s.object.key.clone(),
        format: "parquet".into(),
        message,
    };
    let size = s.object.size;
    if size < FOOTER_TAIL + 4 {
        return Err(corrupt(format!(
            "{size} bytes is too small for a parquet file"
        )));
    }
    let first = store
        .get_range(
            s.bucket,
            &s.object.key,
            GetRange::Suffix(limits.parquet_prefetch.min(size)),
        )
        .await?;
    let tail = &first.bytes;
    if (tail.len() as u64) < FOOTER_TAIL || &tail[tail.len() - 4..] != b"PAR1" {
        return Err(corrupt("no PAR1 magic at the end".into()));
    }
    let len_bytes: [u8; 4] = tail[tail.len() - 8..tail.len() - 4]
        .try_into()
        .map_err(|_| corrupt("short footer".into()))?;
    let footer_len = u32::from_le_bytes(len_bytes) as u64;
    if footer_len > limits.max_footer {
        return Err(corrupt(format!(
            "footer claims {footer_len} bytes, over the {} limit",
            limits.max_footer
        )));
    }
    if footer_len + FOOTER_TAIL > size {
        return Err(corrupt(format!(
            "footer claims {footer_len} bytes in a {size}-byte file"
        )));
    }
    let footer = if footer_len + FOOTER_TAIL <= tail.len() as u64 {
        let end = tail.len() - FOOTER_TAIL as usize;
        tail.slice(end - footer_len as usize..end)
    } else {
        let start = size - footer_len - FOOTER_TAIL;
        let got = store
            .get_range(
                s.bucket,
                &s.object.key,
                GetRange::Bounded(start, size - FOOTER_TAIL),
            )
            .await?;
        if got.bytes.len() as u64 != footer_len {
            return Err(corrupt("the object changed while it was read".into()));
        }
        got.bytes
    };
    let meta =
        ParquetMetaDataReader::decode_metadata(&footer).map_err(|e| corrupt(e.to_string()))?;
    let file = meta.file_metadata();
    let schema =
        parquet::arrow::parquet_to_arrow_schema(file.schema_descr(), file.key_value_metadata())
            .map_err(|e| corrupt(e.to_string()))?;
    Ok(schema
        .fields()
        .iter()
        .map(|f| types::column(f.name(), f.data_type()))
        .collect())
}
