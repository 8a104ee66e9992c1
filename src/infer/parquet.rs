//! Parquet: the schema from the footer alone.
//!
//! One speculative read of the object's tail (`parquet_prefetch` bytes) usually holds the
//! whole footer; a second ranged read fetches the rest only when it does not, and only after
//! the claimed footer length has been checked against `max_footer`, so that a hostile file
//! cannot force a huge read. No data page is ever read. The same reads work on a parquet
//! file stored uncompressed inside a zip archive (a byte range of the archive).

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
    /// The footer or its schema does not decode.
    #[error(transparent)]
    Decode(#[from] parquet::errors::ParquetError),
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
    let end = base + size;
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
    Ok(decode(&footer)?)
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

fn decode(footer: &[u8]) -> Result<Vec<Column>, FooterError> {
    let meta = ParquetMetaDataReader::decode_metadata(footer)?;
    let file = meta.file_metadata();
    let schema =
        parquet::arrow::parquet_to_arrow_schema(file.schema_descr(), file.key_value_metadata())?;
    Ok(schema
        .fields()
        .iter()
        .map(|f| types::column(f.name(), f.data_type()))
        .collect())
}

/// The columns of a whole parquet file held in memory (an archive member).
pub(super) fn from_bytes(bytes: &[u8]) -> Result<Vec<Column>, FooterError> {
    let size = bytes.len() as u64;
    if size < FOOTER_TAIL + 4 {
        return Err(FooterError::TooSmall(size));
    }
    let limits = Limits::default();
    let len = footer_len(bytes, size, &limits)? as usize;
    let end = bytes.len() - FOOTER_TAIL as usize;
    decode(&bytes[end - len..end])
}
