//! Partition folders: which folders of a key are partitions of the dataset above them, and
//! the partition columns their values imply.
//!
//! Three shapes are recognised: Hive `key=value` folders (`dt=2026-11-30`, `partition=3`),
//! a bare date (`2026-11-30`, `20261130`), and a run of date parts (`2026/11/30[/05]`, a
//! 4-digit year followed by 2-digit month, day and hour folders, as Firehose and many
//! loggers write them). Only folder names are read: no object is opened.

use crate::plan::glob;
use regex::Regex;
use std::sync::LazyLock;

static HIVE: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // literal pattern
    Regex::new(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$").unwrap()
});
static BARE_DATE: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // literal pattern
    Regex::new(r"^(\d{4}-\d{2}-\d{2}|\d{8})(T\d{6}Z?)?$").unwrap()
});

/// The names given to the parts of an unnamed date run (`2026/11/30/05`).
const DATE_PARTS: [&str; 4] = ["year", "month", "day", "hour"];

/// One partition level of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    /// The column name: the Hive key, `date` for a bare date, `year`/`month`/`day`/`hour`
    /// for a date run.
    pub name: String,
    /// The folder's value.
    pub value: String,
}

fn is_year(s: &str) -> bool {
    s.len() == 4 && s.parse::<u32>().is_ok_and(|y| (1970..=2199).contains(&y))
}

fn is_two_digits(s: &str, max: u32) -> bool {
    s.len() == 2 && s.parse::<u32>().is_ok_and(|v| v <= max)
}

/// Where the partition folders of `folders` start, and the levels from there on. `None`
/// when no folder is a partition. Folders after the first partition that are not partitions
/// themselves (a `data/` inside `dt=…/`) end the levels; they stay in the dataset.
pub fn split(folders: &[&str]) -> Option<(usize, Vec<Level>)> {
    let start = (0..folders.len()).find(|&i| starts_here(&folders[i..]))?;
    let mut levels = Vec::new();
    let mut i = start;
    while i < folders.len() {
        let s = folders[i];
        if let Some(c) = HIVE.captures(s) {
            levels.push(Level {
                name: c[1].to_string(),
                value: c[2].to_string(),
            });
            i += 1;
        } else if BARE_DATE.is_match(s) {
            levels.push(Level {
                name: "date".into(),
                value: s.to_string(),
            });
            i += 1;
        } else if is_year(s) {
            let n = date_run(&folders[i..]);
            if n == 0 {
                break;
            }
            for (k, v) in folders[i..i + n].iter().enumerate() {
                levels.push(Level {
                    name: DATE_PARTS[k].to_string(),
                    value: v.to_string(),
                });
            }
            i += n;
        } else {
            break;
        }
    }
    Some((start, levels))
}

/// How many folders a date run starting at `f[0]` spans: a year and a month at least.
fn date_run(f: &[&str]) -> usize {
    if f.len() < 2 || !is_year(f[0]) || !is_two_digits(f[1], 12) {
        return 0;
    }
    let mut n = 2;
    if f.len() > 2 && is_two_digits(f[2], 31) {
        n = 3;
        if f.len() > 3 && is_two_digits(f[3], 23) {
            n = 4;
        }
    }
    n
}

fn starts_here(f: &[&str]) -> bool {
    HIVE.is_match(f[0]) || BARE_DATE.is_match(f[0]) || date_run(f) > 0
}

/// The columns of a dataset's partitions: only when every file sits under the same
/// ordered levels (otherwise the dataset is still partitioned, but columns cannot be
/// named). Types follow `plan::glob::hive_columns`: all integers → INT, all `YYYY-MM-DD`
/// → DATE, otherwise VARCHAR.
pub fn columns(per_file: &[Vec<Level>]) -> Vec<(String, &'static str)> {
    let Some(first) = per_file.first() else {
        return vec![];
    };
    let names: Vec<&str> = first.iter().map(|l| l.name.as_str()).collect();
    if names.is_empty()
        || per_file
            .iter()
            .any(|f| f.len() != names.len() || f.iter().zip(&names).any(|(l, n)| l.name != *n))
    {
        return vec![];
    }
    // Repeated names (two `date` levels) cannot be two columns.
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != names.len() {
        return vec![];
    }
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            // The same typing as the glob planner's Hive columns, on synthetic keys.
            let keys: Vec<String> = per_file
                .iter()
                .map(|f| format!("r/{n}={}/x", f[i].value))
                .collect();
            let t = glob::hive_columns("r", keys.iter().map(String::as_str))
                .first()
                .map(|c| type_name(&c.data_type))
                .unwrap_or("VARCHAR");
            (n.to_string(), t)
        })
        .collect()
}

fn type_name(t: &str) -> &'static str {
    match t {
        "INT" => "INT",
        "DATE" => "DATE",
        _ => "VARCHAR",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(f: &[&str]) -> Option<(usize, Vec<String>)> {
        split(f).map(|(s, l)| (s, l.into_iter().map(|l| l.name).collect()))
    }

    #[test]
    fn hive_folders() {
        assert_eq!(
            names(&["sales", "year=2024", "month=01"]),
            Some((1, vec!["year".into(), "month".into()]))
        );
        assert_eq!(names(&["t", "dt=2026-11-30"]), Some((1, vec!["dt".into()])));
    }

    #[test]
    fn date_runs_and_bare_dates() {
        assert_eq!(
            names(&["logs", "2026", "11", "30", "05"]),
            Some((
                1,
                vec!["year".into(), "month".into(), "day".into(), "hour".into()]
            ))
        );
        assert_eq!(
            names(&["logs", "2026", "11"]),
            Some((1, vec!["year".into(), "month".into()]))
        );
        assert_eq!(
            names(&["logs", "2026-11-30"]),
            Some((1, vec!["date".into()]))
        );
        assert_eq!(names(&["logs", "20261130"]), Some((1, vec!["date".into()])));
    }

    #[test]
    fn plain_numbers_are_not_dates() {
        assert_eq!(names(&["v", "2026"]), None);
        assert_eq!(names(&["v", "2026", "13"]), None);
        assert_eq!(names(&["models", "1234", "05"]), None);
        assert_eq!(names(&["a", "b"]), None);
    }

    #[test]
    fn a_plain_folder_ends_the_levels() {
        assert_eq!(
            names(&["t", "dt=1", "data", "x=2"]),
            Some((1, vec!["dt".into()]))
        );
    }

    #[test]
    fn columns_need_the_same_levels_everywhere() {
        let a = split(&["t", "year=2024", "day=2024-01-02"])
            .map(|x| x.1)
            .unwrap_or_default();
        let b = split(&["t", "year=2023", "day=2023-05-06"])
            .map(|x| x.1)
            .unwrap_or_default();
        assert_eq!(
            columns(&[a.clone(), b]),
            vec![("year".to_string(), "INT"), ("day".to_string(), "DATE")]
        );
        let c = split(&["t", "month=1"]).map(|x| x.1).unwrap_or_default();
        assert!(columns(&[a, c]).is_empty());
        let d = split(&["t", "region=eu"]).map(|x| x.1).unwrap_or_default();
        assert_eq!(columns(&[d]), vec![("region".to_string(), "VARCHAR")]);
    }
}
