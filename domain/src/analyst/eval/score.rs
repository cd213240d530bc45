//! Scoring a provider's answers against the labels: each answer parsed, its labels judged,
//! its quotes checked, and its sentences counted for distinctness.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::{
    Answer, EvalChat, Report,
    checks::{check_quotes, overall_score, reads_as_yes, source},
    report::mean,
    sentences::prose_sentences,
};
use crate::whatsapp;

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
