//! The one place compressed bytes are decoded: gzip, zstd, bzip2 (chosen by the key's
//! extension) and raw deflate (zip members), every output capped.
//!
//! No other module may build a raw decoder: a decompression bomb must meet a cap. Two
//! forms: [`decode`] turns an in-memory input (a whole object or a prefix of one) into at
//! most `cap` bytes and says whether the cap cut it; [`Push`] decodes a stream fed chunk by
//! chunk (tar.gz archives) and fails once its output passes the cap.
#![allow(clippy::disallowed_types)]

use std::io::{self, Read, Write};

/// How an object's bytes are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Not compressed.
    None,
    /// gzip (`.gz`), several members allowed.
    Gzip,
    /// zstd (`.zst`, `.zstd`).
    Zstd,
    /// bzip2 (`.bz2`).
    Bzip2,
    /// Raw deflate (zip members).
    Deflate,
}

impl Codec {
    /// The codec a key's extension names (case-insensitive).
    pub fn from_key(key: &str) -> Codec {
        let k = key.to_ascii_lowercase();
        if k.ends_with(".gz") || k.ends_with(".tgz") {
            Codec::Gzip
        } else if k.ends_with(".zst") || k.ends_with(".zstd") {
            Codec::Zstd
        } else if k.ends_with(".bz2") {
            Codec::Bzip2
        } else {
            Codec::None
        }
    }
}

/// Why compressed bytes could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The zstd decoder could not start.
    #[error("zstd: {0}")]
    Zstd(#[source] io::Error),
    /// The compressed stream is broken.
    #[error("cannot decompress: {0}")]
    Decode(#[source] io::Error),
    /// Only plain and gzip streams are decoded chunk by chunk.
    #[error("{0:?} archives cannot be streamed")]
    NotStreamable(Codec),
}

/// What [`decode`] produced.
#[derive(Debug)]
pub struct Decoded {
    /// At most `cap` bytes of output.
    pub bytes: Vec<u8>,
    /// True when the output was cut at the cap (there was more).
    pub capped: bool,
    /// True when the input ended in the middle of the compressed stream (a prefix).
    pub cut: bool,
}

/// Decodes `input` into at most `cap` bytes. `input_is_prefix` says that `input` is only the
/// start of the object: then a stream that ends early is not an error, the output so far is
/// kept (and `cut` is set).
pub fn decode(
    codec: Codec,
    input: &[u8],
    cap: u64,
    input_is_prefix: bool,
) -> Result<Decoded, Error> {
    let reader: Box<dyn Read + '_> = match codec {
        Codec::None => {
            let n = input.len().min(usize::try_from(cap).unwrap_or(usize::MAX));
            return Ok(Decoded {
                bytes: input[..n].to_vec(),
                capped: (input.len() as u64) > cap,
                cut: false,
            });
        }
        Codec::Gzip => Box::new(flate2::read::MultiGzDecoder::new(input)),
        Codec::Deflate => Box::new(flate2::read::DeflateDecoder::new(input)),
        Codec::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(input)),
        Codec::Zstd => {
            Box::new(zstd::stream::read::Decoder::with_buffer(input).map_err(Error::Zstd)?)
        }
    };
    let mut out = Vec::new();
    // One byte more than the cap tells "exactly cap" from "over the cap" (a cap configured
    // at u64::MAX must not overflow).
    let mut limited = reader.take(cap.saturating_add(1));
    let mut buf = [0u8; 64 * 1024];
    let mut cut = false;
    loop {
        match limited.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if input_is_prefix => {
                // The prefix ended inside the compressed stream: what came out is usable.
                tracing::debug!(error = %e, "Compressed prefix ended mid-stream.");
                cut = true;
                break;
            }
            Err(e) => return Err(Error::Decode(e)),
        }
    }
    let capped = out.len() as u64 > cap;
    out.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
    Ok(Decoded {
        bytes: out,
        capped,
        cut,
    })
}

/// Where a [`Push`] decoder writes, counting against the cap.
struct Capped<W: Write> {
    inner: W,
    written: u64,
    cap: u64,
}

