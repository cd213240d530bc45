//! The insight evaluation behind `relivchats eval insights`: labelled chats in, the requests a
//! provider answers, and a report of how the answers compare with a careful reader's labels
//! (label accuracy, evidence fidelity and placement, distinct sentences, time per insight).
//!
//! Pure: the caller reads the files and calls the provider. Retrieval here ranks a chat's
//! chunks by how many of the type's cue words they mention (the keyword side of the hybrid
//! search) and keeps the top `top_k`; the labelled chats are small enough that every chunk
//! usually makes it in, so the ranking barely matters.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    fmt,
};

use serde::Deserialize;
use serde_json::Value;

use crate::{
    catalogue::InsightTypeSpec,
    retrieval::{
        Grounding, LlmRequest,
        chunking::{ChatFacts, ChunkingOptions, SourceMessage, chunk_all},
        prompt::{self, Excerpt, ExcerptMessage, PromptParts},
        split_keywords,
    },
    whatsapp,
};

/// What a careful reader says about one chat (see `tests/fixtures/insight-eval/README.md`).
#[derive(Debug, Clone, Deserialize)]
pub struct ChatLabels {
    pub category: String,
    #[serde(default = "yes")]
    pub judgeable: bool,
    #[serde(default)]
    pub about: String,
    pub labels: Labels,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Labels {
    pub conflict: Option<bool>,
    pub repaired: Option<bool>,
    pub initiator: Option<String>,
    pub appreciation: Option<BTreeMap<String, Option<String>>>,
    pub plans_made: Option<bool>,
    pub plans_kept: Option<bool>,
    pub tone: Option<String>,
}

/// One labelled chat: its export text and labels.
#[derive(Debug, Clone)]
pub struct EvalChat {
    pub name: String,
    pub text: String,
    pub labels: ChatLabels,
}

/// One provider answer for one (chat, insight type), already validated against the schema.
#[derive(Debug, Clone)]
pub struct Answer {
    pub chat: String,
    pub insight_type: String,
    /// `Err` holds why there is no valid content (provider error, schema violation).
    pub content: Result<Value, String>,
    /// Wall time of the provider call.
    pub micros: u128,
}

/// The requests for one chat: one per insight type of its category, built as production
/// builds them (statistics, chunking, retrieval, prompt under the budget).
pub fn requests(
    chat: &EvalChat,
    types: &[InsightTypeSpec],
    top_k: usize,
    token_budget: usize,
) -> Result<Vec<LlmRequest>, String> {
    let parsed = whatsapp::parse(&chat.text);
    whatsapp::ensure_chat(&parsed).map_err(|e| format!("{}: {e}", chat.name))?;
    let statistics = serde_json::to_value(whatsapp::chat_metadata(&parsed))
        .map_err(|e| format!("{}: {e}", chat.name))?;
    let participants = parsed.participants.clone();
    let messages: Vec<SourceMessage> = parsed
        .iter()
        .enumerate()
        .map(|(i, m)| SourceMessage {
            id: uuid::Uuid::from_u128(i as u128 + 1),
            seq: i as i64,
            sender: m.author.map(str::to_owned),
            content: m.text.to_owned(),
            timestamp: m.timestamp,
        })
        .collect();
    let by_seq: HashMap<i64, &SourceMessage> = messages.iter().map(|m| (m.seq, m)).collect();
    let chunks = chunk_all(
        ChunkingOptions::default(),
        ChatFacts {
            participant_count: participants.len(),
            is_group_chat: participants.len() > 2,
            platform: "whatsapp".to_owned(),
        },
        messages.iter().cloned(),
    );
    let mut out = Vec::new();
    for spec in types {
        if !spec.allows_participants(participants.len() as i32) {
            continue;
        }
        let keywords = split_keywords(&spec.rag_query_keywords);
        let cues: Vec<String> = keywords.iter().map(|k| k.to_lowercase()).collect();
        let mut ranked: Vec<(usize, usize)> = chunks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let text = c.text.to_lowercase();
                (cues.iter().filter(|k| text.contains(k.as_str())).count(), i)
            })
            .collect();
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let excerpts: Vec<Excerpt> = ranked
            .iter()
            .take(top_k)
            .map(|&(hits, i)| {
                let c = &chunks[i];
                let from = c.metadata.first_seq - c.metadata.overlap_messages as i64;
                Excerpt {
                    chunk_index: c.index,
                    score: hits as f32,
                    speakers: c.metadata.speakers.clone(),
                    time_span_minutes: c.metadata.time_span_minutes,
                    messages: (from..=c.metadata.last_seq)
                        .filter_map(|s| by_seq.get(&s))
                        .map(|m| ExcerptMessage {
                            speaker: m.sender.clone().unwrap_or_else(|| "WhatsApp".to_owned()),
                            timestamp: m.timestamp.format("%Y-%m-%d %H:%M").to_string(),
                            text: m.content.clone(),
                        })
                        .collect(),
                }
            })
            .collect();
        let assembled = prompt::assemble(PromptParts {
            template: &spec.prompt_template,
            participants: &participants,
            statistics: &statistics,
            required_fields: &spec.required_metadata_fields,
            excerpts: &excerpts,
            token_budget,
        });
        let used: Vec<Excerpt> = assembled
            .used
            .iter()
            .map(|&i| excerpts[i].clone())
            .collect();
        out.push(LlmRequest {
            schema_name: spec.name.clone(),
            response_schema: spec.response_schema.clone(),
            prompt: assembled.text,
            grounding: Grounding {
                insight_type: spec.name.clone(),
                participants: participants.clone(),
                statistics: statistics.clone(),
                excerpts: used,
                keywords,
            },
            repair: None,
        });
    }
    Ok(out)
}

