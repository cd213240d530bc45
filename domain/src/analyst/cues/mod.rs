//! The cue lists the reading looks for, English first with a few common Hinglish words.
//!
//! A cue matches a whole word or phrase; a cue ending in `*` matches any word that starts
//! with it (`frustrat*` → frustrated, frustrating), which covers inflections without a
//! stemmer. Emoji and punctuation cues match anywhere.

mod care;
mod conflict;
mod language;
mod plans;
mod work;

pub(crate) use care::{ACTS, GIFTS, HUMOUR, LOW, SUPPORT, THANKS, TIME, TOUCH, WORDS};
pub(crate) use conflict::{APOLOGY, REASSURE, TENSION};
pub(crate) use language::{ENGLISH, STOP};
pub(crate) use plans::{BROKEN, KEPT, PLAN, PROPOSE};
pub(crate) use work::{BLOCKER, DECISION, PRESSURE};

/// `cue` in `lower` (a lower-cased message), as a whole word or phrase; see the module docs.
pub(crate) fn has(lower: &str, cue: &str) -> bool {
    if let Some(prefix) = cue.strip_suffix('*') {
        return words(lower).any(|w| w.starts_with(prefix));
    }
    crate::analyst::lexicon::contains_cue(lower, cue)
}

/// The first cue of `list` that `lower` mentions.
pub(crate) fn first<'c>(lower: &str, list: &'c [&'c str]) -> Option<&'c str> {
    list.iter().copied().find(|c| has(lower, c))
}

pub(crate) fn any(lower: &str, list: &[&str]) -> bool {
    first(lower, list).is_some()
}

/// The words of a lower-cased text (letters, digits and apostrophes).
pub(crate) fn words(lower: &str) -> impl Iterator<Item = &str> {
    lower
        .split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '\u{2019}')
        .filter(|w| !w.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_cues_match_inflections_only_at_word_starts() {
        assert!(has("so frustrating today", "frustrat*"));
        assert!(!has("unfrustrated", "frustrat*"));
        assert!(has("hahaha ok", "haha*"));
        assert!(has("i'm so upset", "upset"));
        assert!(!has("about 9k each, return", "upset"));
        assert_eq!(first("thanks love", THANKS), Some("thanks"));
    }
}
