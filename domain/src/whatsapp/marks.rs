//! Invisible characters that WhatsApp sprinkles into exports.
//!
//! Phones insert bidirectional marks around names, phone numbers and placeholders
//! (U+200E LEFT-TO-RIGHT MARK before iOS media lines, U+202A…U+202C around `+` numbers,
//! U+2068/U+2069 isolates on newer Android), and use non-breaking spaces inside times
//! (`10:30\u{202F}pm`). The header scanner skips them; names have them removed.

/// Byte length of the invisible mark starting at `b[i]`, or 0 when there is none.
///
/// Recognised: U+200B–U+200F (zero-width and direction marks), U+202A–U+202E (embeddings),
/// U+2060 (word joiner), U+2066–U+2069 (isolates), U+061C (Arabic letter mark), U+FEFF (BOM).
#[inline]
pub(crate) fn mark_len(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(0xE2) => match (b.get(i + 1), b.get(i + 2)) {
            (Some(0x80), Some(0x8B..=0x8F | 0xAA..=0xAE)) => 3,
            (Some(0x81), Some(0xA0 | 0xA6..=0xA9)) => 3,
            _ => 0,
        },
        Some(0xEF) if b.get(i + 1) == Some(&0xBB) && b.get(i + 2) == Some(&0xBF) => 3,
        Some(0xD8) if b.get(i + 1) == Some(&0x9C) => 2,
        _ => 0,
    }
}

/// Byte length of the space-like character at `b[i]` (space, tab, NBSP, NNBSP, thin or
/// figure space), or 0.
#[inline]
pub(crate) fn space_len(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b' ' | b'\t') => 1,
        Some(0xC2) if b.get(i + 1) == Some(&0xA0) => 2,
        Some(0xE2) => match (b.get(i + 1), b.get(i + 2)) {
            (Some(0x80), Some(0x87 | 0x89 | 0xAF)) => 3,
            _ => 0,
        },
        _ => 0,
    }
}

/// `s` without its invisible marks, borrowed when it has none (the usual case).
pub(crate) fn strip_marks(s: &str) -> std::borrow::Cow<'_, str> {
    let b = s.as_bytes();
    let has_mark = (0..b.len()).any(|i| mark_len(b, i) > 0);
    if !has_mark {
        return std::borrow::Cow::Borrowed(s.trim());
    }
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        let n = mark_len(b, i);
        if n > 0 {
            i += n;
            continue;
        }
        let ch_len = utf8_len(b[i]);
        out.push_str(s.get(i..i + ch_len).unwrap_or_default());
        i += ch_len.max(1);
    }
    let trimmed = out.trim();
    if trimmed.len() == out.len() {
        std::borrow::Cow::Owned(out)
    } else {
        trimmed.to_owned().into()
    }
}

/// Length of the UTF-8 sequence that starts with `lead` (1 for ASCII and stray bytes).
#[inline]
pub(crate) fn utf8_len(lead: u8) -> usize {
    match lead {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// `s` without one leading U+200E / U+200F (iOS puts one before placeholders and notices).
#[inline]
pub(crate) fn strip_leading_direction_mark(s: &str) -> &str {
    s.strip_prefix('\u{200E}')
        .or_else(|| s.strip_prefix('\u{200F}'))
        .unwrap_or(s)
}

/// `s` without invisible marks at its end.
pub(crate) fn strip_trailing_marks(s: &str) -> &str {
    s.trim_end_matches(|c: char| {
        let mut buf = [0u8; 4];
        mark_len(c.encode_utf8(&mut buf).as_bytes(), 0) > 0 || c.is_whitespace()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_recognised() {
        for m in [
            "\u{200E}", "\u{200F}", "\u{202A}", "\u{202C}", "\u{2068}", "\u{2069}", "\u{FEFF}",
            "\u{061C}",
        ] {
            assert_eq!(mark_len(m.as_bytes(), 0), m.len(), "{m:?}");
        }
        assert_eq!(mark_len("a".as_bytes(), 0), 0);
        assert_eq!(mark_len("\u{2013}".as_bytes(), 0), 0);
    }

    #[test]
    fn strip_marks_keeps_text() {
        assert_eq!(
            strip_marks("\u{202A}+91 98765 43210\u{202C}"),
            "+91 98765 43210"
        );
        assert_eq!(strip_marks("Ana 🌸"), "Ana 🌸");
        assert_eq!(strip_marks("\u{2068}Bob\u{2069}"), "Bob");
    }
}