/// Figures for one provider run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub provider: String,
    pub chats: usize,
    pub insights: usize,
    pub failed: Vec<String>,
    pub labels_right: usize,
    pub labels_total: usize,
    /// Label misses, "chat: label expected … got …".
    pub misses: Vec<String>,
    pub quotes: usize,
    pub quotes_verbatim: usize,
    pub fidelity_misses: Vec<String>,
    pub placed: usize,
    pub placed_right: usize,
    pub placement_misses: Vec<String>,
    /// Mean over insights of distinct/total sentences inside one insight.
    pub distinct_inside: f64,
    /// Mean over (chat, category) of distinct/total sentences across its insights.
    pub distinct_across: f64,
    pub sentences: usize,
    pub micros_total: u128,
    pub micros_max: u128,
}

impl Report {
    pub fn accuracy(&self) -> f64 {
        ratio(self.labels_right, self.labels_total)
    }
    pub fn fidelity(&self) -> f64 {
        ratio(self.quotes_verbatim, self.quotes)
    }
    pub fn placement(&self) -> f64 {
        ratio(self.placed_right, self.placed)
    }
    pub fn micros_per_insight(&self) -> f64 {
        if self.insights == 0 {
            0.0
        } else {
            self.micros_total as f64 / self.insights as f64
        }
    }

