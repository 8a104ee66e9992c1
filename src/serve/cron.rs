//! Cron expressions as Airflow and the OpenMetadata UI write them: five fields (minute,
//! hour, day of month, month, day of week), with `*`, lists, ranges, steps and names, plus the
//! `@hourly`/`@daily`/`@weekly`/`@monthly`/`@yearly` macros. When both day fields are
//! restricted a day matches either, as in Vixie cron.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use std::fmt;

/// A parsed cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    text: String,
    minutes: u64,
    hours: u32,
    days: u32,
    months: u16,
    weekdays: u8,
    dom_star: bool,
    dow_star: bool,
}

/// A cron expression that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cron expression `{text}`: {problem}")]
pub struct CronError {
    /// The expression.
    pub text: String,
    /// What is wrong (part of the message, like a kind, rather than a separate cause).
    pub problem: CronProblem,
}

/// What is wrong with a cron expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronProblem {
    /// Not five fields (after expanding a macro).
    #[error("expected 5 fields, found {0}")]
    FieldCount(usize),
    /// The step after `/` is not a number.
    #[error("bad step `{0}`")]
    BadStep(String),
    /// `/0`.
    #[error("a step of 0")]
    ZeroStep,
    /// A value that is neither a number nor a known name.
    #[error("`{0}` is not a number")]
    NotANumber(String),
    /// A value or range outside the field's bounds, or a reversed range.
    #[error("`{part}` is outside {min}-{max}")]
    OutOfRange {
        /// The list item.
        part: String,
        /// The field's lowest value.
        min: u32,
        /// The field's highest value.
        max: u32,
    },
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn field(
    spec: &str,
    min: u32,
    max: u32,
    names: &[&str],
    name_base: u32,
) -> Result<(u64, bool), CronProblem> {
    let mut bits = 0u64;
    let star = spec == "*" || spec == "?";
    for part in spec.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<u32>()
                    .map_err(|_| CronProblem::BadStep(s.to_string()))?,
            ),
            None => (part, 1),
        };
        if step == 0 {
            return Err(CronProblem::ZeroStep);
        }
        let value = |v: &str| -> Result<u32, CronProblem> {
            if let Some(i) = names.iter().position(|n| v.eq_ignore_ascii_case(n)) {
                return Ok(i as u32 + name_base);
            }
            v.parse::<u32>()
                .map_err(|_| CronProblem::NotANumber(v.to_string()))
        };
        let (lo, hi) = if range == "*" || range == "?" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a)?, value(b)?)
        } else {
            let v = value(range)?;
            (v, if part.contains('/') { max } else { v })
        };
        if lo < min || hi > max || lo > hi {
            return Err(CronProblem::OutOfRange {
                part: part.to_string(),
                min,
                max,
            });
        }
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok((bits, star))
}

