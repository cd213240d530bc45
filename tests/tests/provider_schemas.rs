//! What the model providers put on the wire for each of the 24 insight types, read back from
//! the fake vendor (`tests/support/fakes.rs`): Gemini gets the schema as `responseJsonSchema`
//! using only keywords Gemini accepts there (`GEMINI_KEYWORDS` below), the OpenAI-compatible
//! provider as a `json_schema` response format; both keep every content key the frontend reads
//! (`tests/fixtures/frontend-shapes.json`) with its shape and as required; and a repair
//! attempt carries the validation problems to the model.

use std::{collections::HashSet, time::Duration};

use relivchats_activities::providers::{
    Gemini, GeminiSettings, OpenAi, OpenAiSettings, RetryPolicy,
};
use relivchats_domain::{
    catalogue::InsightTypeSpec,
    retrieval::{Grounding, Llm, LlmRequest, Repair},
};
use relivchats_tests::fakes::FakeVendor;
use serde_json::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// Gemini's `responseJsonSchema` keywords (from Google's structured-output docs), plus `propertyOrdering`.
const GEMINI_KEYWORDS: [&str; 21] = [
    "$id",
    "$defs",
    "$ref",
    "$anchor",
    "type",
    "format",
    "title",
    "description",
    "enum",
    "items",
    "prefixItems",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "anyOf",
    "oneOf",
    "properties",
    "additionalProperties",
    "required",
    "propertyOrdering",
];

