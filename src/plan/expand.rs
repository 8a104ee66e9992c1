//! A structured glob expanded page by page (issue #12 point 4: a million keys in 64 MiB).
//!
//! Each listed key is folded into what planning keeps of it: per table root, the first key
//! (its format), the Hive columns seen, whether a file sits two folders deep, and the best
//! few sample candidates by [`sample_order`]; plus the keys that may be an open table's
//! marker or log. The answer is exactly [`expand_glob_listed`]'s, which holds every key;
//! when a table lies inside a root (a layout the fold cannot undo), the caller lists again
//! that way ([`Streamed::NeedsKeys`]).
//!
//! [`expand_glob_listed`]: super::expand_glob_listed

use super::listing::{fold_split, Fold, GLOB_PAGES_IN_FLIGHT};
use super::{
    choose_samples, glob, glob_partitioning, glob_root, glob_root_format, glob_table, sample_order,
    table_logs, Cx, Expanded, GlobMatch,
};
use crate::format::{Format, TableFormat};
use crate::manifest::Entry;
use crate::status::StepStatus;
use crate::store::ObjectMeta;
use crate::table;
use std::collections::HashMap;

/// What the streaming expansion gave.
pub(super) enum Streamed {
    /// The expanded entries (statuses recorded).
    Done(Vec<Expanded>),
    /// The listing failed (recorded as a failure).
    Failed,
    /// Nothing recorded: the keys must be held to answer exactly.
    NeedsKeys,
}

/// The rules every unit of the listing folds with.
struct Rules<'a> {
    rule: &'a GlobMatch,
    /// Lower-case `.ext` suffixes whose best candidates are kept apart: the entry's format,
    /// or every format an extension can name.
    suffixes: &'a [String],
    /// Samples wanted per container.
    n: usize,
    /// Hive columns and depth are needed.
    hive: bool,
}

/// One table root's keys, folded.
#[derive(Debug)]
struct RootFold {
    /// Its first matched key in key order.
    first: String,
    hive: glob::HiveFold,
    deep: bool,
    /// The folder of the last key whose Hive columns were taken.
    folder: String,
    /// The best `n` candidates ending in each of the rules' suffixes, then of any name.
    best: Vec<Vec<ObjectMeta>>,
}

/// Keeps the best `n` of `list` plus `o`.
fn keep_best(list: &mut Vec<ObjectMeta>, o: &ObjectMeta, n: usize) {
    if list.len() >= n {
        match list.last() {
            Some(worst) if sample_order(o, worst).is_lt() => {}
            _ => return,
        }
    }
    let at = list.partition_point(|x| sample_order(x, o).is_lt());
    list.insert(at, o.clone());
    list.truncate(n);
}

struct GlobFold<'a> {
    rules: &'a Rules<'a>,
    matched: usize,
    roots: HashMap<String, RootFold>,
    /// Matched keys at the bucket root (never a container; only a table could take them).
    at_top: bool,
    /// Keys with a `_delta_log`, `.hoodie` or `metadata` folder: every possible table
    /// marker and table log key.
    table_keys: Vec<ObjectMeta>,
}

impl<'a> GlobFold<'a> {
    fn new(rules: &'a Rules<'a>) -> GlobFold<'a> {
        GlobFold {
            rules,
            matched: 0,
            roots: HashMap::new(),
            at_top: false,
            table_keys: Vec::new(),
        }
    }
}

fn may_be_table_key(key: &str) -> bool {
    let mut segs = key.split('/');
    segs.next_back();
    segs.any(|s| matches!(s, "_delta_log" | ".hoodie" | "metadata"))
}

impl Fold for GlobFold<'_> {
    fn add(&mut self, o: ObjectMeta) {
        if may_be_table_key(&o.key) {
            self.table_keys.push(o.clone());
        }
        if !self.rules.rule.matches(&o) {
            return;
        }
        self.matched += 1;
        let root = glob::table_root_of(&o.key);
        if root.is_empty() {
            self.at_top = true;
            return;
        }
        let rules = self.rules;
        if !self.roots.contains_key(root) {
            self.roots.insert(
                root.to_string(),
                RootFold {
                    first: o.key.clone(),
                    hive: glob::HiveFold::default(),
                    deep: false,
                    folder: String::new(),
                    best: vec![Vec::new(); rules.suffixes.len() + 1],
                },
            );
        }
        let Some(r) = self.roots.get_mut(root) else {
            return;
        };
        if o.key < r.first {
            r.first = o.key.clone();
        }
        // The Hive columns and the depth depend on a key's folder only: once per folder
        // in a row (a page is mostly one folder).
        let folder = o.key.rfind('/').map_or("", |i| &o.key[..i]);
        if rules.hive && r.folder != folder {
            r.hive.add(root, &o.key);
            r.deep |= glob::folders_below(root, &o.key) >= 2;
            r.folder.clear();
            r.folder.push_str(folder);
        }
        for (i, suffix) in rules.suffixes.iter().enumerate() {
            if ends_with_ignore_case(&o.key, suffix) {
                keep_best(&mut r.best[i], &o, rules.n);
            }
        }
        if let Some(any) = r.best.last_mut() {
            keep_best(any, &o, rules.n);
        }
    }

    fn merge(&mut self, later: Self) {
        self.matched += later.matched;
        self.at_top |= later.at_top;
        self.table_keys.extend(later.table_keys);
        let n = self.rules.n;
        for (root, l) in later.roots {
            match self.roots.get_mut(&root) {
                None => {
                    self.roots.insert(root, l);
                }
                Some(r) => {
                    if l.first < r.first {
                        r.first = l.first;
                    }
                    r.hive.merge(l.hive);
                    r.deep |= l.deep;
                    for (mine, theirs) in r.best.iter_mut().zip(l.best) {
                        for o in &theirs {
                            keep_best(mine, o, n);
                        }
                    }
                }
            }
        }
    }
}

