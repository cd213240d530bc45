//! The episode finder: one pass over the reading's messages per kind of episode, with the
//! shared look-ups (replies, friction, topic words, recurrence) the kinds are built from.
//! Each kind of episode is found in a file of its own below.

use std::collections::{HashMap, HashSet};

use super::{Episode, Kind, Msg, Outcome, Reading};
use crate::analyst::cues;

mod attention;
mod care;
mod disagreements;
mod humour;
mod plans;

pub(super) struct Finder<'r> {
    r: &'r Reading,
    names: Vec<String>,
    /// How many messages each word appears in (asked for every candidate topic word).
    document_frequency: HashMap<String, usize>,
    /// Per message: reports a plan done / called off (plans look ahead over many messages
    /// each, so the cue lists are matched once per message, not once per look).
    kept: Vec<bool>,
    broken: Vec<bool>,
}

impl<'r> Finder<'r> {
    pub(super) fn new(r: &'r Reading) -> Self {
        Self {
            r,
            names: r
                .facts
                .people
                .iter()
                .flat_map(|p| {
                    cues::words(&p.name.to_lowercase())
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
                .collect(),
            kept: r
                .msgs
                .iter()
                .map(|m| cues::any(&m.lower, cues::KEPT) && !cues::any(&m.lower, cues::PLAN))
                .collect(),
            broken: r
                .msgs
                .iter()
                .map(|m| cues::any(&m.lower, cues::BROKEN))
                .collect(),
            document_frequency: {
                let mut df: HashMap<String, usize> = HashMap::new();
                for m in &r.msgs {
                    let words: HashSet<&str> = cues::words(&m.lower).collect();
                    for w in words {
                        *df.entry(w.to_owned()).or_insert(0) += 1;
                    }
                }
                df
            },
        }
    }

    pub(super) fn all(&self) -> Vec<Episode> {
        let mut out = Vec::new();
        out.extend(self.disagreements());
        out.extend(self.support());
        out.extend(self.affection());
        out.extend(self.humour());
        out.extend(self.running_jokes());
        out.extend(self.plans());
        out.extend(self.initiations());
        out.extend(self.bids());
        out.extend(self.simple(Kind::Blocker, cues::BLOCKER));
        out.extend(self.simple(Kind::Decision, cues::DECISION));
        out.extend(self.simple(Kind::Pressure, cues::PRESSURE));
        out
    }

    fn msgs(&self) -> &[Msg] {
        &self.r.msgs
    }

    fn episode(&self, kind: Kind, msgs: Vec<usize>, key: usize) -> Episode {
        Episode {
            kind,
            msgs,
            key,
            lead: self.msgs()[key].person,
            topic: None,
            love: None,
            thanks: false,
            phrase: None,
            days: 1,
            outcome: Outcome::None,
            reply_after: None,
        }
    }

    /// The previous message when it is someone else's and recent: what `i` answers.
    fn answered(&self, i: usize, within: i64) -> Option<usize> {
        let m = self.msgs();
        let p = i.checked_sub(1)?;
        (m[p].person != m[i].person && m[i].at - m[p].at <= within).then_some(p)
    }

    /// The next message by someone else within `within` minutes.
    fn reply(&self, i: usize, within: i64) -> Option<usize> {
        let m = self.msgs();
        (i + 1..m.len())
            .take_while(|&j| m[j].at - m[i].at <= within)
            .find(|&j| m[j].person != m[i].person)
    }

    fn is_tense(&self, lower: &str) -> bool {
        cues::any(lower, cues::TENSION) && !cues::any(lower, cues::HUMOUR)
    }

    /// Friction between the participants, not about someone outside the chat ("my boss
    /// yelled at the team"): the message, or its writer's next or previous line within a
    /// quarter of an hour, speaks to the other person, or it is a curt brush-off.
    fn is_friction(&self, i: usize) -> bool {
        let m = self.msgs();
        if !self.is_tense(&m[i].lower) {
            return false;
        }
        let to_you = |l: &str| cues::any(l, &["you", "your", "you're", "u", "ur", "we", "us"]);
        let curt = [
            "whatever",
            "fine then",
            "forget it",
            "don't start",
            "not fair",
            "unbelievable",
        ];
        let outside = [
            "boss",
            "manager",
            "landlord",
            "client",
            "traffic",
            "teacher",
            "neighbour",
        ];
        if cues::any(&m[i].lower, &outside) && !cues::any(&m[i].lower, &["you", "your"]) {
            return false;
        }
        let near = |j: usize| m[j].person == m[i].person && (m[j].at - m[i].at).abs() <= 15;
        to_you(&m[i].lower)
            || cues::any(&m[i].lower, &curt)
            || (i > 0 && near(i - 1) && to_you(&m[i - 1].lower))
            || (i + 1 < m.len() && near(i + 1) && to_you(&m[i + 1].lower))
            || self
                .answered(i, 15)
                .is_some_and(|p| to_you(&m[p].lower) && m[p].text.contains('?'))
    }

    /// The most frequent content word of a few messages: what they are about.
    fn topic(&self, idx: &[usize]) -> Option<String> {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for &i in idx {
            for w in cues::words(&self.msgs()[i].lower) {
                if w.chars().count() < 4
                    || w.chars().any(|c| c.is_ascii_digit())
                    || cues::STOP.contains(&w)
                    || self.names.iter().any(|n| n == w)
                    || cues::TENSION.iter().any(|c| c.trim_end_matches('*') == w)
                {
                    continue;
                }
                match counts.iter_mut().find(|(k, _)| k == w) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((w.to_owned(), 1)),
                }
            }
        }
        // The most frequent word, then the one that recurs most in the chat (a subject, not a
        // passing word), then the first (max_by_key keeps the last: reverse first).
        let recurs = |w: &str| self.recurs(w).min(6);
        counts
            .into_iter()
            .rev()
            .max_by_key(|(w, n)| (*n, recurs(w)))
            .map(|(w, _)| w)
    }

    /// How many messages mention `word`.
    fn recurs(&self, word: &str) -> usize {
        self.document_frequency.get(word).copied().unwrap_or(0)
    }

    fn simple(&self, kind: Kind, list: &[&str]) -> Vec<Episode> {
        let m = self.msgs();
        (0..m.len())
            .filter(|&i| cues::any(&m[i].lower, list))
            .map(|i| {
                let reply = self.reply(i, 24 * 60);
                let mut idx = Vec::new();
                idx.extend(self.answered(i, 60));
                idx.push(i);
                idx.extend(reply);
                let mut e = self.episode(kind, idx, i);
                e.topic = self.topic(&[i]);
                e.outcome = match reply {
                    Some(j) => Outcome::Answered {
                        by: m[j].person,
                        after: m[j].at - m[i].at,
                        msg: j,
                    },
                    None => Outcome::Unanswered,
                };
                e
            })
            .collect()
    }
}
