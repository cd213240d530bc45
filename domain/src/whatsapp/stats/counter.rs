//! Word and emoji counters, global and per participant.
//!
//! Most chats have two participants, so each word keeps the counts of the first two
//! inline: one hash lookup per word instead of two. Later participants get a small map
//! each. Ties in the top lists go to what was seen first, as Python's
//! `Counter.most_common` does.

use rustc_hash::FxHashMap;

use super::words::{HINDI, NLTK_ENGLISH, NOISE, OTHER_LANGUAGES};

/// Participants whose word counts are stored inline.
const INLINE: usize = 2;

#[derive(Debug, Clone, Default)]
struct WordInfo {
    total: u32,
    stop: bool,
    count: [u32; INLINE],
    /// Per-participant first-seen order (for ties).
    first: [u32; INLINE],
}

/// Per-participant counts of ids (words beyond the inline two, and emoji).
#[derive(Debug, Default)]
pub(crate) struct PerUser {
    counts: FxHashMap<u32, (u32, u32)>,
    next_seq: u32,
}

impl PerUser {
    fn add(&mut self, id: u32) {
        let seq = self.next_seq;
        let e = self.counts.entry(id).or_insert((0, seq));
        if e.0 == 0 {
            self.next_seq += 1;
        }
        e.0 += 1;
    }
}

/// The vocabulary, with stopwords pre-registered so filtering costs nothing extra.
#[derive(Debug)]
pub(crate) struct Vocab {
    ids: FxHashMap<Box<[u8]>, u32>,
    words: Vec<WordInfo>,
    names: Vec<Box<str>>,
    /// Per-participant first-seen counters for the inline participants.
    seq: [u32; INLINE],
}

impl Vocab {
    pub(crate) fn new() -> Self {
        let mut v = Self {
            ids: FxHashMap::default(),
            words: Vec::new(),
            names: Vec::new(),
            seq: [0; INLINE],
        };
        for w in NLTK_ENGLISH
            .iter()
            .chain(HINDI)
            .chain(NOISE)
            .chain(OTHER_LANGUAGES)
        {
            let id = v.intern(w.as_bytes());
            v.words[id as usize].stop = true;
        }
        v
    }

    fn intern(&mut self, word: &[u8]) -> u32 {
        if let Some(&id) = self.ids.get(word) {
            return id;
        }
        let id = self.words.len() as u32;
        self.ids.insert(word.into(), id);
        self.words.push(WordInfo::default());
        self.names.push(String::from_utf8_lossy(word).into());
        id
    }

    /// Counts `word` for participant `user`; false when it is a stopword.
    pub(crate) fn add(&mut self, word: &[u8], user: usize, extra: &mut PerUser) -> bool {
        let id = self.intern(word);
        let info = &mut self.words[id as usize];
        if info.stop {
            return false;
        }
        info.total += 1;
        if user < INLINE {
            if info.count[user] == 0 {
                info.first[user] = self.seq[user];
                self.seq[user] += 1;
            }
            info.count[user] += 1;
        } else {
            extra.add(id);
        }
        true
    }

    /// The `n` most frequent words of the whole chat.
    pub(crate) fn top(&self, n: usize) -> Vec<(String, u64)> {
        let items = self.words.iter().enumerate().filter(|(_, w)| w.total > 0);
        let ranked = top_n(items.map(|(id, w)| (w.total, id as u32, id as u32)), n);
        ranked
            .into_iter()
            .map(|(id, c)| (self.names[id as usize].to_string(), c))
            .collect()
    }

    /// Every (word id, count) of participant `user`.
    pub(crate) fn user_words(&self, user: usize, extra: &PerUser) -> Vec<(u32, u32)> {
        if user < INLINE {
            self.words
                .iter()
                .enumerate()
                .filter(|(_, w)| w.count[user] > 0)
                .map(|(id, w)| (id as u32, w.count[user]))
                .collect()
        } else {
            extra.counts.iter().map(|(&id, &(c, _))| (id, c)).collect()
        }
    }

