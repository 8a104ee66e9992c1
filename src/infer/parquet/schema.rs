//! The footer's schema, measured before parquet-rs sees it, and the smaller footers handed
//! to parquet-rs instead of a hostile or broken one.
//!
//! parquet-rs builds its schema tree by recursion (one stack frame per level) and holds
//! every element of a wide schema several times over; a footer of a few kilobytes can
//! therefore abort the process (10,000 levels) or take gigabytes (1,000,000 columns). Here
//! the `FileMetaData` is scanned with the [`super::thrift`] reader, the flattened schema
//! list (field 2: `SchemaElement`s in depth-first order, each group giving its
//! `num_children`) is walked without recursion, and when the tree is larger than the
//! limits allow, a footer holding a trimmed but valid schema is written in its place.
//!
//! The element limits are three times the column limits (plus one), because a parquet
//! element is not always a column: a list of scalars takes three elements for one column,
//! and a list of structs three levels for one. So a schema whose columns fit the limits is
//! never trimmed here (its footer goes to parquet-rs unchanged), and what is trimmed would
//! have been cut by [`crate::infer::bound::cut`] anyway:
//! - **too deep**: a group at the depth limit loses its children and becomes a `BYTE_ARRAY`
//!   leaf (so the schema stays valid and the column keeps its path). It lies at least
//!   `maxColumnDepth + 1` column levels down, so `cut` drops it and warns; only inside a
//!   list of lists, which has no column children to show, is it invisible.
//! - **too many**: elements past the budget are dropped in schema order; a plain group
//!   keeps the children that fit, a LIST or MAP group that lost a child is dropped whole
//!   (its layout would be invalid), and a group left without children is dropped.
//!
//! Trimming also drops the row groups, the column orders and the key-value metadata (they
//! describe every leaf of the original schema), as does the schema-only footer written when
//! parquet-rs refuses a footer for some other part of it.

use super::thrift::{ty, FieldAt, Reader, ThriftError, Writer};
use crate::infer::bound::TreeLimits;
use std::ops::Range;

/// Why the schema cannot be measured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParquetSchemaError {
    /// The compact encoding is broken.
    #[error(transparent)]
    Thrift(#[from] ThriftError),
    /// `FileMetaData` has no schema.
    #[error("the footer has no schema")]
    NoSchema,
    /// The root element carries a converted or logical type (a LIST or MAP root).
    #[error("the schema's root carries a type annotation")]
    AnnotatedRoot,
    /// Elements follow the root's tree: the schema has more than one root.
    #[error("schema element {index} lies outside the root's tree")]
    Trailing {
        /// The first such element's position in the list.
        index: u64,
    },
    /// A MAP (or MAP_KEY_VALUE) group whose child is a leaf: parquet-rs's Arrow conversion
    /// would panic on it (it asks the leaf for its fields), and refuses every other shape
    /// of such a map anyway.
    #[error("schema element {index}, the entry of a map, is not a group")]
    MapEntryNotGroup {
        /// The leaf's position in the list.
        index: u64,
    },
    /// A group claims more children than the schema has elements (or a negative count).
    #[error("schema element {index} claims {claimed} children, more than the schema holds")]
    Children {
        /// The element's position in the list.
        index: u64,
        /// Its `num_children`.
        claimed: i64,
    },
}

/// The top-level fields of a `FileMetaData`.
#[derive(Debug)]
pub(super) struct FileMeta {
    /// Fields 1 to 9 (the last of each), by number.
    fields: [Option<FieldAt>; 10],
}

impl FileMeta {
    /// Scans the footer's top-level struct.
    pub(super) fn scan(footer: &[u8]) -> Result<FileMeta, ThriftError> {
        let mut r = Reader::new(footer);
        let mut fields: [Option<FieldAt>; 10] = Default::default();
        let mut last = 0;
        while let Some(f) = r.field_at(last)? {
            last = f.id;
            if let Some(slot) = usize::try_from(f.id).ok().and_then(|i| fields.get_mut(i)) {
                *slot = Some(f);
            }
        }
        Ok(FileMeta { fields })
    }