impl Cron {
    /// Parses an expression.
    pub fn parse(text: &str) -> Result<Cron, CronError> {
        let err = |problem: CronProblem| CronError {
            text: text.to_string(),
            problem,
        };
        let expanded = match text.trim() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other => other,
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(err(CronProblem::FieldCount(parts.len())));
        }
        let (minutes, _) = field(parts[0], 0, 59, &[], 0).map_err(&err)?;
        let (hours, _) = field(parts[1], 0, 23, &[], 0).map_err(&err)?;
        let (days, dom_star) = field(parts[2], 1, 31, &[], 0).map_err(&err)?;
        let (months, _) = field(parts[3], 1, 12, &MONTHS, 1).map_err(&err)?;
        let (mut weekdays, dow_star) = field(parts[4], 0, 7, &DAYS, 0).map_err(&err)?;
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1; // 7 is Sunday too
        }
        Ok(Cron {
            text: text.trim().to_string(),
            minutes,
            hours: hours as u32,
            days: days as u32,
            months: months as u16,
            weekdays: (weekdays & 0x7f) as u8,
            dom_star,
            dow_star,
        })
    }

    fn day_matches(&self, d: Date) -> bool {
        let dom = self.days & (1 << d.day()) != 0;
        let dow = self.weekdays & (1 << d.weekday().to_sunday_zero_offset()) != 0;
        match (self.dom_star, self.dow_star) {
            (true, true) => true,
            (false, true) => dom,
            (true, false) => dow,
            (false, false) => dom || dow,
        }
    }

    /// The first fire time strictly after `after`, in `tz`. `None` when none exists within
    /// five years (e.g. `0 0 31 2 *`).
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let start = after.to_zoned_datetime(tz.clone()).datetime();
        // Start at the next whole minute.
        let mut t: DateTime = start.with().second(0).subsec_nanosecond(0).build().ok()?;
        t = t.checked_add(1.minute()).ok()?;
        let limit = start.checked_add(5.years()).ok()?;
        while t < limit {
            if self.months & (1 << t.month()) == 0 || !self.day_matches(t.date()) {
                // Skip to the next day's midnight.
                t = t
                    .date()
                    .tomorrow()
                    .ok()?
                    .to_datetime(jiff::civil::time(0, 0, 0, 0));
                continue;
            }
            if self.hours & (1 << t.hour()) == 0 {
                t = t
                    .with()
                    .minute(0)
                    .build()
                    .ok()?
                    .checked_add(1.hour())
                    .ok()?;
                continue;
            }
            if self.minutes & (1 << t.minute()) == 0 {
                t = t.checked_add(1.minute()).ok()?;
                continue;
            }
            // A local time skipped by a DST change fires at the first instant after the gap.
            if let Ok(z) = t.to_zoned_datetime(tz.clone()) {
                let ts = z.timestamp();
                if ts > after {
                    return Some(ts);
                }
            }
            t = t.checked_add(1.minute()).ok()?;
        }
        None
    }
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn next(expr: &str, after: &str) -> String {
        Cron::parse(expr)
            .unwrap()
            .next_after(ts(after), &TimeZone::UTC)
            .unwrap()
            .to_string()
    }

    #[test]
    fn hourly_and_daily() {
        assert_eq!(
            next("0 * * * *", "2026-11-27T14:10:00Z"),
            "2026-11-27T15:00:00Z"
        );
        assert_eq!(
            next("@hourly", "2026-11-27T14:00:00Z"),
            "2026-11-27T15:00:00Z"
        );
        assert_eq!(
            next("@daily", "2026-11-27T14:00:00Z"),
            "2026-11-28T00:00:00Z"
        );
        assert_eq!(
            next("*/15 * * * *", "2026-11-27T14:16:30Z"),
            "2026-11-27T14:30:00Z"
        );
    }

    #[test]
    fn weekdays_months_and_names() {
        // 2026-11-27 is a Friday.
        assert_eq!(
            next("30 9 * * mon-fri", "2026-11-27T10:00:00Z"),
            "2026-11-30T09:30:00Z"
        );
        assert_eq!(
            next("0 0 1 jan *", "2026-11-27T10:00:00Z"),
            "2027-01-01T00:00:00Z"
        );
        assert_eq!(
            next("0 12 * * 7", "2026-11-27T10:00:00Z"),
            "2026-11-29T12:00:00Z"
        );
    }

    #[test]
    fn both_day_fields_match_either() {
        // The 1st of the month or any Monday.
        assert_eq!(
            next("0 0 1 * 1", "2026-11-27T10:00:00Z"),
            "2026-11-30T00:00:00Z"
        );
    }

    #[test]
    fn time_zones_are_honoured() {
        let c = Cron::parse("0 2 * * *").unwrap();
        let tz = TimeZone::get("Europe/Lisbon").unwrap();
        // Lisbon is UTC+0 in winter, UTC+1 in summer.
        assert_eq!(
            c.next_after(ts("2026-07-01T00:00:00Z"), &tz)
                .unwrap()
                .to_string(),
            "2026-07-01T01:00:00Z"
        );
        assert_eq!(
            c.next_after(ts("2026-12-01T00:00:00Z"), &tz)
                .unwrap()
                .to_string(),
            "2026-12-01T02:00:00Z"
        );
    }

    #[test]
    fn impossible_and_invalid_expressions() {
        assert!(Cron::parse("0 0 31 2 *")
            .unwrap()
            .next_after(ts("2026-01-01T00:00:00Z"), &TimeZone::UTC)
            .is_none());
        for (bad, message) in [
            ("* * * *", "expected 5 fields, found 4"),
            ("61 * * * *", "`61` is outside 0-59"),
            ("*/0 * * * *", "a step of 0"),
            ("*/x * * * *", "bad step `x`"),
            ("a * * * *", "`a` is not a number"),
            ("5-1 * * * *", "`5-1` is outside 0-59"),
        ] {
            let e = Cron::parse(bad).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("invalid cron expression `{bad}`: {message}")
            );
        }
    }
}
