use std::{collections::HashSet, time::Instant};

use serde_json::{Value, json};

use super::{eval, *};
use crate::{
    catalogue::InsightTypeSpec,
    retrieval::prompt::{Excerpt, ExcerptMessage},
};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

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

#[test]
fn every_insight_type_gets_schema_valid_content() {
    for spec in insight_types() {
        let out = write_insight(
            &spec.response_schema,
            &grounding(&spec, &["Asha", "Ben"], true),
        );
        assert_valid(&spec, &out);
    }
}

#[test]
fn valid_for_group_chats_and_without_excerpts() {
    for spec in insight_types() {
        for people in [&["Asha", "Ben", "Chen", "Dev"][..], &["Asha"][..]] {
            for with_excerpts in [true, false] {
                let out = write_insight(
                    &spec.response_schema,
                    &grounding(&spec, people, with_excerpts),
                );
                assert_valid(&spec, &out);
            }
        }
        // Nothing at all (the fake vendors answer this way): still valid.
        assert_valid(
            &spec,
            &write_insight(&spec.response_schema, &Grounding::default()),
        );
    }
}

#[test]
fn deterministic_and_grounded_in_the_chat() {
    let spec = spec("communication_basics");
    let g = grounding(&spec, &["Asha", "Ben"], true);
    let a = write_insight(&spec.response_schema, &g);
    assert_eq!(a, write_insight(&spec.response_schema, &g));
    // Numbers come from the statistics; names from the participants; quotes from the excerpts.
    assert_eq!(a["initiation_balance"]["participants"][0]["name"], "Asha");
    assert_eq!(
        a["initiation_balance"]["participants"][0]["initiation_count"],
        30
    );
    let quotes: Vec<&str> = a["communication_strengths"][0]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    let all: Vec<String> = g
        .excerpts
        .iter()
        .flat_map(|e| e.messages.iter().map(|m| m.text.clone()))
        .collect();
    assert!(
        quotes.iter().all(|q| all.iter().any(|m| m == q)),
        "{quotes:?}"
    );
    assert!(!quotes.iter().any(|q| q.contains("omitted")));
}

/// `shape` from tests/fixtures/frontend-shapes.json: problems of `v` against it.
fn shape_problems(shape: &Value, v: &Value, path: &str, out: &mut Vec<String>) {
    match shape {
        Value::String(t) => {
            let ok = match t.as_str() {
                "string" => v.is_string(),
                "number" => v.is_number(),
                "boolean" => v.is_boolean(),
                _ => false,
            };
            if !ok {
                out.push(format!("{path}: want {t}, got {v}"));
            }
        }
        Value::Array(items) => match v.as_array() {
            Some(a) => {
                for (i, x) in a.iter().enumerate() {
                    shape_problems(&items[0], x, &format!("{path}[{i}]"), out);
                }
            }
            None => out.push(format!("{path}: want an array, got {v}")),
        },
        Value::Object(keys) => {
            let Some(obj) = v.as_object() else {
                out.push(format!("{path}: want an object, got {v}"));
                return;
            };
            for (k, sub) in keys {
                let (name, optional) = match k.strip_suffix('?') {
                    Some(n) => (n, true),
                    None => (k.as_str(), false),
                };
                match obj.get(name) {
                    Some(x) => shape_problems(sub, x, &format!("{path}.{name}"), out),
                    None if optional => {}
                    None => out.push(format!("{path}.{name}: missing")),
                }
            }
        }
        _ => {}
    }
}

