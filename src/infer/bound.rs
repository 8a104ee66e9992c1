//! Bounded column trees: one limit on depth and one on the number of columns, whatever the
//! format, so that no file can make a container's columns (its catalog line, its request
//! body) grow without bound.
//!
//! Readers build at most one node and one level past the limits (so that [`cut`] can tell a
//! tree was cut and say so); [`cut`] then trims every tree to the limits and reports what it
//! removed, for a warning naming the file. Texts are bounded too: a column's `displayName`
//! (its full source name) and `description` are cut at [`MAX_TEXT`] characters.
//!
//! With the defaults (64 levels, 10,000 columns), a container's columns serialise to at most
//! about 10,000 × (256 + 2 × 1,024 + ~200) bytes ≈ 25 MB, and in practice a few KiB.

use crate::entity::Column;

/// Most characters kept of a column's `displayName` and of its `description`.
pub const MAX_TEXT: usize = 1024;

/// The limits on one file's column tree (`maxColumnDepth`, `maxColumns`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeLimits {
    /// Deepest level kept; top-level columns are level 1.
    pub max_depth: usize,
    /// Most columns kept, nested fields included.
    pub max_nodes: usize,
}

impl Default for TreeLimits {
    fn default() -> Self {
        TreeLimits {
            max_depth: 64,
            max_nodes: 10_000,
        }
    }
}

impl TreeLimits {
    /// A budget for a reader building one tree under these limits.
    pub fn budget(self) -> Budget {
        Budget {
            limits: self,
            nodes: 0,
        }
    }
}

/// What a reader may still build: it asks before each node and before each level, and
/// stops building once refused. It allows one node and one level past the limits, so that
/// [`cut`] sees the excess and warns.
#[derive(Debug, Clone)]
pub struct Budget {
    limits: TreeLimits,
    nodes: usize,
}

impl Budget {
    /// Takes one node; `false` when the tree already holds one more than the limit.
    pub fn take(&mut self) -> bool {
        if self.nodes > self.limits.max_nodes {
            return false;
        }
        self.nodes += 1;
        true
    }

    /// Whether the children of a node at `depth` (top level is 1) may be built.
    pub fn descend(&self, depth: usize) -> bool {
        depth <= self.limits.max_depth
    }

    /// Whether the budget refused (or is about to refuse) a node.
    pub fn exhausted(&self) -> bool {
        self.nodes > self.limits.max_nodes
    }
}

/// What [`cut`] removed from a tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cut {
    /// Nested fields dropped because they lie deeper than `maxColumnDepth`.
    pub too_deep: usize,
    /// Columns dropped because the tree already held `maxColumns`.
    pub too_many: usize,
    /// Names and descriptions shortened to [`MAX_TEXT`] characters.
    pub long_texts: usize,
}

impl Cut {
    /// One sentence for the run's warnings, about the file `what` names.
    pub fn describe(&self, what: &str, limits: TreeLimits) -> String {
        // No counts: a reader stops building one node past a limit, so what `cut` sees
        // past it is not what the file holds.
        let mut parts = vec![];
        if self.too_deep > 0 {
            parts.push(format!(
                "nested fields deeper than {} levels dropped (maxColumnDepth)",
                limits.max_depth
            ));
        }
        if self.too_many > 0 {
            parts.push(format!(
                "columns past the first {} dropped (maxColumns)",
                limits.max_nodes
            ));
        }
        if self.long_texts > 0 {
            parts.push(format!(
                "{} name(s) or description(s) cut at {MAX_TEXT} characters",
                self.long_texts
            ));
        }
        format!("the columns of {what} were cut: {}", parts.join("; "))
    }

    fn is_empty(&self) -> bool {
        *self == Cut::default()
    }
}

/// Trims `columns` to `limits`; `Some` says what was removed. Recursion goes no deeper
/// than `limits.max_depth`, and what is removed is dropped without recursion, so a tree of
/// any depth is safe here.
pub fn cut(columns: &mut Vec<Column>, limits: TreeLimits) -> Option<Cut> {
    let mut cut = Cut::default();
    let mut kept = 0;
    walk(columns, 1, limits, &mut kept, &mut cut);
    (!cut.is_empty()).then_some(cut)
}

