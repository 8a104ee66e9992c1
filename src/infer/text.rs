//! Typing of text values (CSV/TSV cells): one deterministic rule per value, one rule to
//! widen a column's type as its values are seen. Pure functions, no I/O.
//!
//! A cell is, in this order: null (empty, `null`, `NULL`, `NA`, `N/A`, `None`); INT
//! (optional sign and digits, fitting 64 bits); FLOAT (decimal or exponent notation);
//! BOOLEAN (`true`/`false`, any case); DATE (`YYYY-MM-DD` or `YYYY/MM/DD`); DATETIME (a date,
//! `T` or a space, `HH:MM[:SS[.fff]]`, optional `Z` or `±HH[:MM]`); TIME (`HH:MM:SS[.fff]`);
//! otherwise STRING. A column's type is the widening of its non-null cells' types: INT with
//! FLOAT is FLOAT, DATE with DATETIME is DATETIME, any other mix is STRING, and a column with
//! no non-null cell is STRING.
//!
//! DIFF(spec §5.5, §13 #7): the reference types through pandas and `literal_eval`/`dateutil`
//! guessing: a column with empty cells and integers is FLOAT there (INT here), dates are
//! DATETIME there (DATE here), `true` is STRING there (BOOLEAN here), and anything `dateutil`
//! parses (`May 5`, `1/2`) is DATETIME there (STRING here).

/// The type of a text value or column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// No value.
    Null,
    /// Integer.
    Int,
    /// Floating point.
    Float,
    /// `true`/`false`.
    Boolean,
    /// Calendar date.
    Date,
    /// Date and time.
    DateTime,
    /// Time of day.
    Time,
    /// Anything else.
    String,
}

impl Kind {
    /// The OpenMetadata `dataType` (also used as `dataTypeDisplay`).
    pub(super) fn om(self) -> &'static str {
        match self {
            Kind::Null | Kind::String => "STRING",
            Kind::Int => "INT",
            Kind::Float => "FLOAT",
            Kind::Boolean => "BOOLEAN",
            Kind::Date => "DATE",
            Kind::DateTime => "DATETIME",
            Kind::Time => "TIME",
        }
    }

    /// The type of a column holding values of `self` and `other`.
    pub(super) fn widen(self, other: Kind) -> Kind {
        use Kind::*;
        match (self, other) {
            (a, b) if a == b => a,
            (Null, x) | (x, Null) => x,
            (Int, Float) | (Float, Int) => Float,
            (Date, DateTime) | (DateTime, Date) => DateTime,
            _ => String,
        }
    }
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_float(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((a, b)) => {
            (a.is_empty() || digits(a))
                && (b.is_empty() || digits(b))
                && !(a.is_empty() && b.is_empty())
        }
        None => digits(mantissa),
    };
    let exp_ok = match exp {
        None => true,
        Some(e) => digits(e.strip_prefix(['+', '-']).unwrap_or(e)),
    };
    mantissa_ok && exp_ok
}

fn num(s: &str, lo: u32, hi: u32) -> bool {
    digits(s) && s.parse::<u32>().is_ok_and(|n| (lo..=hi).contains(&n))
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || !(b[4] == b'-' || b[4] == b'/') || b[7] != b[4] {
        return false;
    }
    digits(&s[..4]) && num(&s[5..7], 1, 12) && num(&s[8..10], 1, 31)
}

/// `HH:MM` or `HH:MM:SS[.fff]`; `need_seconds` for a bare time of day.
fn is_clock(s: &str, need_seconds: bool) -> bool {
    let mut parts = s.splitn(3, ':');
    let (h, m, sec) = (parts.next(), parts.next(), parts.next());
    let (Some(h), Some(m)) = (h, m) else {
        return false;
    };
    if h.len() != 2 || !num(h, 0, 23) || m.len() != 2 || !num(m, 0, 59) {
        return false;
    }
    match sec {
        None => !need_seconds,
        Some(sec) => {
            let (whole, frac) = sec.split_once('.').unwrap_or((sec, "0"));
            whole.len() == 2 && num(whole, 0, 60) && digits(frac)
        }
    }
}

fn is_datetime(s: &str) -> bool {
    if s.len() < 16 || !s.is_char_boundary(10) || !is_date(&s[..10]) {
        return false;
    }
    let sep = s.as_bytes()[10];
    if sep != b'T' && sep != b' ' {
        return false;
    }
    let rest = &s[11..];
    let clock = rest.strip_suffix(['Z', 'z']).unwrap_or(rest);
    // An offset: the last `+` or `-` after the clock's start.
    let clock = match clock.rfind(['+', '-']) {
        Some(i) if i >= 5 => {
            let off = &clock[i + 1..];
            let ok = match off.split_once(':') {
                Some((h, m)) => num(h, 0, 23) && h.len() == 2 && num(m, 0, 59) && m.len() == 2,
                None => (off.len() == 2 || off.len() == 4) && digits(off),
            };
            if !ok {
                return false;
            }
            &clock[..i]
        }
        _ => clock,
    };
    is_clock(clock, false)
}

/// The type of one cell.
pub(super) fn classify(cell: &str) -> Kind {
    let s = cell.trim();
    if matches!(s, "" | "null" | "NULL" | "NA" | "N/A" | "None") {
        return Kind::Null;
    }
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits(unsigned) && s.parse::<i64>().is_ok() {
        return Kind::Int;
    }
    if is_float(s) {
        return Kind::Float;
    }
    if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") {
        return Kind::Boolean;
    }
    if is_date(s) {
        return Kind::Date;
    }
    if is_datetime(s) {
        return Kind::DateTime;
    }
    if is_clock(s, true) {
        return Kind::Time;
    }
    Kind::String
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_typed_by_the_documented_rules() {
        let cases = [
            ("", Kind::Null),
            ("NA", Kind::Null),
            ("42", Kind::Int),
            ("-7", Kind::Int),
            ("007", Kind::Int),
            ("99999999999999999999", Kind::Float),
            ("1.5", Kind::Float),
            (".5", Kind::Float),
            ("1e10", Kind::Float),
            ("-2.5E-3", Kind::Float),
            ("True", Kind::Boolean),
            ("false", Kind::Boolean),
            ("2024-01-31", Kind::Date),
            ("2024/01/31", Kind::Date),
            ("2024-13-01", Kind::String),
            ("2024-01-31T10:00:00", Kind::DateTime),
            ("2024-01-31 10:00", Kind::DateTime),
            ("2024-01-31T10:00:00.123Z", Kind::DateTime),
            ("2024-01-31T10:00:00+02:00", Kind::DateTime),
            ("10:00:00", Kind::Time),
            ("10:00", Kind::String),
            ("abc", Kind::String),
            ("1.2.3", Kind::String),
            ("e5", Kind::String),
            (".", Kind::String),
        ];
        for (cell, kind) in cases {
            assert_eq!(classify(cell), kind, "{cell:?}");
        }
    }

    #[test]
    fn columns_widen_by_the_documented_rules() {
        assert_eq!(Kind::Null.widen(Kind::Int), Kind::Int);
        assert_eq!(Kind::Int.widen(Kind::Float), Kind::Float);
        assert_eq!(Kind::Date.widen(Kind::DateTime), Kind::DateTime);
        assert_eq!(Kind::Int.widen(Kind::Boolean), Kind::String);
        assert_eq!(Kind::Null.om(), "STRING");
    }
}
