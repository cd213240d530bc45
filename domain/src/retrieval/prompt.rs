//! Prompt assembly: the insight type's template, the statistics it asks for, and as many
//! retrieved excerpts as fit a token budget (the earlier service sent up to 50 chunks with no
//! cap). Having fewer than two excerpts is not an error: the prompt says how little there is.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::chunking::estimate_tokens;
use crate::catalogue::render_prompt;

/// One message of an excerpt, structured so evidence can be quoted exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExcerptMessage {
    pub speaker: String,
    /// As shown in the excerpt: `2024-03-05 21:14`.
    pub timestamp: String,
    pub text: String,
}

/// A retrieved chunk, decrypted, with its score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Excerpt {
    pub chunk_index: u32,
    pub score: f32,
    pub speakers: Vec<String>,
    pub time_span_minutes: i64,
    /// The chunk's messages, overlap context included, in order.
    pub messages: Vec<ExcerptMessage>,
}

impl Excerpt {
    /// The excerpt as the model reads it.
    pub fn render(&self, number: usize) -> String {
        let mut out = format!(
            "--- Excerpt {number} (speakers: {}; {} messages over {}) ---\n",
            self.speakers.join(", "),
            self.messages.len(),
            humanise_minutes(self.time_span_minutes),
        );
        for m in &self.messages {
            let body = m.text.trim_end().replace('\n', "\n    ");
            out.push_str(&format!("[{}] {}: {body}\n", m.timestamp, m.speaker));
        }
        out
    }
}

/// "12 minutes", "3h 20m", "2d 4h": how the earlier service described a chunk's span.
pub fn humanise_minutes(minutes: i64) -> String {
    let minutes = minutes.max(0);
    match minutes {
        m if m < 60 => format!("{m} minutes"),
        m if m < 24 * 60 => format!("{}h {}m", m / 60, m % 60),
        m => format!("{}d {}h", m / (24 * 60), (m / 60) % 24),
    }
}

/// What goes into a prompt.
#[derive(Debug, Clone, Copy)]
pub struct PromptParts<'a> {
    pub template: &'a str,
    pub participants: &'a [String],
    /// The chat's `chat_metadata`.
    pub statistics: &'a Value,
    /// The type's `required_metadata_fields` (empty: a default set).
    pub required_fields: &'a [String],
    /// Retrieved excerpts, best first.
    pub excerpts: &'a [Excerpt],
    /// Tokens the whole prompt may use.
    pub token_budget: usize,
}

/// A rendered prompt and what it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct AssembledPrompt {
    pub text: String,
    /// Indices into `PromptParts::excerpts` that made it in, in the order shown (chronological).
    pub used: Vec<usize>,
    pub estimated_tokens: usize,
}

const DEFAULT_FIELDS: [&str; 4] = [
    "total_messages",
    "total_days",
    "messages_per_day_avg",
    "user_stats",
];
/// Lists inside the statistics are cut to this many entries: the model needs the top, not 50.
const TOP_N: usize = 10;
/// People whose statistics (and names) go into a prompt: the most active ones. A group of
/// hundreds would otherwise spend the whole token budget on per-person numbers (and money on
/// a model call that cannot fit), leaving no room for the conversation itself.
pub const MAX_PEOPLE_IN_PROMPT: usize = 12;
/// Tokens kept back for the data note and rounding.
const RESERVE_TOKENS: usize = 200;

/// Builds the prompt; see the module docs.
pub fn assemble(parts: PromptParts<'_>) -> AssembledPrompt {
    let statistics = statistics_text(parts.statistics, parts.required_fields);
    let mut values = base_values(&parts, &statistics);
    values.insert("excerpts", String::new());
    values.insert("excerpt_count", String::new());
    values.insert("data_note", String::new());
    let fixed = estimate_tokens(&render_prompt(parts.template, &values));
    let mut room = parts.token_budget.saturating_sub(fixed + RESERVE_TOKENS);

    let mut used = Vec::new();
    let mut skipped = 0;
    for (i, excerpt) in parts.excerpts.iter().enumerate() {
        let cost = estimate_tokens(&excerpt.render(i + 1)) + 1;
        if cost <= room {
            room -= cost;
            used.push(i);
        } else {
            skipped += 1;
        }
    }
    // Chronological order reads as a story; the ranking already chose what is in.
    used.sort_by_key(|&i| parts.excerpts[i].chunk_index);
    let excerpts_text = used
        .iter()
        .enumerate()
        .map(|(n, &i)| parts.excerpts[i].render(n + 1))
        .collect::<Vec<_>>()
        .join("\n");
    values.insert(
        "excerpts",
        if used.is_empty() {
            "(no excerpts could be retrieved)".to_owned()
        } else {
            excerpts_text
        },
    );
    values.insert("excerpt_count", used.len().to_string());
    values.insert(
        "data_note",
        data_note(used.len(), skipped, parts.statistics),
    );
    let text = render_prompt(parts.template, &values);
    AssembledPrompt {
        estimated_tokens: estimate_tokens(&text),
        text,
        used,
    }
}

