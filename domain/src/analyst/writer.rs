//! Stage two: the schema walker. It fills every property of a response schema (so the output
//! is always valid), but the content comes from the reading: each section picks its topic,
//! each item its episode, evidence comes from that episode's own messages (under a person,
//! only that person's), and every sentence is drawn from the facts of this chat and written at
//! most once per insight.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::{
    lexicon,
    reading::{Episode, Kind, Love, Outcome, Reading},
    text,
    topics::{Topic, topic_for},
};

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

    /// Up to `want` episodes for the scope: of its topic's kinds, involving its person, not yet
    /// shown first, in time order.
    fn episodes(&mut self, scope: Scope<'_>, want: usize) -> Vec<usize> {
        if want == 0 {
            return Vec::new();
        }
        let r = self.r;
        let kinds = scope.topic.kinds();
        let fits = |e: &Episode| {
            kinds.contains(&e.kind)
                && scope.person.is_none_or(|p| r.involves(e, p))
                && match scope.topic {
                    Topic::Appreciation => e.thanks,
                    Topic::Moments | Topic::Strengths => matches!(
                        e.outcome,
                        Outcome::None | Outcome::Repaired { .. } | Outcome::Answered { .. }
                    ),
                    Topic::Advice => matches!(
                        e.outcome,
                        Outcome::Unrepaired | Outcome::Unanswered | Outcome::Broken { .. }
                    ),
                    _ => true,
                }
                // A section about a problem (destructive patterns, trust gaps …) shows only
                // episodes that went badly.
                && (!is_concern(scope.section)
                    || matches!(
                        e.outcome,
                        Outcome::Unrepaired | Outcome::Unanswered | Outcome::Broken { .. }
                    )
                    || matches!(e.kind, Kind::Blocker | Kind::Pressure))
        };
        let mut ranked: Vec<(usize, usize, usize)> = r
            .episodes
            .iter()
            .enumerate()
            .filter(|(_, e)| fits(e))
            .map(|(i, e)| {
                let kind_rank = kinds.iter().position(|k| *k == e.kind).unwrap_or(9);
                (usize::from(self.shown.contains(&i)), kind_rank, i)
            })
            .collect();
        ranked.sort_unstable();
        let chosen: Vec<usize> = ranked.into_iter().take(want).map(|(_, _, i)| i).collect();
        self.shown.extend(chosen.iter().copied());
        chosen
    }

    /// Episodes of any kind (for a minimum the topic alone cannot meet).
    fn any_episodes(&mut self, scope: Scope<'_>, want: usize, except: &[usize]) -> Vec<usize> {
        let r = self.r;
        let chosen: Vec<usize> = (0..r.episodes.len())
            .filter(|i| !except.contains(i))
            .filter(|&i| scope.person.is_none_or(|p| r.involves(&r.episodes[i], p)))
            .filter(|&i| r.episodes[i].kind != Kind::Bid)
            .take(want)
            .collect();
        self.shown.extend(chosen.iter().copied());
        chosen
    }

    /// The messages of an exchange: the scope's episode (or a fresh one), at most `max`, the
    /// person's own message kept in.
    fn exchange_msgs(&mut self, scope: Scope<'_>, max: usize) -> Vec<usize> {
        let r = self.r;
        let e = scope
            .episode
            .or_else(|| self.episodes(scope, 1).first().copied())
            .or_else(|| self.any_episodes(scope, 1, &[]).first().copied());
        match e {
            Some(e) => {
                let ep = &r.episodes[e];
                let mut msgs = ep.msgs.clone();
                if msgs.len() > max {
                    // Keep the key message and what follows it.
                    let at = msgs.iter().position(|&m| m == ep.key).unwrap_or(0);
                    let start = at.saturating_sub(1).min(msgs.len() - max);
                    msgs = msgs[start..start + max].to_vec();
                }
                msgs
            }
            None => self.fallback_msgs(scope.person, 1),
        }
    }

    /// Messages for a list of single-message evidence: the key messages of the topic's
    /// episodes (the person's own, under a person), at least `min`.
    fn evidence_msgs(&mut self, scope: Scope<'_>, want: usize, min: usize) -> Vec<usize> {
        let r = self.r;
        let mut out: Vec<usize> = Vec::new();
        let own = |m: usize| scope.person.is_none_or(|p| r.msgs[m].person == p);
        let episodes: Vec<usize> = match scope.episode {
            Some(e) => vec![e],
            None if r.abstains() => Vec::new(),
            None => self.episodes(scope, want.max(1) * 2),
        };
        for e in episodes {
            let ep = &r.episodes[e];
            let pick = if own(ep.key) {
                Some(ep.key)
            } else {
                ep.msgs.iter().copied().find(|&m| own(m))
            };
            if let Some(m) = pick
                && !out.contains(&m)
                && out.len() < want
            {
                out.push(m);
            }
        }
        if out.len() < min {
            for m in self.fallback_msgs(scope.person, min) {
                if out.len() < min && !out.contains(&m) {
                    out.push(m);
                }
            }
            // Fewer messages than the minimum: the same ones again.
            let have = out.len();
            for i in 0..min.saturating_sub(have) {
                if have > 0 {
                    out.push(out[i % have]);
                }
            }
        }
        out
    }

    /// Any real messages (the person's own, if there is a person): only to meet a schema's
    /// minimum.
    fn fallback_msgs(&self, person: Option<usize>, n: usize) -> Vec<usize> {
        let r = self.r;
        let mut picks: Vec<usize> = (0..r.msgs.len())
            .filter(|&m| person.is_none_or(|p| r.msgs[m].person == p))
            .collect();
        // Longer messages say more about their writer.
        picks.sort_by_key(|&m| std::cmp::Reverse(r.msgs[m].text.chars().count().min(200)));
        picks.truncate(n);
        picks.sort_unstable();
        // A person with fewer messages than the schema's minimum: the same ones again.
        let have = picks.len();
        for i in 0..n.saturating_sub(have) {
            if have > 0 {
                picks.push(picks[i % have]);
            }
        }
        picks
    }

    /// `msgs` widened with the messages around them until it has `min` (for an exchange
    /// the schema wants longer than the episode).
    fn widen(&self, mut msgs: Vec<usize>, min: usize) -> Vec<usize> {
        let total = self.r.msgs.len();
        let mut step = 1;
        while msgs.len() < min && step <= total {
            let (first, last) = (msgs.first().copied(), msgs.last().copied());
            if let Some(l) = last
                && l + step < total
                && !msgs.contains(&(l + step))
            {
                msgs.push(l + step);
            } else if let Some(f) = first
                && f >= step
                && !msgs.contains(&(f - step))
            {
                msgs.insert(0, f - step);
            }
            step += 1;
        }
        msgs.sort_unstable();
        msgs.dedup();
        while msgs.len() < min && !msgs.is_empty() {
            msgs.push(msgs[msgs.len() - 1]);
        }
        msgs
    }

    fn turn(&mut self, items: &Value, m: usize, scope: Scope<'_>) -> Value {
        let msg = &self.r.msgs[m];
        let mut out = Map::new();
        for name in property_names(items) {
            let value = match name.as_str() {
                "message" => Value::String(msg.text.clone()),
                "speaker" => Value::String(msg.speaker.clone()),
                "timestamp" => Value::String(msg.timestamp.clone()),
                "context" => Value::String(self.message_context(m, scope)),
                other => match items.pointer(&format!("/properties/{other}")) {
                    Some(sub) => {
                        let e = scope.episode.or_else(|| self.episode_of(m));
                        self.fill(
                            sub,
                            other,
                            Scope {
                                episode: e,
                                ..scope
                            },
                        )
                    }
                    None => Value::Null,
                },
            };
            out.insert(name, value);
        }
        Value::Object(out)
    }

    fn episode_of(&self, m: usize) -> Option<usize> {
        self.r
            .episodes
            .iter()
            .position(|e| e.key == m && e.kind != Kind::Bid)
            .or_else(|| {
                self.r
                    .episodes
                    .iter()
                    .position(|e| e.msgs.contains(&m) && e.kind != Kind::Bid)
            })
    }

    /// Why one message was chosen.
    fn message_context(&mut self, m: usize, scope: Scope<'_>) -> String {
        let r = self.r;
        let msg = &r.msgs[m];
        let when = text::date(&msg.timestamp);
        let candidates = match scope.episode.or_else(|| self.episode_of(m)) {
            Some(e) => {
                let ep = &r.episodes[e];
                let name = text::name_of(r, ep);
                let who = &msg.speaker;
                let mut c = vec![
                    format!("{who} writes this during {name}."),
                    format!("From {name}, in {who}'s words ({when})."),
                    format!("{who}'s words at {name}."),
                    format!("{who}, at {name}."),
                    format!("Part of {name}, written by {who}."),
                    format!("{who} on {when}, during {name}."),
                ];
                c.rotate_left(r.variant % 6);
                c
            }
            None => vec![format!(
                "An everyday message from {} on {when}; nothing here bears on {} directly.",
                msg.speaker,
                scope.topic.phrase()
            )],
        };
        self.say_one(candidates, scope)
    }

    /// Whether none of the sentences of `text` has been written; if so, they are now.
    fn fresh(&mut self, text: &str) -> bool {
        let parts = super::eval::split_sentences(text);
        if parts.iter().any(|p| self.said.contains(p)) {
            return false;
        }
        self.said.extend(parts);
        true
    }

    /// The first candidate not yet written (after the first, in this insight type's own
    /// order, see [`prefer_own`]); if all are, the section's plain fallback.
    fn say_one(&mut self, mut candidates: Vec<String>, scope: Scope<'_>) -> String {
        prefer_own(&mut candidates, self.r.variant);
        for c in &candidates {
            if self.fresh(c) {
                return c.clone();
            }
        }
        let fallback = format!(
            "{}: nothing further stands out in {}.",
            text::capital(&scope.section.replace('_', " ")),
            text::these(self.r)
        );
        let mut s = fallback.clone();
        let mut n = 2;
        while !self.fresh(&s) {
            s = format!("{} ({n}).", fallback.trim_end_matches('.'));
            n += 1;
        }
        s
    }

    /// Up to `n` unsaid sentences from `candidates`, joined; at least one.
    ///
    /// After the first (most telling) candidate, each insight type takes the rest in its own
    /// order: the six insights of a category share one reading, and without this they would
    /// all reach for the same second sentence.
    fn say(&mut self, mut candidates: Vec<String>, n: usize, scope: Scope<'_>) -> String {
        // An episode's own opening, or the plain "none of this here", stays first; a count or
        // a fact about the whole chat is one of several equally good openings.
        let keep_first = scope.episode.is_some()
            || candidates.first() == Some(&text::absent(self.r, scope.topic))
            || candidates
                .first()
                .is_some_and(|c| c.starts_with("Nothing in "))
            || self.r.abstains();
        if keep_first {
            prefer_own(&mut candidates, self.r.variant);
        } else {
            candidates.insert(0, String::new());
            prefer_own(&mut candidates, self.r.variant);
            candidates.remove(0);
        }
        let mut out: Vec<String> = Vec::new();
        for c in candidates {
            if out.len() >= n {
                break;
            }
            if self.fresh(&c) {
                out.push(c);
            }
        }
        if out.is_empty() {
            out.push(self.say_one(Vec::new(), scope));
        }
        out.join(" ")
    }

    /// Sentences for prose about the scope: its episode, else its person, else its topic.
    fn candidates(&self, scope: Scope<'_>) -> Vec<String> {
        let r = self.r;
        if r.abstains() {
            let what = match scope.person {
                Some(p) => format!("{} and {}", r.name(p), scope.topic.phrase()),
                None => format!(
                    "{} ({})",
                    scope.topic.phrase(),
                    scope.section.replace('_', " ")
                ),
            };
            return vec![text::abstain(r, &what)];
        }
        let mut out = Vec::new();
        if scope.episode.is_none() && is_concern(scope.section) {
            let kinds = scope.topic.kinds();
            let bad = r.episodes.iter().any(|e| {
                kinds.contains(&e.kind)
                    && (matches!(
                        e.outcome,
                        Outcome::Unrepaired | Outcome::Unanswered | Outcome::Broken { .. }
                    ) || matches!(e.kind, Kind::Blocker | Kind::Pressure))
            });
            if !bad {
                out.push(format!(
                    "Nothing in {} points to {}.",
                    text::these(r),
                    scope.section.replace('_', " ")
                ));
            }
        }
        if let Some(e) = scope.episode {
            out.extend(text::episode_facts(r, &r.episodes[e]));
        }
        if let Some(p) = scope.person {
            out.extend(text::person_facts(r, scope.topic, p));
        }
        let topic = match scope.topic {
            Topic::Strengths | Topic::Advice | Topic::Overall | Topic::Moments => None,
            t => Some(t),
        };
        if let Some(t) = topic {
            out.extend(text::topic_facts(r, t));
            let kinds = t.kinds();
            let has_any = r.episodes.iter().any(|e| kinds.contains(&e.kind));
            if !has_any && t != Topic::Rhythm {
                out.insert(0, text::absent(r, t));
            }
            // A prose field takes two sentences: a few episodes (those not yet shown first)
            // give enough to choose from without writing out every one of a long chat's.
            let mut picked: Vec<usize> = (0..r.episodes.len())
                .filter(|&i| {
                    let e = &r.episodes[i];
                    kinds.contains(&e.kind) && e.kind != Kind::Bid && e.kind != Kind::Initiation
                })
                .collect();
            picked.sort_by_key(|i| self.shown.contains(i));
            for &i in picked.iter().take(CANDIDATE_EPISODES) {
                out.extend(text::episode_facts(r, &r.episodes[i]));
            }
        }
        if matches!(scope.topic, Topic::Strengths | Topic::Moments) {
            for e in r
                .episodes
                .iter()
                .filter(|e| {
                    matches!(
                        e.kind,
                        Kind::Affection | Kind::Humour | Kind::RunningJoke | Kind::Support
                    ) || matches!(e.outcome, Outcome::Repaired { .. } | Outcome::Kept { .. })
                })
                .take(CANDIDATE_EPISODES)
            {
                out.extend(text::episode_facts(r, e));
            }
        }
        if scope.topic == Topic::Advice {
            out.extend(self.needs().into_iter().map(|n| n.1));
        }
        if scope.topic == Topic::Rhythm || out.is_empty() {
            out.extend(text::rhythm_facts(r));
            for (_, e) in r.of(Kind::Initiation).take(3) {
                out.extend(text::episode_facts(r, e));
            }
        }
        out
    }

    fn prose(&mut self, scope: Scope<'_>, n: usize) -> String {
        let c = self.candidates(scope);
        self.say(c, n, scope)
    }

    fn pick_enum(&self, options: &[Value], scope: Scope<'_>) -> Value {
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

    /// Episodes of the topic's first kind, and how many ended well.
    fn tally(&self, kind: Kind) -> (usize, usize) {
        let all: Vec<&Episode> = self.r.of(kind).map(|(_, e)| e).collect();
        let good = all
            .iter()
            .filter(|e| {
                matches!(
                    e.outcome,
                    Outcome::Repaired { .. } | Outcome::Answered { .. } | Outcome::Kept { .. }
                )
            })
            .count();
        (all.len(), good)
    }

    /// 0..=1: how well the scope's topic is doing in this chat.
    fn level(&self, scope: Scope<'_>) -> f64 {
        let r = self.r;
        let n = r.msgs.len().max(1) as f64;
        let f = &r.facts;
        match scope.topic {
            Topic::Conflict => {
                let (d, repaired) = self.tally(Kind::Disagreement);
                if d == 0 {
                    0.85
                } else {
                    (0.45 + 0.4 * repaired as f64 / d as f64 - 0.05 * (d - repaired) as f64)
                        .clamp(0.1, 0.9)
                }
            }
            Topic::Support => {
                let (s, answered) = self.tally(Kind::Support);
                if s == 0 {
                    0.6
                } else {
                    0.35 + 0.6 * answered as f64 / s as f64
                }
            }
            Topic::Affection | Topic::Moments => {
                (0.3 + r.count(Kind::Affection) as f64 / n * 4.0).min(1.0)
            }
            Topic::Appreciation => {
                let thanks = r.of(Kind::Affection).filter(|(_, e)| e.thanks).count();
                (0.3 + thanks as f64 / n * 6.0).min(1.0)
            }
            Topic::Humour | Topic::Jokes => (0.25
                + r.count(Kind::Humour) as f64 / n * 5.0
                + 0.1 * r.count(Kind::RunningJoke) as f64)
                .min(1.0),
            Topic::Plans | Topic::Decisions => {
                let (p, kept) = self.tally(Kind::Plan);
                let broken = r
                    .of(Kind::Plan)
                    .filter(|(_, e)| matches!(e.outcome, Outcome::Broken { .. }))
                    .count();
                if p == 0 {
                    0.4
                } else {
                    (0.55 + 0.35 * kept as f64 / p as f64 - 0.15 * broken as f64 / p as f64)
                        .clamp(0.1, 1.0)
                }
            }
            Topic::Pressure => {
                let k = r.count(Kind::Blocker) + r.count(Kind::Pressure);
                (0.85 - k as f64 / n * 3.0).clamp(0.2, 0.9)
            }
            Topic::Rhythm => {
                let section = scope.section;
                if section.contains("initiation") {
                    f.balance(|p| p.initiations)
                } else if ["balance", "contribution", "airtime"]
                    .iter()
                    .any(|k| section.contains(k))
                {
                    f.balance(|p| p.messages)
                } else {
                    let (b, toward) = self.tally(Kind::Bid);
                    let answered = if b == 0 {
                        0.6
                    } else {
                        toward as f64 / b as f64
                    };
                    (0.5 * f.balance(|p| p.messages) + 0.5 * answered).clamp(0.0, 1.0)
                }
            }
            Topic::Strengths | Topic::Advice | Topic::Overall => {
                // Warmth (care, laughter, support answered) against friction (disagreements,
                // worst when left open, and plans dropped), relative to the chat's length.
                let answered = r
                    .of(Kind::Support)
                    .filter(|(_, e)| matches!(e.outcome, Outcome::Answered { .. }))
                    .count();
                let warm = (r.count(Kind::Affection) + r.count(Kind::Humour) + answered) as f64;
                let warmth = (warm / (n * 0.25)).min(1.0);
                let (d, repaired) = self.tally(Kind::Disagreement);
                let broken = r
                    .of(Kind::Plan)
                    .filter(|(_, e)| matches!(e.outcome, Outcome::Broken { .. }))
                    .count();
                let friction =
                    ((2 * (d - repaired)) as f64 + 0.5 * repaired as f64 + broken as f64) / 3.0;
                (0.5 + 0.25 * warmth - 0.3 * friction.min(1.0)).clamp(0.0, 1.0)
            }
        }
    }

    fn number(&self, key: &str, scope: Scope<'_>) -> f64 {
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

    fn boolean(&self, key: &str, scope: Scope<'_>) -> bool {
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
                        how: super::reading::RepairKind::Apology,
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

    fn string(&mut self, key: &str, scope: Scope<'_>) -> String {
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

    fn person_for(&self, key: &str, scope: Scope<'_>) -> String {
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

    fn love_language(&self, scope: Scope<'_>) -> String {
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

    fn kind_label(&self, key: &str, scope: Scope<'_>) -> String {
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

    fn title(&self, scope: Scope<'_>) -> String {
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

    /// What this chat could use, most pressing first and those on this insight's topics
    /// before the rest: (title, suggestion, who).
    fn needs(&self) -> Vec<Need> {
        self.needs.get_or_init(|| self.rank_needs()).clone()
    }

    fn rank_needs(&self) -> Vec<Need> {
        let mut tagged = self.all_needs();
        let rank = |t: Topic| {
            self.focus
                .iter()
                .position(|f| *f == t)
                .unwrap_or(usize::MAX)
        };
        tagged.sort_by_key(|(t, ..)| rank(*t));
        // The needs off this insight's topics come in an order of its own, so the insights of a
        // category do not all close on the same advice.
        let on = tagged
            .iter()
            .filter(|(t, ..)| rank(*t) != usize::MAX)
            .count();
        if tagged.len() > on + 1 {
            let turn = self.r.variant % (tagged.len() - on);
            tagged[on..].rotate_left(turn);
        }
        tagged.into_iter().map(|(_, a, b, c)| (a, b, c)).collect()
    }

    /// Every suggestion this reading supports, tagged with its topic. Concerns first (an
    /// open disagreement, a low moment left alone, a dropped plan), then ways to build on
    /// what already works, each about something specific in the chat.
    fn all_needs(&self) -> Vec<(Topic, String, String, Vec<usize>)> {
        let r = self.r;
        let names = r.facts.names();
        let people = r.facts.people.len();
        let everyone: Vec<usize> = (0..people).collect();
        let mut out = Vec::new();
        if r.abstains() {
            out.push((
                Topic::Rhythm,
                "Come back with more to read".to_owned(),
                format!("A longer stretch of the chat between {names} would give this reading something fair to work with."),
                everyone.clone(),
            ));
            return out;
        }
        for (_, e) in r
            .of(Kind::Disagreement)
            .filter(|(_, e)| e.outcome == Outcome::Unrepaired)
        {
            out.push((
                Topic::Conflict,
                format!("Return to {}", text::name_of(r, e)),
                format!(
                    "{} could come back to {} when both are calm and ask what would have felt fair, since it is left open in these messages.",
                    r.name(e.lead),
                    text::name_of(r, e)
                ),
                vec![e.lead],
            ));
        }
        for (_, e) in r
            .of(Kind::Support)
            .filter(|(_, e)| e.outcome == Outcome::Unanswered)
        {
            let other = (e.lead + 1) % people.max(1);
            out.push((
                Topic::Support,
                format!("Answering {}'s low moments", r.name(e.lead)),
                format!(
                    "When {} writes about a hard day, {} could answer the feeling first, before any plan or fix.",
                    r.name(e.lead),
                    r.name(other)
                ),
                vec![other],
            ));
        }
        for (_, e) in r
            .of(Kind::Plan)
            .filter(|(_, e)| matches!(e.outcome, Outcome::Broken { .. }))
        {
            out.push((
                Topic::Plans,
                format!("Rescheduling {}", text::name_of(r, e)),
                {
                    let n = text::name_of(r, e);
                    text::vary(r, 11, vec![
                        format!("{names} could put a new date on {n} instead of letting it lapse."),
                        format!("Rather than let {n} lapse, {names} could pick a new date for it now."),
                    ])
                },
                everyone.clone(),
            ));
        }
        let f = &r.facts;
        if people >= 2 {
            let counts = r.initiation_counts();
            let quiet = (0..people).min_by_key(|&p| counts[p]).unwrap_or(0);
            let busy = (0..people).max_by_key(|&p| counts[p]).unwrap_or(0);
            if counts[busy] >= 2 * counts[quiet].max(1) && quiet != busy {
                out.push((
                    Topic::Rhythm,
                    format!("{} starting the next conversation", r.name(quiet)),
                    format!(
                        "{} could be the one to reach out first a couple of times this week; {} opens {} of the conversations here.",
                        r.name(quiet),
                        r.name(busy),
                        counts[busy]
                    ),
                    vec![quiet],
                ));
            }
        }
        for p in 0..people {
            let thanks = r
                .of(Kind::Affection)
                .filter(|(_, e)| e.lead == p && e.thanks)
                .count();
            if thanks == 0 {
                out.push((
                    Topic::Appreciation,
                    format!("{} saying thanks out loud", r.name(p)),
                    {
                        let who = r.name(p);
                        text::vary(r, 12 + p, vec![
                            format!("{who} could name one specific thing the others did this week and thank them for it."),
                            format!("Once this week, {who} could thank the others for one particular thing they did, by name."),
                            format!("{who} could say thank you for something specific the next time it happens, not just \u{201c}thanks\u{201d}."),
                        ])
                    },
                    vec![p],
                ));
            }
        }
        // Building on what works.
        if let Some((_, e)) = r
            .of(Kind::Disagreement)
            .find(|(_, e)| matches!(e.outcome, Outcome::Repaired { .. }))
        {
            out.push((
                Topic::Conflict,
                "Keep repairing early".to_owned(),
                {
                    let n = text::name_of(r, e);
                    text::vary(r, 13, vec![
                        format!("{names} could keep doing what worked after {n}: name the hurt, own your part and come back within a day."),
                        format!("What ended {n} is worth repeating: say what hurt, own your share, and come back soon."),
                        format!("The next friction can go the way {n} did, with one of them reaching out within a day."),
                    ])
                },
                everyone.clone(),
            ));
        } else if r.count(Kind::Disagreement) == 0 {
            out.push((
                Topic::Conflict,
                "Agree how to disagree".to_owned(),
                text::vary(r, 14, vec![
                    format!("With no disagreement in these messages, {names} could agree now on a simple signal for \u{201c}I need a pause\u{201d} for when one does come."),
                    format!("While things are calm, {names} could agree how they want to handle a disagreement when one comes."),
                    format!("No friction shows here, which makes now a good time for {names} to say how each likes to be approached when upset."),
                ]),
                everyone.clone(),
            ));
        }
        if let Some((_, e)) = r
            .of(Kind::Support)
            .find(|(_, e)| matches!(e.outcome, Outcome::Answered { .. }))
        {
            out.push((
                Topic::Support,
                "Check in before the hard day".to_owned(),
                {
                    let n = text::name_of(r, e);
                    text::vary(r, 15, vec![
                        format!("After {n}, a short message the morning of the next big day would show the same care before it is asked for."),
                        format!("The care shown at {n} could come earlier next time: a note before the hard day, not only after."),
                        format!("Remembering what {n} was about and asking how it went later keeps that support going."),
                    ])
                },
                everyone.clone(),
            ));
        } else {
            out.push((
                Topic::Support,
                "Ask how the other is really doing".to_owned(),
                text::vary(r, 16, vec![
                    format!("{names} could ask one \u{201c}how are you really?\u{201d} this week and leave room for a long answer."),
                    format!("One unhurried check-in this week, with time for a real answer, would help {names}."),
                ]),
                everyone.clone(),
            ));
        }
        match r.of(Kind::RunningJoke).next() {
            Some((_, e)) => out.push((
                Topic::Jokes,
                format!("Keep {} alive", text::name_of(r, e)),
                {
                    let ph = e.phrase.as_deref().unwrap_or("");
                    text::vary(r, 17, vec![
                        format!("{names} could bring back \u{201c}{ph}\u{201d} the next time one of them needs cheering up."),
                        format!("\u{201c}{ph}\u{201d} is theirs alone; {names} could use it on a hard day, not only a good one."),
                        format!("Keeping \u{201c}{ph}\u{201d} going is an easy way for {names} to stay close."),
                    ])
                },
                everyone.clone(),
            )),
            None if r.count(Kind::Humour) == 0 => out.push((
                Topic::Humour,
                "Making room for play".to_owned(),
                text::vary(r, 26, vec![
                    format!("{names} could share one thing that made them laugh today; no joking shows up in these messages."),
                    format!("No laughter shows up here, so {names} could send each other one funny thing this week."),
                    format!("A little play would suit {names}: a silly photo or an old joke, once this week."),
                ]),
                everyone.clone(),
            )),
            None => out.push((
                Topic::Humour,
                "Turn a laugh into a tradition".to_owned(),
                format!("{names} could pick one of their jokes from these messages and make it theirs, so it comes back."),
                everyone.clone(),
            )),
        }
        let open: Vec<&Episode> = r
            .of(Kind::Plan)
            .map(|(_, e)| e)
            .filter(|e| e.outcome == Outcome::Open)
            .collect();
        match (open.first(), r.count(Kind::Plan)) {
            (Some(e), _) => out.push((
                Topic::Plans,
                format!("Closing the loop on {}", text::name_of(r, e)),
                {
                    let who = r.name(e.lead);
                    let n = text::name_of(r, e);
                    text::vary(r, 18, vec![
                        format!("{who} could follow up on {n} with a day and a time, so it does not drift."),
                        format!("{n} has no outcome in these messages; {who} could give it a date."),
                        format!("A quick \u{201c}are we still on?\u{201d} from {who} would keep {n} from fading."),
                    ])
                },
                vec![e.lead],
            )),
            (None, 0) => out.push((
                Topic::Plans,
                "Putting a plan on the calendar".to_owned(),
                format!("{names} could pick one small thing to do together and fix a day for it."),
                everyone.clone(),
            )),
            (None, _) => out.push((
                Topic::Plans,
                "Plan the next one".to_owned(),
                text::vary(r, 19, vec![
                    format!("The plans in these messages happened; {names} could set the next one before this week ends."),
                    format!("Since their plans get carried out, {names} could afford a slightly bigger one next."),
                ]),
                everyone.clone(),
            )),
        }
        for p in 0..people {
            if let Some((love, _)) = r.main_love(p) {
                let other = (p + 1) % people.max(1);
                if other != p {
                    out.push((
                        Topic::Affection,
                        format!("Speaking {}'s language", r.name(p)),
                        {
                            let (who, how, to) = (r.name(p), love.short(), r.name(other));
                            text::vary(r, 25 + p, vec![
                                format!("{who} shows care through {how}; {to} could answer in kind once this week, and say out loud that it was noticed."),
                                format!("{to} could meet {who} in {who}'s own language, {how}, at least once this week."),
                                format!("When {who} offers {how}, {to} could name it: it tells {who} the effort landed."),
                            ])
                        },
                        vec![other],
                    ));
                }
            }
        }
        if r.count(Kind::Decision) > 0 || r.count(Kind::Blocker) > 0 {
            out.push((
                Topic::Decisions,
                "Write decisions down".to_owned(),
                text::vary(r, 20, vec![
                    format!("{names} could end each decision with one line saying who does what by when."),
                    format!("A one-line recap after each decision (owner, task, date) would help {names}."),
                    format!("Closing a decision with \u{201c}so X does Y by Z\u{201d} leaves {names} nothing to guess."),
                ]),
                everyone.clone(),
            ));
            out.push((
                Topic::Pressure,
                "Flag blockers the same day".to_owned(),
                text::vary(r, 21, vec![
                    format!("{names} could keep raising blockers the day they appear, as in these messages, and say when help is no longer needed."),
                    format!("Flagging blockers early works here; {names} could also say when one is cleared."),
                ]),
                everyone.clone(),
            ));
        } else {
            out.push((
                Topic::Decisions,
                "Say who decides".to_owned(),
                text::vary(r, 22, vec![
                    format!("{names} could say out loud who makes the call on the next shared decision, so nothing waits on a guess."),
                    format!("Naming who decides, before the next choice comes up, would save {names} a round of back and forth."),
                ]),
                everyone.clone(),
            ));
        }
        let moments = r.count(Kind::Affection) + r.count(Kind::Humour);
        out.push((
            Topic::Moments,
            "Save the good moments".to_owned(),
            text::vary(r, 23, vec![
                format!("{names} could bring up one of the {moments} warm or funny moments here the next time they talk; remembering them together is part of the bond."),
                format!("Looking back together at one of the {moments} good moments in these messages is a small, warm thing {names} could do."),
                format!("{names} could screenshot one of these {moments} good moments and send it back someday."),
            ]),
            everyone.clone(),
        ));
        out.push((
            Topic::Rhythm,
            "Ask one more question".to_owned(),
            text::vary(r, 24, vec![
                format!("{names} could follow one reply this week with a real question about the other's day."),
                format!("Asking one follow-up question, instead of just reacting, would deepen {names}'s back and forth."),
                format!("Next time a message shares news, {names} could ask one more thing about it."),
            ]),
            everyone.clone(),
        ));
        let _ = f;
        out
    }

    fn suggestion(&mut self, scope: Scope<'_>) -> String {
        let needs = self.needs();
        let c: Vec<String> = needs
            .iter()
            .cycle()
            .skip(scope.slot % needs.len().max(1))
            .take(needs.len())
            .map(|n| n.1.clone())
            .collect();
        self.say_one(c, scope)
    }

    fn strings(&mut self, key: &str, n: usize, scope: Scope<'_>) -> Vec<String> {
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
                            super::reading::RepairKind::Apology => {
                                format!("{} apologises", r.name(by))
                            }
                            super::reading::RepairKind::Reassurance => {
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

    fn why(&mut self, scope: Scope<'_>) -> String {
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

    fn timeframe(&self) -> String {
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

    /// Words one participant could send to another.
    fn phrase(&mut self, scope: Scope<'_>, n: usize) -> String {
        let r = self.r;
        let people = r.facts.people.len();
        let speaker = scope.person.unwrap_or(scope.slot + n) % people;
        let other = r.name((speaker + 1) % people).to_owned();
        // The insight's own theme (the section "recommendations" says nothing about it).
        let theme = lexicon::theme_for(&r.facts.insight_type);
        let theme = if theme.phrase == lexicon::GENERAL.phrase {
            lexicon::theme_for(scope.section)
        } else {
            theme
        };
        // Words about this chat first, for the insight's own topics; the theme's stock
        // phrases only after them.
        let mut c: Vec<String> = Vec::new();
        if !r.abstains() {
            for topic in self.focus.iter().copied().chain([scope.topic]) {
                c.extend(self.phrases_about(topic, speaker, &other));
            }
        }
        let turn = (scope.slot + n + r.variant) % c.len().max(1);
        c.rotate_left(turn);
        for k in 0..theme.phrases.len() {
            c.push(
                theme.phrases[(scope.slot + n + k + r.variant) % theme.phrases.len()]
                    .replace("{other}", &other),
            );
        }
        // The general stock phrases read the same in every insight: only when nothing else is
        // left.
        if c.len() < 3 {
            for k in 0..lexicon::GENERAL.phrases.len() {
                let g = lexicon::GENERAL.phrases;
                c.push(g[(k + r.variant) % g.len()].replace("{other}", &other));
            }
        }
        self.say_one(c, scope)
    }

    /// Messages `speaker` could send `other`, drawn from this chat's episodes on `topic`
    /// (one sentence each, naming who they are for).
    fn phrases_about(&self, topic: Topic, speaker: usize, other: &str) -> Vec<String> {
        let r = self.r;
        let mut out = Vec::new();
        let subject =
            |e: &Episode, fallback: &str| e.topic.clone().unwrap_or_else(|| fallback.to_owned());
        match topic {
            Topic::Conflict => {
                for (_, e) in r.of(Kind::Disagreement) {
                    let t = subject(e, "argument");
                    out.push(match e.outcome {
                        Outcome::Repaired { .. } => format!("{other}, thank you for coming back to me after the {t}; it mattered."),
                        _ => format!("{other}, I keep thinking about the {t}; can we talk it through tonight?"),
                    });
                }
            }
            Topic::Support => {
                for (_, e) in r.of(Kind::Support).filter(|(_, e)| e.lead != speaker) {
                    out.push(format!(
                        "{other}, I remembered what you said on {}; how are you holding up today?",
                        text::date(&r.msgs[e.key].timestamp)
                    ));
                }
            }
            Topic::Affection | Topic::Appreciation | Topic::Moments => {
                if let Some((love, _)) = r.main_love((speaker + 1) % r.facts.people.len().max(1)) {
                    out.push(format!(
                        "{other}, I notice the {} you keep showing me, thank you.",
                        love.short()
                    ));
                }
            }
            Topic::Humour | Topic::Jokes => {
                for (_, e) in r.of(Kind::RunningJoke) {
                    out.push(format!(
                        "Saw something today that was pure {} energy, {other} \u{1f602}",
                        e.phrase.as_deref().unwrap_or("")
                    ));
                }
            }
            Topic::Plans | Topic::Decisions | Topic::Pressure => {
                for (_, e) in r.of(Kind::Plan).filter(|(_, e)| e.outcome != Outcome::None) {
                    let t = text::name_of(r, e);
                    out.push(match e.outcome {
                        Outcome::Kept { .. } => {
                            format!("{other}, {t} worked out so well; what should we plan next?")
                        }
                        _ => format!("{other}, shall we pick a firm date for {t}?"),
                    });
                }
                if r.count(Kind::Decision) > 0 {
                    out.push(format!("Quick recap, {other}: who owns what, and by when?"));
                }
            }
            _ => {}
        }
        out
    }

    fn level_text(&self, key: &str, scope: Scope<'_>) -> String {
        let r = self.r;
        if r.abstains() {
            return "not enough to say".to_owned();
        }
        let n = r.msgs.len().max(1);
        match (scope.topic, key) {
            (_, "confidence") => {
                let p = scope.person.unwrap_or(0);
                let k = r.love_counts(p).values().sum::<usize>();
                return match k {
                    0..=1 => "low",
                    2..=4 => "moderate",
                    _ => "high",
                }
                .to_owned();
            }
            (Topic::Conflict, _)
                if key.contains("frequency")
                    || key == "level"
                    || key == "rating"
                    || key.contains("presence") =>
            {
                let d = r.count(Kind::Disagreement);
                return match d {
                    0 => "none",
                    _ if d * 100 / n < 3 => "rare",
                    _ if d * 100 / n < 8 => "occasional",
                    _ => "frequent",
                }
                .to_owned();
            }
            (Topic::Conflict, "effectiveness") => {
                let (d, repaired) = self.tally(Kind::Disagreement);
                return match (d, repaired) {
                    (0, _) => "not tested: no disagreement to repair",
                    (d, r) if r == d => "effective: repaired",
                    (_, 0) => "not yet effective: unrepaired",
                    _ => "partly effective: some repaired",
                }
                .to_owned();
            }
            (Topic::Plans, "concrete_vs_vague" | "follow_through_assessment" | "rating") => {
                let (p, kept) = self.tally(Kind::Plan);
                return match (p, kept) {
                    (0, _) => "no plans to judge",
                    (_, 0) => "mostly open plans",
                    _ => "concrete, with plans carried out",
                }
                .to_owned();
            }
            _ => {}
        }
        let level = self.level(scope);
        let ladder: &[&str] = match key {
            "frequency" => &["very frequent", "frequent", "occasional", "rare"],
            "severity" => &["mild", "mild", "moderate", "significant"],
            "intensity" => &["strong", "moderate", "gentle", "gentle"],
            k if k.contains("balance") => &["balanced", "slightly uneven", "uneven", "uneven"],
            "stage" => &["established", "established", "growing", "early"],
            "direction" => &["mutual", "mostly mutual", "mostly one-way", "one-way"],
            _ => &["strong", "healthy", "developing", "needs attention"],
        };
        let level = if key.contains("balance") {
            r.facts.balance(|p| p.messages)
        } else {
            level
        };
        let index = ((1.0 - level) * (ladder.len() - 1) as f64).round() as usize;
        ladder[index.min(ladder.len() - 1)].to_owned()
    }
}

/// Keeps the first candidate first and orders the others in this voice's own way: a
/// different order for each of a category's six insight types (stable within a rank).
fn prefer_own(candidates: &mut [String], variant: usize) {
    if candidates.len() > 2 {
        let voice = variant % 6;
        let rank = |c: &String| {
            let h = c.bytes().fold(0usize, |h, b| {
                h.wrapping_mul(31).wrapping_add(usize::from(b))
            });
            (h % 6 + 6 - voice) % 6
        };
        candidates[1..].sort_by_key(rank);
    }
}

/// The index of the largest count, if any is above zero (ties: the first).
fn most(counts: &[usize]) -> Option<usize> {
    let max = *counts.iter().max()?;
    (max > 0)
        .then(|| counts.iter().position(|&c| c == max))
        .flatten()
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
