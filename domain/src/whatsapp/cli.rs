//! The JSON contract of `relivchats chat parse` (issue 3, item 6), which other tools read.
//!
//! `[{"timestamp": "YYYY-MM-DDTHH:MM:SS", "author": string|null, "message": string}, …]`
//! in file order, one message per line; `--summary` prints
//! `{"messages", "authors", "first", "last", "unreadable_lines"}` instead.

use std::io::{self, Write};

use chrono::{Datelike, NaiveDateTime, Timelike};
use serde::Serialize;

use super::parse::ParsedChat;

/// Writes the message array of the CLI contract. Streams, so a large chat never needs a
/// second copy of its text in memory.
pub fn write_cli_json<W: Write>(chat: &ParsedChat<'_>, out: &mut W) -> io::Result<()> {
    out.write_all(b"[")?;
    let mut stamp = [0u8; 19];
    for (i, m) in chat.iter().enumerate() {
        out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
        out.write_all(b"{\"timestamp\":\"")?;
        out.write_all(iso(m.timestamp, &mut stamp))?;
        out.write_all(b"\",\"author\":")?;
        serde_json::to_writer(&mut *out, &m.author)?;
        out.write_all(b",\"message\":")?;
        serde_json::to_writer(&mut *out, m.text)?;
        out.write_all(b"}")?;
    }
    out.write_all(if chat.messages.is_empty() {
        b"]"
    } else {
        b"\n]"
    })
}

/// The message array of the CLI contract as a string.
pub fn cli_json(chat: &ParsedChat<'_>) -> String {
    let mut out = Vec::with_capacity(chat.messages.len() * 96);
    // Writing to a Vec cannot fail, and serde_json only emits UTF-8.
    let _ = write_cli_json(chat, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// `relivchats chat parse --summary`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Number of messages, system lines included.
    pub messages: usize,
    /// Participants in order of first appearance.
    pub authors: Vec<String>,
    /// Timestamp of the first message in the file, `null` when there is none.
    pub first: Option<String>,
    /// Timestamp of the last message in the file.
    pub last: Option<String>,
    /// Line numbers that could not be read (at most 10,000 are listed).
    pub unreadable_lines: Vec<usize>,
}

/// Builds the `--summary` object.
pub fn summary(chat: &ParsedChat<'_>) -> Summary {
    let stamp = |t: NaiveDateTime| {
        let mut buf = [0u8; 19];
        String::from_utf8_lossy(iso(t, &mut buf)).into_owned()
    };
    Summary {
        messages: chat.messages.len(),
        authors: chat.participants.clone(),
        first: chat.messages.first().map(|m| stamp(m.timestamp)),
        last: chat.messages.last().map(|m| stamp(m.timestamp)),
        unreadable_lines: chat.unreadable_lines.clone(),
    }
}

/// `YYYY-MM-DDTHH:MM:SS` without going through chrono's formatter (it dominates the
/// profile of a million-message dump otherwise).
pub(crate) fn iso(t: NaiveDateTime, buf: &mut [u8; 19]) -> &[u8] {
    let year = t.year().clamp(0, 9999) as u32;
    let parts = [
        (year, 4, 0),
        (t.month(), 2, 5),
        (t.day(), 2, 8),
        (t.hour(), 2, 11),
        (t.minute(), 2, 14),
        (t.second(), 2, 17),
    ];
    *buf = *b"0000-00-00T00:00:00";
    for (mut v, width, at) in parts {
        for k in (0..width).rev() {
            buf[at + k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
    buf
}

/// The same format as an owned string, for metadata.
pub(crate) fn iso_string(t: NaiveDateTime) -> String {
    let mut buf = [0u8; 19];
    String::from_utf8_lossy(iso(t, &mut buf)).into_owned()
}
