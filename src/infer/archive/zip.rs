//! Zip archives through ranged reads: the end-of-central-directory record from the tail
//! (and the zip64 records when a field overflowed), the central directory, then for each
//! member to type its local header and as much of its data as typing needs. Stored and
//! deflate members only.
//!
//! The record parsers are pure functions over bytes; only [`directory`] and the member
//! reads touch the store. Lengths and counts read from the archive are hints, never
//! allocation sizes: a hostile central directory cannot make us allocate more than it holds.

use super::member::{self, Admit, MemberError, Need};
use super::{Archive, ReadError};
use crate::entity::Column;
use crate::format::{Format, Reader};
use crate::infer::decompress::{self, Codec};
use crate::infer::parquet::infer_range;
use crate::infer::{cpu, Error, Invalid, Limits, Sample};
use crate::store::{GetRange, ObjectStore};

/// What is wrong with a zip's records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZipError {
    /// No end-of-central-directory record in the tail.
    #[error("no end-of-central-directory record (not a zip file?)")]
    NoEndRecord,
    /// An end-of-central-directory record cut short.
    #[error("short EOCD")]
    ShortEndRecord,
    /// A field overflowed, but no zip64 locator precedes the record.
    #[error("zip64 locator missing")]
    NoZip64Locator,
    /// A zip64 locator cut short.
    #[error("short zip64 locator")]
    ShortZip64Locator,
    /// The zip64 locator points at no zip64 record.
    #[error("zip64 end-of-central-directory record missing")]
    NoZip64Record,
    /// A zip64 record cut short.
    #[error("short zip64 record")]
    ShortZip64Record,
    /// A central directory larger than `maxDocumentBytes`.
    #[error("central directory of {0} bytes, over maxDocumentBytes")]
    DirectoryTooLarge(u64),
    /// A central directory that does not fit in the file.
    #[error("central directory outside the file")]
    DirectoryOutside,
    /// A zip64 locator pointing past the end of the file (or near 2^64).
    #[error("zip64 locator points at offset {offset}, outside the file of {size} bytes")]
    Zip64RecordOutside {
        /// Where the locator says the zip64 record is.
        offset: u64,
        /// The archive's size.
        size: u64,
    },
    /// A member whose local header or data would end past the end of the file.
    #[error("member data at offset {offset} ({len} bytes) is outside the file of {size} bytes")]
    MemberOutside {
        /// Where the member's local header is.
        offset: u64,
        /// Its header and data length, as the archive claims them.
        len: u64,
        /// The archive's size.
        size: u64,
    },
    /// A deflated member whose compressed size cannot belong to its uncompressed size.
    #[error("a deflated member of {size} bytes cannot take {compressed} compressed bytes")]
    LyingSizes {
        /// Its uncompressed size.
        size: u64,
        /// Its compressed size.
        compressed: u64,
    },
    /// An entry without its signature.
    #[error("bad central directory entry")]
    BadEntry,
    /// An entry cut short.
    #[error("short central directory entry")]
    ShortEntry,
    /// No local file header where the central directory points.
    #[error("bad local header")]
    BadLocalHeader,
    /// A member compressed otherwise than stored or deflate.
    #[error("compression method {0} is not supported (stored and deflate only)")]
    Method(u64),
}

/// Reads the members of the zip archive `key` of `size` bytes.
pub(super) async fn read(
    store: &dyn ObjectStore,
    bucket: &str,
    key: &str,
    size: u64,
    limits: &Limits,
) -> Result<Archive, ReadError> {
    let dir = directory(store, bucket, key, size, limits).await?;
    let mut out = Archive::default();
    for entry in dir {
        if entry.path.ends_with('/') {
            continue;
        }
        let format = match member::admit(&mut out, &entry.path, entry.size, limits) {
            Admit::Stop => break,
            Admit::Skip => continue,
            Admit::Read(format) => format,
        };
        let typed = match format {
            None => None,
            Some(f) => Some(member_columns(store, bucket, key, size, &entry, f, limits).await),
        };
        member::record(&mut out, entry.path, entry.size, format, typed);
    }
    Ok(out)
}

