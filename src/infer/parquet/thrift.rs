//! A small reader and writer of Thrift's compact protocol, just enough to look at a parquet
//! footer before parquet-rs does, and to write a smaller footer in its place.
//!
//! It owns no parquet knowledge beyond field numbers its caller passes: values are located
//! (their byte ranges) and skipped, never decoded into trees. Skipping is iterative with an
//! explicit bound on nesting ([`MAX_NESTING`]), and no length or count read from the bytes
//! is allocated before it has been checked against the bytes that remain, so any input costs
//! time and memory in proportion to its length at most.

use std::ops::Range;

/// Deepest nesting of structs, lists and maps skipped. A parquet footer nests about eight
/// levels (file → row group → column chunk → metadata → statistics → …); anything deeper
/// is not a footer.
pub(super) const MAX_NESTING: usize = 32;

/// Compact-protocol type codes.
pub(super) mod ty {
    /// The end of a struct.
    pub(crate) const STOP: u8 = 0;
    /// `true` (in a field header), or a boolean element.
    pub(crate) const TRUE: u8 = 1;
    /// `false` (in a field header).
    pub(crate) const FALSE: u8 = 2;
    /// One byte.
    pub(crate) const I8: u8 = 3;
    /// A zigzag varint.
    pub(crate) const I16: u8 = 4;
    /// A zigzag varint.
    pub(crate) const I32: u8 = 5;
    /// A zigzag varint.
    pub(crate) const I64: u8 = 6;
    /// Eight bytes.
    pub(crate) const DOUBLE: u8 = 7;
    /// A varint length and that many bytes.
    pub(crate) const BINARY: u8 = 8;
    /// A list.
    pub(crate) const LIST: u8 = 9;
    /// A set (encoded as a list).
    pub(crate) const SET: u8 = 10;
    /// A map.
    pub(crate) const MAP: u8 = 11;
    /// A struct.
    pub(crate) const STRUCT: u8 = 12;
}

/// Why the bytes are not the compact encoding expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThriftError {
    /// The bytes end inside a value.
    #[error("the footer ends inside a value at byte {0}")]
    Eof(usize),
    /// A type code that does not exist.
    #[error("unknown Thrift type {ty} at byte {at}")]
    BadType {
        /// The code.
        ty: u8,
        /// Where.
        at: usize,
    },
    /// A varint longer than 64 bits.
    #[error("an overlong integer at byte {0}")]
    Varint(usize),
    /// A list, map or length claiming more than the bytes left could hold.
    #[error("a length of {claimed} at byte {at}, past the end of the footer")]
    TooLong {
        /// The claimed count or length.
        claimed: u64,
        /// Where.
        at: usize,
    },
    /// Structs and lists nested deeper than any footer does.
    #[error("values nested deeper than {MAX_NESTING} levels")]
    TooDeep,
    /// A field of an unexpected type.
    #[error("field {field} has type {ty}, expected {expected}")]
    FieldType {
        /// The field number.
        field: i16,
        /// Its type code.
        ty: u8,
        /// The expected code.
        expected: u8,
    },
}

/// One field of a struct: its number, its type code and where its value lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FieldAt {
    /// The field number.
    pub(super) id: i16,
    /// Its type code (for booleans, the value itself).
    pub(super) ty: u8,
    /// The value's bytes (empty for a boolean).
    pub(super) value: Range<usize>,
}

