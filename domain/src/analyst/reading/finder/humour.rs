//! Humour: jokes that landed, and running jokes that come back across the chat.

use std::collections::{BTreeMap, HashSet};

use super::Finder;
use crate::analyst::{
    cues,
    reading::{Episode, Kind},
};

impl Finder<'_> {
    pub(super) fn humour(&self) -> Vec<Episode> {
        let m = self.msgs();
        let mut out = Vec::new();
        let mut last_end: Option<i64> = None;
        for i in 0..m.len() {
            if !cues::any(&m[i].lower, cues::HUMOUR) {
                continue;
            }
            // Laughter within half an hour of the last is the same moment.
            if last_end.is_some_and(|t| m[i].at - t <= 30) {
                last_end = Some(m[i].at);
                continue;
            }
            last_end = Some(m[i].at);
            let joke = self.answered(i, 60);
            let mut idx = Vec::new();
            idx.extend(joke);
            idx.push(i);
            idx.extend(self.reply(i, 60));
            let mut e = self.episode(Kind::Humour, idx, i);
            // Whoever made the other laugh leads the moment.
            if let Some(j) = joke
                && !cues::any(&m[i].lower, &["jk", "just kidding", "you're such a"])
            {
                e.lead = m[j].person;
                e.key = j;
            }
            out.push(e);
        }
        out
    }

    /// Phrases (two content words in a row) that come back on different days, at least once
    /// near laughter.
    pub(super) fn running_jokes(&self) -> Vec<Episode> {
        let m = self.msgs();
        let mut found: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, msg) in m.iter().enumerate() {
            let words: Vec<&str> = cues::words(&msg.lower).collect();
            let mut mine = HashSet::new();
            for pair in words.windows(2) {
                if pair
                    .iter()
                    .all(|w| w.chars().count() >= 3 && !cues::STOP.contains(w))
                {
                    let phrase = format!("{} {}", pair[0], pair[1]);
                    if mine.insert(phrase.clone()) {
                        found.entry(phrase).or_default().push(i);
                    }
                }
            }
        }
        let laugh_near = |i: usize| {
            (i.saturating_sub(1)..=(i + 1).min(m.len() - 1))
                .any(|j| cues::any(&m[j].lower, cues::HUMOUR))
        };
        let mut jokes: Vec<(usize, Episode)> = found
            .into_iter()
            .filter_map(|(phrase, idx)| {
                let days: HashSet<&str> = idx.iter().map(|&i| m[i].day()).collect();
                if days.len() < 2 || !idx.iter().any(|&i| laugh_near(i)) {
                    return None;
                }
                let mut shown = Vec::new();
                let mut shown_days = HashSet::new();
                for &i in &idx {
                    if shown_days.insert(m[i].day()) && shown.len() < 3 {
                        shown.push(i);
                    }
                }
                let mut e = self.episode(Kind::RunningJoke, shown, idx[0]);
                e.days = days.len();
                e.phrase = Some(phrase);
                Some((days.len(), e))
            })
            .collect();
        jokes.sort_by_key(|j| std::cmp::Reverse(j.0));
        jokes.into_iter().take(3).map(|(_, e)| e).collect()
    }
}
