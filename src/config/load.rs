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
