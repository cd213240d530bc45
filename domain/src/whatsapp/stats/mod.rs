//! The free statistics: `chat_metadata`, with exactly the keys, types and thresholds of
//! the earlier Python service because the frontend reads them (`domain/tests/stats.rs` lists them).
//! Anything new lives under new keys.
//!
//! Computed in one pass over the messages in time order, with memory proportional to the
//! participants and the vocabulary, never to the number of messages.

mod builder;
mod counter;
mod emoji;
mod extended;
mod words;

use std::collections::BTreeMap;

use serde::Serialize;
use serde::ser::SerializeMap;

pub use builder::{
    INITIATION_GAP_SECONDS, LONGEST_MESSAGE_CHARS, MAX_LINKS, RESPONSE_WINDOW_SECONDS,
    StatsBuilder, TOP_EMOJIS, TOP_WORDS,
};

pub use extended::{
    Calls, Conversation, Counted, Distinctive, DomainCount, Extended, MAX_DOMAINS,
    MAX_PEOPLE_REPORTED, MediaByType, MonthResponse, Named, REPLY_MATRIX_PEOPLE,
    REPLY_WINDOW_SECONDS, ResponseTimes, Span, Streaks,
};

use super::parse::{FormatInfo, ParsedChat};

/// `chat_metadata` as stored with a chat and returned by the chat endpoints.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatMetadata {
    /// Messages written by participants (all classes; system lines are not messages, as in
    /// the earlier service, and are counted under `system_messages_count`).
    pub total_messages: u64,
    /// Filtered words across the chat (see the word rules in [`StatsBuilder`]).
    pub total_words: u64,
    /// First and last message times, ISO without offset.
    pub date_range: DateRange,
    /// Whole days between first and last message, plus one.
    pub total_days: i64,
    /// `total_messages / total_days`, 2 decimals.
    pub messages_per_day_avg: f64,
    /// Messages per calendar day (`YYYY-MM-DD`), days without messages absent.
    pub messages_by_date: BTreeMap<String, u64>,
    /// Deleted-message stubs.
    pub deleted_messages_count: u64,
    /// Media placeholders.
    pub media_shared_count: u64,
    /// `links.len()`, i.e. after the cap.
    pub links_shared_count: u64,
    /// The first 1,000 URLs in chat order.
    pub links: Vec<Link>,
    /// Hour of day (0–23) with the most messages; the earliest on a tie.
    pub busiest_hour: u32,
    /// Weekday name with the most messages; the earliest in the week on a tie.
    pub busiest_day: &'static str,
    /// Messages per hour of day.
    pub hourly_distribution: [u64; 24],
    /// Messages per weekday, Monday first.
    #[cfg_attr(feature = "openapi", schema(value_type = HashMap<String, u64>))]
    pub daily_distribution: DailyDistribution,
    /// Top 50 filtered words.
    pub top_words: Vec<WordCount>,
    /// Top 40 emoji, skin tones merged.
    pub top_emojis: Vec<EmojiCount>,
    /// Per participant, in order of first appearance.
    #[cfg_attr(feature = "openapi", schema(value_type = HashMap<String, UserStats>))]
    pub user_stats: UserStatsMap,
    /// New: lines WhatsApp wrote itself (encryption notice, "X added Y", …).
    // Absent from chats stored before the key existed.
    #[cfg_attr(feature = "openapi", schema(required = false))]
    pub system_messages_count: u64,
    /// New: messages edited after sending.
    // Absent from chats stored before the key existed.
    #[cfg_attr(feature = "openapi", schema(required = false))]
    pub edited_messages_count: u64,
    /// New: lines of the file the parser could not read.
    // Absent from chats stored before the key existed.
    #[cfg_attr(feature = "openapi", schema(required = false))]
    pub unreadable_lines_count: u64,
    /// New: what the parser detected about the export's format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parser: Option<FormatInfo>,
    /// New: the statistics beyond the earlier service's (see [`Extended`]).
    // Absent from chats stored before the key existed.
    #[cfg_attr(feature = "openapi", schema(required = false))]
    pub extended: Extended,
}

/// `{start, end}` of `date_range`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DateRange {
    /// First message time, `YYYY-MM-DDTHH:MM:SS`.
    pub start: Option<String>,
    /// Last message time.
    pub end: Option<String>,
}

/// One entry of `links`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Link {
    /// The URL as written.
    pub url: String,
    /// Who sent it.
    pub user: String,
    /// When, `YYYY-MM-DDTHH:MM:SS`.
    pub timestamp: String,
}

