//! Avro datums: one string pulled out of an object container file's records, driven by the
//! writer schema in its header; every other value is skipped, never materialised.
//!
//! [`super::avro`] reads a data file's header only, to type its columns. Some metadata is
//! itself an Avro file whose *values* matter: Apache Hudi's commit metadata from table
//! version 8 on (`HoodieCommitMetadata`, one record, the table's schema as JSON text in
//! `extraMetadata["schema"]`). [`find_string`] walks the records by the writer schema,
//! follows a path of record-field names and map keys through unions, and returns the first
//! string (or bytes) at its end. The header is read here rather than by
//! `avro::header_schema` because the blocks need its codec and sync marker as well.
//!
//! The bytes are foreign, so every step is bounded:
//! - the schema compiles into at most [`MAX_SCHEMA_NODES`] nodes, no deeper than
//!   [`MAX_DEPTH`]; a named type is referenced by its index, so a recursive or repeatedly
//!   referenced type costs one node;
//! - values nest no deeper than [`MAX_DEPTH`], and at most [`MAX_VALUES`] plus
//!   [`VALUES_PER_BYTE`] per byte of (decompressed) data are visited: a million `null`s in
//!   an array take no byte, so the bytes alone do not bound the work, while a large commit
//!   (thousands of write stats before `extraMetadata`) must still be read through;
//! - every length is checked against the bytes left before anything is sliced, varints end
//!   within 10 bytes, and negative block counts are negated with `checked_neg` (i64::MIN);
//! - compressed blocks are decoded by [`super::decompress`], all of them together within
//!   the caller's byte cap.
//!   Codecs: `null` and `deflate` (Hudi writes `null`); any other is an error naming it.
//!
//! Nothing is allocated in proportion to a claimed length: the one allocation from the data
//! is the string found, no longer than the bytes holding it.

use super::decompress::{self, Codec};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The deepest nesting of schema types, and of values, followed.
pub(crate) const MAX_DEPTH: usize = 64;
/// Values visited at most in one file (header entries, items, fields), besides
/// [`VALUES_PER_BYTE`] for each byte of data.
pub(crate) const MAX_VALUES: u64 = 1_000_000;
/// Values a byte of data may account for (a record's fields, a union and its branch).
pub(crate) const VALUES_PER_BYTE: u64 = 8;
/// Schema nodes compiled at most.
pub(crate) const MAX_SCHEMA_NODES: usize = 10_000;

/// Why a value could not be read from an Avro object container file.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DatumError {
    /// Not an object container file.
    #[error("no Avro magic `Obj\\x01` at the start")]
    NoMagic,
    /// A length (of a string, bytes, fixed, block or marker) past the end of the bytes.
    #[error("a {what} of {len} bytes with {left} bytes left (a cut or corrupt file)")]
    TooLong {
        /// What was being read.
        what: &'static str,
        /// Its claimed length.
        len: i128,
        /// The bytes left.
        left: usize,
    },
    /// A variable-length integer that does not end within 10 bytes or overflows 64 bits.
    #[error("a variable-length integer longer than 64 bits")]
    VarintTooLong,
    /// A negative length, or a block count with no positive counterpart (i64::MIN).
    #[error("a {what} of {value}")]
    Negative {
        /// What was being read.
        what: &'static str,
        /// The value read.
        value: i64,
    },
    /// The header has no schema.
    #[error("no avro.schema in the header")]
    NoSchema,
    /// The schema is not JSON.
    #[error("avro.schema is not JSON: {0}")]
    SchemaNotJson(#[source] serde_json::Error),
    /// The schema is not one this decoder can follow.
    #[error("avro.schema: {0}")]
    Schema(String),
    /// A codec other than `null` and `deflate`.
    #[error("the Avro codec `{0}` is not supported (null and deflate are)")]
    Codec(String),
    /// A deflate block that does not decompress.
    #[error("a deflate block: {0}")]
    Decompress(#[source] decompress::Error),
    /// Blocks that decompress past the cap.
    #[error("the blocks decompress past the {0}-byte limit")]
    BlockTooLarge(u64),
    /// A block not followed by the header's sync marker.
    #[error("a block is not followed by the header's sync marker")]
    Sync,
    /// Values nested past [`MAX_DEPTH`].
    #[error("values nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// More values than the budget.
    #[error("more than {0} values")]
    TooManyValues(u64),
    /// A union index or enum symbol out of range.
    #[error("{what} {index} of {count}")]
    OutOfRange {
        /// A union branch or an enum symbol.
        what: &'static str,
        /// The index read.
        index: i64,
        /// How many there are.
        count: usize,
    },
    /// The string found is not UTF-8.
    #[error("the value found is not UTF-8")]
    NotUtf8,
}

type Result<T> = std::result::Result<T, DatumError>;

/// One compiled schema type; children are indexes into [`Schema::nodes`].
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    Str,
    Record(Vec<(String, usize)>),
    Enum(usize),
    Array(usize),
    Map(usize),
    Union(Vec<usize>),
    Fixed(usize),
}

