//! Reading WhatsApp chat exports: decoding uploads, parsing every export layout, and the
//! free statistics (`chat_metadata`).
//!
//! Pure: everything works on bytes and strings in memory; callers do the I/O (and run
//! this on a blocking thread: a 25 MiB chat takes a noticeable fraction of a second).
//!
//! ```
//! use relivchats_domain::whatsapp;
//!
//! let bytes = b"12/08/2016, 16:20 - Alice: Hi Bob\n12/08/2016, 16:21 - Bob: Hi!\n";
//! let text = whatsapp::decode(bytes)?;
//! let chat = whatsapp::parse(&text);
//! whatsapp::ensure_chat(&chat)?;
//! let metadata = whatsapp::chat_metadata(&chat);
//! assert_eq!(chat.participants, ["Alice", "Bob"]);
//! assert_eq!(metadata.total_messages, 2);
//! # Ok::<(), whatsapp::ImportError>(())
//! ```
//!
//! Nothing in this folder uses the rest of the domain crate (siblings are reached through
//! `super::` or `crate::whatsapp::`), so the fuzz targets (`fuzz/`) compile it on its own,
//! without the Temporal dependencies.

mod archive;
mod cli;
mod decode;
mod header;
mod kind;
mod lines;
mod marks;
mod parse;
mod plan;
mod stats;

pub use archive::{is_zip, json_files_in_zip};
pub use cli::{Summary, cli_json, summary, write_cli_json};
pub use decode::{DecodeLimits, ImportError, decode, decode_with};
pub use kind::MessageKind;
pub use parse::{
    AuthorId, FormatInfo, MAX_UNREADABLE_REPORTED, Message, MessageView, ParsedChat, Platform,
    chat_name_from_file_name, parse,
};
pub use plan::{DateOrder, OrderEvidence};
pub use stats::{
    Calls, Conversation, Counted, Distinctive, DomainCount, Extended, MAX_DOMAINS,
    MAX_PEOPLE_REPORTED, MediaByType, MonthResponse, Named, REPLY_MATRIX_PEOPLE,
    REPLY_WINDOW_SECONDS, ResponseTimes, Span, Streaks,
};
pub use stats::{
    ChatMetadata, DailyDistribution, DateRange, EmojiCount, INITIATION_GAP_SECONDS,
    LONGEST_MESSAGE_CHARS, Link, LongestMessage, MAX_LINKS, RESPONSE_WINDOW_SECONDS, StatsBuilder,
    TOP_EMOJIS, TOP_WORDS, UserStats, UserStatsMap, WEEKDAYS, WordCount, chat_metadata,
};

/// Rejects text that has content but not a single message in it: a file that is not a
/// chat. An empty (or blank) file is a chat with no messages, not an error.
pub fn ensure_chat(chat: &ParsedChat<'_>) -> Result<(), ImportError> {
    if chat.messages.is_empty() && chat.unreadable_count > 0 {
        return Err(ImportError::NotAChat);
    }
    Ok(())
}

/// `relivchats chat parse FILE`: decodes, parses and renders the message array of the CLI
/// contract. Errors are sentences for stderr.
pub fn parse_to_cli_json(bytes: &[u8]) -> Result<String, ImportError> {
    let text = decode(bytes)?;
    let chat = parse(&text);
    ensure_chat(&chat)?;
    Ok(cli_json(&chat))
}

/// `relivchats chat parse --summary FILE`: `{"messages", "authors", "first", "last",
/// "unreadable_lines"}`, pretty-printed.
pub fn summary_json(bytes: &[u8]) -> Result<String, ImportError> {
    let text = decode(bytes)?;
    let chat = parse(&text);
    ensure_chat(&chat)?;
    Ok(to_pretty(&summary(&chat)))
}

/// `relivchats chat stats FILE`: the `chat_metadata` object, pretty-printed.
pub fn stats_json(bytes: &[u8]) -> Result<String, ImportError> {
    let text = decode(bytes)?;
    let chat = parse(&text);
    ensure_chat(&chat)?;
    Ok(to_pretty(&chat_metadata(&chat)))
}

fn to_pretty<T: serde::Serialize>(value: &T) -> String {
    // Our types serialise infallibly (string keys, finite floats).
    serde_json::to_string_pretty(value).unwrap_or_default()
}