fn base_values<'a>(parts: &PromptParts<'_>, statistics: &str) -> BTreeMap<&'a str, String> {
    let count = |key: &str| {
        parts
            .statistics
            .get(key)
            .and_then(Value::as_i64)
            .unwrap_or(0)
            .to_string()
    };
    BTreeMap::from([
        ("participants", people_text(parts.participants)),
        ("total_messages", count("total_messages")),
        ("total_days", count("total_days")),
        ("statistics", statistics.to_owned()),
    ])
}

/// The first [`MAX_PEOPLE_IN_PROMPT`] names, and how many more there are.
fn people_text(participants: &[String]) -> String {
    let shown = participants.len().min(MAX_PEOPLE_IN_PROMPT);
    let mut text = participants[..shown].join(", ");
    if participants.len() > shown {
        text.push_str(&format!(" and {} others", participants.len() - shown));
    }
    text
}

/// Keeps the [`MAX_PEOPLE_IN_PROMPT`] most active people's statistics and sums up the rest.
fn trim_people(map: &Map<String, Value>) -> Value {
    let messages = |v: &Value| v.get("message_count").and_then(Value::as_i64).unwrap_or(0);
    let mut people: Vec<(&String, &Value)> = map.iter().collect();
    people.sort_by(|a, b| messages(b.1).cmp(&messages(a.1)).then(a.0.cmp(b.0)));
    let mut out: Map<String, Value> = people
        .iter()
        .take(MAX_PEOPLE_IN_PROMPT)
        .map(|(k, v)| ((*k).clone(), trim_value(k, v)))
        .collect();
    let rest = &people[MAX_PEOPLE_IN_PROMPT.min(people.len())..];
    if !rest.is_empty() {
        out.insert(
            "(everyone else)".to_owned(),
            serde_json::json!({
                "people": rest.len(),
                "message_count": rest.iter().map(|(_, v)| messages(v)).sum::<i64>(),
            }),
        );
    }
    Value::Object(out)
}

/// Says plainly when there is little to go on, so the model scales its answer down.
fn data_note(used: usize, skipped: usize, statistics: &Value) -> String {
    let total = statistics
        .get("total_messages")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let mut note = match used {
        0 => "DATA NOTE: no conversation excerpts could be retrieved for this analysis. Rely on the statistics, keep every section short, say that the evidence is thin, and leave optional evidence lists empty.".to_owned(),
        1 => "DATA NOTE: only one conversation excerpt could be retrieved. Treat it as a small window, keep sections short and say where the evidence is thin.".to_owned(),
        _ => String::new(),
    };
    if total > 0 && total < 50 {
        if !note.is_empty() {
            note.push(' ');
        }
        note.push_str(&format!(
            "The whole chat has only {total} messages: scale the depth of the analysis to that."
        ));
    }
    if skipped > 0 {
        if !note.is_empty() {
            note.push(' ');
        }
        note.push_str(&format!(
            "{skipped} further relevant excerpt(s) were left out to keep the prompt within its budget."
        ));
    }
    note
}

/// The statistics the type asks for, as pretty JSON, with long lists cut and message text
/// that is not needed (links, longest messages in full) left out.
pub fn statistics_text(statistics: &Value, required_fields: &[String]) -> String {
    let fields: Vec<&str> = if required_fields.is_empty() {
        DEFAULT_FIELDS.to_vec()
    } else {
        required_fields.iter().map(String::as_str).collect()
    };
    let mut out = Map::new();
    for field in fields {
        if let Some(value) = statistics.get(field) {
            out.insert(field.to_owned(), trim_value(field, value));
        }
    }
    serde_json::to_string_pretty(&Value::Object(out)).unwrap_or_default()
}

