//! Member typing, the same for zip and tar: which members are read (the caps, and the paths
//! that are never opened), which bytes of a member its format needs, and the columns of
//! those bytes.
//!
//! Pure functions over paths, sizes and bytes held in memory: the archive readers fetch
//! the bytes, this module never reads the store.

use super::{Archive, Member, ZipError};
use crate::entity::Column;
use crate::format::{Format, Reader};
use crate::infer::parquet::RangeError;
use crate::infer::{avro, json, parquet, type_text, Invalid, Limits, TextKind, TextOutcome};
use crate::store;

/// Why a member of a known format was not typed.
#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    /// Its bytes could not be read.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// Its zip records.
    #[error(transparent)]
    Zip(#[from] ZipError),
    /// A member that must be held whole, deflated and larger than `maxDocumentBytes`.
    #[error("a deflated {format} member of {size} bytes is over maxDocumentBytes ({cap})")]
    Deflated {
        /// Its format.
        format: Format,
        /// Its uncompressed size.
        size: u64,
        /// `maxDocumentBytes`.
        cap: u64,
    },
    /// A member that must be held whole, in a tar and larger than `maxDocumentBytes`.
    #[error("a {format} member of {size} bytes in a tar is over maxDocumentBytes ({cap})")]
    InTar {
        /// Its format.
        format: Format,
        /// Its size.
        size: u64,
        /// `maxDocumentBytes`.
        cap: u64,
    },
    /// Its bytes are not a valid file of its format.
    #[error(transparent)]
    Invalid(#[from] Invalid),
}

impl From<RangeError> for MemberError {
    fn from(e: RangeError) -> Self {
        match e {
            RangeError::Store(e) => MemberError::Store(e),
            RangeError::Footer(f) => MemberError::Invalid(f.into()),
        }
    }
}

/// The format of a member from its path (lower-cased extension), or `None`. Archives are
/// not typed as members (they are skipped as nested archives).
pub(super) fn format_of(path: &str) -> Option<Format> {
    Format::from_extension(path).filter(|f| !f.is_archive())
}

/// A nested archive, or a gzip-compressed member, which is not opened.
fn is_nested_archive(path: &str) -> bool {
    Format::from_extension(path).is_some_and(Format::is_archive)
        || path.to_ascii_lowercase().ends_with(".gz")
}

/// Which bytes of a member typing needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Need {
    /// Its end (parquet's footer): a stored zip member is read by ranges, like an object;
    /// any other member is held whole, within `maxDocumentBytes`.
    Footer,
    /// A prefix of `textSampleBytes` (text, and Avro's header).
    Prefix,
}

