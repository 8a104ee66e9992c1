//! Content sniffing: a file's format from its first bytes, for keys whose extension is
//! missing or wrong (Kinesis Firehose objects, CSV exports without an extension, a `.json`
//! file that holds JSON Lines, a parquet file named `.csv`).
//!
//! [`sniff`] is pure: the head of an object in, what it holds out. It recognises parquet,
//! Avro and ORC by their magic numbers, the gzip / zstd / bzip2 / zip wrappers (and then the
//! inner format, from at most [`INNER_CAP`] decompressed bytes, one level deep), tar
//! archives, JSON documents, JSON Lines and concatenated JSON records, and CSV / TSV / `;` /
//! `|` delimited text (separator and header row detected). Text nobody can type (server
//! access logs, prose) is `None`.
//!
//! Policy, applied by [`super::infer_columns`]: **the declared format wins** whenever its
//! reader accepts the bytes, so a file that was typed before is typed the same; the content
//! is consulted only when that reader rejects them, from the prefix the text readers
//! already read (parquet and Avro read one head of at most [`HEAD_BYTES`] more, on that
//! failure path only). [`format_of`] is the front door for discovery: one bounded read.
//!
//! This module decodes nothing itself: compressed bytes go through [`super::decompress`]
//! under a cap, and JSON through `serde_json`'s recursion-limited parser.

use super::decompress::{self, Codec};
use super::text::{classify, Kind};
use super::Limits;
use crate::format::Format;
use crate::store::{self, GetRange, ObjectMeta, ObjectStore};

/// Decompressed bytes of a wrapped file that the inner sniff looks at, at most.
pub const INNER_CAP: u64 = 64 * 1024;

/// The head [`format_of`] reads, at most (less when `textSampleBytes` is smaller).
pub const HEAD_BYTES: u64 = 64 * 1024;

/// Lines of delimited text compared, at most.
const MAX_LINES: usize = 50;

/// Bytes searched for NULs before text is considered at all (as git and the CSV reader do).
const NUL_WINDOW: usize = 8000;

/// The separators tried, in order of preference when several fit. A space is not one: a
/// server access log's quoted and bracketed fields would pass for columns.
const SEPARATORS: [u8; 4] = [b',', b'\t', b';', b'|'];

/// The compression or archive around a file's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrapper {
    /// gzip (`1f 8b`).
    Gzip,
    /// zstd (`28 b5 2f fd`).
    Zstd,
    /// bzip2 (`BZh`).
    Bzip2,
    /// zip (`PK\x03\x04`): the content is its first member's.
    Zip,
}

impl Wrapper {
    /// The decoder for this wrapper's bytes (a zip member's data is raw deflate or stored).
    pub(crate) fn codec(self) -> Codec {
        match self {
            Wrapper::Gzip => Codec::Gzip,
            Wrapper::Zstd => Codec::Zstd,
            Wrapper::Bzip2 => Codec::Bzip2,
            Wrapper::Zip => Codec::Deflate,
        }
    }

    /// Its name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Wrapper::Gzip => "gzip",
            Wrapper::Zstd => "zstd",
            Wrapper::Bzip2 => "bzip2",
            Wrapper::Zip => "zip",
        }
    }
}

/// What the bytes (inside any wrapper) are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// Apache Parquet (`PAR1`); its footer decides the rest.
    Parquet,
    /// An Avro object container file (`Obj\x01`).
    Avro,
    /// Apache ORC (`ORC`): recognised, but s3meta has no ORC reader.
    Orc,
    /// A tar archive (`ustar` at offset 257).
    Tar,
    /// A zip archive whose first member is not a typed format (or a folder).
    ZipArchive,
    /// One JSON document (an array of records, or an object).
    JsonDocument,
    /// JSON Lines: one record per line.
    JsonLines,
    /// JSON records one after the other with no newline between them (Kinesis Firehose).
    JsonConcatenated,
    /// Delimited text.
    Delimited {
        /// The separator.
        separator: u8,
        /// The first row is a header (its cells text, the rows below typed otherwise).
        header: bool,
    },
}

/// What [`sniff`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    /// The compression or archive around the content, if any.
    pub wrapper: Option<Wrapper>,
    /// The content.
    pub content: Content,
}

