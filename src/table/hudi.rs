//! Apache Hudi: a table's schema from its timeline (`.hoodie/`).
//!
//! `.hoodie/hoodie.properties` gives the table type (copy-on-write or merge-on-read), the
//! table version and the partition fields. The schema is the Avro writer schema in the
//! latest completed commit's metadata (`extraMetadata.schema`): `.hoodie/<instant>.commit`
//! (or `.deltacommit`, `.replacecommit`) as JSON up to table version 6, and
//! `.hoodie/timeline/<instant>_<completion>.<action>` from version 8 on. From version 8 the
//! commit metadata is an Avro object container file (writer schema `HoodieCommitMetadata`,
//! one record), walked by `infer::avro_datum` for `extraMetadata["schema"]` alone,
//! within its depth, value and decompression bounds. A few completed instants are tried,
//! newest first (a clean or a compaction may carry no schema), then the properties'
//! `hoodie.table.create.schema` (which misses the columns added since the table was made),
//! and the description line says so. A JSON commit that is not JSON fails the table; an
//! Avro commit that cannot be decoded (or whose schema is not JSON) falls back to the
//! properties' schema, with a warning and the description line saying why: the table is
//! still there, only its latest columns are unknown.
//!
//! The timeline is listed one level (`.hoodie/`, and `.hoodie/timeline/`), without its
//! archived history; each document is read within `maxDocumentBytes`.

use super::{Error, Io, Problem, Table};
use crate::format::TableFormat;
use crate::infer::{avro_columns, avro_datum};
use crate::store::ObjectMeta;
use serde_json::Value;
use std::collections::HashMap;

/// Completed instants read at most, newest first, for one carrying a schema.
const MAX_INSTANTS_TRIED: usize = 5;

/// The completed write instants, as (completion time, name), from file names directly in
/// the timeline folder: `<t>.commit`, `<t>.deltacommit`, `<t>.replacecommit`, or
/// `<t>_<completion>.<action>` (table version 8+).
fn completed<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = names
        .into_iter()
        .filter_map(|name| {
            let (instant, action) = name.split_once('.')?;
            matches!(action, "commit" | "deltacommit" | "replacecommit").then_some(())?;
            let done = match instant.split_once('_') {
                Some((_, completion)) => completion,
                None => instant,
            };
            (!done.is_empty() && done.bytes().all(|b| b.is_ascii_digit()))
                .then(|| (done.to_string(), name.to_string()))
        })
        .collect();
    out.sort();
    out
}