fn spec(name: &str) -> InsightTypeSpec {
    let path = format!("{ROOT}/seed/insight_types/{name}.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn request(spec: &InsightTypeSpec, repair: Option<Repair>) -> LlmRequest {
    LlmRequest {
        schema_name: spec.name.clone(),
        response_schema: spec.response_schema.clone(),
        prompt: format!("Analyse this chat for {}.", spec.name),
        grounding: Grounding {
            insight_type: spec.name.clone(),
            ..Grounding::default()
        },
        repair,
    }
}

fn gemini(fake: &FakeVendor) -> Gemini {
    Gemini::new(GeminiSettings {
        api_key: relivchats_domain::secret::Secret::new("test-key"),
        base_url: fake.address.clone(),
        llm_model: "gemini-2.5-flash".to_owned(),
        embedding_model: "gemini-embedding-001".to_owned(),
        embedding_dimension: 768,
        timeout: Duration::from_secs(10),
        retry: RetryPolicy::default(),
    })
    .unwrap()
}

fn openai(fake: &FakeVendor) -> OpenAi {
    OpenAi::new(OpenAiSettings {
        base_url: fake.openai_base(),
        api_key: None,
        model: "qwen2.5:7b".to_owned(),
        embedding_model: "nomic-embed-text".to_owned(),
        embedding_dimension: 768,
        timeout: Duration::from_secs(10),
        retry: RetryPolicy::default(),
    })
    .unwrap()
}

fn last_request(fake: &FakeVendor) -> Value {
    fake.state.last_llm_request.lock().unwrap().clone().unwrap()
}

/// Keywords of `schema` that Gemini does not accept, with where they are.
fn foreign_keywords(schema: &Value, path: &str, out: &mut Vec<String>) {
    let Some(obj) = schema.as_object() else {
        return;
    };
    for (k, v) in obj {
        if !GEMINI_KEYWORDS.contains(&k.as_str()) {
            out.push(format!("{path}/{k}"));
        }
        match k.as_str() {
            "properties" => {
                for (name, sub) in v.as_object().into_iter().flatten() {
                    foreign_keywords(sub, &format!("{path}/properties/{name}"), out);
                }
            }
            "items" => foreign_keywords(v, &format!("{path}/items"), out),
            _ => {}
        }
    }
}

/// Frontend keys the sent schema lacks, mistypes or leaves optional (shape as in
/// frontend-shapes.json).
fn missing_frontend_keys(shape: &Value, schema: &Value, path: &str, out: &mut Vec<String>) {
    let ty = schema.get("type").and_then(Value::as_str).unwrap_or("");
    match shape {
        Value::String(t) => {
            let ok = if t == "number" {
                ty == "number" || ty == "integer"
            } else {
                ty == t
            };
            if !ok {
                out.push(format!("{path}: {ty} instead of {t}"));
            }
        }
        Value::Array(items) if ty == "array" => {
            missing_frontend_keys(&items[0], &schema["items"], &format!("{path}[]"), out);
        }
        Value::Object(keys) if ty == "object" => {
            let required: HashSet<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for (k, sub) in keys {
                let (name, optional) = k
                    .strip_suffix('?')
                    .map_or((k.as_str(), false), |n| (n, true));
                match schema.pointer(&format!("/properties/{name}")) {
                    Some(s) => {
                        if !optional && !required.contains(name) {
                            out.push(format!("{path}.{name}: optional"));
                        }
                        missing_frontend_keys(sub, s, &format!("{path}.{name}"), out);
                    }
                    None if optional => {}
                    None => out.push(format!("{path}.{name}: missing")),
                }
            }
        }
        _ => out.push(format!("{path}: {ty} instead of {shape}")),
    }
}

fn frontend_shape(name: &str) -> Option<Value> {
    let path = format!("{ROOT}/tests/fixtures/frontend-shapes.json");
    let shapes: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    shapes.get(name).cloned()
}

async fn check_type(name: &str) {
    let spec = spec(name);
    let fake = FakeVendor::start().await;
    let shape = frontend_shape(name);

    // Gemini: the schema itself, as responseJsonSchema, in keywords Gemini accepts.
    let answer = gemini(&fake).generate(&request(&spec, None)).await.unwrap();
    let body = last_request(&fake);
    let config = &body["generationConfig"];
    assert_eq!(config["responseMimeType"], "application/json", "{name}");
    assert!(
        config.get("responseSchema").is_none(),
        "{name}: responseSchema and responseJsonSchema are exclusive"
    );
    let sent = &config["responseJsonSchema"];
    assert_eq!(
        sent, &spec.response_schema,
        "{name}: the schema is sent as seeded"
    );
    let mut foreign = Vec::new();
    foreign_keywords(sent, "", &mut foreign);
    assert!(
        foreign.is_empty(),
        "{name}: Gemini does not accept {foreign:?}"
    );
    let mut missing = Vec::new();
    if let Some(shape) = &shape {
        missing_frontend_keys(shape, sent, "", &mut missing);
    }
    assert!(missing.is_empty(), "{name} (gemini): {missing:?}");
    // The fake answers from the schema it received; that answer is valid against it.
    let content: Value = serde_json::from_str(&answer.text).unwrap();
    let validator = jsonschema::validator_for(&spec.response_schema).unwrap();
    assert!(
        validator.is_valid(&content),
        "{name}: the answer to the sent schema is valid"
    );

    // OpenAI-compatible: a json_schema response format with the same content keys.
    openai(&fake).generate(&request(&spec, None)).await.unwrap();
    let body = last_request(&fake);
    assert_eq!(body["response_format"]["type"], "json_schema", "{name}");
    assert_eq!(body["response_format"]["json_schema"]["name"], name);
    let sent = &body["response_format"]["json_schema"]["schema"];
    let mut missing = Vec::new();
    if let Some(shape) = &shape {
        missing_frontend_keys(shape, sent, "", &mut missing);
    }
    assert!(missing.is_empty(), "{name} (openai): {missing:?}");

    // The repair attempt quotes the problems (where, and which rule) to the model.
    let problem = "at /overall: breaks /properties/overall/required".to_owned();
    let repair = Repair {
        previous_output: "{}".to_owned(),
        problems: vec![problem.clone()],
    };
    gemini(&fake)
        .generate(&request(&spec, Some(repair)))
        .await
        .unwrap();
    let body = last_request(&fake);
    let prompt = body
        .pointer("/contents/0/parts/0/text")
        .and_then(Value::as_str)
        .unwrap();
    assert!(
        prompt.contains("CORRECTION NEEDED") && prompt.contains(&problem),
        "{name}: {prompt}"
    );
}

macro_rules! provider_schema_tests {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            check_type(stringify!($name)).await;
        }
    )*};
}

provider_schema_tests!(
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

/// Every seeded type is covered above.
#[test]
fn all_24_types_are_listed() {
    let n = std::fs::read_dir(format!("{ROOT}/seed/insight_types"))
        .unwrap()
        .count();
    assert_eq!(n, 24);
}
