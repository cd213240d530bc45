//! From uploaded bytes to chat text: sniffing zip archives and text encodings by content.
//!
//! The extension and the MIME type the browser sends say nothing reliable (Windows sends
//! `application/x-zip-compressed`, people rename files), so only the bytes decide.

use std::borrow::Cow;

use thiserror::Error;

use super::archive;

/// Why an upload could not be read as a chat. Every message is a sentence meant for the
/// person who uploaded the file.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ImportError {
    /// A well-known non-text format (PDF, image, …).
    #[error(
        "This file is not a WhatsApp chat export: it looks like {0}. In WhatsApp, open the chat, choose \"Export chat\" and upload the .txt or .zip file it creates."
    )]
    KnownBinary(&'static str),
    /// Binary data of some other kind.
    #[error("This file is not a WhatsApp chat export: it contains binary data, not text.")]
    Binary,
    /// Text in an encoding WhatsApp never writes (or corrupted text).
    #[error(
        "This file is not a WhatsApp chat export: its text is not in UTF-8 or UTF-16, the encodings WhatsApp uses."
    )]
    NotUnicode,
    /// Text, but no line of it is a WhatsApp message.
    #[error(
        "This file is not a WhatsApp chat export: none of its lines starts with a date and time like \"12/08/2016, 16:20 - Name: message\"."
    )]
    NotAChat,
    /// The zip archive is damaged or truncated.
    #[error("This zip file could not be opened: it is damaged or incomplete ({0}).")]
    BadZip(&'static str),
    /// The archive holds no text file.
    #[error("This zip file does not contain a WhatsApp chat: there is no .txt file in it.")]
    NoTextInZip,
    /// The archive only holds other archives.
    #[error(
        "This zip file only contains another zip file. We do not open zip files inside zip files: unzip it once and upload the WhatsApp export inside."
    )]
    NestedZip,
    /// The chat text unpacks to more than the limit (a zip bomb, or not a chat).
    #[error("This zip file is too large once unpacked: the chat text is over {limit_mib} MiB.")]
    TooLarge {
        /// The limit, in MiB.
        limit_mib: u64,
    },
    /// More entries than any export has.
    #[error("This zip file has too many files in it (more than {limit}) to be a WhatsApp export.")]
    TooManyEntries {
        /// The limit.
        limit: usize,
    },
    /// Password-protected archive.
    #[error("This zip file is password-protected. Upload the export without a password.")]
    Encrypted,
    /// A Telegram or Meta JSON export that does not parse.
    #[error(
        "This file looks like a Telegram, Instagram or Messenger export, but its JSON is damaged or incomplete ({0}). Export the chat again and upload the new file."
    )]
    BadJson(String),
    /// JSON that is no chat export we know.
    #[error(
        "This JSON file is not a chat export we can read: upload a WhatsApp export (.txt or .zip), Telegram Desktop's result.json, or Instagram/Messenger's message_1.json."
    )]
    UnknownJson,
    /// A multi-chat export without a choice.
    #[error(
        "This export holds {count} chats: {names}. Export only the chat you want (in Telegram Desktop: open the chat, ⋮ → Export chat history, format JSON), or upload one chat's folder."
    )]
    SeveralChats {
        /// How many chats have messages.
        count: usize,
        /// Their names, quoted and comma-separated.
        names: String,
    },
    /// Compression other than stored/deflate (phones only write those two).
    #[error(
        "This zip file uses a compression method we cannot read. Upload the export as WhatsApp created it."
    )]
    UnsupportedCompression,
}

/// Limits that keep a hostile archive from exhausting memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Most bytes of chat text read out of an archive (the upload itself is capped
    /// separately, at 25 MiB, by the API).
    pub max_text_bytes: u64,
    /// Most entries an archive may list.
    pub max_entries: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_text_bytes: 64 * 1024 * 1024,
            max_entries: 10_000,
        }
    }
}

/// Decodes an upload (a `.txt` or `.zip` export) to text with [`DecodeLimits::default`].
pub fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, ImportError> {
    decode_with(bytes, DecodeLimits::default())
}

/// Decodes an upload with explicit limits. UTF-8 input is borrowed, not copied.
pub fn decode_with(bytes: &[u8], limits: DecodeLimits) -> Result<Cow<'_, str>, ImportError> {
    if archive::is_zip(bytes) {
        let inner = archive::extract_chat(bytes, limits)?;
        return decode_text(&inner).map(|t| Cow::Owned(t.into_owned()));
    }
    decode_text(bytes)
}