impl Sniffed {
    /// The [`Format`] a manifest would name for these bytes (`json.gz` for gzip JSON,
    /// `tsv` for tab-separated text, `zip` for an archive; zstd or bzip2 text by its
    /// content's name, which sniffing then reads); `None` for ORC, which s3meta does not
    /// read, and for parquet or Avro inside a compression (their readers need the raw
    /// object's ranges).
    pub fn format(&self) -> Option<Format> {
        use Content as C;
        let gzip = self.wrapper == Some(Wrapper::Gzip);
        Some(match (self.wrapper, self.content) {
            (_, C::Orc) => return None,
            (Some(Wrapper::Zip), _) if self.is_json() => Format::JsonZip,
            // A zip holding anything else is an archive of members.
            (Some(Wrapper::Zip), _) | (None, C::ZipArchive) => Format::Zip,
            (None, C::Tar) => Format::Tar,
            (Some(Wrapper::Gzip), C::Tar) => Format::TarGz,
            // Parquet and Avro are read by ranges of the raw object: never inside a wrapper.
            (None, C::Parquet) => Format::Parquet,
            (None, C::Avro) => Format::Avro,
            (Some(_), C::Parquet | C::Avro | C::Tar | C::ZipArchive) => return None,
            (_, C::JsonDocument | C::JsonLines | C::JsonConcatenated) if gzip => Format::JsonGz,
            (_, C::JsonDocument) => Format::Json,
            (_, C::JsonLines | C::JsonConcatenated) => Format::JsonLines,
            (
                _,
                C::Delimited {
                    separator: b'\t', ..
                },
            ) => Format::Tsv,
            (_, C::Delimited { .. }) if gzip => Format::CsvGz,
            (_, C::Delimited { .. }) => Format::Csv,
        })
    }

    /// True for the JSON contents.
    pub fn is_json(&self) -> bool {
        matches!(
            self.content,
            Content::JsonDocument | Content::JsonLines | Content::JsonConcatenated
        )
    }

    /// How a message names it: `parquet`, `gzip-compressed JSON Lines`, `csv (;)`.
    pub fn describe(&self) -> String {
        let content = match self.content {
            Content::Parquet => "parquet".to_string(),
            Content::Avro => "avro".to_string(),
            Content::Orc => "ORC".to_string(),
            Content::Tar => "a tar archive".to_string(),
            Content::ZipArchive => "a zip archive".to_string(),
            Content::JsonDocument => "a JSON document".to_string(),
            Content::JsonLines => "JSON Lines".to_string(),
            Content::JsonConcatenated => "concatenated JSON records".to_string(),
            Content::Delimited {
                separator: b',', ..
            } => "csv".to_string(),
            Content::Delimited {
                separator: b'\t', ..
            } => "tsv".to_string(),
            Content::Delimited { separator, .. } => {
                format!("delimited text ({})", char::from(separator))
            }
        };
        match self.wrapper {
            None => content,
            Some(w) => format!("{}-compressed {content}", w.name()),
        }
    }
}

/// What the first bytes of a file hold, or `None` when nothing s3meta can type is there.
/// Pure and bounded: a wrapper's content is sniffed from at most [`INNER_CAP`] decoded
/// bytes, and only one wrapper deep.
pub fn sniff(head: &[u8]) -> Option<Sniffed> {
    if let Some(w) = wrapper(head) {
        let content = match unwrap(w, head, INNER_CAP).and_then(|d| content(&d.bytes)) {
            Some(c) => c,
            // A zip is an archive whatever its first member holds.
            None if w == Wrapper::Zip => Content::ZipArchive,
            None => return None,
        };
        return Some(Sniffed {
            wrapper: Some(w),
            content,
        });
    }
    content(head).map(|content| Sniffed {
        wrapper: None,
        content,
    })
}

/// The wrapper whose magic number starts `head`.
fn wrapper(head: &[u8]) -> Option<Wrapper> {
    match head {
        [0x1f, 0x8b, ..] => Some(Wrapper::Gzip),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Some(Wrapper::Zstd),
        [b'B', b'Z', b'h', b'1'..=b'9', ..] => Some(Wrapper::Bzip2),
        [b'P', b'K', 3, 4, ..] => Some(Wrapper::Zip),
        _ => None,
    }
}

