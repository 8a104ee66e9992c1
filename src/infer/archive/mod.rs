//! Archives (reference §5.8): the members of a zip or tar archive, each typed from its own
//! content.
//!
//! `zip` reads through ranged GETs: the tail for the end-of-central-directory record (and
//! the zip64 one when the archive needs it), the central directory, then for each member
//! with a known format its local header and as much of its data as typing needs (a prefix
//! for text and Avro; the footer, by ranged reads, for a stored parquet member; the whole
//! member within `maxDocumentBytes` for a deflated one). Stored and deflate members only.
//! `tar` and tar.gz/tgz have no index: the archive is streamed in 8 MiB ranged reads within
//! `maxArchiveBytes` (the one whole-object read s3meta allows), keeping only the start of
//! each member it types. 7z and rar are not opened. `member` decides which members are
//! read and types their bytes, the same way for both. The members are plain data: turning
//! them into containers is `entity`'s and `workflow`'s business, not this module's.
//!
//! Caps: archives over `maxArchiveBytes` are not opened; members over `maxMemberBytes`
//! (uncompressed) are skipped, as are directories, nested archives, absolute paths and
//! paths with a `..` segment; at most `maxArchiveMembers` members are read. Every offset,
//! length and size an archive claims is checked against the archive before it is used (a
//! zip64 record near 2^64 or a tar size of 2^64 − 1 is an error or a warning, never an
//! overflow or a slice out of range), and an empty member has no columns, like any 0-byte
//! file.
//!
//! DIFF(spec §5.8, §13 #14): the reference types the first member it can read and gives its
//! columns to every member (a `readme.txt` gets the CSV's columns); here each member is typed
//! from its own bytes, and a member of no known format has no columns. Zip64 archives are
//! read through ranges too (the reference downloads them whole), and tar archives are
//! streamed, not downloaded to memory.

mod member;
mod tar;
mod zip;

pub(super) use self::zip::json_in_zip;
pub use member::MemberError;
pub use zip::ZipError;

use super::{decompress, Error, Invalid, Limits};
use crate::entity::Column;
use crate::format::{Format, Reader, StructureFormat};
use crate::store::{self, ObjectStore};

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
    let tar_gzip = match reader {
        Some(Reader::Zip) => None,
        Some(Reader::Tar { gzip }) => Some(gzip),
        Some(Reader::Unopened) => {
            return Ok(Archive {
                members: vec![],
                warnings: vec![format!(
                    "{format} archives are not opened: only the archive container is built"
                )],
            })
        }
        Some(Reader::Parquet | Reader::Avro | Reader::Delimited(_) | Reader::Json)
        | Some(Reader::NotBuilt | Reader::Table(_))
        | None => return Err(Error::NotBuilt { format }),
    };
    let size = match size {
        Some(s) => s,
        None => store.head(bucket, key).await?.size,
    };
    let read = if size > limits.max_archive {
        Err(ArchiveError::TooLarge {
            size,
            cap: limits.max_archive,
        }
        .into())
    } else {
        match tar_gzip {
            None => zip::read(store, bucket, key, size, limits).await,
            Some(gzip) => tar::read(store, bucket, key, size, gzip, limits).await,
        }
    };
    read.map_err(|e| e.into_error(bucket, key, &format))
}

