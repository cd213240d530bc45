//! The words a header may carry around its time: 12-hour markers in the export languages
//! (`PM`, `p. m.`, `오후`, `μ.μ.`) and the fillers allowed between date and time (`klo`, `um`).

use super::Meridiem;
use crate::whatsapp::marks::{mark_len, space_len};

/// Markers that mean "morning", compared after removing dots, spaces and ASCII case.
const AM: &[&str] = &[
    "am", "a", "vorm", "vm", "fm", "午前", "오전", "上午", "ص", "πμ", "de", "дп", "öö", "sa",
    // Persian `ق.ظ` (before noon), dots dropped.
    "قظ",
];
/// Markers that mean "afternoon", compared the same way.
const PM: &[&str] = &[
    "pm", "p", "nachm", "nm", "em", "午後", "오후", "下午", "م", "μμ", "du", "пп", "ös", "ch",
    // Persian `ب.ظ` (after noon).
    "بظ",
];
/// Words allowed between the date and the time (`klo` fi, `um` de, `à`/`às` fr/pt, `at`).
const FILLERS: &[&str] = &[
    "klo", "kl", "um", "à", "às", "a", "at", "om", "o", "в", "saat",
];

/// Looks a marker up after dropping dots, spaces and ASCII case (`P. M.` → `pm`).
pub(super) fn meridiem_of(word: &[u8]) -> Option<Meridiem> {
    let mut buf = [0u8; 24];
    let mut n = 0;
    let mut i = 0;
    while i < word.len() {
        let skip = space_len(word, i).max(mark_len(word, i));
        if skip > 0 {
            i += skip;
            continue;
        }
        let b = word[i];
        i += 1;
        if b == b'.' {
            continue;
        }
        *buf.get_mut(n)? = b.to_ascii_lowercase();
        n += 1;
    }
    let key = std::str::from_utf8(buf.get(..n)?).ok()?;
    let key = lower_greek_cyrillic_turkish(key);
    if AM.contains(&key.as_ref()) {
        Some(Meridiem::Am)
    } else if PM.contains(&key.as_ref()) {
        Some(Meridiem::Pm)
    } else {
        None
    }
}

/// Lowercases the few non-ASCII markers that come in capitals (`ΠΜ`, `ДП`, `ÖÖ`).
fn lower_greek_cyrillic_turkish(s: &str) -> std::borrow::Cow<'_, str> {
    if s.is_ascii() {
        s.into()
    } else {
        s.to_lowercase().into()
    }
}

pub(super) fn is_filler(word: &[u8]) -> bool {
    let w = std::str::from_utf8(word).unwrap_or("");
    FILLERS.iter().any(|f| f.eq_ignore_ascii_case(w))
}