    fn get(&self, id: usize, t: u8) -> Option<&FieldAt> {
        self.fields
            .get(id)
            .and_then(Option::as_ref)
            .filter(|f| f.ty == t)
    }
}

/// One schema element kept, and what the walk learned about it.
#[derive(Debug, Clone)]
struct Element {
    span: Range<usize>,
    /// Index of the parent in the kept list (the root is its own parent).
    parent: usize,
    /// `num_children` as written.
    declared: u64,
    /// Children kept by the walk.
    kept: u64,
    /// A LIST or MAP (or any annotated) group, whose children are its layout.
    annotated: bool,
    /// A MAP or MAP_KEY_VALUE group (converted or logical type).
    map: bool,
    /// A group at the depth limit, written as a leaf.
    leaf_at_limit: bool,
}

/// What the walk of the schema found.
#[derive(Debug)]
pub(super) struct Measured {
    /// Elements in the schema.
    pub(super) elements: u64,
    /// Deepest level (top-level columns are 1).
    pub(super) depth: u64,
    /// Elements dropped or cut.
    pub(super) trimmed: u64,
    kept: Vec<Element>,
}

/// The element limits for column limits (see the module doc).
pub(super) fn element_limits(tree: TreeLimits) -> (u64, u64) {
    let depth = 3 * (tree.max_depth as u64 + 1);
    let nodes = 3 * (tree.max_nodes as u64 + 1) + 1;
    (depth, nodes)
}

/// Walks the schema list of `meta` (within `footer`) without recursion, keeping the
/// elements that fit the limits.
pub(super) fn measure(
    footer: &[u8],
    meta: &FileMeta,
    tree: TreeLimits,
) -> Result<Measured, ParquetSchemaError> {
    let (max_depth, max_nodes) = element_limits(tree);
    let list = meta.get(2, ty::LIST).ok_or(ParquetSchemaError::NoSchema)?;
    let mut r = Reader::at(footer, list.value.clone());
    let (n, et) = r.list()?;
    if et != ty::STRUCT {
        return Err(ThriftError::FieldType {
            field: 2,
            ty: et,
            expected: ty::STRUCT,
        }
        .into());
    }
    let mut m = Measured {
        elements: n,
        depth: 0,
        trimmed: 0,
        kept: Vec::new(),
    };
    // Open groups on the kept path: (kept index, children still to come).
    let mut open: Vec<(usize, u64)> = Vec::new();
    // Elements still to come in subtrees being dropped.
    let mut dropping: u64 = 0;
    for i in 0..n {
        let start = r.pos();
        let Kind {
            children,
            annotated,
            map,
        } = element(&mut r)?;
        let span = start..r.pos();
        let children = u64::try_from(children).map_err(|_| ParquetSchemaError::Children {
            index: i,
            claimed: i64::from(children),
        })?;
        // No group may claim more children than elements remain: parquet-rs reserves
        // room for them before it looks.
        if children > n - i - 1 {
            return Err(ParquetSchemaError::Children {
                index: i,
                claimed: children as i64,
            });
        }
        if i == 0 {
            // parquet-rs takes an annotated root for a LIST or MAP and asks for its
            // repetition, which a root has not: a panic.
            if annotated {
                return Err(ParquetSchemaError::AnnotatedRoot);
            }
            m.kept.push(Element {
                span,
                parent: 0,
                declared: children,
                kept: 0,
                annotated,
                map,
                leaf_at_limit: false,
            });
            open.push((0, children));
            continue;
        }
        if dropping > 0 {
            dropping = dropping - 1 + children;
            m.trimmed += 1;
            continue;
        }
        while open.last().is_some_and(|&(_, left)| left == 0) {
            open.pop();
        }
        let Some((parent, left)) = open.last_mut() else {
            // Elements past the root's tree. parquet-rs would refuse them, but only after
            // building them as more roots, by recursion: refused here.
            return Err(ParquetSchemaError::Trailing { index: i });
        };
        *left -= 1;
        let parent = *parent;
        if children == 0 && m.kept[parent].map {
            return Err(ParquetSchemaError::MapEntryNotGroup { index: i });
        }
        let depth = open.len() as u64;
        m.depth = m.depth.max(depth);
        if m.kept.len() as u64 >= max_nodes {
            dropping = children;
            m.trimmed += 1;
            continue;
        }
        let idx = m.kept.len();
        m.kept[parent].kept += 1;
        let at_limit = children > 0 && depth >= max_depth;
        m.kept.push(Element {
            span,
            parent,
            declared: children,
            kept: 0,
            annotated,
            map,
            leaf_at_limit: at_limit,
        });
        if at_limit {
            dropping = children;
        } else if children > 0 {
            open.push((idx, children));
        }
    }
    if dropping > 0 || open.iter().any(|&(_, left)| left > 0) {
        return Err(ParquetSchemaError::Children {
            index: n,
            claimed: (dropping + open.iter().map(|o| o.1).sum::<u64>()) as i64,
        });
    }
    if m.kept.iter().any(|e| e.leaf_at_limit) {
        m.depth = m.depth.max(max_depth + 1);
    }
    Ok(m)
}

