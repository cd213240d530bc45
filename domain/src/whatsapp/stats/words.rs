//! Word, link and emoji scanning for the statistics, in one pass over each message.
//!
//! The earlier service removed URLs and emoji from the text and then took `[a-zA-Z]+`
//! tokens longer than two letters, lowercased, minus stopwords. Removing (not blanking)
//! means a URL or emoji glued to a word does not split it; the scanner reproduces that by
//! treating both as transparent.

use super::emoji::emoji_len;

/// NLTK's English stopword list (nltk_data `corpora/stopwords/english`, 198 entries).
/// Entries with apostrophes never match `[a-zA-Z]+` tokens; they are kept so the list
/// stays the published one.
pub(crate) const NLTK_ENGLISH: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "ain",
    "all",
    "am",
    "an",
    "and",
    "any",
    "are",
    "aren",
    "aren't",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "couldn",
    "couldn't",
    "d",
    "did",
    "didn",
    "didn't",
    "do",
    "does",
    "doesn",
    "doesn't",
    "doing",
    "don",
    "don't",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "hadn",
    "hadn't",
    "has",
    "hasn",
    "hasn't",
    "have",
    "haven",
    "haven't",
    "having",
    "he",
    "he'd",
    "he'll",
    "her",
    "here",
    "hers",
    "herself",
    "he's",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "i'd",
    "if",
    "i'll",
    "i'm",
    "in",
    "into",
    "is",
    "isn",
    "isn't",
    "it",
    "it'd",
    "it'll",
    "it's",
    "its",
    "itself",
    "i've",
    "just",
    "ll",
    "m",
    "ma",
    "me",
    "mightn",
    "mightn't",
    "more",
    "most",
    "mustn",
    "mustn't",
    "my",
    "myself",
    "needn",
    "needn't",
    "no",
    "nor",
    "not",
    "now",
    "o",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "re",
    "s",
    "same",
    "shan",
    "shan't",
    "she",
    "she'd",
    "she'll",
    "she's",
    "should",
    "shouldn",
    "shouldn't",
    "should've",
    "so",
    "some",
    "such",
    "t",
    "than",
    "that",
    "that'll",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "they'd",
    "they'll",
    "they're",
    "they've",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "ve",
    "very",
    "was",
    "wasn",
    "wasn't",
    "we",
    "we'd",
    "we'll",
    "were",
    "we're",
    "weren",
    "weren't",
    "we've",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "won",
    "won't",
    "wouldn",
    "wouldn't",
    "y",
    "you",
    "you'd",
    "you'll",
    "your",
    "you're",
    "yours",
    "yourself",
    "yourselves",
    "you've",
];

/// The 30 romanised-Hindi stopwords of the earlier service.
pub(crate) const HINDI: &[&str] = &[
    "hai", "hain", "ka", "ki", "ke", "ko", "me", "mein", "se", "ne", "par", "aur", "kya", "toh",
    "bhi", "tha", "thi", "the", "ho", "hum", "tu", "yeh", "woh", "is", "us", "ek", "nahi", "kyu",
    "kyun", "kaise",
];

/// WhatsApp's own words (placeholders and call notices), also stopwords.
pub(crate) const NOISE: &[&str] = &[
    "missed",
    "call",
    "voice",
    "video",
    "omitted",
    "media",
    "audio",
    "sticker",
    "gif",
    "document",
    "contact",
    "location",
    "deleted",
    "message",
    "attached",
    "null",
    "incoming",
    "outgoing",
    "ended",
    "declined",
    "cancelled",
    "unavailable",
    "calling",
    "ringing",
    "image",
    "photo",
    "file",
    "shared",
    "live",
];