/// The start of the content inside a wrapper: at most `cap` decoded bytes of a compressed
/// prefix, or of a zip's first member. `None` when the bytes do not decode at all.
pub(crate) fn unwrap(w: Wrapper, head: &[u8], cap: u64) -> Option<decompress::Decoded> {
    match w {
        Wrapper::Zip => {
            let (method, data) = zip_first_member(head)?;
            match method {
                0 => decompress::decode(Codec::None, data, cap, true).ok(),
                8 => decompress::decode(Codec::Deflate, data, cap, true).ok(),
                _ => None,
            }
        }
        other => {
            let d = decompress::decode(other.codec(), head, cap, true).ok()?;
            (!d.bytes.is_empty()).then_some(d)
        }
    }
}

/// The compression method and the (possibly cut) data of a zip's first local entry;
/// `None` for a folder entry or a header that does not fit.
fn zip_first_member(head: &[u8]) -> Option<(u16, &[u8])> {
    let u16_at = |i: usize| -> Option<u16> {
        let b = head.get(i..i + 2)?;
        Some(u16::from_le_bytes([b[0], b[1]]))
    };
    let method = u16_at(8)?;
    let csize = head
        .get(18..22)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))?;
    let name_len = usize::from(u16_at(26)?);
    let extra_len = usize::from(u16_at(28)?);
    let name = head.get(30..30 + name_len)?;
    if name.ends_with(b"/") {
        return None;
    }
    let start = 30 + name_len + extra_len;
    let rest = head.get(start..)?;
    // A streamed entry (data descriptor) claims 0: then the head's rest is all we know.
    let data = match usize::try_from(csize) {
        Ok(n) if n > 0 && n < rest.len() => &rest[..n],
        _ => rest,
    };
    Some((method, data))
}

/// What unwrapped bytes hold.
fn content(b: &[u8]) -> Option<Content> {
    match b {
        [b'P', b'A', b'R', b'1', ..] => return Some(Content::Parquet),
        [b'O', b'b', b'j', 1, ..] => return Some(Content::Avro),
        [b'O', b'R', b'C', ..] => return Some(Content::Orc),
        _ => {}
    }
    if b.get(257..262) == Some(b"ustar") {
        return Some(Content::Tar);
    }
    let text = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
    if text[..text.len().min(NUL_WINDOW)].contains(&0) {
        return None;
    }
    let start = text.iter().position(|c| !c.is_ascii_whitespace())?;
    match text[start] {
        b'{' | b'[' => json(&text[start..]),
        _ => delimited(text),
    }
}

/// JSON: a document, JSON Lines, or records back to back.
fn json(text: &[u8]) -> Option<Content> {
    use serde::de::IgnoredAny;
    let mut stream = serde_json::Deserializer::from_slice(text).into_iter::<IgnoredAny>();
    match stream.next()? {
        Ok(_) => {}
        // Cut by the end of the head: a document larger than the head.
        Err(e) if e.is_eof() => return Some(Content::JsonDocument),
        Err(_) => return None,
    }
    let end = stream.byte_offset();
    let rest = &text[end..];
    let Some(next) = rest.iter().position(|c| !c.is_ascii_whitespace()) else {
        return Some(if text[0] == b'{' && !text[..end].contains(&b'\n') {
            Content::JsonLines
        } else {
            Content::JsonDocument
        });
    };
    if text[0] != b'{' || rest[next] != b'{' {
        return None;
    }
    // A second record must parse too (or be cut by the head's end).
    let mut second = serde_json::Deserializer::from_slice(&rest[next..]).into_iter::<IgnoredAny>();
    match second.next()? {
        Ok(_) => {}
        Err(e) if e.is_eof() => {}
        Err(_) => return None,
    }
    Some(if rest[..next].contains(&b'\n') {
        Content::JsonLines
    } else {
        Content::JsonConcatenated
    })
}

/// Delimited text: the separator that splits the first lines into one consistent number of
/// fields (at least two), and whether the first of them is a header.
fn delimited(text: &[u8]) -> Option<Content> {
    // The last line may be cut by the end of the head.
    let whole = match text.iter().rposition(|&c| c == b'\n') {
        Some(i) => &text[..=i],
        None => return None,
    };
    let lines: Vec<&[u8]> = whole
        .split(|&c| c == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .take(MAX_LINES)
        .collect();
    if lines.len() < 2 {
        return None;
    }
    if lines.iter().any(|l| has_control(l)) {
        return None;
    }
    let mut best: Option<(u8, Vec<Vec<String>>)> = None;
    for sep in SEPARATORS {
        let Some(rows) = split_consistently(&lines, sep) else {
            continue;
        };
        if best
            .as_ref()
            .is_none_or(|(_, b)| rows[0].len() > b[0].len())
        {
            best = Some((sep, rows));
        }
    }
    let (separator, rows) = best?;
    Some(Content::Delimited {
        separator,
        header: has_header(&rows),
    })
}

/// Control characters other than tab: not a text line.
fn has_control(line: &[u8]) -> bool {
    line.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7F)
}