/// The generic evidence shapes every type must keep: an `exchange` is a list of turns under a
/// `context`, and every quote has its message, speaker and timestamp.
fn generic_problems(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(ex) = m.get("exchange") {
                let turns_ok = ex.as_array().is_some_and(|a| {
                    !a.is_empty()
                        && a.iter().all(|t| {
                            ["message", "speaker", "timestamp"]
                                .iter()
                                .all(|k| t.get(k).is_some_and(Value::is_string))
                        })
                });
                if !turns_ok {
                    out.push(format!("{path}.exchange: not a list of turns"));
                }
            }
            if m.contains_key("message")
                && !(m.contains_key("speaker") && m.contains_key("timestamp"))
            {
                out.push(format!("{path}: a quote without speaker or timestamp"));
            }
            for (k, x) in m {
                generic_problems(x, &format!("{path}.{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                generic_problems(x, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// The JSON Schema itself gives every key the frontend reads, with its shape, as required
/// unless the frontend treats it as optional — so a model held to the schema (Gemini,
/// OpenAI-compatible) cannot leave one out either.
fn schema_shape_problems(shape: &Value, schema: &Value, path: &str, out: &mut Vec<String>) {
    let ty = schema.get("type").and_then(Value::as_str).unwrap_or("");
    match shape {
        Value::String(t) => {
            let ok = match t.as_str() {
                "number" => ty == "number" || ty == "integer",
                other => ty == other,
            };
            if !ok {
                out.push(format!("{path}: schema type {ty}, frontend {t}"));
            }
        }
        Value::Array(items) => {
            if ty != "array" {
                out.push(format!("{path}: schema type {ty}, frontend array"));
                return;
            }
            schema_shape_problems(&items[0], &schema["items"], &format!("{path}[]"), out);
        }
        Value::Object(keys) => {
            if ty != "object" {
                out.push(format!("{path}: schema type {ty}, frontend object"));
                return;
            }
            let required: HashSet<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for (k, sub) in keys {
                let (name, optional) = match k.strip_suffix('?') {
                    Some(n) => (n, true),
                    None => (k.as_str(), false),
                };
                match schema.pointer(&format!("/properties/{name}")) {
                    Some(s) => {
                        if !optional && !required.contains(name) {
                            out.push(format!(
                                "{path}.{name}: the frontend needs it, the schema makes it optional"
                            ));
                        }
                        schema_shape_problems(sub, s, &format!("{path}.{name}"), out);
                    }
                    None if optional => {}
                    None => out.push(format!("{path}.{name}: not in the schema")),
                }
            }
        }
        _ => {}
    }
}

fn frontend_shapes() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(format!("{ROOT}/tests/fixtures/frontend-shapes.json")).unwrap(),
    )
    .unwrap()
}

#[test]
fn every_schema_gives_the_frontend_its_keys_and_shapes() {
    let shapes = frontend_shapes();
    let mut checked = 0;
    for spec in insight_types() {
        let mut problems = Vec::new();
        if let Some(shape) = shapes.get(&spec.name) {
            schema_shape_problems(shape, &spec.response_schema, "", &mut problems);
            checked += 1;
        }
        assert!(problems.is_empty(), "{}: {problems:#?}", spec.name);
    }
    assert_eq!(checked, 15, "the frontend renders 15 types");
}

/// One test per type: the analyst's output on several chats (a real 57-message chat, a
/// group, one with no excerpts, one not in English) has the shapes the frontend reads.
macro_rules! frontend_shape_tests {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            check_frontend_shape(stringify!($name));
        }
    )*};
}

fn check_frontend_shape(type_name: &str) {
    let spec = spec(type_name);
    let shapes = frontend_shapes();
    let mut groundings = vec![
        grounding(&spec, &["Asha", "Ben", "Chen", "Dev"], true),
        grounding(&spec, &["Asha", "Ben"], false),
    ];
    for chat in ["romantic_dinner", "hindi_chat", "family_group"] {
        let chat = eval_chat(chat);
        let mut g = eval_requests(&chat)
            .into_iter()
            .next()
            .map(|r| r.grounding)
            .unwrap();
        g.insight_type = spec.name.clone();
        groundings.push(g);
    }
    for g in groundings {
        let out = write_insight(&spec.response_schema, &g);
        assert_valid(&spec, &out);
        let mut problems = Vec::new();
        if let Some(shape) = shapes.get(type_name) {
            shape_problems(shape, &out, "", &mut problems);
        }
        generic_problems(&out, "", &mut problems);
        assert!(problems.is_empty(), "{type_name}: {problems:#?}\n{out:#}");
    }
}

mod frontend_shape {
    use super::check_frontend_shape;
    frontend_shape_tests!(
        communication_basics,
        conflict_resolution,
        emotional_intimacy,
        family_conflict_patterns,
        family_dynamics,
        family_emotional_climate,
        family_generational_bridges,
        family_support_care,
        family_traditions_connection,
        friendship_boundaries_growth,
        friendship_communication_balance,
        friendship_shared_memories,
        friendship_support_dynamics,
        friendship_trust_loyalty,
        friendship_vitality,
        future_planning,
        love_language,
        playfulness_romance,
        workplace_boundaries_wellbeing,
        workplace_collaboration,
        workplace_communication,
        workplace_feedback_recognition,
        workplace_meeting_decisions,
        workplace_relationship_health,
    );
}

