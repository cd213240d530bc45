//! The chat's name: from an export's file name, or from an iOS "author" that is really the
//! chat (its group events), whose lines become system lines. Runs once per chat.

use super::{AuthorId, AuthorTally, Message};
use crate::whatsapp::{kind::MessageKind, marks::strip_marks};

/// iOS writes group events as `[date] Chat Name: ‎Alice added Bob`: the chat's name in the
/// author position and a U+200E mark before the text (Android never does this). An "author" all of whose
/// messages look like that is the chat, not a person: its lines become system lines.
pub(super) fn drop_chat_name_authors<'a>(
    names: Vec<String>,
    tallies: &[AuthorTally],
    mut messages: Vec<Message<'a>>,
) -> (Vec<String>, Vec<Message<'a>>, Option<String>) {
    if tallies.iter().all(|t| t.personal > 0) {
        return (names, messages, None);
    }
    let mut remap = Vec::with_capacity(names.len());
    let mut kept = Vec::with_capacity(names.len());
    let mut dropped = None;
    for (name, t) in names.into_iter().zip(tallies) {
        if t.personal > 0 {
            remap.push(Some(kept.len() as u32));
            kept.push(name);
        } else {
            remap.push(None);
            dropped.get_or_insert(name);
        }
    }
    for m in &mut messages {
        if let Some(id) = m.author {
            match remap.get(id.index()).copied().flatten() {
                Some(new) => m.author = Some(AuthorId(new)),
                None => {
                    m.author = None;
                    m.kind = MessageKind::System;
                }
            }
        }
    }
    (kept, messages, dropped)
}

/// Export file names across languages: `WhatsApp Chat with Alice.txt`, `WhatsApp Chat - Team.zip`.
pub(crate) const EXPORT_PREFIXES: &[&str] = &[
    "WhatsApp Chat with ",
    "WhatsApp Chat - ",
    "WhatsApp-Chat mit ",
    "Chat de WhatsApp con ",
    "Conversa do WhatsApp com ",
    "Discussion WhatsApp avec ",
    "Chat WhatsApp con ",
    "WhatsApp-chat met ",
    "WhatsApp Sohbeti - ",
    "WhatsApp sohbeti: ",
    "محادثة واتساب مع ",
    "گفتگوی واتس‌اپ با ",
    "Chat WhatsApp s ",
    "Czat WhatsApp z ",
    "Чат WhatsApp с ",
];

/// The chat's name from an export's file name (`WhatsApp Chat with Alice.txt` → `Alice`),
/// or `None` when the name is not one WhatsApp writes. Folders and the extension are
/// dropped; a ` (1)` the browser added for a second download too.
pub fn chat_name_from_file_name(file_name: &str) -> Option<String> {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let stem = base
        .strip_suffix(".txt")
        .or_else(|| base.strip_suffix(".zip"))
        .unwrap_or(base);
    let stem = match stem.rfind(" (") {
        Some(i)
            if stem.ends_with(')')
                && stem[i + 2..stem.len() - 1]
                    .bytes()
                    .all(|b| b.is_ascii_digit()) =>
        {
            &stem[..i]
        }
        _ => stem,
    };
    let name = EXPORT_PREFIXES.iter().find_map(|p| stem.strip_prefix(p))?;
    let name = strip_marks(name);
    (!name.is_empty()).then(|| name.into_owned())
}