fn trim_value(key: &str, value: &Value) -> Value {
    match value {
        Value::Object(map) if key == "user_stats" && map.len() > MAX_PEOPLE_IN_PROMPT => {
            trim_people(map)
        }
        Value::Array(items) if key.starts_with("top_") || key == "links" => {
            Value::Array(items.iter().take(TOP_N).cloned().collect())
        }
        Value::Object(map) if key == "longest_message" => {
            let mut map = map.clone();
            if let Some(Value::String(text)) = map.get_mut("message")
                && text.chars().count() > 200
            {
                *text = format!("{}…", text.chars().take(200).collect::<String>());
            }
            Value::Object(map)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), trim_value(k, v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn excerpt(index: u32, words: usize) -> Excerpt {
        Excerpt {
            chunk_index: index,
            score: 1.0 / (index as f32 + 1.0),
            speakers: vec!["Asha".into(), "Ben".into()],
            time_span_minutes: 90,
            messages: vec![ExcerptMessage {
                speaker: "Asha".into(),
                timestamp: "2024-03-05 08:00".into(),
                text: "word ".repeat(words),
            }],
        }
    }

    fn stats() -> Value {
        json!({"total_messages": 1200, "total_days": 40, "links": [1,2,3],
               "user_stats": {"Asha": {"top_words": (0..50).collect::<Vec<_>>(), "message_count": 600}}})
    }

    const TEMPLATE: &str =
        "People: {participants}\n{statistics}\n({excerpt_count})\n{excerpts}\n{data_note}";

    #[test]
    fn fits_excerpts_under_the_budget_in_chronological_order() {
        let excerpts: Vec<_> = [5, 1, 9, 3].iter().map(|&i| excerpt(i, 200)).collect();
        let participants = vec!["Asha".to_owned(), "Ben".to_owned()];
        let s = stats();
        let parts = PromptParts {
            template: TEMPLATE,
            participants: &participants,
            statistics: &s,
            required_fields: &[],
            excerpts: &excerpts,
            token_budget: 1200,
        };
        let p = assemble(parts);
        assert!(p.estimated_tokens <= 1200, "{}", p.estimated_tokens);
        assert!(!p.used.is_empty() && p.used.len() < 4);
        let order: Vec<u32> = p.used.iter().map(|&i| excerpts[i].chunk_index).collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
        assert!(p.text.contains("left out"), "{}", p.text);
        assert!(
            !p.text.contains("\"links\""),
            "links are not a default field"
        );
    }

    #[test]
    fn thin_data_keeps_the_template_and_says_so() {
        let participants = vec!["Asha".to_owned()];
        let s = json!({"total_messages": 12, "total_days": 1});
        let p = assemble(PromptParts {
            template: TEMPLATE,
            participants: &participants,
            statistics: &s,
            required_fields: &[],
            excerpts: &[excerpt(0, 5)],
            token_budget: 4000,
        });
        assert!(p.text.starts_with("People: Asha"));
        assert!(p.text.contains("(1)"));
        assert!(p.text.contains("only one conversation excerpt"));
        assert!(p.text.contains("only 12 messages"));
    }

    /// A 500-person group costs the prompt twelve people's numbers, not five hundred.
    #[test]
    fn large_groups_are_bounded() {
        let names: Vec<String> = (0..500).map(|i| format!("Person {i:03}")).collect();
        let user_stats: Map<String, Value> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                (
                    n.clone(),
                    json!({"message_count": i, "word_count": i * 3, "top_words": ["a", "b"]}),
                )
            })
            .collect();
        let s = json!({"total_messages": 124750, "total_days": 30, "user_stats": user_stats});
        let text = statistics_text(&s, &["user_stats".to_owned()]);
        let kept: Value = serde_json::from_str(&text).unwrap();
        let kept = kept["user_stats"].as_object().unwrap();
        assert_eq!(kept.len(), MAX_PEOPLE_IN_PROMPT + 1);
        assert!(kept.contains_key("Person 499") && !kept.contains_key("Person 000"));
        assert_eq!(
            kept["(everyone else)"]["people"],
            500 - MAX_PEOPLE_IN_PROMPT
        );
        let excerpts = vec![excerpt(0, 50)];
        let prompt = assemble(PromptParts {
            template: TEMPLATE,
            participants: &names,
            statistics: &s,
            required_fields: &["user_stats".to_owned()],
            excerpts: &excerpts,
            token_budget: 4000,
        });
        assert!(
            prompt.estimated_tokens < 4000,
            "{}",
            prompt.estimated_tokens
        );
        assert_eq!(prompt.used, vec![0], "the excerpt still fits");
        assert!(prompt.text.contains("and 488 others"));
    }

    #[test]
    fn statistics_lists_are_cut() {
        let text = statistics_text(&stats(), &["user_stats".to_owned()]);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v["user_stats"]["Asha"]["top_words"]
                .as_array()
                .unwrap()
                .len(),
            TOP_N
        );
    }

    #[test]
    fn humanises_spans() {
        assert_eq!(humanise_minutes(12), "12 minutes");
        assert_eq!(humanise_minutes(200), "3h 20m");
        assert_eq!(humanise_minutes(3000), "2d 2h");
    }
}