/// What is wrong with an archive's structure.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// Over `maxArchiveBytes`.
    #[error("{size} bytes, over maxArchiveBytes ({cap}): not opened")]
    TooLarge {
        /// The archive's size.
        size: u64,
        /// `maxArchiveBytes`.
        cap: u64,
    },
    /// The zip records.
    #[error(transparent)]
    Zip(#[from] ZipError),
    /// The tar stream cannot be decoded.
    #[error(transparent)]
    Decompress(#[from] decompress::Error),
    /// The tar stream broke while decoding, or passed its cap.
    #[error(transparent)]
    Stream(#[from] std::io::Error),
    /// The reader panicked on the archive's bytes (caught; a bug in s3meta).
    #[error(transparent)]
    Panicked(#[from] super::cpu::Panicked),
}

/// Why an archive's structure could not be read: the store, or the bytes.
#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}

impl From<ZipError> for ReadError {
    fn from(e: ZipError) -> Self {
        ReadError::Archive(e.into())
    }
}

impl ReadError {
    fn into_error(self, bucket: &str, key: &str, format: &str) -> Error {
        match self {
            ReadError::Store(e) => Error::Store(e),
            ReadError::Archive(e) => Error::Corrupt {
                bucket: bucket.to_string(),
                key: key.to_string(),
                format: format.to_string(),
                source: Box::new(Invalid::Archive(e)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::{infer_columns, Sample};
    use crate::store::{self, GetRange, GetResult, ListPage, ObjectMeta};
    use async_trait::async_trait;
    use pretty_assertions::assert_eq;
    use std::io::Write;

    // Written by Python's zipfile and tarfile, and Info-ZIP (scripts/fixtures/archives.py):
    // not by us.
    const STORED: &[u8] = include_bytes!("testdata/stored.zip");
    const DEFLATED: &[u8] = include_bytes!("testdata/deflated.zip");
    const ZIP64: &[u8] = include_bytes!("testdata/zip64.zip");
    const USTAR: &[u8] = include_bytes!("testdata/ustar.tar");

    /// A store holding one object in memory, serving ranges as S3 does (clamped to its
    /// size) and counting them.
    #[derive(Debug)]
    pub(super) struct OneObject {
        bytes: bytes::Bytes,
        reads: std::sync::atomic::AtomicUsize,
        /// At most this many bytes per read: a store (or an object changing underneath)
        /// that answers short.
        short: usize,
    }

    impl OneObject {
        pub(super) fn new(bytes: &[u8]) -> OneObject {
            OneObject {
                bytes: bytes::Bytes::copy_from_slice(bytes),
                reads: Default::default(),
                short: usize::MAX,
            }
        }

        /// A store whose every read returns at most `n` bytes.
        pub(super) fn short(bytes: &[u8], n: usize) -> OneObject {
            OneObject {
                short: n,
                ..OneObject::new(bytes)
            }
        }
    }

    fn unsupported(op: &'static str) -> store::Error {
        store::Error {
            kind: store::ErrorKind::Other,
            op,
            bucket: "b".into(),
            key: None,
            message: "not served by this test store".into(),
            source: None,
        }
    }

    #[async_trait]
    impl ObjectStore for OneObject {
        async fn list_buckets(&self) -> store::Result<Vec<String>> {
            Err(unsupported("ListBuckets"))
        }
        async fn list_page(&self, _: &str, _: &str, _: Option<String>) -> store::Result<ListPage> {
            Err(unsupported("ListObjectsV2"))
        }
        async fn get_range(&self, _: &str, _: &str, range: GetRange) -> store::Result<GetResult> {
            self.reads
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let len = self.bytes.len() as u64;
            let (start, end) = match range {
                GetRange::Bounded(s, e) => (s.min(len), e.min(len)),
                GetRange::Suffix(n) => (len.saturating_sub(n), len),
            };
            let end = (end as usize).min((start as usize).saturating_add(self.short));
            Ok(GetResult {
                bytes: self.bytes.slice(start as usize..end.max(start as usize)),
            })
        }
        async fn head(&self, _: &str, key: &str) -> store::Result<ObjectMeta> {
            Ok(ObjectMeta {
                key: key.into(),
                size: self.bytes.len() as u64,
                last_modified: None,
                storage_class: None,
                etag: None,
            })
        }
        async fn bucket_region(&self, _: &str) -> store::Result<Option<String>> {
            Err(unsupported("GetBucketLocation"))
        }
        async fn bucket_tags(&self, _: &str) -> store::Result<Vec<(String, String)>> {
            Err(unsupported("GetBucketTagging"))
        }
        async fn object_tags(&self, _: &str, _: &str) -> store::Result<Vec<(String, String)>> {
            Err(unsupported("GetObjectTagging"))
        }
        async fn list_level(
            &self,
            _: &str,
            _: &str,
        ) -> store::Result<(Vec<ObjectMeta>, Vec<String>)> {
            Err(unsupported("ListObjectsV2"))
        }
    }

    pub(super) fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    pub(super) fn read(bytes: &[u8], format: &str, limits: &Limits) -> Result<Archive, Error> {
        let store = OneObject::new(bytes);
        let format = StructureFormat::new(format);
        block_on(read_archive(&store, "b", "k", None, &format, limits))
    }

    /// Each member as (path, `name:TYPE` columns, or none).
    fn typed(a: &Archive) -> Vec<(&str, Option<Vec<String>>)> {
        a.members
            .iter()
            .map(|m| {
                let cols = m.columns.as_ref().map(|c| {
                    c.iter()
                        .map(|c| format!("{}:{}", c.name, c.data_type))
                        .collect()
                });
                (m.path.as_str(), cols)
            })
            .collect()
    }

    fn cols(c: &[&str]) -> Option<Vec<String>> {
        Some(c.iter().map(|s| s.to_string()).collect())
    }

    fn members() -> Vec<(&'static str, Option<Vec<String>>)> {
        vec![
            ("one.csv", cols(&["id:INT", "name:STRING", "score:FLOAT"])),
            ("dir/two.jsonl", cols(&["a:INT", "b:STRING", "c:ARRAY"])),
            ("readme.txt", None),
            ("p.parquet", cols(&["id:INT", "name:STRING"])),
            ("t.TSV", cols(&["id:INT", "name:STRING"])),
        ]
    }

    #[test]
    fn zip_members_are_typed_each_from_its_own_bytes() {
        for (zip, format) in [(STORED, "zip"), (DEFLATED, "ZIP"), (ZIP64, "zip")] {
            let a = read(zip, format, &Limits::default()).unwrap();
            assert_eq!(typed(&a), members(), "{format}");
            assert_eq!(a.warnings[0], "member nested.zip skipped: a nested archive");
        }
    }

    #[test]
    fn a_stored_zip_is_read_by_ranges_not_whole() {
        let store = OneObject::new(STORED);
        let limits = Limits::default();
        block_on(read_archive(
            &store,
            "b",
            "k",
            Some(STORED.len() as u64),
            &"zip".into(),
            &limits,
        ))
        .unwrap();
        // The tail (which holds the directory), one read for each text member (its local
        // header and prefix together), two for the parquet one (its header, its footer).
        assert_eq!(
            store.reads.load(std::sync::atomic::Ordering::Relaxed),
            1 + 3 + 2
        );
    }

    #[test]
    fn tar_archives_are_streamed() {
        let a = read(USTAR, "tar", &Limits::default()).unwrap();
        let deep = format!("long/{}/deep.csv", "x".repeat(120));
        assert_eq!(typed(&a)[..5], members()[..]);
        assert_eq!(typed(&a)[5].0, deep);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(USTAR).unwrap();
        let tgz = gz.finish().unwrap();
        for format in ["tar.gz", "TGZ"] {
            assert_eq!(
                typed(&read(&tgz, format, &Limits::default()).unwrap()),
                typed(&a)
            );
        }
    }

    #[test]
    fn seven_zip_and_rar_are_not_opened() {
        let a = read(b"7z\xbc\xaf", "7Z", &Limits::default()).unwrap();
        assert!(a.members.is_empty());
        assert_eq!(
            a.warnings,
            ["7z archives are not opened: only the archive container is built"]
        );
    }

    #[test]
    fn errors_name_the_archive_and_its_format_as_written() {
        let small = Limits {
            max_archive: 100,
            ..Limits::default()
        };
        let e = read(STORED, "zip", &small).unwrap_err();
        assert_eq!(
            e.to_string(),
            "s3://b/k is not a valid zip file: 1591 bytes, over maxArchiveBytes (100): not opened"
        );
        let e = read(b"not gzip at all", "TGZ", &Limits::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "s3://b/k is not a valid tgz file: invalid gzip header"
        );
        let e = read(b"not a zip", "zip", &Limits::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "s3://b/k is not a valid zip file: no end-of-central-directory record (not a zip file?)"
        );
    }

    #[test]
    fn json_zip_is_typed_from_its_first_json_member() {
        let store = OneObject::new(STORED);
        let object = ObjectMeta {
            key: "t/x.json.zip".into(),
            size: STORED.len() as u64,
            last_modified: None,
            storage_class: None,
            etag: None,
        };
        for format in ["json.zip", "json"] {
            let sample = Sample {
                bucket: "b",
                object: &object,
                format: &format.into(),
                separator: None,
            };
            let c = block_on(infer_columns(&store, sample, &Limits::default())).unwrap();
            let got: Vec<&str> = c.iter().map(|c| c.name.as_str()).collect();
            assert_eq!(got, ["a", "b", "c"], "{format}");
        }
    }
}