    /// The goals, as a list of the ones missed (empty: all met).
    pub fn missed_goals(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.failed.is_empty() {
            out.push(format!(
                "{} insights failed: {:?}",
                self.failed.len(),
                self.failed
            ));
        }
        if self.accuracy() < 0.85 {
            out.push(format!(
                "label accuracy {:.1}% < 85%",
                self.accuracy() * 100.0
            ));
        }
        if self.quotes_verbatim < self.quotes {
            out.push(format!(
                "evidence fidelity {:.1}% < 100%",
                self.fidelity() * 100.0
            ));
        }
        if self.placed_right < self.placed {
            out.push(format!(
                "evidence placement {:.1}% < 100%",
                self.placement() * 100.0
            ));
        }
        if self.distinct_inside < 0.95 {
            out.push(format!(
                "distinct sentences inside an insight {:.1}% < 95%",
                self.distinct_inside * 100.0
            ));
        }
        if self.distinct_across < 0.80 {
            out.push(format!(
                "distinct sentences across a category {:.1}% < 80%",
                self.distinct_across * 100.0
            ));
        }
        out
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "provider: {}", self.provider)?;
        writeln!(
            f,
            "chats: {}, insights: {} ({} failed)",
            self.chats,
            self.insights,
            self.failed.len()
        )?;
        writeln!(
            f,
            "label accuracy: {:.1}% ({}/{})",
            self.accuracy() * 100.0,
            self.labels_right,
            self.labels_total
        )?;
        writeln!(
            f,
            "evidence fidelity: {:.1}% ({}/{} quotes verbatim, right speaker and time)",
            self.fidelity() * 100.0,
            self.quotes_verbatim,
            self.quotes
        )?;
        writeln!(
            f,
            "evidence placement: {:.1}% ({}/{} quotes under a participant are theirs)",
            self.placement() * 100.0,
            self.placed_right,
            self.placed
        )?;
        writeln!(
            f,
            "distinct sentences: {:.1}% inside an insight, {:.1}% across a category ({} sentences)",
            self.distinct_inside * 100.0,
            self.distinct_across * 100.0,
            self.sentences
        )?;
        writeln!(
            f,
            "time per insight: {:.0} µs mean, {} µs max",
            self.micros_per_insight(),
            self.micros_max
        )?;
        for m in self
            .misses
            .iter()
            .chain(&self.fidelity_misses)
            .chain(&self.placement_misses)
        {
            writeln!(f, "  miss: {m}")?;
        }
        for m in &self.failed {
            writeln!(f, "  failed: {m}")?;
        }
        Ok(())
    }
}

/// Scores a run: `answers` for `chats` (whose requests they answer).
pub fn score(provider: &str, chats: &[EvalChat], answers: &[Answer]) -> Report {
    let mut r = Report {
        provider: provider.to_owned(),
        chats: chats.len(),
        ..Report::default()
    };
    let mut inside = Vec::new();
    let mut across = Vec::new();
    for chat in chats {
        let mine: Vec<&Answer> = answers.iter().filter(|a| a.chat == chat.name).collect();
        let parsed = whatsapp::parse(&chat.text);
        let messages: HashSet<(String, String, String)> = parsed
            .iter()
            .filter_map(|m| {
                Some((
                    m.author?.to_owned(),
                    m.timestamp.format("%Y-%m-%d %H:%M").to_string(),
                    m.text.trim().to_owned(),
                ))
            })
            .collect();
        let mut contents: HashMap<&str, &Value> = HashMap::new();
        let mut category_sentences: Vec<String> = Vec::new();
        for a in &mine {
            r.insights += 1;
            r.micros_total += a.micros;
            r.micros_max = r.micros_max.max(a.micros);
            let content = match &a.content {
                Ok(c) => c,
                Err(e) => {
                    r.failed.push(format!("{}/{}: {e}", a.chat, a.insight_type));
                    continue;
                }
            };
            contents.insert(&a.insight_type, content);
            let mut sentences = Vec::new();
            prose_sentences(content, "", &mut sentences);
            // A chat too thin to judge should say "not enough to say" everywhere: repeating
            // that is right, so only judgeable chats count towards distinct sentences.
            if !chat.labels.judgeable {
                sentences.clear();
            }
            r.sentences += sentences.len();
            if !sentences.is_empty() {
                let distinct: HashSet<&String> = sentences.iter().collect();
                inside.push(distinct.len() as f64 / sentences.len() as f64);
            }
            category_sentences.extend(sentences);
            let where_ = format!("{}/{}", a.chat, a.insight_type);
            check_quotes(content, "", None, &messages, &where_, &mut r);
        }
        if !category_sentences.is_empty() {
            let distinct: HashSet<&String> = category_sentences.iter().collect();
            across.push(distinct.len() as f64 / category_sentences.len() as f64);
        }
        judge(chat, &contents, &mut r);
    }
    r.distinct_inside = mean(&inside);
    r.distinct_across = mean(&across);
    r
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        1.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Keys whose strings are not prose: quotes, names, short labels.
const NOT_PROSE: [&str; 4] = ["message", "speaker", "timestamp", "name"];

/// The sentences of every prose string (two or more words ending in . ! or ?).
fn prose_sentences(v: &Value, key: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                prose_sentences(v, k, out);
            }
        }
        Value::Array(a) => {
            for v in a {
                prose_sentences(v, key, out);
            }
        }
        Value::String(s) if !NOT_PROSE.contains(&key) => {
            for sentence in split_sentences(s) {
                // Labels ("short, quick messages") are not sentences; prose ends with . ! ?
                let ends = sentence
                    .trim_end_matches(['\u{201d}', ')'])
                    .ends_with(['.', '!', '?']);
                if ends && sentence.split_whitespace().count() >= 3 {
                    out.push(sentence);
                }
            }
        }
        _ => {}
    }
}

