//! Splitting text into lines with `memchr`, keeping byte offsets so message bodies can be
//! borrowed from the input instead of copied.

/// One line of the input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line<'a> {
    /// 1-based line number.
    pub(crate) number: usize,
    /// Byte offset of the line in the text.
    pub(crate) start: usize,
    /// The line without its `\n` and without one trailing `\r`.
    pub(crate) bytes: &'a [u8],
}

/// Iterator over the lines of a text (`\n` or `\r\n` endings).
pub(crate) struct Lines<'a> {
    text: &'a [u8],
    pos: usize,
    number: usize,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            text: text.as_bytes(),
            pos: 0,
            number: 0,
        }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = Line<'a>;

    #[inline]
    fn next(&mut self) -> Option<Line<'a>> {
        if self.pos >= self.text.len() {
            return None;
        }
        let start = self.pos;
        let rest = &self.text[start..];
        let end = memchr::memchr(b'\n', rest).map_or(self.text.len(), |i| start + i);
        self.pos = end + 1;
        self.number += 1;
        let mut bytes = &self.text[start..end];
        if let [head @ .., b'\r'] = bytes {
            bytes = head;
        }
        Some(Line {
            number: self.number,
            start,
            bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lf_and_crlf() {
        let v: Vec<_> = Lines::new("a\r\nb\n\nc")
            .map(|l| (l.number, l.start, l.bytes))
            .collect();
        assert_eq!(
            v,
            vec![
                (1, 0, &b"a"[..]),
                (2, 3, &b"b"[..]),
                (3, 5, &b""[..]),
                (4, 6, &b"c"[..])
            ]
        );
        assert_eq!(Lines::new("").count(), 0);
        assert_eq!(Lines::new("x\n").count(), 1);
    }
}
