//! `extraHeaders` values and their `%(Name)s` references, resolved in one place for both
//! `validate` (which rejects a cycle, naming its key path) and the OpenMetadata client (which
//! fills in the header values).
//!
//! The reference formats each value once with Python's `%` against the client's own headers
//! (`value % headers`): text that was copied in is never scanned again. s3meta also lets a
//! value copy another *extra* header, which makes a cycle possible (`X-A: "%(X-A)s"`, or
//! A → B → A). Resolution here is a single pass over each value's own text; a reference to
//! another extra header takes that header's resolved value, computed once (memoised, with
//! an explicit stack rather than recursion, so a hostile chain of headers cannot overflow the
//! stack); a cycle is an error, and so is a value that copies more than [`MAX_HEADER_LEN`]
//! bytes (a chain of values that each copy the previous one twice grows exponentially).

use std::collections::{BTreeMap, HashMap};

/// The most an extra header's value may copy from other headers, in bytes: far above any real
/// header (a JWT is a few KiB), far below what could exhaust memory.
pub const MAX_HEADER_LEN: usize = 16 * 1024;

/// The headers the OpenMetadata client sets itself, which a `%(Name)s` reference names before
/// any extra header of the same name (the reference formats against exactly these).
pub const CLIENT_HEADERS: [&str; 3] = ["Content-Type", "Authorization", "User-Agent"];

/// An `extraHeaders` map that cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderRefError {
    /// A value refers back to itself, directly or through other extra headers.
    #[error("`%({name})s` refers back to itself ({})", chain.join(" → "))]
    Cycle {
        /// The extra header whose value closes the cycle (its key in `extraHeaders`).
        name: String,
        /// The headers of the cycle, from `name` back to `name`.
        chain: Vec<String>,
    },
    /// A value copies more than [`MAX_HEADER_LEN`] bytes from other headers.
    #[error("copies more than {MAX_HEADER_LEN} bytes from other headers")]
    TooLong {
        /// The extra header (its key in `extraHeaders`).
        name: String,
    },
}

impl HeaderRefError {
    /// The extra header concerned: the last segment of the error's key path.
    pub fn name(&self) -> &str {
        match self {
            HeaderRefError::Cycle { name, .. } | HeaderRefError::TooLong { name } => name,
        }
    }
}

/// One piece of a value: literal text or a `%(Name)s` reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Ref(&'a str),
}

/// Splits a value into literal text and `%(Name)s` references, left to right. A `%(` with no
/// `)s` after it is literal text.
fn pieces(value: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find("%(") {
        let Some(len) = rest[start..].find(")s") else {
            break;
        };
        if start > 0 {
            out.push(Piece::Text(&rest[..start]));
        }
        out.push(Piece::Ref(&rest[start + 2..start + len]));
        rest = &rest[start + len + 2..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    out
}

/// One value being resolved: its key, its pieces, how far it got.
struct Frame<'a> {
    key: &'a str,
    pieces: Vec<Piece<'a>>,
    next: usize,
    out: String,
    /// Bytes copied in from other headers: what [`MAX_HEADER_LEN`] bounds (the value's own
    /// text is bounded by the config file).
    copied: usize,
}

impl<'a> Frame<'a> {
    fn new(key: &'a str, value: &'a str) -> Frame<'a> {
        Frame {
            key,
            pieces: pieces(value),
            next: 0,
            out: String::new(),
            copied: 0,
        }
    }

    fn text(&mut self, s: &str) {
        self.out.push_str(s);
        self.next += 1;
    }

    fn copy(&mut self, s: &str) -> Result<(), HeaderRefError> {
        self.copied += s.len();
        if self.copied > MAX_HEADER_LEN {
            return Err(HeaderRefError::TooLong {
                name: self.key.to_string(),
            });
        }
        self.text(s);
        Ok(())
    }
}

