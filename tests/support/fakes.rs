//! Fake vendor servers speaking Gemini's and the OpenAI-compatible wire formats
//! (`generateContent`/`batchEmbedContents`, `/v1/chat/completions`/`/v1/embeddings`), on a free local port, programmable per call: 503, 429 with a
//! `retryDelay`, a garbled body, output that is not JSON, output that breaks the schema.
//! Counters say how often each endpoint was called. A valid answer is written by the offline
//! analyst from the schema the request carried, so every insight type gets a real answer.

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};
use relivchats_activities::providers::HashedEmbedder;
use relivchats_domain::{analyst, retrieval::Grounding};
use serde_json::{Value, json};

/// What the next model call answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// 503 UNAVAILABLE ("the model is overloaded").
    Overloaded,
    /// 429 RESOURCE_EXHAUSTED with `RetryInfo.retryDelay` of this many seconds.
    RateLimited(u32),
    /// 200 with a body that is not JSON at all.
    GarbledBody,
    /// 200, well-formed envelope, but the model's text is not JSON.
    NotJson,
    /// 200, JSON that violates the schema (an empty object).
    SchemaViolation,
    /// 400 INVALID_ARGUMENT.
    BadRequest,
}

/// Shared state: the script and the counters.
#[derive(Default)]
pub struct FakeState {
    pub llm_calls: AtomicUsize,
    pub embed_calls: AtomicUsize,
    script: Mutex<VecDeque<Reply>>,
    /// The last model request body, for assertions on the wire shape.
    pub last_llm_request: Mutex<Option<Value>>,
}

/// A running fake; dropped with the test runtime.
pub struct FakeVendor {
    /// `http://127.0.0.1:PORT`: the Gemini base, or with `/v1` appended the OpenAI base.
    pub address: String,
    pub state: Arc<FakeState>,
}

impl FakeVendor {
    pub async fn start() -> Self {
        let state = Arc::new(FakeState::default());
        let app = Router::new()
            .route("/v1beta/models/{call}", post(gemini))
            .route("/v1/chat/completions", post(openai_chat))
            .route("/v1/embeddings", post(openai_embeddings))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { address, state }
    }

    /// Queues answers for the next model calls; once used up, calls succeed.
    pub fn script(&self, replies: &[Reply]) {
        self.state
            .script
            .lock()
            .unwrap()
            .extend(replies.iter().copied());
    }

    pub fn llm_calls(&self) -> usize {
        self.state.llm_calls.load(Ordering::SeqCst)
    }

    pub fn embed_calls(&self) -> usize {
        self.state.embed_calls.load(Ordering::SeqCst)
    }

    pub fn openai_base(&self) -> String {
        format!("{}/v1", self.address)
    }
}

fn next_reply(state: &FakeState) -> Option<Reply> {
    state.script.lock().unwrap().pop_front()
}

/// A schema-valid answer for `schema`.
fn answer(schema: &Value) -> String {
    analyst::write_insight(schema, &Grounding::default()).to_string()
}

