//! Recognising the timestamp header that starts every exported message.
//!
//! One hand-written scanner covers every layout we know of, instead of one regex per
//! locale: `12/08/2016, 16:20 - `, `[12/08/2016, 16:20:15] `, `2016-08-12 16:20 - `,
//! `12.08.16, 4:20 p. m. - `, `2016. 8. 12. 오후 4:20 - `, `12.8.2016 klo 16.20 - `,
//! `١٢‏/٨‏/٢٠١٦ ٤:٢٠ م - ` … The scanner only reads the *syntax*: which number is the
//! day is decided later from the whole file (see [`super::plan`]).

use super::marks::{mark_len, space_len};

mod markers;

use markers::{is_filler, meridiem_of};

/// Whether a 12-hour clock marker said morning or afternoon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Meridiem {
    Am,
    Pm,
}

/// The layout of a header, independent of its numbers. A file is written in one layout;
/// lines in another layout are message text that happens to look like a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Shape {
    pub(crate) bracket: bool,
    pub(crate) date_sep: u8,
    /// Where the four-digit year is: `Some(true)` first, `Some(false)` last, `None` 2-digit.
    pub(crate) long_year_first: Option<bool>,
    pub(crate) seconds: bool,
    pub(crate) time_sep: u8,
    /// 0: 24-hour clock, 1: marker before the time, 2: marker after it.
    pub(crate) meridiem_pos: u8,
    /// How the header ends: `]`, ` - ` or `: `.
    pub(crate) terminator: u8,
}

/// A header as written: three date numbers in file order, the time, and where the rest of
/// the line starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawHeader {
    pub(crate) date: [u16; 3],
    pub(crate) hour: u8,
    pub(crate) minute: u8,
    pub(crate) second: u8,
    pub(crate) meridiem: Option<Meridiem>,
    /// Whether the marker was written `AM`/`PM` in capitals, as US English phones do.
    pub(crate) upper_ampm: bool,
    pub(crate) shape: Shape,
    /// Byte offset in the line where the text after the header starts.
    pub(crate) rest: usize,
    /// Bytes of the line up to the end of the date (lines that start with the same bytes
    /// carry the same date).
    pub(crate) date_len: usize,
}

impl RawHeader {
    /// The hour on a 24-hour clock, or `None` when it does not exist (25:00, 13 PM).
    pub(crate) fn hour24(&self) -> Option<u32> {
        let h = u32::from(self.hour);
        match self.meridiem {
            None if h < 24 => Some(h),
            // Japanese clocks write 午後0:30 for 12:30, so 0 is accepted with a marker.
            Some(Meridiem::Am) if h <= 12 => Some(h % 12),
            Some(Meridiem::Pm) if h <= 12 => Some(h % 12 + 12),
            _ => None,
        }
    }
}

/// The date at the start of a header line, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DatePart {
    pub(crate) date: [u16; 3],
    pub(crate) bracket: bool,
    pub(crate) date_sep: u8,
    pub(crate) long_year_first: Option<bool>,
    /// Bytes of the line up to the end of the date.
    pub(crate) len: usize,
}

/// Reads one header at the start of `line`, or `None` when the line does not start with one.
pub(crate) fn parse_header(line: &[u8]) -> Option<RawHeader> {
    let mut c = Cursor {
        b: line,
        i: 0,
        post_start: 0,
    };
    let date = parse_date(&mut c)?;
    parse_after_date(c, date)
}

/// Like [`parse_header`] for a line known to start with the same bytes as the line `date`
/// was read from: consecutive messages share their date, so only the time is read.
pub(crate) fn parse_header_same_date(line: &[u8], date: DatePart) -> Option<RawHeader> {
    parse_after_date(
        Cursor {
            b: line,
            i: date.len,
            post_start: 0,
        },
        date,
    )
}

fn parse_date(c: &mut Cursor<'_>) -> Option<DatePart> {
    c.skip_marks();
    let bracket = c.eat(b'[');
    c.skip_marks();
    let (f1, l1) = c.number(4)?;
    let date_sep = c.date_sep()?;
    let (f2, _) = c.number(2)?;
    if c.date_sep()? != date_sep {
        return None;
    }
    let (f3, l3) = c.number(4)?;
    let long_year_first = match (l1, l3) {
        (4, 1 | 2) => Some(true),
        (1 | 2, 4) => Some(false),
        (1 | 2, 1 | 2) => None,
        _ => return None,
    };
    Some(DatePart {
        date: [f1, f2, f3],
        bracket,
        date_sep,
        long_year_first,
        len: c.i,
    })
}

