//! Archives (reference §5.8): the members of a zip or tar archive, each typed from its own
//! content.
//!
//! Zip is read through ranged GETs: the tail for the end-of-central-directory record (and
//! the zip64 one when the archive needs it), the central directory, then for each member
//! with a known format its local header and as much of its data as typing needs (a prefix
//! for text and Avro; the footer, by ranged reads, for a stored parquet member; the whole
//! member within `maxDocumentBytes` for a deflated one). Stored and deflate members only.
//! Tar and tar.gz/tgz have no index: the archive is streamed in 8 MiB ranged reads within
//! `maxArchiveBytes` (the one whole-object read s3meta allows), keeping only the start of
//! each member it types. 7z and rar are not opened.
//!
//! Caps: archives over `maxArchiveBytes` are not opened; members over `maxMemberBytes`
//! (uncompressed) are skipped, as are directories, nested archives, absolute paths and
//! paths with a `..` segment; at most `maxArchiveMembers` members are read.
//!
//! DIFF(spec §5.8, §13 #14): the reference types the first member it can read and gives its
//! columns to every member (a `readme.txt` gets the CSV's columns); here each member is typed
//! from its own bytes, and a member of no known format has no columns. Zip64 archives are
//! read through ranges too (the reference downloads them whole), and tar archives are
//! streamed, not downloaded to memory.

use super::decompress::{self, Codec, Push};
use super::parquet::{infer_range, RangeError};
use super::{infer_bytes, Error, Limits, Sample};
use crate::entity::Column;
use crate::format::{Format, Reader, StructureFormat};
use crate::store::{GetRange, ObjectStore};
use std::io::{self, Write};

/// One file member of an archive.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// Path inside the archive.
    pub path: String,
    /// Uncompressed size.
    pub size: u64,
    /// Its format from its extension (`csv`, `parquet`, …), when it has a known one.
    pub format: Option<Format>,
    /// Its columns, when its format is known and it could be read.
    pub columns: Option<Vec<Column>>,
}

impl Member {
    /// The base file name.
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

/// What reading an archive gave: its members, and what went wrong with some of them.
#[derive(Debug, Clone, Default)]
pub struct Archive {
    /// File members, in archive order.
    pub members: Vec<Member>,
    /// One line per problem (a skipped or unreadable member, a cap reached).
    pub warnings: Vec<String>,
}

/// The format of a member from its path (lower-cased extension), or `None`. Archives are
/// not typed as members (they are skipped as nested archives).
fn member_format(path: &str) -> Option<Format> {
    Format::from_extension(path).filter(|f| !f.is_archive())
}

/// A nested archive, or a gzip-compressed member, which is not opened.
fn is_nested_archive(path: &str) -> bool {
    Format::from_extension(path).is_some_and(Format::is_archive)
        || path.to_ascii_lowercase().ends_with(".gz")
}

/// Which bytes of a member typing needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Its end (parquet's footer): a stored zip member is read by ranges, like an object;
    /// any other member is held whole, within `maxDocumentBytes`.
    Footer,
    /// A prefix of `textSampleBytes` (text, and Avro's header).
    Prefix,
}

/// What typing a member of this format reads; `None` for a format with no member reader.
fn need(format: Format) -> Option<Need> {
    match format.reader() {
        Reader::Parquet => Some(Need::Footer),
        Reader::Avro | Reader::Delimited(_) | Reader::Json => Some(Need::Prefix),
        Reader::Zip | Reader::Tar { .. } | Reader::Unopened | Reader::NotBuilt => None,
    }
}

/// Why a member is skipped, if it is.
fn skip_reason(path: &str, size: u64, limits: &Limits) -> Option<String> {
    if path.starts_with('/') || path.split(['/', '\\']).any(|s| s == "..") {
        return Some("an absolute path or a `..` segment".into());
    }
    if is_nested_archive(path) {
        return Some("a nested archive".into());
    }
    if size > limits.max_member {
        return Some(format!(
            "{size} bytes uncompressed, over maxMemberBytes ({})",
            limits.max_member
        ));
    }
    None
}