/// The columns of the first `.json`/`.jsonl` member of a zip (`json.zip`, reference §5.3).
pub(in crate::infer) async fn json_in_zip(
    store: &dyn ObjectStore,
    s: Sample<'_>,
    limits: &Limits,
) -> Result<Vec<Column>, Error> {
    let (bucket, key) = (s.bucket, s.object.key.as_str());
    let dir = directory(store, bucket, key, s.object.size, limits)
        .await
        .map_err(|e| e.into_error(bucket, key, "json.zip"))?;
    let Some(entry) = dir
        .into_iter()
        .find(|e| member::format_of(&e.path).map(Format::reader) == Some(Reader::Json))
    else {
        return Ok(vec![]);
    };
    member_columns(
        store,
        bucket,
        key,
        s.object.size,
        &entry,
        Format::Json,
        limits,
    )
    .await
    .map_err(|e| {
        s.corrupt(
            "json.zip",
            Invalid::Member {
                path: entry.path,
                source: Box::new(e),
            },
        )
    })
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

const END_SIGNATURE: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
const ZIP64_LOCATOR_SIGNATURE: [u8; 4] = [0x50, 0x4b, 0x06, 0x07];
const ZIP64_END_SIGNATURE: [u8; 4] = [0x50, 0x4b, 0x06, 0x06];
const ENTRY_SIGNATURE: [u8; 4] = [0x50, 0x4b, 0x01, 0x02];
const LOCAL_SIGNATURE: [u8; 4] = [0x50, 0x4b, 0x03, 0x04];

/// The end-of-central-directory record and its longest comment: the tail read first.
const EOCD_MAX: u64 = 22 + 65535;
/// The zip64 end-of-central-directory record, up to the fields we read.
const ZIP64_END_LEN: u64 = 56;

/// One central-directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    path: String,
    method: u64,
    compressed: u64,
    size: u64,
    local_offset: u64,
}

/// Where the central directory is, and how many entries it claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Directory {
    count: u64,
    size: u64,
    offset: u64,
}

impl Directory {
    /// A field of the classic record overflowed: the zip64 record holds the real values.
    fn is_zip64(&self) -> bool {
        self.count == 0xFFFF || self.size == 0xFFFF_FFFF || self.offset == 0xFFFF_FFFF
    }
}

/// The last end-of-central-directory record in `tail`: its position and its values.
fn end_record(tail: &[u8]) -> Result<(usize, Directory), ZipError> {
    let at = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..i + 4] == END_SIGNATURE)
        .ok_or(ZipError::NoEndRecord)?;
    let e = &tail[at..];
    let dir = Directory {
        count: u16_at(e, 10).ok_or(ZipError::ShortEndRecord)?,
        size: u32_at(e, 12).ok_or(ZipError::ShortEndRecord)?,
        offset: u32_at(e, 16).ok_or(ZipError::ShortEndRecord)?,
    };
    Ok((at, dir))
}

/// The offset of the zip64 record, from the locator just before the record at `at`.
fn zip64_record_offset(tail: &[u8], at: usize) -> Result<u64, ZipError> {
    let loc = at
        .checked_sub(20)
        .filter(|&l| tail[l..l + 4] == ZIP64_LOCATOR_SIGNATURE)
        .ok_or(ZipError::NoZip64Locator)?;
    u64_at(tail, loc + 8).ok_or(ZipError::ShortZip64Locator)
}

/// The values of a zip64 end-of-central-directory record.
fn zip64_record(rec: &[u8]) -> Result<Directory, ZipError> {
    if rec.get(..4) != Some(&ZIP64_END_SIGNATURE[..]) {
        return Err(ZipError::NoZip64Record);
    }
    Ok(Directory {
        count: u64_at(rec, 32).ok_or(ZipError::ShortZip64Record)?,
        size: u64_at(rec, 40).ok_or(ZipError::ShortZip64Record)?,
        offset: u64_at(rec, 48).ok_or(ZipError::ShortZip64Record)?,
    })
}

