//! Glob `dataPath` expansion rules (reference §5.7): glob → regex, the static listing prefix,
//! table roots, Hive partition columns, and the format guessed from a file's extension.

use crate::entity::Column;
use crate::format::Format;
use regex::Regex;
use std::sync::LazyLock;

/// True when `data_path` is a glob (`*` or `?`; `[...]` is literal).
pub fn is_glob(data_path: &str) -> bool {
    data_path.contains('*') || data_path.contains('?')
}

/// The leading segments without wildcards, plus `/` when the pattern continues:
/// `data/*/events/*.parquet` → `data/`, `*/x.csv` → ``.
pub fn static_prefix(pattern: &str) -> String {
    let segs: Vec<&str> = pattern.split('/').collect();
    let fixed: Vec<&str> = segs.iter().take_while(|s| !is_glob(s)).copied().collect();
    if fixed.len() == segs.len() {
        return pattern.to_string();
    }
    if fixed.is_empty() {
        String::new()
    } else {
        format!("{}/", fixed.join("/"))
    }
}

/// The anchored regex of a glob: `*` → `[^/]*`, `?` → `[^/]`, `/**/` → `/` or `/any/path/`,
/// a leading `**/` → empty or `any/path/`, a trailing `/**` → empty or `/any/path`, any other
/// `**` → `.*`; everything else literal.
pub fn glob_regex(pattern: &str) -> Regex {
    let mut out = String::from("^");
    let mut rest = pattern;
    let mut at_start = true;
    while !rest.is_empty() {
        if rest.starts_with("/**/") {
            out.push_str("(?:/|/.*/)");
            rest = &rest[4..];
        } else if at_start && rest.starts_with("**/") {
            out.push_str("(?:|.*/)");
            rest = &rest[3..];
        } else if rest == "/**" {
            out.push_str("(?:|/.*)");
            rest = "";
        } else if rest.starts_with("**") {
            out.push_str(".*");
            rest = &rest[2..];
        } else {
            let c = rest.chars().next().unwrap_or_default();
            match c {
                '*' => out.push_str("[^/]*"),
                '?' => out.push_str("[^/]"),
                _ => out.push_str(&regex::escape(&c.to_string())),
            }
            rest = &rest[c.len_utf8()..];
        }
        at_start = false;
    }
    out.push('$');
    // Every piece above is escaped or a fixed fragment, so the pattern always compiles.
    #[allow(clippy::unwrap_used)]
    Regex::new(&out).unwrap()
}

static HIVE: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // literal pattern
    Regex::new(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$").unwrap()
});
static DATE_LIKE: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // literal pattern
    Regex::new(r"^(\d{4}-\d{2}-\d{2}|\d{8})(T\d{6}Z?)?$|^\d{8,}$").unwrap()
});
static ISO_DATE: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // literal pattern
    Regex::new(r"^\d{4}-\d{2}-\d{2}$").unwrap()
});

/// A folder name that looks like a partition: `k=v`, a date, or 8+ digits.
pub fn is_partition_segment(seg: &str) -> bool {
    HIVE.is_match(seg) || DATE_LIKE.is_match(seg)
}

/// The table root of a key: its folders before the first partition-like segment (all its
/// folders when there is none). Empty for a key at the bucket root.
pub fn table_root(key: &str) -> String {
    table_root_of(key).to_string()
}

/// [`table_root`] as a slice of the key (no allocation: it runs once per listed key).
pub fn table_root_of(key: &str) -> &str {
    let mut end = 0;
    let mut start = 0;
    // Every segment but the last (the file name) is a folder.
    while let Some(i) = key[start..].find('/') {
        let seg = &key[start..start + i];
        if is_partition_segment(seg) {
            break;
        }
        end = start + i;
        start += i + 1;
    }
    &key[..end]
}

/// Hive partition columns shared by every key under `root`: only when each key has the same
/// ordered `k=v` folders and none sits flat under the root. Types: all integers → INT, all
/// `YYYY-MM-DD` → DATE, otherwise VARCHAR.
pub fn hive_columns<'a>(root: &str, keys: impl IntoIterator<Item = &'a str>) -> Vec<Column> {
    let mut hive = HiveFold::default();
    for key in keys {
        hive.add(root, key);
    }
    hive.columns()
}