/// Reads the members of the archive `key` (of `structureFormat` `format`).
pub async fn read_archive(
    store: &dyn ObjectStore,
    bucket: &str,
    key: &str,
    size: Option<u64>,
    format: &StructureFormat,
    limits: &Limits,
) -> Result<Archive, Error> {
    let reader = format.format().map(Format::reader);
    // Messages name the format as written, in lower case (`tgz`, `tar.gz`).
    let format = format.as_str().to_ascii_lowercase();
    let gzip = match reader {
        Some(Reader::Zip) => false,
        Some(Reader::Tar { gzip }) => gzip,
        Some(Reader::Unopened) => {
            return Ok(Archive {
                members: vec![],
                warnings: vec![format!(
                    "{format} archives are not opened: only the archive container is built"
                )],
            })
        }
        Some(Reader::Parquet | Reader::Avro | Reader::Delimited(_) | Reader::Json)
        | Some(Reader::NotBuilt)
        | None => return Err(Error::NotBuilt { format }),
    };
    let size = match size {
        Some(s) => s,
        None => store.head(bucket, key).await?.size,
    };
    let corrupt = |m: String| Error::Corrupt {
        bucket: bucket.to_string(),
        key: key.to_string(),
        format: format.clone(),
        message: m,
    };
    if size > limits.max_archive {
        return Err(corrupt(format!(
            "{size} bytes, over maxArchiveBytes ({}): not opened",
            limits.max_archive
        )));
    }
    if reader == Some(Reader::Zip) {
        let dir = zip_directory(store, bucket, key, size, limits)
            .await
            .map_err(|e| e.into_error(bucket, key, "zip"))?;
        let mut out = Archive::default();
        for entry in dir {
            if entry.path.ends_with('/') {
                continue;
            }
            if out.members.len() >= limits.max_members {
                out.warnings.push(format!(
                    "only the first {} members were read (maxArchiveMembers)",
                    limits.max_members
                ));
                break;
            }
            if let Some(why) = skip_reason(&entry.path, entry.size, limits) {
                out.warnings
                    .push(format!("member {} skipped: {why}", entry.path));
                continue;
            }
            let fmt = member_format(&entry.path);
            let columns = match fmt {
                None => None,
                Some(f) => match zip_member_columns(store, bucket, key, &entry, f, limits).await {
                    Ok(c) => Some(c),
                    Err(m) => {
                        out.warnings
                            .push(format!("member {} not typed: {m}", entry.path));
                        None
                    }
                },
            };
            out.members.push(Member {
                path: entry.path,
                size: entry.size,
                format: fmt,
                columns,
            });
        }
        return Ok(out);
    }
    let codec = if gzip { Codec::Gzip } else { Codec::None };
    stream_tar(store, bucket, key, size, codec, limits)
        .await
        .map_err(|e| e.into_error(bucket, key, &format))
}

/// The columns of the first `.json`/`.jsonl` member of a zip (`json.zip`, reference §5.3).
pub(super) async fn json_in_zip(
    store: &dyn ObjectStore,
    s: Sample<'_>,
    limits: &Limits,
) -> Result<Vec<Column>, Error> {
    let (bucket, key) = (s.bucket, s.object.key.as_str());
    let dir = zip_directory(store, bucket, key, s.object.size, limits)
        .await
        .map_err(|e| e.into_error(bucket, key, "json.zip"))?;
    let Some(entry) = dir
        .into_iter()
        .find(|e| member_format(&e.path).map(Format::reader) == Some(Reader::Json))
    else {
        return Ok(vec![]);
    };
    zip_member_columns(store, bucket, key, &entry, Format::Json, limits)
        .await
        .map_err(|m| s.corrupt("json.zip", format!("member {}: {m}", entry.path)))
}

/// A failure while reading an archive's structure.
#[derive(Debug)]
enum ArchiveError {
    Store(crate::store::Error),
    Corrupt(String),
}

