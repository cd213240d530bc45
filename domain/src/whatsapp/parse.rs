//! The second pass: turning lines into messages, borrowing text from the input.

use std::borrow::Cow;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use rustc_hash::FxHashMap;
use serde::Serialize;

use super::header::{DatePart, RawHeader, parse_header, parse_header_same_date};
use super::kind::{MessageKind, classify};
use super::lines::{Line, Lines};
use super::marks::{strip_leading_direction_mark, strip_marks};
use super::plan::{DateOrder, OrderEvidence, Plan, plan, quick_candidate, to_date};

mod chat_name;
mod notices;

pub(crate) use chat_name::EXPORT_PREFIXES;
pub use chat_name::chat_name_from_file_name;
use chat_name::drop_chat_name_authors;
use notices::{is_event, is_system_notice, quoted_group_name};

/// Index of a participant in [`ParsedChat::participants`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AuthorId(pub u32);

impl AuthorId {
    /// The index into [`ParsedChat::participants`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One message. The text borrows from the input unless it had to change (CRLF endings).
/// The author is an index rather than a `String` so a million messages cost 48 bytes each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    /// Local wall-clock time as written in the export (no zone: phones do not record one).
    pub timestamp: NaiveDateTime,
    /// `None` for lines WhatsApp wrote itself.
    pub author: Option<AuthorId>,
    /// The body: continuation lines joined with `\n`; one leading U+200E/U+200F,
    /// carriage returns and trailing whitespace removed; nothing else changed.
    pub text: Cow<'a, str>,
    /// What the message is.
    pub kind: MessageKind,
}

/// A message with its author's name resolved, as handed out by [`ParsedChat::iter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageView<'c> {
    /// See [`Message::timestamp`].
    pub timestamp: NaiveDateTime,
    /// The author's name with invisible marks removed; `None` for system lines.
    pub author: Option<&'c str>,
    /// The author's index, for per-participant tables.
    pub author_id: Option<AuthorId>,
    /// See [`Message::text`].
    pub text: &'c str,
    /// See [`Message::kind`].
    pub kind: MessageKind,
}

/// Which app wrote the export, as far as the layout tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// `date, time - Name: text`.
    Android,
    /// `[date, time] Name: text`.
    Ios,
    /// No header found.
    Unknown,
    /// Telegram Desktop JSON export (`result.json`).
    Telegram,
    /// Instagram JSON export (`message_1.json`).
    Instagram,
    /// Facebook Messenger JSON export (`message_1.json`).
    Messenger,
}

impl Platform {
    /// The service the export came from, as stored in `chats.platform`: `whatsapp`,
    /// `telegram`, `instagram` or `messenger`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Android | Self::Ios | Self::Unknown => "whatsapp",
            Self::Telegram => "telegram",
            Self::Instagram => "instagram",
            Self::Messenger => "messenger",
        }
    }
}

/// What the parser detected about the file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FormatInfo {
    /// Android or iOS layout.
    pub platform: Platform,
    /// Which number was taken as the day.
    pub date_order: DateOrder,
    /// Why that order was chosen.
    pub date_order_evidence: OrderEvidence,
    /// Whether times use a 12-hour clock with AM/PM markers.
    pub twelve_hour_clock: bool,
    /// Whether times carry seconds.
    pub seconds: bool,
}

/// Unreadable line numbers kept at most; [`ParsedChat::unreadable_count`] has the total.
pub const MAX_UNREADABLE_REPORTED: usize = 10_000;

