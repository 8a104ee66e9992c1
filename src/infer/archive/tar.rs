//! Tar archives, plain or gzip-compressed, streamed: a tar has no index, so the archive is
//! read front to back in 8 MiB ranged reads within `maxArchiveBytes`, and a push parser
//! ([`Parser`]) walks its 512-byte headers (ustar prefixes, GNU long names, pax paths),
//! keeping only the bytes of each member that typing needs.
//!
//! The parser is pure (bytes in, members out); only [`read`] touches the store, and
//! compressed bytes go through the capped decoder of `infer::decompress`, on the blocking
//! pool. A header is only believed when its checksum holds, and a size that cannot be
//! real (past what the stream can hold, or overflowing when rounded up to a block) ends
//! the stream with a warning: the parser never skips into a member's data and reads it as
//! a header.

use super::member::{self, Admit, MemberError, Need};
use super::{Archive, ArchiveError, ReadError};
use crate::format::Format;
use crate::infer::cpu;
use crate::infer::decompress::{Codec, Push};
use crate::infer::Limits;
use crate::store::{GetRange, ObjectStore};
use std::io::{self, Write};

/// The largest extended header (GNU long name or link name, pax records) kept: a path
/// longer than this is not a path anyone can use, and a larger header is read past.
const EXT_MAX: u64 = 64 * 1024;

const BLOCK: u64 = 512;

/// A push parser of a tar stream: headers, GNU long names, pax paths.
pub(super) struct Parser {
    limits: Limits,
    /// The most bytes the stream can hold: the archive's size for a plain tar,
    /// `maxArchiveBytes` (the decoder's cap) for a compressed one.
    capacity: u64,
    /// Bytes of the stream consumed so far.
    pos: u64,
    header: Vec<u8>,
    /// The member being read.
    current: Option<Current>,
    /// Bytes to pass over (a member not read, or padding).
    skip: u64,
    /// The path of the next member from a GNU `L` entry.
    long_name: Option<String>,
    /// The path and size of the next member from a pax `x` header.
    pax: Pax,
    /// An extended header's data being collected.
    ext: Option<Ext>,
    out: Archive,
    done: bool,
}

/// A member being read: what typing keeps of it, and how much of it (and its padding) is
/// left in the stream.
struct Current {
    path: String,
    size: u64,
    format: Option<Format>,
    keep: u64,
    kept: Vec<u8>,
    left: u64,
    skipped: bool,
}

/// An extended header's data (types `L`, `K`, `x`, `g`): its kind, what is kept of it, the
/// bytes left, and its padding after them.
struct Ext {
    kind: u8,
    data: Vec<u8>,
    left: u64,
    pad: u64,
    too_long: bool,
}

/// What a pax `x` header says of the next member.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Pax {
    path: Option<String>,
    size: Option<u64>,
}

/// A numeric header field: octal text, or GNU base-256 (first byte's high bit set) for
/// sizes over 8 GiB, saturating at `u64::MAX` (which no stream can hold).
fn octal(field: &[u8]) -> u64 {
    if let Some((&first, rest)) = field.split_first() {
        if first & 0x80 != 0 {
            // The first byte's low bits count too; a negative value (0xff) cannot be a size.
            if first == 0xff {
                return u64::MAX;
            }
            return std::iter::once(first & 0x7f)
                .chain(rest.iter().copied())
                .fold(0u64, |a, b| {
                    a.saturating_mul(256).saturating_add(u64::from(b))
                });
        }
    }
    let s = String::from_utf8_lossy(field);
    u64::from_str_radix(s.trim_matches(|c: char| c == '\0' || c == ' '), 8).unwrap_or(0)
}

fn cstr(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// `n` rounded up to whole blocks; `None` when that overflows.
fn padded(n: u64) -> Option<u64> {
    n.checked_next_multiple_of(BLOCK)
}

/// Whether a header's checksum holds: the sum of its bytes with the checksum field read
/// as spaces, as unsigned bytes or (old writers) signed ones.
fn checksum_holds(h: &[u8]) -> bool {
    let stored = octal(&h[148..156]);
    let field = |i: usize| (148..156).contains(&i);
    let unsigned: u64 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| if field(i) { 32 } else { u64::from(b) })
        .sum();
    let signed: i64 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| if field(i) { 32 } else { i64::from(b as i8) })
        .sum();
    stored == unsigned || i64::try_from(stored).is_ok_and(|s| s == signed)
}