impl ArchiveError {
    fn into_error(self, bucket: &str, key: &str, format: &str) -> Error {
        match self {
            ArchiveError::Store(e) => Error::Store(e),
            ArchiveError::Corrupt(message) => Error::Corrupt {
                bucket: bucket.to_string(),
                key: key.to_string(),
                format: format.to_string(),
                message,
            },
        }
    }
}

impl From<crate::store::Error> for ArchiveError {
    fn from(e: crate::store::Error) -> Self {
        ArchiveError::Store(e)
    }
}

fn u16_at(b: &[u8], i: usize) -> Option<u64> {
    Some(u64::from(u16::from_le_bytes(
        b.get(i..i + 2)?.try_into().ok()?,
    )))
}
fn u32_at(b: &[u8], i: usize) -> Option<u64> {
    Some(u64::from(u32::from_le_bytes(
        b.get(i..i + 4)?.try_into().ok()?,
    )))
}
fn u64_at(b: &[u8], i: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(i..i + 8)?.try_into().ok()?))
}

/// One central-directory entry.
#[derive(Debug, Clone)]
struct ZipEntry {
    path: String,
    method: u64,
    compressed: u64,
    size: u64,
    local_offset: u64,
}

const EOCD_MAX: u64 = 22 + 65535;

async fn zip_directory(
    store: &dyn ObjectStore,
    bucket: &str,
    key: &str,
    size: u64,
    limits: &Limits,
) -> Result<Vec<ZipEntry>, ArchiveError> {
    let bad = |m: &str| ArchiveError::Corrupt(m.to_string());
    let tail_start = size.saturating_sub(EOCD_MAX);
    let tail = store
        .get_range(bucket, key, GetRange::Bounded(tail_start, size))
        .await?
        .bytes;
    let at = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..i + 4] == [0x50, 0x4b, 0x05, 0x06])
        .ok_or_else(|| bad("no end-of-central-directory record (not a zip file?)"))?;
    let e = &tail[at..];
    let mut count = u16_at(e, 10).ok_or_else(|| bad("short EOCD"))?;
    let mut cd_size = u32_at(e, 12).ok_or_else(|| bad("short EOCD"))?;
    let mut cd_offset = u32_at(e, 16).ok_or_else(|| bad("short EOCD"))?;
    if count == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF {
        // Zip64: the locator sits just before the EOCD record.
        let loc = at
            .checked_sub(20)
            .filter(|&l| tail[l..l + 4] == [0x50, 0x4b, 0x06, 0x07])
            .ok_or_else(|| bad("zip64 locator missing"))?;
        let rec_off = u64_at(&tail, loc + 8).ok_or_else(|| bad("short zip64 locator"))?;
        let rec = if rec_off >= tail_start && rec_off + 56 <= size {
            let i = (rec_off - tail_start) as usize;
            tail.slice(i..(i + 56).min(tail.len()))
        } else {
            store
                .get_range(bucket, key, GetRange::Bounded(rec_off, rec_off + 56))
                .await?
                .bytes
        };
        if rec.get(..4) != Some(&[0x50, 0x4b, 0x06, 0x06][..]) {
            return Err(bad("zip64 end-of-central-directory record missing"));
        }
        count = u64_at(&rec, 32).ok_or_else(|| bad("short zip64 record"))?;
        cd_size = u64_at(&rec, 40).ok_or_else(|| bad("short zip64 record"))?;
        cd_offset = u64_at(&rec, 48).ok_or_else(|| bad("short zip64 record"))?;
    }
    if cd_size > limits.max_document {
        return Err(ArchiveError::Corrupt(format!(
            "central directory of {cd_size} bytes, over maxDocumentBytes"
        )));
    }
    if cd_offset + cd_size > size {
        return Err(bad("central directory outside the file"));
    }
    let cd = if cd_offset >= tail_start {
        let i = (cd_offset - tail_start) as usize;
        tail.slice(i..i + cd_size as usize)
    } else {
        store
            .get_range(
                bucket,
                key,
                GetRange::Bounded(cd_offset, cd_offset + cd_size),
            )
            .await?
            .bytes
    };
    let mut out = Vec::new();
    let mut p = 0usize;
    // The count is only a hint: a hostile one must not make us allocate.
    while out.len() < count as usize && p + 46 <= cd.len() {
        if cd[p..p + 4] != [0x50, 0x4b, 0x01, 0x02] {
            return Err(bad("bad central directory entry"));
        }
        let h = &cd[p..];
        let method = u16_at(h, 10).unwrap_or(0);
        let mut compressed = u32_at(h, 20).unwrap_or(0);
        let mut usize_ = u32_at(h, 24).unwrap_or(0);
        let name_len = u16_at(h, 28).unwrap_or(0) as usize;
        let extra_len = u16_at(h, 30).unwrap_or(0) as usize;
        let comment_len = u16_at(h, 32).unwrap_or(0) as usize;
        let mut local_offset = u32_at(h, 42).unwrap_or(0);
        let name = h
            .get(46..46 + name_len)
            .ok_or_else(|| bad("short central directory entry"))?;
        let extra = h
            .get(46 + name_len..46 + name_len + extra_len)
            .unwrap_or_default();
        // Zip64 extended information: the fields that overflowed, in this order.
        let mut x = 0;
        while x + 4 <= extra.len() {
            let id = u16_at(extra, x).unwrap_or(0);
            let len = u16_at(extra, x + 2).unwrap_or(0) as usize;
            if id == 1 {
                let mut q = x + 4;
                for field in [&mut usize_, &mut compressed, &mut local_offset] {
                    if *field == 0xFFFF_FFFF {
                        *field = u64_at(extra, q).unwrap_or(*field);
                        q += 8;
                    }
                }
            }
            x += 4 + len;
        }
        out.push(ZipEntry {
            path: String::from_utf8_lossy(name).into_owned(),
            method,
            compressed,
            size: usize_,
            local_offset,
        });
        p += 46 + name_len + extra_len + comment_len;
    }
    Ok(out)
}