/// Frequent short words of the languages whose exports we read, as a person from there
/// would leave them out of "top words" (three letters or more; shorter ones never count).
/// Words that are also English words (`die`, `bin`, `hay`) are left out of these lists.
pub(crate) const OTHER_LANGUAGES: &[&str] = &[
    // Turkish
    "bir", "için", "ama", "çok", "ben", "sen", "var", "yok", "daha", "gibi", "diye", "şey", "ile",
    "olan", "kadar", "değil", "evet", "hayır", "nasıl", "şimdi", "sonra", "her", "onu", "bunu",
    "benim", "senin", "bana", "sana", "zaten", "bunu", "şunu", "tamam", "ama", "niye",
    // Arabic
    "على", "إلى", "الى", "هذا", "هذه", "ذلك", "التي", "الذي", "كان", "انا", "أنا", "انت", "أنت",
    "اللي", "بعد", "قبل", "عند", "لما", "إذا", "اذا", "لكن", "كمان", "كيف", "ليش",
    // Persian
    "این", "است", "برای", "های", "اون", "بود", "نمی", "کنم", "کرد", "هست", "اما", "ولی", "خیلی",
    "دیگه", "باید", "شده", "کنی", "میشه", "چیه", // Spanish
    "que", "los", "las", "por", "para", "con", "una", "del", "pero", "más", "este", "esta", "esto",
    "muy", "porque", "cuando", "todo", "también", "estoy", "está", "tengo",
    // Portuguese
    "não", "nao", "com", "uma", "mas", "isso", "esse", "essa", "você", "voce", "mais", "muito",
    "então", "aqui", "vou", // German
    "und", "der", "das", "ist", "nicht", "ich", "sie", "ein", "eine", "mit", "auf", "für", "auch",
    "aber", "wie", "noch", "wir", "dass", "hast", "habe", "schon", "jetzt", // French
    "les", "des", "une", "est", "pas", "pour", "dans", "qui", "avec", "mais", "tout", "oui", "moi",
    "toi", "suis", "vous", "nous", "comme",
];

/// What the scanner found, reported to the statistics as it goes.
pub(crate) trait Sink {
    /// A lowercased `[a-z]{3,}` token (stopwords not yet removed).
    fn word(&mut self, word: &[u8]);
    /// An emoji as written (skin tones still in).
    fn emoji(&mut self, emoji: &str);
    /// A URL (`http://` or `https://` up to the next whitespace).
    fn link(&mut self, url: &str);
}

/// Scans one message. `words` is false for messages whose words do not count (deleted,
/// media, calls); their links and emoji still do.
///
/// Works a run of letters at a time; a token is flushed at any non-letter character that
/// is not an emoji, while URLs and emoji in between are skipped without flushing. Letters
/// are ASCII or any Unicode letter (`oluşturdu`, `مرحبا`, `привет` stay whole), plus the
/// zero-width non-joiner inside Persian words (`می‌خواهم`).
pub(crate) fn scan(text: &str, words: bool, buf: &mut Vec<u8>, sink: &mut impl Sink) {
    let b = text.as_bytes();
    buf.clear();
    let mut letters = 0usize;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_alphabetic() {
            let start = i;
            while i < b.len() && b[i].is_ascii_alphabetic() {
                i += 1;
            }
            // `…http://…`: the URL starts inside this run of letters.
            let url_at = if b.get(i) == Some(&b':') {
                url_start_in_run(text, start, i)
            } else {
                None
            };
            let keep_end = url_at.unwrap_or(i);
            if words {
                buf.extend(b[start..keep_end].iter().map(u8::to_ascii_lowercase));
                letters += keep_end - start;
            }
            if let Some(at) = url_at {
                let n = url_len(text, at);
                sink.link(&text[at..at + n]);
                i = at + n;
            }
        } else if c < 0x80 {
            if matches!(c, b'#' | b'*' | b'0'..=b'9') && matches!(b.get(i + 1), Some(0xEF | 0xE2)) {
                let n = emoji_len(text, i);
                if n > 0 {
                    sink.emoji(&text[i..i + n]);
                    i += n;
                    continue;
                }
            }
            flush(buf, &mut letters, sink);
            i += 1;
        } else {
            let n = emoji_len(text, i);
            if n > 0 {
                sink.emoji(&text[i..i + n]);
                i += n;
                continue;
            }
            let ch = text.get(i..).and_then(|t| t.chars().next()).unwrap_or(' ');
            if ch.is_alphabetic() || (letters > 0 && is_word_mark(ch)) {
                if words {
                    push_lower(buf, ch);
                    letters += usize::from(ch.is_alphabetic());
                }
            } else {
                flush(buf, &mut letters, sink);
            }
            i += ch.len_utf8();
        }
    }
    flush(buf, &mut letters, sink);
}

