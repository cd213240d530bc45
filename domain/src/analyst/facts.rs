//! What the analyst knows about a chat: each person's statistics, the quotable messages of
//! the retrieved excerpts, and a few derived measures (balance, responsiveness, warmth).

use std::{cell::RefCell, collections::HashMap};

use serde_json::Value;

use super::lexicon::{self, Theme};
use crate::retrieval::{Grounding, prompt::ExcerptMessage};

/// One participant's numbers, from `chat_metadata.user_stats`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Person {
    pub name: String,
    pub messages: f64,
    pub words: f64,
    pub avg_words: f64,
    pub initiations: f64,
    pub questions: f64,
    pub double_texting: f64,
    pub avg_response_seconds: f64,
}

/// A message that may be quoted: where it came from, and what it says.
#[derive(Debug, Clone)]
pub(crate) struct Quote {
    /// Which excerpt (index into the grounding's excerpts; `usize::MAX` for fallbacks).
    pub excerpt: usize,
    /// Position inside that excerpt.
    pub position: usize,
    pub message: ExcerptMessage,
    /// `message.text` lower-cased once: every section matches cues against it.
    pub lower: String,
    /// [`Quote::theme_hits`] by theme: sections sort the same quotes by the same themes again
    /// and again.
    hits: RefCell<Vec<(&'static str, usize)>>,
}

impl Quote {
    pub(crate) fn new(excerpt: usize, position: usize, message: ExcerptMessage) -> Self {
        let lower = message.text.to_lowercase();
        Self {
            excerpt,
            position,
            message,
            lower,
            hits: RefCell::default(),
        }
    }

    /// How many of `theme`'s cues and of the chat's `keywords` this quote mentions. The
    /// keywords must be the same on every call (they are the chat's: `Facts::keywords`).
    pub(crate) fn theme_hits(&self, theme: &'static Theme, keywords: &[String]) -> usize {
        if let Some((_, n)) = self.hits.borrow().iter().find(|(t, _)| *t == theme.phrase) {
            return *n;
        }
        let n = lexicon::cue_hits(&self.lower, theme, keywords).len();
        self.hits.borrow_mut().push((theme.phrase, n));
        n
    }
}

/// Everything the writer draws on.
#[derive(Debug)]
pub(crate) struct Facts {
    /// Most active first.
    pub people: Vec<Person>,
    pub total_messages: f64,
    pub total_days: f64,
    pub per_day: f64,
    pub quotes: Vec<Quote>,
    pub excerpt_count: usize,
    pub keywords: Vec<String>,
    pub insight_type: String,
    /// The date of the first message, for text that needs one.
    pub first_date: String,
    /// [`Facts::density`] by theme: every section of a schema asks again, over every quote.
    densities: RefCell<HashMap<&'static str, f64>>,
}

fn num(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(0.0)
}

impl Facts {
    pub(crate) fn new(g: &Grounding) -> Self {
        let stats = &g.statistics;
        let user_stats = stats.get("user_stats").and_then(Value::as_object);
        let mut people: Vec<Person> = g
            .participants
            .iter()
            .map(|name| {
                let s = user_stats
                    .and_then(|u| u.get(name))
                    .cloned()
                    .unwrap_or(Value::Null);
                Person {
                    name: name.clone(),
                    messages: num(&s, "message_count"),
                    words: num(&s, "word_count"),
                    avg_words: num(&s, "avg_words_per_message"),
                    initiations: num(&s, "conversation_initiations"),
                    questions: num(&s, "questions_asked"),
                    double_texting: num(&s, "double_texting_rate"),
                    avg_response_seconds: num(&s, "avg_response_time_seconds"),
                }
            })
            .collect();
        // Stable sort: equal counts keep the participants' own order.
        people.sort_by(|a, b| b.messages.total_cmp(&a.messages));
        if people.is_empty() {
            people.push(Person {
                name: "the participants".to_owned(),
                ..Person::default()
            });
        }
        let total_days = num(stats, "total_days").max(1.0);
        let quotes = quotable(g);
        Self {
            total_messages: num(stats, "total_messages"),
            per_day: num(stats, "messages_per_day_avg"),
            total_days,
            excerpt_count: g.excerpts.len(),
            keywords: g.keywords.iter().map(|k| k.to_lowercase()).collect(),
            insight_type: g.insight_type.clone(),
            first_date: stats
                .pointer("/date_range/start")
                .and_then(Value::as_str)
                .map(|s| s.chars().take(10).collect())
                .unwrap_or_default(),
            quotes: with_fallbacks(quotes, stats, &people),
            people,
            densities: RefCell::default(),
        }
    }

    /// Names joined for a sentence: "Asha and Ben", "Asha, Ben and Chen".
    pub(crate) fn names(&self) -> String {
        join_names(self.people.iter().map(|p| p.name.as_str()).collect())
    }

    pub(crate) fn person(&self, i: usize) -> &Person {
        &self.people[i % self.people.len()]
    }

    /// Someone other than person `i` (themselves in a one-person chat).
    pub(crate) fn other(&self, i: usize) -> &Person {
        self.person(i + 1)
    }