fn google_error(code: u16, status: &str, message: &str, retry: Option<u32>) -> Response {
    let mut details = vec![json!({"@type": "type.googleapis.com/google.rpc.Help", "links": []})];
    if let Some(s) = retry {
        details.push(json!({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": format!("{s}s")}));
    }
    let body =
        json!({"error": {"code": code, "message": message, "status": status, "details": details}});
    (StatusCode::from_u16(code).unwrap(), Json(body)).into_response()
}

fn openai_error(code: u16, kind: &str, message: &str) -> Response {
    let body = json!({"error": {"message": message, "type": kind, "param": null, "code": null}});
    (StatusCode::from_u16(code).unwrap(), Json(body)).into_response()
}

fn garbled() -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        "{\"candidates\": [",
    )
        .into_response()
}

async fn gemini(
    State(state): State<Arc<FakeState>>,
    Path(call): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if headers.get("x-goog-api-key").is_none() {
        return google_error(
            403,
            "PERMISSION_DENIED",
            "Method doesn't allow unregistered callers.",
            None,
        );
    }
    let Some((model, method)) = call.split_once(':') else {
        return google_error(404, "NOT_FOUND", "no such method", None);
    };
    match method {
        "generateContent" => gemini_generate(&state, model, body),
        "batchEmbedContents" => gemini_embed(&state, body),
        _ => google_error(404, "NOT_FOUND", "no such method", None),
    }
}

fn gemini_generate(state: &FakeState, model: &str, body: Value) -> Response {
    state.llm_calls.fetch_add(1, Ordering::SeqCst);
    *state.last_llm_request.lock().unwrap() = Some(body.clone());
    let schema = body
        .pointer("/generationConfig/responseJsonSchema")
        .cloned()
        .unwrap_or(Value::Null);
    let text = match next_reply(state) {
        Some(Reply::Overloaded) => {
            return google_error(
                503,
                "UNAVAILABLE",
                "The model is overloaded. Please try again later.",
                None,
            );
        }
        Some(Reply::RateLimited(s)) => {
            return google_error(
                429,
                "RESOURCE_EXHAUSTED",
                "You exceeded your current quota.",
                Some(s),
            );
        }
        Some(Reply::BadRequest) => {
            return google_error(
                400,
                "INVALID_ARGUMENT",
                "Invalid JSON payload received.",
                None,
            );
        }
        Some(Reply::GarbledBody) => return garbled(),
        Some(Reply::NotJson) => "Sure! Here is the analysis you asked for.".to_owned(),
        Some(Reply::SchemaViolation) => "{}".to_owned(),
        None => answer(&schema),
    };
    Json(json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 1200, "candidatesTokenCount": 300, "totalTokenCount": 1500},
        "modelVersion": model,
        "responseId": "fake",
    }))
    .into_response()
}

/// Vectors of the requested size, deliberately not unit length (as Gemini's reduced sizes).
fn vector(text: &str, dimension: usize) -> Vec<f32> {
    HashedEmbedder::new(dimension)
        .vector(text)
        .into_iter()
        .map(|x| x * 3.0)
        .collect()
}

fn gemini_embed(state: &FakeState, body: Value) -> Response {
    state.embed_calls.fetch_add(1, Ordering::SeqCst);
    let requests = body
        .get("requests")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if requests.len() > 100 {
        return google_error(
            400,
            "INVALID_ARGUMENT",
            "* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch\n",
            None,
        );
    }
    let embeddings: Vec<Value> = requests
        .iter()
        .map(|r| {
            let text = r
                .pointer("/content/parts/0/text")
                .and_then(Value::as_str)
                .unwrap_or("");
            let dim = r
                .get("outputDimensionality")
                .and_then(Value::as_u64)
                .unwrap_or(3072) as usize;
            json!({"values": vector(text, dim)})
        })
        .collect();
    Json(json!({"embeddings": embeddings})).into_response()
}

async fn openai_chat(State(state): State<Arc<FakeState>>, Json(body): Json<Value>) -> Response {
    state.llm_calls.fetch_add(1, Ordering::SeqCst);
    *state.last_llm_request.lock().unwrap() = Some(body.clone());
    let schema = body
        .pointer("/response_format/json_schema/schema")
        .cloned()
        .unwrap_or(Value::Null);
    let content = match next_reply(&state) {
        Some(Reply::Overloaded) => return openai_error(503, "api_error", "server overloaded"),
        Some(Reply::RateLimited(_)) => {
            return openai_error(429, "rate_limit_error", "too many requests");
        }
        Some(Reply::BadRequest) => {
            return openai_error(400, "invalid_request_error", "bad request");
        }
        Some(Reply::GarbledBody) => return garbled(),
        Some(Reply::NotJson) => "I think they get along well.".to_owned(),
        Some(Reply::SchemaViolation) => "{\"unexpected\": true}".to_owned(),
        None => answer(&schema),
    };
    let model = body.get("model").cloned().unwrap_or(Value::Null);
    Json(json!({
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 1_735_689_600, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 900, "completion_tokens": 250, "total_tokens": 1150},
    }))
    .into_response()
}

async fn openai_embeddings(
    State(state): State<Arc<FakeState>>,
    Json(body): Json<Value>,
) -> Response {
    state.embed_calls.fetch_add(1, Ordering::SeqCst);
    let inputs: Vec<String> = match body.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => return openai_error(400, "invalid_request_error", "input is required"),
    };
    // Answer out of order: clients must use `index`.
    let mut data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"object": "embedding", "embedding": vector(t, 768), "index": i}))
        .collect();
    data.reverse();
    Json(json!({"object": "list", "data": data, "model": body.get("model"), "usage": {"prompt_tokens": 10, "total_tokens": 10}}))
        .into_response()
}