/// The entries of a central directory, at most `count` of them (and no more than `cd`
/// holds, whatever `count` claims).
fn central_directory(cd: &[u8], count: u64) -> Result<Vec<Entry>, ZipError> {
    let mut out = Vec::new();
    let mut p = 0usize;
    while (out.len() as u64) < count && p + 46 <= cd.len() {
        let h = &cd[p..];
        if h.get(..4) != Some(&ENTRY_SIGNATURE[..]) {
            return Err(ZipError::BadEntry);
        }
        let method = u16_at(h, 10).unwrap_or(0);
        let mut compressed = u32_at(h, 20).unwrap_or(0);
        let mut size = u32_at(h, 24).unwrap_or(0);
        // Three 16-bit lengths: their sum fits any usize, so these additions cannot overflow.
        let name_len = u16_at(h, 28).unwrap_or(0) as usize;
        let extra_len = u16_at(h, 30).unwrap_or(0) as usize;
        let comment_len = u16_at(h, 32).unwrap_or(0) as usize;
        let mut local_offset = u32_at(h, 42).unwrap_or(0);
        let name = h.get(46..46 + name_len).ok_or(ZipError::ShortEntry)?;
        let extra = h
            .get(46 + name_len..46 + name_len + extra_len)
            .unwrap_or_default();
        // Zip64 extended information: the fields that overflowed, in this order, each read
        // from inside its own block only.
        let mut x = 0;
        while let (Some(id), Some(len)) = (u16_at(extra, x), u16_at(extra, x + 2)) {
            let data = extra
                .get(x + 4..)
                .map(|d| &d[..(len as usize).min(d.len())])
                .unwrap_or_default();
            if id == 1 {
                let mut q = 0;
                for field in [&mut size, &mut compressed, &mut local_offset] {
                    if *field == 0xFFFF_FFFF {
                        *field = u64_at(data, q).unwrap_or(*field);
                        q += 8;
                    }
                }
            }
            x += 4 + len as usize;
        }
        out.push(Entry {
            path: String::from_utf8_lossy(name).into_owned(),
            method,
            compressed,
            size,
            local_offset,
        });
        p += 46 + name_len + extra_len + comment_len;
    }
    Ok(out)
}

/// `len` bytes at offset `at` of the file, when the tail read from `tail_start` holds them
/// all (a short read from the store holds fewer than asked).
fn in_tail(tail: &bytes::Bytes, tail_start: u64, at: u64, len: u64) -> Option<bytes::Bytes> {
    let i = usize::try_from(at.checked_sub(tail_start)?).ok()?;
    let end = i.checked_add(usize::try_from(len).ok()?)?;
    (end <= tail.len()).then(|| tail.slice(i..end))
}

/// The central directory of the zip `key`: one read of the tail, which usually holds the
/// whole directory too; otherwise one more read for it (and one for a zip64 record outside
/// the tail). Every offset and length read from the archive is checked against its size
/// before it is used: a record pointing near 2^64 is an error, not an overflow.
async fn directory(
    store: &dyn ObjectStore,
    bucket: &str,
    key: &str,
    size: u64,
    limits: &Limits,
) -> Result<Vec<Entry>, ReadError> {
    let tail_start = size.saturating_sub(EOCD_MAX);
    let tail = store
        .get_range(bucket, key, GetRange::Bounded(tail_start, size))
        .await?
        .bytes;
    let (at, mut dir) = end_record(&tail)?;
    if dir.is_zip64() {
        let rec_off = zip64_record_offset(&tail, at)?;
        let rec_end = rec_off
            .checked_add(ZIP64_END_LEN)
            .filter(|&end| end <= size)
            .ok_or(ZipError::Zip64RecordOutside {
                offset: rec_off,
                size,
            })?;
        let rec = match in_tail(&tail, tail_start, rec_off, ZIP64_END_LEN) {
            Some(rec) => rec,
            None => {
                store
                    .get_range(bucket, key, GetRange::Bounded(rec_off, rec_end))
                    .await?
                    .bytes
            }
        };
        dir = zip64_record(&rec)?;
    }
    if dir.size > limits.max_document {
        return Err(ZipError::DirectoryTooLarge(dir.size).into());
    }
    let dir_end = dir
        .offset
        .checked_add(dir.size)
        .filter(|&end| end <= size)
        .ok_or(ZipError::DirectoryOutside)?;
    let cd = match in_tail(&tail, tail_start, dir.offset, dir.size) {
        Some(cd) => cd,
        None => {
            store
                .get_range(bucket, key, GetRange::Bounded(dir.offset, dir_end))
                .await?
                .bytes
        }
    };
    Ok(central_directory(&cd, dir.count)?)
}

/// The length of a local file header (its name and extra field included), from its first
/// 30 bytes; `None` when `first` does not start with one.
fn local_header_len(first: &[u8]) -> Option<u64> {
    if first.get(..4) != Some(&LOCAL_SIGNATURE[..]) {
        return None;
    }
    Some(30 + u16_at(first, 26).unwrap_or(0) + u16_at(first, 28).unwrap_or(0))
}

/// Where a member's data starts, checked: its local header and `len` bytes of data from
/// there end inside the archive of `size` bytes.
fn data_span(e: &Entry, header: u64, len: u64, size: u64) -> Result<u64, ZipError> {
    let outside = ZipError::MemberOutside {
        offset: e.local_offset,
        len: header.saturating_add(len),
        size,
    };
    let start = e.local_offset.checked_add(header).ok_or(outside.clone())?;
    match start.checked_add(len) {
        Some(end) if end <= size => Ok(start),
        _ => Err(outside),
    }
}

