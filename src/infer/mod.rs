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
//!
//! A sample is read as its `structureFormat` and key declare; only when that reader rejects
//! the bytes are they typed by their content ([`sniff`]), from the prefix already read.

pub mod archive;
mod avro;
pub(crate) mod avro_datum;
pub mod bound;
pub mod cpu;
mod csv;
pub mod decompress;
mod json;
pub mod merge;
mod parquet;
pub mod samples;
pub mod sniff;
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
use bytes::Bytes;
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
    /// Bytes the declared format's reader rejects, whose content (sniffed) is another
    /// format that cannot be read in its place.
    #[error("declared {declared}, but the content is {found}{why}")]
    Content {
        /// The `structureFormat`.
        declared: String,
        /// What the first bytes hold ([`sniff::Sniffed::describe`]).
        found: String,
        /// Why it is not read instead (empty, or `: …`).
        why: &'static str,
    },
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
    infer_sample(store, sample, limits).await.columns
}

/// What typing one sample gave.
#[derive(Debug)]
pub struct Typed {
    /// Its columns, or why not.
    pub columns: Result<Vec<Column>, Error>,
    /// A warning for the run's status: the declared format's reader rejected the bytes and
    /// they were typed by their content ("s3://b/k: declared csv, content is parquet").
    pub warning: Option<String>,
}

/// Like [`infer_columns`], with the warning content sniffing gives (`src/infer/sniff.rs`).
pub async fn infer_sample(store: &dyn ObjectStore, sample: Sample<'_>, limits: &Limits) -> Typed {
    let mut warning = None;
    let columns = infer_declared(store, sample, limits, &mut warning).await;
    Typed { columns, warning }
}