/// What the walk needs of one `SchemaElement`.
struct Kind {
    /// `num_children` (0 when absent: a leaf, as parquet-rs reads it).
    children: i32,
    /// It carries a converted or logical type.
    annotated: bool,
    /// That type is MAP or MAP_KEY_VALUE.
    map: bool,
}

/// Reads one `SchemaElement`.
fn element(r: &mut Reader<'_>) -> Result<Kind, ThriftError> {
    // ConvertedType MAP and MAP_KEY_VALUE; the MAP member of the LogicalType union.
    const MAP: i32 = 1;
    const MAP_KEY_VALUE: i32 = 2;
    const LOGICAL_MAP: i16 = 2;
    let mut k = Kind {
        children: 0,
        annotated: false,
        map: false,
    };
    let mut last = 0;
    while let Some((id, t)) = r.field(last)? {
        last = id;
        match (id, t) {
            // parquet-rs reads these two as zigzag varints whatever the header's integer
            // type says (a fuzzed I16 header made a map it saw but this walk did not):
            // read them the same way, and refuse a type it would read differently.
            (5, ty::I16 | ty::I32 | ty::I64) => k.children = r.i32()?,
            (6, ty::I16 | ty::I32 | ty::I64) => {
                k.annotated = true;
                k.map |= matches!(r.i32()?, MAP | MAP_KEY_VALUE);
            }
            (5 | 6, _) => {
                return Err(ThriftError::FieldType {
                    field: id,
                    ty: t,
                    expected: ty::I32,
                })
            }
            (10, ty::STRUCT) => {
                // A union: one field, whose id says the type.
                k.annotated = true;
                let mut inner = 0;
                while let Some((id, t)) = r.field(inner)? {
                    inner = id;
                    k.map |= id == LOGICAL_MAP;
                    r.skip_field(t)?;
                }
            }
            (10, _) => {
                return Err(ThriftError::FieldType {
                    field: id,
                    ty: t,
                    expected: ty::STRUCT,
                })
            }
            _ => r.skip_field(t)?,
        }
    }
    Ok(k)
}

impl Measured {
    /// Whether the walk kept less than the schema holds.
    pub(super) fn is_trimmed(&self) -> bool {
        self.trimmed > 0 || self.kept.iter().any(|e| e.leaf_at_limit)
    }
}

/// What goes into a footer written here besides the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Keep {
    /// Version, schema, `num_rows` 0 and no row groups.
    SchemaOnly,
    /// The same and the key-value metadata (which carries the Arrow schema).
    WithKeyValues,
}

