//! Schema inference: one module per format, one contract. The input is the store, the
//! sample's [`ObjectMeta`] (its size known from the listing) and the [`Limits`]; the output
//! is the list of columns, or an [`Error`] naming the object.
//!
//! Never a whole-object download: parquet is read from its footer, text formats from a
//! bounded prefix. This module knows nothing of sinks or request bodies beyond `Column`.

mod parquet;
pub mod types;

use crate::entity::Column;
use crate::store::{self, ObjectMeta, ObjectStore};

/// Caps on what inference may read.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes of a parquet file's tail read speculatively (usually the whole footer).
    pub parquet_prefetch: u64,
    /// Largest parquet footer accepted; a larger claim is treated as corrupt.
    pub max_footer: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            parquet_prefetch: 64 * 1024,
            max_footer: 16 * 1024 * 1024,
        }
    }
}

/// Why a sample's schema could not be learned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No reader for this format exists yet.
    #[error("schema inference for `{format}` is not built yet")]
    NotBuilt {
        /// The format.
        format: String,
    },
    /// The object could not be read.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The object is not a valid file of its format.
    #[error("s3://{bucket}/{key} is not a valid {format} file: {message}")]
    Corrupt {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// Format.
        format: String,
        /// What is wrong.
        message: String,
    },
}

/// One sample file and how to read it.
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    /// Bucket.
    pub bucket: &'a str,
    /// The object, with its size.
    pub object: &'a ObjectMeta,
    /// `structureFormat`.
    pub format: &'a str,
    /// `separator`, for csv/tsv.
    pub separator: Option<&'a str>,
}

/// Learns the columns of one sample file.
pub async fn infer_columns(
    store: &dyn ObjectStore,
    sample: Sample<'_>,
    limits: &Limits,
) -> Result<Vec<Column>, Error> {
    match sample.format {
        "parquet" | "pq" | "pqt" | "parq" | "parquet.snappy" => {
            parquet::infer(store, sample, limits).await
        }
        other => Err(Error::NotBuilt {
            format: other.to_string(),
        }),
    }
}