/// Reads `want` bytes of a member's (compressed) data, from its local header on, in the
/// archive of `size` bytes; returns where its data starts, and the bytes.
async fn member_data(
    store: &dyn ObjectStore,
    bucket: &str,
    key: &str,
    size: u64,
    e: &Entry,
    want: u64,
) -> Result<(u64, bytes::Bytes), MemberError> {
    // The header's fixed part and the name the directory gives must fit before anything
    // is read.
    data_span(e, 30, e.path.len() as u64, size)?;
    // One read usually covers the header too: its name is the directory's, and its extra
    // field is rarely longer than this.
    let guess = 30 + e.path.len() as u64 + 256;
    let first_end = e
        .local_offset
        .saturating_add(guess)
        .saturating_add(want)
        .min(size);
    let first = store
        .get_range(bucket, key, GetRange::Bounded(e.local_offset, first_end))
        .await?
        .bytes;
    let header = local_header_len(&first).ok_or(ZipError::BadLocalHeader)?;
    let data_start = data_span(e, header, want, size)?;
    // `header + want` cannot overflow: `data_span` checked `local_offset + header + want`.
    if let Some(data) = first.get(header as usize..(header + want) as usize) {
        return Ok((data_start, first.slice_ref(data)));
    }
    let got = store
        .get_range(
            bucket,
            key,
            GetRange::Bounded(data_start, data_start + want),
        )
        .await?
        .bytes;
    Ok((data_start, got))
}

/// The most bytes deflate can take for `size` bytes of data (stored blocks at worst: five
/// bytes per 64 KiB block), with room to spare: zlib's `deflateBound` is smaller.
fn deflate_bound(size: u64) -> u64 {
    size.saturating_add(size / 4096).saturating_add(64)
}