    /// How often a word was used in the whole chat.
    pub(crate) fn total(&self, id: u32) -> u32 {
        self.words.get(id as usize).map_or(0, |w| w.total)
    }

    /// The word behind an id.
    pub(crate) fn name(&self, id: u32) -> String {
        self.names
            .get(id as usize)
            .map_or_else(String::new, |n| n.to_string())
    }

    /// The `n` most frequent words of participant `user`.
    pub(crate) fn top_for(&self, user: usize, extra: &PerUser, n: usize) -> Vec<(String, u64)> {
        let ranked = if user < INLINE {
            let items = self
                .words
                .iter()
                .enumerate()
                .filter(|(_, w)| w.count[user] > 0);
            top_n(
                items.map(|(id, w)| (w.count[user], w.first[user], id as u32)),
                n,
            )
        } else {
            top_n(extra.counts.iter().map(|(&id, &(c, seq))| (c, seq, id)), n)
        };
        ranked
            .into_iter()
            .map(|(id, c)| (self.names[id as usize].to_string(), c))
            .collect()
    }
}

/// Emoji counts, keyed by the emoji with skin tones removed.
#[derive(Debug, Default)]
pub(crate) struct EmojiCounter {
    ids: FxHashMap<Box<str>, u32>,
    totals: Vec<u32>,
    names: Vec<Box<str>>,
}

impl EmojiCounter {
    pub(crate) fn add(&mut self, emoji: &str, extra: &mut PerUser) {
        let id = match self.ids.get(emoji) {
            Some(&id) => id,
            None => {
                let id = self.totals.len() as u32;
                self.ids.insert(emoji.into(), id);
                self.totals.push(0);
                self.names.push(emoji.into());
                id
            }
        };
        self.totals[id as usize] += 1;
        extra.add(id);
    }

    pub(crate) fn top(&self, n: usize) -> Vec<(String, u64)> {
        let ranked = top_n(
            self.totals
                .iter()
                .enumerate()
                .map(|(id, &c)| (c, id as u32, id as u32)),
            n,
        );
        ranked
            .into_iter()
            .map(|(id, c)| (self.names[id as usize].to_string(), c))
            .collect()
    }

    pub(crate) fn top_for(&self, per_user: &PerUser, n: usize) -> Vec<(String, u64)> {
        let ranked = top_n(
            per_user.counts.iter().map(|(&id, &(c, seq))| (c, seq, id)),
            n,
        );
        ranked
            .into_iter()
            .map(|(id, c)| (self.names[id as usize].to_string(), c))
            .collect()
    }
}

/// The `n` entries with the highest count, ties broken by first-seen order.
/// Items are `(count, first_seen, id)`; returns `(id, count)`.
fn top_n(items: impl Iterator<Item = (u32, u32, u32)>, n: usize) -> Vec<(u32, u64)> {
    let mut v: Vec<_> = items.filter(|(c, _, _)| *c > 0).collect();
    let key = |&(c, first, _): &(u32, u32, u32)| (std::cmp::Reverse(c), first);
    if v.len() > n {
        v.select_nth_unstable_by_key(n, key);
        v.truncate(n);
    }
    v.sort_unstable_by_key(key);
    v.into_iter().map(|(c, _, id)| (id, u64::from(c))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopwords_and_ties() {
        let mut v = Vocab::new();
        let mut extra = PerUser::default();
        assert!(!v.add(b"the", 0, &mut extra));
        assert!(!v.add(b"hai", 0, &mut extra));
        assert!(!v.add(b"omitted", 0, &mut extra));
        for w in ["zeta", "alpha", "zeta", "beta", "alpha"] {
            assert!(v.add(w.as_bytes(), 0, &mut extra));
        }
        // zeta and alpha tie at 2: zeta was seen first.
        assert_eq!(
            v.top(2),
            vec![("zeta".to_string(), 2), ("alpha".to_string(), 2)]
        );
        assert_eq!(v.top_for(0, &extra, 5).len(), 3);
        assert!(v.add(b"gamma", 3, &mut extra));
        assert_eq!(v.top_for(3, &extra, 5), vec![("gamma".to_string(), 1)]);
    }
}