/// All sentences of an insight's prose, in order.
fn sentences(v: &Value, key: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, x)| sentences(x, k, out)),
        Value::Array(a) => a.iter().for_each(|x| sentences(x, key, out)),
        Value::String(s) if !["message", "speaker", "timestamp", "name"].contains(&key) => {
            out.extend(eval::split_sentences(s).into_iter().filter(|x| {
                x.split_whitespace().count() >= 3
                    && x.trim_end_matches(['\u{201d}', ')'])
                        .ends_with(['.', '!', '?'])
            }));
        }
        _ => {}
    }
}

/// The example of the issue: a couple's 57 messages with one disagreement about a family
/// dinner, repaired the next morning by Arjun's apology, and a flight price in between.
#[test]
fn the_dinner_disagreement_is_found_repaired_and_quoted() {
    let chat = eval_chat("romantic_dinner");
    let requests = eval_requests(&chat);
    assert_eq!(requests.len(), 6);
    let apology = "I'm sorry about yesterday. I should have asked you before saying yes to Mom";
    let flight = "About 9k each, return";
    for request in &requests {
        let out = write_insight(&request.response_schema, &request.grounding);
        let mut all = Vec::new();
        sentences(&out, "", &mut all);
        let mut seen = HashSet::new();
        let repeated: Vec<&String> = all.iter().filter(|s| !seen.insert(*s)).collect();
        assert!(
            repeated.is_empty(),
            "{}: repeated {repeated:#?}\n{out:#}",
            request.schema_name
        );
        if request.schema_name == "conflict_resolution" {
            assert_eq!(
                out["conflict_presence"]["visible_conflicts"], true,
                "{out:#}"
            );
            let text = out.to_string();
            assert!(text.contains("dinner"), "the dinner is named: {out:#}");
            let repair = &out["repair_recovery"];
            assert!(
                repair["effectiveness"]
                    .as_str()
                    .unwrap()
                    .contains("repaired"),
                "{repair:#}"
            );
            assert_eq!(repair["initiator"], "Arjun");
            let quoted: Vec<(&str, &str)> = repair["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|e| e["exchange"].as_array().unwrap())
                .map(|t| {
                    (
                        t["speaker"].as_str().unwrap(),
                        t["message"].as_str().unwrap(),
                    )
                })
                .collect();
            assert!(
                quoted.contains(&("Arjun", apology)),
                "Arjun's apology is quoted: {quoted:?}"
            );
            // The flight price is not evidence of conflict anywhere.
            for section in [
                "conflict_triggers",
                "destructive_patterns",
                "individual_styles",
                "repair_recovery",
                "stress_communication",
            ] {
                assert!(
                    !out[section].to_string().contains(flight),
                    "{section}: {:#}",
                    out[section]
                );
            }
        }
        if request.schema_name == "emotional_intimacy" {
            assert_eq!(out["conflict"]["conflict_present"], true);
            assert!(!out["conflict"].to_string().contains(flight));
        }
    }
}

/// The labelled set, as `relivchats eval insights` runs it with the offline analyst: the
/// issue's goals, asserted.
#[test]
fn the_labelled_set_meets_the_goals() {
    let dir = format!("{ROOT}/tests/fixtures/insight-eval");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "txt").then(|| p.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    assert!(names.len() >= 12);
    let chats: Vec<eval::EvalChat> = names.iter().map(|n| eval_chat(n)).collect();
    let mut answers = Vec::new();
    for chat in &chats {
        for request in eval_requests(chat) {
            let started = Instant::now();
            let content = write_insight(&request.response_schema, &request.grounding);
            let micros = started.elapsed().as_micros();
            let spec = spec(&request.schema_name);
            assert_valid(&spec, &content);
            answers.push(eval::Answer {
                chat: chat.name.clone(),
                insight_type: request.schema_name.clone(),
                content: Ok(content),
                micros,
            });
        }
    }
    let report = eval::score(MODEL_ID, &chats, &answers);
    println!("{report}");
    assert!(
        report.missed_goals().is_empty(),
        "{:#?}\n{report}",
        report.missed_goals()
    );
}