/// A parsed export.
#[derive(Debug, Clone)]
pub struct ParsedChat<'a> {
    /// Messages in file order.
    pub messages: Vec<Message<'a>>,
    /// Distinct authors (invisible marks removed) in order of first appearance.
    pub participants: Vec<String>,
    /// 1-based numbers of lines that could not be read: text before the first message,
    /// and header-like lines with an impossible date (their text is kept in the previous
    /// message). At most [`MAX_UNREADABLE_REPORTED`] entries.
    pub unreadable_lines: Vec<usize>,
    /// How many lines were unreadable in total.
    pub unreadable_count: usize,
    /// The detected format.
    pub format: FormatInfo,
    /// The chat's own name where the export tells it (the iOS group name, a "created
    /// group" notice, or the file name: see [`chat_name_from_file_name`]).
    pub chat_name: Option<String>,
}

impl ParsedChat<'_> {
    /// The name behind an author id.
    pub fn author_name(&self, id: AuthorId) -> &str {
        self.participants.get(id.index()).map_or("", String::as_str)
    }

    /// Messages with author names resolved, in file order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = MessageView<'_>> + '_ {
        self.messages.iter().map(|m| self.view(m))
    }

    /// One message with its author's name resolved.
    pub fn view<'c>(&'c self, m: &'c Message<'_>) -> MessageView<'c> {
        MessageView {
            timestamp: m.timestamp,
            author: m.author.map(|id| self.author_name(id)),
            author_id: m.author,
            text: &m.text,
            kind: m.kind,
        }
    }

    /// The chat title the product shows: the chat's own name when known ([`Self::chat_name`]),
    /// else `"Alice, Bob"` for two participants, otherwise `"Group chat (N participants)"`
    /// (as the earlier service did, one participant included).
    pub fn title(&self) -> String {
        if let Some(name) = &self.chat_name {
            return name.clone();
        }
        match self.participants.as_slice() {
            [a, b] => format!("{a}, {b}"),
            p => format!("Group chat ({} participants)", p.len()),
        }
    }
}

/// Parses decoded export text. Never fails: what it cannot read is reported in
/// [`ParsedChat::unreadable_lines`]; an empty text gives an empty chat.
pub fn parse(text: &str) -> ParsedChat<'_> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let plan = plan(text);
    let mut b = Builder::new(text, plan);
    for line in Lines::new(text) {
        b.line(line);
    }
    b.finish()
}

/// A message whose body may still grow by continuation lines.
struct Pending {
    timestamp: NaiveDateTime,
    author: Option<u32>,
    body_start: usize,
    body_end: usize,
    /// End of the header line: where the first line of the body ends.
    first_line_end: usize,
}

#[derive(Default, Clone, Copy)]
struct AuthorTally {
    /// Messages that are not "mark + plain text", i.e. that a person plausibly wrote.
    personal: u32,
}

