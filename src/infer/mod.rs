//! Schema inference: one module per format, one contract. The input is the store, the
//! sample's [`ObjectMeta`] (its size known from the listing) and the [`Limits`]; the output
//! is the list of columns, or an [`Error`] naming the object.
//!
//! Never a whole-object download to learn a schema: parquet is read from its footer, Avro
//! from its header, CSV/TSV/JSON Lines from a bounded prefix, JSON documents within
//! `maxDocumentBytes`, zip archives through their central directory. The only exception is a
//! tar archive, which has no index: it is streamed within `maxArchiveBytes`. Compressed
//! bytes are decoded only by [`decompress`], always under a cap. This module knows nothing
//! of sinks or request bodies beyond `Column`.

pub mod archive;
mod avro;
pub mod bound;
pub mod cpu;
mod csv;
pub mod decompress;
mod json;
pub mod merge;
mod parquet;
pub mod samples;
mod text;
pub mod types;

pub use avro::{AvroHeaderError, AvroSchemaError};
// The table readers (`crate::table`) type a Hudi table's Avro schema and check a Delta
// checkpoint's footer with the same code as the file readers.
pub(crate) use avro::columns as avro_columns;
pub use csv::CsvError;
pub use json::JsonError;
pub(crate) use parquet::schema_fits as parquet_schema_fits;
pub use parquet::{FooterError, ParquetSchemaError, ThriftError};

use crate::config::S3metaOptions;
use crate::entity::Column;
use crate::format::{Format, Reader, StructureFormat};
use crate::store::{self, GetRange, ObjectMeta, ObjectStore};
use decompress::Codec;

/// Caps on what inference may read.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes of a parquet file's tail (or an Avro file's head) read speculatively.
    pub parquet_prefetch: u64,
    /// Largest parquet footer accepted; a larger claim is treated as corrupt.
    pub max_footer: u64,
    /// Bytes of a text file read (and, decompressed, kept) to type it.
    pub text_bytes: u64,
    /// Rows or records typed at most.
    pub text_rows: usize,
    /// Largest JSON document (or Avro header, or archive member held whole) read.
    pub max_document: u64,
    /// Largest archive read.
    pub max_archive: u64,
    /// Archive members larger than this (uncompressed) are skipped.
    pub max_member: u64,
    /// Archive members read at most.
    pub max_members: usize,
    /// Depth and size of each file's column tree (`maxColumnDepth`, `maxColumns`).
    pub tree: bound::TreeLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::from_options(&S3metaOptions::default())
    }
}