/// `key.to_ascii_lowercase().ends_with(lower_suffix)`, without the copy.
fn ends_with_ignore_case(key: &str, lower_suffix: &str) -> bool {
    key.len() >= lower_suffix.len()
        && key.as_bytes()[key.len() - lower_suffix.len()..]
            .eq_ignore_ascii_case(lower_suffix.as_bytes())
}

/// Expands a structured glob without holding its keys (see the module doc).
pub(super) async fn glob_streaming(cx: Cx<'_>, e: &Entry, st: &mut StepStatus) -> Streamed {
    let ctx = cx.ctx;
    let pattern = e.data_path.trim_start_matches('/').to_string();
    let scope = format!("{}/{}", ctx.bucket, pattern);
    let rule = GlobMatch::new(e, &pattern);
    let suffixes: Vec<String> = match &e.structure_format {
        Some(f) => vec![format!(".{}", f.as_str().to_ascii_lowercase())],
        None => {
            let mut v: Vec<String> = Format::ALL
                .iter()
                .filter_map(|f| f.file_format())
                .map(|f| format!(".{}", f.to_ascii_lowercase()))
                .collect();
            v.sort();
            v.dedup();
            v
        }
    };
    let rules = Rules {
        rule: &rule,
        suffixes: &suffixes,
        n: ctx.opts.sample_files,
        hive: e.partition_columns.is_none() && e.auto_partition_detection,
    };
    let prefix = glob::static_prefix(&pattern);
    let new = || GlobFold::new(&rules);
    let folded = match fold_split(
        ctx.store,
        ctx.bucket,
        &prefix,
        ctx.opts.glob_scan_limit,
        GLOB_PAGES_IN_FLIGHT,
        &new,
    )
    .await
    {
        Ok(f) => f,
        Err(err) => {
            // A failure, as in `expand_glob_listed`.
            st.fail(&scope, format!("glob expansion failed: {err}"));
            return Streamed::Failed;
        }
    };
    let mut fold = folded.fold;
    fold.table_keys
        .sort_by(|a, b| a.key.as_bytes().cmp(b.key.as_bytes()));
    let tables = table::roots(fold.table_keys.iter().map(|o| o.key.as_str()));
    // A table inside a root (or a file named like a table's root) splits that root's keys
    // in a way its fold cannot: hold the keys instead.
    let tangled = tables.keys().any(|t| {
        (fold.at_top && !t.contains('/'))
            || fold.roots.keys().any(|r| {
                t.strip_prefix(r.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
            })
    });
    if tangled {
        tracing::debug!(glob = %scope, "a table lies inside a glob's table root; listing again with every key held");
        return Streamed::NeedsKeys;
    }
    let mut roots: Vec<(String, RootFold)> = fold.roots.into_iter().collect();
    roots.sort_by(|a, b| a.1.first.as_bytes().cmp(b.1.first.as_bytes()));
    // The suffix a root's samples are ranked by must be one kept apart.
    for (root, r) in &roots {
        let format = match &e.structure_format {
            Some(f) => Some(f.as_str().to_string()),
            None => glob::format_from_extension(&r.first).map(str::to_string),
        };
        if let Some(f) = format {
            let s = format!(".{}", f.to_ascii_lowercase());
            if !suffixes.contains(&s) {
                tracing::debug!(root = %root, "unexpected sample suffix; listing again with every key held");
                return Streamed::NeedsKeys;
            }
        }
    }
    if folded.truncated {
        st.warn(
            &scope,
            format!(
                "glob expansion stopped after {} keys",
                ctx.opts.glob_scan_limit
            ),
        );
    }
    if fold.matched == 0 {
        st.warn(
            &scope,
            format!(
                "No files matched the glob {pattern} ({} key(s) listed under `{}`)",
                folded.listed, prefix
            ),
        );
        return Streamed::Done(vec![]);
    }
    let mut logs = table_logs(&fold.table_keys, &tables, folded.truncated);
    // Open tables, in the order of the first matched key inside each.
    let mut in_tables: Vec<(String, TableFormat, String)> = Vec::new();
    let mut plain = Vec::new();
    for (root, r) in roots {
        if let Some((t, f)) = table::containing(&tables, &root) {
            match in_tables.iter_mut().find(|(x, _, _)| x == t) {
                Some(entry) => {
                    if r.first < entry.2 {
                        entry.2 = r.first;
                    }
                }
                None => in_tables.push((t.to_string(), f, r.first)),
            }
        } else {
            plain.push((root, r));
        }
    }
    in_tables.sort_by(|a, b| a.2.as_bytes().cmp(b.2.as_bytes()));
    let mut out = Vec::new();
    for (root, format, _) in in_tables {
        let log = logs.remove(&root).flatten();
        out.push(glob_table(root, format, log));
    }
    for (root, r) in plain {
        let Some(format) = glob_root_format(ctx.bucket, e, &root, &r.first, st) else {
            continue;
        };
        let partitioning = glob_partitioning(e, || (r.hive.columns(), r.deep));
        let suffix = format!(".{}", format.as_str().to_ascii_lowercase());
        let mut candidates: Vec<ObjectMeta> = Vec::new();
        let mut best = r.best;
        let any = best.pop().unwrap_or_default();
        if let Some(i) = suffixes.iter().position(|s| *s == suffix) {
            candidates.extend(std::mem::take(&mut best[i]));
        }
        for o in any {
            if !candidates.iter().any(|c| c.key == o.key) {
                candidates.push(o);
            }
        }
        let samples = choose_samples(candidates, format.as_str(), ctx.opts.sample_files);
        out.push(glob_root(e, root, format, partitioning, samples));
    }
    Streamed::Done(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(key: String, size: u64, t: i64) -> ObjectMeta {
        ObjectMeta {
            key,
            size,
            last_modified: Some(t),
            storage_class: None,
            etag: None,
        }
    }

    fn entry(data_path: &str) -> Entry {
        Entry {
            auto_partition_detection: true,
            ..Entry::at(data_path)
        }
    }

    #[test]
    fn a_fold_keeps_a_few_candidates_and_chooses_what_the_whole_listing_chooses() {
        let e = entry("events/**/*");
        let rule = GlobMatch::new(&e, "events/**/*");
        let suffixes = vec![".csv".to_string(), ".json".to_string()];
        for n in [1, 3] {
            let rules = Rules {
                rule: &rule,
                suffixes: &suffixes,
                n,
                hive: true,
            };
            // 30,000 keys, dates and sizes scattered, some empty, some of another format,
            // folded in three parts of a shuffled order and merged.
            let keys: Vec<ObjectMeta> = (0..30_000u64)
                .map(|i| {
                    let ext = if i % 7 == 0 { "csv" } else { "json" };
                    let key = format!(
                        "events/year={}/day={:03}/p-{i:05}.{ext}",
                        2000 + i % 10,
                        i % 97
                    );
                    meta(key, (i * 31) % 5, ((i * 7919) % 1000) as i64)
                })
                .collect();
            let mut order: Vec<usize> = (0..keys.len()).collect();
            order.sort_by_key(|i| (i * 104_729) % keys.len());
            let mut parts: Vec<GlobFold> = (0..3).map(|_| GlobFold::new(&rules)).collect();
            for (j, i) in order.iter().enumerate() {
                parts[j % 3].add(keys[*i].clone());
            }
            let mut fold = GlobFold::new(&rules);
            for p in parts {
                fold.merge(p);
            }
            assert_eq!(fold.matched, 30_000);
            let r = &fold.roots["events"];
            // Bounded state: n candidates per kept suffix, n of any name.
            let kept: usize = r.best.iter().map(Vec::len).sum();
            assert!(kept <= n * (suffixes.len() + 1), "{kept} candidates kept");
            assert_eq!(r.first, "events/year=2000/day=000/p-00000.csv");
            let whole = choose_samples(keys.clone(), "json", n);
            let mut candidates = r.best[1].clone();
            candidates.extend(r.best[2].iter().cloned());
            candidates.sort_by(|a, b| a.key.cmp(&b.key));
            candidates.dedup_by(|a, b| a.key == b.key);
            assert_eq!(choose_samples(candidates, "json", n), whole);
            let cols = glob::hive_columns("events", keys.iter().map(|o| o.key.as_str()));
            assert_eq!(r.hive.columns(), cols);
            assert!(r.deep);
        }
    }
}
