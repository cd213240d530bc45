//! Stage two's sentences: each one states something this chat shows — who, what, when — from
//! the reading's episodes or the chat's numbers. A topic with nothing to show gets one plain
//! sentence saying so. The writer draws candidates from here and never writes one twice.

use super::{
    facts::join_names,
    reading::{Episode, Kind, Love, Outcome, Reading},
    topics::Topic,
};

mod episodes;
mod people;
mod summary;
mod topics;

pub(crate) use episodes::episode_facts;
pub(crate) use people::{person_facts, rhythm_facts, style_of};
pub(crate) use summary::summary_facts;
pub(crate) use topics::topic_facts;

/// "12 March" from "2024-03-12 21:04".
pub(crate) fn date(ts: &str) -> String {
    chrono::NaiveDate::parse_from_str(ts.get(..10).unwrap_or(ts), "%Y-%m-%d")
        .map(|d| d.format("%-d %B").to_string())
        .unwrap_or_else(|_| ts.to_owned())
}

/// "a few minutes", "40 minutes", "about 3 hours", "2 days".
pub(crate) fn span(minutes: i64) -> String {
    match minutes.max(0) {
        0..=9 => "a few minutes".to_owned(),
        m @ 10..=59 => format!("{m} minutes"),
        60..=89 => "about an hour".to_owned(),
        m @ 90..=2879 => format!("about {} hours", (m + 30) / 60),
        m => format!("{} days", (m + 720) / 1440),
    }
}

/// A message as quoted in prose: whole if short, else its opening words.
pub(crate) fn snippet(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= 90 {
        return format!("\u{201c}{flat}\u{201d}");
    }
    let cut: String = flat.chars().take(80).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(a, _)| a);
    format!("\u{201c}{cut}\u{2026}\u{201d}")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// What the chat holds, as a phrase: "these 57 messages".
pub(crate) fn these(r: &Reading) -> String {
    format!("these {} messages", r.msgs.len())
}

/// The one sentence said when the analyst declines to judge a topic.
pub(crate) fn abstain(r: &Reading, what: &str) -> String {
    if !r.english && !r.msgs.is_empty() {
        format!(
            "These messages are mostly not in English, which this offline reading cannot follow well, so there is not enough to say about {what}."
        )
    } else {
        format!(
            "{} are too few to say anything fair about {what}.",
            capital(&these(r))
        )
    }
}