/// Reads `want` bytes of a member's (compressed) data, from its local header on.
async fn zip_member_data(
    store: &dyn ObjectStore,
    bucket: &str,
    key: &str,
    e: &ZipEntry,
    want: u64,
) -> Result<(u64, bytes::Bytes), String> {
    let guess = 30 + e.path.len() as u64 + 256;
    let first = store
        .get_range(
            bucket,
            key,
            GetRange::Bounded(e.local_offset, e.local_offset + guess + want),
        )
        .await
        .map_err(|x| x.to_string())?
        .bytes;
    if first.get(..4) != Some(&[0x50, 0x4b, 0x03, 0x04][..]) {
        return Err("bad local header".into());
    }
    let header = 30 + u16_at(&first, 26).unwrap_or(0) + u16_at(&first, 28).unwrap_or(0);
    let data_start = e.local_offset + header;
    if header + want <= first.len() as u64 {
        return Ok((
            data_start,
            first.slice(header as usize..(header + want) as usize),
        ));
    }
    let got = store
        .get_range(
            bucket,
            key,
            GetRange::Bounded(data_start, data_start + want),
        )
        .await
        .map_err(|x| x.to_string())?
        .bytes;
    Ok((data_start, got))
}

async fn zip_member_columns(
    store: &dyn ObjectStore,
    bucket: &str,
    key: &str,
    e: &ZipEntry,
    format: Format,
    limits: &Limits,
) -> Result<Vec<Column>, String> {
    let codec = match e.method {
        0 => Codec::None,
        8 => Codec::Deflate,
        m => {
            return Err(format!(
                "compression method {m} is not supported (stored and deflate only)"
            ))
        }
    };
    if need(format) == Some(Need::Footer) {
        if codec == Codec::None {
            // The footer by ranged reads, as for a parquet object.
            let (data_start, _) = zip_member_data(store, bucket, key, e, 0).await?;
            return infer_range(store, bucket, key, data_start, e.size, limits)
                .await
                .map_err(|x| match x {
                    RangeError::Store(s) => s.to_string(),
                    RangeError::Corrupt(m) => m,
                });
        }
        if e.size > limits.max_document {
            return Err(format!(
                "a deflated {format} member of {} bytes is over maxDocumentBytes ({})",
                e.size, limits.max_document
            ));
        }
        let (_, data) = zip_member_data(store, bucket, key, e, e.compressed).await?;
        let d = decompress::decode(codec, &data, limits.max_document, false)?;
        return infer_bytes(&d.bytes, true, format, limits);
    }
    let want = e.compressed.min(limits.text_bytes);
    let (_, data) = zip_member_data(store, bucket, key, e, want).await?;
    let prefix = want < e.compressed;
    let d = decompress::decode(codec, &data, limits.text_bytes, prefix)?;
    infer_bytes(&d.bytes, !prefix && !d.capped && !d.cut, format, limits)
}