/// The declared format's reader, then the content's when that one rejects the bytes.
async fn infer_declared(
    store: &dyn ObjectStore,
    sample: Sample<'_>,
    limits: &Limits,
    warning: &mut Option<String>,
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
        Reader::Parquet => {
            let declared = parquet::infer(store, sample, limits).await;
            or_content(store, sample, limits, declared, None, warning).await
        }
        Reader::Avro => {
            let declared = avro::infer(store, sample, limits).await;
            or_content(store, sample, limits, declared, None, warning).await
        }
        Reader::Delimited(default) => {
            let sep = csv::separator(sample.separator, default, &sample.object.key);
            infer_text(store, sample, limits, TextKind::Delimited(sep), warning).await
        }
        // Whether the bytes are zipped is the key's to say, as for any compression.
        Reader::Json if key.ends_with(".zip") => archive::json_in_zip(store, sample, limits).await,
        Reader::Json => infer_text(store, sample, limits, TextKind::Json, warning).await,
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

/// A JSON document larger than the prefix, read again within `maxDocumentBytes` and typed
/// on the blocking pool.
async fn read_document(
    store: &dyn ObjectStore,
    s: Sample<'_>,
    limits: &Limits,
    codec: Codec,
) -> Result<Vec<Column>, Error> {
    let (doc, complete) =
        read_decoded(store, s, limits.max_document, limits.max_document, codec).await?;
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

/// Reads `n` bytes from the start of the object and decodes them with `codec`, keeping at
/// most `cap` decoded bytes. Returns the bytes and whether they are the whole file.
async fn read_decoded(
    store: &dyn ObjectStore,
    s: Sample<'_>,
    n: u64,
    cap: u64,
    codec: Codec,
) -> Result<(Vec<u8>, bool), Error> {
    let got = read_head(store, s, n).await?;
    decode_head(s, got, cap, codec).await
}

/// The first `n` bytes of the sample (all of it when smaller).
async fn read_head(store: &dyn ObjectStore, s: Sample<'_>, n: u64) -> Result<Bytes, Error> {
    let got = store
        .get_range(
            s.bucket,
            &s.object.key,
            GetRange::Bounded(0, n.min(s.object.size)),
        )
        .await?;
    Ok(got.bytes)
}

/// Decodes a head read by [`read_head`]: at most `cap` bytes, and whether they are the
/// whole file.
async fn decode_head(
    s: Sample<'_>,
    bytes: Bytes,
    cap: u64,
    codec: Codec,
) -> Result<(Vec<u8>, bool), Error> {
    let whole_object = bytes.len() as u64 >= s.object.size;
    // Decoding (gzip, zstd, bzip2) is CPU work: on the blocking pool.
    let d = cpu::blocking(move || decompress::decode(codec, &bytes, cap, !whole_object))
        .await
        .map_err(|p| s.corrupt(&format!("{codec:?}-compressed"), p))?
        .map_err(|m| s.corrupt(&format!("{codec:?}-compressed"), m))?;
    Ok((d.bytes, whole_object && !d.capped && !d.cut))
}

/// Types a text sample as declared; when its reader rejects the bytes, by their content
/// (from the same prefix: no other request).
async fn infer_text(
    store: &dyn ObjectStore,
    s: Sample<'_>,
    limits: &Limits,
    kind: TextKind,
    warning: &mut Option<String>,
) -> Result<Vec<Column>, Error> {
    let head = read_head(store, s, limits.text_bytes).await?;
    let declared = infer_text_as_declared(store, s, limits, kind, head.clone()).await;
    or_content(store, s, limits, declared, Some(head), warning).await
}

/// The text readers as they always were: the key's codec, the declared kind.
async fn infer_text_as_declared(
    store: &dyn ObjectStore,
    s: Sample<'_>,
    limits: &Limits,
    kind: TextKind,
    head: Bytes,
) -> Result<Vec<Column>, Error> {
    let codec = Codec::from_key(&s.object.key);
    let raw = head.clone();
    let (bytes, complete) = decode_head(s, head, limits.text_bytes, codec).await?;
    let lim = *limits;
    // Typing a prefix is CPU work: on the blocking pool.
    let typed = cpu::blocking(move || type_text(&bytes, complete, kind, &lim))
        .await
        .map_err(|p| s.corrupt(format_name(kind), p))?;
    match typed.map_err(|m| s.corrupt(format_name(kind), m))? {
        TextOutcome::Columns(c) => Ok(c),
        TextOutcome::NeedDocument => {
            // Content sniffing: a prefix that is clearly not a JSON document in this
            // codec (gzip without `.gz`, records back to back) is not worth the read of a
            // whole document, which could only fail.
            if let Some(found) = cpu::blocking(move || sniff::sniff(&raw))
                .await
                .ok()
                .flatten()
            {
                let found_codec = found.wrapper.map_or(Codec::None, sniff::Wrapper::codec);
                // Only what the document read could not succeed on: another codec, text
                // that is not JSON, or records back to back.
                let hopeless = found_codec != codec
                    || !found.is_json()
                    || found.content == sniff::Content::JsonConcatenated;
                if hopeless {
                    return Err(s.corrupt(
                        "JSON",
                        Invalid::Content {
                            declared: s.format.to_string(),
                            found: found.describe(),
                            why: "",
                        },
                    ));
                }
            }
            // DIFF(spec §5.4, §13 #5): a document is read whole only up to
            // maxDocumentBytes; past that, the items of its top-level array that fit.
            read_document(store, s, limits, codec).await
        }
    }
}

/// The declared reader's result, or, when it rejected the bytes, the result of reading them
/// as what they are (content sniffing; `src/infer/sniff.rs` states the policy). `head` is
/// the prefix the declared reader already read, if it read one; otherwise one head of at
/// most [`sniff::HEAD_BYTES`] is read, on this failure path only.
async fn or_content(
    store: &dyn ObjectStore,
    s: Sample<'_>,
    limits: &Limits,
    declared: Result<Vec<Column>, Error>,
    head: Option<Bytes>,
    warning: &mut Option<String>,
) -> Result<Vec<Column>, Error> {
    let rejected = match declared {
        Err(e @ Error::Corrupt { .. }) => e,
        other => return other,
    };
    let head = match head {
        Some(h) => h,
        None => match read_head(store, s, sniff::HEAD_BYTES.min(limits.text_bytes)).await {
            Ok(h) => h,
            Err(_) => return Err(rejected),
        },
    };
    let sniffed = head.clone();
    let Some(found) = cpu::blocking(move || sniff::sniff(&sniffed))
        .await
        .ok()
        .flatten()
    else {
        return Err(rejected);
    };
    let Some(declared) = s.format.format() else {
        return Err(rejected);
    };
    let key_codec = Codec::from_key(&s.object.key);
    let found_codec = found.wrapper.map_or(Codec::None, sniff::Wrapper::codec);
    let family = content_reader(found.content);
    let same_family = family.is_some_and(|r| same_reader(r, declared.reader()));
    // The declared reader already read these bytes this way: nothing new to try.
    if same_family
        && found_codec == key_codec
        && found.content != sniff::Content::JsonConcatenated
        && !matches!(found.content, sniff::Content::Delimited { .. })
    {
        return Err(rejected);
    }
    let uri = format!("s3://{}/{}", s.bucket, s.object.key);
    let not_read = |why: &'static str| {
        s.corrupt(
            declared.name(),
            Invalid::Content {
                declared: s.format.to_string(),
                found: found.describe(),
                why,
            },
        )
    };
    if !same_family {
        *warning = Some(format!(
            "{uri}: declared {}, content is {}; typed by its content",
            s.format,
            found.describe()
        ));
    } else {
        tracing::debug!(
            "{uri}: declared {}, content is {}",
            s.format,
            found.describe()
        );
    }
    use sniff::Content as C;
    match (found.wrapper, found.content) {
        (_, C::Orc) => Err(not_read(
            ": ORC is recognised but not read (s3meta has no ORC reader)",
        )),
        (_, C::Tar | C::ZipArchive) => Err(not_read(
            ": an archive is catalogued with structureFormat zip, tar or tar.gz",
        )),
        (Some(_), C::Parquet | C::Avro) => Err(not_read(
            ": parquet and Avro are not read inside a compression",
        )),
        (None, C::Parquet) => {
            let f = StructureFormat::new(Format::Parquet.name());
            parquet::infer(store, Sample { format: &f, ..s }, limits).await
        }
        (None, C::Avro) => {
            let f = StructureFormat::new(Format::Avro.name());
            avro::infer(store, Sample { format: &f, ..s }, limits).await
        }
        (_, text) => by_text(store, s, limits, head, found.wrapper, text).await,
    }
}

/// The reader kind that types a sniffed content, if one does.
fn content_reader(c: sniff::Content) -> Option<Reader> {
    use sniff::Content as C;
    match c {
        C::Parquet => Some(Reader::Parquet),
        C::Avro => Some(Reader::Avro),
        C::JsonDocument | C::JsonLines | C::JsonConcatenated => Some(Reader::Json),
        C::Delimited { separator, .. } => Some(Reader::Delimited(separator)),
        C::Orc | C::Tar | C::ZipArchive => None,
    }
}

/// The same kind of reader (any separator for delimited text).
fn same_reader(a: Reader, b: Reader) -> bool {
    matches!(
        (a, b),
        (Reader::Parquet, Reader::Parquet)
            | (Reader::Avro, Reader::Avro)
            | (Reader::Json, Reader::Json)
            | (Reader::Delimited(_), Reader::Delimited(_))
    )
}

/// Types text found by sniffing, from the head already read: unwrapped as sniffed, typed
/// as the content says.
async fn by_text(
    store: &dyn ObjectStore,
    s: Sample<'_>,
    limits: &Limits,
    head: Bytes,
    wrapper: Option<sniff::Wrapper>,
    content: sniff::Content,
) -> Result<Vec<Column>, Error> {
    use sniff::Content as C;
    let name = match content {
        C::Delimited { .. } => "CSV",
        _ => "JSON",
    };
    let (bytes, complete) = match wrapper {
        Some(sniff::Wrapper::Zip) => {
            let whole = head.len() as u64 >= s.object.size;
            let cap = limits.text_bytes;
            let d = cpu::blocking(move || sniff::unwrap(sniff::Wrapper::Zip, &head, cap))
                .await
                .map_err(|p| s.corrupt("zip", p))?;
            match d {
                Some(d) => (d.bytes, whole && !d.capped && !d.cut),
                None => return Ok(vec![]),
            }
        }
        w => {
            let codec = w.map_or(Codec::None, sniff::Wrapper::codec);
            decode_head(s, head, limits.text_bytes, codec).await?
        }
    };
    let lim = *limits;
    let typed = cpu::blocking(move || -> Result<TextOutcome, Invalid> {
        match content {
            C::Delimited { separator, .. } => {
                type_text(&bytes, complete, TextKind::Delimited(separator), &lim)
            }
            C::JsonLines => Ok(TextOutcome::Columns(json::from_lines(
                &bytes,
                complete,
                lim.text_rows,
                lim.tree,
            ))),
            C::JsonConcatenated => {
                let lines = sniff::records_as_lines(&bytes, lim.text_rows);
                Ok(TextOutcome::Columns(json::from_lines(
                    &lines,
                    true,
                    lim.text_rows,
                    lim.tree,
                )))
            }
            _ => type_text(&bytes, complete, TextKind::Json, &lim),
        }
    })
    .await
    .map_err(|p| s.corrupt(name, p))?
    .map_err(|m| s.corrupt(name, m))?;
    match typed {
        TextOutcome::Columns(c) => Ok(c),
        TextOutcome::NeedDocument => {
            let Some(codec) = wrapper.map_or(Some(Codec::None), |w| {
                (w != sniff::Wrapper::Zip).then(|| w.codec())
            }) else {
                return Err(s.corrupt(
                    "JSON",
                    Invalid::Content {
                        declared: s.format.to_string(),
                        found: "a JSON document in a zip".to_string(),
                        why: ": larger than textSampleBytes",
                    },
                ));
            };
            read_document(store, s, limits, codec).await
        }
    }
}
