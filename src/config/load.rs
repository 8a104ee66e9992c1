//! Reading a workflow file: YAML (serde-saphyr) or JSON (serde_json), each through
//! `serde_path_to_error` so that an error names the key path *and* the line.

use super::Workflow;
use std::path::Path;

/// A configuration that could not be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The text does not fit the workflow schema.
    #[error("invalid config at `{key_path}`{}: {message}", location_suffix(*line, *column))]
    Parse {
        /// Dotted key path, e.g. `source.serviceConnection.config.awsConfig.awsRegion`.
        key_path: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// 1-based column, when known.
        column: Option<usize>,
        /// What was expected.
        message: String,
    },
    /// Parsed, but the values break the reference's rules.
    #[error(transparent)]
    Invalid(#[from] super::ValidationErrors),
}

fn location_suffix(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" (line {l}, column {c})"),
        (Some(l), None) => format!(" (line {l})"),
        _ => String::new(),
    }
}

/// Reads and parses a workflow file; `.json` files are JSON, anything else YAML.
pub fn load_file(path: &Path) -> Result<Workflow, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let is_json = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if is_json {
        parse_json(&text)
    } else {
        parse_str(&text)
    }
}

/// Parses a workflow from YAML text (JSON text is valid YAML too, but JSON files go through
/// serde_json for its exact positions).
pub fn parse_str(text: &str) -> Result<Workflow, ConfigError> {
    if text.trim_start().starts_with('{') {
        if let Ok(w) = parse_json(text) {
            return Ok(w);
        }
    }
    let mut key_path = String::new();
    let result = serde_saphyr::with_deserializer_from_str(text, |de| {
        serde_path_to_error::deserialize::<_, Workflow>(de).map_err(|e| {
            key_path = display_path(&e.path().to_string());
            e.into_inner()
        })
    });
    result.map_err(|e| {
        let loc = e.location();
        ConfigError::Parse {
            key_path: if key_path.is_empty() {
                "(root)".into()
            } else {
                key_path
            },
            line: loc.as_ref().map(|l| l.line() as usize),
            column: loc.as_ref().map(|l| l.column() as usize),
            message: first_line(&e.to_string()),
        }
    })
}

/// Parses a workflow built as JSON in memory (e.g. from what the OpenMetadata server stores
/// for a pipeline), with the key path of any error.
pub fn parse_value(value: serde_json::Value) -> Result<Workflow, ConfigError> {
    serde_path_to_error::deserialize::<_, Workflow>(value).map_err(|e| ConfigError::Parse {
        key_path: display_path(&e.path().to_string()),
        line: None,
        column: None,
        message: e.into_inner().to_string(),
    })
}

fn parse_json(text: &str) -> Result<Workflow, ConfigError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize::<_, Workflow>(de).map_err(|e| {
        let key_path = display_path(&e.path().to_string());
        let inner = e.into_inner();
        ConfigError::Parse {
            key_path,
            line: Some(inner.line()),
            column: Some(inner.column()),
            message: strip_json_position(&inner.to_string()),
        }
    })
}

/// `serde_path_to_error` prints `.` for the root and `a.b[0].c` otherwise.
fn display_path(p: &str) -> String {
    if p == "." || p.is_empty() {
        "(root)".to_string()
    } else {
        p.to_string()
    }
}

/// The first line of a serde-saphyr message, without its own `error: line L column C:`
/// prefix (the location is reported separately).
fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or_default().trim();
    let line = line.strip_prefix("error:").unwrap_or(line).trim_start();
    match line
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
    {
        Some((pos, msg)) if pos.contains("column") => msg.to_string(),
        _ => line.to_string(),
    }
}

fn strip_json_position(s: &str) -> String {
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod fuzz {
    //! The config loader on hostile text: YAML or JSON parse, then validation (regexes,
    //! `extraHeaders` references). It must never panic, overflow the stack or hang: serde-saphyr
    //! bounds depth (64), aliases and events, serde_json nests at most 128 levels, and
    //! `extraHeaders` resolution is iterative and length-capped.

    use super::*;
    use std::time::{Duration, Instant};

    /// One input: parse, validate, and check what a valid config promises.
    fn load(bytes: &[u8]) {
        let Ok(text) = std::str::from_utf8(bytes) else {
            return;
        };
        let started = Instant::now();
        let parsed = parse_str(text);
        if let Ok(w) = parsed {
            if let Ok(v) = w.validate() {
                assert!(!v.service_name.trim().is_empty());
                assert!(v.rules.success_threshold <= 100);
                assert!((1..=256).contains(&v.options.max_column_depth));
                if let super::super::SinkKind::MetadataRest(om) = &v.sink {
                    if let Some(extra) = &om.extra_headers {
                        // Validation promised a resolvable map: the client will not hang.
                        assert!(super::super::headers::check(extra).is_ok());
                    }
                }
            }
        } else if let Err(ConfigError::Parse { key_path, .. }) = &parsed {
            assert!(!key_path.is_empty());
        }
        // Debug build, 2 shared cores: far above any honest input, far below a hang.
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?} for {} bytes",
            started.elapsed(),
            bytes.len()
        );
    }

    /// A billion-laughs document of `levels` levels, nine aliases each, in a `Value` field.
    fn alias_bomb(levels: usize) -> String {
        let mut doc =
            String::from("processor:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        let names: Vec<char> = ('b'..='z').take(levels).collect();
        let mut prev = 'a';
        for n in names {
            let refs = vec![format!("*{prev}"); 9].join(", ");
            doc.push_str(&format!("  {n}: &{n} [{refs}]\n"));
            prev = n;
        }
        doc
    }

    #[test]
    fn an_alias_bomb_is_refused_by_the_parser_budget() {
        // 9^9 nodes if expanded; serde-saphyr stops at its node budget (250,000).
        let started = Instant::now();
        let err = parse_str(&alias_bomb(9)).unwrap_err().to_string();
        assert!(err.contains("budget"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let flow = format!(
            "processor: {}{}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let json = format!(
            "{{\"processor\": {}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        for text in [flow, json] {
            let err = parse_str(&text).unwrap_err().to_string();
            assert!(err.contains("recursion limit"), "{err}");
        }
    }

    #[test]
    fn config() {
        // The repository's own example, beside the corpus.
        let example = include_bytes!("../../tests/data/s3-storage-workflow.yaml").to_vec();
        let report = crate::fuzz::run("config", vec![example], load);
        assert!(report.executions > 0);
    }
}