/// A cursor over compact-protocol bytes.
#[derive(Debug, Clone)]
pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub(super) fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    /// A reader over `range` of `buf`, positions still counted in `buf`.
    pub(super) fn at(buf: &'a [u8], range: Range<usize>) -> Reader<'a> {
        let end = range.end.min(buf.len());
        Reader {
            buf: &buf[..end],
            pos: range.start.min(end),
        }
    }

    /// Where the cursor is.
    pub(super) fn pos(&self) -> usize {
        self.pos
    }

    fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn byte(&mut self) -> Result<u8, ThriftError> {
        let b = *self.buf.get(self.pos).ok_or(ThriftError::Eof(self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    fn advance(&mut self, n: u64) -> Result<(), ThriftError> {
        if n > self.left() as u64 {
            return Err(ThriftError::TooLong {
                claimed: n,
                at: self.pos,
            });
        }
        self.pos += n as usize;
        Ok(())
    }

    fn varint(&mut self) -> Result<u64, ThriftError> {
        let start = self.pos;
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            if shift == 63 && b > 1 {
                return Err(ThriftError::Varint(start));
            }
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ThriftError::Varint(start))
    }

    fn zigzag(&mut self) -> Result<i64, ThriftError> {
        let v = self.varint()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    /// An i32 value (a zigzag varint); out-of-range values are an error.
    pub(super) fn i32(&mut self) -> Result<i32, ThriftError> {
        let at = self.pos;
        i32::try_from(self.zigzag()?).map_err(|_| ThriftError::Varint(at))
    }

    /// The next field header of a struct whose previous field was `last`; `None` at the
    /// struct's end.
    pub(super) fn field(&mut self, last: i16) -> Result<Option<(i16, u8)>, ThriftError> {
        let at = self.pos;
        let b = self.byte()?;
        let t = b & 0x0f;
        if t == ty::STOP {
            return Ok(None);
        }
        if t > ty::STRUCT {
            return Err(ThriftError::BadType { ty: t, at });
        }
        let delta = i16::from(b >> 4);
        let id = if delta == 0 {
            let z = self.zigzag()?;
            i16::try_from(z).map_err(|_| ThriftError::Varint(at))?
        } else {
            last.wrapping_add(delta)
        };
        Ok(Some((id, t)))
    }

    /// A list or set header: the element count (checked against the bytes left, every
    /// element taking one byte at least) and the element type.
    pub(super) fn list(&mut self) -> Result<(u64, u8), ThriftError> {
        let at = self.pos;
        let b = self.byte()?;
        let t = b & 0x0f;
        let mut n = u64::from(b >> 4);
        if n == 15 {
            n = self.varint()?;
        }
        if t > ty::STRUCT {
            return Err(ThriftError::BadType { ty: t, at });
        }
        if n > self.left() as u64 {
            return Err(ThriftError::TooLong { claimed: n, at });
        }
        Ok((n, t))
    }

    /// The next field of a struct with its value's range, the value skipped.
    pub(super) fn field_at(&mut self, last: i16) -> Result<Option<FieldAt>, ThriftError> {
        let Some((id, t)) = self.field(last)? else {
            return Ok(None);
        };
        let start = self.pos;
        self.skip_field(t)?;
        Ok(Some(FieldAt {
            id,
            ty: t,
            value: start..self.pos,
        }))
    }

    /// Skips the value of a struct field of type `t` (a boolean field has no value bytes).
    pub(super) fn skip_field(&mut self, t: u8) -> Result<(), ThriftError> {
        match t {
            ty::TRUE | ty::FALSE => Ok(()),
            other => self.skip(other),
        }
    }

    /// Skips one value of type `t` as it appears in a list or map (booleans take a byte),
    /// iteratively, refusing nesting deeper than [`MAX_NESTING`].
    pub(super) fn skip(&mut self, t: u8) -> Result<(), ThriftError> {
        enum Frame {
            Struct { last: i16 },
            Items { left: u64, ty: u8 },
            Pairs { left: u64, key: u8, value: u8 },
        }
        let mut stack: Vec<Frame> = Vec::new();
        // The type of the next value to skip, and whether it is a struct field (whose
        // boolean value lives in its header).
        let mut next: Option<(u8, bool)> = Some((t, false));
        loop {
            if let Some((t, in_header)) = next.take() {
                let at = self.pos;
                match t {
                    ty::TRUE | ty::FALSE if in_header => {}
                    ty::TRUE | ty::FALSE | ty::I8 => self.advance(1)?,
                    ty::I16 | ty::I32 | ty::I64 => {
                        self.varint()?;
                    }
                    ty::DOUBLE => self.advance(8)?,
                    ty::BINARY => {
                        let n = self.varint()?;
                        self.advance(n)?;
                    }
                    ty::LIST | ty::SET => {
                        let (n, et) = self.list()?;
                        if stack.len() >= MAX_NESTING {
                            return Err(ThriftError::TooDeep);
                        }
                        stack.push(Frame::Items { left: n, ty: et });
                    }
                    ty::MAP => {
                        let n = self.varint()?;
                        let (key, value) = if n == 0 {
                            (0, 0)
                        } else {
                            let kv = self.byte()?;
                            (kv >> 4, kv & 0x0f)
                        };
                        // Every entry takes two bytes at least.
                        if n > (self.left() as u64) / 2 {
                            return Err(ThriftError::TooLong { claimed: n, at });
                        }
                        if stack.len() >= MAX_NESTING {
                            return Err(ThriftError::TooDeep);
                        }
                        stack.push(Frame::Pairs {
                            left: n * 2,
                            key,
                            value,
                        });
                    }
                    ty::STRUCT => {
                        if stack.len() >= MAX_NESTING {
                            return Err(ThriftError::TooDeep);
                        }
                        stack.push(Frame::Struct { last: 0 });
                    }
                    other => return Err(ThriftError::BadType { ty: other, at }),
                }
            }
            match stack.last_mut() {
                None => return Ok(()),
                Some(Frame::Struct { last }) => match self.field(*last)? {
                    None => {
                        stack.pop();
                    }
                    Some((id, t)) => {
                        *last = id;
                        next = Some((t, true));
                    }
                },
                Some(Frame::Items { left, ty }) => {
                    if *left == 0 {
                        stack.pop();
                    } else {
                        *left -= 1;
                        next = Some((*ty, false));
                    }
                }
                Some(Frame::Pairs { left, key, value }) => {
                    if *left == 0 {
                        stack.pop();
                    } else {
                        let t = if *left % 2 == 0 { *key } else { *value };
                        *left -= 1;
                        next = Some((t, false));
                    }
                }
            }
        }
    }
}

/// Writes compact-protocol bytes.
#[derive(Debug, Default)]
pub(super) struct Writer {
    /// The bytes written.
    pub(super) out: Vec<u8>,
    last: Vec<i16>,
}

impl Writer {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.out.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
    }

    /// Starts a struct (the outermost one too).
    pub(super) fn begin(&mut self) {
        self.last.push(0);
    }

    /// Ends the current struct.
    pub(super) fn end(&mut self) {
        self.out.push(ty::STOP);
        self.last.pop();
    }

    /// A field header.
    pub(super) fn field(&mut self, id: i16, t: u8) {
        let last = self.last.last().copied().unwrap_or(0);
        let delta = i32::from(id) - i32::from(last);
        if (1..=15).contains(&delta) {
            self.out.push(((delta as u8) << 4) | t);
        } else {
            self.out.push(t);
            self.varint(zigzag(i64::from(id)));
        }
        if let Some(l) = self.last.last_mut() {
            *l = id;
        }
    }

    /// An i32 value.
    pub(super) fn i32(&mut self, v: i32) {
        self.varint(zigzag(i64::from(v)));
    }

    /// An i64 value.
    pub(super) fn i64(&mut self, v: i64) {
        self.varint(zigzag(v));
    }

    /// A list header.
    pub(super) fn list(&mut self, n: usize, t: u8) {
        if n < 15 {
            self.out.push(((n as u8) << 4) | t);
        } else {
            self.out.push(0xf0 | t);
            self.varint(n as u64);
        }
    }

    /// A binary value's length (its bytes follow with [`Writer::raw`]).
    #[cfg(test)]
    pub(super) fn len(&mut self, n: usize) {
        self.varint(n as u64);
    }

    /// Raw bytes: a value copied from the input.
    pub(super) fn raw(&mut self, b: &[u8]) {
        self.out.extend_from_slice(b);
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_located_and_skipped() {
        let mut w = Writer::default();
        w.begin();
        w.field(1, ty::I32);
        w.i32(-3);
        w.field(20, ty::LIST);
        w.list(2, ty::STRUCT);
        for _ in 0..2 {
            w.begin();
            w.field(1, ty::BINARY);
            w.varint(2);
            w.raw(b"ab");
            w.field(2, ty::TRUE);
            w.end();
        }
        w.end();
        let mut r = Reader::new(&w.out);
        let f1 = r.field_at(0).unwrap().unwrap();
        assert_eq!((f1.id, f1.ty), (1, ty::I32));
        assert_eq!(Reader::at(&w.out, f1.value).i32().unwrap(), -3);
        let f2 = r.field_at(1).unwrap().unwrap();
        assert_eq!((f2.id, f2.ty), (20, ty::LIST));
        assert_eq!(r.field_at(20).unwrap(), None);
        assert_eq!(r.pos(), w.out.len());
    }

    #[test]
    fn nesting_past_the_bound_is_refused_without_recursion() {
        // A struct whose field 1 is a struct, 100,000 times.
        let mut b = vec![0x1c; 100_000];
        b.extend(std::iter::repeat_n(0, 100_001));
        assert_eq!(Reader::new(&b).skip(ty::STRUCT), Err(ThriftError::TooDeep));
    }

    #[test]
    fn a_count_past_the_end_is_refused_before_anything_is_allocated() {
        // A list of 2^40 structs in four bytes.
        let b = [0xfc, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20];
        assert!(matches!(
            Reader::new(&b).skip(ty::LIST),
            Err(ThriftError::TooLong { .. })
        ));
    }
}
