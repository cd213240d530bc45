//! Google Gemini over REST (v1beta): `generateContent` with the insight type's JSON schema,
//! and `batchEmbedContents` for `gemini-embedding-001` (Google's v1beta REST reference; the fake
//! in `tests/support/fakes.rs` speaks the same shapes).

use std::time::Duration;

use async_trait::async_trait;
use relivchats_domain::retrieval::{
    EmbedPurpose, Embedder, Llm, LlmRequest, LlmResponse, ProviderError, providers::repair_prompt,
};
use relivchats_domain::secret::Secret;
use serde_json::{Value, json};

use super::http::{self, RetryPolicy};

const PROVIDER: &str = "gemini";
/// `batchEmbedContents` refuses more than 100 requests in one call.
const EMBED_BATCH: usize = 100;
/// The only size Gemini returns normalised; any other dimension is normalised here.
const NATIVE_DIMENSION: usize = 3072;

/// How to reach Gemini.
#[derive(Debug, Clone)]
pub struct GeminiSettings {
    /// Redacted in `Debug`: these settings are printed in start-up errors.
    pub api_key: Secret,
    /// `https://generativelanguage.googleapis.com`, or a local fake in tests.
    pub base_url: String,
    pub llm_model: String,
    pub embedding_model: String,
    pub embedding_dimension: usize,
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

/// One HTTP client for both Gemini endpoints.
#[derive(Debug, Clone)]
pub struct Gemini {
    settings: GeminiSettings,
    http: reqwest::Client,
}

impl Gemini {
    pub fn new(settings: GeminiSettings) -> Result<Self, ProviderError> {
        Ok(Self {
            http: http::client(settings.timeout)?,
            settings,
        })
    }

    fn url(&self, model: &str, method: &str) -> String {
        let model = model.strip_prefix("models/").unwrap_or(model);
        format!(
            "{}/v1beta/models/{model}:{method}",
            self.settings.base_url.trim_end_matches('/')
        )
    }

    async fn post(&self, url: &str, body: &Value) -> Result<Value, ProviderError> {
        http::send_json(PROVIDER, self.settings.retry, || {
            self.http
                .post(url)
                .header("x-goog-api-key", self.settings.api_key.expose())
                .json(body)
        })
        .await
    }

    /// Thinking eats into `maxOutputTokens` and can leave no text at all: Flash models get no
    /// thinking, Pro (which cannot turn it off) a small budget.
    fn thinking_budget(&self, retry: bool) -> i64 {
        match (self.settings.llm_model.contains("pro"), retry) {
            (true, false) => 1024,
            (true, true) => 128,
            (false, _) => 0,
        }
    }

    fn generate_body(&self, request: &LlmRequest, max_output: u32, retry: bool) -> Value {
        let prompt = match &request.repair {
            Some(repair) => repair_prompt(&request.prompt, repair),
            None => request.prompt.clone(),
        };
        json!({
            "systemInstruction": {"parts": [{"text": super::SYSTEM_PROMPT}]},
            "contents": [{"role": "user", "parts": [{"text": prompt}]}],
            "generationConfig": {
                "temperature": 0.4,
                "maxOutputTokens": max_output,
                "responseMimeType": "application/json",
                "responseJsonSchema": request.response_schema,
                "thinkingConfig": {"thinkingBudget": self.thinking_budget(retry)},
            },
        })
    }
}

/// The answer's text (thought parts skipped) and why generation stopped.
fn candidate_text(body: &Value) -> Result<(String, String), ProviderError> {
    if let Some(reason) = body
        .pointer("/promptFeedback/blockReason")
        .and_then(Value::as_str)
    {
        return Err(ProviderError::permanent(
            PROVIDER,
            format!("the prompt was blocked ({reason})"),
        ));
    }
    let candidate = body
        .pointer("/candidates/0")
        .ok_or_else(|| ProviderError::retryable(PROVIDER, "the response has no candidate"))?;
    let text = candidate
        .pointer("/content/parts")
        .and_then(Value::as_array)
        .map(|parts| {
            parts
                .iter()
                .filter(|p| !p.get("thought").and_then(Value::as_bool).unwrap_or(false))
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<String>()
        })
        .unwrap_or_default();
    let finish = candidate
        .get("finishReason")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    Ok((text, finish))
}

fn usage(body: &Value, key: &str) -> u32 {
    body.pointer(&format!("/usageMetadata/{key}"))
        .and_then(Value::as_u64)
        .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
}

#[async_trait]
impl Llm for Gemini {
    fn model(&self) -> &str {
        &self.settings.llm_model
    }

