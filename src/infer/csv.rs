//! CSV / TSV: the header and the types of a bounded prefix (reference §5.4).
//!
//! The caller hands over at most `textSampleBytes` of (decompressed) text; a prefix that is
//! not the whole file is cut at its last complete line, and at most `textSampleRows` rows are
//! typed (rules in [`super::text`]). Quoting is RFC 4180 with a backslash escape, as the
//! reference's `escapechar`; invalid UTF-8 is replaced, not fatal (`encoding_errors="ignore"`).
//! A header that parses as one field containing the separator (a whole quoted header line)
//! is split again, and so are data rows quoted the same way.

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
/// possibly partial, line is dropped).
pub(super) fn infer(
    text: &[u8],
    complete: bool,
    sep: u8,
    max_rows: usize,
) -> Result<Vec<Column>, CsvError> {
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    let text = if complete {
        text
    } else {
        match text.iter().rposition(|&b| b == b'\n') {
            Some(i) => &text[..=i],
            None => return Err(CsvError::NoCompleteLine(text.len())),
        }
    };
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
    let mut raw: Vec<String> = header
        .iter()
        .map(|f| String::from_utf8_lossy(f).trim().to_string())
        .collect();
    let quoted_header = raw.len() == 1 && raw[0].contains(sep as char);
    if quoted_header {
        raw = split_quoted(&raw[0], sep);
    }
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
        infer(text.as_bytes(), complete, sep, 1000)
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
        let header = vec!["a"; 100_000].join(",") + "\n";
        let c = infer(header.as_bytes(), true, b',', 1000).unwrap();
        assert_eq!(c.len(), 100_000);
        for (i, want) in [
            (0, "a"),
            (1, "a.1"),
            (2, "a.2"),
            (9_999, "a.9999"),
            (99_999, "a.99999"),
        ] {
            assert_eq!(c[i].name, want);
        }
        let names = header_names(vec!["".to_string(); 50_000]);
        assert_eq!(names[49_999], "Unnamed: 49999");
    }

    #[test]
    fn empty_and_repeated_headers_get_pandas_names() {
        assert_eq!(
            cols("a,,a\n1,2,3\n", true, b','),
            pairs(&[("a", "INT"), ("Unnamed: 1", "INT"), ("a.1", "INT")])
        );
    }
}
