//! CSV / TSV: the header and the types of a bounded prefix (reference §5.4).
//!
//! The caller hands over at most `textSampleBytes` of (decompressed) text; a prefix that is
//! not the whole file is cut at its last complete line, and at most `textSampleRows` rows are
//! typed (rules in [`super::text`]). Quoting is RFC 4180 with a backslash escape, as the
//! reference's `escapechar`; invalid UTF-8 is replaced, not fatal (`encoding_errors="ignore"`).
//! A header that parses as one field containing the separator (a whole quoted header line)
//! is split again, and so are data rows quoted the same way.
//!
//! Text only: UTF-16 with a byte-order mark is decoded first; bytes with a NUL in their first
//! [`SNIFF_BYTES`], or a header line with control characters, are not a text file and fail
//! the sample, rather than publish columns named with NULs and garbage.

use super::bound::TreeLimits;
use super::text::{classify, Kind};
use super::types;
use crate::entity::Column;

/// Why a CSV prefix could not be typed.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    /// A prefix without one whole line: its header cannot be known.
    #[error("no complete line in the first {0} bytes")]
    NoCompleteLine(usize),
    /// The header line does not parse.
    #[error(transparent)]
    Parse(#[from] ::csv::Error),
    /// NUL bytes near the start: a binary file (or UTF-16 without a byte-order mark).
    #[error("not a text file: NUL bytes in the first {0} bytes")]
    Nul(usize),
    /// Control characters in the header line: no column is named so.
    #[error("not a text file: control characters in the header line")]
    Control,
}

/// How much of the start of a file is searched for NUL bytes (as git does to tell binary
/// files from text).
pub(super) const SNIFF_BYTES: usize = 8000;

/// The text of UTF-16 bytes that start with a byte-order mark, as UTF-8; `None` for any
/// other bytes. A code unit cut at the end is dropped, a lone surrogate replaced.
fn utf16_text(bytes: &[u8]) -> Option<Vec<u8>> {
    let unit: fn([u8; 2]) -> u16 = match bytes.get(..2)? {
        [0xFF, 0xFE] => u16::from_le_bytes,
        [0xFE, 0xFF] => u16::from_be_bytes,
        _ => return None,
    };
    let units = bytes[2..].chunks_exact(2).map(|p| unit([p[0], p[1]]));
    let text: String = char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    Some(text.into_bytes())
}

/// A header field with a character no column name has (tab, line breaks in quotes aside).
fn has_control(field: &[u8]) -> bool {
    field
        .iter()
        .any(|&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7F)
}

/// The separator byte of a `separator` option (`\t` spelled out is a tab); without one, a
/// tab for a key containing `.tsv`, else the format's `default`.
pub(super) fn separator(option: Option<&str>, default: u8, key: &str) -> u8 {
    match option {
        Some("\\t") => b'\t',
        Some(s) if !s.is_empty() => s.as_bytes()[0],
        _ if key.to_ascii_lowercase().contains(".tsv") => b'\t',
        _ => default,
    }
}

fn split_quoted(field: &str, sep: u8) -> Vec<String> {
    field
        .split(sep as char)
        .map(|p| p.trim().trim_matches('"').to_string())
        .collect()
}

/// Pandas' names for empty and repeated headers: `Unnamed: i`, then `a.1`, `a.2`, …: the
/// first of `a`, `a.1`, `a.2`, … not taken by an earlier column.
///
/// Linear in the header's length: a set of the names taken, and for each base the suffix
/// it last got, from which its next search resumes (what was taken then is taken still).
/// A header of 100,000 copies of one name was quadratic (issue #15, row 4).
fn header_names(raw: Vec<String>) -> Vec<String> {
    use std::collections::{HashMap, HashSet};
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    let mut taken: HashSet<String> = HashSet::with_capacity(raw.len());
    let mut last: HashMap<String, u64> = HashMap::new();
    for (i, name) in raw.into_iter().enumerate() {
        let base = if name.is_empty() {
            format!("Unnamed: {i}")
        } else {
            name
        };
        let mut n = last.get(&base).copied().unwrap_or(0);
        let mut candidate = if n == 0 {
            base.clone()
        } else {
            format!("{base}.{n}")
        };
        while taken.contains(&candidate) {
            n += 1;
            candidate = format!("{base}.{n}");
        }
        last.insert(base, n);
        taken.insert(candidate.clone());
        out.push(candidate);
    }
    out
}