/// [`hive_columns`] one key at a time: what the keys seen so far say about the partition
/// columns, in constant memory per column, and mergeable (the answer does not depend on
/// the order keys arrive in).
#[derive(Debug, Clone, Default)]
pub struct HiveFold {
    /// A key without `k=v` folders, or with other names, was seen: no columns.
    mixed: bool,
    /// The column names and, per column, whether every value so far is an integer and
    /// whether every value is an ISO date.
    names: Option<Vec<(String, bool, bool)>>,
}

impl HiveFold {
    /// Takes one key under `root`.
    pub fn add(&mut self, root: &str, key: &str) {
        if self.mixed {
            return;
        }
        let rel = key
            .strip_prefix(root)
            .unwrap_or(key)
            .trim_start_matches('/');
        let segs: Vec<&str> = rel.split('/').collect();
        let folders = &segs[..segs.len().saturating_sub(1)];
        let kv: Vec<(&str, &str)> = folders
            .iter()
            .filter_map(|s| {
                HIVE.captures(s)
                    .and_then(|c| Some((c.get(1)?.as_str(), c.get(2).map_or("", |m| m.as_str()))))
            })
            .collect();
        if kv.is_empty() {
            self.mixed = true;
            return;
        }
        let names = self.names.get_or_insert_with(|| {
            kv.iter()
                .map(|(k, _)| (k.to_string(), true, true))
                .collect()
        });
        if names.len() != kv.len() || names.iter().zip(&kv).any(|(n, (k, _))| n.0 != *k) {
            self.mixed = true;
            return;
        }
        for (n, (_, v)) in names.iter_mut().zip(kv) {
            n.1 &= !v.is_empty() && v.parse::<i64>().is_ok();
            n.2 &= ISO_DATE.is_match(v);
        }
    }

    /// Takes everything `other` saw.
    pub fn merge(&mut self, other: HiveFold) {
        if self.mixed || other.mixed {
            self.mixed = true;
            return;
        }
        match (&mut self.names, other.names) {
            (_, None) => {}
            (None, Some(o)) => self.names = Some(o),
            (Some(n), Some(o)) => {
                if n.len() != o.len() || n.iter().zip(&o).any(|(a, b)| a.0 != b.0) {
                    self.mixed = true;
                } else {
                    for (a, b) in n.iter_mut().zip(o) {
                        a.1 &= b.1;
                        a.2 &= b.2;
                    }
                }
            }
        }
    }

    /// The typed columns, none when the keys disagree (or there were none).
    pub fn columns(&self) -> Vec<Column> {
        if self.mixed {
            return vec![];
        }
        let Some(names) = &self.names else {
            return vec![];
        };
        names
            .iter()
            .map(|(name, int, date)| {
                let t = if *int {
                    "INT"
                } else if *date {
                    "DATE"
                } else {
                    "VARCHAR"
                };
                let mut c = Column::new(name, t);
                c.data_type_display = Some(t.to_string());
                c
            })
            .collect()
    }
}

/// How many folders below `root` a key sits.
pub fn folders_below(root: &str, key: &str) -> usize {
    let rel = key
        .strip_prefix(root)
        .unwrap_or(key)
        .trim_start_matches('/');
    rel.split('/').count().saturating_sub(1)
}

