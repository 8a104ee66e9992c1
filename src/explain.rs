//! Errors a person can read: one sentence per failure, each cause said once.
//!
//! Errors from the HTTP stacks nest four or five deep (`dispatch failure` → `io error` →
//! `client error (Connect)` → `tcp connect error` → `Connection refused (os error 111)`), and
//! the useful part is the innermost; their `Debug` form is a dump. Our own errors often
//! carry their cause both in their text and as their source, so a plain walk of the chain
//! repeats it. [`root_cause`] and [`chain`] handle both.

use std::error::Error;

/// The innermost cause of `e`, with the level above it when that adds something: e.g.
/// `tcp connect error: Connection refused (os error 111)`, `dns error: failed to lookup
/// address information: Name or service not known`. At most 300 characters.
pub fn root_cause(e: &(dyn Error + 'static)) -> String {
    let mut levels = vec![e.to_string()];
    let mut cur = e.source();
    // Bounded: a cyclic or absurdly deep chain stops here.
    while let Some(s) = cur {
        if levels.len() >= 32 {
            break;
        }
        levels.push(s.to_string());
        cur = s.source();
    }
    let mut parts: Vec<&str> = levels
        .iter()
        .rev()
        .map(|s| s.as_str())
        .filter(|s| !s.is_empty())
        .take(2)
        .collect();
    parts.reverse();
    let text = match parts.as_slice() {
        [outer, inner] if outer.contains(inner) => inner.to_string(),
        [outer, inner] if inner.contains(outer) => inner.to_string(),
        [outer, inner] => format!("{outer}: {inner}"),
        [one] => one.to_string(),
        _ => String::new(),
    };
    // One line: the SDK's credential chain lists every provider it tried, line by line.
    let first = text
        .lines()
        .next()
        .unwrap_or_default()
        .trim_end_matches(['.', ':']);
    first.chars().take(300).collect()
}

/// Messages of an error chain (outermost first) joined with `: `, skipping a cause whose
/// text the message already holds, so that `… (os error 2): No such file or directory
/// (os error 2)` is said once.
pub fn chain<I, S>(messages: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out = String::new();
    for m in messages {
        let m = m.as_ref().trim();
        if m.is_empty() || out.contains(m) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(m);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Level(&'static str, Option<Box<Level>>);

    impl std::fmt::Display for Level {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Level {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref().map(|l| l as &(dyn Error + 'static))
        }
    }

    #[test]
    fn the_innermost_cause_is_said_with_its_context() {
        let e = Level(
            "dispatch failure",
            Some(Box::new(Level(
                "client error (Connect)",
                Some(Box::new(Level(
                    "tcp connect error",
                    Some(Box::new(Level("Connection refused (os error 111)", None))),
                ))),
            ))),
        );
        assert_eq!(
            root_cause(&e),
            "tcp connect error: Connection refused (os error 111)"
        );
        assert_eq!(root_cause(&Level("timed out", None)), "timed out");
    }

    #[test]
    fn a_cause_already_said_is_not_repeated() {
        assert_eq!(
            chain([
                "cannot read config file x.yaml: No such file or directory (os error 2)",
                "No such file or directory (os error 2)",
            ]),
            "cannot read config file x.yaml: No such file or directory (os error 2)"
        );
        assert_eq!(chain(["a", "b", "a"]), "a: b");
    }
}
