//! Stage one: a reading of the chat. The retrieved messages, merged and in time order, and
//! the episodes found in them — disagreements and their repair, support when someone is low,
//! affection and appreciation by kind, humour and running jokes, plans and whether they were
//! kept, bids for attention and how they were answered, initiations after quiet spells, and
//! work blockers and decisions. The writer (stage two) only ever talks about these.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDateTime;

use super::{cues, facts::Facts};
use crate::retrieval::Grounding;

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
        let raw = include_str!("../../../seed/categories.json");
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

struct Finder<'r> {
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
    fn new(r: &'r Reading) -> Self {
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

    fn all(&self) -> Vec<Episode> {
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

    fn disagreements(&self) -> Vec<Episode> {
        let m = self.msgs();
        let mut out = Vec::new();
        let mut i = 0;
        while i < m.len() {
            if !self.is_friction(i) {
                i += 1;
                continue;
            }
            let start = self.answered(i, 180).unwrap_or(i);
            // The window a repair may come in: two days, or 14 messages.
            let window: Vec<usize> = (i + 1..m.len())
                .take_while(|&j| m[j].at - m[i].at <= 48 * 60)
                .take(14)
                .collect();
            let repair = window.iter().copied().find_map(|j| {
                let l = &m[j].lower;
                if self.is_tense(l) && !cues::any(l, cues::APOLOGY) {
                    return None;
                }
                if cues::any(l, cues::APOLOGY) {
                    Some((j, RepairKind::Apology))
                } else if cues::any(l, cues::REASSURE) {
                    Some((j, RepairKind::Reassurance))
                } else {
                    None
                }
            });
            let reply_after = self.reply(i, 24 * 60).map(|j| m[j].at - m[i].at);
            let mut idx: Vec<usize> = (start..=i).collect();
            if let Some(j) = self.reply(i, 24 * 60) {
                idx.push(j);
            }
            let end = match repair {
                Some((j, _)) => {
                    if !idx.contains(&j) {
                        idx.push(j);
                    }
                    if let Some(k) = self.reply(j, 12 * 60)
                        && idx.len() < 5
                    {
                        idx.push(k);
                    }
                    j
                }
                None => *window.last().unwrap_or(&i),
            };
            idx.sort_unstable();
            idx.dedup();
            let mut e = self.episode(Kind::Disagreement, idx.clone(), i);
            let around: Vec<usize> = (start..=(i + 2).min(m.len() - 1)).collect();
            e.topic = self.topic(&around);
            e.reply_after = reply_after;
            e.outcome = match repair {
                Some((j, how)) => Outcome::Repaired {
                    by: m[j].person,
                    how,
                    after: m[j].at - m[i].at,
                    msg: j,
                },
                None => Outcome::Unrepaired,
            };
            out.push(e);
            // Friction inside the same stretch is the same disagreement.
            i = end.max(i) + 1;
        }
        out
    }

    fn support(&self) -> Vec<Episode> {
        let m = self.msgs();
        let mut out = Vec::new();
        let mut last_day = String::new();
        for i in 0..m.len() {
            let l = &m[i].lower;
            if !cues::any(l, cues::LOW) || self.is_tense(l) || cues::any(l, cues::SUPPORT) {
                continue;
            }
            // One low moment per person per day.
            let day_key = format!("{}{}", m[i].day(), m[i].person);
            if day_key == last_day {
                continue;
            }
            last_day = day_key;
            let answer = (i + 1..m.len())
                .take_while(|&j| m[j].at - m[i].at <= 12 * 60)
                .filter(|&j| m[j].person != m[i].person)
                .find(|&j| {
                    cues::any(&m[j].lower, cues::SUPPORT) || cues::any(&m[j].lower, cues::APOLOGY)
                })
                .or_else(|| {
                    self.reply(i, 120)
                        .filter(|&j| cues::words(&m[j].lower).count() >= 3)
                });
            let mut idx = vec![i];
            if let Some(j) = answer {
                idx.push(j);
                if let Some(k) = self.reply(j, 6 * 60)
                    && m[k].person == m[i].person
                {
                    idx.push(k);
                }
            }
            idx.sort_unstable();
            idx.dedup();
            let mut e = self.episode(Kind::Support, idx, i);
            e.topic = cues::first(l, cues::LOW).map(str::to_owned);
            e.outcome = match answer {
                Some(j) => Outcome::Answered {
                    by: m[j].person,
                    after: m[j].at - m[i].at,
                    msg: j,
                },
                None => Outcome::Unanswered,
            };
            out.push(e);
        }
        out
    }

    fn affection(&self) -> Vec<Episode> {
        let m = self.msgs();
        let mut out = Vec::new();
        for (i, msg) in m.iter().enumerate() {
            let l = &msg.lower;
            let love = [
                (Love::Gifts, cues::GIFTS),
                (Love::Touch, cues::TOUCH),
                (Love::Acts, cues::ACTS),
                (Love::Time, cues::TIME),
                (Love::Words, cues::WORDS),
            ]
            .into_iter()
            .find(|(_, list)| cues::any(l, list))
            .map(|(k, _)| k);
            let Some(love) = love else { continue };
            if self.is_tense(l) {
                continue;
            }
            let mut idx = Vec::new();
            idx.extend(self.answered(i, 120));
            idx.push(i);
            idx.extend(self.reply(i, 120));
            let mut e = self.episode(Kind::Affection, idx, i);
            e.love = Some(love);
            e.thanks = cues::any(l, cues::THANKS);
            out.push(e);
        }
        out
    }

    fn humour(&self) -> Vec<Episode> {
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
    fn running_jokes(&self) -> Vec<Episode> {
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

    fn plans(&self) -> Vec<Episode> {
        let m = self.msgs();
        let mut out: Vec<Episode> = Vec::new();
        for i in 0..m.len() {
            let l = &m[i].lower;
            // A plan proposes or takes something on; a date alone ("the deadline moved up
            // again") is not one, and neither is a low or a tense moment.
            if !cues::any(l, cues::PLAN)
                || !cues::any(l, cues::PROPOSE)
                || self.is_tense(l)
                || cues::any(l, cues::LOW)
            {
                continue;
            }
            // Planning talk within two hours of a plan is the same plan.
            if out
                .last()
                .is_some_and(|e| m[i].at - m[*e.msgs.last().unwrap_or(&e.key)].at <= 120)
            {
                continue;
            }
            // Named only by a word the chat comes back to: "the dinner plan", not "the
            // matter plan".
            let topic = self.topic(&[i]).filter(|t| self.recurs(t) >= 2);
            // What became of it, within two weeks: a later message that reports it done or
            // off, about the same thing or within three days.
            let later = (i + 1..m.len()).take_while(|&j| m[j].at - m[i].at <= 14 * 24 * 60);
            let mut outcome = Outcome::Open;
            for j in later {
                if !self.broken[j] && !self.kept[j] {
                    continue;
                }
                let related = topic.as_deref().is_some_and(|t| m[j].lower.contains(t))
                    || m[j].at - m[i].at <= 72 * 60;
                if !related || m[j].at - m[i].at < 1 {
                    continue;
                }
                if self.broken[j] {
                    outcome = Outcome::Broken { msg: j };
                    break;
                }
                if self.kept[j] {
                    outcome = Outcome::Kept { msg: j };
                    break;
                }
            }
            let mut idx = vec![i];
            idx.extend(self.reply(i, 180));
            match outcome {
                Outcome::Kept { msg } | Outcome::Broken { msg } => idx.push(msg),
                _ => {}
            }
            idx.sort_unstable();
            idx.dedup();
            let mut e = self.episode(Kind::Plan, idx, i);
            e.topic = topic;
            e.outcome = outcome;
            out.push(e);
        }
        out
    }

    /// First messages after four quiet hours — unless they answer the message before them
    /// (a question, or a few words in reply to someone else): a late answer is not a restart.
    fn initiations(&self) -> Vec<Episode> {
        let m = self.msgs();
        let answers = |i: usize| {
            let prev = &m[i - 1];
            prev.person != m[i].person
                && (prev.text.trim_end().ends_with('?')
                    || cues::words(&m[i].lower).count() <= 3
                    || m[i].at - prev.at < 10 * 60)
        };
        (1..m.len())
            .filter(|&i| m[i - 1].at > 0 && m[i].at - m[i - 1].at >= 4 * 60 && !answers(i))
            .map(|i| {
                let mut idx = vec![i];
                idx.extend(self.reply(i, 180));
                let mut e = self.episode(Kind::Initiation, idx, i);
                e.outcome = match self.reply(i, 180) {
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

    /// Questions and shares, and whether the other person turned toward them.
    fn bids(&self) -> Vec<Episode> {
        let m = self.msgs();
        let shares = [
            "guess what",
            "look at",
            "check this",
            "did you see",
            "you won't believe",
            "how was",
            "how are you",
            "what do you think",
        ];
        (0..m.len())
            .filter(|&i| m[i].text.contains('?') || cues::any(&m[i].lower, &shares))
            .filter(|&i| !self.is_tense(&m[i].lower))
            .map(|i| {
                let reply = self.reply(i, 180);
                let mut idx = vec![i];
                idx.extend(reply);
                let mut e = self.episode(Kind::Bid, idx, i);
                e.outcome = match reply {
                    Some(j)
                        if !cues::any(
                            &m[j].lower,
                            &["whatever", "not now", "so what", "stop", "leave it"],
                        ) =>
                    {
                        Outcome::Answered {
                            by: m[j].person,
                            after: m[j].at - m[i].at,
                            msg: j,
                        }
                    }
                    _ => Outcome::Unanswered,
                };
                e
            })
            .collect()
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
