//! Stage two: the schema walker. It fills every property of a response schema (so the output
//! is always valid), but the content comes from the reading: each section picks its topic,
//! each item its episode, evidence comes from that episode's own messages (under a person,
//! only that person's), and every sentence is drawn from the facts of this chat and written at
//! most once per insight.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::{
    lexicon,
    reading::Reading,
    topics::{Topic, topic_for},
};

mod evidence;
mod fields;
mod levels;
mod lists;
mod needs;
mod phrases;
mod sentences;

/// Episodes written out as candidate sentences for one prose field.
const CANDIDATE_EPISODES: usize = 8;

/// Keys whose value is one participant's name.
const PERSON_KEYS: [&str; 6] = [
    "name",
    "speaker",
    "initiator",
    "dominant_voice",
    "directed_at",
    "proactive_participant",
];
/// Keys that hold a short title.
const TITLE_KEYS: [&str; 17] = [
    "title",
    "strength",
    "behavior",
    "pattern",
    "pattern_name",
    "gap",
    "area",
    "opportunity",
    "ritual",
    "topic",
    "memory",
    "risk",
    "reference",
    "joke_or_reference",
    "situation",
    "category",
    "language",
];
/// Keys that hold a qualitative rating word.
const LEVEL_KEYS: [&str; 14] = [
    "rating",
    "level",
    "balance",
    "intensity",
    "frequency",
    "severity",
    "confidence",
    "effectiveness",
    "compatibility",
    "alignment",
    "stage",
    "direction",
    "reception",
    "response_quality",
];
/// Keys (or list keys) that hold words a participant could send.
const PHRASE_KEYS: [&str; 6] = [
    "example",
    "example_phrases",
    "example_messages",
    "conversation_starters",
    "starter",
    "examples",
];
/// Booleans: whether the section's topic shows up.
const BOOL_KEYS: [&str; 9] = [
    "present",
    "visible_conflicts",
    "conflict_present",
    "discussed",
    "plans_present",
    "apologies_present",
    "tracked",
    "closes_loop",
    "sensitive_content_present",
];

pub(crate) struct Writer<'a> {
    r: &'a Reading,
    /// Every sentence written so far: none is written twice.
    said: HashSet<String>,
    /// Episodes already shown as evidence, so the next section shows another where it can.
    shown: HashSet<usize>,
    /// The topics of the schema's sections, most frequent first: what this insight is about.
    focus: Vec<Topic>,
    /// [`Writer::needs`], computed once (every recommendation and gap asks for it).
    needs: std::cell::OnceCell<Vec<Need>>,
}

/// A suggestion: its title, its sentence, and whom it is for.
type Need = (String, String, Vec<usize>);

#[derive(Debug, Clone, Copy)]
struct Scope<'s> {
    section: &'s str,
    topic: Topic,
    person: Option<usize>,
    slot: usize,
    /// The episode the object being written is about.
    episode: Option<usize>,
}

fn count(want: usize, schema: &Value) -> usize {
    let min = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
    let max = schema
        .get("maxItems")
        .and_then(Value::as_u64)
        .map_or(usize::MAX, |m| m as usize);
    want.max(min).min(max)
}

fn min_items(schema: &Value) -> usize {
    schema.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize
}

