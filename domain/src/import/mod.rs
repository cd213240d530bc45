//! One entry point for every chat export people upload: WhatsApp text or zip, Telegram
//! Desktop JSON (`result.json`), and Instagram / Facebook Messenger JSON (`message_1.json`,
//! or a zip of several `message_N.json`). The format is decided by the bytes, never by the
//! file name or MIME type, and every importer returns the same [`ParsedChat`] the WhatsApp
//! parser does, so statistics, storage and indexing need no second path.
//!
//! ```
//! use relivchats_domain::{import, whatsapp};
//!
//! let upload = import::read(br#"{"name": "Bob", "type": "personal_chat", "messages": [
//!   {"id": 1, "type": "message", "date": "2024-03-01T10:00:00", "from": "Alice", "text": "hi"},
//!   {"id": 2, "type": "message", "date": "2024-03-01T10:01:00", "from": "Bob",
//!    "text": ["see ", {"type": "bold", "text": "this"}]}]}"#)?;
//! let chat = upload.chat();
//! whatsapp::ensure_chat(&chat)?;
//! assert_eq!(upload.platform(), "telegram");
//! assert_eq!(chat.messages[1].text, "see this");
//! # Ok::<(), whatsapp::ImportError>(())
//! ```
//!
//! Pure, like `whatsapp`: the fuzz targets compile this folder next to it.

mod meta;
mod telegram;

use std::borrow::Cow;

use crate::whatsapp::{self, DecodeLimits, ImportError, Message, ParsedChat};

/// A decoded upload: WhatsApp text (parsed on demand, borrowing from it) or a chat an
/// importer already built.
#[derive(Debug)]
pub enum Upload<'a> {
    /// WhatsApp export text.
    WhatsApp(Cow<'a, str>),
    /// A Telegram or Meta export, already read.
    Imported(ParsedChat<'static>),
}

impl Upload<'_> {
    /// The parsed chat. For WhatsApp text this parses it (borrowing the text); for an
    /// imported chat it borrows the imported messages.
    pub fn chat(&self) -> ParsedChat<'_> {
        match self {
            Self::WhatsApp(text) => whatsapp::parse(text),
            Self::Imported(chat) => ParsedChat {
                messages: chat
                    .messages
                    .iter()
                    .map(|m| Message {
                        timestamp: m.timestamp,
                        author: m.author,
                        text: Cow::Borrowed(m.text.as_ref()),
                        kind: m.kind,
                    })
                    .collect(),
                participants: chat.participants.clone(),
                unreadable_lines: chat.unreadable_lines.clone(),
                unreadable_count: chat.unreadable_count,
                format: chat.format,
                chat_name: chat.chat_name.clone(),
            },
        }
    }

    /// `chats.platform`: `whatsapp`, `telegram`, `instagram` or `messenger`.
    pub fn platform(&self) -> &'static str {
        match self {
            Self::WhatsApp(_) => "whatsapp",
            Self::Imported(chat) => chat.format.platform.name(),
        }
    }
}

/// Which chat of a multi-chat export to take.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// The chat's name in a full-account Telegram export (exact match). Without it an
    /// export with one chat that has messages is read, and one with several is refused
    /// with a sentence that lists them.
    pub chat: Option<String>,
    /// Archive limits, as for WhatsApp zips.
    pub limits: DecodeLimits,
}

/// [`read_with`] with default options.
pub fn read(bytes: &[u8]) -> Result<Upload<'_>, ImportError> {
    read_with(bytes, &Options::default())
}

/// Decodes an upload of any supported format.
pub fn read_with<'a>(bytes: &'a [u8], options: &Options) -> Result<Upload<'a>, ImportError> {
    if whatsapp::is_zip(bytes) {
        if let Some(files) = whatsapp::json_files_in_zip(bytes, options.limits)? {
            return import_json_files(&files, options).map(Upload::Imported);
        }
        return whatsapp::decode_with(bytes, options.limits).map(Upload::WhatsApp);
    }
    let text = whatsapp::decode_with(bytes, options.limits)?;
    if looks_like_json(&text) {
        return import_json_files(&[(String::new(), text.into_owned())], options)
            .map(Upload::Imported);
    }
    Ok(Upload::WhatsApp(text))
}

/// Whether decoded text is a JSON object (Telegram and Meta exports are). No WhatsApp
/// export starts with `{`: its first line is a header or the text before one.
fn looks_like_json(text: &str) -> bool {
    text.trim_start_matches('\u{FEFF}')
        .trim_start()
        .starts_with('{')
}