/// Sentences: split after `.`, `!` or `?` followed by a space, outside quotation marks.
pub(crate) fn split_sentences(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        current.push(c);
        match c {
            '\u{201c}' => quoted = true,
            '\u{201d}' => quoted = false,
            '.' | '!' | '?' if !quoted && chars.get(i + 1).is_none_or(|n| n.is_whitespace()) => {
                let t = current.trim().to_owned();
                if !t.is_empty() {
                    out.push(t);
                }
                current.clear();
            }
            _ => {}
        }
    }
    let t = current.trim().to_owned();
    if !t.is_empty() {
        out.push(t);
    }
    out
}

/// Every `{message, speaker, timestamp}` must be a message of the chat (fidelity); one under
/// a participant (an object with a `name`) must be theirs, and an exchange under one must
/// include them (placement).
fn check_quotes(
    v: &Value,
    key: &str,
    owner: Option<&str>,
    messages: &HashSet<(String, String, String)>,
    where_: &str,
    r: &mut Report,
) {
    match v {
        Value::Object(m) => {
            if let (Some(Value::String(msg)), Some(Value::String(who)), Some(Value::String(ts))) =
                (m.get("message"), m.get("speaker"), m.get("timestamp"))
            {
                r.quotes += 1;
                if messages.contains(&(who.clone(), ts.clone(), msg.trim().to_owned())) {
                    r.quotes_verbatim += 1;
                } else {
                    r.fidelity_misses.push(format!(
                        "{where_}: not in the chat as quoted: [{ts}] {who}: {msg}"
                    ));
                }
                if let Some(owner) = owner
                    && key != "exchange"
                {
                    r.placed += 1;
                    if owner == who {
                        r.placed_right += 1;
                    } else {
                        r.placement_misses
                            .push(format!("{where_}: {who}'s message under {owner}"));
                    }
                }
                return;
            }
            let owner = match m.get("name") {
                Some(Value::String(n)) => Some(n.as_str()),
                _ => owner,
            };
            for (k, child) in m {
                if k == "exchange"
                    && let (Some(owner), Value::Array(turns)) = (owner, child)
                {
                    r.placed += 1;
                    let theirs = turns
                        .iter()
                        .any(|t| t.get("speaker").and_then(Value::as_str) == Some(owner));
                    if theirs {
                        r.placed_right += 1;
                    } else {
                        r.placement_misses.push(format!(
                            "{where_}: an exchange without {owner} under {owner}"
                        ));
                    }
                }
                check_quotes(child, k, owner, messages, where_, r);
            }
        }
        Value::Array(a) => {
            for child in a {
                check_quotes(child, key, owner, messages, where_, r);
            }
        }
        _ => {}
    }
}