/// Combining marks and joiners that belong to the word they follow: the Devanagari virama
/// in `नमस्ते`, Arabic harakat, Hebrew points, Thai vowel marks, the Persian non-joiner.
/// `char::is_alphabetic` already covers most vowel signs; these are the rest.
fn is_word_mark(ch: char) -> bool {
    let c = u32::from(ch);
    matches!(c,
        0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05BD | 0x05BF | 0x05C1..=0x05C2
        | 0x05C4..=0x05C5 | 0x05C7 | 0x0610..=0x061A | 0x064B..=0x065F | 0x0670
        | 0x06D6..=0x06DC | 0x06DF..=0x06E4 | 0x06E7..=0x06E8 | 0x06EA..=0x06ED
        | 0x0E31 | 0x0E34..=0x0E3A | 0x0E47..=0x0E4E | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF
        | 0x200C | 0x200D | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
        // Indic scripts: every sign that is not a letter, a digit or a danda.
        || ((0x0900..=0x0DFF).contains(&c)
            && !ch.is_numeric()
            && !matches!(c, 0x0964 | 0x0965 | 0x0970))
}

/// Appends `ch` lowercased. Turkish `İ` becomes `i` (not `i` plus a combining dot).
#[inline]
fn push_lower(buf: &mut Vec<u8>, ch: char) {
    let mut tmp = [0u8; 4];
    if ch == 'İ' {
        buf.push(b'i');
        return;
    }
    for l in ch.to_lowercase() {
        buf.extend_from_slice(l.encode_utf8(&mut tmp).as_bytes());
    }
}

/// Where a URL starts in the letter run `b[start..end]` followed by `:`, if the run ends
/// in `http` or `https` and a real URL follows.
fn url_start_in_run(text: &str, start: usize, end: usize) -> Option<usize> {
    let run = &text.as_bytes()[start..end];
    let at = if run.ends_with(b"https") {
        end - 5
    } else if run.ends_with(b"http") {
        end - 4
    } else {
        return None;
    };
    (url_len(text, at) > 0).then_some(at)
}

#[inline]
fn flush(buf: &mut Vec<u8>, letters: &mut usize, sink: &mut impl Sink) {
    // Trailing joiners are not part of the word.
    while buf.ends_with("\u{200C}".as_bytes()) || buf.ends_with("\u{200D}".as_bytes()) {
        buf.truncate(buf.len() - 3);
    }
    if *letters > 2 {
        sink.word(buf);
    }
    buf.clear();
    *letters = 0;
}

/// Length of the URL starting at `i`, or 0.
fn url_len(text: &str, i: usize) -> usize {
    let rest = &text.as_bytes()[i..];
    let scheme = if rest.starts_with(b"https://") {
        8
    } else if rest.starts_with(b"http://") {
        7
    } else {
        return 0;
    };
    let tail = &text[i + scheme..];
    let end = tail.find(char::is_whitespace).unwrap_or(tail.len());
    // `\S+` needs at least one character after the scheme.
    if end == 0 { 0 } else { scheme + end }
}

/// `[a-z]` words longer than two letters in `text`, lowercased: the `word_count` of
/// `longest_message`.
pub(crate) fn simple_word_count(text: &str) -> usize {
    text.as_bytes()
        .split(|b| !b.is_ascii_alphabetic())
        .filter(|w| w.len() > 2)
        .count()
}

#[cfg(test)]
mod tests;