/// The primitive types, compiled first at these indexes.
const PRIMITIVES: [(&str, Node); 8] = [
    ("null", Node::Null),
    ("boolean", Node::Boolean),
    ("int", Node::Int),
    ("long", Node::Long),
    ("float", Node::Float),
    ("double", Node::Double),
    ("bytes", Node::Bytes),
    ("string", Node::Str),
];

/// A writer schema as a graph of nodes, named types resolved to indexes.
struct Schema {
    nodes: Vec<Node>,
    names: HashMap<String, usize>,
}

impl Schema {
    /// Compiles `v`; returns the schema and the index of its root.
    fn compile(v: &Value) -> Result<(Schema, usize)> {
        let mut s = Schema {
            nodes: PRIMITIVES.iter().map(|(_, n)| n.clone()).collect(),
            names: HashMap::new(),
        };
        let root = s.node(v, None, 0)?;
        Ok((s, root))
    }

    fn push(&mut self, n: Node) -> Result<usize> {
        if self.nodes.len() >= MAX_SCHEMA_NODES {
            return Err(DatumError::Schema(format!(
                "more than {MAX_SCHEMA_NODES} types"
            )));
        }
        self.nodes.push(n);
        Ok(self.nodes.len() - 1)
    }

    fn node(&mut self, v: &Value, ns: Option<&str>, depth: usize) -> Result<usize> {
        if depth > MAX_DEPTH {
            return Err(DatumError::Schema(format!(
                "types nested deeper than {MAX_DEPTH} levels"
            )));
        }
        match v {
            Value::String(s) => self.named(s, ns),
            Value::Array(branches) => {
                let mut ids = Vec::new();
                for b in branches {
                    ids.push(self.node(b, ns, depth + 1)?);
                }
                self.push(Node::Union(ids))
            }
            Value::Object(o) => self.object(o, ns, depth),
            _ => Err(DatumError::Schema(
                "a type that is neither a name, a union nor an object".into(),
            )),
        }
    }

    /// A primitive, or a named type defined before (in `ns` first, then as written).
    fn named(&self, s: &str, ns: Option<&str>) -> Result<usize> {
        if let Some(i) = PRIMITIVES.iter().position(|(name, _)| *name == s) {
            return Ok(i);
        }
        let qualified = match ns {
            Some(ns) if !s.contains('.') => self.names.get(&format!("{ns}.{s}")),
            _ => None,
        };
        qualified
            .or_else(|| self.names.get(s))
            .copied()
            .ok_or_else(|| DatumError::Schema(format!("unknown type `{s}`")))
    }