fn parse_after_date(mut c: Cursor<'_>, d: DatePart) -> Option<RawHeader> {
    let DatePart {
        date,
        bracket,
        date_sep,
        long_year_first,
        len: date_len,
    } = d;
    c.skip_marks();
    // Hungarian and Korean dates end with a dot: `2016. 08. 12.`.
    if date_sep == b'.' {
        c.eat(b'.');
    }
    // `,` or the Arabic comma U+060C (Arabic and Persian Android: `9/4/2023، 10:08 م`).
    if !c.eat(b',') && c.b.get(c.i..c.i + 2) == Some(&[0xD8, 0x8C]) {
        c.i += 2;
    }
    c.skip_blank();
    let pre = c.words_before_time()?;
    let (hour, _) = c.number(2)?;
    let time_sep = match c.next()? {
        s @ (b':' | b'.') => s,
        _ => return None,
    };
    let (minute, lm) = c.number(2)?;
    let mut second = 0;
    let mut seconds = false;
    if c.peek() == Some(time_sep) && c.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
        c.i += 1;
        let (s, ls) = c.number(2)?;
        (second, seconds) = (s, ls == 2);
        if !seconds {
            return None;
        }
    }
    if lm != 2 || minute > 59 || second > 59 || hour > 24 {
        return None;
    }
    let post = c.meridiem_after_time()?;
    let post_at = c.post_start;
    let meridiem = pre.or(post);
    let upper_ampm = post.is_some()
        && c.b
            .get(post_at..post_at + 2)
            .is_some_and(|w| matches!(w, b"AM" | b"PM"));
    let terminator = c.terminator(bracket)?;
    let shape = Shape {
        bracket,
        date_sep,
        long_year_first,
        seconds,
        time_sep,
        meridiem_pos: if pre.is_some() {
            1
        } else if post.is_some() {
            2
        } else {
            0
        },
        terminator,
    };
    Some(RawHeader {
        date,
        hour: hour as u8,
        minute: minute as u8,
        second: second as u8,
        meridiem,
        upper_ampm,
        shape,
        rest: c.i,
        date_len,
    })
}

