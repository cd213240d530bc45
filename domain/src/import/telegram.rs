//! Telegram Desktop's JSON export (`result.json`): one chat, or a whole account.
//!
//! `text` is a string or an array mixing strings and entities (`{"type": "bold", "text":
//! …}`); `date` is local wall-clock time like WhatsApp's (used first), `date_unixtime` the
//! UTC instant (used when `date` is missing). Service messages become system lines, except
//! calls, which are the caller's call notices as in WhatsApp.

use chrono::NaiveDateTime;
use serde::Deserialize;

use super::ChatBuilder;
use crate::whatsapp::{ImportError, MessageKind, ParsedChat, Platform};

/// Chats named in the refusal sentence at most.
const LISTED_CHATS: usize = 10;

#[derive(Deserialize)]
struct Root {
    name: Option<String>,
    messages: Option<Vec<TgMessage>>,
    chats: Option<List>,
}

#[derive(Deserialize)]
struct List {
    #[serde(default)]
    list: Vec<Chat>,
}

#[derive(Deserialize)]
struct Chat {
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    messages: Vec<TgMessage>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TgMessage {
    #[serde(rename = "type")]
    kind: String,
    date: Option<String>,
    date_unixtime: Option<String>,
    from: Option<String>,
    actor: Option<String>,
    action: Option<String>,
    title: Option<String>,
    members: Option<Vec<Option<String>>>,
    text: Option<Text>,
    media_type: Option<String>,
    photo: Option<String>,
    file: Option<String>,
    mime_type: Option<String>,
    edited: Option<String>,
    poll: Option<Poll>,
    location_information: Option<Location>,
    contact_information: Option<serde_json::Value>,
    duration_seconds: Option<i64>,
    discard_reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Text {
    Plain(String),
    Parts(Vec<Part>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Part {
    Plain(String),
    Entity {
        #[serde(default)]
        text: String,
    },
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Poll {
    question: String,
    answers: Vec<Answer>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Answer {
    text: String,
    voters: u64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Location {
    latitude: f64,
    longitude: f64,
}

fn text_of(t: &Option<Text>) -> String {
    match t {
        None => String::new(),
        Some(Text::Plain(s)) => s.clone(),
        Some(Text::Parts(parts)) => parts
            .iter()
            .map(|p| match p {
                Part::Plain(s) | Part::Entity { text: s } => s.as_str(),
            })
            .collect(),
    }
}

fn timestamp(m: &TgMessage) -> Option<NaiveDateTime> {
    if let Some(t) = m
        .date
        .as_deref()
        .and_then(|d| NaiveDateTime::parse_from_str(d, "%Y-%m-%dT%H:%M:%S").ok())
    {
        return Some(t);
    }
    let secs: i64 = m.date_unixtime.as_deref()?.parse().ok()?;
    chrono::DateTime::from_timestamp(secs, 0).map(|t| t.naive_utc())
}

/// Whether the JSON text is a Telegram export (checked after Meta's, which is stricter).
pub(super) fn import(json: &str, pick: Option<&str>) -> Result<ParsedChat<'static>, ImportError> {
    let root: Root = serde_json::from_str(json).map_err(|e| bad_json(&e))?;
    let (name, messages) = match (root.messages, root.chats) {
        (Some(messages), _) => (root.name, messages),
        (None, Some(list)) => choose(list.list, pick)?,
        (None, None) => {
            return Err(ImportError::UnknownJson);
        }
    };
    let mut b = ChatBuilder::new();
    for m in &messages {
        let Some(t) = timestamp(m) else { continue };
        match m.kind.as_str() {
            "message" => {
                let (text, kind) = body(m);
                b.push(t, m.from.as_deref(), text, kind);
            }
            "service" => {
                let (author, text, kind) = service(m);
                b.push(t, author, text, kind);
            }
            _ => {}
        }
    }
    Ok(b.finish(Platform::Telegram, name))
}

fn bad_json(e: &serde_json::Error) -> ImportError {
    ImportError::BadJson(format!("line {}, column {}", e.line(), e.column()))
}

/// A full-account export: the chat asked for, the only chat with messages, or a refusal
/// that names them.
fn choose(
    chats: Vec<Chat>,
    pick: Option<&str>,
) -> Result<(Option<String>, Vec<TgMessage>), ImportError> {
    let mut with_messages: Vec<Chat> = chats
        .into_iter()
        .filter(|c| c.messages.iter().any(|m| m.kind == "message"))
        .collect();
    if let Some(want) = pick {
        if let Some(i) = with_messages
            .iter()
            .position(|c| c.name.as_deref() == Some(want))
        {
            let c = with_messages.swap_remove(i);
            return Ok((c.name, c.messages));
        }
    } else if with_messages.len() == 1 {
        let c = with_messages.remove(0);
        return Ok((c.name, c.messages));
    }
    if with_messages.is_empty() {
        return Err(ImportError::NotAChat);
    }
    let total = with_messages.len();
    let mut names: Vec<String> = with_messages
        .iter()
        .take(LISTED_CHATS)
        .map(|c| {
            let name = c.name.clone().unwrap_or_else(|| match c.kind.as_deref() {
                Some("saved_messages") => "Saved Messages".to_owned(),
                _ => "(no name)".to_owned(),
            });
            format!("\u{201C}{name}\u{201D}")
        })
        .collect();
    if total > LISTED_CHATS {
        names.push(format!("and {} more", total - LISTED_CHATS));
    }
    Err(ImportError::SeveralChats {
        count: total,
        names: names.join(", "),
    })
}

/// An ordinary message: text, or a media/poll/location/contact placeholder in the words
/// WhatsApp's English iOS export uses (the statistics read them the same way).
fn body(m: &TgMessage) -> (String, MessageKind) {
    let text = text_of(&m.text);
    let with_caption = |placeholder: &str| {
        if text.is_empty() {
            placeholder.to_owned()
        } else {
            format!("{placeholder}\n{text}")
        }
    };
    if let Some(p) = &m.poll {
        let mut s = format!("POLL:\n{}", p.question);
        for a in &p.answers {
            let votes = if a.voters == 1 { "vote" } else { "votes" };
            s.push_str(&format!("\nOPTION: {} ({} {votes})", a.text, a.voters));
        }
        return (s, MessageKind::Poll);
    }
    if let Some(l) = &m.location_information {
        return (
            format!(
                "location: https://maps.google.com/?q={},{}",
                l.latitude, l.longitude
            ),
            MessageKind::Text,
        );
    }
    if m.contact_information.is_some() {
        return (with_caption("Contact card omitted"), MessageKind::Media);
    }
    let media = match m.media_type.as_deref() {
        Some("sticker") => Some("sticker omitted"),
        Some("animation") => Some("GIF omitted"),
        Some("voice_message" | "audio_file") => Some("audio omitted"),
        Some("video_file" | "video_message") => Some("video omitted"),
        Some(_) => Some("document omitted"),
        None if m.photo.is_some() => Some("image omitted"),
        None if m.file.is_some() => Some(match m.mime_type.as_deref() {
            Some(t) if t.starts_with("image/") => "image omitted",
            Some(t) if t.starts_with("video/") => "video omitted",
            Some(t) if t.starts_with("audio/") => "audio omitted",
            _ => "document omitted",
        }),
        None => None,
    };
    if let Some(p) = media {
        return (with_caption(p), MessageKind::Media);
    }
    let kind = if m.edited.is_some() {
        MessageKind::Edited
    } else {
        MessageKind::Text
    };
    (text, kind)
}

/// A service message: `(author, text, kind)`; calls keep their caller as author.
fn service(m: &TgMessage) -> (Option<&str>, String, MessageKind) {
    let actor = m.actor.as_deref().unwrap_or("Someone");
    let members = || {
        m.members
            .iter()
            .flatten()
            .flatten()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let title = m.title.as_deref().unwrap_or_default();
    let action = m.action.as_deref().unwrap_or_default();
    if action == "phone_call" {
        let missed = matches!(m.discard_reason.as_deref(), Some("missed" | "busy"));
        let text = match (missed, m.duration_seconds) {
            (true, _) => "Missed voice call".to_owned(),
            (false, Some(s)) if s > 0 => format!("Voice call, {} min", (s + 59) / 60),
            _ => "Voice call".to_owned(),
        };
        return (m.actor.as_deref(), text, MessageKind::Call);
    }
    let text = match action {
        "create_group" | "create_channel" => {
            format!("{actor} created group \u{201C}{title}\u{201D}")
        }
        "invite_members" => format!("{actor} added {}", members()),
        "remove_members" => format!("{actor} removed {}", members()),
        "join_group_by_link" => format!("{actor} joined using this group's invite link"),
        "edit_group_title" => format!("{actor} changed the group name to \u{201C}{title}\u{201D}"),
        "edit_group_photo" => format!("{actor} changed this group's icon"),
        "delete_group_photo" => format!("{actor} deleted this group's icon"),
        "pin_message" => format!("{actor} pinned a message"),
        "migrate_to_supergroup" | "migrate_from_group" => format!("{actor} upgraded the group"),
        "" => text_of(&m.text),
        other => format!("{actor}: {}", other.replace('_', " ")),
    };
    (None, text, MessageKind::System)
}
