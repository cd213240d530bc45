//! Lists of strings and the short explanations around them: a section's string items,
//! why a finding holds, and the timeframe the chat covers.

use super::{PHRASE_KEYS, Scope, Writer};
use crate::analyst::{
    reading::{Kind, Outcome},
    text,
    topics::Topic,
};

impl Writer<'_> {
    pub(super) fn strings(&mut self, key: &str, n: usize, scope: Scope<'_>) -> Vec<String> {
        let r = self.r;
        let people = r.facts.people.len();
        match key {
            "target" | "target_participants" => {
                let needs = self.needs();
                let who = needs
                    .get(scope.slot % needs.len().max(1))
                    .map(|n| n.2.clone())
                    .unwrap_or_default();
                let who = if who.is_empty() {
                    (0..people).collect()
                } else {
                    who
                };
                who.into_iter().map(|p| r.name(p).to_owned()).collect()
            }
            "quieter_members" | "quieter_voices" => {
                let f = &r.facts;
                let even = 100.0 / people as f64;
                (0..people)
                    .filter(|&i| f.message_share(i) < even * 0.8)
                    .map(|i| f.person(i).name.clone())
                    .take(n.max(1))
                    .collect()
            }
            k if PHRASE_KEYS.contains(&k) => (0..n).map(|j| self.phrase(scope, j)).collect(),
            "strategies" | "repair_patterns" => {
                let mut out: Vec<String> = Vec::new();
                for (_, e) in r.of(Kind::Disagreement) {
                    if let Outcome::Repaired { by, how, .. } = e.outcome {
                        let s = match how {
                            crate::analyst::reading::RepairKind::Apology => {
                                format!("{} apologises", r.name(by))
                            }
                            crate::analyst::reading::RepairKind::Reassurance => {
                                format!("{} reassures", r.name(by))
                            }
                        };
                        if !out.contains(&s) {
                            out.push(s);
                        }
                    }
                }
                out.truncate(n.max(1));
                out
            }
            "styles" | "humor_types" | "types" | "activity_types" => {
                let mut out: Vec<String> = Vec::new();
                let p = scope.person;
                if key == "styles" {
                    if let Some(p) = p {
                        for (l, _) in r.love_counts(p) {
                            out.push(l.short().to_owned());
                        }
                    }
                } else {
                    for (_, e) in r
                        .episodes
                        .iter()
                        .enumerate()
                        .filter(|(_, e)| scope.topic.kinds().contains(&e.kind))
                    {
                        if p.is_some_and(|p| e.lead != p) {
                            continue;
                        }
                        let label = match e.kind {
                            Kind::RunningJoke => "running jokes".to_owned(),
                            Kind::Humour => "banter".to_owned(),
                            _ => e.topic.clone().unwrap_or_else(|| "plans".to_owned()),
                        };
                        if !out.contains(&label) {
                            out.push(label);
                        }
                    }
                }
                out.truncate(n.max(1));
                out
            }
            _ => {
                // Labels from the topic's episodes (topics, signals, areas …).
                let mut out: Vec<String> = Vec::new();
                for e in r
                    .episodes
                    .iter()
                    .filter(|e| scope.topic.kinds().contains(&e.kind) && e.kind != Kind::Bid)
                {
                    let label = e
                        .topic
                        .clone()
                        .unwrap_or_else(|| text::title_of(r, e).to_lowercase());
                    if !out.contains(&label) {
                        out.push(label);
                    }
                }
                out.truncate(n);
                out
            }
        }
    }

    pub(super) fn why(&mut self, scope: Scope<'_>) -> String {
        let r = self.r;
        let names = r.facts.names();
        let topic = match scope.topic {
            Topic::Advice | Topic::Strengths | Topic::Overall => {
                self.focus.first().copied().unwrap_or(Topic::Rhythm)
            }
            t => t,
        };
        let mut c = match topic {
            Topic::Conflict => vec![
                format!(
                    "Disagreements that get repaired tend to leave {names} closer; ones left open tend to come back."
                ),
                format!(
                    "How {names} come back after friction matters more than whether friction happens."
                ),
                format!(
                    "Knowing the way back after an argument makes the next one less frightening for {names}."
                ),
            ],
            Topic::Support => vec![
                format!(
                    "Being answered in a low moment is what lets {names} keep saying how they really feel."
                ),
                format!(
                    "Support that arrives before it is asked for tells the other they are kept in mind."
                ),
                format!(
                    "Hard days shared are lighter, and {names} already show they can carry them together."
                ),
            ],
            Topic::Plans | Topic::Decisions | Topic::Pressure => vec![
                format!(
                    "Plans that happen build trust between {names} faster than plans that are only talked about."
                ),
                format!(
                    "Clear next steps spare {names} the guessing that wears collaboration down."
                ),
                format!(
                    "Each kept promise makes the next plan between {names} easier to believe in."
                ),
            ],
            Topic::Humour | Topic::Jokes | Topic::Moments => vec![
                format!(
                    "Shared laughter gives {names} an easy way back to each other after a hard day."
                ),
                format!(
                    "Jokes only the two sides understand are a quiet sign of how much {names} share."
                ),
                format!("Play keeps a bond light enough to carry the heavier days."),
            ],
            Topic::Affection | Topic::Appreciation => vec![
                format!("Care lands best in the form the other person uses themselves."),
                format!("Thanks that names the specific thing tells {names} the effort was seen."),
                format!(
                    "Feeling appreciated is what keeps people giving; naming it costs {names} a sentence."
                ),
            ],
            _ => vec![
                format!("Small, specific gestures are the ones {names} will notice and remember."),
                format!(
                    "An even give and take keeps either side from carrying the conversation alone."
                ),
            ],
        };
        let turn = r.variant % c.len();
        c.rotate_left(turn);
        c.push(format!(
            "It turns a habit visible in this chat into something {names} choose on purpose."
        ));
        self.say_one(c, scope)
    }

    pub(super) fn timeframe(&self) -> String {
        let r = self.r;
        let times: Vec<i64> = r
            .of(Kind::Disagreement)
            .filter_map(|(_, e)| match e.outcome {
                Outcome::Repaired { after, .. } => Some(after),
                _ => None,
            })
            .collect();
        match times.iter().max() {
            Some(&t) => format!("within {}", text::span(t)),
            None if r.count(Kind::Disagreement) > 0 => {
                "not repaired within these messages".to_owned()
            }
            None => "no repair needed in these messages".to_owned(),
        }
    }
}
