//! The analyst's tests: the fixtures and helpers shared by the topic files below (the seed
//! insight types, groundings for a given cast, the labelled eval chats).

use std::{collections::HashSet, time::Instant};

use serde_json::{Value, json};

use super::{eval, *};
use crate::{
    catalogue::InsightTypeSpec,
    retrieval::prompt::{Excerpt, ExcerptMessage},
};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

mod content;
mod frontend;
mod validity;

fn insight_types() -> Vec<InsightTypeSpec> {
    let dir = format!("{ROOT}/seed/insight_types");
    let mut specs: Vec<InsightTypeSpec> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            serde_json::from_str(&std::fs::read_to_string(e.unwrap().path()).unwrap()).unwrap()
        })
        .collect();
    specs.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(specs.len(), 24);
    specs
}

fn spec(name: &str) -> InsightTypeSpec {
    insight_types()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap()
}

fn stats(people: &[&str]) -> Value {
    let mut users = serde_json::Map::new();
    for (i, p) in people.iter().enumerate() {
        users.insert((*p).to_owned(), json!({
            "message_count": 400 - i * 90, "word_count": 3000 - i * 500, "avg_words_per_message": 7.5,
            "conversation_initiations": 30 - i * 8, "questions_asked": 60 + i * 5,
            "double_texting_rate": 12.5, "avg_response_time_seconds": 420.0 + i as f64 * 600.0,
            "longest_message": {"word_count": 40, "char_count": 200, "timestamp": "2024-03-02T21:04:00",
                                "message": format!("{p} wrote a long message about the trip and the plan for next week")}
        }));
    }
    json!({"total_messages": 900, "total_days": 60, "messages_per_day_avg": 15.0,
           "date_range": {"start": "2024-01-01T09:00:00", "end": "2024-03-01T22:00:00"},
           "user_stats": users})
}

fn excerpts(people: &[&str]) -> Vec<Excerpt> {
    let lines = [
        "Good morning! How are you feeling today?",
        "Much better, thank you for checking in ❤️",
        "Haha remember that time we missed the train 😂",
        "Let's plan the trip for next weekend, I'll book the tickets",
        "Sorry I snapped yesterday, I was tired. Can we talk tonight?",
        "Of course yaar, no worries. Proud of you for saying it",
        "<Media omitted>",
        "Done, sent the report as promised",
    ];
    (0..5)
        .map(|e| Excerpt {
            chunk_index: e as u32,
            score: 1.0 - e as f32 / 10.0,
            speakers: people.iter().map(|p| (*p).to_owned()).collect(),
            time_span_minutes: 45,
            messages: lines
                .iter()
                .enumerate()
                .map(|(i, l)| ExcerptMessage {
                    speaker: people[(i + e) % people.len()].to_owned(),
                    timestamp: format!("2024-02-{:02} 2{}:0{}", e + 1, i % 4, i),
                    text: format!("{l} ({e})"),
                })
                .collect(),
        })
        .collect()
}

fn grounding(spec: &InsightTypeSpec, people: &[&str], with_excerpts: bool) -> Grounding {
    Grounding {
        insight_type: spec.name.clone(),
        participants: people.iter().map(|p| (*p).to_owned()).collect(),
        statistics: stats(people),
        excerpts: if with_excerpts {
            excerpts(people)
        } else {
            Vec::new()
        },
        keywords: crate::retrieval::split_keywords(&spec.rag_query_keywords),
    }
}

fn assert_valid(spec: &InsightTypeSpec, out: &Value) {
    let validator = jsonschema::validator_for(&spec.response_schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(out)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{}: {errors:#?}\n{out:#}", spec.name);
}

fn eval_chat(name: &str) -> eval::EvalChat {
    let dir = format!("{ROOT}/tests/fixtures/insight-eval");
    eval::EvalChat {
        name: name.to_owned(),
        text: std::fs::read_to_string(format!("{dir}/{name}.txt")).unwrap(),
        labels: serde_json::from_str(
            &std::fs::read_to_string(format!("{dir}/{name}.json")).unwrap(),
        )
        .unwrap(),
    }
}

/// The category's six types for an eval chat, with the groundings production would build.
fn eval_requests(chat: &eval::EvalChat) -> Vec<crate::retrieval::LlmRequest> {
    let categories: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{ROOT}/seed/categories.json")).unwrap(),
    )
    .unwrap();
    let names: Vec<String> = categories
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == chat.labels.category.as_str())
        .unwrap()["insight_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect();
    let types: Vec<InsightTypeSpec> = insight_types()
        .into_iter()
        .filter(|s| names.contains(&s.name))
        .collect();
    eval::requests(chat, &types, 12, 12_000).unwrap()
}
