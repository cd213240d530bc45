//! Sentences about the chat's rhythm (shares, reply pace, restarts) and about one person:
//! their part in a topic and their style.

use super::{episode_facts, plural, span, vary};
use crate::analyst::{
    reading::{Episode, Kind, Outcome, Reading},
    topics::Topic,
};

/// Sentences of numbers: shares, reply pace, restarts, questions answered.
pub(crate) fn rhythm_facts(r: &Reading) -> Vec<String> {
    let f = &r.facts;
    let mut out = Vec::new();
    if f.people.len() >= 2 {
        let shares: Vec<String> = (0..f.people.len().min(4))
            .map(|i| format!("{} {:.0}%", f.person(i).name, f.message_share(i)))
            .collect();
        let total = f.total_messages;
        let shares = shares.join(", ");
        out.push(vary(
            r,
            1,
            vec![
                format!("Of the {total:.0} messages in the whole chat, the split is {shares}."),
                format!("Across all {total:.0} messages, the shares run {shares}."),
                format!("Who writes how much, over {total:.0} messages: {shares}."),
            ],
        ));
        if let Some(top) = r.initiator() {
            let counts = r.initiation_counts();
            let all: usize = counts.iter().sum();
            let name = &f.person(top).name;
            let k = counts[top];
            out.push(vary(r, 3, vec![
                format!("{name} is the one who reaches out first after quiet spells, {k} of {all} times here."),
                format!("Of the {all} conversations here, {name} starts {k}."),
                format!("{name} opens {k} of the {all} conversations in these messages."),
            ]));
        }
    }
    for (i, m) in r.median_reply.iter().enumerate().take(4) {
        if let Some(m) = m {
            let name = &f.person(i).name;
            let within = span(*m);
            out.push(vary(
                r,
                2 + i,
                vec![
                    format!("{name} usually answers within {within}."),
                    format!("{name}'s typical reply comes within {within}."),
                    format!("Replies from {name} tend to arrive within {within}."),
                ],
            ));
        }
    }
    let bids: Vec<&Episode> = r.of(Kind::Bid).map(|(_, e)| e).collect();
    if !bids.is_empty() {
        let toward = bids
            .iter()
            .filter(|e| matches!(e.outcome, Outcome::Answered { .. }))
            .count();
        let k = bids.len();
        out.push(vary(r, 4, vec![
            format!("{toward} of {k} questions get an answer from someone else within three hours."),
            format!("Questions rarely hang: {toward} of {k} are answered within three hours."),
            format!("Of {k} questions asked, {toward} get a reply within three hours."),
        ]).replace("Questions rarely hang", if toward * 2 >= k { "Questions rarely hang" } else { "Many questions hang" }));
    }
    out
}