impl<W: Write> Write for Capped<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written += buf.len() as u64;
        if self.written > self.cap {
            return Err(io::Error::other(format!(
                "decompressed output passes the {}-byte limit (a decompression bomb?)",
                self.cap
            )));
        }
        self.inner.write_all(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A streaming decoder: compressed chunks in, decoded bytes out to `W`, at most `cap` of them.
pub struct Push<W: Write> {
    inner: PushInner<W>,
}

enum PushInner<W: Write> {
    Plain(Capped<W>),
    Gzip(Box<flate2::write::MultiGzDecoder<Capped<W>>>),
}

impl<W: Write> std::fmt::Debug for Push<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Push")
    }
}

impl<W: Write> Push<W> {
    /// A decoder for `codec` (only `None` and `Gzip` stream; others are refused).
    pub fn new(codec: Codec, out: W, cap: u64) -> Result<Push<W>, Error> {
        let capped = Capped {
            inner: out,
            written: 0,
            cap,
        };
        let inner = match codec {
            Codec::None => PushInner::Plain(capped),
            Codec::Gzip => PushInner::Gzip(Box::new(flate2::write::MultiGzDecoder::new(capped))),
            other => return Err(Error::NotStreamable(other)),
        };
        Ok(Push { inner })
    }

    /// Feeds a chunk of compressed input.
    pub fn feed(&mut self, chunk: &[u8]) -> io::Result<()> {
        match &mut self.inner {
            PushInner::Plain(w) => w.write_all(chunk),
            PushInner::Gzip(d) => d.write_all(chunk),
        }
    }

    /// Ends the input; returns the writer.
    pub fn finish(self) -> io::Result<W> {
        match self.inner {
            PushInner::Plain(w) => Ok(w.inner),
            PushInner::Gzip(d) => Ok(d.finish()?.inner),
        }
    }

    /// The writer, while decoding.
    pub fn get_mut(&mut self) -> &mut W {
        match &mut self.inner {
            PushInner::Plain(w) => &mut w.inner,
            PushInner::Gzip(d) => &mut d.get_mut().inner,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn codecs_follow_the_extension() {
        assert_eq!(Codec::from_key("a/b.csv.gz"), Codec::Gzip);
        assert_eq!(Codec::from_key("a/b.CSV.ZST"), Codec::Zstd);
        assert_eq!(Codec::from_key("a/b.json.bz2"), Codec::Bzip2);
        assert_eq!(Codec::from_key("a/b.csv"), Codec::None);
    }

    #[test]
    fn a_bomb_is_cut_at_the_cap() {
        let bomb = gzip(&vec![0u8; 10 * 1024 * 1024]);
        let d = decode(Codec::Gzip, &bomb, 1000, false).unwrap();
        assert_eq!(d.bytes.len(), 1000);
        assert!(d.capped);
    }

    #[test]
    fn a_prefix_of_a_stream_keeps_what_it_decoded() {
        let text: Vec<u8> = (0..20000)
            .flat_map(|i| format!("{i},x\n").into_bytes())
            .collect();
        let z = gzip(&text);
        let d = decode(Codec::Gzip, &z[..z.len() / 2], 1 << 30, true).unwrap();
        assert!(d.cut && !d.capped);
        assert!(!d.bytes.is_empty() && text.starts_with(&d.bytes));
        assert!(decode(Codec::Gzip, &z[..z.len() / 2], 1 << 30, false).is_err());
    }

    #[test]
    fn a_cap_of_u64_max_does_not_overflow() {
        let z = gzip(b"a,b\n1,2\n");
        let d = decode(Codec::Gzip, &z, u64::MAX, false).unwrap();
        assert_eq!((d.bytes.as_slice(), d.capped), (&b"a,b\n1,2\n"[..], false));
        assert_eq!(
            decode(Codec::None, b"xy", u64::MAX, false).unwrap().bytes,
            b"xy"
        );
    }

    #[test]
    fn push_fails_past_the_cap() {
        let bomb = gzip(&vec![0u8; 1024 * 1024]);
        let mut p = Push::new(Codec::Gzip, Vec::new(), 1000).unwrap();
        let r = bomb.chunks(100).try_for_each(|c| p.feed(c));
        assert!(r.is_err());
    }
}
