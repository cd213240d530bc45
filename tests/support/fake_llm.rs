//! A programmable OpenAI-compatible `/v1/chat/completions` server for saga tests: it answers
//! each insight type (the `json_schema.name` of the request) with a schema-valid document,
//! or fails it, or answers slowly — and can change its mind while a test runs.

use std::{
    collections::HashSet,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::post};
use serde_json::{Value, json};

#[derive(Default)]
struct Behaviour {
    failing: HashSet<String>,
    delay: Duration,
}

/// The fake model.
#[derive(Clone, Default)]
pub struct FakeLlm {
    behaviour: Arc<Mutex<Behaviour>>,
    calls: Arc<AtomicUsize>,
    arrivals: Arc<Mutex<Vec<(Instant, String)>>>,
    pub base_url: String,
}

impl FakeLlm {
    pub async fn start() -> Self {
        let mut fake = Self::default();
        let router = Router::new()
            .route("/v1/chat/completions", post(complete))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        fake.base_url = format!("http://{addr}/v1");
        fake
    }

    /// These insight types get a 400 (a non-retryable failure) from now on.
    pub fn fail(&self, types: &[&str]) {
        self.behaviour.lock().unwrap().failing = types.iter().map(|t| (*t).to_owned()).collect();
    }

    /// Every answer waits this long first.
    pub fn delay(&self, delay: Duration) {
        self.behaviour.lock().unwrap().delay = delay;
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// When each request arrived, in arrival order.
    pub fn arrivals(&self) -> Vec<Instant> {
        self.arrivals
            .lock()
            .unwrap()
            .iter()
            .map(|(t, _)| *t)
            .collect()
    }

    /// The `model` each request named, in arrival order (processes configured with different
    /// `OPENAI_MODEL`s tell apart who called).
    pub fn models(&self) -> Vec<String> {
        self.arrivals
            .lock()
            .unwrap()
            .iter()
            .map(|(_, m)| m.clone())
            .collect()
    }

    /// Configuration that points the app's LLM at this server.
    pub fn app_vars(&self) -> Vec<(String, String)> {
        vec![
            ("LLM_PROVIDER".into(), "openai".into()),
            ("OPENAI_API_BASE".into(), self.base_url.clone()),
            ("OPENAI_MODEL".into(), "fake-model".into()),
            ("OPENAI_API_KEY".into(), "sk-test".into()),
        ]
    }
}

async fn complete(State(fake): State<FakeLlm>, Json(request): Json<Value>) -> impl IntoResponse {
    fake.calls.fetch_add(1, Ordering::SeqCst);
    let model = request["model"].as_str().unwrap_or_default().to_owned();
    fake.arrivals.lock().unwrap().push((Instant::now(), model));
    let name = request["response_format"]["json_schema"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (failing, delay) = {
        let b = fake.behaviour.lock().unwrap();
        (b.failing.contains(&name), b.delay)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if failing {
        let body = json!({"error": {"message": format!("the model refuses {name}"), "type": "invalid_request_error"}});
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    let schema = &request["response_format"]["json_schema"]["schema"];
    let content = minimal_instance(schema).to_string();
    let body = json!({
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 1_735_689_600, "model": "fake-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
    });
    (StatusCode::OK, Json(body)).into_response()
}

/// The smallest document a JSON schema accepts: required keys only, minimum array lengths,
/// the first enum value, the minimum of numbers.
pub fn minimal_instance(schema: &Value) -> Value {
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    match schema["type"].as_str().unwrap_or("object") {
        "object" => {
            let mut out = serde_json::Map::new();
            for key in schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                out.insert(key.to_owned(), minimal_instance(&schema["properties"][key]));
            }
            Value::Object(out)
        }
        "array" => {
            let n = schema["minItems"].as_u64().unwrap_or(0) as usize;
            Value::Array((0..n).map(|_| minimal_instance(&schema["items"])).collect())
        }
        "integer" => json!(schema["minimum"].as_i64().unwrap_or(0)),
        "number" => json!(schema["minimum"].as_f64().unwrap_or(0.0)),
        "boolean" => json!(false),
        _ => json!("A sentence written by the fake model."),
    }
}