    async fn generate(&self, request: &LlmRequest) -> Result<LlmResponse, ProviderError> {
        let url = self.url(&self.settings.llm_model, "generateContent");
        let mut body = self
            .post(&url, &self.generate_body(request, 16_384, false))
            .await?;
        let (mut text, finish) = candidate_text(&body)?;
        if text.trim().is_empty() && finish == "MAX_TOKENS" {
            // Thinking used the whole budget: once more with thinking cut back and more room.
            body = self
                .post(&url, &self.generate_body(request, 32_768, true))
                .await?;
            text = candidate_text(&body)?.0;
        }
        if text.trim().is_empty() {
            return Err(ProviderError::retryable(
                PROVIDER,
                format!("the model returned no text (finishReason {finish:?})"),
            ));
        }
        Ok(LlmResponse {
            text,
            prompt_tokens: usage(&body, "promptTokenCount"),
            output_tokens: usage(&body, "candidatesTokenCount")
                + usage(&body, "thoughtsTokenCount"),
            model: body
                .get("modelVersion")
                .and_then(Value::as_str)
                .unwrap_or(&self.settings.llm_model)
                .to_owned(),
        })
    }
}

#[async_trait]
impl Embedder for Gemini {
    fn model(&self) -> &str {
        &self.settings.embedding_model
    }

    fn dimension(&self) -> usize {
        self.settings.embedding_dimension
    }

    fn max_batch(&self) -> usize {
        EMBED_BATCH
    }

    async fn embed(
        &self,
        texts: &[String],
        purpose: EmbedPurpose,
    ) -> Result<Vec<Vec<f32>>, ProviderError> {
        let model = self.settings.embedding_model.trim_start_matches("models/");
        let task = match purpose {
            EmbedPurpose::Document => "RETRIEVAL_DOCUMENT",
            EmbedPurpose::Query => "RETRIEVAL_QUERY",
        };
        let url = self.url(model, "batchEmbedContents");
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(EMBED_BATCH) {
            let requests: Vec<Value> = batch
                .iter()
                .map(|t| {
                    json!({
                        "model": format!("models/{model}"),
                        "content": {"parts": [{"text": t}]},
                        "taskType": task,
                        "outputDimensionality": self.settings.embedding_dimension,
                    })
                })
                .collect();
            let body = self.post(&url, &json!({"requests": requests})).await?;
            out.extend(self.vectors(&body, batch.len())?);
        }
        Ok(out)
    }
}

impl Gemini {
    fn vectors(&self, body: &Value, expected: usize) -> Result<Vec<Vec<f32>>, ProviderError> {
        let embeddings = body
            .get("embeddings")
            .and_then(Value::as_array)
            .filter(|e| e.len() == expected)
            .ok_or_else(|| {
                ProviderError::retryable(
                    PROVIDER,
                    "the embedding response does not hold one vector per text",
                )
            })?;
        embeddings
            .iter()
            .map(|e| {
                let values: Vec<f32> = e
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|v| {
                        v.iter()
                            .filter_map(Value::as_f64)
                            .map(|x| x as f32)
                            .collect()
                    })
                    .unwrap_or_default();
                let dim = self.settings.embedding_dimension;
                if values.len() != dim {
                    return Err(ProviderError::permanent(
                        PROVIDER,
                        format!(
                            "the model returned {} dimensions, EMBEDDING_DIMENSION is {dim}",
                            values.len()
                        ),
                    ));
                }
                Ok(if dim == NATIVE_DIMENSION {
                    values
                } else {
                    http::normalise(values)
                })
            })
            .collect()
    }
}
