//! Scalar fields: enums, numbers, booleans and the strings chosen by key (a person's name,
//! a love language, a kind's label, a title), each read from the scope's topic and person.

use serde_json::Value;

use super::{
    BOOL_KEYS, LEVEL_KEYS, PERSON_KEYS, PHRASE_KEYS, Scope, TITLE_KEYS, Writer, is_concern,
};
use crate::analyst::{
    lexicon,
    reading::{Kind, Love, Outcome},
    text,
    topics::Topic,
};

impl Writer<'_> {
    pub(super) fn pick_enum(&self, options: &[Value], scope: Scope<'_>) -> Value {
        if options.is_empty() {
            return Value::Null;
        }
        // Every enum in the catalogue lists its best (or most) value first.
        let level = if self.r.abstains() {
            0.5
        } else {
            self.level(scope)
        };
        let index = ((1.0 - level) * (options.len() - 1) as f64).round() as usize;
        options[index.min(options.len() - 1)].clone()
    }

    pub(super) fn number(&self, key: &str, scope: Scope<'_>) -> f64 {
        let f = &self.r.facts;
        let i = scope.person.unwrap_or(0);
        let p = f.person(i);
        match key {
            "initiation_count" => p.initiations,
            "percentage" => f.initiation_share(i),
            "avg_response_seconds" => p.avg_response_seconds,
            "message_percentage" => f.message_share(i),
            "word_percentage" => f.word_share(i),
            "avg_words_per_message" => p.avg_words,
            "questions_asked" => p.questions,
            "double_texting_rate" => p.double_texting,
            // Integer 0–10 scores; a chat too thin to judge sits in the middle.
            _ if self.r.abstains() => 5.0,
            _ => 2.0 + 7.0 * self.level(scope),
        }
    }

    pub(super) fn boolean(&self, key: &str, scope: Scope<'_>) -> bool {
        let r = self.r;
        if r.abstains() || !BOOL_KEYS.contains(&key) {
            return false;
        }
        let topic = match key {
            "visible_conflicts" | "conflict_present" | "apologies_present" => Topic::Conflict,
            "plans_present" | "tracked" | "closes_loop" => Topic::Plans,
            "sensitive_content_present" => Topic::Support,
            _ => scope.topic,
        };
        let kinds = topic.kinds();
        let eps = || r.episodes.iter().filter(|e| kinds.contains(&e.kind));
        match key {
            "apologies_present" => r.of(Kind::Disagreement).any(|(_, e)| {
                matches!(
                    e.outcome,
                    Outcome::Repaired {
                        how: crate::analyst::reading::RepairKind::Apology,
                        ..
                    }
                )
            }),
            "closes_loop" => r
                .of(Kind::Plan)
                .any(|(_, e)| matches!(e.outcome, Outcome::Kept { .. })),
            _ if is_concern(scope.section) => eps().any(|e| {
                matches!(
                    e.outcome,
                    Outcome::Unrepaired | Outcome::Unanswered | Outcome::Broken { .. }
                ) || matches!(e.kind, Kind::Pressure | Kind::Blocker)
            }),
            _ => eps().next().is_some(),
        }
    }

    pub(super) fn string(&mut self, key: &str, scope: Scope<'_>) -> String {
        let r = self.r;
        if PERSON_KEYS.contains(&key) || key.starts_with("primary_") && key != "primary_language" {
            return self.person_for(key, scope);
        }
        match key {
            "context" => {
                return match scope.episode {
                    Some(e) => {
                        let ep = &r.episodes[e];
                        let name = text::name_of(r, ep);
                        let mut c = text::episode_facts(r, ep);
                        let mut names = vec![
                            text::capital(&format!("{name}.")),
                            format!("What {name} looked like in the chat."),
                            format!("The exchange around {name}."),
                            format!("Here is {name}, as it was written."),
                            text::capital(&format!("{name}, in their own words.")),
                            format!("The messages behind {name}."),
                        ];
                        names.rotate_left(r.variant % 6);
                        c.extend(names);
                        self.say_one(c, scope)
                    }
                    None => self.prose(scope, 1),
                };
            }
            "language" if r.facts.insight_type == "love_language" => {
                return self.love_language(scope);
            }
            "suggestion" => return self.suggestion(scope),
            "timeframe" => return self.timeframe(),
            "joke_or_reference" | "reference" | "memory" => {
                if let Some(e) = scope.episode {
                    return text::title_of(r, &r.episodes[e]);
                }
            }
            _ => {}
        }
        if key.ends_with("_type") {
            return self.kind_label(key, scope);
        }
        if TITLE_KEYS.contains(&key) || key.ends_with("_title") {
            return self.title(scope);
        }
        if PHRASE_KEYS.contains(&key) {
            return self.phrase(scope, 0);
        }
        if key.starts_with("reflection") {
            return self.say_one(
                vec![format!(
                    "What would make it easier for {} to talk about {} the next time it comes up?",
                    r.facts.names(),
                    scope.topic.phrase()
                )],
                scope,
            );
        }
        if key.contains("summary") {
            return if r.abstains() {
                self.prose(scope, 1)
            } else {
                let (body, closing) = text::summary_facts(r, &self.focus);
                let body = self.say(body, 3, scope);
                let closing = self.say_one(closing, scope);
                format!("{body} {closing}")
            };
        }
        if key.starts_with("why") || key == "impact" || key == "explanation" {
            return self.why(scope);
        }
        if key.ends_with("_style")
            || key == "style"
            || key.ends_with("_role")
            || key == "role_in_connection"
            || key == "tone_description"
        {
            return text::style_of(
                r,
                scope.topic,
                scope.person.unwrap_or(scope.slot % r.facts.people.len()),
            );
        }
        if LEVEL_KEYS.contains(&key)
            || key.ends_with("_status")
            || key.ends_with("_rating")
            || key.ends_with("_level")
            || key.ends_with("_balance")
            || key.ends_with("_tone")
            || key.ends_with("_health")
            || key == "concrete_vs_vague"
            || key == "follow_through_assessment"
            || key == "match_type"
        {
            return self.level_text(key, scope);
        }
        let n = 2;
        self.prose(scope, n)
    }

    pub(super) fn person_for(&self, key: &str, scope: Scope<'_>) -> String {
        let r = self.r;
        let f = &r.facts;
        let people = f.people.len();
        let index = match key {
            "name" | "speaker" => scope.person.unwrap_or(scope.slot % people),
            "directed_at" => (scope.person.unwrap_or(scope.slot) + 1) % people,
            "dominant_voice" => 0,
            "proactive_participant" => r.initiator().unwrap_or(0),
            "primary_caregiver" | "primary_giver" => {
                let counts: Vec<usize> = (0..people)
                    .map(|p| match key {
                        "primary_giver" => r.of(Kind::Affection).filter(|(_, e)| e.lead == p && e.thanks).count(),
                        _ => r
                            .of(Kind::Support)
                            .filter(|(_, e)| matches!(e.outcome, Outcome::Answered { by, .. } if by == p))
                            .count(),
                    })
                    .collect();
                most(&counts).unwrap_or(0)
            }
            _ if scope.section.contains("repair") => {
                let counts: Vec<usize> = (0..people)
                    .map(|p| {
                        r.of(Kind::Disagreement)
                            .filter(|(_, e)| matches!(e.outcome, Outcome::Repaired { by, .. } if by == p))
                            .count()
                    })
                    .collect();
                most(&counts).unwrap_or(0)
            }
            _ => {
                // Whoever leads the topic's episodes; else whoever restarts the chat most.
                let kinds = scope.topic.kinds();
                let counts: Vec<usize> = (0..people)
                    .map(|p| {
                        r.episodes
                            .iter()
                            .filter(|e| {
                                kinds.contains(&e.kind) && e.lead == p && e.kind != Kind::Bid
                            })
                            .count()
                    })
                    .collect();
                let by_stats = (0..people)
                    .max_by(|&a, &b| f.person(a).initiations.total_cmp(&f.person(b).initiations))
                    .unwrap_or(0);
                if key.contains("initiator") && scope.topic == Topic::Rhythm {
                    r.initiator().unwrap_or(by_stats)
                } else {
                    most(&counts).unwrap_or(by_stats)
                }
            }
        };
        f.person(index).name.clone()
    }

    pub(super) fn love_language(&self, scope: Scope<'_>) -> String {
        let r = self.r;
        let p = scope.person.unwrap_or(0);
        if r.abstains() {
            return "not enough to say".to_owned();
        }
        let ranked = r.loves_ranked(p);
        let section = scope.section;
        if section.contains("missing") {
            // Least used first, one per item.
            let unused: Vec<Love> = ranked
                .iter()
                .rev()
                .filter(|(_, n)| *n == 0)
                .map(|(l, _)| *l)
                .collect();
            return unused
                .get(scope.slot)
                .or(ranked.last().map(|(l, _)| l))
                .map_or("physical touch", |l| l.language())
                .to_owned();
        }
        let rank = usize::from(section.contains("secondary"));
        // One message is not a language: it takes two of a kind to name one.
        match ranked.get(rank) {
            Some((l, n)) if *n >= 2 => l.language().to_owned(),
            _ => "not enough to say".to_owned(),
        }
    }

    pub(super) fn kind_label(&self, key: &str, scope: Scope<'_>) -> String {
        let r = self.r;
        if let Some(e) = scope.episode {
            let ep = &r.episodes[e];
            return match ep.kind {
                Kind::Affection if key.contains("appreciation") && ep.thanks => "thanks".to_owned(),
                Kind::Affection => ep.love.map_or("warmth", Love::short).to_owned(),
                Kind::Disagreement => ep.topic.clone().unwrap_or_else(|| "friction".to_owned()),
                Kind::Support => "support".to_owned(),
                Kind::Humour | Kind::RunningJoke => "humour".to_owned(),
                Kind::Plan => "plans".to_owned(),
                Kind::Decision => "decision".to_owned(),
                Kind::Blocker => "blocker".to_owned(),
                Kind::Pressure => "pressure".to_owned(),
                Kind::Initiation | Kind::Bid => "reaching out".to_owned(),
            };
        }
        self.title(scope)
    }

    pub(super) fn title(&self, scope: Scope<'_>) -> String {
        let r = self.r;
        if let Some(e) = scope.episode {
            return text::title_of(r, &r.episodes[e]);
        }
        if scope.topic == Topic::Advice
            && let Some(need) = self.needs().get(scope.slot)
        {
            return need.0.clone();
        }
        let theme = lexicon::theme_for(scope.section);
        let base = theme.titles[scope.slot % theme.titles.len()];
        if is_concern(scope.section) {
            format!("Room to grow: {}", base.to_lowercase())
        } else {
            base.to_owned()
        }
    }
}

/// The index of the largest count, if any is above zero (ties: the first).
fn most(counts: &[usize]) -> Option<usize> {
    let max = *counts.iter().max()?;
    (max > 0)
        .then(|| counts.iter().position(|&c| c == max))
        .flatten()
}