    /// Defines the named type `o` as node `id`; returns the namespace its children use.
    fn define(&mut self, o: &Map<String, Value>, ns: Option<&str>, id: usize) -> Option<String> {
        let name = o.get("name").and_then(Value::as_str).unwrap_or_default();
        let (full, inner) = match name.rsplit_once('.') {
            Some((n, _)) => (name.to_string(), Some(n.to_string())),
            None => {
                let inner = match o.get("namespace").and_then(Value::as_str) {
                    Some(n) => Some(n.to_string()),
                    None => ns.map(str::to_string),
                }
                .filter(|n| !n.is_empty());
                let full = match &inner {
                    Some(n) => format!("{n}.{name}"),
                    None => name.to_string(),
                };
                (full, inner)
            }
        };
        self.names.insert(full, id);
        // A short name also resolves, as `avro::Mapper` resolves it.
        self.names.entry(name.to_string()).or_insert(id);
        inner
    }

    fn object(&mut self, o: &Map<String, Value>, ns: Option<&str>, depth: usize) -> Result<usize> {
        let t = match o.get("type") {
            Some(Value::String(t)) => t.as_str(),
            // `{"type": {...}}` and `{"type": [...]}` wrap a type.
            Some(inner @ (Value::Object(_) | Value::Array(_))) => {
                return self.node(inner, ns, depth + 1)
            }
            _ => return Err(DatumError::Schema("a type object without a type".into())),
        };
        let missing = |what: &str| DatumError::Schema(format!("a {t} without {what}"));
        match t {
            "record" | "error" => {
                let id = self.push(Node::Record(vec![]))?;
                let inner = self.define(o, ns, id);
                let fields = o
                    .get("fields")
                    .and_then(Value::as_array)
                    .ok_or_else(|| missing("fields"))?;
                let mut out = Vec::new();
                for f in fields {
                    let name = f.get("name").and_then(Value::as_str).unwrap_or_default();
                    let ty = f.get("type").ok_or_else(|| missing("a field type"))?;
                    out.push((
                        name.to_string(),
                        self.node(ty, inner.as_deref(), depth + 1)?,
                    ));
                }
                self.nodes[id] = Node::Record(out);
                Ok(id)
            }
            "enum" => {
                let n = o
                    .get("symbols")
                    .and_then(Value::as_array)
                    .ok_or_else(|| missing("symbols"))?
                    .len();
                let id = self.push(Node::Enum(n))?;
                self.define(o, ns, id);
                Ok(id)
            }
            "fixed" => {
                let size = o
                    .get("size")
                    .and_then(Value::as_u64)
                    .and_then(|s| usize::try_from(s).ok())
                    .ok_or_else(|| missing("a size"))?;
                let id = self.push(Node::Fixed(size))?;
                self.define(o, ns, id);
                Ok(id)
            }
            "array" => {
                let items = o.get("items").ok_or_else(|| missing("items"))?;
                let items = self.node(items, ns, depth + 1)?;
                self.push(Node::Array(items))
            }
            "map" => {
                let values = o.get("values").ok_or_else(|| missing("values"))?;
                let values = self.node(values, ns, depth + 1)?;
                self.push(Node::Map(values))
            }
            // A primitive with a logical type, or a named type's name.
            other => self.named(other, ns),
        }
    }
}