impl Limits {
    /// The caps configured under `s3meta:`.
    pub fn from_options(o: &S3metaOptions) -> Limits {
        Limits {
            parquet_prefetch: 64 * 1024,
            max_footer: 16 * 1024 * 1024,
            text_bytes: o.text_sample_bytes.max(1),
            text_rows: o.text_sample_rows,
            max_document: o.max_document_bytes.max(1),
            max_archive: o.max_archive_bytes,
            max_member: o.max_member_bytes,
            max_members: o.max_archive_members,
            tree: bound::TreeLimits {
                max_depth: o.max_column_depth,
                max_nodes: o.max_columns,
            },
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
    #[error("s3://{bucket}/{key} is not a valid {format} file: {source}")]
    Corrupt {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// The format, as messages name it (`parquet`, `CSV`, `tgz`, `Gzip-compressed`, …).
        format: String,
        /// What is wrong (boxed: it is large, and errors travel in every result).
        source: Box<Invalid>,
    },
    /// The reader panicked on this object: caught, so that it fails this sample only.
    #[error("s3://{bucket}/{key}: {source}")]
    Panicked {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// The panic's message.
        source: cpu::Panicked,
    },
}

impl Error {
    /// The error for a panic caught while reading `s3://bucket/key`.
    pub fn panicked(bucket: &str, key: &str, payload: &(dyn std::any::Any + Send)) -> Error {
        Error::Panicked {
            bucket: bucket.to_string(),
            key: key.to_string(),
            source: cpu::Panicked::from_payload(payload),
        }
    }
}

/// What is wrong with a file's bytes, by the reader that found it.
#[derive(Debug, thiserror::Error)]
pub enum Invalid {
    /// The parquet footer.
    #[error(transparent)]
    Parquet(#[from] FooterError),
    /// The Avro header.
    #[error(transparent)]
    AvroHeader(#[from] AvroHeaderError),
    /// The Avro writer schema.
    #[error(transparent)]
    AvroSchema(#[from] AvroSchemaError),
    /// CSV or TSV text.
    #[error(transparent)]
    Csv(#[from] CsvError),
    /// A JSON document.
    #[error(transparent)]
    Json(#[from] JsonError),
    /// A JSON document larger than the prefix, read again within `maxDocumentBytes`.
    #[error("{source} ({cap} bytes)")]
    Document {
        /// What is wrong with it.
        source: JsonError,
        /// `maxDocumentBytes`.
        cap: u64,
    },
    /// The compressed bytes.
    #[error(transparent)]
    Decompress(#[from] decompress::Error),
    /// An archive's structure.
    #[error(transparent)]
    Archive(#[from] archive::ArchiveError),
    /// The member of a zip read as one file (`json.zip`).
    #[error("member {path}: {source}")]
    Member {
        /// Its path in the archive.
        path: String,
        /// What is wrong with it.
        source: Box<archive::MemberError>,
    },
    /// Bytes of a format that no reader types.
    #[error("no reader for `{0}`")]
    NoReader(Format),
    /// The reader panicked on these bytes (caught; a bug in s3meta).
    #[error(transparent)]
    Panicked(#[from] cpu::Panicked),
}

/// One sample file and how to read it.
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    /// Bucket.
    pub bucket: &'a str,
    /// The object, with its size.
    pub object: &'a ObjectMeta,
    /// `structureFormat`.
    pub format: &'a StructureFormat,
    /// `separator`, for csv/tsv.
    pub separator: Option<&'a str>,
}

impl Sample<'_> {
    fn corrupt(&self, format: &str, problem: impl Into<Invalid>) -> Error {
        Error::Corrupt {
            bucket: self.bucket.to_string(),
            key: self.object.key.clone(),
            format: format.to_string(),
            source: Box::new(problem.into()),
        }
    }
}

/// The text formats and how each is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextKind {
    /// CSV/TSV with this separator.
    Delimited(u8),
    /// JSON or JSON Lines.
    Json,
}

/// Learns the columns of one sample file. A 0-byte file has no columns (not an error).
pub async fn infer_columns(
    store: &dyn ObjectStore,
    sample: Sample<'_>,
    limits: &Limits,
) -> Result<Vec<Column>, Error> {
    if sample.object.size == 0 {
        return Ok(vec![]);
    }
    let key = sample.object.key.to_ascii_lowercase();
    let not_built = || Error::NotBuilt {
        format: sample.format.to_string(),
    };
    let Some(format) = sample.format.format() else {
        return Err(not_built());
    };
    match format.reader() {
        Reader::Parquet => parquet::infer(store, sample, limits).await,
        Reader::Avro => avro::infer(store, sample, limits).await,
        Reader::Delimited(default) => {
            let sep = csv::separator(sample.separator, default, &sample.object.key);
            infer_text(store, sample, limits, TextKind::Delimited(sep)).await
        }
        // Whether the bytes are zipped is the key's to say, as for any compression.
        Reader::Json if key.ends_with(".zip") => archive::json_in_zip(store, sample, limits).await,
        Reader::Json => infer_text(store, sample, limits, TextKind::Json).await,
        // An archive is read as one by `archive::read_archive`, and a table by
        // `crate::table`, never as a sample.
        Reader::Zip
        | Reader::Tar { .. }
        | Reader::Unopened
        | Reader::NotBuilt
        | Reader::Table(_) => Err(not_built()),
    }
}

/// The name a format gives in error messages.
fn format_name(kind: TextKind) -> &'static str {
    match kind {
        TextKind::Delimited(_) => "CSV",
        TextKind::Json => "JSON",
    }
}

/// Types text already read: `bytes` is the decoded start of the file, `complete` says it is
/// all of it. `reread` fetches the whole document when a JSON document needs it.
pub(crate) fn type_text(
    bytes: &[u8],
    complete: bool,
    kind: TextKind,
    limits: &Limits,
) -> Result<TextOutcome, Invalid> {
    match kind {
        TextKind::Delimited(sep) => Ok(TextOutcome::Columns(csv::infer(
            bytes,
            complete,
            sep,
            limits.text_rows,
            limits.tree,
        )?)),
        TextKind::Json => {
            let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
            if json::is_lines(first) {
                Ok(TextOutcome::Columns(json::from_lines(
                    bytes,
                    complete,
                    limits.text_rows,
                    limits.tree,
                )))
            } else if complete {
                Ok(TextOutcome::Columns(json::from_document(
                    bytes,
                    true,
                    limits.text_rows,
                    limits.tree,
                )?))
            } else {
                Ok(TextOutcome::NeedDocument)
            }
        }
    }
}

/// What typing a text prefix gave.
#[derive(Debug)]
pub(crate) enum TextOutcome {
    /// The columns.
    Columns(Vec<Column>),
    /// A JSON document larger than the prefix: read it within `maxDocumentBytes`.
    NeedDocument,
}

/// Reads `n` bytes from the start of the object and decodes them (by the key's extension),
/// keeping at most `cap` decoded bytes. Returns the bytes and whether they are the whole file.
async fn read_decoded(
    store: &dyn ObjectStore,
    s: Sample<'_>,
    n: u64,
    cap: u64,
) -> Result<(Vec<u8>, bool), Error> {
    let size = s.object.size;
    let got = store
        .get_range(s.bucket, &s.object.key, GetRange::Bounded(0, n.min(size)))
        .await?;
    let whole_object = got.bytes.len() as u64 >= size;
    let codec = Codec::from_key(&s.object.key);
    let bytes = got.bytes;
    // Decoding (gzip, zstd, bzip2) is CPU work: on the blocking pool.
    let d = cpu::blocking(move || decompress::decode(codec, &bytes, cap, !whole_object))
        .await
        .map_err(|p| s.corrupt(&format!("{codec:?}-compressed"), p))?
        .map_err(|m| s.corrupt(&format!("{codec:?}-compressed"), m))?;
    Ok((d.bytes, whole_object && !d.capped && !d.cut))
}

async fn infer_text(
    store: &dyn ObjectStore,
    s: Sample<'_>,
    limits: &Limits,
    kind: TextKind,
) -> Result<Vec<Column>, Error> {
    let (bytes, complete) = read_decoded(store, s, limits.text_bytes, limits.text_bytes).await?;
    let lim = *limits;
    // Typing a prefix is CPU work: on the blocking pool.
    let typed = cpu::blocking(move || type_text(&bytes, complete, kind, &lim))
        .await
        .map_err(|p| s.corrupt(format_name(kind), p))?;
    match typed.map_err(|m| s.corrupt(format_name(kind), m))? {
        TextOutcome::Columns(c) => Ok(c),
        TextOutcome::NeedDocument => {
            // DIFF(spec §5.4, §13 #5): a document is read whole only up to
            // maxDocumentBytes; past that, the items of its top-level array that fit.
            let (doc, complete) =
                read_decoded(store, s, limits.max_document, limits.max_document).await?;
            let (rows, tree) = (limits.text_rows, limits.tree);
            cpu::blocking(move || json::from_document(&doc, complete, rows, tree))
                .await
                .map_err(|p| s.corrupt("JSON", p))?
                .map_err(|source| {
                    s.corrupt(
                        "JSON",
                        Invalid::Document {
                            source,
                            cap: limits.max_document,
                        },
                    )
                })
        }
    }
}
