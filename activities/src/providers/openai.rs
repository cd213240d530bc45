//! OpenAI-compatible servers (Ollama, vLLM, llama.cpp's `llama-server`, OpenAI itself):
//! `/chat/completions` with `response_format: json_schema`, and `/embeddings`. The base URL
//! includes the version (`http://localhost:11434/v1`), as in the OpenAI SDKs.

use std::time::Duration;

use async_trait::async_trait;
use relivchats_domain::retrieval::{
    EmbedPurpose, Embedder, Llm, LlmRequest, LlmResponse, ProviderError, providers::repair_prompt,
};
use relivchats_domain::secret::Secret;
use serde_json::{Value, json};

use super::http::{self, RetryPolicy};

const PROVIDER: &str = "openai";
const EMBED_BATCH: usize = 64;

/// How to reach the server.
#[derive(Debug, Clone)]
pub struct OpenAiSettings {
    pub base_url: String,
    /// Optional: Ollama ignores it, vLLM with `--api-key` and OpenAI need it.
    pub api_key: Option<Secret>,
    pub model: String,
    pub embedding_model: String,
    pub embedding_dimension: usize,
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

/// One HTTP client for both endpoints.
#[derive(Debug, Clone)]
pub struct OpenAi {
    settings: OpenAiSettings,
    http: reqwest::Client,
}

impl OpenAi {
    pub fn new(settings: OpenAiSettings) -> Result<Self, ProviderError> {
        Ok(Self {
            http: http::client(settings.timeout)?,
            settings,
        })
    }

    async fn post(&self, path: &str, body: &Value) -> Result<Value, ProviderError> {
        let url = format!("{}/{path}", self.settings.base_url.trim_end_matches('/'));
        http::send_json(PROVIDER, self.settings.retry, || {
            let request = self.http.post(&url).json(body);
            match &self.settings.api_key {
                Some(key) => request.bearer_auth(key.expose()),
                None => request,
            }
        })
        .await
    }
}

/// `propertyOrdering` is Gemini's; strict OpenAI-style validators reject unknown keywords.
fn portable_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| k.as_str() != "propertyOrdering")
                .map(|(k, v)| (k.clone(), portable_schema(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(portable_schema).collect()),
        other => other.clone(),
    }
}

fn count(body: &Value, pointer: &str) -> u32 {
    body.pointer(pointer)
        .and_then(Value::as_u64)
        .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
}

#[async_trait]
impl Llm for OpenAi {
    fn model(&self) -> &str {
        &self.settings.model
    }

    async fn generate(&self, request: &LlmRequest) -> Result<LlmResponse, ProviderError> {
        let prompt = match &request.repair {
            Some(repair) => repair_prompt(&request.prompt, repair),
            None => request.prompt.clone(),
        };
        // Temperature is always sent: Ollama forces 1.0 when it is missing.
        let body = json!({
            "model": self.settings.model,
            "messages": [
                {"role": "system", "content": super::SYSTEM_PROMPT},
                {"role": "user", "content": prompt},
            ],
            "temperature": 0.4,
            "stream": false,
            "response_format": {"type": "json_schema", "json_schema": {
                "name": request.schema_name,
                "strict": false,
                "schema": portable_schema(&request.response_schema),
            }},
        });
        let response = self.post("chat/completions", &body).await?;
        let text = response
            .pointer("/choices/0/message/content")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                ProviderError::retryable(PROVIDER, "the response has no message content")
            })?
            .to_owned();
        Ok(LlmResponse {
            text,
            prompt_tokens: count(&response, "/usage/prompt_tokens"),
            output_tokens: count(&response, "/usage/completion_tokens"),
            model: response
                .get("model")
                .and_then(Value::as_str)
                .unwrap_or(&self.settings.model)
                .to_owned(),
        })
    }
}

#[async_trait]
impl Embedder for OpenAi {
    // The embedder's model is the embedding model, not the chat model the struct is named for.
    #[allow(clippy::misnamed_getters)]
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
        _purpose: EmbedPurpose,
    ) -> Result<Vec<Vec<f32>>, ProviderError> {
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(EMBED_BATCH) {
            let body = json!({"model": self.settings.embedding_model, "input": batch});
            let response = self.post("embeddings", &body).await?;
            out.extend(self.vectors(&response, batch.len())?);
        }
        Ok(out)
    }
}

impl OpenAi {
    fn vectors(&self, response: &Value, expected: usize) -> Result<Vec<Vec<f32>>, ProviderError> {
        let mut data: Vec<&Value> = response
            .get("data")
            .and_then(Value::as_array)
            .filter(|d| d.len() == expected)
            .ok_or_else(|| {
                ProviderError::retryable(
                    PROVIDER,
                    "the embedding response does not hold one vector per text",
                )
            })?
            .iter()
            .collect();
        // Servers may answer out of order; `index` says which input each vector belongs to.
        data.sort_by_key(|d| d.get("index").and_then(Value::as_u64).unwrap_or(0));
        let dim = self.settings.embedding_dimension;
        data.into_iter()
            .map(|d| {
                let v: Vec<f32> = d
                    .get("embedding")
                    .and_then(Value::as_array)
                    .map(|v| {
                        v.iter()
                            .filter_map(Value::as_f64)
                            .map(|x| x as f32)
                            .collect()
                    })
                    .unwrap_or_default();
                if v.len() != dim {
                    return Err(ProviderError::permanent(
                        PROVIDER,
                        format!(
                            "the model returned {} dimensions, EMBEDDING_DIMENSION is {dim}",
                            v.len()
                        ),
                    ));
                }
                Ok(http::normalise(v))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_gemini_only_keywords() {
        let s = json!({"type": "object", "propertyOrdering": ["a"], "properties": {"a": {"type": "array", "items": {"type": "object", "propertyOrdering": []}}}});
        let p = portable_schema(&s);
        assert!(!p.to_string().contains("propertyOrdering"));
        assert_eq!(p["properties"]["a"]["items"]["type"], "object");
    }
}
