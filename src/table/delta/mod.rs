//! Delta Lake: the current `metaData` action of a table's log (`_delta_log/`).
//!
//! The newest checkpoint (named by `_last_checkpoint`, or found in the listing) holds the
//! table's state at its version; the JSON commits after it change it, in order, and the
//! last `metaData` action wins. So a table with 10,000 commits and a recent checkpoint costs
//! `_last_checkpoint`, the checkpoint's footer and `metaData` column chunks
//! (`checkpoint`), and the commits after it: the same as a table with 20 commits. Without
//! a listing (the planner's did not reach `_delta_log/`), the commits after the checkpoint
//! are read by version until the first that does not exist, as Delta's own readers probe.
//!
//! Classic, multi-part and v2 (UUID-named, JSON or parquet) checkpoints are read; a log
//! with no checkpoint is read from version 0. Each commit is read whole within
//! `maxDocumentBytes`.
//!
//! Columns come from `schemaString` (`schema`); the partition columns come first, as
//! Hive-style partition columns do elsewhere in s3meta.

mod checkpoint;
mod schema;

use super::{listed_size, Error, Io, Problem, Table};
use crate::format::TableFormat;
use crate::store::ObjectMeta;
use serde::Deserialize;

pub use schema::columns;
pub(crate) use schema::decimal as decimal_type;

/// Commits read at most after a checkpoint (or from version 0 without one). Writers
/// checkpoint every 10 (Spark) or 100 (delta-rs) commits; a log past this has no recent
/// checkpoint, and the table is refused rather than read at any cost.
pub const MAX_COMMITS: u64 = 1_000;

/// The parts of a `metaData` action s3meta uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetaData {
    /// The table's schema, a JSON document in a string.
    pub schema_string: String,
    /// The partition columns, in order.
    #[serde(default)]
    pub partition_columns: Vec<String>,
}

/// One line of a commit (or JSON checkpoint): only `metaData` matters here.
#[derive(Debug, Deserialize)]
struct Action {
    #[serde(rename = "metaData")]
    meta_data: Option<MetaData>,
}

/// `_delta_log/_last_checkpoint`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LastCheckpoint {
    version: u64,
    parts: Option<u64>,
    v2_checkpoint: Option<V2Checkpoint>,
}

#[derive(Debug, Deserialize)]
struct V2Checkpoint {
    path: String,
}

/// The last `metaData` action of a commit (or JSON checkpoint), one JSON action per line.
pub fn last_meta_data(bytes: &[u8]) -> Result<Option<MetaData>, serde_json::Error> {
    let mut last = None;
    for line in bytes.split(|b| *b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let a: Action = serde_json::from_slice(line)?;
        if a.meta_data.is_some() {
            last = a.meta_data;
        }
    }
    Ok(last)
}

/// The version of a commit file (`<20 digits>.json`) directly in the log.
fn commit_version(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".json")?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

fn commit_name(v: u64) -> String {
    format!("{v:020}.json")
}

/// The version of a checkpoint file name, when it is one.
fn checkpoint_version(name: &str) -> Option<u64> {
    let (digits, rest) = name.split_once('.')?;
    (digits.len() == 20
        && digits.bytes().all(|b| b.is_ascii_digit())
        && rest.starts_with("checkpoint."))
    .then(|| digits.parse().ok())
    .flatten()
}

/// The files of the checkpoint of version `v` among the log's file names, when one is
/// complete: the classic `v.checkpoint.parquet`, all parts of a multi-part one, or a v2
/// `v.checkpoint.<uuid>.(json|parquet)`.
fn checkpoint_files<'a>(v: u64, names: impl IntoIterator<Item = &'a str>) -> Option<Vec<String>> {
    let prefix = format!("{v:020}.checkpoint.");
    let mut parts: Vec<(u64, u64, &str)> = vec![];
    let mut v2 = None;
    for name in names {
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        if rest == "parquet" {
            return Some(vec![name.to_string()]);
        }
        let fields: Vec<&str> = rest.split('.').collect();
        match fields.as_slice() {
            [i, n, "parquet"] if i.len() == 10 && n.len() == 10 => {
                if let (Ok(i), Ok(n)) = (i.parse(), n.parse()) {
                    parts.push((i, n, name));
                }
            }
            [_uuid, "json" | "parquet"] => v2 = Some(name.to_string()),
            _ => {}
        }
    }
    if let Some(name) = v2 {
        return Some(vec![name]);
    }
    let n = parts.first()?.1;
    parts.retain(|p| p.1 == n);
    parts.sort();
    parts.dedup_by_key(|p| p.0);
    let complete = n > 0 && parts.len() as u64 == n && parts.iter().zip(1..).all(|(p, i)| p.0 == i);
    complete.then(|| parts.iter().map(|p| p.2.to_string()).collect())
}

