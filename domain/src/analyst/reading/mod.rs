//! Stage one: a reading of the chat. The retrieved messages, merged and in time order, and
//! the episodes found in them — disagreements and their repair, support when someone is low,
//! affection and appreciation by kind, humour and running jokes, plans and whether they were
//! kept, bids for attention and how they were answered, initiations after quiet spells, and
//! work blockers and decisions. The writer (stage two) only ever talks about these.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDateTime;

use super::{cues, facts::Facts};
use crate::retrieval::Grounding;

mod finder;

use finder::Finder;

/// Fewer quotable messages than this and the analyst declines to judge.
pub(crate) const TOO_FEW: usize = 15;

/// One message of the reading.
#[derive(Debug, Clone)]
pub(crate) struct Msg {
    pub speaker: String,
    /// Index into [`Facts::people`].
    pub person: usize,
    pub timestamp: String,
    pub text: String,
    pub lower: String,
    /// Minutes since the epoch (0 when the timestamp cannot be read).
    pub at: i64,
}

impl Msg {
    pub(crate) fn day(&self) -> &str {
        self.timestamp.get(..10).unwrap_or(&self.timestamp)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Kind {
    Disagreement,
    Support,
    Affection,
    Humour,
    RunningJoke,
    Plan,
    Initiation,
    Bid,
    Blocker,
    Decision,
    Pressure,
}

/// Ways of showing care (the five love languages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Love {
    Words,
    Acts,
    Time,
    Gifts,
    Touch,
}

impl Love {
    pub(crate) const ALL: [Love; 5] = [
        Love::Words,
        Love::Acts,
        Love::Time,
        Love::Gifts,
        Love::Touch,
    ];

    pub(crate) fn language(self) -> &'static str {
        match self {
            Love::Words => "words of affirmation",
            Love::Acts => "acts of service",
            Love::Time => "quality time",
            Love::Gifts => "receiving gifts",
            Love::Touch => "physical touch",
        }
    }