/// The lines' fields with `sep`, when every line has the same number of them (at least 2).
fn split_consistently(lines: &[&[u8]], sep: u8) -> Option<Vec<Vec<String>>> {
    let mut rows = Vec::with_capacity(lines.len());
    for line in lines {
        let mut r = ::csv::ReaderBuilder::new()
            .delimiter(sep)
            .has_headers(false)
            .flexible(true)
            .from_reader(*line);
        let rec = r.byte_records().next()?.ok()?;
        let fields: Vec<String> = rec
            .iter()
            .map(|f| String::from_utf8_lossy(f).trim().to_string())
            .collect();
        if fields.len() < 2
            || rows
                .first()
                .is_some_and(|f: &Vec<String>| f.len() != fields.len())
        {
            return None;
        }
        rows.push(fields);
    }
    Some(rows)
}

/// A header row: its cells are distinct, non-empty text, and below it at least one column
/// types as something else, or (all text) none of its cells recurs in its column.
fn has_header(rows: &[Vec<String>]) -> bool {
    let Some((first, body)) = rows.split_first() else {
        return false;
    };
    let mut seen = std::collections::HashSet::new();
    if !first
        .iter()
        .all(|c| !c.is_empty() && classify(c) == Kind::String && seen.insert(c.as_str()))
    {
        return false;
    }
    let typed_below = (0..first.len()).any(|i| {
        body.iter()
            .map(|r| classify(&r[i]))
            .any(|k| !matches!(k, Kind::String | Kind::Null))
    });
    typed_below || (0..first.len()).all(|i| body.iter().all(|r| r[i] != first[i]))
}

/// Records written back to back (`{…}{…}`, Kinesis Firehose) as JSON Lines: at most
/// `max_rows` of them, each on its own line; the record cut by the end of `text` and
/// anything after a syntax error are dropped.
pub(crate) fn records_as_lines(text: &[u8], max_rows: usize) -> Vec<u8> {
    use serde::de::IgnoredAny;
    let mut out = Vec::new();
    let mut stream = serde_json::Deserializer::from_slice(text).into_iter::<IgnoredAny>();
    let mut start = 0;
    for _ in 0..max_rows {
        match stream.next() {
            Some(Ok(_)) => {}
            _ => break,
        }
        let end = stream.byte_offset();
        // The record's own bytes (key order kept), without the whitespace before it.
        let record = &text[start..end];
        let first = record
            .iter()
            .position(|c| !c.is_ascii_whitespace())
            .unwrap_or(record.len());
        // A record spanning lines is kept whole on one line: JSON whitespace may be
        // replaced by spaces.
        out.extend(
            record[first..]
                .iter()
                .map(|&c| if c == b'\n' || c == b'\r' { b' ' } else { c }),
        );
        out.push(b'\n');
        start = end;
    }
    out
}