/// Reads the Delta table at `root`.
pub(super) async fn read(
    io: &Io<'_>,
    root: &str,
    log: Option<&[ObjectMeta]>,
) -> Result<Table, Error> {
    let dir = format!("{root}/_delta_log/");
    let last_key = format!("{dir}_last_checkpoint");
    // A complete listing without `_last_checkpoint` says it is not there: no request.
    let absent = log.is_some() && listed_size(log, &last_key).is_none();
    let read = if absent {
        None
    } else {
        io.document(&last_key, listed_size(log, &last_key)).await?
    };
    let last = match read {
        Some(bytes) => {
            let parsed = io
                .cpu(&last_key, move || {
                    serde_json::from_slice::<LastCheckpoint>(&bytes)
                })
                .await?;
            Some(parsed.map_err(|e| io.invalid(&last_key, e))?)
        }
        None => None,
    };
    // The log's listing: the planner's, else our own when nothing else says where the
    // checkpoint is. With `_last_checkpoint` and no listing, nothing is listed.
    let listed: Option<Vec<ObjectMeta>> = match (log, &last) {
        (Some(l), _) => Some(l.to_vec()),
        (None, None) => Some(io.list(&dir).await?),
        (None, Some(_)) => None,
    };
    let names: Option<Vec<(&str, u64)>> = listed.as_ref().map(|l| {
        l.iter()
            .filter_map(|o| Some((o.key.strip_prefix(&dir)?, o.size)))
            .filter(|(n, _)| !n.contains('/'))
            .collect()
    });
    let size_of = |name: &str| -> Option<u64> {
        names
            .as_ref()?
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| *s)
    };

    // The checkpoint: its version and files (with their sizes when known).
    let ckpt: Option<(u64, Vec<Sized>)> = match (&last, &names) {
        (Some(lc), Some(names)) => {
            let files = checkpoint_files(lc.version, names.iter().map(|(n, _)| *n))
                .ok_or_else(|| nowhere(io, &last_key, lc.version))?;
            Some((lc.version, sized(files, &size_of)))
        }
        (Some(lc), None) => Some((lc.version, named_files(io, &dir, &last_key, lc).await?)),
        (None, Some(names)) => {
            let mut versions: Vec<u64> = names
                .iter()
                .filter_map(|(n, _)| checkpoint_version(n))
                .collect();
            versions.sort_unstable();
            versions.dedup();
            versions.into_iter().rev().find_map(|v| {
                checkpoint_files(v, names.iter().map(|(n, _)| *n)).map(|f| (v, sized(f, &size_of)))
            })
        }
        (None, None) => None,
    };

    let mut meta: Option<MetaData> = None;
    let mut version = None;
    if let Some((v, files)) = &ckpt {
        for (name, size) in files {
            let key = format!("{dir}{name}");
            if let Some(m) = checkpoint::meta_data(io, &key, *size).await? {
                meta = Some(m);
            }
        }
        if meta.is_none() {
            let key = format!("{dir}{}", files.first().map_or("", |f| f.0.as_str()));
            return Err(io.invalid(
                &key,
                Problem::Format(format!(
                    "the checkpoint of version {v} holds no metaData action"
                )),
            ));
        }
        version = Some(*v);
    }

    // The commits after the checkpoint, in order.
    let first = ckpt.as_ref().map_or(0, |(v, _)| v + 1);
    match &names {
        Some(names) => {
            let mut commits: Vec<u64> = names
                .iter()
                .filter_map(|(n, _)| commit_version(n))
                .filter(|v| *v >= first)
                .collect();
            commits.sort_unstable();
            if commits.len() as u64 > MAX_COMMITS {
                return Err(too_many(io, &dir));
            }
            if ckpt.is_none() && commits.first().is_some_and(|v| *v != 0) {
                return Err(io.invalid(
                    &dir,
                    Problem::Format(format!(
                        "the log starts at version {} and has no checkpoint: the table's metadata is incomplete",
                        commits[0]
                    )),
                ));
            }
            for v in commits {
                let name = commit_name(v);
                let key = format!("{dir}{name}");
                let bytes = io.required(&key, size_of(&name)).await?;
                if let Some(m) = parse_commit(io, &key, bytes).await? {
                    meta = Some(m);
                }
                version = Some(v);
            }
        }
        None => {
            // No listing: read on until the first version that does not exist.
            for v in first.. {
                if v - first >= MAX_COMMITS {
                    return Err(too_many(io, &dir));
                }
                let key = format!("{dir}{}", commit_name(v));
                let Some(bytes) = io.document(&key, None).await? else {
                    break;
                };
                if let Some(m) = parse_commit(io, &key, bytes).await? {
                    meta = Some(m);
                }
                version = Some(v);
            }
        }
    }
    let (Some(meta), Some(version)) = (meta, version) else {
        return Err(io.invalid(
            &dir,
            Problem::Format("no commit or checkpoint with a metaData action".into()),
        ));
    };
    let limits = *io.limits;
    let schema_key = format!("{dir}{}", commit_name(version));
    let parts = meta.partition_columns.clone();
    let columns = io
        .cpu(&schema_key, move || {
            schema::columns(&meta.schema_string, &meta.partition_columns, limits.tree)
        })
        .await?
        .map_err(|e| io.invalid(&schema_key, e))?;
    let mut description = format!("Delta Lake table, version {version}");
    if !parts.is_empty() {
        description.push_str(&format!("; partitioned by {}", parts.join(", ")));
    }
    Ok(Table {
        format: TableFormat::Delta,
        columns,
        is_partitioned: !parts.is_empty(),
        description,
    })
}

