//! Instagram and Facebook Messenger JSON exports (`message_1.json`, `message_2.json`, …).
//!
//! Meta writes every string as its UTF-8 bytes escaped one by one (`"caf\u00c3\u00a9"` for
//! `café`), newest message first, with UTC millisecond timestamps (no local time is
//! recorded, so times are UTC). Unsent messages become deleted stubs, shares keep their
//! link (so it counts as one), and "Reacted … to your message" lines are system lines.

use std::borrow::Cow;

use serde::Deserialize;

use super::ChatBuilder;
use crate::whatsapp::{ImportError, MessageKind, ParsedChat, Platform};

#[derive(Deserialize)]
struct Root {
    #[serde(default)]
    messages: Vec<MetaMessage>,
    title: Option<String>,
    thread_path: Option<String>,
    joinable_mode: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MetaMessage {
    sender_name: Option<String>,
    timestamp_ms: Option<i64>,
    content: Option<String>,
    photos: Option<Vec<Uri>>,
    videos: Option<Vec<Uri>>,
    audio_files: Option<Vec<Uri>>,
    gifs: Option<Vec<Uri>>,
    files: Option<Vec<Uri>>,
    sticker: Option<Uri>,
    share: Option<Share>,
    is_unsent: Option<bool>,
    #[serde(rename = "type")]
    kind: Option<String>,
    call_duration: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Uri {
    uri: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Share {
    link: Option<String>,
}

/// Meta's layout: `participants` with `name`s and `messages` with `sender_name` and
/// `timestamp_ms`. Checked on the text, before a full parse.
pub(super) fn is_meta(json: &str) -> bool {
    json.contains("\"participants\"") && json.contains("\"timestamp_ms\"")
}

/// Meta's mojibake: a string whose characters are all below U+0100 and whose bytes are
/// valid UTF-8 was UTF-8 escaped byte by byte. Anything else is left alone.
pub(crate) fn fix_mojibake(s: &str) -> Cow<'_, str> {
    if s.is_ascii() || s.chars().any(|c| u32::from(c) > 0xFF) {
        return Cow::Borrowed(s);
    }
    let bytes: Vec<u8> = s.chars().map(|c| u32::from(c) as u8).collect();
    match String::from_utf8(bytes) {
        Ok(fixed) => Cow::Owned(fixed),
        Err(_) => Cow::Borrowed(s),
    }
}

/// One thread from its `message_N.json` files (any order: messages are sorted by time).
pub(super) fn import(files: &[(String, String)]) -> Result<ParsedChat<'static>, ImportError> {
    let mut b = ChatBuilder::new();
    let mut title = None;
    let mut instagram = false;
    let mut messenger = false;
    let mut threads: Vec<String> = Vec::new();
    for (_, json) in files {
        let root: Root = serde_json::from_str(json).map_err(|e| {
            ImportError::BadJson(format!("line {}, column {}", e.line(), e.column()))
        })?;
        if let Some(path) = &root.thread_path
            && !threads.contains(path)
        {
            threads.push(path.clone());
        }
        messenger |= root.joinable_mode.is_some();
        if title.is_none() {
            title = root.title.as_deref().map(|t| fix_mojibake(t).into_owned());
        }
        for m in &root.messages {
            instagram |= mentions_instagram(m);
            let Some(ms) = m.timestamp_ms else { continue };
            let Some(t) = chrono::DateTime::from_timestamp_millis(ms) else {
                continue;
            };
            let sender = m.sender_name.as_deref().map(fix_mojibake);
            let (text, kind, system) = body(m);
            let author = if system { None } else { sender.as_deref() };
            b.push(t.naive_utc(), author, text, kind);
        }
    }
    if threads.len() > 1 {
        return Err(ImportError::SeveralChats {
            count: threads.len(),
            names: threads
                .iter()
                .map(|t| format!("\u{201C}{t}\u{201D}"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let platform = if instagram && !messenger {
        Platform::Instagram
    } else {
        Platform::Messenger
    };
    Ok(b.finish(platform, title))
}

/// Instagram's exports point their media and shares at instagram.com or
/// `your_instagram_activity/…`.
fn mentions_instagram(m: &MetaMessage) -> bool {
    let uris = [&m.photos, &m.videos, &m.audio_files, &m.gifs, &m.files];
    uris.iter()
        .filter_map(|u| u.as_ref())
        .flatten()
        .chain(m.sticker.as_ref())
        .any(|u| u.uri.contains("instagram"))
        || m.share
            .as_ref()
            .and_then(|s| s.link.as_deref())
            .is_some_and(|l| l.contains("instagram.com"))
}

/// `(text, kind, is_system)` of one message.
fn body(m: &MetaMessage) -> (String, MessageKind, bool) {
    let content = m
        .content
        .as_deref()
        .map(|c| fix_mojibake(c).into_owned())
        .unwrap_or_default();
    if m.is_unsent == Some(true) {
        return (
            "This message was deleted".to_owned(),
            MessageKind::Deleted,
            false,
        );
    }
    let reaction_notice = content.starts_with("Reacted ")
        && (content.ends_with(" to your message") || content.ends_with(" to your message "))
        || content == "Liked a message";
    if reaction_notice || m.kind.as_deref() == Some("Unsubscribe") {
        return (content, MessageKind::System, true);
    }
    if m.kind.as_deref() == Some("Call") || m.call_duration.is_some() {
        let text = match m.call_duration {
            Some(0) | None => "Missed voice call".to_owned(),
            Some(s) => format!("Voice call, {} min", (s + 59) / 60),
        };
        return (text, MessageKind::Call, false);
    }
    let caption = |placeholder: &str| {
        if content.is_empty() {
            placeholder.to_owned()
        } else {
            format!("{placeholder}\n{content}")
        }
    };
    let non_empty = |v: &Option<Vec<Uri>>| v.as_ref().is_some_and(|v| !v.is_empty());
    let media = if non_empty(&m.photos) {
        Some("image omitted")
    } else if non_empty(&m.videos) {
        Some("video omitted")
    } else if non_empty(&m.audio_files) {
        Some("audio omitted")
    } else if non_empty(&m.gifs) {
        Some("GIF omitted")
    } else if m.sticker.is_some() {
        Some("sticker omitted")
    } else if non_empty(&m.files) {
        Some("document omitted")
    } else {
        None
    };
    if let Some(p) = media {
        return (caption(p), MessageKind::Media, false);
    }
    if let Some(link) = m.share.as_ref().and_then(|s| s.link.as_deref()) {
        // The share's link, after the text that came with it (when it is not the link).
        let text = if content.is_empty() || content.contains(link) {
            if content.is_empty() {
                link.to_owned()
            } else {
                content
            }
        } else {
            format!("{content}\n{link}")
        };
        return (text, MessageKind::Text, false);
    }
    (content, MessageKind::Text, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mojibake() {
        assert_eq!(fix_mojibake("caf\u{00c3}\u{00a9}"), "café");
        assert_eq!(fix_mojibake("\u{00f0}\u{009f}\u{0098}\u{0082}"), "😂");
        assert_eq!(fix_mojibake("plain"), "plain");
        // Real Latin-1 text that is not UTF-8 stays as it is.
        assert_eq!(fix_mojibake("caf\u{00e9}"), "café");
        assert_eq!(fix_mojibake("İstanbul"), "İstanbul");
    }
}