/// Types one member of format `format`, of the archive of `size` bytes.
async fn member_columns(
    store: &dyn ObjectStore,
    bucket: &str,
    key: &str,
    size: u64,
    e: &Entry,
    format: Format,
    limits: &Limits,
) -> Result<Vec<Column>, MemberError> {
    let codec = match e.method {
        0 => Codec::None,
        8 => Codec::Deflate,
        m => return Err(ZipError::Method(m).into()),
    };
    if e.size == 0 {
        // An empty member has no columns, like any 0-byte file.
        return Ok(vec![]);
    }
    let limits = *limits;
    if member::need(format) == Some(Need::Footer) {
        if codec == Codec::None {
            // The footer by ranged reads, as for a parquet object, within the member's
            // data (which must lie inside the archive).
            let (data_start, _) = member_data(store, bucket, key, size, e, 0).await?;
            data_span(e, data_start - e.local_offset, e.size, size)?;
            return Ok(infer_range(store, bucket, key, data_start, e.size, &limits).await?);
        }
        if e.size > limits.max_document {
            return Err(MemberError::Deflated {
                format,
                size: e.size,
                cap: limits.max_document,
            });
        }
        if e.compressed > deflate_bound(e.size) {
            return Err(ZipError::LyingSizes {
                size: e.size,
                compressed: e.compressed,
            }
            .into());
        }
        let (_, data) = member_data(store, bucket, key, size, e, e.compressed).await?;
        // Decoding and typing foreign bytes: on the blocking pool, a panic contained.
        return cpu::blocking(move || {
            let d = decompress::decode(codec, &data, limits.max_document, false)
                .map_err(Invalid::from)?;
            Ok(member::columns(&d.bytes, true, format, &limits)?)
        })
        .await
        .map_err(Invalid::from)?;
    }
    let want = e.compressed.min(limits.text_bytes);
    let (_, data) = member_data(store, bucket, key, size, e, want).await?;
    let prefix = want < e.compressed;
    cpu::blocking(move || {
        let d =
            decompress::decode(codec, &data, limits.text_bytes, prefix).map_err(Invalid::from)?;
        Ok(member::columns(
            &d.bytes,
            !prefix && !d.capped && !d.cut,
            format,
            &limits,
        )?)
    })
    .await
    .map_err(Invalid::from)?
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::tests as archive_tests;
    use super::*;
    use pretty_assertions::assert_eq;

    // Written by Python's zipfile and Info-ZIP (scripts/fixtures/archives.py): not by us.
    const STORED: &[u8] = include_bytes!("testdata/stored.zip");
    const DEFLATED: &[u8] = include_bytes!("testdata/deflated.zip");
    const ZIP64: &[u8] = include_bytes!("testdata/zip64.zip");

    /// The central directory of a zip held whole, as `directory` reads it by ranges.
    fn entries(zip: &[u8]) -> Vec<Entry> {
        let (at, mut dir) = end_record(zip).unwrap();
        if dir.is_zip64() {
            let off = zip64_record_offset(zip, at).unwrap() as usize;
            dir = zip64_record(&zip[off..]).unwrap();
        }
        let (start, end) = (dir.offset as usize, (dir.offset + dir.size) as usize);
        central_directory(&zip[start..end], dir.count).unwrap()
    }

    fn listing(zip: &[u8]) -> Vec<(String, u64, u64)> {
        entries(zip)
            .into_iter()
            .map(|e| (e.path, e.method, e.size))
            .collect()
    }

    fn expected(method: u64) -> Vec<(String, u64, u64)> {
        [
            ("dir/", 0),
            ("one.csv", 28),
            ("dir/two.jsonl", 41),
            ("readme.txt", 5),
            ("p.parquet", 707),
            ("t.TSV", 12),
            ("nested.zip", 2),
            ("../evil.csv", 28),
        ]
        .into_iter()
        .map(|(p, size)| (p.to_string(), method, size))
        .collect()
    }

    #[test]
    fn the_central_directory_lists_every_entry() {
        assert!(!end_record(STORED).unwrap().1.is_zip64());
        assert_eq!(listing(STORED), expected(0));
        assert_eq!(listing(DEFLATED), expected(8));
    }

    #[test]
    fn zip64_records_and_extra_fields_give_the_real_values() {
        let (at, classic) = end_record(ZIP64).unwrap();
        assert!(classic.is_zip64(), "{classic:?}");
        let off = zip64_record_offset(ZIP64, at).unwrap() as usize;
        assert_eq!(zip64_record(&ZIP64[off..]).unwrap().count, 6);
        let mut want = expected(0);
        want.retain(|(p, _, _)| p != "dir/" && p != "../evil.csv");
        assert_eq!(listing(ZIP64), want);
        // Each local offset points at a header, and its data is the member's.
        for e in entries(ZIP64) {
            let at = e.local_offset as usize;
            let header = local_header_len(&ZIP64[at..]).unwrap() as usize;
            let data = &ZIP64[at + header..at + header + e.compressed as usize];
            if e.path == "one.csv" {
                assert_eq!(data, b"id,name,score\n1,a,2.5\n2,b,3\n");
            }
        }
    }

    /// The values a crafted zip64 archive of one stored member lies about.
    #[derive(Debug, Default, Clone, Copy)]
    pub(in crate::infer::archive) struct Lies {
        pub(in crate::infer::archive) locator: Option<u64>,
        pub(in crate::infer::archive) dir_offset: Option<u64>,
        pub(in crate::infer::archive) dir_size: Option<u64>,
        pub(in crate::infer::archive) local_offset: Option<u64>,
        pub(in crate::infer::archive) compressed: Option<u64>,
        pub(in crate::infer::archive) size: Option<u64>,
    }

    /// A zip64 archive of one stored member `name`, written field by field (every 32-bit
    /// field 0xFFFFFFFF, the real values in zip64 extra fields and records), with `lies`
    /// in place of the true offsets and sizes.
    pub(in crate::infer::archive) fn crafted(name: &str, data: &[u8], lies: Lies) -> Vec<u8> {
        let le16 = |v: &mut Vec<u8>, x: u16| v.extend_from_slice(&x.to_le_bytes());
        let le32 = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());
        let le64 = |v: &mut Vec<u8>, x: u64| v.extend_from_slice(&x.to_le_bytes());
        let len = data.len() as u64;
        let mut z = Vec::new();
        // Local header, its zip64 extra (size, compressed), the data.
        z.extend_from_slice(&LOCAL_SIGNATURE);
        for x in [45, 0x0800, 0, 0, 0] {
            le16(&mut z, x);
        }
        for x in [0, u32::MAX, u32::MAX] {
            le32(&mut z, x);
        }
        le16(&mut z, name.len() as u16);
        le16(&mut z, 20);
        z.extend_from_slice(name.as_bytes());
        le16(&mut z, 1);
        le16(&mut z, 16);
        le64(&mut z, len);
        le64(&mut z, len);
        z.extend_from_slice(data);
        // Central directory: one entry, its zip64 extra (size, compressed, local offset).
        let cd_offset = z.len() as u64;
        z.extend_from_slice(&ENTRY_SIGNATURE);
        for x in [0x031e, 45, 0x0800, 0, 0, 0] {
            le16(&mut z, x);
        }
        for x in [0, u32::MAX, u32::MAX] {
            le32(&mut z, x);
        }
        for x in [name.len() as u16, 28, 0, 0, 0] {
            le16(&mut z, x);
        }
        le32(&mut z, 0);
        le32(&mut z, u32::MAX);
        z.extend_from_slice(name.as_bytes());
        le16(&mut z, 1);
        le16(&mut z, 24);
        le64(&mut z, lies.size.unwrap_or(len));
        le64(&mut z, lies.compressed.unwrap_or(len));
        le64(&mut z, lies.local_offset.unwrap_or(0));
        let cd_size = z.len() as u64 - cd_offset;
        // Zip64 end-of-central-directory record, its locator, the classic record.
        let record = z.len() as u64;
        z.extend_from_slice(&ZIP64_END_SIGNATURE);
        le64(&mut z, 44);
        le16(&mut z, 45);
        le16(&mut z, 45);
        le32(&mut z, 0);
        le32(&mut z, 0);
        le64(&mut z, 1);
        le64(&mut z, 1);
        le64(&mut z, lies.dir_size.unwrap_or(cd_size));
        le64(&mut z, lies.dir_offset.unwrap_or(cd_offset));
        z.extend_from_slice(&ZIP64_LOCATOR_SIGNATURE);
        le32(&mut z, 0);
        le64(&mut z, lies.locator.unwrap_or(record));
        le32(&mut z, 1);
        z.extend_from_slice(&END_SIGNATURE);
        for x in [0, 0, 0xFFFF, 0xFFFF] {
            le16(&mut z, x);
        }
        le32(&mut z, u32::MAX);
        le32(&mut z, u32::MAX);
        le16(&mut z, 0);
        z
    }

    const CSV: &[u8] = b"x,y\n1,2\n";

    fn read_crafted(lies: Lies) -> Result<Archive, String> {
        let zip = crafted("a.csv", CSV, lies);
        archive_tests::read(&zip, "zip", &Limits::default()).map_err(|e| e.to_string())
    }

    fn columns_of(a: &Archive) -> Vec<(String, Option<Vec<String>>)> {
        a.members
            .iter()
            .map(|m| {
                let c = m.columns.as_ref().map(|c| {
                    c.iter()
                        .map(|c| format!("{}:{}", c.name, c.data_type))
                        .collect()
                });
                (m.path.clone(), c)
            })
            .collect()
    }

    #[test]
    fn a_crafted_zip64_archive_telling_the_truth_is_read() {
        let a = read_crafted(Lies::default()).unwrap();
        assert_eq!(
            columns_of(&a),
            vec![(
                "a.csv".to_string(),
                Some(vec!["x:INT".to_string(), "y:INT".to_string()])
            )]
        );
        assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    }

    // Issue #15, row 5: these panicked in `Bytes::slice` or overflowed (exit 101).
    #[test]
    fn a_zip64_locator_pointing_near_2_pow_64_is_an_error() {
        let size = crafted("a.csv", CSV, Lies::default()).len();
        for at in [u64::MAX, u64::MAX - 10, u64::MAX - 55, 1 << 63] {
            let e = read_crafted(Lies {
                locator: Some(at),
                ..Lies::default()
            })
            .unwrap_err();
            assert_eq!(
                e,
                format!(
                    "s3://b/k is not a valid zip file: zip64 locator points at offset {at}, \
                     outside the file of {size} bytes"
                )
            );
        }
    }

    #[test]
    fn a_central_directory_near_2_pow_64_is_outside_the_file() {
        for (offset, size) in [
            (u64::MAX - 100, None),
            // The sum wraps around to a small number.
            (u64::MAX - 3, Some(10)),
            (u64::MAX, Some(1)),
            (1 << 63, None),
        ] {
            let e = read_crafted(Lies {
                dir_offset: Some(offset),
                dir_size: size,
                ..Lies::default()
            })
            .unwrap_err();
            assert_eq!(
                e, "s3://b/k is not a valid zip file: central directory outside the file",
                "{offset}"
            );
        }
        let e = read_crafted(Lies {
            dir_size: Some(u64::MAX),
            ..Lies::default()
        })
        .unwrap_err();
        assert_eq!(
            e,
            "s3://b/k is not a valid zip file: central directory of 18446744073709551615 bytes, \
             over maxDocumentBytes"
        );
    }

    #[test]
    fn a_member_near_2_pow_64_is_kept_untyped_with_a_warning() {
        let size = crafted("a.csv", CSV, Lies::default()).len();
        for at in [u64::MAX, u64::MAX - 20, size as u64 - 5] {
            let a = read_crafted(Lies {
                local_offset: Some(at),
                ..Lies::default()
            })
            .unwrap();
            assert_eq!(columns_of(&a), vec![("a.csv".to_string(), None)]);
            assert_eq!(
                a.warnings,
                [format!(
                    "member a.csv not typed: member data at offset {at} (35 bytes) is outside \
                     the file of {size} bytes"
                )]
            );
        }
        // A compressed size past the end of the file, for a member read as a prefix.
        let a = read_crafted(Lies {
            compressed: Some(u64::MAX - 1),
            ..Lies::default()
        })
        .unwrap();
        assert_eq!(columns_of(&a), vec![("a.csv".to_string(), None)]);
        assert!(
            a.warnings[0].contains("is outside the file"),
            "{:?}",
            a.warnings
        );
    }

    #[test]
    fn lying_sizes_of_a_deflated_member_held_whole_are_refused() {
        assert_eq!(deflate_bound(0), 64);
        assert_eq!(deflate_bound(u64::MAX), u64::MAX);
        assert_eq!(
            ZipError::LyingSizes {
                size: 10,
                compressed: 1 << 40
            }
            .to_string(),
            "a deflated member of 10 bytes cannot take 1099511627776 compressed bytes"
        );
    }

    #[test]
    fn short_reads_from_the_store_never_panic() {
        let lied = crafted("a.csv", CSV, Lies::default());
        for zip in [STORED, DEFLATED, ZIP64, &lied[..]] {
            for n in [0, 1, 22, 100, 500, 1000] {
                let store = archive_tests::OneObject::short(zip, n);
                let format = crate::format::StructureFormat::new("zip");
                // Errors or warnings, whichever: what matters is that it returns.
                let _ = archive_tests::block_on(super::super::read_archive(
                    &store,
                    "b",
                    "k",
                    Some(zip.len() as u64),
                    &format,
                    &Limits::default(),
                ));
            }
        }
    }

    #[test]
    fn an_empty_member_has_no_columns_whatever_its_format() {
        for name in ["e.parquet", "e.csv", "e.json", "e.avro"] {
            let zip = crafted(name, b"", Lies::default());
            let a = archive_tests::read(&zip, "zip", &Limits::default()).unwrap();
            assert_eq!(columns_of(&a), vec![(name.to_string(), Some(vec![]))]);
            assert!(a.warnings.is_empty(), "{:?}", a.warnings);
        }
    }

    // Python's zipfile: forced zip64 (a zip64 extra field in every local header), and
    // written to an unseekable stream (data descriptors); UTF-8 names in both.
    const FORCED64: &[u8] = include_bytes!("testdata/py-forced64.zip");
    const STREAMED: &[u8] = include_bytes!("testdata/py-stream.zip");

    /// Each entry's general-purpose flags and local extra-field length, from its local header.
    fn local_headers(zip: &[u8]) -> Vec<(String, u64, u64)> {
        entries(zip)
            .into_iter()
            .map(|e| {
                let h = &zip[e.local_offset as usize..];
                (e.path, u16_at(h, 6).unwrap(), u16_at(h, 28).unwrap())
            })
            .collect()
    }

    #[test]
    fn zips_from_pythons_zipfile_forced_zip64_and_streamed_are_read() {
        // The fixtures are what they say: bit 11 marks a UTF-8 name, bit 3 a data
        // descriptor; a forced zip64 local header has a 20-byte zip64 extra field.
        let h = |p: &str, flags: u64, extra: u64| (p.to_string(), flags, extra);
        assert_eq!(
            local_headers(FORCED64),
            [
                h("one.csv", 0, 20),
                h("dir/données/é.csv", 0x800, 20),
                h("p.parquet", 0, 20),
                h("t.TSV", 0, 20)
            ]
        );
        assert_eq!(
            local_headers(STREAMED),
            [
                h("one.csv", 0x8, 0),
                h("é.jsonl", 0x808, 0),
                h("p.parquet", 0x8, 0)
            ]
        );
        let cols = |c: &[&str]| Some(c.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let csv = cols(&["id:INT", "name:STRING", "score:FLOAT"]);
        let pq = cols(&["id:INT", "name:STRING"]);
        let a = archive_tests::read(FORCED64, "zip", &Limits::default()).unwrap();
        assert_eq!(
            columns_of(&a),
            vec![
                ("one.csv".to_string(), csv.clone()),
                ("dir/données/é.csv".to_string(), csv.clone()),
                ("p.parquet".to_string(), pq.clone()),
                ("t.TSV".to_string(), cols(&["id:INT", "name:STRING"])),
            ]
        );
        assert!(a.warnings.is_empty(), "{:?}", a.warnings);
        let a = archive_tests::read(STREAMED, "zip", &Limits::default()).unwrap();
        assert_eq!(
            columns_of(&a),
            vec![
                ("one.csv".to_string(), csv),
                (
                    "é.jsonl".to_string(),
                    cols(&["a:INT", "b:STRING", "c:ARRAY"])
                ),
                ("p.parquet".to_string(), pq),
            ]
        );
        assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    }

    #[test]
    fn what_is_not_a_zip_says_so() {
        assert_eq!(
            end_record(b"not a zip file at all, no record here").unwrap_err(),
            ZipError::NoEndRecord
        );
        assert_eq!(
            end_record(&STORED[..STORED.len() - 1]).unwrap_err(),
            ZipError::NoEndRecord
        );
        assert_eq!(
            ZipError::NoEndRecord.to_string(),
            "no end-of-central-directory record (not a zip file?)"
        );
        // A claimed count larger than the directory holds reads what is there.
        let (_, dir) = end_record(STORED).unwrap();
        let (start, end) = (dir.offset as usize, (dir.offset + dir.size) as usize);
        assert_eq!(
            central_directory(&STORED[start..end], u64::MAX)
                .unwrap()
                .len(),
            8
        );
        assert_eq!(
            central_directory(&STORED[start + 1..end], 8).unwrap_err(),
            ZipError::BadEntry
        );
        assert_eq!(
            zip64_record_offset(STORED, STORED.len() - 22).unwrap_err(),
            ZipError::NoZip64Locator
        );
        assert_eq!(local_header_len(b"PK\x01\x02"), None);
    }
}

