//! The analyst's sentences: short templates filled with the chat's own numbers, names and
//! themes. Variety comes from the item's position (`slot`), never from randomness, so the same
//! chat always reads the same.

use super::{
    facts::Facts,
    lexicon::{self, Theme},
};

/// Where in the document a string is written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spot<'s> {
    /// The top-level section (`communication_strengths` …).
    pub section: &'s str,
    /// The person an entry is about, if it is a per-person entry.
    pub person: Option<usize>,
    /// Position of the enclosing array item.
    pub slot: usize,
    /// 0..=1: how well the section's theme is doing in this chat.
    pub level: f64,
}

impl Spot<'_> {
    pub(crate) fn theme(&self) -> &'static Theme {
        lexicon::theme_for(self.section)
    }

    pub(crate) fn concern(&self) -> bool {
        lexicon::is_concern(self.section)
    }
}

fn pick<'a>(options: &[&'a str], slot: usize) -> &'a str {
    options[slot % options.len()]
}

fn pct(v: f64) -> String {
    format!("{:.0}%", v)
}

/// "within minutes", "within the hour" …
pub(crate) fn reply_pace(seconds: f64) -> &'static str {
    match seconds {
        s if s <= 0.0 => "at no settled pace",
        s if s < 300.0 => "within minutes",
        s if s < 1800.0 => "within half an hour",
        s if s < 3.0 * 3600.0 => "within a few hours",
        _ => "after long pauses",
    }
}

pub(crate) fn level_word(level: f64) -> &'static str {
    match level {
        l if l >= 0.75 => "strong",
        l if l >= 0.55 => "healthy",
        l if l >= 0.35 => "developing",
        _ => "in need of attention",
    }
}

/// How many retrieved messages touch the section's theme, as a clause.
fn evidence_clause(facts: &Facts, spot: Spot<'_>) -> String {
    let density = facts.density(spot.theme());
    let pool = facts
        .quotes
        .iter()
        .filter(|q| q.excerpt != usize::MAX)
        .count();
    if facts.excerpt_count == 0 || pool == 0 {
        return "the retrieved passages are too few to say much more, so this rests mainly on the statistics".to_owned();
    }
    let hits = (density * pool as f64).round() as usize;
    match hits {
        0 => format!(
            "none of the {pool} messages in the {} retrieved passages speak to {} directly, so the signal here is modest",
            facts.excerpt_count,
            spot.theme().phrase
        ),
        n => format!(
            "{n} of the {pool} messages in the {} retrieved passages touch on {}",
            facts.excerpt_count,
            spot.theme().phrase
        ),
    }
}

/// A sentence of numbers about one person.
fn person_fact(facts: &Facts, i: usize, slot: usize) -> String {
    let p = facts.person(i);
    match slot % 3 {
        0 => format!(
            "{} sends {} of the messages, about {:.0} words each, and replies {}.",
            p.name,
            pct(facts.message_share(i)),
            p.avg_words,
            reply_pace(p.avg_response_seconds)
        ),
        1 => format!(
            "{} started {:.0} conversations after a quiet spell and asked {:.0} questions.",
            p.name, p.initiations, p.questions
        ),
        _ => format!(
            "{} writes {} of the words, with a double-texting rate of {:.0}%.",
            p.name,
            pct(facts.word_share(i)),
            p.double_texting
        ),
    }
}

/// A sentence of numbers about the whole chat.
fn chat_fact(facts: &Facts, slot: usize) -> String {
    match slot % 3 {
        0 => format!(
            "Across {:.0} messages over {:.0} days (about {:.1} a day), {} keep a {} rhythm.",
            facts.total_messages,
            facts.total_days,
            facts.per_day,
            facts.names(),
            if facts.per_day >= 20.0 {
                "lively"
            } else if facts.per_day >= 5.0 {
                "steady"
            } else {
                "gentle"
            }
        ),
        1 => {
            let top = facts.person(0);
            format!(
                "{} carries {} of the conversation, so the give and take is {}.",
                top.name,
                pct(facts.message_share(0)),
                balance_word(facts.balance(|p| p.messages))
            )
        }
        _ => format!(
            "Typical replies arrive {}, which keeps the thread {}.",
            reply_pace(median_reply(facts)),
            if facts.responsiveness() >= 0.8 {
                "feeling present"
            } else {
                "moving at its own pace"
            }
        ),
    }
}

fn median_reply(facts: &Facts) -> f64 {
    let mut t: Vec<f64> = facts
        .people
        .iter()
        .map(|p| p.avg_response_seconds)
        .collect();
    t.sort_by(f64::total_cmp);
    t.get(t.len() / 2).copied().unwrap_or(0.0)
}

pub(crate) fn balance_word(balance: f64) -> &'static str {
    match balance {
        b if b >= 0.8 => "balanced",
        b if b >= 0.55 => "slightly uneven",
        _ => "uneven",
    }
}