/// `{word, count}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WordCount {
    /// Lowercased word.
    pub word: String,
    /// Occurrences.
    pub count: u64,
}

/// `{emoji, count}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmojiCount {
    /// The emoji without skin-tone modifiers.
    pub emoji: String,
    /// Occurrences.
    pub count: u64,
}

/// `{"Monday": n, …, "Sunday": n}` in week order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DailyDistribution(pub [u64; 7]);

/// Weekday names, Monday first, as the frontend expects them.
pub const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

impl Serialize for DailyDistribution {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(7))?;
        for (name, n) in WEEKDAYS.iter().zip(self.0) {
            map.serialize_entry(name, &n)?;
        }
        map.end()
    }
}

/// `user_stats`: participant name → [`UserStats`], in order of first appearance.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserStatsMap(pub Vec<(String, UserStats)>);

impl UserStatsMap {
    /// The statistics of one participant.
    pub fn get(&self, name: &str) -> Option<&UserStats> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }
}

impl Serialize for UserStatsMap {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, stats) in &self.0 {
            map.serialize_entry(name, stats)?;
        }
        map.end()
    }
}

/// Per-participant statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserStats {
    /// Messages sent.
    pub message_count: u64,
    /// Filtered words.
    pub word_count: u64,
    /// `word_count / message_count`, 2 decimals.
    pub avg_words_per_message: f64,
    /// Mean characters of the non-deleted, non-media messages, 2 decimals.
    pub avg_message_length_chars: f64,
    /// Deleted stubs.
    pub deleted_messages: u64,
    /// Media placeholders.
    pub media_shared: u64,
    /// URLs sent (not capped).
    pub links_shared: u64,
    /// First message of the chat plus every message after a gap of 6 hours or more.
    pub conversation_initiations: u64,
    /// Percentage of this sender's runs of consecutive messages that are 2 or longer.
    pub double_texting_rate: f64,
    /// Messages containing `?`.
    pub questions_asked: u64,
    /// Mean reply gap (0 < gap < 4 h) after someone else's message, seconds, 2 decimals.
    pub avg_response_time_seconds: f64,
    /// Top 50 filtered words.
    pub top_words: Vec<WordCount>,
    /// Top 40 emoji.
    pub top_emojis: Vec<EmojiCount>,
    /// Hour of day with the most messages.
    pub busiest_hour: u32,
    /// Messages per hour of day.
    pub hourly_distribution: [u64; 24],
    /// The longest non-deleted, non-media message.
    pub longest_message: LongestMessage,
}

/// `longest_message`: `{0, 0, null, null}` when no message qualifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LongestMessage {
    /// `[a-z]` words longer than two letters.
    pub word_count: u64,
    /// Characters (Unicode scalar values) of the whole message.
    pub char_count: u64,
    /// When it was sent.
    pub timestamp: Option<String>,
    /// The text, cut to 500 characters plus `...` when longer.
    pub message: Option<String>,
}

/// Computes `chat_metadata` for a parsed chat. Messages are taken in time order (stable,
/// so equal times keep file order); exports are nearly always sorted already, and then
/// no index is built.
pub fn chat_metadata(chat: &ParsedChat<'_>) -> ChatMetadata {
    let mut b = StatsBuilder::new(&chat.participants);
    let sorted = chat
        .messages
        .windows(2)
        .all(|w| w[0].timestamp <= w[1].timestamp);
    if sorted {
        for m in &chat.messages {
            b.push(m.timestamp, m.author, &m.text, m.kind);
        }
    } else {
        let mut order: Vec<u32> = (0..chat.messages.len() as u32).collect();
        order.sort_by_key(|&i| chat.messages[i as usize].timestamp);
        for i in order {
            let m = &chat.messages[i as usize];
            b.push(m.timestamp, m.author, &m.text, m.kind);
        }
    }
    let mut meta = b.finish();
    meta.unreadable_lines_count = chat.unreadable_count as u64;
    meta.parser = Some(chat.format);
    meta.extended.chat_name.clone_from(&chat.chat_name);
    meta.extended.platform = chat.format.platform.name();
    meta
}

/// Rounds like Python's `round(x, 2)` (correctly rounded from the binary value).
pub(crate) fn round2(x: f64) -> f64 {
    if !x.is_finite() {
        return 0.0;
    }
    format!("{x:.2}").parse().unwrap_or(0.0)
}
