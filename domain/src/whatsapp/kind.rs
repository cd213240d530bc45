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
    /// A poll: `POLL:` then the question and `OPTION: … (n votes)` lines.
    Poll,
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
    "<Média vynechána>",
    "<Média vynechána.>",
    "<Médium vynecháno>",
    "<pominięto multimedia>",
    "<Multimédia omitida>",
    "<Media dihilangkan>",
    "<تم استبعاد الوسائط>",
    "<رسانه حذف شد>",
    "<View once message omitted>",
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
    // Turkish `‎görüntü dahil edilmedi`, Czech `‎obrázek vynechán`, Russian `‎фото отсутствует`.
    " dahil edilmedi",
    " vynechán",
    " vynechána",
    " vynecháno",
    " отсутствует",
    " пропущено",
    " tidak disertakan",
];

/// iOS placeholders that put the verb first (after the leading mark): Polish
/// `‎pominięto obraz`, Arabic `‎تم استبعاد الصورة`, Persian `‎تصویر حذف شد` is a suffix.
const OMITTED_PREFIXES: &[&str] = &["pominięto ", "تم استبعاد ", "تم حذف الوسائط"];

/// Suffixes of marked placeholders in right-to-left languages.
const OMITTED_RTL_SUFFIXES: &[&str] = &[" حذف شد", " مستبعدة", " مستبعد"];

/// Android with media: `IMG-20200101-WA0001.jpg (file attached)`.
const FILE_ATTACHED_SUFFIXES: &[&str] = &[
    "(file attached)",
    "(Datei angehängt)",
    "(archivo adjunto)",
    "(fichier joint)",
    "(file allegato)",
    "(arquivo anexado)",
    "(soubor byl přiložen)",
    "(dosya ekli)",
    "(файл добавлен)",
    "(file terlampir)",
    "(bestand bijgevoegd)",
    "(plik załączony)",
    "(الملف مرفق)",
    "(فایل پیوست شد)",
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
    "Bu mesaj silindi",
    "Bu mesajı sildiniz",
    "Bu mesajı sildin",
    "تم حذف هذه الرسالة",
    "لقد حذفت هذه الرسالة",
    "حذفت هذه الرسالة",
    "این پیام حذف شد",
    "شما این پیام را حذف کردید",
    "Tato zpráva byla smazána",
    "Tuto zprávu jste smazali",
    "Ta wiadomość została usunięta",
    "Вы удалили это сообщение",
];

/// The edit marker appended to edited messages (both platforms, English exports).
pub(crate) const EDITED_MARKER: &str = "<This message was edited>";

/// The edit marker in other languages, `<…>` included.
const EDITED_MARKERS: &[&str] = &[
    EDITED_MARKER,
    "<Diese Nachricht wurde bearbeitet>",
    "<Se editó este mensaje.>",
    "<Se editó este mensaje>",
    "<Mensaje editado>",
    "<Ce message a été modifié>",
    "<Message modifié>",
    "<Esta mensagem foi editada>",
    "<Mensagem editada>",
    "<Questo messaggio è stato modificato>",
    "<Dit bericht is bewerkt>",
    "<Bu mesaj düzenlendi>",
    "<Düzenlendi>",
    "<Сообщение изменено>",
    "<Pesan ini telah diedit>",
    "<Pesan ini diedit>",
    "<تم تعديل هذه الرسالة>",
    "<تم تعديل الرسالة>",
    "<این پیام ویرایش شد>",
    "<ویرایش شده>",
    "<Tato zpráva byla upravena>",
    "<Ta wiadomość została edytowana>",
    "<यह मैसेज बदला गया है>",
    "<このメッセージは編集されました>",
    "<이 메시지는 수정되었습니다>",
    "<此消息已编辑>",
];

/// The first line of a poll: `POLL:` (English, and most exports), or translated.
const POLL_HEADS: &[&str] = &[
    "POLL:",
    "ENCUESTA:",
    "ENQUETE:",
    "SONDAGE:",
    "UMFRAGE:",
    "SONDAGGIO:",
    "ANKET:",
    "ОПРОС:",
    "استطلاع:",
    "نظرسنجی:",
    "ANKETA:",
];

/// `text` without a trailing edit marker (and the space or mark before it), when it has
/// one: the words of an edited message are the ones before it.
pub(crate) fn strip_edited_marker(text: &str) -> Option<&str> {
    if text.as_bytes().last() != Some(&b'>') {
        return None;
    }
    let open = text.rfind('<')?;
    let marker = text.get(open..)?;
    if !EDITED_MARKERS.contains(&marker) {
        return None;
    }
    let head = text.get(..open)?;
    Some(super::marks::strip_trailing_marks(head).trim_end())
}

/// `<attached: 00000012-PHOTO-2020-06-05-13-44-04.jpg>` in any language: `<`, a label of
/// at most 48 bytes, `:` or a fullwidth `：`, then the iOS file name (8 digits and `-`).
fn is_attached(first_line: &str) -> bool {
    let b = first_line.as_bytes();
    if b.first() != Some(&b'<') || b.last() != Some(&b'>') {
        return false;
    }
    let window = &b[..b.len().min(52)];
    let colon = match (
        memchr::memchr(b':', window),
        memchr::memmem::find(window, "：".as_bytes()),
    ) {
        (Some(a), Some(f)) if f < a => f + 3,
        (Some(a), _) => a + 1,
        (None, Some(f)) => f + 3,
        (None, None) => return false,
    };
    let rest = first_line.get(colon..).unwrap_or_default();
    let rest = rest.trim_start_matches([' ', '\u{A0}', '\u{202F}', '\u{200E}', '\u{200F}']);
    let r = rest.as_bytes();
    r.len() > 9 && r[..8].iter().all(u8::is_ascii_digit) && r[8] == b'-'
}
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
    if strip_edited_marker(body).is_some() {
        return MessageKind::Edited;
    }
    if first == b'<' && (body.starts_with("<attached:") || is_attached(first_line)) {
        return MessageKind::Media;
    }
    if !single_line && POLL_HEADS.contains(&first_line.trim_end()) {
        return MessageKind::Poll;
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

    // Deleted stubs first: Persian `این پیام حذف شد` ends like a placeholder.
    let stub = body.strip_suffix('.').unwrap_or(body);
    if DELETED.iter().any(|d| d.len() == stub.len() && *d == stub) {
        return Some(MessageKind::Deleted);
    }
    if is_ios_omitted(body, had_mark) {
        return Some(MessageKind::Media);
    }
    is_call(body).then_some(MessageKind::Call)
}

/// `‎image omitted`, `‎Contact card omitted`, `‎report.pdf • ‎3 pages ‎document omitted`.
/// Without the leading mark only the plain English placeholders count, so a typed
/// sentence ending in "omitted" stays text.
fn is_ios_omitted(body: &str, had_mark: bool) -> bool {
    if had_mark {
        return OMITTED_SUFFIXES.iter().any(|s| body.ends_with(s))
            || OMITTED_PREFIXES.iter().any(|p| body.starts_with(p))
            || OMITTED_RTL_SUFFIXES.iter().any(|s| body.ends_with(s));
    }
    matches!(
        body,
        "View once photo omitted"
            | "View once video omitted"
            | "View once voice message omitted"
            | "image omitted"
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
mod tests;
