//! `containerFilterPattern`: the reference's name filter (`utils/filters.py`), exactly.
//!
//! Patterns are regexes matched with Python's `re.match` semantics: anchored at the start
//! only, case-insensitive. With only includes, a name must match one; with only excludes, it
//! must match none; with both, excludes win. A pattern list against an empty name filters it
//! out.

use regex::Regex;

/// A compiled filter. The empty filter keeps everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    includes: Vec<Regex>,
    excludes: Vec<Regex>,
}

/// A pattern that does not compile.
#[derive(Debug, thiserror::Error)]
#[error("invalid regex `{pattern}`: {source}")]
pub struct FilterError {
    /// The pattern as written.
    pub pattern: String,
    /// The regex error.
    #[source]
    pub source: regex::Error,
}

impl Filter {
    /// Compiles every pattern first, as the reference does, so one bad pattern fails the run
    /// before anything is read. Takes the two lists rather than the config's `FilterPattern`
    /// so that this module does not depend on `config` (which depends on it).
    pub fn compile(includes: &[String], excludes: &[String]) -> Result<Filter, FilterError> {
        let compile = |p: &String| {
            Regex::new(&format!("(?i)^(?:{p})")).map_err(|source| FilterError {
                pattern: p.clone(),
                source,
            })
        };
        Ok(Filter {
            includes: includes.iter().map(compile).collect::<Result<_, _>>()?,
            excludes: excludes.iter().map(compile).collect::<Result<_, _>>()?,
        })
    }

    /// True when the filter has no patterns at all.
    pub fn is_empty(&self) -> bool {
        self.includes.is_empty() && self.excludes.is_empty()
    }

    /// True when `name` is filtered out.
    pub fn excludes(&self, name: &str) -> bool {
        if self.is_empty() {
            return false;
        }
        if name.is_empty() {
            return true;
        }
        if !self.includes.is_empty() && !self.includes.iter().any(|r| r.is_match(name)) {
            return true;
        }
        self.excludes.iter().any(|r| r.is_match(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(includes: &[&str], excludes: &[&str]) -> Filter {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Filter::compile(&strings(includes), &strings(excludes)).unwrap()
    }

    #[test]
    fn match_is_anchored_at_the_start_only() {
        let f = filter(&["sales"], &[]);
        assert!(!f.excludes("sales"));
        assert!(!f.excludes("sales-2024"));
        assert!(f.excludes("old-sales"));
    }

    #[test]
    fn match_is_case_insensitive() {
        let f = filter(&["SALES"], &[]);
        assert!(!f.excludes("sales"));
    }

    #[test]
    fn excludes_win_over_includes() {
        let f = filter(&[".*"], &["^tmp_", "_SUCCESS"]);
        assert!(f.excludes("tmp_x"));
        assert!(f.excludes("_success"));
        assert!(!f.excludes("data"));
        // `_SUCCESS` is anchored at the start: a name merely containing it stays.
        assert!(!f.excludes("a_SUCCESS"));
    }

    #[test]
    fn only_excludes_keep_the_rest() {
        let f = filter(&[], &["logs"]);
        assert!(f.excludes("logs-2024"));
        assert!(!f.excludes("data"));
    }

    #[test]
    fn empty_name_is_filtered_when_patterns_exist() {
        assert!(filter(&[], &["x"]).excludes(""));
        assert!(!Filter::default().excludes(""));
    }

    #[test]
    fn invalid_regex_is_an_error_naming_it() {
        let err = Filter::compile(&["(".into()], &[]).unwrap_err();
        assert!(err.to_string().contains("`(`"));
    }
}