/// Why [`format_of`] could not look.
#[derive(Debug, thiserror::Error)]
pub enum SniffError {
    /// The head could not be read.
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// The content of one object, from one ranged read of its first
/// `min(HEAD_BYTES, textSampleBytes)` bytes: what discovery calls for a key whose
/// extension says nothing. `Ok(None)` for an empty object or bytes nothing can type. The
/// sniff itself runs on the blocking pool (CPU work on foreign bytes); a panic there is
/// reported as no content.
pub async fn format_of(
    store: &dyn ObjectStore,
    bucket: &str,
    object: &ObjectMeta,
    limits: &Limits,
) -> Result<Option<Sniffed>, SniffError> {
    if object.size == 0 {
        return Ok(None);
    }
    let n = HEAD_BYTES.min(limits.text_bytes).min(object.size);
    let got = store
        .get_range(bucket, &object.key, GetRange::Bounded(0, n))
        .await?;
    let bytes = got.bytes;
    Ok(super::cpu::blocking(move || sniff(&bytes))
        .await
        .ok()
        .flatten())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn plain(content: Content) -> Option<Sniffed> {
        Some(Sniffed {
            wrapper: None,
            content,
        })
    }

    fn csv(separator: u8, header: bool) -> Content {
        Content::Delimited { separator, header }
    }

    #[test]
    fn magic_numbers() {
        assert_eq!(sniff(b"PAR1\x15\x04rest"), plain(Content::Parquet));
        assert_eq!(sniff(b"Obj\x01\x04\x14avro"), plain(Content::Avro));
        assert_eq!(sniff(b"ORC\x0a\x0b"), plain(Content::Orc));
        assert_eq!(sniff(b"ORC").unwrap().format(), None);
        let mut tar = vec![0u8; 512];
        tar[..5].copy_from_slice(b"a.csv");
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(sniff(&tar), plain(Content::Tar));
        assert_eq!(sniff(&gzip(&tar)).unwrap().format(), Some(Format::TarGz));
    }

    #[test]
    fn json_shapes() {
        assert_eq!(
            sniff(b"[{\"a\":1},{\"a\":2}]"),
            plain(Content::JsonDocument)
        );
        assert_eq!(
            sniff(b"{\n  \"a\": 1,\n  \"b\": [1,2]\n}\n"),
            plain(Content::JsonDocument)
        );
        assert_eq!(sniff(b"{\"a\":1}\n{\"a\":2}\n"), plain(Content::JsonLines));
        assert_eq!(sniff(b"{\"a\":1}"), plain(Content::JsonLines));
        assert_eq!(
            sniff(b"{\"a\":1}{\"a\":2}{\"a\""),
            plain(Content::JsonConcatenated)
        );
        // A document cut by the end of the head is still a document.
        assert_eq!(sniff(b"[{\"a\":1},{\"a\":"), plain(Content::JsonDocument));
        assert_eq!(sniff(b"{\"a\":1} trailing words"), None);
        assert_eq!(sniff(b"[1, 2] [3]"), None);
        // Deep nesting is skipped without recursion (the readers bound it later).
        let deep = "[".repeat(100_000);
        assert_eq!(sniff(deep.as_bytes()), plain(Content::JsonDocument));
        let deep_closed = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(sniff(deep_closed.as_bytes()), plain(Content::JsonDocument));
    }

    #[test]
    fn delimiters_and_headers() {
        assert_eq!(
            sniff(b"id,name,at\n1,a,2024-01-01\n2,b,2024-01-02\n"),
            plain(csv(b',', true))
        );
        assert_eq!(sniff(b"id\tname\n1\ta\n2\tb\n"), plain(csv(b'\t', true)));
        assert_eq!(sniff(b"a;b;c\n1;2;3\n4;5;6\n"), plain(csv(b';', true)));
        assert_eq!(sniff(b"1,2,3\n4,5,6\n"), plain(csv(b',', false)));
        // Quoted separators do not count.
        assert_eq!(
            sniff(b"name,city\n\"Doe, J\",Paris\n\"Roe, R\",Oslo\n"),
            plain(csv(b',', true))
        );
        // All text, the first row's cells recurring below: no header.
        assert_eq!(sniff(b"x,y\nx,z\nx,w\n"), plain(csv(b',', false)));
        // Inconsistent field counts, or one line only: not delimited text.
        assert_eq!(sniff(b"a,b\n1,2,3\n4\n"), None);
        assert_eq!(sniff(b"a,b\n"), None);
        assert_eq!(
            sniff(b"just some prose, with a comma.\nand another line\n"),
            None
        );
    }

    #[test]
    fn access_logs_are_not_typed() {
        let log = b"79a59df9 awsexamplebucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 79a59df9 3E57427F3EXAMPLE REST.GET.VERSIONING - \"GET /awsexamplebucket1?versioning HTTP/1.1\" 200 - 113 - 7 - \"-\" \"S3Console/0.4\" - s9lzHYrFp76Z SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader awsexamplebucket1.s3.us-west-1.amazonaws.com TLSV1.2 - -\n79a59df9 awsexamplebucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 79a59df9 891CE47D2EXAMPLE REST.GET.LOGGING_STATUS - \"GET /awsexamplebucket1?logging HTTP/1.1\" 200 - 242 - 11 - \"-\" \"S3Console/0.4\" - 9vKBE6vMhrNi SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader awsexamplebucket1.s3.us-west-1.amazonaws.com TLSV1.2 - -\n";
        assert_eq!(sniff(log), None);
    }

    #[test]
    fn wrappers_then_the_inner_format() {
        let lines = b"{\"a\":1}\n{\"a\":2}\n";
        let g = sniff(&gzip(lines)).unwrap();
        assert_eq!(g.wrapper, Some(Wrapper::Gzip));
        assert_eq!(g.content, Content::JsonLines);
        assert_eq!(g.format(), Some(Format::JsonGz));
        let z = zstd::encode_all(&b"a,b\n1,2\n3,4\n"[..], 3).unwrap();
        assert_eq!(sniff(&z).unwrap().format(), Some(Format::Csv));
        assert_eq!(
            sniff(&z),
            Some(Sniffed {
                wrapper: Some(Wrapper::Zstd),
                content: csv(b',', true)
            })
        );
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        bz.write_all(b"[{\"a\":1}]").unwrap();
        let bz = bz.finish().unwrap();
        assert_eq!(sniff(&bz).unwrap().content, Content::JsonDocument);
        // gzip of text nobody types, or garbage after a magic number: nothing.
        assert_eq!(sniff(&gzip(b"hello world\n")), None);
        assert_eq!(sniff(b"\x1f\x8b\x08\x00garbage"), None);
        // A bomb is read only up to the cap.
        let bomb = gzip(&vec![b' '; 50 * 1024 * 1024]);
        assert_eq!(sniff(&bomb), None);
    }

    /// A one-member zip, stored (method 0) or deflated (method 8), as writers lay it out.
    fn zip(name: &str, data: &[u8], deflate: bool) -> Vec<u8> {
        let body = if deflate {
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        } else {
            data.to_vec()
        };
        let mut z = b"PK\x03\x04\x14\x00\x00\x00".to_vec();
        z.extend_from_slice(&(if deflate { 8u16 } else { 0 }).to_le_bytes());
        z.extend_from_slice(&[0; 8]); // time, date, crc
        z.extend_from_slice(&(body.len() as u32).to_le_bytes());
        z.extend_from_slice(&(data.len() as u32).to_le_bytes());
        z.extend_from_slice(&(name.len() as u16).to_le_bytes());
        z.extend_from_slice(&0u16.to_le_bytes());
        z.extend_from_slice(name.as_bytes());
        z.extend_from_slice(&body);
        z.extend_from_slice(b"PK\x01\x02");
        z
    }

    #[test]
    fn zip_first_member() {
        for deflate in [false, true] {
            let s = sniff(&zip("x.json", b"[{\"a\":1}]", deflate)).unwrap();
            assert_eq!(
                (s.wrapper, s.content),
                (Some(Wrapper::Zip), Content::JsonDocument)
            );
            assert_eq!(s.format(), Some(Format::JsonZip));
        }
        let png = zip("x.png", b"\x89PNG\r\n\x1a\n\0\0\0", false);
        assert_eq!(sniff(&png).unwrap().format(), Some(Format::Zip));
        assert_eq!(
            sniff(&zip("dir/", b"", false)).unwrap().format(),
            Some(Format::Zip)
        );
    }

    #[test]
    fn formats_by_wrapper_and_content() {
        let s = |wrapper, content| Sniffed { wrapper, content }.format();
        assert_eq!(s(None, csv(b'\t', true)), Some(Format::Tsv));
        assert_eq!(s(Some(Wrapper::Gzip), csv(b',', true)), Some(Format::CsvGz));
        assert_eq!(s(Some(Wrapper::Gzip), csv(b'\t', true)), Some(Format::Tsv));
        assert_eq!(s(None, Content::JsonConcatenated), Some(Format::JsonLines));
        assert_eq!(s(Some(Wrapper::Zstd), Content::Parquet), None);
    }

    #[test]
    fn fuzz() {
        let report = crate::fuzz::run("sniff", vec![], |bytes| {
            if let Some(s) = sniff(bytes) {
                let _ = (s.format(), s.describe());
            }
            // The inner sniff never holds more than its cap.
            for w in [Wrapper::Gzip, Wrapper::Zstd, Wrapper::Bzip2, Wrapper::Zip] {
                if let Some(d) = unwrap(w, bytes, INNER_CAP) {
                    assert!(d.bytes.len() as u64 <= INNER_CAP);
                }
            }
        });
        assert!(report.executions > 0);
    }
}