/// A push parser of a tar stream: headers, GNU long names, pax paths.
struct TarParser {
    limits: Limits,
    header: Vec<u8>,
    /// The member being read: (path, size, format, bytes kept, bytes left incl. padding).
    current: Option<Current>,
    skip: u64,
    long_name: Option<String>,
    pax_path: Option<String>,
    /// Extended-header data being collected (type `L` or `x`).
    ext: Option<(u8, Vec<u8>, u64)>,
    out: Archive,
    done: bool,
}

struct Current {
    path: String,
    size: u64,
    format: Option<Format>,
    keep: u64,
    kept: Vec<u8>,
    left: u64,
    skipped: bool,
}

fn octal(field: &[u8]) -> u64 {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        // base-256 (GNU) for sizes over 8 GiB
        return field[1..].iter().fold(0u64, |a, &b| {
            a.saturating_mul(256).saturating_add(u64::from(b))
        });
    }
    let s = String::from_utf8_lossy(field);
    u64::from_str_radix(s.trim_matches(|c: char| c == '\0' || c == ' '), 8).unwrap_or(0)
}

fn cstr(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

fn padded(n: u64) -> u64 {
    n.div_ceil(512) * 512
}

impl TarParser {
    fn on_header(&mut self, h: &[u8]) {
        if h.iter().all(|&b| b == 0) {
            return;
        }
        let size = octal(&h[124..136]);
        let kind = h[156];
        let mut path = cstr(&h[0..100]);
        if &h[257..262] == b"ustar" {
            let prefix = cstr(&h[345..500]);
            if !prefix.is_empty() {
                path = format!("{prefix}/{path}");
            }
        }
        match kind {
            b'L' | b'x' => {
                self.ext = Some((kind, Vec::new(), size));
                self.skip = padded(size) - size;
                return;
            }
            b'0' | 0 | b'7' => {}
            _ => {
                self.skip = padded(size);
                self.long_name = None;
                self.pax_path = None;
                return;
            }
        }
        if let Some(p) = self.pax_path.take().or(self.long_name.take()) {
            path = p;
        }
        let path = path.trim_start_matches("./").to_string();
        let mut c = Current {
            path: path.clone(),
            size,
            format: None,
            keep: 0,
            kept: Vec::new(),
            left: padded(size),
            skipped: false,
        };
        if self.out.members.len() >= self.limits.max_members {
            self.out.warnings.push(format!(
                "only the first {} members were read (maxArchiveMembers)",
                self.limits.max_members
            ));
            self.done = true;
            return;
        }
        if let Some(why) = skip_reason(&path, size, &self.limits) {
            self.out
                .warnings
                .push(format!("member {path} skipped: {why}"));
            c.skipped = true;
        } else {
            c.format = member_format(&path);
            c.keep = match c.format.and_then(need) {
                None => 0,
                Some(Need::Footer) if size <= self.limits.max_document => size,
                Some(Need::Footer) => 0,
                Some(Need::Prefix) => size.min(self.limits.text_bytes),
            };
        }
        if c.left == 0 {
            self.finish_member(c);
        } else {
            self.current = Some(c);
        }
    }

    fn finish_member(&mut self, c: Current) {
        if c.skipped {
            return;
        }
        let columns = match c.format {
            None => None,
            Some(f) if need(f) == Some(Need::Footer) && c.keep == 0 => {
                self.out.warnings.push(format!(
                    "member {} not typed: a {f} member of {} bytes in a tar is over maxDocumentBytes ({})",
                    c.path, c.size, self.limits.max_document
                ));
                None
            }
            Some(f) => match infer_bytes(&c.kept, c.keep == c.size, f, &self.limits) {
                Ok(cols) => Some(cols),
                Err(m) => {
                    self.out
                        .warnings
                        .push(format!("member {} not typed: {m}", c.path));
                    None
                }
            },
        };
        self.out.members.push(Member {
            path: c.path,
            size: c.size,
            format: c.format,
            columns,
        });
    }

    fn feed(&mut self, mut buf: &[u8]) {
        while !buf.is_empty() && !self.done {
            if self.skip > 0 {
                let n = (self.skip as usize).min(buf.len());
                self.skip -= n as u64;
                buf = &buf[n..];
                continue;
            }
            if let Some((kind, data, left)) = self.ext.as_mut() {
                let n = (*left as usize).min(buf.len());
                if data.len() < 64 * 1024 {
                    data.extend_from_slice(&buf[..n]);
                }
                *left -= n as u64;
                buf = &buf[n..];
                if *left == 0 {
                    let text = String::from_utf8_lossy(data).into_owned();
                    if *kind == b'L' {
                        self.long_name = Some(text.trim_end_matches('\0').to_string());
                    } else {
                        self.pax_path = text
                            .lines()
                            .find_map(|l| l.split_once(" path=").map(|(_, p)| p.to_string()));
                    }
                    self.ext = None;
                }
                continue;
            }
            if let Some(c) = self.current.as_mut() {
                let n = (c.left as usize).min(buf.len());
                let want = (c.keep as usize).saturating_sub(c.kept.len()).min(n);
                c.kept.extend_from_slice(&buf[..want]);
                c.left -= n as u64;
                buf = &buf[n..];
                if c.left == 0 {
                    if let Some(c) = self.current.take() {
                        self.finish_member(c);
                    }
                }
                continue;
            }
            let n = (512 - self.header.len()).min(buf.len());
            self.header.extend_from_slice(&buf[..n]);
            buf = &buf[n..];
            if self.header.len() == 512 {
                let h = std::mem::take(&mut self.header);
                self.on_header(&h);
            }
        }
    }
}

impl Write for TarParser {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.feed(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

const TAR_CHUNK: u64 = 8 * 1024 * 1024;

async fn stream_tar(
    store: &dyn ObjectStore,
    bucket: &str,
    key: &str,
    size: u64,
    codec: Codec,
    limits: &Limits,
) -> Result<Archive, ArchiveError> {
    let parser = TarParser {
        limits: *limits,
        header: Vec::with_capacity(512),
        current: None,
        skip: 0,
        long_name: None,
        pax_path: None,
        ext: None,
        out: Archive::default(),
        done: false,
    };
    // The decoded stream may be larger than the archive, but not unboundedly: a tar.gz bomb
    // meets the same cap as the archive itself.
    let mut push = Push::new(codec, parser, limits.max_archive).map_err(ArchiveError::Corrupt)?;
    let mut pos = 0;
    while pos < size && !push.get_mut().done {
        let end = (pos + TAR_CHUNK).min(size);
        let chunk = store
            .get_range(bucket, key, GetRange::Bounded(pos, end))
            .await?
            .bytes;
        if chunk.is_empty() {
            break;
        }
        pos += chunk.len() as u64;
        push.feed(&chunk)
            .map_err(|e| ArchiveError::Corrupt(e.to_string()))?;
    }
    let parser = if push.get_mut().done {
        std::mem::replace(
            push.get_mut(),
            TarParser {
                limits: *limits,
                header: vec![],
                current: None,
                skip: 0,
                long_name: None,
                pax_path: None,
                ext: None,
                out: Archive::default(),
                done: true,
            },
        )
    } else {
        push.finish()
            .map_err(|e| ArchiveError::Corrupt(e.to_string()))?
    };
    let mut out = parser.out;
    if parser.current.is_some() {
        out.warnings.push("the archive ends inside a member".into());
    }
    Ok(out)
}
