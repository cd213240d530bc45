//! Deciding, from the whole file, which header layout it uses and which number is the day.
//!
//! Reading day-first vs month-first line by line gets `05/06` wrong on every line that has
//! no day above 12. So a first, cheap pass looks at every header candidate: the layout
//! seen most often wins, and its dates vote — one day field above 12 anywhere settles
//! the order; otherwise the reading under which dates go backwards least often wins.

use chrono::NaiveDate;
use serde::Serialize;

use super::header::{RawHeader, Shape, parse_header};
use super::lines::Lines;

/// The order of day, month and year in a file's dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DateOrder {
    /// `31/12/2024`: most of the world.
    #[serde(rename = "d/m/y")]
    DayMonthYear,
    /// `12/31/2024`: United States and a few others.
    #[serde(rename = "m/d/y")]
    MonthDayYear,
    /// `2024-12-31`: ISO, China, Japan, Korea, Hungary, ….
    #[serde(rename = "y/m/d")]
    YearMonthDay,
    /// `2024-31-12`: rare, but whatstk supports it.
    #[serde(rename = "y/d/m")]
    YearDayMonth,
}

/// What the first pass decided.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    pub(crate) shape: Option<Shape>,
    pub(crate) order: DateOrder,
    /// How the order was decided, for [`super::FormatInfo`].
    pub(crate) order_evidence: OrderEvidence,
    /// Lines that may start a message: an upper bound on the message count, used to size
    /// the message vector once (untouched capacity costs address space, not memory).
    pub(crate) headers: usize,
}

/// Why the parser chose its date order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderEvidence {
    /// A field that can only be a day (13–31) or a four-digit year settled it.
    Unambiguous,
    /// No field settled it; dates read this way go backwards least often.
    Monotonic,
    /// Nothing told the readings apart; the locale's usual order was assumed.
    Default,
}

/// Per-layout tallies: how often each field exceeds 12 or 31, and how often the dates
/// would go backwards under each reading.
#[derive(Debug, Clone, Copy, Default)]
struct Votes {
    count: u32,
    over12: [u32; 3],
    over31: [u32; 3],
    backwards: [u32; 4],
    prev: Option<[u16; 3]>,
    upper_ampm: bool,
}

const ORDERS: [DateOrder; 4] = [
    DateOrder::DayMonthYear,
    DateOrder::MonthDayYear,
    DateOrder::YearMonthDay,
    DateOrder::YearDayMonth,
];

impl Votes {
    fn add(&mut self, h: &RawHeader) {
        self.count += 1;
        self.upper_ampm |= h.upper_ampm;
        for (k, &f) in h.date.iter().enumerate() {
            self.over12[k] += u32::from(f > 12);
            self.over31[k] += u32::from(f > 31);
        }
        if let Some(prev) = self.prev.filter(|p| *p != h.date) {
            for (k, order) in ORDERS.into_iter().enumerate() {
                self.backwards[k] += u32::from(sort_key(order, h.date) < sort_key(order, prev));
            }
        }
        self.prev = Some(h.date);
    }
}

/// `(year, month, day)` under `order`, for comparing dates without validating them.
fn sort_key(order: DateOrder, [a, b, c]: [u16; 3]) -> (u16, u16, u16) {
    match order {
        DateOrder::DayMonthYear => (c, b, a),
        DateOrder::MonthDayYear => (c, a, b),
        DateOrder::YearMonthDay => (a, b, c),
        DateOrder::YearDayMonth => (a, c, b),
    }
}

/// The calendar date the three fields mean under `order` (two-digit years are 20xx).
/// Years 1300–1499 are Solar Hijri: Persian (and Afghan) phones write `۱۴۰۲/۱/۵` in the
/// calendar people there live by, and a Gregorian year 13xx–14xx never occurs in a chat.
pub(crate) fn to_date(order: DateOrder, fields: [u16; 3]) -> Option<NaiveDate> {
    let (y, m, d) = sort_key(order, fields);
    if (1300..1500).contains(&y) {
        return jalali_to_gregorian(i64::from(y), i64::from(m), i64::from(d));
    }
    let y = if y < 100 {
        2000 + i32::from(y)
    } else {
        i32::from(y)
    };
    NaiveDate::from_ymd_opt(y, u32::from(m), u32::from(d))
}