/// Sentences about one person's part in a topic.
pub(crate) fn person_facts(r: &Reading, topic: Topic, p: usize) -> Vec<String> {
    let name = r.name(p);
    let mut out = Vec::new();
    let kinds = topic.kinds();
    let led: Vec<&Episode> = r
        .episodes
        .iter()
        .filter(|e| kinds.contains(&e.kind) && e.lead == p)
        .collect();
    match topic {
        Topic::Conflict => {
            let raised = led.len();
            let repaired = r
                .of(Kind::Disagreement)
                .filter(|(_, e)| matches!(e.outcome, Outcome::Repaired { by, .. } if by == p))
                .count();
            match (raised, repaired) {
                (0, 0) => {}
                (0, k) => out.push(format!(
                    "{name} made the first repair move in {}.",
                    plural(k, "disagreement", "disagreements")
                )),
                (n, 0) => out.push(format!(
                    "{name} raised {} and left the first repair move to others.",
                    plural(n, "disagreement", "disagreements")
                )),
                (n, k) => out.push(format!(
                    "{name} raised {} and made the first repair move in {}.",
                    plural(n, "disagreement", "disagreements"),
                    plural(k, "case", "cases")
                )),
            }
        }
        Topic::Support => {
            let gave = r
                .of(Kind::Support)
                .filter(|(_, e)| matches!(e.outcome, Outcome::Answered { by, .. } if by == p))
                .count();
            if gave > 0 {
                out.push(format!(
                    "{name} answered {} with care.",
                    plural(gave, "low moment", "low moments")
                ));
            }
            if !led.is_empty() {
                out.push(format!(
                    "{name} opened up about a hard time {}.",
                    plural(led.len(), "time", "times")
                ));
            }
        }
        Topic::Affection | Topic::Appreciation | Topic::Moments => {
            if let Some((love, k)) = r.main_love(p) {
                out.push(format!(
                    "{name}'s care shows mostly as {} ({} messages).",
                    love.short(),
                    k
                ));
            }
        }
        Topic::Humour | Topic::Jokes if !led.is_empty() => {
            out.push(format!(
                "{name} starts {} of the laughter.",
                plural(led.len(), "moment", "moments")
            ));
        }
        Topic::Plans | Topic::Decisions | Topic::Pressure if !led.is_empty() => {
            let kept = led
                .iter()
                .filter(|e| matches!(e.outcome, Outcome::Kept { .. }))
                .count();
            out.push(format!(
                "{name} puts forward {}, {kept} of them seen through.",
                plural(led.len(), "plan or task", "plans or tasks")
            ));
        }
        _ => {}
    }
    for e in led.iter().take(4) {
        if let Some(first) = episode_facts(r, e).into_iter().next() {
            out.push(first);
        }
    }
    // The numbers only where the topic is the conversation itself, or nothing else is known.
    if topic == Topic::Rhythm || out.is_empty() {
        let f = &r.facts;
        let person = f.person(p);
        let share = f.message_share(p);
        let words = person.avg_words;
        out.push(vary(r, 5 + p, vec![
            format!("{name} writes {share:.0}% of the chat's messages, about {words:.0} words each."),
            format!("{share:.0}% of the messages are {name}'s, averaging {words:.0} words."),
            format!("{name} contributes {share:.0}% of the messages, typically {words:.0} words long."),
        ]));
        if person.questions > 0.0 {
            let q = person.questions;
            let qs = if q == 1.0 { "question" } else { "questions" };
            out.push(vary(
                r,
                6 + p,
                vec![
                    format!("{name} asks {q:.0} {qs} across the chat."),
                    format!("Across the chat, {name} asks {q:.0} {qs}."),
                ],
            ));
        }
    }
    out
}

/// How a person goes about a topic, as a short phrase.
pub(crate) fn style_of(r: &Reading, topic: Topic, p: usize) -> String {
    if r.abstains() {
        return "not enough to say".to_owned();
    }
    let led = |k: Kind| r.of(k).filter(|(_, e)| e.lead == p).count();
    match topic {
        Topic::Conflict => {
            let raised = led(Kind::Disagreement);
            let repaired = r
                .of(Kind::Disagreement)
                .filter(|(_, e)| matches!(e.outcome, Outcome::Repaired { by, .. } if by == p))
                .count();
            match (raised, repaired) {
                (0, 0) if r.count(Kind::Disagreement) == 0 => "no conflict seen".to_owned(),
                (_, r) if r > 0 => "collaborative: reaches out to repair".to_owned(),
                (n, 0) if n > 0 => "direct: raises what bothers them".to_owned(),
                _ => "accommodating: lets the other lead".to_owned(),
            }
        }
        Topic::Humour | Topic::Jokes => match led(Kind::Humour) {
            0 => "appreciative audience".to_owned(),
            1..=2 => "occasional jokes".to_owned(),
            _ => "playful, often the one joking".to_owned(),
        },
        Topic::Plans | Topic::Decisions | Topic::Pressure => match led(Kind::Plan) {
            0 => "goes along with plans".to_owned(),
            1..=2 => "suggests plans now and then".to_owned(),
            _ => "the planner, proposes most plans".to_owned(),
        },
        Topic::Support => {
            let gave = r
                .of(Kind::Support)
                .filter(|(_, e)| matches!(e.outcome, Outcome::Answered { by, .. } if by == p))
                .count();
            if gave > 0 {
                "steady supporter".to_owned()
            } else if led(Kind::Support) > 0 {
                "opens up when low".to_owned()
            } else {
                "support not tested here".to_owned()
            }
        }
        Topic::Affection | Topic::Appreciation | Topic::Moments => r.main_love(p).map_or_else(
            || "reserved in words".to_owned(),
            |(l, _)| format!("shows it through {}", l.short()),
        ),
        _ => {
            let f = &r.facts;
            let w = f.person(p).avg_words;
            if w > 0.0 && w < 5.0 {
                "short, quick messages".to_owned()
            } else if w > 14.0 {
                "long, thoughtful messages".to_owned()
            } else {
                "conversational, even messages".to_owned()
            }
        }
    }
}