/// Java `.properties` text: `key=value` (or `key:value`) lines, `#`/`!` comments,
/// backslash escapes and continuations.
pub fn properties(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut lines = text.lines();
    while let Some(first) = lines.next() {
        let mut line = first.trim_start().to_string();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        // An odd number of trailing backslashes continues the line.
        while line.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1 {
            line.pop();
            match lines.next() {
                Some(next) => line.push_str(next.trim_start()),
                None => break,
            }
        }
        let mut key = String::new();
        let mut chars = line.chars().peekable();
        let mut escaped = false;
        for c in chars.by_ref() {
            if escaped {
                key.push(unescape(c));
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '=' || c == ':' || c.is_whitespace() {
                break;
            } else {
                key.push(c);
            }
        }
        let rest: String = chars.collect();
        let rest = rest.trim_start_matches([' ', '\t', '=', ':']);
        let mut value = String::new();
        let mut escaped = false;
        for c in rest.chars() {
            if escaped {
                value.push(unescape(c));
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else {
                value.push(c);
            }
        }
        out.insert(key, value);
    }
    out
}

fn unescape(c: char) -> char {
    match c {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        other => other,
    }
}

/// Reads the Hudi table at `root`.
pub(super) async fn read(
    io: &Io<'_>,
    root: &str,
    log: Option<&[ObjectMeta]>,
) -> Result<Table, Error> {
    let dir = format!("{root}/.hoodie/");
    let props_key = format!("{dir}hoodie.properties");
    let size = super::listed_size(log, &props_key);
    let bytes = io.required(&props_key, size).await?;
    let props = io
        .cpu(&props_key, move || {
            properties(&String::from_utf8_lossy(&bytes))
        })
        .await?;
    let get = |k: &str| {
        props
            .get(k)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    };
    let table_type = get("hoodie.table.type")
        .unwrap_or("COPY_ON_WRITE")
        .to_string();
    let version = get("hoodie.table.version").unwrap_or("?").to_string();
    let partitions: Vec<String> = get("hoodie.table.partition.fields")
        .map(|f| {
            f.split(',')
                // Version 8+ may suffix a type: `ts:TIMESTAMP`.
                .map(|p| p.split(':').next().unwrap_or(p).trim().to_string())
                .filter(|p| !p.is_empty())
                .collect()
        })
        .unwrap_or_default();

    // The timeline: one level of `.hoodie/`, and of `.hoodie/timeline/` (version 8+).
    let timeline_dir = match get("hoodie.timeline.path") {
        Some(p) if !p.contains("..") => format!("{dir}{}/", p.trim_matches('/')),
        _ => format!("{dir}timeline/"),
    };
    let mut names: Vec<(String, String)> = vec![];
    for folder in [&dir, &timeline_dir] {
        let listed: Vec<ObjectMeta> = match log {
            Some(l) => l.to_vec(),
            None => io.store.list_level(io.bucket, folder).await?.0,
        };
        for o in listed {
            if let Some(name) = o.key.strip_prefix(folder.as_str()) {
                if !name.contains('/') {
                    names.push((folder.clone(), name.to_string()));
                }
            }
        }
    }
    let mut instants: Vec<(String, String, String)> = names
        .iter()
        .flat_map(|(folder, name)| {
            completed([name.as_str()])
                .into_iter()
                .map(move |(done, n)| (done, folder.clone(), n))
        })
        .collect();
    instants.sort();
    let latest = instants.last().map(|(done, _, _)| done.clone());

    let mut schema: Option<(Value, &'static str)> = None;
    // Why an Avro commit's schema was not used, for the description line.
    let mut unread: Option<String> = None;
    for (_, folder, name) in instants.iter().rev().take(MAX_INSTANTS_TRIED) {
        let key = format!("{folder}{name}");
        let bytes = io.required(&key, super::listed_size(log, &key)).await?;
        if bytes.starts_with(b"Obj\x01") {
            // Avro-encoded commit metadata (table version 8+).
            let cap = io.limits.max_document;
            let found = io
                .cpu(&key, move || -> Result<Option<Value>, String> {
                    let text = avro_datum::find_string(&bytes, &["extraMetadata", "schema"], cap)
                        .map_err(|e| e.to_string())?;
                    match text.filter(|t| !t.trim().is_empty()) {
                        Some(t) => serde_json::from_str(&t)
                            .map(Some)
                            .map_err(|e| format!("its schema is not JSON: {e}")),
                        None => Ok(None),
                    }
                })
                .await?;
            match found {
                Ok(Some(s)) => {
                    schema = Some((s, "the latest commit"));
                    break;
                }
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(
                        bucket = io.bucket,
                        key = %key,
                        error = %e,
                        "Hudi commit metadata not decoded: the schema comes from hoodie.table.create.schema."
                    );
                    unread = Some(format!("{name} not decoded: {e}"));
                    break;
                }
            }
        }
        let found = io
            .cpu(&key, move || -> Result<Option<Value>, Problem> {
                let doc: Value = serde_json::from_slice(&bytes)?;
                let text = doc
                    .get("extraMetadata")
                    .and_then(|m| m.get("schema"))
                    .and_then(Value::as_str)
                    .filter(|s| !s.trim().is_empty());
                Ok(match text {
                    Some(t) => Some(serde_json::from_str(t)?),
                    None => None,
                })
            })
            .await?
            .map_err(|e| io.invalid(&key, e))?;
        if let Some(s) = found {
            schema = Some((s, "the latest commit"));
            break;
        }
    }
    let (schema, from) = match schema {
        Some(s) => s,
        None => {
            let text = get("hoodie.table.create.schema").ok_or_else(|| {
                let why = unread.as_deref().map(|w| format!(" ({w})")).unwrap_or_default();
                io.invalid(
                    &props_key,
                    Problem::Format(format!(
                        "no completed commit with a readable schema{why}, and no hoodie.table.create.schema"
                    )),
                )
            })?;
            let parsed: Value =
                serde_json::from_str(text).map_err(|e| io.invalid(&props_key, e))?;
            (parsed, "hoodie.table.create.schema")
        }
    };
    let tree = io.limits.tree;
    let mut columns = io
        .cpu(&props_key, move || avro_columns(&schema, tree))
        .await?
        .map_err(|e| io.invalid(&props_key, e))?;
    for c in &mut columns {
        if partitions.contains(&c.name) {
            c.description = Some("Hudi partition field".into());
        }
    }
    let mut description = format!("Apache Hudi table ({table_type}), table version {version}");
    match latest {
        Some(t) => description.push_str(&format!(", instant {t}")),
        None => description.push_str(", no completed commit"),
    }
    if from != "the latest commit" {
        description.push_str(&format!("; schema from {from}"));
        if let Some(why) = unread {
            description.push_str(&format!(" ({why})"));
        }
    }
    if !partitions.is_empty() {
        description.push_str(&format!("; partitioned by {}", partitions.join(", ")));
    }
    Ok(Table {
        format: TableFormat::Hudi,
        columns,
        is_partitioned: !partitions.is_empty(),
        description,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_properties_are_read_with_their_escapes() {
        let p = properties(
            "#comment\n! also\nhoodie.table.type=MERGE_ON_READ\n  a\\:b = x\\:y\nlong=one \\\n   two\nempty=\n",
        );
        assert_eq!(p["hoodie.table.type"], "MERGE_ON_READ");
        assert_eq!(p["a:b"], "x:y");
        assert_eq!(p["long"], "one two");
        assert_eq!(p["empty"], "");
        assert_eq!(p.len(), 4);
    }

    #[test]
    fn only_completed_writes_count_newest_last() {
        let got = completed([
            "20250121000547796.deltacommit",
            "20250121000547796.deltacommit.inflight",
            "20250121000557095.deltacommit.requested",
            "20250713010139392_20250713010140981.commit",
            "20250101000000000.clean",
            "hoodie.properties",
        ]);
        assert_eq!(
            got,
            vec![
                (
                    "20250121000547796".into(),
                    "20250121000547796.deltacommit".into()
                ),
                (
                    "20250713010140981".into(),
                    "20250713010139392_20250713010140981.commit".into()
                ),
            ]
        );
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::table::{tree_size, FUZZ_TREE};

    /// `hoodie.properties`, then its `hoodie.table.create.schema` as columns.
    #[test]
    fn hudi_properties() {
        crate::fuzz::run("hudi_properties", vec![], |b| {
            let p = properties(&String::from_utf8_lossy(b));
            if let Some(s) = p.get("hoodie.table.create.schema") {
                if let Ok(v) = serde_json::from_str::<Value>(s) {
                    if let Ok(cols) = avro_columns(&v, FUZZ_TREE) {
                        let (depth, nodes) = tree_size(&cols);
                        assert!(depth <= FUZZ_TREE.max_depth + 1, "{depth}");
                        assert!(nodes <= FUZZ_TREE.max_nodes + 1, "{nodes}");
                    }
                }
            }
        });
    }
}