/// Solar Hijri (Jalali) to Gregorian, with the month lengths checked (months 1–6 have
/// 31 days, 7–11 30, Esfand 29 or 30).
fn jalali_to_gregorian(jy: i64, jm: i64, jd: i64) -> Option<NaiveDate> {
    let max_day = match jm {
        1..=6 => 31,
        7..=12 => 30,
        _ => return None,
    };
    if !(1..=max_day).contains(&jd) {
        return None;
    }
    let date = jalali_days(jy, jm, jd)?;
    // Esfand 30 of a common year is the next Farvardin 1 under the arithmetic: refuse it.
    (jm != 12 || jd != 30 || jalali_days(jy + 1, 1, 1) != Some(date)).then_some(date)
}

/// The arithmetic of jalaali-js (33-year cycles), without validation.
fn jalali_days(jy: i64, jm: i64, jd: i64) -> Option<NaiveDate> {
    let jy = jy + 1595;
    let month_days = if jm < 7 {
        (jm - 1) * 31
    } else {
        (jm - 7) * 30 + 186
    };
    let mut days = -355_668 + 365 * jy + (jy / 33) * 8 + ((jy % 33) + 3) / 4 + jd + month_days;
    let mut gy = 400 * (days / 146_097);
    days %= 146_097;
    if days > 36_524 {
        days -= 1;
        gy += 100 * (days / 36_524);
        days %= 36_524;
        if days >= 365 {
            days += 1;
        }
    }
    gy += 4 * (days / 1461);
    days %= 1461;
    if days > 365 {
        gy += (days - 1) / 365;
        days = (days - 1) % 365;
    }
    let first = NaiveDate::from_ymd_opt(i32::try_from(gy).ok()?, 1, 1)?;
    first.checked_add_days(chrono::Days::new(u64::try_from(days).ok()?))
}

/// Layouts tracked at most; a file has one, message text may imitate a few more.
const MAX_SHAPES: usize = 16;

/// The first pass: tally every header candidate of `text` by layout.
pub(crate) fn plan(text: &str) -> Plan {
    let mut shapes: Vec<(Shape, Votes)> = Vec::new();
    let mut last = 0usize;
    // Messages of one day share their date text; such lines add no vote (same fields,
    // no step backwards), so only a byte comparison is spent on them.
    let mut last_date: &[u8] = &[];
    let mut candidates = 0usize;
    for line in Lines::new(text) {
        if !quick_candidate(line.bytes) {
            continue;
        }
        candidates += 1;
        if !last_date.is_empty() && line.bytes.starts_with(last_date) {
            continue;
        }
        let Some(h) = parse_header(line.bytes) else {
            continue;
        };
        last_date = line.bytes.get(..h.date_len).unwrap_or_default();
        // Consecutive headers almost always share a layout: check the last one first.
        let idx = if shapes.get(last).is_some_and(|(s, _)| *s == h.shape) {
            Some(last)
        } else {
            shapes.iter().position(|(s, _)| *s == h.shape)
        };
        let idx = match idx {
            Some(i) => i,
            None if shapes.len() < MAX_SHAPES => {
                shapes.push((h.shape, Votes::default()));
                shapes.len() - 1
            }
            None => continue,
        };
        shapes[idx].1.add(&h);
        last = idx;
    }
    // Ties go to the layout seen first.
    let best = shapes
        .iter()
        .enumerate()
        .max_by_key(|(i, (_, v))| (v.count, std::cmp::Reverse(*i)));
    match best {
        Some((_, (shape, votes))) => {
            let (order, order_evidence) = decide(shape, votes);
            Plan {
                shape: Some(*shape),
                order,
                order_evidence,
                headers: candidates,
            }
        }
        None => Plan {
            shape: None,
            order: DateOrder::DayMonthYear,
            order_evidence: OrderEvidence::Default,
            headers: 0,
        },
    }
}