#[cfg(test)]
mod fuzz {
    use super::super::read_archive;
    use super::super::tests::{block_on, OneObject};
    use super::tests::{crafted, Lies};
    use super::*;
    use crate::format::StructureFormat;

    /// A panic the blocking pool caught still is a bug: the target must see it.
    fn assert_no_bug(text: &str) {
        assert!(!text.contains("bug in s3meta"), "{text}");
    }

    /// Bytes → the end-of-central-directory search, the zip64 records, the central
    /// directory; then the whole reader over ranged reads, whole and short.
    #[test]
    fn zip_directory() {
        let limits = Limits {
            max_members: 20,
            text_rows: 20,
            ..Limits::default()
        };
        let csv = b"a,b\n1,2\n";
        let seeds = vec![
            crafted("a.csv", csv, Lies::default()),
            crafted("p.parquet", csv, Lies::default()),
            crafted(
                "a.csv",
                csv,
                Lies {
                    locator: Some(u64::MAX - 10),
                    ..Lies::default()
                },
            ),
            crafted(
                "a.csv",
                csv,
                Lies {
                    local_offset: Some(u64::MAX - 3),
                    compressed: Some(1 << 40),
                    ..Lies::default()
                },
            ),
        ];
        let format = StructureFormat::new("zip");
        let report = crate::fuzz::run("zip_directory", seeds, |bytes| {
            if let Ok((at, mut dir)) = end_record(bytes) {
                if dir.is_zip64() {
                    let rec = zip64_record_offset(bytes, at)
                        .ok()
                        .and_then(|o| bytes.get(usize::try_from(o).ok()?..));
                    if let Some(Ok(d)) = rec.map(zip64_record) {
                        dir = d;
                    }
                }
                let cd = usize::try_from(dir.offset)
                    .ok()
                    .and_then(|o| bytes.get(o..))
                    .unwrap_or_default();
                if let Ok(entries) = central_directory(cd, dir.count) {
                    // Never more entries than the directory's bytes can hold.
                    assert!(entries.len() <= cd.len() / 46);
                }
            }
            for store in [
                OneObject::new(bytes),
                OneObject::short(bytes, 1 + bytes.len() / 3),
            ] {
                match block_on(read_archive(&store, "b", "k", None, &format, &limits)) {
                    Ok(a) => {
                        assert!(a.members.len() <= limits.max_members);
                        a.warnings.iter().for_each(|w| assert_no_bug(w));
                    }
                    Err(e) => assert_no_bug(&e.to_string()),
                }
            }
        });
        assert!(report.executions > 0);
    }
}