/// Resolves every `extraHeaders` value. `client` gives the value of a header the client sets
/// itself (see [`CLIENT_HEADERS`]), matched case-insensitively, which wins over an extra header
/// of the same name; otherwise a reference names an extra header (case-insensitively), and a
/// name that is neither copies nothing.
pub fn resolve(
    extra: &BTreeMap<String, String>,
    client: impl Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, HeaderRefError> {
    // `None`: being resolved (on the stack); `Some`: done.
    let mut state: HashMap<&str, Option<String>> = HashMap::new();
    // Lower-cased name → the first key (in map order) spelled that way, as a lookup that stays
    // linear however many headers refer to each other.
    let mut by_name: HashMap<String, &str> = HashMap::new();
    for k in extra.keys() {
        by_name.entry(k.to_ascii_lowercase()).or_insert(k);
    }
    for (root, value) in extra {
        if state.contains_key(root.as_str()) {
            continue;
        }
        state.insert(root, None);
        let mut stack = vec![Frame::new(root, value)];
        while let Some(top) = stack.last_mut() {
            let Some(piece) = top.pieces.get(top.next).copied() else {
                let Some(done) = stack.pop() else { break };
                if let Some(parent) = stack.last_mut() {
                    parent.copy(&done.out)?;
                }
                state.insert(done.key, Some(done.out));
                continue;
            };
            let name = match piece {
                Piece::Text(t) => {
                    top.text(t);
                    continue;
                }
                Piece::Ref(name) => name,
            };
            if let Some(v) = client(name) {
                top.copy(&v)?;
                continue;
            }
            let Some((key, value)) = by_name
                .get(name.to_ascii_lowercase().as_str())
                .and_then(|k| extra.get_key_value(*k))
            else {
                top.next += 1;
                continue;
            };
            match state.get(key.as_str()) {
                Some(Some(done)) => {
                    let done = done.clone();
                    top.copy(&done)?;
                }
                Some(None) => {
                    let from = stack.iter().position(|f| f.key == key).unwrap_or(0);
                    let mut chain: Vec<String> =
                        stack[from..].iter().map(|f| f.key.to_string()).collect();
                    chain.push(key.clone());
                    return Err(HeaderRefError::Cycle {
                        name: key.clone(),
                        chain,
                    });
                }
                None => {
                    state.insert(key.as_str(), None);
                    stack.push(Frame::new(key, value));
                }
            }
        }
    }
    Ok(extra
        .keys()
        .map(|k| {
            let v = state.remove(k.as_str()).flatten().unwrap_or_default();
            (k.clone(), v)
        })
        .collect())
}

/// Checks an `extraHeaders` map without the client's values (as `validate` must: no token is
/// read there): a reference to a client header stands for an empty value.
pub fn check(extra: &BTreeMap<String, String>) -> Result<(), HeaderRefError> {
    resolve(extra, |name| {
        CLIENT_HEADERS
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
            .then(String::new)
    })
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn client(name: &str) -> Option<String> {
        name.eq_ignore_ascii_case("user-agent")
            .then(|| "ua %(X-A)s".to_string())
    }

    #[test]
    fn references_copy_client_and_extra_headers_once() {
        let extra = map(&[
            ("X-A", "a-%(User-Agent)s"),
            ("X-B", "[%(x-a)s|%(X-None)s|%(X-A)s]"),
            ("X-C", "100%(no end"),
        ]);
        let got = resolve(&extra, client).unwrap();
        // The client's value is copied, not scanned again for references.
        assert_eq!(got["X-A"], "a-ua %(X-A)s");
        assert_eq!(got["X-B"], "[a-ua %(X-A)s||a-ua %(X-A)s]");
        assert_eq!(got["X-C"], "100%(no end");
    }

    #[test]
    fn a_self_reference_is_a_cycle() {
        let err = check(&map(&[("X-A", "%(X-A)s")])).unwrap_err();
        assert_eq!(err.name(), "X-A");
        assert_eq!(
            err.to_string(),
            "`%(X-A)s` refers back to itself (X-A → X-A)"
        );
    }

    #[test]
    fn a_longer_cycle_names_its_headers() {
        let err = check(&map(&[("X-A", "x%(X-B)s"), ("X-B", "%(x-a)s")])).unwrap_err();
        assert_eq!(
            err,
            HeaderRefError::Cycle {
                name: "X-A".into(),
                chain: vec!["X-A".into(), "X-B".into(), "X-A".into()],
            }
        );
    }

    #[test]
    fn a_client_header_name_is_not_a_cycle() {
        assert!(check(&map(&[("Authorization", "x %(Authorization)s")])).is_ok());
    }

    #[test]
    fn doubling_chains_stop_at_the_length_cap() {
        let mut pairs = vec![("H0".to_string(), "x".repeat(64))];
        for i in 1..40 {
            pairs.push((format!("H{i}"), format!("%(H{})s%(H{})s", i - 1, i - 1)));
        }
        let extra: BTreeMap<String, String> = pairs.into_iter().collect();
        let err = check(&extra).unwrap_err();
        assert!(matches!(err, HeaderRefError::TooLong { .. }), "{err}");
    }

    #[test]
    fn a_long_chain_needs_no_deep_stack() {
        let extra: BTreeMap<String, String> = (0..100_000)
            .map(|i| (format!("H{i:06}"), format!("%(H{:06})s", i + 1)))
            .collect();
        let got = resolve(&extra, |_| None).unwrap();
        assert_eq!(got["H000000"], "");
    }
}