impl RawHeader {
    /// The date part this header was read with, for [`parse_header_same_date`].
    pub(crate) fn date_part(&self) -> DatePart {
        DatePart {
            date: self.date,
            bracket: self.shape.bracket,
            date_sep: self.shape.date_sep,
            long_year_first: self.shape.long_year_first,
            len: self.date_len,
        }
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
    /// Where the marker after the time starts, once read.
    post_start: usize,
}

impl Cursor<'_> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    fn peek_at(&self, k: usize) -> Option<u8> {
        self.b.get(self.i + k).copied()
    }

    #[inline]
    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.i += 1;
        Some(b)
    }

    #[inline]
    fn eat(&mut self, want: u8) -> bool {
        let hit = self.peek() == Some(want);
        self.i += usize::from(hit);
        hit
    }

    #[inline]
    fn skip_marks(&mut self) {
        loop {
            let n = mark_len(self.b, self.i);
            if n == 0 {
                return;
            }
            self.i += n;
        }
    }

    /// Skips spaces and marks; returns whether anything was skipped.
    #[inline]
    fn skip_blank(&mut self) -> bool {
        let start = self.i;
        loop {
            // Fast path: a plain space, or any other ASCII byte (which ends the run).
            match self.peek() {
                Some(b' ') => {
                    self.i += 1;
                    continue;
                }
                Some(b) if b < 0x80 && b != b'\t' => return self.i > start,
                None => return self.i > start,
                _ => {}
            }
            let n = space_len(self.b, self.i).max(mark_len(self.b, self.i));
            if n == 0 {
                return self.i > start;
            }
            self.i += n;
        }
    }

    /// A date separator, with the marks and the single space some locales put around it.
    fn date_sep(&mut self) -> Option<u8> {
        self.skip_marks();
        let sep = match self.next()? {
            s @ (b'/' | b'.' | b'-') => s,
            _ => return None,
        };
        self.skip_marks();
        self.eat(b' ');
        Some(sep)
    }

    /// An unsigned number of at most `max` digits: ASCII, Arabic-Indic or Persian digits.
    #[inline]
    fn number(&mut self, max: usize) -> Option<(u16, usize)> {
        let mut value: u16 = 0;
        let mut digits = 0;
        while digits < max {
            let (d, len) = match self.peek()? {
                b @ b'0'..=b'9' => (b - b'0', 1),
                0xD9 => match self.peek_at(1) {
                    Some(b @ 0xA0..=0xA9) => (b - 0xA0, 2),
                    _ => break,
                },
                0xDB => match self.peek_at(1) {
                    Some(b @ 0xB0..=0xB9) => (b - 0xB0, 2),
                    _ => break,
                },
                _ => break,
            };
            value = value * 10 + u16::from(d);
            digits += 1;
            self.i += len;
        }
        if digits == 0 || self.peek().is_some_and(|b| b.is_ascii_digit()) {
            return None;
        }
        Some((value, digits))
    }

    fn at_digit(&self) -> bool {
        match self.peek() {
            Some(b'0'..=b'9') => true,
            Some(0xD9) => matches!(self.peek_at(1), Some(0xA0..=0xA9)),
            Some(0xDB) => matches!(self.peek_at(1), Some(0xB0..=0xB9)),
            _ => false,
        }
    }

    /// Up to two words between date and time: a filler (`klo`, `um`) or a marker written
    /// before the time (`오후`, `下午`, `午後`). Returns the marker, if one was seen.
    fn words_before_time(&mut self) -> Option<Option<Meridiem>> {
        let mut meridiem = None;
        for _ in 0..2 {
            if self.at_digit() {
                return Some(meridiem);
            }
            let start = self.i;
            while self.i - start < 16 {
                match self.peek() {
                    None | Some(b' ') => break,
                    Some(b) if b.is_ascii_digit() || b == b':' || b == b'-' || b == b']' => break,
                    Some(_) if space_len(self.b, self.i) > 0 || self.at_digit() => break,
                    Some(_) => self.i += 1,
                }
            }
            let word = self.b.get(start..self.i)?;
            if word.is_empty() {
                return None;
            }
            match meridiem_of(word) {
                Some(m) => meridiem = Some(m),
                None if is_filler(word) => {}
                None => return None,
            }
            self.skip_blank();
        }
        self.at_digit().then_some(meridiem)
    }

    /// A marker after the time (`PM`, `p. m.`, `nachm.`, `μ.μ.`), or `Some(None)` when
    /// the header goes straight on to its terminator.
    fn meridiem_after_time(&mut self) -> Option<Option<Meridiem>> {
        let save = self.i;
        self.skip_blank();
        let start = self.i;
        while self.i - start < 20 {
            match self.peek() {
                None | Some(b']' | b'-' | b':' | b',') => break,
                Some(b) if b.is_ascii_digit() => return None,
                // An en dash (U+2013) ends the header on some Android locales.
                Some(0xE2) if self.b.get(self.i + 1..self.i + 3) == Some(&[0x80, 0x93]) => break,
                Some(_) => self.i += 1,
            }
        }
        let word = self.b.get(start..self.i)?;
        if word.iter().all(|&b| b == b' ') || is_blank(word) {
            self.i = save;
            return Some(None);
        }
        let trimmed = trim_blank_end(word);
        let m = meridiem_of(trimmed)?;
        self.post_start = start;
        self.i = start + trimmed.len();
        Some(Some(m))
    }

    /// The end of the header: `]` (iOS), ` - ` / ` – ` (Android) or `: ` (old iOS).
    fn terminator(&mut self, bracket: bool) -> Option<u8> {
        self.skip_blank();
        if bracket {
            if !self.eat(b']') {
                return None;
            }
            self.skip_blank();
            return Some(b']');
        }
        let kind = if self.eat(b'-') {
            b'-'
        } else if self.b.get(self.i..self.i + 3) == Some("–".as_bytes()) {
            self.i += 3;
            b'-'
        } else if self.eat(b':') {
            b':'
        } else {
            return None;
        };
        // A header is always followed by a space; `16:20 -5°C` is not one.
        if !self.skip_blank() && self.peek().is_some() {
            return None;
        }
        Some(kind)
    }
}

fn is_blank(word: &[u8]) -> bool {
    let mut i = 0;
    while i < word.len() {
        let n = space_len(word, i).max(mark_len(word, i));
        if n == 0 {
            return false;
        }
        i += n;
    }
    true
}

fn trim_blank_end(word: &[u8]) -> &[u8] {
    let mut end = word.len();
    while end > 0 {
        let tail = &word[..end];
        let n = [1, 2, 3]
            .into_iter()
            .filter(|&k| k <= end)
            .find(|&k| space_len(tail, end - k) == k || mark_len(tail, end - k) == k)
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        end -= n;
    }
    &word[..end]
}

#[cfg(test)]
mod tests;