/// The records of pax extended header data (`"<len> <key>=<value>\n"`, each length counting
/// the whole record), in order; parsing stops at the first malformed record.
fn pax_records(data: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(sp) = rest.iter().position(|&b| b == b' ') {
        let Some(len) = std::str::from_utf8(&rest[..sp])
            .ok()
            .and_then(|n| n.parse::<usize>().ok())
        else {
            break;
        };
        let Some(record) = rest.get(sp + 1..len).and_then(|r| r.strip_suffix(b"\n")) else {
            break;
        };
        let Some(eq) = record.iter().position(|&b| b == b'=') else {
            break;
        };
        out.push((
            String::from_utf8_lossy(&record[..eq]).into_owned(),
            String::from_utf8_lossy(&record[eq + 1..]).into_owned(),
        ));
        rest = &rest[len..];
    }
    out
}

impl Parser {
    /// Stops the stream with a warning: what follows cannot be trusted.
    fn stop(&mut self, why: String) {
        self.out.warnings.push(why);
        self.done = true;
    }

    fn on_header(&mut self, h: &[u8]) {
        if h.iter().all(|&b| b == 0) {
            return;
        }
        let at = self.pos - BLOCK;
        if !checksum_holds(h) {
            self.stop(format!(
                "no valid tar header at byte {at} (bad checksum): the rest of the archive is not read"
            ));
            return;
        }
        let kind = h[156];
        let mut path = cstr(&h[0..100]);
        // The prefix field is POSIX ustar's (`ustar\0`); GNU headers (`ustar  `) keep times
        // there.
        if &h[257..263] == b"ustar\0" {
            let prefix = cstr(&h[345..500]);
            if !prefix.is_empty() {
                path = format!("{prefix}/{path}");
            }
        }
        let is_meta = matches!(kind, b'L' | b'K' | b'x' | b'g');
        let size = match (is_meta, self.pax.size) {
            (false, Some(size)) => size,
            _ => octal(&h[124..136]),
        };
        // A size the stream cannot hold is a lie (or a data block read as a header): the
        // stream ends here.
        let fits = padded(size).filter(|&p| p <= self.capacity.saturating_sub(self.pos));
        let Some(span) = fits else {
            let name = if is_meta {
                "an extended header".into()
            } else {
                path
            };
            self.stop(format!(
                "tar header at byte {at} ({name}) claims {size} bytes, more than the archive \
                 holds: the rest of the archive is not read"
            ));
            return;
        };
        if is_meta {
            let too_long = size > EXT_MAX;
            if too_long {
                self.out.warnings.push(format!(
                    "an extended tar header of {size} bytes at byte {at} is over {EXT_MAX} bytes: ignored"
                ));
            }
            let ext = Ext {
                kind,
                data: Vec::new(),
                left: size,
                pad: span - size,
                too_long,
            };
            if size == 0 {
                self.finish_ext(ext);
            } else {
                self.ext = Some(ext);
            }
            return;
        }
        let pax = std::mem::take(&mut self.pax);
        let long_name = self.long_name.take();
        if !matches!(kind, b'0' | 0 | b'7') {
            // Directories, links, devices: not members; their data (if any) is passed over.
            self.skip = span;
            return;
        }
        if let Some(p) = pax.path.or(long_name) {
            path = p;
        }
        let path = path.trim_start_matches("./").to_string();
        let mut c = Current {
            path: path.clone(),
            size,
            format: None,
            keep: 0,
            kept: Vec::new(),
            left: span,
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

    /// An extended header read whole: what it says applies to the next member.
    fn finish_ext(&mut self, ext: Ext) {
        self.skip = ext.pad;
        if ext.too_long {
            return;
        }
        match ext.kind {
            b'L' => self.long_name = Some(cstr(&ext.data)),
            b'x' => {
                for (key, value) in pax_records(&ext.data) {
                    match key.as_str() {
                        "path" => self.pax.path = Some(value),
                        "size" => self.pax.size = value.parse().ok(),
                        _ => {}
                    }
                }
            }
            // A link's long target (`K`), and pax global records (`g`: comments, times,
            // a charset) neither name nor size a member.
            _ => {}
        }
    }

    fn finish_member(&mut self, c: Current) {
        if c.skipped {
            return;
        }
        let typed = c.format.map(|f| {
            if c.size == 0 {
                // An empty member has no columns, like any 0-byte file.
                Ok(vec![])
            } else if member::need(f) == Some(Need::Footer) && c.keep == 0 {
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
            let before = buf.len();
            if self.skip > 0 {
                let n = usize::try_from(self.skip)
                    .unwrap_or(usize::MAX)
                    .min(buf.len());
                self.skip -= n as u64;
                buf = &buf[n..];
            } else if let Some(ext) = self.ext.as_mut() {
                let n = usize::try_from(ext.left)
                    .unwrap_or(usize::MAX)
                    .min(buf.len());
                if !ext.too_long {
                    ext.data.extend_from_slice(&buf[..n]);
                }
                ext.left -= n as u64;
                buf = &buf[n..];
                if ext.left == 0 {
                    if let Some(ext) = self.ext.take() {
                        self.finish_ext(ext);
                    }
                }
            } else if let Some(c) = self.current.as_mut() {
                let n = usize::try_from(c.left).unwrap_or(usize::MAX).min(buf.len());
                let want = usize::try_from(c.keep)
                    .unwrap_or(usize::MAX)
                    .saturating_sub(c.kept.len())
                    .min(n);
                c.kept.extend_from_slice(&buf[..want]);
                c.left -= n as u64;
                buf = &buf[n..];
                if c.left == 0 {
                    if let Some(c) = self.current.take() {
                        self.finish_member(c);
                    }
                }
            } else {
                let n = (BLOCK as usize - self.header.len()).min(buf.len());
                self.header.extend_from_slice(&buf[..n]);
                buf = &buf[n..];
                if self.header.len() == BLOCK as usize {
                    self.pos += n as u64;
                    let h = std::mem::take(&mut self.header);
                    self.on_header(&h);
                    continue;
                }
            }
            self.pos += (before - buf.len()) as u64;
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
    /// A parser at the start of a stream of at most `capacity` bytes.
    pub(super) fn new(limits: Limits, capacity: u64) -> Parser {
        Parser {
            limits,
            capacity,
            pos: 0,
            header: Vec::with_capacity(BLOCK as usize),
            current: None,
            skip: 0,
            long_name: None,
            pax: Pax::default(),
            ext: None,
            out: Archive::default(),
            done: false,
        }
    }

    /// What was read, once the input has ended (or `maxArchiveMembers` stopped it).
    pub(super) fn finish(self) -> Archive {
        let mut out = self.out;
        if self.current.is_some() || self.ext.is_some() {
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
    let capacity = if gzip { limits.max_archive } else { size };
    let parser = Parser::new(*limits, capacity);
    let mut push =
        Push::new(codec, parser, limits.max_archive).map_err(ArchiveError::Decompress)?;
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
        // Decoding and typing foreign bytes: on the blocking pool, a panic contained.
        let fed = cpu::blocking(move || {
            let r = push.feed(&chunk);
            (push, r)
        })
        .await
        .map_err(ArchiveError::from)?;
        push = fed.0;
        fed.1.map_err(ArchiveError::Stream)?;
    }
    let parser = if push.get_mut().done {
        // Stopped early: the rest of the stream is not read, so it is not decoded either.
        std::mem::replace(push.get_mut(), Parser::new(*limits, capacity))
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

    // Written by Python's tarfile and GNU tar (scripts/fixtures/archives.py): the
    // ecosystem's writers, not ours.
    const USTAR: &[u8] = include_bytes!("testdata/ustar.tar");
    const GNU_GZ: &[u8] = include_bytes!("testdata/gnu.tar.gz");
    const PAX_GZ: &[u8] = include_bytes!("testdata/pax.tar.gz");

    fn gunzip(b: &[u8]) -> Vec<u8> {
        decode(Codec::Gzip, b, 1 << 20, false).unwrap().bytes
    }

    fn parse(tar: &[u8], chunk: usize, limits: Limits) -> Archive {
        let mut p = Parser::new(limits, u64::MAX);
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

    // Issue #15, row 8: the padding of an extended header was skipped before its data, so
    // a GNU long name came out empty and a pax path was lost.
    #[test]
    fn gnu_long_names_are_read() {
        let tar = gunzip(GNU_GZ);
        let a = parse(&tar, tar.len(), Limits::default());
        assert_eq!(summary(&a), expected());
        assert_eq!(a.warnings, SKIPPED);
    }

    #[test]
    fn pax_paths_are_read() {
        let tar = gunzip(PAX_GZ);
        let a = parse(&tar, tar.len(), Limits::default());
        assert_eq!(summary(&a), expected());
        assert_eq!(a.warnings, SKIPPED);
    }

    const NAMES_GNU_GZ: &[u8] = include_bytes!("testdata/names-gnu.tar.gz");
    const NAMES_PAX_GZ: &[u8] = include_bytes!("testdata/names-pax.tar.gz");

    // Issue #15, row 8: a 656-character GNU name was cut, a pax one kept its 100-character
    // stub, and `données/é.csv` became `donn?es/?.csv` (pax's ASCII stand-in).
    #[test]
    fn long_and_utf8_names_from_gnu_and_pax_writers_are_whole() {
        let long = format!(
            "{}/{}.csv",
            vec!["n".repeat(50); 12].join("/"),
            "f".repeat(44)
        );
        assert_eq!(long.len(), 660);
        let cols = |c: &[&str]| Some(c.iter().map(|s| s.to_string()).collect());
        let want = vec![
            (
                long,
                Some(Format::Csv),
                cols(&["id:INT", "name:STRING", "score:FLOAT"]),
            ),
            (
                "données/é.csv".to_string(),
                Some(Format::Csv),
                cols(&["id:INT", "name:STRING"]),
            ),
            // An empty member has no columns, like any 0-byte file (it was reported as
            // over maxDocumentBytes).
            (
                "empty.parquet".to_string(),
                Some(Format::Parquet),
                cols(&[]),
            ),
        ];
        for (gz, writer) in [(NAMES_GNU_GZ, "gnu"), (NAMES_PAX_GZ, "pax")] {
            let tar = gunzip(gz);
            for chunk in [1, 100, 512, tar.len()] {
                let a = parse(&tar, chunk, Limits::default());
                assert_eq!(summary(&a), want, "{writer}, chunks of {chunk}");
                assert!(a.warnings.is_empty(), "{writer}: {:?}", a.warnings);
            }
        }
    }

    const GNUTAR_GNU_GZ: &[u8] = include_bytes!("testdata/gnutar-gnu.tar.gz");
    const GNUTAR_POSIX_GZ: &[u8] = include_bytes!("testdata/gnutar-posix.tar.gz");

    #[test]
    fn gnu_tar_archives_in_gnu_and_posix_formats_are_read() {
        let cols = |c: &[&str]| Some(c.iter().map(|s| s.to_string()).collect());
        let csv = || cols(&["id:INT", "name:STRING", "score:FLOAT"]);
        let want = vec![
            ("données/é.csv".to_string(), Some(Format::Csv), csv()),
            (
                "empty.parquet".to_string(),
                Some(Format::Parquet),
                cols(&[]),
            ),
            (
                format!("long/{}.csv", "z".repeat(200)),
                Some(Format::Csv),
                csv(),
            ),
            ("one.csv".to_string(), Some(Format::Csv), csv()),
            (
                "p.parquet".to_string(),
                Some(Format::Parquet),
                cols(&["id:INT", "name:STRING"]),
            ),
        ];
        for (gz, format) in [(GNUTAR_GNU_GZ, "gnu"), (GNUTAR_POSIX_GZ, "posix")] {
            let tar = gunzip(gz);
            let a = parse(&tar, 1000, Limits::default());
            assert_eq!(summary(&a), want, "{format}");
            assert!(a.warnings.is_empty(), "{format}: {:?}", a.warnings);
            // And through the store, compressed, as `read` streams it.
            let a = super::super::tests::read(gz, "tar.gz", &Limits::default()).unwrap();
            assert_eq!(summary(&a), want, "{format}, tar.gz");
        }
    }

    /// One ustar header for `name` of type `kind` whose size field is `size` (12 bytes,
    /// octal or base-256), with its checksum.
    fn header(name: &str, kind: u8, size: [u8; 12]) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..108].copy_from_slice(b"0000644\0");
        h[124..136].copy_from_slice(&size);
        h[156] = kind;
        h[257..265].copy_from_slice(b"ustar\x0000");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        h
    }

    fn octal_size(n: u64) -> [u8; 12] {
        let mut f = [0u8; 12];
        f[..11].copy_from_slice(format!("{n:011o}").as_bytes());
        f
    }

    fn block(data: &[u8]) -> Vec<u8> {
        let mut b = data.to_vec();
        b.resize(b.len().div_ceil(512) * 512, 0);
        b
    }

    // Issue #15, row 9: after a base-256 size of 2^64 − 1 the member's data block was parsed
    // as a header, and a phantom member `a,b\n1,2\n` was published.
    #[test]
    fn a_size_no_archive_can_hold_ends_the_stream() {
        let mut huge = [0xffu8; 12];
        huge[..4].copy_from_slice(&[0x80, 0, 0, 0]);
        assert_eq!(octal(&huge), u64::MAX);
        let mut tar = header("big.csv", b'0', huge);
        tar.extend(block(b"a,b\n1,2\n"));
        tar.extend(header("ok.csv", b'0', octal_size(4)));
        tar.extend(block(b"x\n1\n"));
        tar.extend([0u8; 1024]);
        let stop = "tar header at byte 0 (big.csv) claims 18446744073709551615 bytes, more \
                    than the archive holds: the rest of the archive is not read";
        // However much the stream may hold (a size rounded up to 512 overflows).
        for capacity in [u64::MAX, tar.len() as u64] {
            let mut p = Parser::new(Limits::default(), capacity);
            p.feed(&tar);
            let a = p.finish();
            assert!(a.members.is_empty(), "{:?}", summary(&a));
            assert_eq!(a.warnings, [stop]);
        }
        // A size that fits in 64 bits but not in the archive (plain tar: its own size).
        let mut tar = header("big.csv", b'0', octal_size(1 << 32));
        tar.extend(block(b"a,b\n1,2\n"));
        tar.extend([0u8; 1024]);
        let a = super::super::tests::read(&tar, "tar", &Limits::default()).unwrap();
        assert!(a.members.is_empty(), "{:?}", summary(&a));
        assert_eq!(
            a.warnings,
            [
                "tar header at byte 0 (big.csv) claims 4294967296 bytes, more than the archive \
              holds: the rest of the archive is not read"
            ]
        );
        // A size over maxArchiveBytes, in a tar.gz.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        let small = Limits {
            max_archive: 1 << 20,
            ..Limits::default()
        };
        let a = super::super::tests::read(&gz.finish().unwrap(), "tgz", &small).unwrap();
        assert!(a.members.is_empty(), "{:?}", summary(&a));
        assert_eq!(a.warnings.len(), 1);
    }

    #[test]
    fn a_data_block_is_never_read_as_a_header() {
        // A member that says it is empty, and data after it all the same: the data is not
        // a header (its checksum does not hold), so the stream ends there.
        let mut tar = header("a.csv", b'0', octal_size(0));
        tar.extend(block(b"a,b\n1,2\n"));
        tar.extend([0u8; 1024]);
        let a = parse(&tar, 512, Limits::default());
        assert_eq!(
            summary(&a),
            [("a.csv".to_string(), Some(Format::Csv), Some(vec![]))]
        );
        assert_eq!(
            a.warnings,
            ["no valid tar header at byte 512 (bad checksum): the rest of the archive is not read"]
        );
    }

    #[test]
    fn long_link_names_and_global_headers_do_not_name_members() {
        // `K` (a link's long target) between a `L` long name and its member.
        let long = "l".repeat(200) + ".csv";
        let mut tar = header("././@LongLink", b'L', octal_size(long.len() as u64 + 1));
        tar.extend(block(format!("{long}\0").as_bytes()));
        tar.extend(header("././@LongLink", b'K', octal_size(300)));
        tar.extend(block(&[b'k'; 300]));
        tar.extend(header("stub.csv", b'0', octal_size(4)));
        tar.extend(block(b"x\n1\n"));
        // A pax global header, then a pax `x` whose size overrides the header's.
        let records = |r: &[(&str, &str)]| -> Vec<u8> {
            r.iter()
                .flat_map(|(k, v)| {
                    let body = format!(" {k}={v}\n");
                    let mut n = body.len() + 1;
                    while format!("{n}{body}").len() != n {
                        n += 1;
                    }
                    format!("{n}{body}").into_bytes()
                })
                .collect()
        };
        let g = records(&[("path", "global.csv"), ("comment", "hi")]);
        tar.extend(header(
            "pax_global_header",
            b'g',
            octal_size(g.len() as u64),
        ));
        tar.extend(block(&g));
        let x = records(&[("path", "p/ü.csv"), ("size", "6")]);
        tar.extend(header("PaxHeader/x", b'x', octal_size(x.len() as u64)));
        tar.extend(block(&x));
        tar.extend(header("ignored.csv", b'0', octal_size(0)));
        tar.extend(block(b"y\n2\n3\n"));
        tar.extend(header("after.csv", b'0', octal_size(0)));
        tar.extend([0u8; 1024]);
        let a = parse(&tar, 7, Limits::default());
        let cols = |c: &[&str]| Some(c.iter().map(|s| s.to_string()).collect());
        assert_eq!(
            summary(&a),
            [
                (long, Some(Format::Csv), cols(&["x:INT"])),
                ("p/ü.csv".to_string(), Some(Format::Csv), cols(&["y:INT"])),
                ("after.csv".to_string(), Some(Format::Csv), cols(&[])),
            ]
        );
        assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    }

    #[test]
    fn pax_records_are_length_prefixed() {
        assert_eq!(
            pax_records(b"21 path=a b\nc=d.csv\n\n11 size=42\n"),
            [
                ("path".to_string(), "a b\nc=d.csv\n".to_string()),
                ("size".to_string(), "42".to_string())
            ]
        );
        // A length running past the data ends the records.
        assert_eq!(pax_records(b"99 path=x\n"), []);
        assert_eq!(pax_records(b"x path=x\n"), []);
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
        let mut p = Parser::new(limits, u64::MAX);
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

#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::fuzz::Rng;

    fn members(a: &Archive) -> Vec<(String, u64, Option<Format>, bool)> {
        a.members
            .iter()
            .map(|m| (m.path.clone(), m.size, m.format, m.columns.is_some()))
            .collect()
    }

    /// Bytes → the tar stream parser, fed whole and in random chunk sizes: the same
    /// members and warnings either way, within `maxArchiveMembers`.
    #[test]
    fn tar_stream() {
        let limits = Limits {
            max_members: 20,
            text_rows: 20,
            ..Limits::default()
        };
        let report = crate::fuzz::run("tar_stream", vec![], |bytes| {
            let capacity = bytes.len() as u64;
            let mut whole = Parser::new(limits, capacity);
            whole.feed(bytes);
            let whole = whole.finish();
            assert!(whole.members.len() <= limits.max_members);
            for w in &whole.warnings {
                assert!(!w.contains("bug in s3meta"), "{w}");
            }
            // Chunk sizes from the input itself, so that a failure replays.
            let seed = bytes
                .iter()
                .fold(bytes.len() as u64, |h, &b| h.rotate_left(5) ^ u64::from(b));
            let mut rng = Rng::new(seed);
            let mut chunked = Parser::new(limits, capacity);
            let mut rest = bytes;
            while !rest.is_empty() {
                let n = 1 + rng.below(rest.len().min(1500));
                chunked.feed(&rest[..n]);
                rest = &rest[n..];
            }
            let chunked = chunked.finish();
            assert_eq!(members(&whole), members(&chunked));
            assert_eq!(whole.warnings, chunked.warnings);
        });
        assert!(report.executions > 0);
    }
}
