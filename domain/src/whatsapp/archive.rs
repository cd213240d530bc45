//! Zip exports: finding the chat text among media files without trusting the archive.
//!
//! Sizes written in zip headers are whatever the sender wants them to be, so the chat
//! entry is read through a limited reader, and the entry count is checked from the end
//! record *before* the zip crate reads the central directory into memory.

use std::io::{Cursor, Read};

use zip::ZipArchive;
use zip::result::ZipError;

use super::decode::{DecodeLimits, ImportError};
use super::parse::EXPORT_PREFIXES;

/// Zip files start with a local header, an empty-archive end record, or a spanning marker.
pub fn is_zip(bytes: &[u8]) -> bool {
    matches!(
        bytes.get(..4),
        Some(b"PK\x03\x04" | b"PK\x05\x06" | b"PK\x07\x08")
    )
}

/// The raw bytes of the chat text inside a zip export.
pub(crate) fn extract_chat(bytes: &[u8], limits: DecodeLimits) -> Result<Vec<u8>, ImportError> {
    if declared_entries(bytes).is_some_and(|n| n > limits.max_entries as u64) {
        return Err(ImportError::TooManyEntries {
            limit: limits.max_entries,
        });
    }
    let mut zip = ZipArchive::new(Cursor::new(bytes)).map_err(zip_error)?;
    if zip.len() > limits.max_entries {
        return Err(ImportError::TooManyEntries {
            limit: limits.max_entries,
        });
    }
    let index = choose_entry(&mut zip)?;
    let entry = zip.by_index(index).map_err(zip_error)?;
    let mut out = Vec::new();
    let read = entry
        .take(limits.max_text_bytes.saturating_add(1))
        .read_to_end(&mut out);
    read.map_err(|e| match e.kind() {
        std::io::ErrorKind::Unsupported => ImportError::UnsupportedCompression,
        _ => ImportError::BadZip("the chat text inside is corrupted"),
    })?;
    if out.len() as u64 > limits.max_text_bytes {
        return Err(ImportError::TooLarge {
            limit_mib: limits.max_text_bytes / (1024 * 1024),
        });
    }
    Ok(out)
}

/// The JSON chat files of a Telegram or Meta export zip (`result.json`, `message_N.json`),
/// as (entry name, text), `message_N.json` in the order of N; `None` when the archive has
/// none (a WhatsApp zip). Their total size is capped like a WhatsApp chat's.
pub fn json_files_in_zip(
    bytes: &[u8],
    limits: DecodeLimits,
) -> Result<Option<Vec<(String, String)>>, ImportError> {
    if declared_entries(bytes).is_some_and(|n| n > limits.max_entries as u64) {
        return Err(ImportError::TooManyEntries {
            limit: limits.max_entries,
        });
    }
    let mut zip = ZipArchive::new(Cursor::new(bytes)).map_err(zip_error)?;
    let mut wanted: Vec<(u32, usize, String)> = Vec::new();
    for i in 0..zip.len() {
        let Some(name) = zip.name_for_index(i) else {
            continue;
        };
        if name.starts_with("__MACOSX/") {
            continue;
        }
        let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
        let n = if base == "result.json" {
            Some(0)
        } else {
            base.strip_prefix("message_")
                .and_then(|r| r.strip_suffix(".json"))
                .and_then(|d| d.parse::<u32>().ok())
        };
        if let Some(n) = n {
            wanted.push((n, i, name.to_owned()));
        }
    }
    if wanted.is_empty() {
        return Ok(None);
    }
    wanted.sort();
    let mut budget = limits.max_text_bytes;
    let mut out = Vec::with_capacity(wanted.len());
    for (_, i, name) in wanted {
        let entry = zip.by_index(i).map_err(zip_error)?;
        let mut data = Vec::new();
        entry
            .take(budget.saturating_add(1))
            .read_to_end(&mut data)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::Unsupported => ImportError::UnsupportedCompression,
                _ => ImportError::BadZip("a chat file inside is corrupted"),
            })?;
        if data.len() as u64 > budget {
            return Err(ImportError::TooLarge {
                limit_mib: limits.max_text_bytes / (1024 * 1024),
            });
        }
        budget -= data.len() as u64;
        let text = super::decode::decode_text(&data)?.into_owned();
        out.push((name, text));
    }
    Ok(Some(out))
}

fn zip_error(e: ZipError) -> ImportError {
    match e {
        ZipError::UnsupportedArchive(msg) if msg.contains("assword") || msg.contains("ncrypt") => {
            ImportError::Encrypted
        }
        ZipError::UnsupportedArchive(_) => ImportError::UnsupportedCompression,
        ZipError::InvalidPassword => ImportError::Encrypted,
        _ => ImportError::BadZip("its table of contents cannot be read"),
    }
}

/// Picks `_chat.txt` (iOS), then a `WhatsApp Chat with …txt` (Android), then the largest
/// other `.txt`. Media, folders and macOS metadata are ignored.
fn choose_entry(zip: &mut ZipArchive<Cursor<&[u8]>>) -> Result<usize, ImportError> {
    let mut best: Option<(u8, u64, usize)> = None;
    let mut saw_zip = false;
    for i in 0..zip.len() {
        let Some(name) = zip.name_for_index(i) else {
            continue;
        };
        let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
        if name.starts_with("__MACOSX/") || base.starts_with("._") || base.is_empty() {
            continue;
        }
        let lower = base.to_ascii_lowercase();
        if lower.ends_with(".zip") {
            saw_zip = true;
            continue;
        }
        if !lower.ends_with(".txt") {
            continue;
        }
        let rank = if base == "_chat.txt" {
            2
        } else if EXPORT_PREFIXES.iter().any(|p| base.starts_with(p)) {
            1
        } else {
            0
        };
        let size = zip.by_index_raw(i).map(|f| f.size()).unwrap_or(0);
        if best.is_none_or(|(r, s, _)| (rank, size) > (r, s)) {
            best = Some((rank, size, i));
        }
    }
    match best {
        Some((_, _, i)) => Ok(i),
        None if saw_zip => Err(ImportError::NestedZip),
        None => Err(ImportError::NoTextInZip),
    }
}

/// The entry count in the end-of-central-directory record (zip64 aware), if found.
fn declared_entries(bytes: &[u8]) -> Option<u64> {
    const EOCD: &[u8] = b"PK\x05\x06";
    let tail_start = bytes.len().saturating_sub(22 + 65_535);
    let pos = tail_start + memchr::memmem::rfind(&bytes[tail_start..], EOCD)?;
    let total = u16::from_le_bytes(bytes.get(pos + 10..pos + 12)?.try_into().ok()?);
    if total != u16::MAX {
        return Some(u64::from(total));
    }
    // Zip64: the locator sits right before the end record and points at the zip64 record.
    let loc = pos.checked_sub(20)?;
    if bytes.get(loc..loc + 4)? != b"PK\x06\x07" {
        return Some(u64::from(total));
    }
    let at = u64::from_le_bytes(bytes.get(loc + 8..loc + 16)?.try_into().ok()?);
    let at = usize::try_from(at).ok()?;
    if bytes.get(at..at.checked_add(4)?)? != b"PK\x06\x06" {
        return Some(u64::from(total));
    }
    Some(u64::from_le_bytes(
        bytes.get(at + 32..at + 40)?.try_into().ok()?,
    ))
}