    fn share(&self, pick: impl Fn(&Person) -> f64, i: usize) -> f64 {
        let total: f64 = self.people.iter().map(&pick).sum();
        if total <= 0.0 {
            return 100.0 / self.people.len() as f64;
        }
        pick(self.person(i)) / total * 100.0
    }

    pub(crate) fn message_share(&self, i: usize) -> f64 {
        self.share(|p| p.messages, i)
    }

    pub(crate) fn word_share(&self, i: usize) -> f64 {
        self.share(|p| p.words, i)
    }

    pub(crate) fn initiation_share(&self, i: usize) -> f64 {
        self.share(|p| p.initiations, i)
    }

    /// 1.0 when the two most active people contribute equally, towards 0.0 when one dominates.
    pub(crate) fn balance(&self, pick: impl Fn(&Person) -> f64) -> f64 {
        let mut values: Vec<f64> = self.people.iter().map(pick).collect();
        values.sort_by(|a, b| b.total_cmp(a));
        match values.as_slice() {
            [top, second, ..] if *top > 0.0 => (second / top).clamp(0.0, 1.0),
            _ => 1.0,
        }
    }

    /// Faster typical replies score higher.
    pub(crate) fn responsiveness(&self) -> f64 {
        let mut times: Vec<f64> = self
            .people
            .iter()
            .map(|p| p.avg_response_seconds)
            .filter(|t| *t > 0.0)
            .collect();
        times.sort_by(f64::total_cmp);
        match times.get(times.len() / 2) {
            None => 0.6,
            Some(t) if *t < 600.0 => 1.0,
            Some(t) if *t < 3600.0 => 0.8,
            Some(t) if *t < 4.0 * 3600.0 => 0.6,
            Some(_) => 0.4,
        }
    }

    /// Share of quotable messages that mention `theme`.
    pub(crate) fn density(&self, theme: &'static Theme) -> f64 {
        if let Some(d) = self.densities.borrow().get(theme.phrase) {
            return *d;
        }
        let pool: Vec<&Quote> = self
            .quotes
            .iter()
            .filter(|q| q.excerpt != usize::MAX)
            .collect();
        if pool.is_empty() {
            return 0.0;
        }
        let hits = pool
            .iter()
            .filter(|q| !lexicon::cue_hits(&q.lower, theme, &[]).is_empty())
            .count();
        let d = hits as f64 / pool.len() as f64;
        self.densities.borrow_mut().insert(theme.phrase, d);
        d
    }

    /// One overall measure of health in 0..=1 from balance, replies, curiosity and warmth.
    pub(crate) fn health(&self) -> f64 {
        let balance = self.balance(|p| p.messages);
        let questions: f64 = self.people.iter().map(|p| p.questions).sum();
        let curiosity = (questions / self.total_messages.max(1.0) * 5.0).min(1.0);
        let warm = self.density(theme("affection")) + self.density(theme("support"));
        let tense = self.density(theme("conflict"));
        let warmth = (0.5 + (warm - tense)).clamp(0.0, 1.0);
        (0.3 * balance + 0.25 * self.responsiveness() + 0.15 * curiosity + 0.3 * warmth)
            .clamp(0.0, 1.0)
    }
}

fn theme(section: &str) -> &'static Theme {
    lexicon::theme_for(section)
}

/// "Asha", "Asha and Ben", "Asha, Ben and Chen".
pub(crate) fn join_names(names: Vec<&str>) -> String {
    match names.as_slice() {
        [] => "the participants".to_owned(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Messages worth quoting: written by a person, with words in them, not a media placeholder.
fn quotable(g: &Grounding) -> Vec<Quote> {
    let mut out = Vec::new();
    for (e, excerpt) in g.excerpts.iter().enumerate() {
        for (position, m) in excerpt.messages.iter().enumerate() {
            if is_quotable(&m.text) && g.participants.contains(&m.speaker) {
                out.push(Quote::new(e, position, m.clone()));
            }
        }
    }
    out
}

fn is_quotable(text: &str) -> bool {
    let lower = text.to_lowercase();
    text.chars().filter(|c| c.is_alphanumeric()).count() >= 3
        && !lower.contains("omitted>")
        && !lower.contains("<attached:")
        && !lower.contains("this message was deleted")
        && !lower.contains("you deleted this message")
}

/// With no excerpts (an unindexed or tiny chat) the longest messages of the statistics are
/// still real messages: quote those rather than invent one.
fn with_fallbacks(mut quotes: Vec<Quote>, stats: &Value, people: &[Person]) -> Vec<Quote> {
    for p in people {
        let longest = stats.pointer(&format!(
            "/user_stats/{}/longest_message",
            p.name.replace('~', "~0").replace('/', "~1")
        ));
        let (Some(text), Some(ts)) = (
            longest
                .and_then(|l| l.get("message"))
                .and_then(Value::as_str),
            longest
                .and_then(|l| l.get("timestamp"))
                .and_then(Value::as_str),
        ) else {
            continue;
        };
        if is_quotable(text) {
            quotes.push(Quote::new(
                usize::MAX,
                0,
                ExcerptMessage {
                    speaker: p.name.clone(),
                    timestamp: ts.replace('T', " ").chars().take(16).collect(),
                    text: text.to_owned(),
                },
            ));
        }
    }
    quotes
}