/// A cursor over one buffer (the header and block framing, or one block's records).
struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn left(&self) -> usize {
        self.b.len() - self.pos
    }

    fn take(&mut self, len: usize, what: &'static str) -> Result<&'a [u8]> {
        if len > self.left() {
            return Err(DatumError::TooLong {
                what,
                len: len as i128,
                left: self.left(),
            });
        }
        let s = &self.b[self.pos..self.pos + len];
        self.pos += len;
        Ok(s)
    }

    /// A zig-zag varint: at most 10 bytes, the tenth holding the 64th bit only.
    fn long(&mut self) -> Result<i64> {
        let mut value: u64 = 0;
        for i in 0..10 {
            let byte = *self.b.get(self.pos).ok_or(DatumError::TooLong {
                what: "varint",
                len: 1,
                left: 0,
            })?;
            self.pos += 1;
            if i == 9 && byte > 1 {
                return Err(DatumError::VarintTooLong);
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(((value >> 1) as i64) ^ -((value & 1) as i64));
            }
        }
        Err(DatumError::VarintTooLong)
    }

    /// A length that must be non-negative and fit in the bytes left.
    fn len(&mut self, what: &'static str) -> Result<usize> {
        let value = self.long()?;
        let len = usize::try_from(value).map_err(|_| DatumError::Negative { what, value })?;
        if len > self.left() {
            return Err(DatumError::TooLong {
                what,
                len: i128::from(value),
                left: self.left(),
            });
        }
        Ok(len)
    }

    fn sized(&mut self, what: &'static str) -> Result<&'a [u8]> {
        let n = self.len(what)?;
        self.take(n, what)
    }

    /// The item count of the next array or map block (0 at the end); a negative count is
    /// followed by the block's byte size, returned too.
    fn block(&mut self) -> Result<(u64, Option<usize>)> {
        let count = self.long()?;
        if count >= 0 {
            return Ok((count.unsigned_abs(), None));
        }
        let positive = count.checked_neg().ok_or(DatumError::Negative {
            what: "block count",
            value: count,
        })?;
        let size = self.len("block")?;
        Ok((positive.unsigned_abs(), Some(size)))
    }
}

/// The walk over one file's values: the schema and the value budget.
struct Walk<'s> {
    nodes: &'s [Node],
    values: u64,
    budget: u64,
}

impl Walk<'_> {
    fn tick(&mut self, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(DatumError::TooDeep);
        }
        self.values += 1;
        if self.values > self.budget {
            return Err(DatumError::TooManyValues(self.budget));
        }
        Ok(())
    }

    fn branch(&self, r: &mut Reader<'_>, branches: &[usize]) -> Result<usize> {
        let index = r.long()?;
        usize::try_from(index)
            .ok()
            .and_then(|i| branches.get(i).copied())
            .ok_or(DatumError::OutOfRange {
                what: "union branch",
                index,
                count: branches.len(),
            })
    }

    /// Follows `path` into the value of type `id` at the reader; the bytes of the string
    /// or bytes at its end, or `None` (then the whole value has been read past).
    fn find<'a>(
        &mut self,
        r: &mut Reader<'a>,
        id: usize,
        path: &[&str],
        depth: usize,
    ) -> Result<Option<&'a [u8]>> {
        let nodes = self.nodes;
        match (&nodes[id], path) {
            (Node::Str | Node::Bytes, []) => {
                self.tick(depth)?;
                r.sized("string").map(Some)
            }
            (Node::Record(fields), [step, rest @ ..]) => {
                self.tick(depth)?;
                for (name, f) in fields {
                    if name == step {
                        if let Some(found) = self.find(r, *f, rest, depth + 1)? {
                            return Ok(Some(found));
                        }
                    } else {
                        self.skip(r, *f, depth + 1)?;
                    }
                }
                Ok(None)
            }
            (Node::Map(values), [step, rest @ ..]) => {
                self.tick(depth)?;
                loop {
                    let (count, _) = r.block()?;
                    if count == 0 {
                        return Ok(None);
                    }
                    for _ in 0..count {
                        self.tick(depth + 1)?;
                        let key = r.sized("map key")?;
                        if key == step.as_bytes() {
                            if let Some(found) = self.find(r, *values, rest, depth + 1)? {
                                return Ok(Some(found));
                            }
                        } else {
                            self.skip(r, *values, depth + 1)?;
                        }
                    }
                }
            }
            (Node::Union(branches), _) => {
                self.tick(depth)?;
                let b = self.branch(r, branches)?;
                self.find(r, b, path, depth + 1)
            }
            _ => {
                self.skip(r, id, depth)?;
                Ok(None)
            }
        }
    }

    /// Reads past one value of type `id`.
    fn skip(&mut self, r: &mut Reader<'_>, id: usize, depth: usize) -> Result<()> {
        self.tick(depth)?;
        let nodes = self.nodes;
        match &nodes[id] {
            Node::Null => {}
            Node::Boolean => {
                r.take(1, "boolean")?;
            }
            Node::Int | Node::Long => {
                r.long()?;
            }
            Node::Float => {
                r.take(4, "float")?;
            }
            Node::Double => {
                r.take(8, "double")?;
            }
            Node::Bytes | Node::Str => {
                r.sized("string")?;
            }
            Node::Fixed(n) => {
                r.take(*n, "fixed")?;
            }
            Node::Enum(count) => {
                let index = r.long()?;
                if usize::try_from(index).map_or(true, |i| i >= *count) {
                    return Err(DatumError::OutOfRange {
                        what: "enum symbol",
                        index,
                        count: *count,
                    });
                }
            }
            Node::Record(fields) => {
                for (_, f) in fields {
                    self.skip(r, *f, depth + 1)?;
                }
            }
            Node::Array(items) => loop {
                match r.block()? {
                    (0, _) => break,
                    (_, Some(size)) => {
                        r.take(size, "block")?;
                    }
                    (count, None) => {
                        for _ in 0..count {
                            self.skip(r, *items, depth + 1)?;
                        }
                    }
                }
            },
            Node::Map(values) => loop {
                match r.block()? {
                    (0, _) => break,
                    (_, Some(size)) => {
                        r.take(size, "block")?;
                    }
                    (count, None) => {
                        for _ in 0..count {
                            self.tick(depth + 1)?;
                            r.sized("map key")?;
                            self.skip(r, *values, depth + 1)?;
                        }
                    }
                }
            },
            Node::Union(branches) => {
                let b = self.branch(r, branches)?;
                self.skip(r, b, depth + 1)?;
            }
        }
        Ok(())
    }
}