/// What typing a member of this format reads; `None` for a format with no member reader.
pub(super) fn need(format: Format) -> Option<Need> {
    match format.reader() {
        Reader::Parquet => Some(Need::Footer),
        Reader::Avro | Reader::Delimited(_) | Reader::Json => Some(Need::Prefix),
        Reader::Zip
        | Reader::Tar { .. }
        | Reader::Unopened
        | Reader::NotBuilt
        | Reader::Table(_) => None,
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

/// What to do with the next file member of an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Admit {
    /// `maxArchiveMembers` is reached: read no further member.
    Stop,
    /// Not opened (the reason is in the warnings): go on with the next member.
    Skip,
    /// Read it, and type it when its format is known.
    Read(Option<Format>),
}

/// Decides on the next file member (directories and links are the readers' to leave out),
/// recording in `out`'s warnings why it is not read.
pub(super) fn admit(out: &mut Archive, path: &str, size: u64, limits: &Limits) -> Admit {
    if out.members.len() >= limits.max_members {
        out.warnings.push(format!(
            "only the first {} members were read (maxArchiveMembers)",
            limits.max_members
        ));
        return Admit::Stop;
    }
    if let Some(why) = skip_reason(path, size, limits) {
        out.warnings.push(format!("member {path} skipped: {why}"));
        return Admit::Skip;
    }
    Admit::Read(format_of(path))
}

/// Records a member read; `typed` is `None` for a member of no known format, or what typing
/// it gave (a failure becomes a warning and no columns).
pub(super) fn record(
    out: &mut Archive,
    path: String,
    size: u64,
    format: Option<Format>,
    typed: Option<Result<Vec<Column>, MemberError>>,
) {
    let columns = match typed {
        None => None,
        Some(Ok(c)) => Some(c),
        Some(Err(e)) => {
            out.warnings.push(format!("member {path} not typed: {e}"));
            None
        }
    };
    out.members.push(Member {
        path,
        size,
        format,
        columns,
    });
}

/// The columns of a member's bytes held in memory, typed by `format`. `complete` says the
/// bytes are the whole member.
pub(super) fn columns(
    bytes: &[u8],
    complete: bool,
    format: Format,
    limits: &Limits,
) -> Result<Vec<Column>, Invalid> {
    match format.reader() {
        Reader::Parquet => Ok(parquet::from_bytes(bytes, limits.tree)?),
        Reader::Avro => Ok(avro::columns(&avro::header_schema(bytes)?, limits.tree)?),
        Reader::Delimited(sep) => {
            match type_text(bytes, complete, TextKind::Delimited(sep), limits)? {
                TextOutcome::Columns(c) => Ok(c),
                TextOutcome::NeedDocument => Ok(vec![]),
            }
        }
        Reader::Json => match type_text(bytes, complete, TextKind::Json, limits)? {
            TextOutcome::Columns(c) => Ok(c),
            TextOutcome::NeedDocument => Ok(json::from_document(
                bytes,
                false,
                limits.text_rows,
                limits.tree,
            )?),
        },
        Reader::Zip
        | Reader::Tar { .. }
        | Reader::Unopened
        | Reader::NotBuilt
        | Reader::Table(_) => Err(Invalid::NoReader(format)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn limits() -> Limits {
        Limits {
            max_member: 100,
            max_members: 2,
            ..Limits::default()
        }
    }

    #[test]
    fn members_are_typed_by_extension_archives_are_not() {
        let got: Vec<Option<Format>> = [
            "a/b.csv",
            "B.TSV",
            "x.json",
            "x.jsonl",
            "p.pq",
            "p.parquet",
            "a.avro",
            "readme.txt",
            "m.mf4",
            "n.zip",
            "n.tgz",
        ]
        .into_iter()
        .map(format_of)
        .collect();
        use Format as F;
        assert_eq!(
            got,
            vec![
                Some(F::Csv),
                Some(F::Tsv),
                Some(F::Json),
                Some(F::JsonLines),
                Some(F::Parquet),
                Some(F::Parquet),
                Some(F::Avro),
                None,
                None,
                None,
                None
            ]
        );
    }

    #[test]
    fn unsafe_nested_and_large_members_are_skipped_with_a_reason() {
        let l = limits();
        for (path, size, why) in [
            ("/etc/passwd", 1, "an absolute path or a `..` segment"),
            ("a/../../b.csv", 1, "an absolute path or a `..` segment"),
            ("a\\..\\b.csv", 1, "an absolute path or a `..` segment"),
            ("in.zip", 1, "a nested archive"),
            ("in.TAR.GZ", 1, "a nested archive"),
            ("in.7z", 1, "a nested archive"),
            ("data.csv.gz", 1, "a nested archive"),
            (
                "big.csv",
                101,
                "101 bytes uncompressed, over maxMemberBytes (100)",
            ),
        ] {
            assert_eq!(skip_reason(path, size, &l).as_deref(), Some(why), "{path}");
        }
        assert_eq!(skip_reason("a/..b/c.csv", 100, &l), None);
    }

    #[test]
    fn admission_stops_at_max_archive_members() {
        let l = limits();
        let mut out = Archive::default();
        assert_eq!(admit(&mut out, "x.zip", 1, &l), Admit::Skip);
        assert_eq!(
            admit(&mut out, "a.csv", 1, &l),
            Admit::Read(Some(Format::Csv))
        );
        record(
            &mut out,
            "a.csv".into(),
            1,
            Some(Format::Csv),
            Some(Ok(vec![])),
        );
        assert_eq!(admit(&mut out, "b.txt", 1, &l), Admit::Read(None));
        record(&mut out, "b.txt".into(), 1, None, None);
        assert_eq!(admit(&mut out, "c.csv", 1, &l), Admit::Stop);
        assert_eq!(
            out.warnings,
            vec![
                "member x.zip skipped: a nested archive",
                "only the first 2 members were read (maxArchiveMembers)"
            ]
        );
    }

    #[test]
    fn a_member_that_cannot_be_typed_is_kept_without_columns() {
        let mut out = Archive::default();
        let typed = columns(b"not parquet", true, Format::Parquet, &Limits::default())
            .map_err(MemberError::from);
        record(
            &mut out,
            "p.parquet".into(),
            11,
            Some(Format::Parquet),
            Some(typed),
        );
        assert_eq!(out.members[0].columns, None);
        assert_eq!(
            out.warnings,
            vec!["member p.parquet not typed: 11 bytes is too small for a parquet file"]
        );
    }

    #[test]
    fn errors_keep_their_source() {
        let e = columns(b"{broken", true, Format::Json, &Limits::default()).unwrap_err();
        let e = Invalid::Member {
            path: "x.json".into(),
            source: Box::new(e.into()),
        };
        assert_eq!(
            e.to_string(),
            "member x.json: invalid JSON: key must be a string at line 1 column 2"
        );
        let mut chain = std::iter::successors(Some(&e as &dyn std::error::Error), |e| e.source());
        assert!(chain.any(|e| e.is::<serde_json::Error>()));
    }

    #[test]
    fn member_bytes_are_typed_by_their_format() {
        let l = Limits::default();
        let names = |c: Vec<Column>| -> Vec<(String, String)> {
            c.into_iter().map(|c| (c.name, c.data_type)).collect()
        };
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            names(columns(b"a\tb\n1\tx\n", true, Format::Tsv, &l).unwrap()),
            vec![pair("a", "INT"), pair("b", "STRING")]
        );
        assert_eq!(
            names(columns(b"{\"a\": 1}\n{\"a\": 2}\n", true, Format::JsonLines, &l).unwrap()),
            vec![pair("a", "INT")]
        );
        // A JSON document cut at the prefix: the items of its top-level array that fit.
        assert_eq!(
            names(
                columns(
                    b"[{\"a\": 1}, {\"a\": 2.5}, {\"a\"",
                    false,
                    Format::Json,
                    &l
                )
                .unwrap()
            ),
            vec![pair("a", "FLOAT")]
        );
        assert_eq!(
            columns(b"Obj\x01", true, Format::Avro, &l)
                .unwrap_err()
                .to_string(),
            "the Avro header is cut"
        );
        assert_eq!(
            columns(b"x", true, Format::Zip, &l)
                .unwrap_err()
                .to_string(),
            "no reader for `zip`"
        );
    }
}