struct Builder<'a> {
    text: &'a str,
    plan: Plan,
    messages: Vec<Message<'a>>,
    unreadable: Vec<usize>,
    unreadable_count: usize,
    pending: Option<Pending>,
    names: Vec<String>,
    tallies: Vec<AuthorTally>,
    ids: FxHashMap<String, u32>,
    raw_ids: FxHashMap<&'a [u8], u32>,
    last_raw_author: (&'a [u8], u32),
    last_date: ([u16; 3], Option<NaiveDate>),
    /// The date bytes and date of the last header read.
    last_header: Option<(&'a [u8], DatePart)>,
    /// Whether the text has any `\r` at all (one scan instead of one per message).
    has_cr: bool,
    /// The group's name, from a "created group" notice.
    chat_name: Option<String>,
}

impl<'a> Builder<'a> {
    fn new(text: &'a str, plan: Plan) -> Self {
        Self {
            text,
            plan,
            messages: Vec::with_capacity(plan.headers),
            unreadable: Vec::new(),
            unreadable_count: 0,
            pending: None,
            names: Vec::new(),
            tallies: Vec::new(),
            ids: FxHashMap::default(),
            raw_ids: FxHashMap::default(),
            last_raw_author: (&[], u32::MAX),
            last_date: ([0; 3], None),
            last_header: None,
            has_cr: memchr::memchr(b'\r', text.as_bytes()).is_some(),
            chat_name: None,
        }
    }

    #[inline]
    fn line(&mut self, line: Line<'a>) {
        let header = match self.plan.shape {
            Some(shape) if quick_candidate(line.bytes) => {
                self.header(line.bytes).filter(|h| h.shape == shape)
            }
            _ => None,
        };
        let end = line.start + line.bytes.len();
        let Some(h) = header else {
            return self.continuation(line, end, false);
        };
        let Some(timestamp) = self.timestamp(&h) else {
            return self.continuation(line, end, true);
        };
        self.flush();
        let rest_start = line.start + h.rest;
        let rest = line.bytes.get(h.rest..).unwrap_or_default();
        let (author, body_start) = match split_author(rest) {
            Some((name, body_off)) => (Some(name), rest_start + body_off),
            None => (None, rest_start),
        };
        let body = self.text.get(body_start..end).unwrap_or_default();
        let system = author.is_some() && is_system_notice(strip_leading_direction_mark(body));
        let author = if system {
            None
        } else {
            author.map(|raw| self.author_id(raw))
        };
        self.pending = Some(Pending {
            timestamp,
            author,
            body_start,
            body_end: end,
            first_line_end: end,
        });
    }

    /// Reads a header, skipping the date when the line repeats the previous header's date.
    #[inline]
    fn header(&mut self, bytes: &'a [u8]) -> Option<RawHeader> {
        let h = match self.last_header {
            Some((prefix, date)) if bytes.starts_with(prefix) => {
                parse_header_same_date(bytes, date)
            }
            _ => parse_header(bytes),
        }?;
        self.last_header = Some((bytes.get(..h.date_len).unwrap_or_default(), h.date_part()));
        Some(h)
    }

    /// A line that is not a header: more text for the current message, or unreadable.
    fn continuation(&mut self, line: Line<'a>, end: usize, bad_header: bool) {
        match &mut self.pending {
            Some(p) => p.body_end = end,
            None if line.bytes.iter().all(u8::is_ascii_whitespace) => return,
            None => {}
        }
        if bad_header || self.pending.is_none() {
            self.unreadable_count += 1;
            if self.unreadable.len() < MAX_UNREADABLE_REPORTED {
                self.unreadable.push(line.number);
            }
        }
    }

    fn timestamp(&mut self, h: &RawHeader) -> Option<NaiveDateTime> {
        // Consecutive messages usually share a date: skip re-validating it.
        let date = if self.last_date.0 == h.date && self.last_date.1.is_some() {
            self.last_date.1
        } else {
            let d = to_date(self.plan.order, h.date);
            self.last_date = (h.date, d);
            d
        }?;
        let time = NaiveTime::from_hms_opt(h.hour24()?, u32::from(h.minute), u32::from(h.second))?;
        Some(NaiveDateTime::new(date, time))
    }

    fn author_id(&mut self, raw: &'a [u8]) -> u32 {
        if self.last_raw_author.0 == raw {
            return self.last_raw_author.1;
        }
        // Names repeat byte for byte, so the raw bytes are looked up before any cleaning.
        if let Some(&id) = self.raw_ids.get(raw) {
            self.last_raw_author = (raw, id);
            return id;
        }
        let raw_str = std::str::from_utf8(raw).unwrap_or_default();
        let name = strip_marks(raw_str);
        let id = match self.ids.get(name.as_ref()) {
            Some(&id) => id,
            None => {
                let id = self.names.len() as u32;
                self.ids.insert(name.to_string(), id);
                self.names.push(name.into_owned());
                self.tallies.push(AuthorTally::default());
                id
            }
        };
        self.raw_ids.insert(raw, id);
        self.last_raw_author = (raw, id);
        id
    }

    fn flush(&mut self) {
        let Some(p) = self.pending.take() else { return };
        let raw = self.text.get(p.body_start..p.body_end).unwrap_or_default();
        let stripped = strip_leading_direction_mark(raw);
        let mark_len = raw.len() - stripped.len();
        let had_mark = mark_len > 0;
        let had_lrm = raw.starts_with('\u{200E}');
        let body = stripped.trim_end();
        let first_len = p
            .first_line_end
            .saturating_sub(p.body_start + mark_len)
            .min(body.len());
        let first_line = body.get(..first_len).unwrap_or(body);
        let mut kind = if p.author.is_none() {
            MessageKind::System
        } else {
            classify(body, first_line, had_mark)
        };
        let mut author = p.author;
        // iOS group events carry the mark; under the chat's name or the actor's own.
        if had_mark && kind == MessageKind::Text && is_event(body) {
            if self.chat_name.is_none() {
                self.chat_name = quoted_group_name(body).map(str::to_owned);
            }
            kind = MessageKind::System;
            author = None;
        }
        if author.is_none() && self.chat_name.is_none() && kind == MessageKind::System {
            self.chat_name = quoted_group_name(body).map(str::to_owned);
        }
        if let Some(t) = author.and_then(|a| self.tallies.get_mut(a as usize)) {
            t.personal += u32::from(!(had_lrm && kind == MessageKind::Text));
        }
        let text = if self.has_cr && memchr::memchr(b'\r', body.as_bytes()).is_some() {
            Cow::Owned(body.replace('\r', ""))
        } else {
            Cow::Borrowed(body)
        };
        self.messages.push(Message {
            timestamp: p.timestamp,
            author: author.map(AuthorId),
            text,
            kind,
        });
    }

    fn finish(mut self) -> ParsedChat<'a> {
        self.flush();
        let shape = self.plan.shape;
        let ios = shape.is_some_and(|s| s.terminator != b'-');
        let (participants, messages, dropped) = if ios {
            drop_chat_name_authors(self.names, &self.tallies, self.messages)
        } else {
            (self.names, self.messages, None)
        };
        // The chat's name: the iOS author that turned out to be the chat, else the
        // "created group" notice.
        let chat_name = dropped.or(self.chat_name);
        let format = FormatInfo {
            platform: match shape {
                Some(s) if s.terminator == b'-' => Platform::Android,
                Some(_) => Platform::Ios,
                None => Platform::Unknown,
            },
            date_order: self.plan.order,
            date_order_evidence: self.plan.order_evidence,
            twelve_hour_clock: shape.is_some_and(|s| s.meridiem_pos != 0),
            seconds: shape.is_some_and(|s| s.seconds),
        };
        ParsedChat {
            messages,
            participants,
            chat_name,
            unreadable_lines: self.unreadable,
            unreadable_count: self.unreadable_count,
            format,
        }
    }
}

/// Longest author name we accept, in bytes; longer "names" are text with a colon in it.
const MAX_AUTHOR_LEN: usize = 160;

/// Splits `Name: text` into the raw name and the offset where the text starts.
/// The name is what precedes the first `": "`; a candidate with quotes is a system line
/// quoting something (`X changed the subject from "a: b"`).
fn split_author(rest: &[u8]) -> Option<(&[u8], usize)> {
    let window = &rest[..rest.len().min(MAX_AUTHOR_LEN + 2)];
    let mut from = 0;
    while let Some(i) = memchr::memchr(b':', window.get(from..)?) {
        let colon = from + i;
        let next = rest.get(colon + 1).copied();
        if next == Some(b' ') || next.is_none() {
            let name = &rest[..colon];
            if name.is_empty() || name.len() > MAX_AUTHOR_LEN || has_quote(name) {
                return None;
            }
            return Some((name, (colon + 2).min(rest.len())));
        }
        from = colon + 1;
    }
    None
}

fn has_quote(name: &[u8]) -> bool {
    memchr::memchr(b'"', name).is_some() || memchr::memmem::find(name, "“".as_bytes()).is_some()
}

#[cfg(test)]
mod tests;
