//! The schema walker: fills every property of a response schema from the chat, choosing a
//! generator by the property's name and shape (names → participants, quote arrays → real
//! messages, numbers → statistics, strings → templated sentences).

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::{
    facts::{Facts, Quote},
    lexicon::{self, LOVE_LANGUAGES},
    text::{self, Spot},
};

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
const TITLE_KEYS: [&str; 16] = [
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

pub(crate) struct Writer<'a> {
    facts: &'a Facts,
    used_quotes: HashSet<(usize, usize)>,
    used_excerpts: HashSet<usize>,
    /// The quotes of the object being written, so its `context` can refer to them.
    focus: Vec<Quote>,
    /// Where the next reused quote or excerpt comes from, once every one has been used.
    reuse_cursor: usize,
}

#[derive(Debug, Clone, Copy)]
struct Scope<'s> {
    section: &'s str,
    person: Option<usize>,
    slot: usize,
}

fn count(want: usize, schema: &Value) -> usize {
    let min = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
    let max = schema
        .get("maxItems")
        .and_then(Value::as_u64)
        .map_or(usize::MAX, |m| m as usize);
    want.max(min).min(max)
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

impl<'a> Writer<'a> {
    pub(crate) fn new(facts: &'a Facts) -> Self {
        Self {
            facts,
            used_quotes: HashSet::new(),
            used_excerpts: HashSet::new(),
            focus: Vec::new(),
            reuse_cursor: 0,
        }
    }

    pub(crate) fn document(&mut self, schema: &Value) -> Value {
        self.fill(
            schema,
            "",
            Scope {
                section: "",
                person: None,
                slot: 0,
            },
        )
    }

    fn spot<'s>(&self, scope: Scope<'s>) -> Spot<'s> {
        Spot {
            section: scope.section,
            person: scope.person,
            slot: scope.slot,
            level: self.level(scope.section),
        }
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
        let saved = std::mem::take(&mut self.focus);
        let exchange_schema = schema.pointer("/properties/exchange").cloned();
        let exchange = exchange_schema.as_ref().map(|s| self.exchange(s, scope));
        if let Some(quotes) = &exchange {
            self.focus = quotes.clone();
        }
        let mut out = Map::new();
        for name in property_names(schema) {
            let Some(sub) = schema.pointer(&format!("/properties/{name}")) else {
                continue;
            };
            let child = if scope.section.is_empty() {
                Scope {
                    section: &name,
                    ..scope
                }
            } else {
                scope
            };
            let value = match (&exchange, name.as_str()) {
                (Some(quotes), "exchange") => {
                    let items = sub.get("items").cloned().unwrap_or(Value::Null);
                    Value::Array(
                        quotes
                            .iter()
                            .map(|q| self.quote_item(&items, q, child))
                            .collect(),
                    )
                }
                _ => self.fill(sub, &name, child),
            };
            out.insert(name.clone(), value);
        }
        self.focus = saved;
        Value::Object(out)
    }

    fn array(&mut self, schema: &Value, key: &str, scope: Scope<'_>) -> Value {
        let items = schema.get("items").cloned().unwrap_or(Value::Null);
        let item_type = items.get("type").and_then(Value::as_str);
        if item_type == Some("object") && has_props(&items, &["name"]) {
            let n = count(self.facts.people.len(), schema);
            return Value::Array(
                (0..n)
                    .map(|i| {
                        self.fill(
                            &items,
                            key,
                            Scope {
                                person: Some(i),
                                slot: i,
                                ..scope
                            },
                        )
                    })
                    .collect(),
            );
        }
        if item_type == Some("object") && has_props(&items, &["message", "speaker"]) {
            let quotes = self.quotes(scope, count(2, schema), count(0, schema));
            return Value::Array(
                quotes
                    .iter()
                    .map(|q| self.quote_item(&items, q, scope))
                    .collect(),
            );
        }
        if item_type == Some("string") {
            let mut values = self.strings(key, count(2, schema), scope);
            let min = count(0, schema);
            if values.len() < min {
                values.extend(text::labels(self.spot(scope), min - values.len()));
            }
            values.truncate(count(values.len(), schema));
            return Value::Array(values.into_iter().map(Value::String).collect());
        }
        let n = count(2, schema);
        Value::Array(
            (0..n)
                .map(|i| self.fill(&items, key, Scope { slot: i, ..scope }))
                .collect(),
        )
    }

    fn quote_item(&mut self, items: &Value, quote: &Quote, scope: Scope<'_>) -> Value {
        let mut out = Map::new();
        for name in property_names(items) {
            let value = match name.as_str() {
                "message" => Value::String(quote.message.text.clone()),
                "speaker" => Value::String(quote.message.speaker.clone()),
                "timestamp" => Value::String(quote.message.timestamp.clone()),
                "context" => {
                    let theme = lexicon::theme_for(scope.section);
                    let cues = lexicon::cue_hits(&quote.lower, theme, &self.facts.keywords);
                    Value::String(text::context(
                        self.facts,
                        self.spot(scope),
                        &quote.message.speaker,
                        &quote.message.timestamp,
                        cues.first().copied(),
                    ))
                }
                other => match items.pointer(&format!("/properties/{other}")) {
                    Some(sub) => self.fill(sub, other, scope),
                    None => Value::Null,
                },
            };
            out.insert(name, value);
        }
        Value::Object(out)
    }

    /// How much a quote speaks to the section (and to the person in focus).
    fn relevance(&self, quote: &Quote, scope: Scope<'_>) -> usize {
        let theme = lexicon::theme_for(scope.section);
        let hits = quote.theme_hits(theme, &self.facts.keywords);
        let own = scope
            .person
            .is_some_and(|i| self.facts.person(i).name == quote.message.speaker);
        let length = quote.message.text.chars().count();
        hits * 4 + usize::from(own) * 3 + usize::from((15..=300).contains(&length))
    }

    /// `want` quotes for the section (at least `min`), preferring unused and relevant ones.
    fn quotes(&mut self, scope: Scope<'_>, want: usize, min: usize) -> Vec<Quote> {
        let mut ranked: Vec<(usize, &Quote)> = self
            .facts
            .quotes
            .iter()
            .filter(|q| !self.used_quotes.contains(&(q.excerpt, q.position)))
            .map(|q| (self.relevance(q, scope), q))
            .collect();
        ranked.sort_by_key(|r| std::cmp::Reverse(r.0));
        let mut chosen: Vec<Quote> = ranked
            .iter()
            .take(want)
            .map(|(_, q)| (*q).clone())
            .collect();
        // Reuse only when the chat has fewer distinct messages than the schema demands, and
        // then in turn, so repeated quotes are at least different ones.
        let total = self.facts.quotes.len();
        while chosen.len() < min && total > 0 {
            chosen.push(self.facts.quotes[self.reuse_cursor % total].clone());
            self.reuse_cursor += 1;
        }
        for q in &chosen {
            self.used_quotes.insert((q.excerpt, q.position));
        }
        if chosen.len() < min {
            chosen.extend(std::iter::repeat_n(self.placeholder(), min - chosen.len()));
        }
        chosen
    }

    /// Only reached for a chat with no quotable message at all: an honest marker, not a quote.
    fn placeholder(&self) -> Quote {
        Quote::new(
            usize::MAX,
            0,
            crate::retrieval::prompt::ExcerptMessage {
                speaker: self.facts.person(0).name.clone(),
                timestamp: self.facts.first_date.clone(),
                text: "(no message in this chat could be quoted)".to_owned(),
            },
        )
    }

    /// A few consecutive messages of one excerpt: a real exchange, around its most relevant
    /// line. Excerpts not yet quoted come first; a small chat may have to repeat one.
    fn exchange(&mut self, schema: &Value, scope: Scope<'_>) -> Vec<Quote> {
        let want = count(3, schema);
        let min = count(1, schema).min(want);
        let Some(best) = self.best_line(scope) else {
            return self.quotes(scope, want, min);
        };
        self.used_excerpts.insert(best.excerpt);
        let same: Vec<&Quote> = self
            .facts
            .quotes
            .iter()
            .filter(|q| q.excerpt == best.excerpt)
            .collect();
        let at = same
            .iter()
            .position(|q| q.position == best.position)
            .unwrap_or(0);
        let start = at.saturating_sub(1).min(same.len().saturating_sub(want));
        let mut window: Vec<Quote> = same
            .iter()
            .skip(start)
            .take(want)
            .map(|q| (*q).clone())
            .collect();
        for q in &window {
            self.used_quotes.insert((q.excerpt, q.position));
        }
        if window.len() < min {
            window.extend(self.quotes(scope, min - window.len(), min - window.len()));
        }
        window
    }

    /// The line an exchange is built around: the most relevant one in an unquoted excerpt,
    /// else the most relevant unused line anywhere, else the excerpts in turn.
    fn best_line(&mut self, scope: Scope<'_>) -> Option<Quote> {
        let turn = self.reuse_cursor % self.facts.excerpt_count.max(1);
        let pool = || self.facts.quotes.iter().filter(|q| q.excerpt != usize::MAX);
        let rank = |q: &&Quote| {
            (
                self.relevance(q, scope),
                std::cmp::Reverse((q.excerpt, q.position)),
            )
        };
        let fresh = pool()
            .filter(|q| !self.used_excerpts.contains(&q.excerpt))
            .max_by_key(rank);
        let unused = || {
            pool()
                .filter(|q| !self.used_quotes.contains(&(q.excerpt, q.position)))
                .max_by_key(rank)
        };
        if let Some(q) = fresh.or_else(unused) {
            return Some(q.clone());
        }
        let line = pool()
            .filter(|q| q.excerpt == turn)
            .max_by_key(rank)
            .cloned();
        self.reuse_cursor += 1;
        line
    }

    fn pick_enum(&self, options: &[Value], scope: Scope<'_>) -> Value {
        if options.is_empty() {
            return Value::Null;
        }
        // Every enum in the catalogue lists its best (or most) value first.
        let level = self.level(scope.section);
        let index = ((1.0 - level) * (options.len() - 1) as f64).round() as usize;
        options[index.min(options.len() - 1)].clone()
    }

    /// 0..=1 for a section: balance for balance sections, else health and theme evidence.
    fn level(&self, section: &str) -> f64 {
        let f = self.facts;
        if section.contains("initiation") {
            return f.balance(|p| p.initiations);
        }
        if ["balance", "contribution", "airtime"]
            .iter()
            .any(|k| section.contains(k))
        {
            return f.balance(|p| p.messages);
        }
        if section.contains("respons") {
            return f.responsiveness();
        }
        let signal = (f.density(lexicon::theme_for(section)) * 4.0).min(1.0);
        let signal = if lexicon::is_concern(section) {
            1.0 - signal
        } else {
            signal
        };
        (0.6 * f.health() + 0.4 * signal).clamp(0.0, 1.0)
    }

    fn number(&self, key: &str, scope: Scope<'_>) -> f64 {
        let f = self.facts;
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
            // Integer 0–10 scores: 3 for a strained chat, 9 for a thriving one.
            _ => 3.0 + 6.0 * self.level(scope.section),
        }
    }

    fn boolean(&self, key: &str, scope: Scope<'_>) -> bool {
        let theme = lexicon::theme_for(&format!("{key} {}", scope.section));
        self.facts.density(theme) > 0.0
    }

    fn string(&mut self, key: &str, scope: Scope<'_>) -> String {
        let f = self.facts;
        let spot = self.spot(scope);
        let i = scope.person.unwrap_or(scope.slot);
        if PERSON_KEYS.contains(&key) || key.starts_with("primary_") {
            return self.person_for(key, scope);
        }
        match key {
            "timestamp" => {
                return self
                    .focus
                    .first()
                    .map_or_else(|| f.first_date.clone(), |q| q.message.timestamp.clone());
            }
            "message" => {
                return self
                    .focus
                    .first()
                    .map_or_else(String::new, |q| q.message.text.clone());
            }
            "language" if f.insight_type == "love_language" => return self.love_language(scope),
            "context" => return self.focus_context(spot),
            "suggestion" => return text::suggestion(f, spot),
            "timeframe" => {
                return [
                    "within the next few weeks",
                    "over the coming months",
                    "someday, still open",
                ][scope.slot % 3]
                    .to_owned();
            }
            _ => {}
        }
        if TITLE_KEYS.contains(&key)
            || key.ends_with("_title")
            || key.ends_with("_type")
            || key == "language"
        {
            return text::title(spot, 0);
        }
        if PHRASE_KEYS.contains(&key) {
            return text::phrase(f, spot, 0);
        }
        if key.starts_with("reflection") {
            return text::reflection(f, spot);
        }
        if key.contains("summary") {
            return text::summary(f, spot);
        }
        if key.starts_with("why") || key == "impact" {
            return text::why(f, spot);
        }
        if key.ends_with("_style")
            || key == "style"
            || key.ends_with("_role")
            || key == "role_in_connection"
            || key == "tone_description"
        {
            return text::style(f, key, i);
        }
        if LEVEL_KEYS.contains(&key)
            || key.ends_with("_status")
            || key.ends_with("_rating")
            || key.ends_with("_level")
            || key.ends_with("_balance")
            || key.ends_with("_tone")
            || key.ends_with("_health")
        {
            return self.level_text(key, scope);
        }
        text::description(f, spot)
    }

    fn focus_context(&self, spot: Spot<'_>) -> String {
        match self.focus.first() {
            Some(q) => text::context(
                self.facts,
                spot,
                &q.message.speaker,
                &q.message.timestamp,
                None,
            ),
            None => text::description(self.facts, spot),
        }
    }

    fn person_for(&self, key: &str, scope: Scope<'_>) -> String {
        let f = self.facts;
        let index = match key {
            "name" | "speaker" => scope.person.unwrap_or(scope.slot),
            "directed_at" => scope.person.unwrap_or(scope.slot) + 1,
            "initiator" | "primary_initiator" => (0..f.people.len())
                .max_by(|&a, &b| f.person(a).initiations.total_cmp(&f.person(b).initiations))
                .unwrap_or(0),
            _ => 0,
        };
        f.person(index).name.clone()
    }

    fn level_text(&self, key: &str, scope: Scope<'_>) -> String {
        let level = self.level(scope.section);
        let ladder: &[&str] = match key {
            "frequency" => &["very frequent", "frequent", "occasional", "rare"],
            "severity" => &["mild", "mild", "moderate", "significant"],
            "intensity" => &["strong", "moderate", "gentle", "gentle"],
            "confidence" => {
                return ["high", "moderate", "low"][match self.facts.excerpt_count {
                    0..=1 => 2,
                    2..=4 => 1,
                    _ => 0,
                }]
                .to_owned();
            }
            k if k.contains("balance") => &["balanced", "slightly uneven", "uneven", "uneven"],
            "stage" => &["established", "established", "growing", "early"],
            "direction" => &["mutual", "mostly mutual", "mostly one-way", "one-way"],
            _ => &["strong", "healthy", "developing", "needs attention"],
        };
        let index = ((1.0 - level) * (ladder.len() - 1) as f64).round() as usize;
        ladder[index.min(ladder.len() - 1)].to_owned()
    }

    fn love_language(&self, scope: Scope<'_>) -> String {
        let f = self.facts;
        let mut scores: Vec<(usize, &str)> = LOVE_LANGUAGES
            .iter()
            .map(|(name, cues)| {
                let hits = f
                    .quotes
                    .iter()
                    .filter(|q| {
                        scope
                            .person
                            .is_none_or(|i| f.person(i).name == q.message.speaker)
                    })
                    .filter(|q| cues.iter().any(|c| lexicon::contains_cue(&q.lower, c)))
                    .count();
                (hits, *name)
            })
            .collect();
        // Stable: ties keep the conventional order of the five languages.
        scores.sort_by_key(|s| std::cmp::Reverse(s.0));
        let missing = scope.section.contains("missing") || scope.section.contains("secondary");
        let rank = scope.slot % scores.len();
        let rank = if missing {
            scores.len() - 1 - rank
        } else {
            rank
        };
        scores[rank].1.to_owned()
    }

    fn strings(&self, key: &str, n: usize, scope: Scope<'_>) -> Vec<String> {
        let f = self.facts;
        let spot = self.spot(scope);
        match key {
            "target" | "target_participants" => text::target_names(f, scope.slot),
            "quieter_members" | "quieter_voices" => {
                let even = 100.0 / f.people.len() as f64;
                (0..f.people.len())
                    .filter(|&i| f.message_share(i) < even * 0.8)
                    .map(|i| f.person(i).name.clone())
                    .take(n.max(1))
                    .collect()
            }
            k if PHRASE_KEYS.contains(&k) => (0..n).map(|j| text::phrase(f, spot, j)).collect(),
            _ => text::labels(spot, n),
        }
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