    pub(crate) fn short(self) -> &'static str {
        match self {
            Love::Words => "kind words",
            Love::Acts => "practical help",
            Love::Time => "making time",
            Love::Gifts => "small gifts",
            Love::Touch => "hugs and closeness",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RepairKind {
    Apology,
    Reassurance,
}

/// How an episode ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Nothing to resolve (affection, humour …).
    None,
    Repaired {
        by: usize,
        how: RepairKind,
        after: i64,
        msg: usize,
    },
    Unrepaired,
    Answered {
        by: usize,
        after: i64,
        msg: usize,
    },
    Unanswered,
    Kept {
        msg: usize,
    },
    Broken {
        msg: usize,
    },
    Open,
}

#[derive(Debug, Clone)]
pub(crate) struct Episode {
    pub kind: Kind,
    /// Messages of the episode, in order (indices into [`Reading::msgs`]).
    pub msgs: Vec<usize>,
    /// The message that makes it an episode.
    pub key: usize,
    /// Who it is mostly about: who raised the disagreement, was low, showed care, made the
    /// joke or the plan.
    pub lead: usize,
    pub topic: Option<String>,
    pub love: Option<Love>,
    /// Thanks or praise (appreciation proper), for affection episodes.
    pub thanks: bool,
    /// The recurring phrase of a running joke.
    pub phrase: Option<String>,
    /// Distinct days a running joke appears on.
    pub days: usize,
    pub outcome: Outcome,
    /// For a disagreement: the other person's reply delay after it, minutes.
    pub reply_after: Option<i64>,
}

#[derive(Debug)]
pub(crate) struct Reading {
    pub facts: Facts,
    pub msgs: Vec<Msg>,
    pub episodes: Vec<Episode>,
    /// Whether the messages read as English (the only language the cues know well).
    pub english: bool,
    /// Each person's median reply delay in minutes, when they replied at all.
    pub median_reply: Vec<Option<i64>>,
    /// Which phrasing this insight type uses (see `text::vary`).
    pub variant: usize,
}

fn minutes(ts: &str) -> i64 {
    NaiveDateTime::parse_from_str(ts.get(..16).unwrap_or(ts), "%Y-%m-%d %H:%M")
        .map(|t| t.and_utc().timestamp() / 60)
        .unwrap_or(0)
}

fn quotable(text: &str) -> bool {
    let lower = text.to_lowercase();
    text.chars().filter(|c| c.is_alphanumeric()).count() >= 2
        && !lower.contains("omitted>")
        && !lower.contains("<attached:")
        && !lower.contains("this message was deleted")
        && !lower.contains("you deleted this message")
}

impl Reading {
    pub(crate) fn new(g: &Grounding) -> Self {
        let facts = Facts::new(g);
        let index: HashMap<&str, usize> = facts
            .people
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.as_str(), i))
            .collect();
        // Excerpts overlap (a chunk repeats its predecessor's last lines): merge them.
        let mut seen = HashSet::new();
        let mut msgs: Vec<Msg> = Vec::new();
        for e in &g.excerpts {
            for m in &e.messages {
                let Some(&person) = index.get(m.speaker.as_str()) else {
                    continue;
                };
                if !quotable(&m.text)
                    || !seen.insert((m.timestamp.clone(), m.speaker.clone(), m.text.clone()))
                {
                    continue;
                }
                msgs.push(Msg {
                    speaker: m.speaker.clone(),
                    person,
                    timestamp: m.timestamp.clone(),
                    lower: m.text.to_lowercase(),
                    text: m.text.clone(),
                    at: minutes(&m.timestamp),
                });
            }
        }
        // With no excerpts (an unindexed or tiny chat) the longest messages of the statistics
        // are still real messages: quote those rather than invent one.
        if msgs.is_empty() {
            for (person, p) in facts.people.iter().enumerate() {
                let longest = g.statistics.pointer(&format!(
                    "/user_stats/{}/longest_message",
                    p.name.replace('~', "~0").replace('/', "~1")
                ));
                let text = longest
                    .and_then(|l| l.get("message"))
                    .and_then(|v| v.as_str());
                let ts = longest
                    .and_then(|l| l.get("timestamp"))
                    .and_then(|v| v.as_str());
                if let (Some(text), Some(ts)) = (text, ts)
                    && quotable(text)
                {
                    let timestamp: String = ts.replace('T', " ").chars().take(16).collect();
                    msgs.push(Msg {
                        speaker: p.name.clone(),
                        person,
                        at: minutes(&timestamp),
                        timestamp,
                        lower: text.to_lowercase(),
                        text: text.to_owned(),
                    });
                }
            }
        }
        // Nothing at all to quote (no excerpts, no statistics): an honest marker rather than
        // an invented message, so schemas that demand evidence still get their minimum.
        if msgs.is_empty() {
            let timestamp: String = g
                .statistics
                .pointer("/date_range/start")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .replace('T', " ")
                .chars()
                .take(16)
                .collect();
            let text = "(no message in this chat could be quoted)".to_owned();
            msgs.push(Msg {
                speaker: facts.person(0).name.clone(),
                person: 0,
                at: minutes(&timestamp),
                timestamp,
                lower: text.clone(),
                text,
            });
        }
        // Stable: messages of the same minute keep their excerpt order.
        msgs.sort_by(|a, b| a.timestamp.cmp(&b.timestamp));
        let english = is_english(&msgs);
        let median_reply = median_replies(&msgs, facts.people.len());
        let mut reading = Reading {
            facts,
            msgs,
            episodes: Vec::new(),
            english,
            median_reply,
            variant: voice(&g.insight_type),
        };
        if reading.english {
            reading.episodes = Finder::new(&reading).all();
        }
        reading
    }

    /// Too little to judge: too few messages, or not in a language the cues read.
    pub(crate) fn abstains(&self) -> bool {
        !self.english || self.msgs.len() < TOO_FEW
    }

    pub(crate) fn of(&self, kind: Kind) -> impl Iterator<Item = (usize, &Episode)> {
        self.episodes
            .iter()
            .enumerate()
            .filter(move |(_, e)| e.kind == kind)
    }

    pub(crate) fn count(&self, kind: Kind) -> usize {
        self.of(kind).count()
    }

    pub(crate) fn name(&self, person: usize) -> &str {
        &self.facts.person(person).name
    }

    /// Whether the episode has a message by `person`.
    pub(crate) fn involves(&self, e: &Episode, person: usize) -> bool {
        e.msgs.iter().any(|&m| self.msgs[m].person == person)
    }

    /// Each person's affection messages by kind.
    pub(crate) fn love_counts(&self, person: usize) -> BTreeMap<Love, usize> {
        let mut out = BTreeMap::new();
        for (_, e) in self.of(Kind::Affection) {
            if e.lead == person
                && let Some(l) = e.love
            {
                *out.entry(l).or_insert(0) += 1;
            }
        }
        out
    }

    /// A person's main way of showing care, when they show it at all. Kind words are the
    /// most frequent and cheapest signal in any chat, so a deed, a gift or time made counts
    /// double against them.
    pub(crate) fn main_love(&self, person: usize) -> Option<(Love, usize)> {
        let counts = self.love_counts(person);
        let weight = |l: Love, n: usize| if l == Love::Words { n * 2 } else { n * 4 };
        // Ties go to the order of [`Love::ALL`] (words first): max_by_key keeps the last max,
        // so iterate in reverse.
        counts
            .iter()
            .rev()
            .max_by_key(|(l, n)| weight(**l, **n))
            .map(|(l, n)| (*l, *n))
    }

    /// Conversations each person started: the first message, and the reading's initiations
    /// (answers to a question left overnight are not initiations).
    pub(crate) fn initiation_counts(&self) -> Vec<usize> {
        let mut counts = vec![0usize; self.facts.people.len()];
        if let Some(first) = self.msgs.first() {
            counts[first.person] += 1;
        }
        for (_, e) in self.of(Kind::Initiation) {
            counts[e.lead] += 1;
        }
        counts
    }

    /// A person's ways of showing care, most telling first (weighted as in [`Reading::main_love`]).
    pub(crate) fn loves_ranked(&self, person: usize) -> Vec<(Love, usize)> {
        let counts = self.love_counts(person);
        let mut ranked: Vec<(Love, usize)> = Love::ALL
            .iter()
            .map(|l| (*l, counts.get(l).copied().unwrap_or(0)))
            .collect();
        let weight = |l: Love, n: usize| if l == Love::Words { n * 2 } else { n * 4 };
        ranked.sort_by_key(|r| std::cmp::Reverse(weight(r.0, r.1)));
        ranked
    }

    /// Who restarts the conversation after quiet spells most often.
    pub(crate) fn initiator(&self) -> Option<usize> {
        let counts = self.initiation_counts();
        let max = *counts.iter().max()?;
        (max > 0)
            .then(|| counts.iter().position(|&c| c == max))
            .flatten()
    }
}