/// Cheap pre-filter: a header starts with a digit, `[`, or an invisible mark.
#[inline]
pub(crate) fn quick_candidate(line: &[u8]) -> bool {
    matches!(
        line.first(),
        Some(b'0'..=b'9' | b'[' | 0xE2 | 0xEF | 0xD8 | 0xD9 | 0xDB)
    )
}

fn decide(shape: &Shape, v: &Votes) -> (DateOrder, OrderEvidence) {
    use DateOrder::*;
    let year_first = match shape.long_year_first {
        Some(first) => first,
        // Two-digit years: year first only when the first field cannot be a day.
        None => v.over31[0] > 0 && v.over31[2] == 0,
    };
    let (a, b, fa, fb) = if year_first {
        (YearMonthDay, YearDayMonth, 2, 1)
    } else {
        (DayMonthYear, MonthDayYear, 0, 1)
    };
    // The day field of reading `a` is `fa`; a value > 12 in it is only possible under `a`.
    let (only_a, only_b) = (v.over12[fa], v.over12[fb]);
    let evidence = OrderEvidence::Unambiguous;
    match (only_a > 0, only_b > 0) {
        (true, false) => return (a, evidence),
        (false, true) => return (b, evidence),
        // Conflicting lines: keep the reading that makes fewer of them impossible.
        (true, true) => return (if only_b <= only_a { a } else { b }, evidence),
        (false, false) => {}
    }
    let idx = |o: DateOrder| ORDERS.iter().position(|x| *x == o).unwrap_or(0);
    let (ba, bb) = (v.backwards[idx(a)], v.backwards[idx(b)]);
    if ba != bb {
        return (if ba < bb { a } else { b }, OrderEvidence::Monotonic);
    }
    // Nothing tells them apart: US English phones write `AM`/`PM` in capitals with
    // slashes; Indian and British ones use `am`/`pm` (or 24 h) and put the day first.
    let us = !year_first && v.upper_ampm && shape.date_sep == b'/';
    (if us { b } else { a }, OrderEvidence::Default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_above_twelve_late_in_the_file_decides() {
        let mut text = String::new();
        for d in 1..=12 {
            text.push_str(&format!("{d}/1/21, 10:00 AM - A: x\n"));
        }
        text.push_str("1/13/21, 10:00 AM - A: x\n");
        assert_eq!(plan(&text).order, DateOrder::MonthDayYear);
        let text = text.replace("1/13/21", "13/1/21");
        assert_eq!(plan(&text).order, DateOrder::DayMonthYear);
    }

    #[test]
    fn monotonic_reading_wins_when_ambiguous() {
        // 01/02 then 02/01 then 03/01: day-first goes backwards once (1 Feb → 2 Jan).
        let text = "01/02/21, 10:00 - A: x\n02/01/21, 10:00 - A: x\n03/01/21, 10:00 - A: x\n";
        let p = plan(text);
        assert_eq!(
            (p.order, p.order_evidence),
            (DateOrder::MonthDayYear, OrderEvidence::Monotonic)
        );
    }

    #[test]
    fn solar_hijri_dates() {
        let d = |y, m, dd| to_date(DateOrder::YearMonthDay, [y, m, dd]).map(|d| d.to_string());
        assert_eq!(d(1402, 1, 1).as_deref(), Some("2023-03-21"));
        assert_eq!(d(1402, 1, 5).as_deref(), Some("2023-03-25"));
        assert_eq!(d(1399, 12, 30).as_deref(), Some("2021-03-20"));
        assert_eq!(d(1403, 10, 11).as_deref(), Some("2024-12-31"));
        // 1400 is a common year: Esfand has 29 days.
        assert_eq!(d(1400, 12, 30), None);
        assert_eq!(d(1402, 7, 31), None);
    }

    #[test]
    fn year_first() {
        let p = plan("2021-01-02 10:00 - A: x\n");
        assert_eq!(p.order, DateOrder::YearMonthDay);
    }
}