/// Columns of a CSV text. `complete` says the text is the whole file (else its last,
/// possibly partial, line is dropped). At most one column past `tree.max_nodes` is built,
/// so that the workflow's cut sees the excess and warns.
pub(super) fn infer(
    text: &[u8],
    complete: bool,
    sep: u8,
    max_rows: usize,
    tree: TreeLimits,
) -> Result<Vec<Column>, CsvError> {
    // DIFF(spec §5.4): the reference reads UTF-16 as UTF-8 with errors ignored, and names
    // columns with NULs; here it is decoded, and binary bytes fail the sample.
    let utf16 = utf16_text(text);
    let text = utf16.as_deref().unwrap_or(text);
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    let text = if complete {
        text
    } else {
        match text.iter().rposition(|&b| b == b'\n') {
            Some(i) => &text[..=i],
            None => return Err(CsvError::NoCompleteLine(text.len())),
        }
    };
    // After the cut: a prefix with no line at all says so first (a decompressed run of
    // zeros, say), as it always has.
    let sniff = text.len().min(SNIFF_BYTES);
    if text[..sniff].contains(&0) {
        return Err(CsvError::Nul(sniff));
    }
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(sep)
        .has_headers(false)
        .flexible(true)
        .escape(Some(b'\\'))
        .from_reader(text);
    let mut records = reader.byte_records();
    let header = loop {
        match records.next() {
            None => return Ok(vec![]),
            Some(Err(e)) => return Err(e.into()),
            Some(Ok(r)) if r.iter().all(|f| f.is_empty()) => continue,
            Some(Ok(r)) => break r,
        }
    };
    if header.iter().any(has_control) {
        return Err(CsvError::Control);
    }
    let mut raw: Vec<String> = header
        .iter()
        .map(|f| String::from_utf8_lossy(f).trim().to_string())
        .collect();
    let quoted_header = raw.len() == 1 && raw[0].contains(sep as char);
    if quoted_header {
        raw = split_quoted(&raw[0], sep);
    }
    raw.truncate(tree.max_nodes.saturating_add(1));
    let names = header_names(raw);
    let mut kinds = vec![Kind::Null; names.len()];
    for (n, rec) in records.enumerate() {
        if n >= max_rows {
            break;
        }
        let rec = match rec {
            Ok(r) => r,
            // A malformed row (e.g. an unterminated quote at the cut) ends the sample.
            Err(_) => break,
        };
        let cells: Vec<String> = if rec.len() == 1 && names.len() > 1 {
            let one = String::from_utf8_lossy(&rec[0]).into_owned();
            if one.contains(sep as char) {
                split_quoted(&one, sep)
            } else {
                vec![one]
            }
        } else {
            rec.iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect()
        };
        for (k, cell) in kinds.iter_mut().zip(cells.iter()) {
            *k = k.widen(classify(cell));
        }
    }
    Ok(names
        .iter()
        .zip(kinds)
        .map(|(name, k)| {
            let mut c = types::named(name, k.om());
            c.data_type_display = Some(k.om().to_string());
            c
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(text: &str, complete: bool, sep: u8) -> Vec<(String, String)> {
        infer(text.as_bytes(), complete, sep, 1000, TreeLimits::default())
            .unwrap()
            .into_iter()
            .map(|c| (c.name, c.data_type))
            .collect()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn the_separator_comes_from_the_option_then_the_key_then_the_format() {
        assert_eq!(separator(Some(";"), b',', "a.tsv"), b';');
        assert_eq!(separator(Some("\\t"), b',', "a.csv"), b'\t');
        assert_eq!(separator(Some(""), b',', "a.csv"), b',');
        assert_eq!(separator(None, b',', "d/A.TSV.gz"), b'\t');
        assert_eq!(separator(None, b'\t', "a.csv"), b'\t');
        assert_eq!(separator(None, b',', "a.csv"), b',');
    }

    #[test]
    fn nulls_do_not_make_an_int_a_float() {
        assert_eq!(
            cols("id,score,name\n1,,x\n,2.5,\"y, z\"\n3,1,w\n", true, b','),
            pairs(&[("id", "INT"), ("score", "FLOAT"), ("name", "STRING")])
        );
    }

    #[test]
    fn a_prefix_is_cut_at_its_last_line() {
        assert_eq!(
            cols("a;b\n1;2\n3;ab", false, b';'),
            pairs(&[("a", "INT"), ("b", "INT")])
        );
    }

    #[test]
    fn a_quoted_whole_header_is_split() {
        assert_eq!(
            cols("\"a,b\"\n1,x\n", true, b','),
            pairs(&[("a", "INT"), ("b", "STRING")])
        );
    }

    /// The rule as first written (quadratic): the oracle for the linear one.
    fn header_names_quadratic(raw: Vec<String>) -> Vec<String> {
        let mut out: Vec<String> = Vec::with_capacity(raw.len());
        for (i, name) in raw.into_iter().enumerate() {
            let base = if name.is_empty() {
                format!("Unnamed: {i}")
            } else {
                name
            };
            let mut candidate = base.clone();
            let mut n = 0;
            while out.contains(&candidate) {
                n += 1;
                candidate = format!("{base}.{n}");
            }
            out.push(candidate);
        }
        out
    }

    #[test]
    fn duplicate_names_are_the_same_as_before_for_every_small_header() {
        let alphabet = ["", "a", "a.1", "a.2", "a.1.1", "Unnamed: 1", "a.0"];
        let k = alphabet.len();
        for len in 1..=5u32 {
            for mut code in 0..k.pow(len) {
                let raw: Vec<String> = (0..len)
                    .map(|_| {
                        let s = alphabet[code % k].to_string();
                        code /= k;
                        s
                    })
                    .collect();
                assert_eq!(
                    header_names(raw.clone()),
                    header_names_quadratic(raw.clone()),
                    "{raw:?}"
                );
            }
        }
    }

    // Issue #15, row 4: 3,000 copies of one name took 12 s, 10,000 more than 150 s.
    #[test]
    fn a_header_of_100_000_copies_of_one_name_is_named_in_linear_time() {
        let names = header_names(vec!["a".to_string(); 100_000]);
        for (i, want) in [
            (0, "a"),
            (1, "a.1"),
            (2, "a.2"),
            (9_999, "a.9999"),
            (99_999, "a.99999"),
        ] {
            assert_eq!(names[i], want);
        }
        let names = header_names(vec!["".to_string(); 50_000]);
        assert_eq!(names[49_999], "Unnamed: 49999");
        // Through the reader: one column past maxColumns is built, for the cut to warn.
        let header = vec!["a"; 100_000].join(",") + "\n";
        let c = infer(header.as_bytes(), true, b',', 1000, TreeLimits::default()).unwrap();
        assert_eq!(c.len(), 10_001);
        assert_eq!(c[10_000].name, "a.10000");
    }

    fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
        let mut out = if big_endian {
            vec![0xFE, 0xFF]
        } else {
            vec![0xFF, 0xFE]
        };
        for u in text.encode_utf16() {
            out.extend(if big_endian {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            });
        }
        out
    }

    // Issue #15, row 13: UTF-16 and binary files named `.csv` were published with NULs and
    // garbage in their column names.
    #[test]
    fn utf16_with_a_byte_order_mark_is_decoded() {
        for be in [false, true] {
            let bytes = utf16("née,größe\n1,2.5\n3,", be);
            let got: Vec<(String, String)> = infer(&bytes, false, b',', 100, TreeLimits::default())
                .unwrap()
                .into_iter()
                .map(|c| (c.name, c.data_type))
                .collect();
            assert_eq!(got, pairs(&[("née", "INT"), ("größe", "FLOAT")]), "{be}");
            // Cut inside a code unit.
            let cut = infer(
                &bytes[..bytes.len() - 1],
                false,
                b',',
                100,
                TreeLimits::default(),
            )
            .unwrap();
            assert_eq!(cut.len(), 2);
        }
    }

    #[test]
    fn binary_bytes_are_not_a_text_file() {
        let e = infer(
            b"PK\x03\x04\x14\0\0\0\x08\0a,b\n",
            true,
            b',',
            100,
            TreeLimits::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "not a text file: NUL bytes in the first 14 bytes"
        );
        // UTF-16 without a byte-order mark is NULs too.
        let mut no_bom = utf16("a,b\n1,2\n", false);
        no_bom.drain(..2);
        assert!(matches!(
            infer(&no_bom, true, b',', 100, TreeLimits::default()),
            Err(CsvError::Nul(16))
        ));
        let big: Vec<u8> = b"a,b\n".repeat(5000).into_iter().chain([0]).collect();
        // A NUL past the first 8000 bytes is not looked for.
        assert!(infer(&big, true, b',', 100, TreeLimits::default()).is_ok());
        let e = infer(
            b"a\x01b,\x1b[0m\n1,2\n",
            true,
            b',',
            100,
            TreeLimits::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "not a text file: control characters in the header line"
        );
        // Tabs, quoted line breaks and Latin-1 letters are text.
        assert_eq!(
            cols("\"a\nb\",c\td,caf\u{e9}\n1,2,3\n", true, b','),
            pairs(&[("a\nb", "INT"), ("c\td", "INT"), ("café", "INT")])
        );
        let latin1 = infer(b"caf\xe9,b\n1,2\n", true, b',', 100, TreeLimits::default()).unwrap();
        assert_eq!(latin1[0].name, "caf\u{fffd}");
    }

    #[test]
    fn utf16_and_binary_json_never_give_garbage_names() {
        use crate::infer::{type_text, Limits, TextKind, TextOutcome};
        let limits = Limits::default();
        for bytes in [
            utf16("{\"a\": 1}\n{\"a\": 2}\n", false),
            utf16("[{\"a\": 1}]", true),
            b"\x00\x01\x02{\x00\xff\n\x7fELF\x02\x01".to_vec(),
        ] {
            match type_text(&bytes, true, TextKind::Json, &limits) {
                Err(_) => {}
                Ok(TextOutcome::Columns(c)) => assert!(c.is_empty(), "{c:?}"),
                Ok(TextOutcome::NeedDocument) => panic!("a complete text needs no document"),
            }
        }
    }

    #[test]
    fn empty_and_repeated_headers_get_pandas_names() {
        assert_eq!(
            cols("a,,a\n1,2,3\n", true, b','),
            pairs(&[("a", "INT"), ("Unnamed: 1", "INT"), ("a.1", "INT")])
        );
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;

    /// Bytes → `csv::infer` with `,` and a tab, as a whole file and as a prefix: names are
    /// unique, free of NULs, and at most one past `maxColumns`.
    #[test]
    fn csv_prefix() {
        let tree = TreeLimits {
            max_depth: 64,
            max_nodes: 200,
        };
        let report = crate::fuzz::run("csv_prefix", vec![], |bytes| {
            for sep in [b',', b'\t'] {
                for complete in [true, false] {
                    let Ok(columns) = infer(bytes, complete, sep, 50, tree) else {
                        continue;
                    };
                    assert!(columns.len() <= tree.max_nodes + 1);
                    let mut seen = std::collections::HashSet::new();
                    for c in &columns {
                        let full = c.display_name.as_deref().unwrap_or(&c.name);
                        assert!(!full.contains('\0'), "{full:?}");
                        assert!(seen.insert(full.to_string()), "{full:?} twice");
                    }
                }
            }
        });
        assert!(report.executions > 0);
    }
}