async fn parse_commit(
    io: &Io<'_>,
    key: &str,
    bytes: bytes::Bytes,
) -> Result<Option<MetaData>, Error> {
    io.cpu(key, move || last_meta_data(&bytes))
        .await?
        .map_err(|e| io.invalid(key, e))
}

/// A log file's name and, when a listing or HEAD said, its size.
type Sized = (String, Option<u64>);

/// Checkpoint file names with the sizes a listing gave.
fn sized(files: Vec<String>, size_of: &dyn Fn(&str) -> Option<u64>) -> Vec<Sized> {
    files
        .into_iter()
        .map(|f| {
            let s = size_of(&f);
            (f, s)
        })
        .collect()
}

fn nowhere(io: &Io<'_>, last_key: &str, v: u64) -> Error {
    io.invalid(
        last_key,
        Problem::Missing(format!(
            "names the checkpoint of version {v}, and no complete checkpoint of that version exists"
        )),
    )
}

fn too_many(io: &Io<'_>, dir: &str) -> Error {
    io.invalid(
        dir,
        Problem::Format(format!(
            "more than {MAX_COMMITS} commits after the newest checkpoint (or from version 0, without one): not read"
        )),
    )
}

/// The checkpoint files `_last_checkpoint` names, without a listing of the whole log: the
/// v2 file it names, the parts it counts, or the classic name; a classic name that is not
/// there is looked for among the version's checkpoint files (one listing of that version's
/// prefix), since `_last_checkpoint` need not say a checkpoint is v2.
async fn named_files(
    io: &Io<'_>,
    dir: &str,
    last_key: &str,
    lc: &LastCheckpoint,
) -> Result<Vec<Sized>, Error> {
    let v = lc.version;
    if let Some(v2) = &lc.v2_checkpoint {
        if v2.path.contains('/') || v2.path.is_empty() {
            return Err(io.invalid(
                last_key,
                Problem::Format(format!(
                    "v2Checkpoint.path `{}` is not a file of the log",
                    v2.path
                )),
            ));
        }
        return Ok(vec![(v2.path.clone(), None)]);
    }
    if let Some(n) = lc.parts.filter(|n| *n > 1) {
        if n > MAX_COMMITS {
            return Err(io.invalid(
                last_key,
                Problem::Format(format!("a checkpoint in {n} parts: not read")),
            ));
        }
        return Ok((1..=n)
            .map(|i| (format!("{v:020}.checkpoint.{i:010}.{n:010}.parquet"), None))
            .collect());
    }
    let classic = format!("{v:020}.checkpoint.parquet");
    match io.store.head(io.bucket, &format!("{dir}{classic}")).await {
        Ok(m) => return Ok(vec![(classic, Some(m.size))]),
        Err(e) if e.kind == crate::store::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    let page = io
        .store
        .list_page(io.bucket, &format!("{dir}{v:020}.checkpoint."), None)
        .await?;
    let names: Vec<(&str, u64)> = page
        .objects
        .iter()
        .filter_map(|o| Some((o.key.strip_prefix(dir)?, o.size)))
        .collect();
    let files = checkpoint_files(v, names.iter().map(|(n, _)| *n))
        .ok_or_else(|| nowhere(io, last_key, v))?;
    let size_of = |f: &str| names.iter().find(|(n, _)| *n == f).map(|(_, s)| *s);
    Ok(sized(files, &size_of))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_files_are_complete_or_none() {
        let v = "00000000000000000010";
        let classic = format!("{v}.checkpoint.parquet");
        assert_eq!(
            checkpoint_files(10, [classic.as_str(), "x.json"]),
            Some(vec![classic.clone()])
        );
        let p1 = format!("{v}.checkpoint.0000000001.0000000002.parquet");
        let p2 = format!("{v}.checkpoint.0000000002.0000000002.parquet");
        assert_eq!(checkpoint_files(10, [p1.as_str()]), None);
        assert_eq!(
            checkpoint_files(10, [p2.as_str(), p1.as_str()]),
            Some(vec![p1.clone(), p2.clone()])
        );
        let uuid = format!("{v}.checkpoint.80a083e8-7026-4e79-81be-64bd76c43a11.json");
        assert_eq!(
            checkpoint_files(10, [uuid.as_str()]),
            Some(vec![uuid.clone()])
        );
        assert_eq!(checkpoint_files(11, [uuid.as_str()]), None);
        assert_eq!(checkpoint_version(&uuid), Some(10));
        assert_eq!(checkpoint_version("00000000000000000010.json"), None);
        assert_eq!(commit_version("00000000000000000010.json"), Some(10));
        assert_eq!(commit_version("10.json"), None);
    }

    #[test]
    fn the_last_meta_data_of_a_commit_wins() {
        let c = br#"{"commitInfo":{"x":1}}
{"metaData":{"id":"a","schemaString":"{\"type\":\"struct\",\"fields\":[]}","partitionColumns":[]}}

{"add":{"path":"p"}}
{"metaData":{"id":"a","schemaString":"s2","partitionColumns":["r"]}}
"#;
        let m = last_meta_data(c).unwrap().unwrap();
        assert_eq!(m.schema_string, "s2");
        assert_eq!(m.partition_columns, vec!["r"]);
        assert!(last_meta_data(b"{\"add\":{}}\n").unwrap().is_none());
        assert!(last_meta_data(b"{\"add\":\n").is_err());
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::table::{tree_size, FUZZ_TREE};

    /// A commit (or JSON checkpoint): its last metaData, then its schemaString as columns.
    #[test]
    fn delta_log() {
        let deep = format!(
            "{{\"metaData\":{{\"schemaString\":{},\"partitionColumns\":[]}}}}\n",
            serde_json::to_string(&format!(
                "{}\"long\"{}",
                r#"{"type":"struct","fields":[{"name":"s","type":"#.repeat(20),
                "}]}".repeat(20)
            ))
            .unwrap()
        );
        crate::fuzz::run("delta_log", vec![deep.into_bytes()], |b| {
            if let Ok(Some(m)) = last_meta_data(b) {
                if let Ok(cols) = columns(&m.schema_string, &m.partition_columns, FUZZ_TREE) {
                    let (depth, nodes) = tree_size(&cols);
                    assert!(depth <= FUZZ_TREE.max_depth + 1, "{depth}");
                    assert!(nodes <= FUZZ_TREE.max_nodes + 1, "{nodes}");
                }
            }
        });
    }
}
