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
use crate::infer::{Error, Invalid, Limits, Sample};
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
            Some(f) => Some(member_columns(store, bucket, key, &entry, f, limits).await),
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
    member_columns(store, bucket, key, &entry, Format::Json, limits)
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
    while out.len() < count as usize && p + 46 <= cd.len() {
        if cd[p..p + 4] != ENTRY_SIGNATURE {
            return Err(ZipError::BadEntry);
        }
        let h = &cd[p..];
        let method = u16_at(h, 10).unwrap_or(0);
        let mut compressed = u32_at(h, 20).unwrap_or(0);
        let mut size = u32_at(h, 24).unwrap_or(0);
        let name_len = u16_at(h, 28).unwrap_or(0) as usize;
        let extra_len = u16_at(h, 30).unwrap_or(0) as usize;
        let comment_len = u16_at(h, 32).unwrap_or(0) as usize;
        let mut local_offset = u32_at(h, 42).unwrap_or(0);
        let name = h.get(46..46 + name_len).ok_or(ZipError::ShortEntry)?;
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
                for field in [&mut size, &mut compressed, &mut local_offset] {
                    if *field == 0xFFFF_FFFF {
                        *field = u64_at(extra, q).unwrap_or(*field);
                        q += 8;
                    }
                }
            }
            x += 4 + len;
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

/// The central directory of the zip `key`: one read of the tail, which usually holds the
/// whole directory too; otherwise one more read for it (and one for a zip64 record outside
/// the tail).
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
        let rec = if rec_off >= tail_start && rec_off + ZIP64_END_LEN <= size {
            let i = (rec_off - tail_start) as usize;
            tail.slice(i..(i + ZIP64_END_LEN as usize).min(tail.len()))
        } else {
            store
                .get_range(
                    bucket,
                    key,
                    GetRange::Bounded(rec_off, rec_off + ZIP64_END_LEN),
                )
                .await?
                .bytes
        };
        dir = zip64_record(&rec)?;
    }
    if dir.size > limits.max_document {
        return Err(ZipError::DirectoryTooLarge(dir.size).into());
    }
    if dir.offset + dir.size > size {
        return Err(ZipError::DirectoryOutside.into());
    }
    let cd = if dir.offset >= tail_start {
        let i = (dir.offset - tail_start) as usize;
        tail.slice(i..i + dir.size as usize)
    } else {
        store
            .get_range(
                bucket,
                key,
                GetRange::Bounded(dir.offset, dir.offset + dir.size),
            )
            .await?
            .bytes
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

/// Reads `want` bytes of a member's (compressed) data, from its local header on; returns
/// where its data starts, and the bytes.
async fn member_data(
    store: &dyn ObjectStore,
    bucket: &str,
    key: &str,
    e: &Entry,
    want: u64,
) -> Result<(u64, bytes::Bytes), MemberError> {
    // One read usually covers the header too: its name is the directory's, and its extra
    // field is rarely longer than this.
    let guess = 30 + e.path.len() as u64 + 256;
    let first = store
        .get_range(
            bucket,
            key,
            GetRange::Bounded(e.local_offset, e.local_offset + guess + want),
        )
        .await?
        .bytes;
    let header = local_header_len(&first).ok_or(ZipError::BadLocalHeader)?;
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
        .await?
        .bytes;
    Ok((data_start, got))
}

/// Types one member of format `format`.
async fn member_columns(
    store: &dyn ObjectStore,
    bucket: &str,
    key: &str,
    e: &Entry,
    format: Format,
    limits: &Limits,
) -> Result<Vec<Column>, MemberError> {
    let codec = match e.method {
        0 => Codec::None,
        8 => Codec::Deflate,
        m => return Err(ZipError::Method(m).into()),
    };
    if member::need(format) == Some(Need::Footer) {
        if codec == Codec::None {
            // The footer by ranged reads, as for a parquet object.
            let (data_start, _) = member_data(store, bucket, key, e, 0).await?;
            return Ok(infer_range(store, bucket, key, data_start, e.size, limits).await?);
        }
        if e.size > limits.max_document {
            return Err(MemberError::Deflated {
                format,
                size: e.size,
                cap: limits.max_document,
            });
        }
        let (_, data) = member_data(store, bucket, key, e, e.compressed).await?;
        let d =
            decompress::decode(codec, &data, limits.max_document, false).map_err(Invalid::from)?;
        return Ok(member::columns(&d.bytes, true, format, limits)?);
    }
    let want = e.compressed.min(limits.text_bytes);
    let (_, data) = member_data(store, bucket, key, e, want).await?;
    let prefix = want < e.compressed;
    let d = decompress::decode(codec, &data, limits.text_bytes, prefix).map_err(Invalid::from)?;
    Ok(member::columns(
        &d.bytes,
        !prefix && !d.capped && !d.cut,
        format,
        limits,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    // Written by Python's zipfile and Info-ZIP (testdata/make.py): not by us.
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