/// Decodes text bytes: UTF-8 (BOM optional), UTF-16 LE/BE (BOM, or clearly UTF-16 without).
pub(crate) fn decode_text(bytes: &[u8]) -> Result<Cow<'_, str>, ImportError> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return utf8(rest);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return utf16(rest, u16::from_le_bytes).map(Cow::Owned);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return utf16(rest, u16::from_be_bytes).map(Cow::Owned);
    }
    if let Some(what) = known_binary(bytes) {
        return Err(ImportError::KnownBinary(what));
    }
    match sniff_utf16(bytes) {
        Some(Endian::Little) => utf16(bytes, u16::from_le_bytes).map(Cow::Owned),
        Some(Endian::Big) => utf16(bytes, u16::from_be_bytes).map(Cow::Owned),
        None => utf8(bytes),
    }
}

fn utf8(bytes: &[u8]) -> Result<Cow<'_, str>, ImportError> {
    let text = std::str::from_utf8(bytes).map_err(|_| ImportError::NotUnicode)?;
    // NUL never occurs in chat text, and is the surest sign of a binary file.
    if memchr::memchr(0, bytes).is_some() {
        return Err(ImportError::Binary);
    }
    Ok(Cow::Borrowed(text))
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, ImportError> {
    let units = bytes.chunks_exact(2).map(|p| unit([p[0], p[1]]));
    let mut out = String::with_capacity(bytes.len() / 2 + bytes.len() / 8);
    for ch in char::decode_utf16(units) {
        match ch {
            Ok('\0') => return Err(ImportError::Binary),
            Ok(c) => out.push(c),
            Err(_) => return Err(ImportError::NotUnicode),
        }
    }
    Ok(out)
}

#[derive(Debug, PartialEq, Eq)]
enum Endian {
    Little,
    Big,
}

/// UTF-16 without a BOM: chat headers are ASCII, so one byte of most pairs is zero,
/// always on the same side. Looks at the first 4 KiB.
fn sniff_utf16(bytes: &[u8]) -> Option<Endian> {
    let sample = &bytes[..bytes.len().min(4096) & !1];
    let pairs = sample.len() / 2;
    if pairs < 2 {
        return None;
    }
    let (mut zero_even, mut zero_odd) = (0, 0);
    for p in sample.chunks_exact(2) {
        zero_even += usize::from(p[0] == 0);
        zero_odd += usize::from(p[1] == 0);
    }
    let mostly = |n: usize| n * 10 >= pairs * 4;
    let rarely = |n: usize| n * 20 <= pairs;
    if mostly(zero_odd) && rarely(zero_even) {
        Some(Endian::Little)
    } else if mostly(zero_even) && rarely(zero_odd) {
        Some(Endian::Big)
    } else {
        None
    }
}

/// Names the common formats people upload by mistake.
fn known_binary(b: &[u8]) -> Option<&'static str> {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"%PDF", "a PDF document"),
        (b"\x89PNG", "a PNG image"),
        (b"\xFF\xD8\xFF", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"\x1F\x8B", "a gzip archive"),
        (b"Rar!", "a RAR archive"),
        (b"7z\xBC\xAF", "a 7-Zip archive"),
        (b"OggS", "an audio file"),
        (b"ID3", "an MP3 audio file"),
        (b"\xD0\xCF\x11\xE0", "an old Microsoft Office document"),
        (
            b"SQLite format 3",
            "a database file (WhatsApp's msgstore backup is not an export)",
        ),
    ];
    if let Some((_, what)) = MAGIC.iter().find(|(m, _)| b.starts_with(m)) {
        return Some(what);
    }
    match b.get(4..8) {
        Some(b"ftyp") => Some("a video or photo file"),
        _ if b.starts_with(b"RIFF") && b.get(8..12) == Some(b"WEBP") => Some("a WebP image"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(decode(b"\xEF\xBB\xBFhi").unwrap(), "hi");
        assert_eq!(decode(b"\xFF\xFEh\0i\0").unwrap(), "hi");
        assert_eq!(decode(b"\xFE\xFF\0h\0i").unwrap(), "hi");
        assert_eq!(decode(b"1\x002\x00/\x000\x00").unwrap(), "12/0");
        assert_eq!(decode(b"\x001\x002\x00/\x000").unwrap(), "12/0");
        assert_eq!(decode(b"").unwrap(), "");
        assert_eq!(decode(b"\xC3\x28"), Err(ImportError::NotUnicode));
        assert_eq!(decode(b"ab\0cd\0\0\0ef"), Err(ImportError::Binary));
        assert!(matches!(
            decode(b"%PDF-1.7\n"),
            Err(ImportError::KnownBinary(_))
        ));
    }

    #[test]
    fn messages_are_sentences() {
        let msg = ImportError::KnownBinary("a PDF document").to_string();
        assert!(
            msg.starts_with(
                "This file is not a WhatsApp chat export: it looks like a PDF document."
            ),
            "{msg}"
        );
    }
}
