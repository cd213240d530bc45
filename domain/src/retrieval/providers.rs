//! The three provider interfaces of the retrieval pipeline — [`Embedder`], [`VectorStore`] and
//! [`Llm`] — with their value types and one error type that says whether a failure is worth
//! retrying. Implementations (Gemini, OpenAI-compatible, offline, Qdrant Edge, Qdrant server)
//! live in `activities/src/providers/`; nothing here does I/O.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::prompt::Excerpt;

/// Whether a provider failure can succeed when tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// Timeouts, 429, 5xx, dropped connections, a busy store: try again later.
    Retryable,
    /// Bad request, bad credentials, a dimension mismatch: trying again cannot help.
    Permanent,
}

/// A provider call that failed, classified for the retry policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{provider}: {message}")]
pub struct ProviderError {
    pub class: FailureClass,
    /// Which provider failed (`gemini`, `openai`, `qdrant-edge` …), for logs and failures.
    pub provider: &'static str,
    pub message: String,
    /// How long the vendor asked us to wait (429 `RetryInfo.retryDelay`), if it said.
    pub retry_after: Option<Duration>,
}

impl ProviderError {
    pub fn retryable(provider: &'static str, message: impl Into<String>) -> Self {
        Self {
            class: FailureClass::Retryable,
            provider,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn permanent(provider: &'static str, message: impl Into<String>) -> Self {
        Self {
            class: FailureClass::Permanent,
            provider,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The same failure, with the vendor's requested delay.
    pub fn with_retry_after(mut self, delay: Option<Duration>) -> Self {
        self.retry_after = delay;
        self
    }

    pub fn is_retryable(&self) -> bool {
        self.class == FailureClass::Retryable
    }
}

/// What a text is embedded for: some models embed documents and queries differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbedPurpose {
    Document,
    Query,
}

/// Turns texts into dense vectors of one fixed dimension.
#[async_trait]
pub trait Embedder: Send + Sync {
    /// Model identity (`gemini-embedding-001`, `hashed-ngrams-v1` …), for logs and metadata.
    fn model(&self) -> &str;
    /// Length of every vector this embedder returns; the vector store is created with it.
    fn dimension(&self) -> usize;
    /// Most texts one [`Embedder::embed`] call should carry (Gemini: 100).
    fn max_batch(&self) -> usize;
    /// One vector per text, in order, each `dimension()` long and L2-normalised.
    async fn embed(
        &self,
        texts: &[String],
        purpose: EmbedPurpose,
    ) -> Result<Vec<Vec<f32>>, ProviderError>;
}

/// One chunk's point in the vector store.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorPoint {
    /// Stable per (chat, chunk index), so a re-run overwrites instead of duplicating.
    pub id: Uuid,
    pub chat_id: Uuid,
    pub chunk_index: u32,
    pub dense: Vec<f32>,
    /// The chunk's words, for stores that also index keywords (Qdrant Edge's BM25): its
    /// `chunking::keyword_text`. Stores do not keep it in the payload: the text lives
    /// encrypted in Postgres only.
    pub text: String,
}

/// A similarity search restricted to one chat.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorQuery {
    pub chat_id: Uuid,
    pub dense: Vec<f32>,
    /// The query's words, for keyword (BM25) scoring where the store has it.
    pub text: String,
    pub limit: usize,
}

/// One search result: which chunk, and how well it matched (higher is better; scores are
/// comparable within one query only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorHit {
    pub chunk_index: u32,
    pub score: f32,
}

/// Stores chunk vectors and finds a chat's nearest chunks.
#[async_trait]
pub trait VectorStore: Send + Sync {
    /// `qdrant-edge` or `qdrant`, for health checks and logs.
    fn name(&self) -> &'static str;
    /// Inserts or replaces points; durable when it returns.
    async fn upsert(&self, points: Vec<VectorPoint>) -> Result<(), ProviderError>;
    /// The chat's best chunks, best first, at most `query.limit`.
    async fn query(&self, query: VectorQuery) -> Result<Vec<VectorHit>, ProviderError>;
    /// Removes every point of the chat (a no-op for a chat with none); durable when it returns.
    async fn delete_chat(&self, chat_id: Uuid) -> Result<(), ProviderError>;
    /// Points stored for the chat.
    async fn count_chat(&self, chat_id: Uuid) -> Result<u64, ProviderError>;
    /// Whether the store answers (for `/health/ready`).
    async fn ping(&self) -> Result<(), ProviderError>;
}

/// What the model needs besides the prompt: the facts the prompt was built from, so an engine
/// that does not read prose (the offline analyst) can work from the same material.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grounding {
    /// The insight type's name (`communication_basics` …).
    pub insight_type: String,
    pub participants: Vec<String>,
    /// The chat's statistics (`chat_metadata`).
    pub statistics: Value,
    /// The retrieved excerpts that went into the prompt.
    pub excerpts: Vec<Excerpt>,
    /// The type's retrieval cues (`rag_query_keywords`, split).
    pub keywords: Vec<String>,
}

/// One structured-output request.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmRequest {
    /// Short name of the schema (the insight type), for vendors that want one.
    pub schema_name: String,
    /// The JSON schema the output must satisfy.
    pub response_schema: Value,
    /// The rendered prompt.
    pub prompt: String,
    pub grounding: Grounding,
    /// Set on the repair attempt: what was wrong with the previous output.
    pub repair: Option<Repair>,
}

/// The previous output and why it was rejected, so the model can correct itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Repair {
    pub previous_output: String,
    pub problems: Vec<String>,
}

/// The model's raw answer: JSON text still to be parsed and validated by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmResponse {
    pub text: String,
    pub prompt_tokens: u32,
    pub output_tokens: u32,
    /// The model that answered, as the vendor reported it (or the configured id).
    pub model: String,
}

/// A model that writes JSON for a schema.
#[async_trait]
pub trait Llm: Send + Sync {
    /// The configured model id, recorded as `model_used`.
    fn model(&self) -> &str;
    async fn generate(&self, request: &LlmRequest) -> Result<LlmResponse, ProviderError>;
}

/// Repair instructions appended to the prompt on the second attempt.
pub fn repair_prompt(prompt: &str, repair: &Repair) -> String {
    let mut out = String::with_capacity(prompt.len() + repair.previous_output.len() + 512);
    out.push_str(prompt);
    out.push_str("\n\nCORRECTION NEEDED\nYour previous answer could not be used:\n");
    for p in repair.problems.iter().take(20) {
        out.push_str("- ");
        out.push_str(p);
        out.push('\n');
    }
    out.push_str("Previous answer:\n");
    out.extend(repair.previous_output.chars().take(20_000));
    out.push_str(
        "\n\nReturn the complete JSON object again, corrected so that it matches the schema \
         exactly, with no text before or after it.",
    );
    out
}
