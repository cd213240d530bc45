//! What a message *is*: text, a media placeholder, a deleted stub, a call notice, ….
//!
//! Exports replace media and deleted messages with fixed phrases in the phone's language.
//! The checks below look only at the start or the end of a body (never search it), so
//! classifying costs a few comparisons per message.

use serde::Serialize;

/// The class of one parsed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Ordinary text written by a participant.
    Text,
    /// Text that was edited after sending (ends with `<This message was edited>`).
    Edited,
    /// A media placeholder: `<Media omitted>`, `image omitted`, `<attached: …>`, `x.jpg (file attached)`.
    Media,
    /// A deleted-message stub: `This message was deleted`, `You deleted this message`.
    Deleted,
    /// A call notice (`Missed voice call`, `Video call`, …) or the `null` of a view-once message.
    Call,
    /// A line written by WhatsApp itself (encryption notice, "X added Y", …): no author.
    System,
}

impl MessageKind {
    /// Whether the message carries words its author typed (old product: not deleted,
    /// not media, not a call).
    pub fn has_words(self) -> bool {
        matches!(self, Self::Text | Self::Edited)
    }
}

/// Android's `<Media omitted>` in the languages we have seen.
const MEDIA_OMITTED: &[&str] = &[
    "<Media omitted>",
    "<Medien ausgeschlossen>",
    "<Multimedia omitido>",
    "<Multimedia omitidos>",
    "<Archivo omitido>",
    "<Médias omis>",
    "<Media omessi>",
    "<Mídia oculta>",
    "<Arquivo de mídia oculto>",
    "<Media weggelaten>",
    "<Media tidak disertakan>",
    "<Medya dahil edilmedi>",
    "<Без медиафайлов>",
    "<Medya atlandı>",
    "<मीडिया हटा दिया गया>",
];

/// iOS placeholders end with one of these (`‎image omitted`, `‎Bild weggelassen`).
const OMITTED_SUFFIXES: &[&str] = &[
    " omitted",
    " omitida",
    " omitido",
    " weggelassen",
    " absente",
    " omessa",
    " omesso",
    " ocultada",
    " ocultado",
    " weggelaten",
];

/// Android with media: `IMG-20200101-WA0001.jpg (file attached)`.
const FILE_ATTACHED_SUFFIXES: &[&str] = &[
    "(file attached)",
    "(Datei angehängt)",
    "(archivo adjunto)",
    "(fichier joint)",
    "(file allegato)",
    "(arquivo anexado)",
];

/// Deleted stubs, compared whole (after one leading mark and a trailing dot are removed).
const DELETED: &[&str] = &[
    "This message was deleted",
    "You deleted this message",
    "Diese Nachricht wurde gelöscht",
    "Du hast diese Nachricht gelöscht",
    "Se eliminó este mensaje",
    "Eliminaste este mensaje",
    "Este mensaje fue eliminado",
    "Ce message a été supprimé",
    "Vous avez supprimé ce message",
    "Questo messaggio è stato eliminato",
    "Hai eliminato questo messaggio",
    "Mensagem apagada",
    "Essa mensagem foi apagada",
    "Você apagou esta mensagem",
    "Dit bericht is verwijderd",
    "Pesan ini telah dihapus",
    "Anda menghapus pesan ini",
    "Bu mesaj silindi",
    "Сообщение удалено",
    "Данное сообщение удалено",
    "यह संदेश हटा दिया गया",
];

/// The edit marker appended to edited messages (both platforms, English exports).
pub(crate) const EDITED_MARKER: &str = "<This message was edited>";

/// Classifies a message body (already without its one leading direction mark).
/// `had_mark` says whether the body started with U+200E/U+200F, which iOS puts before
/// placeholders and never before typed text. `first_line` is the body's first line (the
/// parser knows where it ends, so nothing here searches for `\n`).
pub(crate) fn classify(body: &str, first_line: &str, had_mark: bool) -> MessageKind {
    let Some(&first) = body.as_bytes().first() else {
        return MessageKind::Text;
    };
    let single_line = first_line.len() == body.len();
    if single_line
        && body.len() <= 120
        && let Some(kind) = classify_short(body, first, had_mark)
    {
        return kind;
    }
    if body.as_bytes().last() == Some(&b'>') && body.ends_with(EDITED_MARKER) {
        return MessageKind::Edited;
    }
    if first == b'<' && body.starts_with("<attached:") {
        return MessageKind::Media;
    }
    // Android with media: `IMG-….jpg (file attached)`, the caption on the next line.
    let first_line = first_line.trim_end_matches('\r');
    if first_line.ends_with(')')
        && FILE_ATTACHED_SUFFIXES
            .iter()
            .any(|s| first_line.ends_with(s))
    {
        return MessageKind::Media;
    }
    MessageKind::Text
}

