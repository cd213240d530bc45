//! The shapes the frontend reads (`tests/fixtures/frontend-shapes.json`): the schemas
//! require them, and the analyst's output has them for every type.

use super::*;

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