/// The first string (or bytes) at `path` — record field names and map keys, unions
/// followed through whichever branch the data takes — in the records of the Avro object
/// container file `file`, or `None` when no record has one. Compressed blocks decompress
/// to at most `cap` bytes in all.
pub(crate) fn find_string(file: &[u8], path: &[&str], cap: u64) -> Result<Option<String>> {
    let mut r = Reader { b: file, pos: 0 };
    if file.get(..4) != Some(b"Obj\x01".as_slice()) {
        return Err(DatumError::NoMagic);
    }
    r.pos = 4;
    let mut values = 0u64;
    let budget = MAX_VALUES.saturating_add(VALUES_PER_BYTE.saturating_mul(file.len() as u64));
    let (mut schema, mut codec) = (None, None);
    loop {
        let (count, _) = r.block()?;
        if count == 0 {
            break;
        }
        for _ in 0..count {
            values += 1;
            if values > budget {
                return Err(DatumError::TooManyValues(budget));
            }
            let key = r.sized("metadata key")?;
            let value = r.sized("metadata value")?;
            match key {
                b"avro.schema" => schema = Some(value),
                b"avro.codec" => codec = Some(value),
                _ => {}
            }
        }
    }
    let sync = r.take(16, "sync marker")?;
    let schema: Value = serde_json::from_slice(schema.ok_or(DatumError::NoSchema)?)
        .map_err(DatumError::SchemaNotJson)?;
    let (schema, root) = Schema::compile(&schema)?;
    let deflate = match codec {
        None | Some(b"null") => false,
        Some(b"deflate") => true,
        Some(other) => return Err(DatumError::Codec(String::from_utf8_lossy(other).into())),
    };
    let mut walk = Walk {
        nodes: &schema.nodes,
        values,
        budget,
    };
    let mut inflated_total = 0u64;
    while r.left() > 0 {
        let count = r.long()?;
        let count = u64::try_from(count).map_err(|_| DatumError::Negative {
            what: "block count",
            value: count,
        })?;
        let data = r.sized("block")?;
        if r.take(16, "sync marker")? != sync {
            return Err(DatumError::Sync);
        }
        let inflated;
        let data = if deflate {
            let left = cap.saturating_sub(inflated_total);
            let d = decompress::decode(Codec::Deflate, data, left, false)
                .map_err(DatumError::Decompress)?;
            if d.capped {
                return Err(DatumError::BlockTooLarge(cap));
            }
            inflated_total += d.bytes.len() as u64;
            let more = VALUES_PER_BYTE.saturating_mul(d.bytes.len() as u64);
            walk.budget = walk.budget.saturating_add(more);
            inflated = d.bytes;
            &inflated[..]
        } else {
            data
        };
        let mut block = Reader { b: data, pos: 0 };
        for _ in 0..count {
            if let Some(found) = walk.find(&mut block, root, path, 0)? {
                return String::from_utf8(found.to_vec())
                    .map(Some)
                    .map_err(|_| DatumError::NotUtf8);
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HUDI: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tables/lake/hudi");
    const PATH: [&str; 2] = ["extraMetadata", "schema"];
    const CAP: u64 = 1 << 20;

    fn hudi(rel: &str) -> Vec<u8> {
        std::fs::read(format!("{HUDI}/{rel}")).unwrap()
    }

    fn long(out: &mut Vec<u8>, v: i64) {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        loop {
            let b = (z & 0x7f) as u8;
            z >>= 7;
            if z == 0 {
                out.push(b);
                break;
            }
            out.push(b | 0x80);
        }
    }

    fn string(out: &mut Vec<u8>, s: &[u8]) {
        long(out, s.len() as i64);
        out.extend_from_slice(s);
    }

    const SYNC: &[u8; 16] = b"0123456789abcdef";

    /// An object container file: `schema`, `codec`, and one block of `count` records.
    fn ocf(schema: &str, codec: Option<&str>, count: i64, data: &[u8]) -> Vec<u8> {
        let mut out = b"Obj\x01".to_vec();
        let mut meta = vec![(b"avro.schema".as_slice(), schema.as_bytes())];
        if let Some(c) = codec {
            meta.push((b"avro.codec".as_slice(), c.as_bytes()));
        }
        long(&mut out, meta.len() as i64);
        for (k, v) in meta {
            string(&mut out, k);
            string(&mut out, v);
        }
        long(&mut out, 0);
        out.extend_from_slice(SYNC);
        long(&mut out, count);
        string(&mut out, data);
        out.extend_from_slice(SYNC);
        out
    }

    /// Hudi's shape, reduced: a record with a nullable map of strings.
    const COMMIT: &str = r#"{"type":"record","name":"C","fields":[
        {"name":"stats","type":["null",{"type":"array","items":"long"}]},
        {"name":"extraMetadata","type":["null",{"type":"map","values":["null","string"]}]},
        {"name":"version","type":"int"}]}"#;

    /// A `COMMIT` record whose extraMetadata holds `entries`.
    fn commit(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut d = vec![];
        long(&mut d, 1); // stats: the array
        long(&mut d, 2);
        long(&mut d, 7);
        long(&mut d, -8);
        long(&mut d, 0);
        long(&mut d, 1); // extraMetadata: the map
        long(&mut d, entries.len() as i64);
        for (k, v) in entries {
            string(&mut d, k.as_bytes());
            long(&mut d, 1);
            string(&mut d, v.as_bytes());
        }
        long(&mut d, 0);
        long(&mut d, 1); // version
        d
    }

    #[test]
    fn hudis_own_v8_commit_gives_its_schema() {
        let f = hudi("trips_cow/.hoodie/timeline/20250713010142013_20250713010142784.commit");
        let s = find_string(&f, &PATH, CAP).unwrap().unwrap();
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["name"], "v8_complexkeygen_hivestyle_record");
        assert_eq!(v["fields"].as_array().unwrap().len(), 16);
        // A path that is not there: read through, nothing found.
        assert!(find_string(&f, &["extraMetadata", "nope"], CAP)
            .unwrap()
            .is_none());
        assert!(find_string(&f, &["nope"], CAP).unwrap().is_none());
        // The last field, after the map and the version (an int, not a string).
        assert_eq!(
            find_string(&f, &["operationType"], CAP).unwrap().as_deref(),
            Some("UPSERT")
        );
        assert!(find_string(&f, &["version"], CAP).unwrap().is_none());
    }

    #[test]
    fn fastavros_deflate_commit_gives_the_evolved_schema() {
        let f = hudi("trips_evolved/.hoodie/timeline/20250714090000000_20250714090001234.commit");
        let s = find_string(&f, &PATH, CAP).unwrap().unwrap();
        let v: Value = serde_json::from_str(&s).unwrap();
        let names: Vec<&str> = v["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        assert_eq!(names[16..], ["tip", "note"]);
        // A block decompressing past the cap is refused.
        assert!(matches!(
            find_string(&f, &PATH, 100),
            Err(DatumError::BlockTooLarge(100))
        ));
    }

    #[test]
    fn map_keys_unions_and_skipped_fields_are_followed() {
        let d = commit(&[("a", "x"), ("schema", "{}"), ("z", "y")]);
        let f = ocf(COMMIT, None, 1, &d);
        assert_eq!(find_string(&f, &PATH, CAP).unwrap().as_deref(), Some("{}"));
        // The second record has it when the first does not.
        let mut d = commit(&[("a", "x")]);
        d.extend(commit(&[("schema", "s2")]));
        let f = ocf(COMMIT, Some("null"), 2, &d);
        assert_eq!(find_string(&f, &PATH, CAP).unwrap().as_deref(), Some("s2"));
    }

    #[test]
    fn cut_files_are_errors_at_every_length() {
        let f = hudi("trips_cow/.hoodie/timeline/20250713010142013_20250713010142784.commit");
        let header_end = 3313 + 16;
        for n in 0..f.len() {
            match find_string(&f[..n], &PATH, CAP) {
                Ok(None) => assert_eq!(n, header_end, "{n}"),
                Ok(Some(_)) => panic!("found in a prefix of {n} bytes"),
                Err(_) => {}
            }
        }
    }

    #[test]
    fn hostile_files_are_errors_not_panics() {
        let err = |f: &[u8]| find_string(f, &PATH, CAP).unwrap_err().to_string();
        // A string claiming 2^62 bytes.
        let mut d = vec![];
        long(&mut d, 0);
        long(&mut d, 1);
        long(&mut d, 1);
        string(&mut d, b"schema");
        long(&mut d, 1);
        long(&mut d, 1 << 62);
        assert_eq!(
            err(&ocf(COMMIT, None, 1, &d)),
            format!(
                "a string of {} bytes with 0 bytes left (a cut or corrupt file)",
                1i64 << 62
            )
        );
        // Block counts of i64::MIN: in the header, in the data, as the file's block count.
        let mut f = b"Obj\x01".to_vec();
        long(&mut f, i64::MIN);
        assert_eq!(err(&f), format!("a block count of {}", i64::MIN));
        let mut d = vec![];
        long(&mut d, 1);
        long(&mut d, i64::MIN);
        assert_eq!(
            err(&ocf(COMMIT, None, 1, &d)),
            format!("a block count of {}", i64::MIN)
        );
        assert_eq!(
            err(&ocf(COMMIT, None, i64::MIN, &commit(&[]))),
            format!("a block count of {}", i64::MIN)
        );
        // A varint of 11 bytes.
        let mut d = vec![0x02];
        d.extend([0xff; 10]);
        assert_eq!(
            err(&ocf(COMMIT, None, 1, &d)),
            "a variable-length integer longer than 64 bits"
        );
        // The wrong sync marker after a block.
        let mut f = ocf(COMMIT, None, 1, &commit(&[("schema", "x")]));
        let n = f.len();
        f[n - 1] ^= 1;
        assert_eq!(
            err(&f),
            "a block is not followed by the header's sync marker"
        );
        // A union branch and an enum symbol out of range.
        assert_eq!(err(&ocf(COMMIT, None, 1, &[4])), "union branch 2 of 2");
        let e = r#"{"type":"record","name":"E","fields":[{"name":"k","type":{"type":"enum","name":"K","symbols":["A"]}},{"name":"extraMetadata","type":"string"}]}"#;
        assert_eq!(err(&ocf(e, None, 1, &[2])), "enum symbol 1 of 1");
        // 2^62 nulls, and 2^62 empty records: stopped by the value budget, at once.
        let nulls = r#"{"type":"record","name":"N","fields":[{"name":"n","type":{"type":"array","items":"null"}},{"name":"extraMetadata","type":"string"}]}"#;
        let mut d = vec![];
        long(&mut d, 1 << 62);
        let f = ocf(nulls, None, 1, &d);
        let budget = MAX_VALUES + VALUES_PER_BYTE * f.len() as u64;
        assert_eq!(err(&f), format!("more than {budget} values"));
        let empty = r#"{"type":"record","name":"R","fields":[]}"#;
        assert!(err(&ocf(empty, None, 1 << 62, &[])).starts_with("more than 100"));
        // An unsupported codec.
        assert_eq!(
            err(&ocf(COMMIT, Some("snappy"), 1, &[])),
            "the Avro codec `snappy` is not supported (null and deflate are)"
        );
        // A deflate block that is not deflate.
        assert!(
            err(&ocf(COMMIT, Some("deflate"), 1, b"\xff\xff\xff")).starts_with("a deflate block")
        );
        // Not Avro; no schema; a schema that is not JSON or names an unknown type.
        assert_eq!(err(b"PAR1"), "no Avro magic `Obj\\x01` at the start");
        let mut f = b"Obj\x01".to_vec();
        long(&mut f, 0);
        f.extend_from_slice(SYNC);
        assert_eq!(err(&f), "no avro.schema in the header");
        assert!(err(&ocf("{", None, 0, &[])).starts_with("avro.schema is not JSON"));
        assert_eq!(
            err(&ocf(r#""Nope""#, None, 0, &[])),
            "avro.schema: unknown type `Nope`"
        );
    }

    #[test]
    fn deep_schemas_and_deep_values_stop_at_the_depth_limit() {
        // 100 nested arrays: under serde_json's 128 levels, over ours.
        let schema = format!(
            "{}\"long\"{}",
            r#"{"type":"array","items":"#.repeat(100),
            "}".repeat(100)
        );
        assert_eq!(
            find_string(&ocf(&schema, None, 0, &[]), &PATH, CAP)
                .unwrap_err()
                .to_string(),
            "avro.schema: types nested deeper than 64 levels"
        );
        // A recursive type (a linked list) is one node; its values nest 1,000 deep.
        let list = r#"{"type":"record","name":"L","fields":[{"name":"next","type":["null","L"]}]}"#;
        let d = [2u8; 1000];
        assert_eq!(
            find_string(&ocf(list, None, 1, &d), &["next"], CAP)
                .unwrap_err()
                .to_string(),
            "values nested deeper than 64 levels"
        );
        // Named types referenced many times are not expanded.
        let mut fields =
            vec![r#"{"name":"a","type":{"type":"fixed","name":"F","size":2}}"#.to_string()];
        fields.extend((0..5000).map(|i| format!(r#"{{"name":"f{i}","type":"F"}}"#)));
        let wide = format!(
            r#"{{"type":"record","name":"W","fields":[{}]}}"#,
            fields.join(",")
        );
        let (s, _) = Schema::compile(&serde_json::from_str(&wide).unwrap()).unwrap();
        assert_eq!(s.nodes.len(), PRIMITIVES.len() + 2);
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;

    /// An Avro object container file, walked for `extraMetadata.schema` as a Hudi commit.
    #[test]
    fn avro_datum() {
        crate::fuzz::run("avro_datum", vec![], |b| {
            if let Ok(Some(s)) = find_string(b, &["extraMetadata", "schema"], 1 << 20) {
                assert!(s.len() <= b.len());
            }
        });
    }
}