fn walk(cols: &mut Vec<Column>, depth: usize, limits: TreeLimits, kept: &mut usize, cut: &mut Cut) {
    for i in 0..cols.len() {
        if *kept >= limits.max_nodes {
            let rest = cols.split_off(i);
            cut.too_many += drop_flat(rest);
            return;
        }
        *kept += 1;
        let c = &mut cols[i];
        cut.long_texts += usize::from(shorten(&mut c.display_name));
        cut.long_texts += usize::from(shorten(&mut c.description));
        let Some(children) = c.children.as_mut() else {
            continue;
        };
        if depth >= limits.max_depth {
            let removed = std::mem::take(children);
            cut.too_deep += drop_flat(removed);
            c.children = None;
        } else {
            walk(children, depth + 1, limits, kept, cut);
        }
    }
}

/// Drops a forest without recursion; returns how many nodes it held.
pub fn drop_flat(forest: Vec<Column>) -> usize {
    let mut n = 0;
    let mut stack = forest;
    while let Some(mut c) = stack.pop() {
        n += 1;
        if let Some(children) = c.children.take() {
            stack.extend(children);
        }
    }
    n
}

fn shorten(text: &mut Option<String>) -> bool {
    let Some(t) = text.as_mut() else { return false };
    match t.char_indices().nth(MAX_TEXT) {
        Some((at, _)) => {
            t.truncate(at);
            true
        }
        None => false,
    }
}

/// How deep a column tree is (top level is 1), for tests of the readers' bounds. Recursive:
/// only for trees the readers built, within the limits.
#[cfg(test)]
pub(crate) fn depth(cols: &[Column]) -> usize {
    cols.iter()
        .map(|c| 1 + c.children.as_deref().map_or(0, depth))
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(name: &str) -> Column {
        Column {
            name: name.into(),
            display_name: None,
            data_type: "INT".into(),
            array_data_type: None,
            data_length: None,
            precision: None,
            scale: None,
            data_type_display: None,
            description: None,
            children: None,
        }
    }

    fn nested(depth: usize) -> Column {
        let mut c = leaf("leaf");
        for i in 0..depth {
            let mut s = leaf(&format!("s{i}"));
            s.data_type = "STRUCT".into();
            s.children = Some(vec![c]);
            c = s;
        }
        c
    }

    #[test]
    fn a_tree_within_the_limits_is_untouched() {
        let mut cols = vec![nested(3), leaf("b")];
        let before = cols.clone();
        assert_eq!(cut(&mut cols, TreeLimits::default()), None);
        assert_eq!(cols, before);
    }

    #[test]
    fn a_deep_tree_is_cut_at_the_depth_limit() {
        let limits = TreeLimits {
            max_depth: 4,
            max_nodes: 100,
        };
        let mut cols = vec![nested(10)];
        let c = cut(&mut cols, limits).unwrap();
        assert_eq!(depth(&cols), 4);
        assert_eq!(c.too_deep, 7);
        assert_eq!(
            c.describe("s3://b/k", limits),
            "the columns of s3://b/k were cut: nested fields deeper than 4 levels dropped (maxColumnDepth)"
        );
    }

    #[test]
    fn a_wide_tree_keeps_the_first_columns() {
        let limits = TreeLimits {
            max_depth: 4,
            max_nodes: 5,
        };
        let mut cols: Vec<Column> = (0..3).map(|_| nested(2)).collect();
        let c = cut(&mut cols, limits).unwrap();
        // 3 + 2 nodes kept: the first tree whole, the second's struct and its child.
        let count = |cols: &[Column]| drop_flat(cols.to_vec());
        assert_eq!(count(&cols), 5);
        assert_eq!(cols.len(), 2);
        assert_eq!(c.too_many, 4);
    }

    #[test]
    fn long_names_and_descriptions_are_shortened() {
        let mut c = leaf("x");
        c.display_name = Some("é".repeat(5000));
        c.description = Some("d".repeat(MAX_TEXT));
        let mut cols = vec![c];
        let cut = cut(&mut cols, TreeLimits::default()).unwrap();
        assert_eq!(cut.long_texts, 1);
        assert_eq!(
            cols[0].display_name.as_ref().unwrap().chars().count(),
            MAX_TEXT
        );
    }

    #[test]
    fn a_tree_deeper_than_any_stack_is_dropped_without_recursion() {
        let limits = TreeLimits::default();
        let mut cols = vec![nested(200_000)];
        let c = cut(&mut cols, limits).unwrap();
        assert_eq!(depth(&cols), 64);
        assert_eq!(c.too_deep, 200_001 - 64);
        drop_flat(cols);
    }

    #[test]
    fn the_budget_allows_one_past_the_limits() {
        let mut b = TreeLimits {
            max_depth: 2,
            max_nodes: 2,
        }
        .budget();
        assert!(b.take() && b.take() && b.take());
        assert!(!b.take());
        assert!(b.exhausted());
        assert!(b.descend(2) && !b.descend(3));
    }
}
