//! Tests of the word rules and counters.

use super::*;

#[derive(Default)]
struct Collect {
    words: Vec<String>,
    emojis: Vec<String>,
    links: Vec<String>,
}

impl Sink for Collect {
    fn word(&mut self, w: &[u8]) {
        self.words.push(String::from_utf8_lossy(w).into_owned());
    }
    fn emoji(&mut self, e: &str) {
        self.emojis.push(e.to_owned());
    }
    fn link(&mut self, u: &str) {
        self.links.push(u.to_owned());
    }
}

fn run(text: &str) -> Collect {
    let mut c = Collect::default();
    scan(text, true, &mut Vec::new(), &mut c);
    c
}

#[test]
fn tokens_links_emoji() {
    let c = run("Hello WORLD, see https://x.com/a?b=1 now! ok héllo 12abc");
    assert_eq!(c.words, ["hello", "world", "see", "now", "héllo", "abc"]);
    let u = run("Grubu oluşturdu. İSTANBUL مرحبا می\u{200C}خواهم на ok");
    assert_eq!(
        u.words,
        ["grubu", "oluşturdu", "istanbul", "مرحبا", "می\u{200C}خواهم"]
    );
    assert_eq!(c.links, ["https://x.com/a?b=1"]);
    let c = run("love😍you 👍🏽 🇮🇳 👨‍👩‍👧 1️⃣ http:// x");
    // `http://` followed by a space is no URL (`\S+` needs a character): a plain word.
    assert_eq!(c.words, ["loveyou", "http"]);
    assert_eq!(c.emojis, ["😍", "👍🏽", "🇮🇳", "👨‍👩‍👧", "1️⃣"]);
    assert!(c.links.is_empty());
}

#[test]
fn stopword_lists_have_the_published_sizes() {
    assert_eq!(NLTK_ENGLISH.len(), 198);
    assert_eq!(HINDI.len(), 30);
    assert_eq!(NOISE.len(), 29);
}

#[test]
fn longest_message_word_count() {
    assert_eq!(simple_word_count("I am the best, ok? yes!"), 3);
}