/// A footer holding `m`'s kept schema (trimmed: see the module doc) and what `keep` says.
pub(super) fn write_footer(footer: &[u8], meta: &FileMeta, m: &Measured, keep: Keep) -> Vec<u8> {
    let kept = &m.kept;
    // Which kept elements survive, children before parents (a subtree follows its root in
    // the list), and how many children each writes.
    let mut live = vec![false; kept.len()];
    let mut live_children = vec![0u64; kept.len()];
    for j in (0..kept.len()).rev() {
        let e = &kept[j];
        let alive = if j == 0 || e.leaf_at_limit || e.declared == 0 {
            true
        } else {
            let n = live_children[j];
            n > 0 && (n == e.declared || !e.annotated)
        };
        live[j] = alive;
        if alive && j > 0 {
            live_children[e.parent] += 1;
        }
    }
    let mut w = Writer::default();
    w.begin();
    w.field(1, ty::I32);
    match meta.get(1, ty::I32) {
        Some(v) => w.raw(&footer[v.value.clone()]),
        None => w.i32(1),
    }
    // Written in list order: an element is written when it and all its ancestors are.
    let mut written = vec![false; kept.len()];
    let count = (0..kept.len())
        .filter(|&j| live[j] && (j == 0 || written_parent(kept, &live, j)))
        .count();
    w.field(2, ty::LIST);
    w.list(count, ty::STRUCT);
    for j in 0..kept.len() {
        let e = &kept[j];
        if !live[j] || (j > 0 && !written[e.parent]) {
            continue;
        }
        written[j] = true;
        write_element(&mut w, footer, e, live_children[j]);
    }
    w.field(3, ty::I64);
    w.i64(0);
    w.field(4, ty::LIST);
    w.list(0, ty::STRUCT);
    if keep == Keep::WithKeyValues {
        if let Some(kv) = meta.get(5, ty::LIST) {
            w.field(5, ty::LIST);
            w.raw(&footer[kv.value.clone()]);
        }
    }
    w.end();
    w.out
}

/// Whether every ancestor of `j` is live (walking up the parent links, which point to
/// earlier elements).
fn written_parent(kept: &[Element], live: &[bool], j: usize) -> bool {
    let mut p = kept[j].parent;
    loop {
        if !live[p] {
            return false;
        }
        if p == 0 {
            return true;
        }
        p = kept[p].parent;
    }
}

/// Copies one element, with `children` as its `num_children`; a group at the depth limit
/// becomes a `BYTE_ARRAY` leaf with its name, repetition and field id.
fn write_element(w: &mut Writer, footer: &[u8], e: &Element, children: u64) {
    const BYTE_ARRAY: i32 = 6;
    let mut r = Reader::at(footer, e.span.clone());
    w.begin();
    if e.leaf_at_limit {
        w.field(1, ty::I32);
        w.i32(BYTE_ARRAY);
    }
    let mut last = 0;
    let mut wrote_children = false;
    // The element was read once already: it cannot fail now, and if it did the element
    // would simply end here.
    while let Ok(Some(f)) = r.field_at(last) {
        last = f.id;
        let keep = if e.leaf_at_limit {
            matches!(f.id, 3 | 4 | 9)
        } else {
            f.id != 5
        };
        if !keep {
            continue;
        }
        if !e.leaf_at_limit && !wrote_children && f.id > 5 && e.declared > 0 {
            write_children(w, children);
            wrote_children = true;
        }
        w.field(f.id, f.ty);
        w.raw(&footer[f.value]);
    }
    if !e.leaf_at_limit && !wrote_children && e.declared > 0 {
        write_children(w, children);
    }
    w.end();
}

fn write_children(w: &mut Writer, children: u64) {
    w.field(5, ty::I32);
    w.i32(i32::try_from(children).unwrap_or(i32::MAX));
}