/// The six insight types of a category are read side by side, so each writes in a voice of
/// its own: its position in the category (the seed's order), else a hash of its name.
fn voice(insight_type: &str) -> usize {
    static CATEGORIES: std::sync::OnceLock<Vec<Vec<String>>> = std::sync::OnceLock::new();
    let categories = CATEGORIES.get_or_init(|| {
        let raw = include_str!("../../../../seed/categories.json");
        serde_json::from_str::<serde_json::Value>(raw)
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .map(|c| {
                c["insight_types"]
                    .as_array()
                    .map(|t| {
                        t.iter()
                            .filter_map(|n| n.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .collect()
    });
    categories
        .iter()
        .find_map(|types| types.iter().position(|t| t == insight_type))
        .unwrap_or_else(|| {
            insight_type.bytes().fold(0usize, |h, b| {
                h.wrapping_mul(31).wrapping_add(usize::from(b))
            })
        })
}

fn is_english(msgs: &[Msg]) -> bool {
    let mut total = 0usize;
    let mut known = 0usize;
    for m in msgs {
        for w in cues::words(&m.lower) {
            total += 1;
            if cues::ENGLISH.contains(&w) {
                known += 1;
            }
        }
    }
    total > 0 && known * 100 >= total * 15
}

fn median_replies(msgs: &[Msg], people: usize) -> Vec<Option<i64>> {
    let mut delays: Vec<Vec<i64>> = vec![Vec::new(); people.max(1)];
    for pair in msgs.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let d = b.at - a.at;
        if a.person != b.person && a.at > 0 && (0..24 * 60).contains(&d) {
            delays[b.person].push(d);
        }
    }
    delays
        .into_iter()
        .map(|mut d| {
            d.sort_unstable();
            d.get(d.len() / 2).copied()
        })
        .collect()
}