fn property_names(schema: &Value) -> Vec<String> {
    let ordering = schema.get("propertyOrdering").and_then(Value::as_array);
    let props = schema.get("properties").and_then(Value::as_object);
    match (ordering, props) {
        (Some(order), Some(props)) => {
            let mut names: Vec<String> = order
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            names.extend(
                props
                    .keys()
                    .filter(|k| !names.contains(k))
                    .cloned()
                    .collect::<Vec<_>>(),
            );
            names
        }
        (None, Some(props)) => props.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

fn has_props(schema: &Value, names: &[&str]) -> bool {
    names
        .iter()
        .all(|n| schema.pointer(&format!("/properties/{n}")).is_some())
}

/// Items that carry evidence of their own: each one is about an episode.
fn is_episode_item(items: &Value) -> bool {
    has_props(items, &["exchange"])
        || has_props(items, &["evidence"])
        || has_props(items, &["moments"])
}

/// Keys that want words about a concern (a gap, a risk) rather than a strength.
fn is_concern(section: &str) -> bool {
    lexicon::is_concern(section)
        || [
            "destructive",
            "trust_gaps",
            "avoidance",
            "stress_signals",
            "bottleneck",
        ]
        .iter()
        .any(|k| section.contains(k))
}

impl<'a> Writer<'a> {
    pub(crate) fn new(r: &'a Reading) -> Self {
        Self {
            r,
            said: HashSet::new(),
            shown: HashSet::new(),
            focus: Vec::new(),
            needs: std::cell::OnceCell::new(),
        }
    }

    pub(crate) fn document(&mut self, schema: &Value) -> Value {
        let mut counts: Vec<(Topic, usize, usize)> = Vec::new();
        for (order, name) in property_names(schema).iter().enumerate() {
            let t = topic_for(name);
            if matches!(t, Topic::Advice | Topic::Strengths | Topic::Overall) {
                continue;
            }
            match counts.iter_mut().find(|c| c.0 == t) {
                Some(c) => c.1 += 1,
                None => counts.push((t, 1, order)),
            }
        }
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
        self.focus = counts.into_iter().map(|c| c.0).collect();
        self.fill(
            schema,
            "",
            Scope {
                section: "",
                topic: Topic::Overall,
                person: None,
                slot: 0,
                episode: None,
            },
        )
    }

    fn fill(&mut self, schema: &Value, key: &str, scope: Scope<'_>) -> Value {
        if let Some(options) = schema.get("enum").and_then(Value::as_array) {
            return self.pick_enum(options, scope);
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("object") => self.object(schema, scope),
            Some("array") => self.array(schema, key, scope),
            Some("string") => Value::String(self.string(key, scope)),
            Some("integer") => json!(clamp(self.number(key, scope), schema).round() as i64),
            Some("number") => json!((clamp(self.number(key, scope), schema) * 10.0).round() / 10.0),
            Some("boolean") => json!(self.boolean(key, scope)),
            _ => Value::Null,
        }
    }

    fn object(&mut self, schema: &Value, scope: Scope<'_>) -> Value {
        let mut scope = scope;
        if scope.episode.is_none() && has_props(schema, &["exchange"]) {
            scope.episode = self.episodes(scope, 1).first().copied();
        }
        let mut out = Map::new();
        for name in property_names(schema) {
            let Some(sub) = schema.pointer(&format!("/properties/{name}")) else {
                continue;
            };
            let child = if scope.section.is_empty() {
                Scope {
                    section: &name,
                    topic: topic_for(&name),
                    ..scope
                }
            } else {
                scope
            };
            let value = if name == "exchange" {
                let items = sub.get("items").cloned().unwrap_or(Value::Null);
                let msgs = self.exchange_msgs(child, count(4, sub).max(1));
                let msgs = self.widen(msgs, min_items(sub).max(1));
                Value::Array(msgs.iter().map(|&m| self.turn(&items, m, child)).collect())
            } else {
                self.fill(sub, &name, child)
            };
            out.insert(name, value);
        }
        Value::Object(out)
    }

    fn array(&mut self, schema: &Value, key: &str, scope: Scope<'_>) -> Value {
        let items = schema.get("items").cloned().unwrap_or(Value::Null);
        let item_type = items.get("type").and_then(Value::as_str);
        if item_type == Some("object") && has_props(&items, &["name"]) {
            let n = count(self.r.facts.people.len(), schema);
            return Value::Array(
                (0..n)
                    .map(|i| {
                        self.fill(
                            &items,
                            key,
                            Scope {
                                person: Some(i % self.r.facts.people.len()),
                                slot: i,
                                ..scope
                            },
                        )
                    })
                    .collect(),
            );
        }
        if item_type == Some("object") && has_props(&items, &["message", "speaker"]) {
            let msgs = self.evidence_msgs(
                scope,
                count(2, schema).min(3).max(min_items(schema)),
                min_items(schema),
            );
            return Value::Array(msgs.iter().map(|&m| self.turn(&items, m, scope)).collect());
        }
        if item_type == Some("object") && is_episode_item(&items) {
            // Inside an episode's own object, its evidence is that episode.
            let chosen: Vec<usize> = match scope.episode {
                Some(e) => vec![e],
                None => {
                    let want = if self.r.abstains() {
                        0
                    } else {
                        count(2, schema).min(3)
                    };
                    let mut chosen = self.episodes(scope, want);
                    if chosen.len() < min_items(schema) {
                        let more =
                            self.any_episodes(scope, min_items(schema) - chosen.len(), &chosen);
                        chosen.extend(more);
                    }
                    chosen
                }
            };
            let mut out: Vec<Value> = chosen
                .iter()
                .enumerate()
                .map(|(i, &e)| {
                    self.fill(
                        &items,
                        key,
                        Scope {
                            slot: i,
                            episode: Some(e),
                            ..scope
                        },
                    )
                })
                .collect();
            // A chat with no episode at all still owes the schema its minimum.
            while out.len() < min_items(schema) {
                let slot = out.len();
                out.push(self.fill(
                    &items,
                    key,
                    Scope {
                        slot,
                        episode: None,
                        ..scope
                    },
                ));
            }
            return Value::Array(out);
        }
        if item_type == Some("string") {
            let mut values = self.strings(key, count(2, schema), scope);
            let min = min_items(schema);
            let mut n = 0;
            while values.len() < min {
                values.push(format!("{} {}", scope.topic.phrase(), n + 1));
                n += 1;
            }
            values.truncate(count(values.len(), schema));
            return Value::Array(values.into_iter().map(Value::String).collect());
        }
        let n = count(2, schema);
        Value::Array(
            (0..n)
                .map(|i| {
                    self.fill(
                        &items,
                        key,
                        Scope {
                            slot: i,
                            episode: None,
                            ..scope
                        },
                    )
                })
                .collect(),
        )
    }
}

fn clamp(v: f64, schema: &Value) -> f64 {
    let min = schema
        .get("minimum")
        .and_then(Value::as_f64)
        .unwrap_or(f64::MIN);
    let max = schema
        .get("maximum")
        .and_then(Value::as_f64)
        .unwrap_or(f64::MAX);
    if v.is_finite() {
        v.clamp(min, max)
    } else {
        min.max(0.0)
    }
}