/// 2–3 sentences describing a section or an item of it.
pub(crate) fn description(facts: &Facts, spot: Spot<'_>) -> String {
    let theme = spot.theme();
    let opening = match spot.person {
        Some(i) => person_fact(facts, i, spot.slot),
        None if spot.concern() => format!(
            "Around {}, this chat shows room to grow rather than a problem: {}.",
            theme.phrase,
            evidence_clause(facts, spot)
        ),
        None => format!(
            "On {}, {} look {} here: {}.",
            theme.phrase,
            facts.names(),
            level_word(spot.level),
            evidence_clause(facts, spot)
        ),
    };
    format!(
        "{opening} {}",
        chat_fact(facts, spot.slot + spot.person.unwrap_or(0))
    )
}

/// 3–4 sentences closing a section or the whole insight.
pub(crate) fn summary(facts: &Facts, spot: Spot<'_>) -> String {
    format!(
        "{} {} Overall, {} looks {} in this chat, and {}. The picture comes from the chat's own numbers and the quoted passages, so it describes habits visible here rather than the whole relationship.",
        chat_fact(facts, 0),
        chat_fact(facts, 1),
        spot.theme().phrase,
        level_word(spot.level),
        evidence_clause(facts, spot)
    )
}

/// Why a quote or an exchange was chosen.
pub(crate) fn context(
    facts: &Facts,
    spot: Spot<'_>,
    speaker: &str,
    timestamp: &str,
    cue: Option<&str>,
) -> String {
    let date = timestamp.get(..10).unwrap_or(timestamp);
    let cue = cue
        .map(|c| format!(" (it mentions \u{201c}{c}\u{201d})"))
        .unwrap_or_default();
    let _ = facts;
    format!(
        "{speaker} wrote this on {date}, in a passage that speaks to {}{cue}.",
        spot.theme().phrase
    )
}

/// A concrete suggestion addressed to named people.
pub(crate) fn suggestion(facts: &Facts, spot: Spot<'_>) -> String {
    let who = target_names(facts, spot.slot).join(" and ");
    let action = pick(spot.theme().actions, spot.slot);
    format!(
        "{who} could {action}. It is a small step, easy to try this week, and it builds on what already works between {}.",
        facts.names()
    )
}

/// Why something matters or helps.
pub(crate) fn why(facts: &Facts, spot: Spot<'_>) -> String {
    if spot.concern() {
        return format!(
            "Left as it is, {} can start to feel one-sided, and the quieter person may reach out less. Noticing it early keeps it easy to change.",
            spot.theme().phrase
        );
    }
    format!(
        "Moments like this show {} in action, and they are what {} can lean on when things get busy or tense.",
        spot.theme().phrase,
        facts.names()
    )
}

/// A gentle question for the participants to think about.
pub(crate) fn reflection(facts: &Facts, spot: Spot<'_>) -> String {
    format!(
        "What would make it easier for {} to talk about {} when it comes up?",
        facts.names(),
        spot.theme().phrase
    )
}

/// Words one participant could send to another.
pub(crate) fn phrase(facts: &Facts, spot: Spot<'_>, n: usize) -> String {
    let speaker = spot.person.unwrap_or(spot.slot + n);
    let other = facts.other(speaker).name.clone();
    pick(spot.theme().phrases, spot.slot + n).replace("{other}", &other)
}

/// A short title for an item of a section.
pub(crate) fn title(spot: Spot<'_>, n: usize) -> String {
    let base = pick(spot.theme().titles, spot.slot + n);
    if spot.concern() {
        format!("Room to grow: {}", base.to_lowercase())
    } else {
        base.to_owned()
    }
}

/// Who a recommendation is for: the quieter person first, then the more active, then both.
pub(crate) fn target_names(facts: &Facts, slot: usize) -> Vec<String> {
    let n = facts.people.len();
    match slot % 3 {
        0 => vec![facts.person(n - 1).name.clone()],
        1 if n > 1 => vec![facts.person(0).name.clone()],
        _ => facts
            .people
            .iter()
            .take(2)
            .map(|p| p.name.clone())
            .collect(),
    }
}

/// A person's manner, from their numbers.
pub(crate) fn style(facts: &Facts, key: &str, i: usize) -> String {
    let p = facts.person(i);
    if key == "response_style" {
        return format!("usually replies {}", reply_pace(p.avg_response_seconds));
    }
    if key == "style" && p.avg_words > 0.0 {
        return match p.avg_words {
            w if w < 5.0 => "short bursts".to_owned(),
            w if w > 14.0 => "long, thoughtful messages".to_owned(),
            _ => "balanced, conversational messages".to_owned(),
        };
    }
    let share = facts.message_share(i);
    let even = 100.0 / facts.people.len() as f64;
    let manner = if share > even * 1.2 {
        "talkative and quick to start conversations"
    } else if share < even * 0.8 {
        "quieter, but attentive when engaged"
    } else {
        "steady and responsive"
    };
    format!("{manner}; {} questions asked", p.questions as u64)
}

/// Short phrases for a list of labels (topics, signals, types …).
pub(crate) fn labels(spot: Spot<'_>, count: usize) -> Vec<String> {
    let titles = spot.theme().titles;
    (0..count)
        .map(|n| pick(titles, spot.slot + n).to_lowercase())
        .collect()
}