/// Placeholders, stubs and call notices: single-line bodies of at most 120 bytes.
fn classify_short(body: &str, first: u8, had_mark: bool) -> Option<MessageKind> {
    let last = *body.as_bytes().last()?;
    if first == b'<' && last == b'>' && MEDIA_OMITTED.contains(&body) {
        return Some(MessageKind::Media);
    }

    if is_ios_omitted(body, had_mark) {
        return Some(MessageKind::Media);
    }
    let stub = body.strip_suffix('.').unwrap_or(body);
    if DELETED.iter().any(|d| d.len() == stub.len() && *d == stub) {
        return Some(MessageKind::Deleted);
    }
    is_call(body).then_some(MessageKind::Call)
}

/// `‎image omitted`, `‎Contact card omitted`, `‎report.pdf • ‎3 pages ‎document omitted`.
/// Without the leading mark only the plain English placeholders count, so a typed
/// sentence ending in "omitted" stays text.
fn is_ios_omitted(body: &str, had_mark: bool) -> bool {
    if had_mark {
        return OMITTED_SUFFIXES.iter().any(|s| body.ends_with(s));
    }
    matches!(
        body,
        "image omitted"
            | "video omitted"
            | "audio omitted"
            | "sticker omitted"
            | "GIF omitted"
            | "document omitted"
            | "Contact card omitted"
    )
}

/// The old product's call rule: starts with "missed/incoming/outgoing voice/video call",
/// "voice/video call", "you called/missed", or is exactly "null"/"none" (case-insensitive).
pub(crate) fn is_call(body: &str) -> bool {
    let b = body.as_bytes();
    let Some(first) = b.first().map(u8::to_ascii_lowercase) else {
        return false;
    };
    if !matches!(first, b'm' | b'i' | b'o' | b'v' | b'y' | b'n') {
        return false;
    }
    if body.eq_ignore_ascii_case("null") || body.eq_ignore_ascii_case("none") {
        return true;
    }
    let starts_at = |at: usize, p: &str| {
        b.get(at..at + p.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(p.as_bytes()))
    };
    let call_at = |at: usize| starts_at(at, "voice call") || starts_at(at, "video call");
    match first {
        b'm' => starts_at(0, "missed ") && call_at(7),
        b'i' => starts_at(0, "incoming ") && call_at(9),
        b'o' => starts_at(0, "outgoing ") && call_at(9),
        b'v' => call_at(0),
        b'y' => starts_at(0, "you called") || starts_at(0, "you missed"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(
            classify("<Media omitted>", "<Media omitted>", false),
            MessageKind::Media
        );
        assert_eq!(
            classify("image omitted", "image omitted", true),
            MessageKind::Media
        );
        assert_eq!(
            classify(
                "report.pdf • 3 pages document omitted",
                "report.pdf • 3 pages document omitted",
                true
            ),
            MessageKind::Media
        );
        assert_eq!(
            classify("the rest was omitted", "the rest was omitted", false),
            MessageKind::Text
        );
        assert_eq!(
            classify(
                "<attached: 00000012-PHOTO-2020-06-05-13-44-04.jpg>",
                "<attached: 00000012-PHOTO-2020-06-05-13-44-04.jpg>",
                true
            ),
            MessageKind::Media
        );
        assert_eq!(
            classify(
                "IMG-20200101-WA0001.jpg (file attached)",
                "IMG-20200101-WA0001.jpg (file attached)",
                false
            ),
            MessageKind::Media
        );
        assert_eq!(
            classify(
                "This message was deleted",
                "This message was deleted",
                false
            ),
            MessageKind::Deleted
        );
        assert_eq!(
            classify(
                "This message was deleted.",
                "This message was deleted.",
                true
            ),
            MessageKind::Deleted
        );
        assert_eq!(
            classify(
                "You deleted this message",
                "You deleted this message",
                false
            ),
            MessageKind::Deleted
        );
        assert_eq!(
            classify(
                "ok <This message was edited>",
                "ok <This message was edited>",
                false
            ),
            MessageKind::Edited
        );
        assert_eq!(
            classify("Missed voice call", "Missed voice call", false),
            MessageKind::Call
        );
        assert_eq!(
            classify("Video call, 12 min", "Video call, 12 min", false),
            MessageKind::Call
        );
        assert_eq!(classify("null", "null", false), MessageKind::Call);
        assert_eq!(classify("nullify", "nullify", false), MessageKind::Text);
        assert_eq!(classify("", "", false), MessageKind::Text);
    }
}