/// JSON documents (name, text), from one file or a zip.
fn import_json_files(
    files: &[(String, String)],
    options: &Options,
) -> Result<ParsedChat<'static>, ImportError> {
    let Some((_, first)) = files.first() else {
        return Err(ImportError::NotAChat);
    };
    if meta::is_meta(first) {
        return meta::import(files);
    }
    if files.len() == 1 {
        return telegram::import(first, options.chat.as_deref());
    }
    // Several JSON files that are not Meta's: a Telegram result.json among them.
    let telegram = files
        .iter()
        .find(|(name, _)| name.ends_with("result.json"))
        .ok_or(ImportError::NotAChat)?;
    telegram::import(&telegram.1, options.chat.as_deref())
}

/// Builds a chat from importer messages: participants in order of first appearance.
pub(crate) struct ChatBuilder {
    names: Vec<String>,
    ids: rustc_hash::FxHashMap<String, u32>,
    messages: Vec<Message<'static>>,
}

impl ChatBuilder {
    pub(crate) fn new() -> Self {
        Self {
            names: Vec::new(),
            ids: rustc_hash::FxHashMap::default(),
            messages: Vec::new(),
        }
    }

    pub(crate) fn push(
        &mut self,
        timestamp: chrono::NaiveDateTime,
        author: Option<&str>,
        text: String,
        kind: whatsapp::MessageKind,
    ) {
        let author = author.map(str::trim).filter(|a| !a.is_empty()).map(|a| {
            if let Some(&id) = self.ids.get(a) {
                return whatsapp::AuthorId(id);
            }
            let id = self.names.len() as u32;
            self.ids.insert(a.to_owned(), id);
            self.names.push(a.to_owned());
            whatsapp::AuthorId(id)
        });
        let kind = if author.is_none() {
            whatsapp::MessageKind::System
        } else {
            kind
        };
        self.messages.push(Message {
            timestamp,
            author,
            text: Cow::Owned(text.trim_end().to_owned()),
            kind,
        });
    }

    pub(crate) fn finish(
        mut self,
        platform: whatsapp::Platform,
        chat_name: Option<String>,
    ) -> ParsedChat<'static> {
        // Exports are in time order; Meta's newest first. A stable sort keeps equal times.
        self.messages.sort_by_key(|m| m.timestamp);
        // Participants in order of first message, as the WhatsApp parser lists them.
        let mut remap = vec![u32::MAX; self.names.len()];
        let mut order = Vec::with_capacity(self.names.len());
        for m in &mut self.messages {
            if let Some(a) = &mut m.author {
                let slot = &mut remap[a.index()];
                if *slot == u32::MAX {
                    *slot = order.len() as u32;
                    order.push(a.index());
                }
                *a = whatsapp::AuthorId(*slot);
            }
        }
        let participants = order
            .into_iter()
            .map(|i| std::mem::take(&mut self.names[i]))
            .collect();
        ParsedChat {
            messages: self.messages,
            participants,
            unreadable_lines: Vec::new(),
            unreadable_count: 0,
            format: whatsapp::FormatInfo {
                platform,
                date_order: whatsapp::DateOrder::YearMonthDay,
                date_order_evidence: whatsapp::OrderEvidence::Unambiguous,
                twelve_hour_clock: false,
                seconds: true,
            },
            chat_name: chat_name.filter(|n| !n.trim().is_empty()),
        }
    }
}

/// `relivchats chat parse FILE` for any format.
pub fn parse_to_cli_json(bytes: &[u8]) -> Result<String, ImportError> {
    let upload = read(bytes)?;
    let chat = upload.chat();
    whatsapp::ensure_chat(&chat)?;
    Ok(whatsapp::cli_json(&chat))
}

/// `relivchats chat parse --summary FILE` for any format.
pub fn summary_json(bytes: &[u8]) -> Result<String, ImportError> {
    let upload = read(bytes)?;
    let chat = upload.chat();
    whatsapp::ensure_chat(&chat)?;
    Ok(serde_json::to_string_pretty(&whatsapp::summary(&chat)).unwrap_or_default())
}

/// `relivchats chat stats FILE` for any format.
pub fn stats_json(bytes: &[u8]) -> Result<String, ImportError> {
    let upload = read(bytes)?;
    let chat = upload.chat();
    whatsapp::ensure_chat(&chat)?;
    Ok(serde_json::to_string_pretty(&whatsapp::chat_metadata(&chat)).unwrap_or_default())
}