pub(crate) fn capital(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The sentence for a topic with no episode.
pub(crate) fn absent(r: &Reading, topic: Topic) -> String {
    let n = these(r);
    match topic {
        Topic::Conflict => format!("No disagreements show up in {n}."),
        Topic::Support => {
            format!("No one says they are struggling in {n}, so support is not tested here.")
        }
        Topic::Affection => format!("Little open affection is put into words in {n}."),
        Topic::Appreciation => format!("No thanks or praise is exchanged in {n}."),
        Topic::Humour => format!("No joking or laughter shows up in {n}."),
        Topic::Jokes => format!(
            "No phrase comes back across days in {n}, so there is no running joke to point to."
        ),
        Topic::Moments => format!("No single exchange in {n} stands out as a shared high point."),
        Topic::Plans => format!("No plans or commitments are made in {n}."),
        Topic::Pressure => format!("No blockers, rush or after-hours pressure show up in {n}."),
        Topic::Decisions => format!("No decision is spelled out in {n}."),
        Topic::Rhythm => {
            format!("No quiet spell breaks up {n}, so there are no restarts to count.")
        }
        Topic::Strengths | Topic::Advice | Topic::Overall => {
            format!("Nothing in {n} stands out either way.")
        }
    }
}

fn other_of(r: &Reading, e: &Episode, by: usize) -> String {
    let others: Vec<&str> = e
        .msgs
        .iter()
        .map(|&m| r.msgs[m].person)
        .filter(|&p| p != by)
        .map(|p| r.name(p))
        .fold(Vec::new(), |mut acc, n| {
            if !acc.contains(&n) {
                acc.push(n);
            }
            acc
        });
    if others.is_empty() {
        r.name(by + 1).to_owned()
    } else {
        join_names(others)
    }
}

fn about(e: &Episode) -> String {
    e.topic
        .as_deref()
        .map(|t| format!(" about the {t}"))
        .unwrap_or_default()
}

/// A few words naming an episode: "the dinner disagreement on 12 March".
pub(crate) fn name_of(r: &Reading, e: &Episode) -> String {
    let when = date(&r.msgs[e.key].timestamp);
    let t = e.topic.as_deref();
    match e.kind {
        Kind::Disagreement => match t {
            Some(t) => format!("the {t} disagreement on {when}"),
            None => format!("the disagreement on {when}"),
        },
        Kind::Support => format!("{}'s hard moment on {when}", r.name(e.lead)),
        Kind::Affection => format!(
            "{}'s {} on {when}",
            r.name(e.lead),
            e.love.map_or("warmth", Love::short)
        ),
        Kind::Humour => format!("the laugh on {when}"),
        Kind::RunningJoke => format!(
            "the running \u{201c}{}\u{201d} joke",
            e.phrase.as_deref().unwrap_or("")
        ),
        Kind::Plan => match t {
            Some(t) => format!("the {t} plan from {when}"),
            None => format!("the plan from {when}"),
        },
        Kind::Initiation => format!("{}'s restart on {when}", r.name(e.lead)),
        Kind::Bid => format!("{}'s question on {when}", r.name(e.lead)),
        Kind::Blocker => format!("the blocker on {when}"),
        Kind::Decision => format!("the decision on {when}"),
        Kind::Pressure => format!("the crunch on {when}"),
    }
}

/// A short title for an episode.
pub(crate) fn title_of(r: &Reading, e: &Episode) -> String {
    let t = e.topic.as_deref().map(capital);
    match (e.kind, e.outcome) {
        (Kind::Disagreement, Outcome::Repaired { .. }) => {
            format!(
                "{} disagreement, repaired",
                t.unwrap_or_else(|| "A".to_owned())
            )
        }
        (Kind::Disagreement, _) => {
            format!(
                "{} disagreement, still open",
                t.unwrap_or_else(|| "A".to_owned())
            )
        }
        (Kind::Support, _) => format!(
            "When {} had a {} day",
            r.name(e.lead),
            e.topic.as_deref().unwrap_or("hard")
        ),
        (Kind::Affection, _) => format!(
            "{}'s {}",
            r.name(e.lead),
            e.love.map_or("warmth", Love::short)
        ),
        (Kind::Humour, _) => format!("{} gets a laugh", r.name(e.lead)),
        (Kind::RunningJoke, _) => format!("\u{201c}{}\u{201d}", e.phrase.as_deref().unwrap_or("")),
        (Kind::Plan, Outcome::Kept { .. }) => {
            format!("{} plan, kept", t.unwrap_or_else(|| "A".to_owned()))
        }
        (Kind::Plan, _) => format!("{} plan", t.unwrap_or_else(|| "A".to_owned())),
        (Kind::Decision, _) => format!("Settling the {}", e.topic.as_deref().unwrap_or("question")),
        (Kind::Blocker, _) => format!(
            "Flagging a blocker on the {}",
            e.topic.as_deref().unwrap_or("work")
        ),
        (Kind::Pressure, _) => format!("Crunch on {}", date(&r.msgs[e.key].timestamp)),
        (Kind::Initiation, _) => format!("{} reaches out first", r.name(e.lead)),
        (Kind::Bid, _) => format!("{} asks", r.name(e.lead)),
    }
}

/// One of a few phrasings of the same fact. Insights of one category are written separately
/// and share the chat's episodes; each insight type reads them in its own voice (`variant`,
/// from the type's name), with `salt` keeping the choices of different sentences apart.
pub(crate) fn vary(r: &Reading, salt: usize, options: Vec<String>) -> String {
    let k = options.len().max(1);
    // Positions 0..6 over k phrasings; the salt shifts which positions share one.
    let i = (r.variant + salt + (r.variant / k) * (salt % 2)) % k;
    options.into_iter().nth(i).unwrap_or_default()
}

fn share(part: usize, whole: usize) -> String {
    if whole == 0 {
        return "none".to_owned();
    }
    format!("{part} of {whole}")
}