/// Where each label is read from, by category: (insight type, JSON pointer).
fn source(category: &str, label: &str) -> Option<(&'static str, &'static str)> {
    Some(match (category, label) {
        ("romantic", "conflict") => (
            "conflict_resolution",
            "/conflict_presence/visible_conflicts",
        ),
        ("romantic", "repaired") => ("conflict_resolution", "/repair_recovery/effectiveness"),
        ("romantic", "plans_made") => ("playfulness_romance", "/fun_activities/discussed"),
        ("romantic", "plans_kept") => ("future_planning", "/timelines/concrete_vs_vague"),
        ("friendship", "conflict") => (
            "friendship_boundaries_growth",
            "/disagreement_handling/present",
        ),
        ("friendship", "repaired") => (
            "friendship_boundaries_growth",
            "/accountability/apologies_present",
        ),
        ("friendship", "initiator") => (
            "friendship_vitality",
            "/initiation_balance/primary_initiator",
        ),
        ("friendship", "plans_made") => {
            ("friendship_shared_memories", "/memory_making/plans_present")
        }
        ("friendship", "plans_kept") => (
            "friendship_vitality",
            "/shared_activities/follow_through_assessment",
        ),
        ("family", "conflict") => ("family_conflict_patterns", "/conflict_presence/level"),
        ("family", "repaired") => (
            "family_conflict_patterns",
            "/conflict_resolution/effectiveness",
        ),
        ("family", "plans_made") => (
            "family_traditions_connection",
            "/gatherings_plans/discussed",
        ),
        ("workplace", "conflict") => (
            "workplace_meeting_decisions",
            "/disagreement_handling/present",
        ),
        ("workplace", "initiator") => (
            "workplace_communication",
            "/information_flow/proactive_participant",
        ),
        ("workplace", "plans_made") => ("workplace_meeting_decisions", "/action_items/tracked"),
        ("workplace", "plans_kept") => ("workplace_collaboration", "/follow_through/rating"),
        _ => return None,
    })
}

/// Reads a rating string as yes/no: a "no"-like phrase wins over a "yes"-like word.
fn reads_as_yes(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => {
            let l = s.to_lowercase();
            let first = l.split(|c: char| !c.is_alphanumeric()).next().unwrap_or("");
            let no_first = [
                "none",
                "no",
                "not",
                "never",
                "unrepaired",
                "ineffective",
                "dropped",
                "absent",
            ];
            let no_phrase = [
                "not yet",
                "fell through",
                "not enough",
                "unrepaired",
                "mostly open",
                "still open",
                "no plans",
                "not repaired",
                "not kept",
                "not carried",
            ];
            let yes = [
                "effective",
                "repaired",
                "kept",
                "carried out",
                "followed through",
                "seen through",
                "reliable",
                "strong",
                "healthy",
                "high",
                "rare",
                "occasional",
                "frequent",
                "moderate",
                "present",
                "yes",
                "concrete",
            ];
            if no_first.contains(&first) || no_phrase.iter().any(|w| l.contains(w)) {
                Some(false)
            } else if yes.iter().any(|w| l.contains(w)) {
                Some(true)
            } else {
                None
            }
        }
        _ => None,
    }
}

fn overall_score(v: &Value) -> Option<f64> {
    [
        "/overall/score",
        "/overall_health_assessment/score",
        "/overall_intimacy_assessment/score",
    ]
    .iter()
    .find_map(|p| v.pointer(p).and_then(Value::as_f64))
}