/// The `structureFormat` implied by a file name, through `.gz`/`.zip`/`.snappy` suffixes:
/// the `FileFormat` value of the format its extension names, so that a table of `.jsonl`
/// files is `json`. Archives are not tables: none for them.
pub fn format_from_extension(key: &str) -> Option<&'static str> {
    let name = key.rsplit('/').next().unwrap_or(key).to_ascii_lowercase();
    let mut stem = name.as_str();
    for suffix in [".gz", ".zip", ".snappy"] {
        if let Some(s) = stem.strip_suffix(suffix) {
            stem = s;
            break;
        }
    }
    Format::from_extension(stem)
        .filter(|f| !f.is_archive())?
        .file_format()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_prefix_stops_at_the_first_wildcard() {
        assert_eq!(static_prefix("data/*/events/*.parquet"), "data/");
        assert_eq!(static_prefix("*/x.csv"), "");
        assert_eq!(static_prefix("lake/**/*.parquet"), "lake/");
        assert_eq!(static_prefix("a/b/c?.csv"), "a/b/");
    }

    #[test]
    fn glob_regex_follows_the_reference_rules() {
        let r = glob_regex("lake/**/*.parquet");
        assert!(r.is_match("lake/a.parquet"));
        assert!(r.is_match("lake/events/year=2024/a.parquet"));
        assert!(!r.is_match("lake/a.parquet.crc"));
        assert!(!r.is_match("lakes/a.parquet"));
        let r = glob_regex("exports/*/daily/*.csv");
        assert!(r.is_match("exports/x/daily/1.csv"));
        assert!(!r.is_match("exports/x/y/daily/1.csv"));
        let r = glob_regex("**/*.json");
        assert!(r.is_match("a.json"));
        assert!(r.is_match("a/b/c.json"));
        let r = glob_regex("logs/**");
        assert!(r.is_match("logs"));
        assert!(r.is_match("logs/a/b"));
        let r = glob_regex("a?c/[x].csv");
        assert!(r.is_match("abc/[x].csv"));
        assert!(!r.is_match("abc/x.csv"));
        let r = glob_regex("a/**b");
        assert!(r.is_match("a/x/yb"));
    }

    #[test]
    fn table_root_is_the_folder_before_partitions() {
        assert_eq!(
            table_root("lake/events/year=2024/month=01/a.parquet"),
            "lake/events"
        );
        assert_eq!(table_root("lake/users/a.parquet"), "lake/users");
        assert_eq!(table_root("logs/2024-01-02/a.json"), "logs");
        assert_eq!(table_root("logs/20240102T101010Z/a.json"), "logs");
        assert_eq!(table_root("a.parquet"), "");
        assert_eq!(table_root("a/b/c/d.csv"), "a/b/c");
        assert_eq!(table_root("year=1/a.csv"), "");
        assert_eq!(table_root("t/x=1/y/a.csv"), "t");
        assert_eq!(table_root("a//b.csv"), "a/");
    }

    #[test]
    fn hive_columns_are_typed() {
        let keys = [
            "t/year=2024/day=2024-01-02/r=eu/a.parquet",
            "t/year=2023/day=2023-05-06/r=us/b.parquet",
        ];
        let cols = hive_columns("t", keys);
        let got: Vec<(&str, &str)> = cols
            .iter()
            .map(|c| (c.name.as_str(), c.data_type.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![("year", "INT"), ("day", "DATE"), ("r", "VARCHAR")]
        );
        assert_eq!(cols[0].data_type_display.as_deref(), Some("INT"));
        assert!(cols[0].display_name.is_none());
    }

    #[test]
    fn hive_columns_need_the_same_run_everywhere() {
        assert!(hive_columns("t", ["t/year=1/a.parquet", "t/b.parquet"]).is_empty());
        assert!(hive_columns("t", ["t/year=1/a.parquet", "t/month=1/b.parquet"]).is_empty());
    }

    #[test]
    fn hive_fold_merges_in_any_order() {
        let keys = [
            "t/year=2024/day=2024-01-02/a.parquet",
            "t/year=2023/day=x/b.parquet",
            "t/year=2022/day=2023-05-06/c.parquet",
        ];
        let whole = hive_columns("t", keys);
        let mut a = HiveFold::default();
        a.add("t", keys[2]);
        let mut b = HiveFold::default();
        b.add("t", keys[0]);
        b.add("t", keys[1]);
        a.merge(b);
        assert_eq!(a.columns(), whole);
        assert_eq!(whole[1].data_type, "VARCHAR");
        let mut flat = HiveFold::default();
        flat.add("t", "t/a.parquet");
        a.merge(flat);
        assert!(a.columns().is_empty());
    }

    #[test]
    fn formats_from_extensions() {
        assert_eq!(format_from_extension("a/b.parquet"), Some("parquet"));
        assert_eq!(format_from_extension("a/b.snappy.parquet"), Some("parquet"));
        assert_eq!(format_from_extension("a/b.parquet.snappy"), Some("parquet"));
        assert_eq!(format_from_extension("a/b.csv.gz"), Some("csv"));
        assert_eq!(format_from_extension("a/b.jsonl"), Some("json"));
        assert_eq!(format_from_extension("a/b.PQT"), Some("parquet"));
        assert_eq!(format_from_extension("a/b.tsv.zip"), Some("tsv"));
        assert_eq!(format_from_extension("a/b.jsonl.gz"), Some("json"));
        assert_eq!(format_from_extension("a/b.avro"), Some("avro"));
        assert_eq!(format_from_extension("a/b.txt"), None);
        assert_eq!(format_from_extension("a/b.tar.gz"), None);
        assert_eq!(format_from_extension("a/b.tgz"), None);
        assert_eq!(format_from_extension("a/b.zip"), None);
        assert_eq!(format_from_extension("a/csv.gz"), None);
        assert_eq!(format_from_extension("a/b.mf4"), None);
    }
}
