//! An answer's prose split into sentences (outside quotes), for the distinct-sentence
//! figures and for the writer's no-repeat rule.

use serde_json::Value;

/// Keys whose strings are not prose: quotes, names, short labels.
const NOT_PROSE: [&str; 4] = ["message", "speaker", "timestamp", "name"];

/// The sentences of every prose string (two or more words ending in . ! or ?).
pub(super) fn prose_sentences(v: &Value, key: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                prose_sentences(v, k, out);
            }
        }
        Value::Array(a) => {
            for v in a {
                prose_sentences(v, key, out);
            }
        }
        Value::String(s) if !NOT_PROSE.contains(&key) => {
            for sentence in split_sentences(s) {
                // Labels ("short, quick messages") are not sentences; prose ends with . ! ?
                let ends = sentence
                    .trim_end_matches(['\u{201d}', ')'])
                    .ends_with(['.', '!', '?']);
                if ends && sentence.split_whitespace().count() >= 3 {
                    out.push(sentence);
                }
            }
        }
        _ => {}
    }
}

/// Sentences: split after `.`, `!` or `?` followed by a space, outside quotation marks.
pub(crate) fn split_sentences(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        current.push(c);
        match c {
            '\u{201c}' => quoted = true,
            '\u{201d}' => quoted = false,
            '.' | '!' | '?' if !quoted && chars.get(i + 1).is_none_or(|n| n.is_whitespace()) => {
                let t = current.trim().to_owned();
                if !t.is_empty() {
                    out.push(t);
                }
                current.clear();
            }
            _ => {}
        }
    }
    let t = current.trim().to_owned();
    if !t.is_empty() {
        out.push(t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_split_outside_quotes() {
        assert_eq!(
            split_sentences("On 12 March, Priya said \u{201c}No. Stop.\u{201d} Then it ended. Ok!"),
            vec![
                "On 12 March, Priya said \u{201c}No. Stop.\u{201d} Then it ended.",
                "Ok!"
            ]
        );
    }
}