fn judge(chat: &EvalChat, contents: &HashMap<&str, &Value>, r: &mut Report) {
    let cat = chat.labels.category.as_str();
    let l = &chat.labels.labels;
    let judgeable = chat.labels.judgeable;
    let mut check = |label: &str, expected: Option<String>, got: Option<String>| {
        // A chat not to be judged: right when nothing is claimed.
        let expected = if judgeable || label == "initiator" {
            expected
        } else {
            Some("no claim".to_owned())
        };
        let Some(expected) = expected else { return };
        r.labels_total += 1;
        let got = got.unwrap_or_else(|| "nothing".to_owned());
        if got == expected {
            r.labels_right += 1;
        } else {
            r.misses.push(format!(
                "{}: {label} expected {expected}, got {got}",
                chat.name
            ));
        }
    };
    let read = |label: &str| -> Option<&Value> {
        let (t, p) = source(cat, label)?;
        contents.get(t)?.pointer(p)
    };
    let claim = |v: Option<bool>| match v {
        Some(true) => "yes".to_owned(),
        _ if !judgeable => "no claim".to_owned(),
        Some(false) => "no".to_owned(),
        None => "unreadable".to_owned(),
    };
    let yn = |b: Option<bool>| b.map(|b| if b { "yes".to_owned() } else { "no".to_owned() });
    if source(cat, "conflict").is_some() {
        check(
            "conflict",
            yn(l.conflict),
            Some(claim(read("conflict").and_then(reads_as_yes))),
        );
    }
    if l.conflict == Some(true) && source(cat, "repaired").is_some() {
        check(
            "repaired",
            yn(l.repaired),
            Some(claim(read("repaired").and_then(reads_as_yes))),
        );
    }
    if source(cat, "plans_made").is_some() {
        check(
            "plans_made",
            yn(l.plans_made),
            Some(claim(read("plans_made").and_then(reads_as_yes))),
        );
    }
    if l.plans_made == Some(true) && source(cat, "plans_kept").is_some() {
        check(
            "plans_kept",
            yn(l.plans_kept),
            Some(claim(read("plans_kept").and_then(reads_as_yes))),
        );
    }
    // Who starts conversations: the named field, else communication_basics' counts.
    let initiator = read("initiator")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            let parts = contents
                .get("communication_basics")?
                .pointer("/initiation_balance/participants")?
                .as_array()?;
            parts
                .iter()
                .max_by(|a, b| {
                    let n = |v: &Value| {
                        v.get("initiation_count")
                            .and_then(Value::as_f64)
                            .unwrap_or(0.0)
                    };
                    n(a).total_cmp(&n(b))
                })
                .and_then(|p| p.get("name")?.as_str().map(str::to_owned))
        });
    if source(cat, "initiator").is_some() || contents.contains_key("communication_basics") {
        check("initiator", l.initiator.clone(), initiator);
    }
    if let (Some(appreciation), Some(love)) = (&l.appreciation, contents.get("love_language")) {
        for (person, language) in appreciation {
            let got = love
                .pointer("/primary_languages/participants")
                .and_then(Value::as_array)
                .and_then(|ps| {
                    ps.iter()
                        .find(|p| p.get("name").and_then(Value::as_str) == Some(person))
                })
                .and_then(|p| p.get("language").and_then(Value::as_str))
                .map(|s| s.to_lowercase());
            let got = match got {
                Some(g) if g.contains("not enough") => Some("not enough to say".to_owned()),
                Some(g) if !judgeable => Some(g),
                g => g,
            };
            let expected = Some(
                language
                    .clone()
                    .unwrap_or_else(|| "not enough to say".to_owned()),
            );
            let expected = if judgeable {
                expected
            } else {
                Some("not enough to say".to_owned())
            };
            let e = expected.clone().unwrap_or_default();
            r.labels_total += 1;
            if got.as_deref() == Some(e.as_str()) {
                r.labels_right += 1;
            } else {
                r.misses.push(format!(
                    "{}: {person}'s love language expected {e}, got {}",
                    chat.name,
                    got.unwrap_or_default()
                ));
            }
        }
    }
    let scores: Vec<f64> = contents.values().filter_map(|c| overall_score(c)).collect();
    if !scores.is_empty() {
        let m = scores.iter().sum::<f64>() / scores.len() as f64;
        let tone = if m >= 6.5 {
            "warm"
        } else if m <= 4.5 {
            "tense"
        } else {
            "neutral"
        };
        let expected = if judgeable {
            l.tone.clone()
        } else {
            Some("neutral".to_owned())
        };
        let Some(expected) = expected else { return };
        r.labels_total += 1;
        if tone == expected {
            r.labels_right += 1;
        } else {
            r.misses.push(format!(
                "{}: tone expected {expected}, got {tone} (mean score {m:.1})",
                chat.name
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_split_outside_quotes() {
        assert_eq!(
            split_sentences("On 12 March, Priya said \u{201c}No. Stop.\u{201d} Then it ended. Ok!"),
            vec![
                "On 12 March, Priya said \u{201c}No. Stop.\u{201d} Then it ended.",
                "Ok!"
            ]
        );
    }

    #[test]
    fn ratings_read_as_yes_or_no() {
        assert_eq!(
            reads_as_yes(&Value::from("effective: repaired")),
            Some(true)
        );
        assert_eq!(
            reads_as_yes(&Value::from("not yet effective: unrepaired")),
            Some(false)
        );
        assert_eq!(reads_as_yes(&Value::from("none")), Some(false));
        assert_eq!(reads_as_yes(&Value::from("mostly open plans")), Some(false));
        assert_eq!(
            reads_as_yes(&Value::from("concrete, with plans carried out")),
            Some(true)
        );
    }
}
