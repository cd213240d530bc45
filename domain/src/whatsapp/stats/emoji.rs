//! Finding emoji in text with the Unicode data of the `emojis` crate.
//!
//! An emoji can be a sequence: a base, variation selectors, skin tones, keycaps, tag
//! characters, and more bases joined by ZWJ (U+200D), or two regional indicators (a flag).
//! The scanner gathers such a cluster and takes its longest prefix that Unicode lists as
//! an emoji, so unknown combinations still yield their known parts.

/// Longest cluster considered, in characters (the longest RGI sequence has 10).
const MAX_CLUSTER_CHARS: usize = 16;

/// Byte length of the emoji starting at byte `i` of `text`, or 0 when there is none.
pub(crate) fn emoji_len(text: &str, i: usize) -> usize {
    let Some(rest) = text.get(i..) else { return 0 };
    let mut chars = rest.char_indices();
    let Some((_, first)) = chars.next() else {
        return 0;
    };
    if !could_start(first) {
        return 0;
    }
    // Char boundaries of the cluster, shortest first.
    let mut ends = [0usize; MAX_CLUSTER_CHARS];
    let mut n = 0;
    let mut end = first.len_utf8();
    ends[n] = end;
    n += 1;
    let mut pending_join = false;
    let mut flag_half = is_regional(first);
    for (at, c) in chars {
        let extend =
            pending_join || is_modifier(c) || c == '\u{200D}' || (flag_half && is_regional(c));
        if !extend || n == MAX_CLUSTER_CHARS {
            break;
        }
        flag_half = false;
        pending_join = c == '\u{200D}';
        end = at + c.len_utf8();
        ends[n] = end;
        n += 1;
    }
    ends[..n]
        .iter()
        .rev()
        .find(|&&e| emojis::get(&rest[..e]).is_some())
        .copied()
        .unwrap_or(0)
}

/// Variation selectors, skin tones, the keycap mark and tag characters.
fn is_modifier(c: char) -> bool {
    matches!(c as u32, 0xFE0E | 0xFE0F | 0x1F3FB..=0x1F3FF | 0x20E3 | 0xE0020..=0xE007F)
}

fn is_regional(c: char) -> bool {
    matches!(c as u32, 0x1F1E6..=0x1F1FF)
}

/// Characters an emoji can start with: a cheap filter before the table lookup, so
/// accented letters and other scripts cost one comparison.
fn could_start(c: char) -> bool {
    matches!(
        c as u32,
        0x23 | 0x2A | 0x30..=0x39 | 0xA9 | 0xAE | 0x203C | 0x2049 | 0x2122 | 0x2139 | 0x2194..=0x21AA
            | 0x231A..=0x23FF | 0x24C2 | 0x25AA..=0x27BF | 0x2934..=0x2935 | 0x2B05..=0x2B55 | 0x3030
            | 0x303D | 0x3297 | 0x3299 | 0x1F000..=0x1FAFF
    )
}

/// `emoji` without skin-tone modifiers (U+1F3FB–U+1F3FF), so `👍🏽` counts as `👍`.
/// Borrowed when there is none.
pub(crate) fn strip_skin_tones<'e>(emoji: &'e str, buf: &'e mut String) -> &'e str {
    if !emoji.chars().any(is_skin_tone) {
        return emoji;
    }
    buf.clear();
    buf.extend(emoji.chars().filter(|&c| !is_skin_tone(c)));
    buf
}

fn is_skin_tone(c: char) -> bool {
    matches!(c as u32, 0x1F3FB..=0x1F3FF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences() {
        assert_eq!(emoji_len("😀x", 0), 4);
        assert_eq!(emoji_len("👍🏽!", 0), 8);
        assert_eq!(emoji_len("🇮🇳🇺🇸", 0), 8);
        assert_eq!(emoji_len("👩‍❤️‍👨", 0), "👩‍❤️‍👨".len());
        assert_eq!(emoji_len("❤", 0), 3);
        assert_eq!(emoji_len("#️⃣", 0), "#️⃣".len());
        assert_eq!(emoji_len("#x", 0), 0);
        assert_eq!(emoji_len("é", 0), 0);
        assert_eq!(emoji_len("🏴󠁧󠁢󠁳󠁣󠁴󠁿", 0), "🏴󠁧󠁢󠁳󠁣󠁴󠁿".len());
    }

    #[test]
    fn skin_tones_merge() {
        let mut buf = String::new();
        assert_eq!(strip_skin_tones("👍🏽", &mut buf), "👍");
        assert_eq!(strip_skin_tones("👍", &mut buf), "👍");
        assert_eq!(strip_skin_tones("👩🏿‍❤‍👩🏻", &mut buf), "👩‍❤‍👩");
    }
}
