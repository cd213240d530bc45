//! Retrieval: chunking a chat, assembling prompts under a token budget, and the provider
//! interfaces (embedder, vector store, LLM) that the activities implement.

pub mod chunking;
pub mod prompt;
pub mod providers;

pub use providers::{
    EmbedPurpose, Embedder, FailureClass, Grounding, Llm, LlmRequest, LlmResponse, ProviderError,
    Repair, VectorHit, VectorPoint, VectorQuery, VectorStore,
};

/// Point ids are derived from (chat, chunk index), so re-indexing overwrites points instead of
/// adding duplicates, whichever store holds them.
pub fn point_id(chat_id: uuid::Uuid, chunk_index: u32) -> uuid::Uuid {
    uuid::Uuid::new_v5(&chat_id, format!("chunk:{chunk_index}").as_bytes())
}

/// Splits a type's `rag_query_keywords` (comma-separated cues) into trimmed cues.
pub fn split_keywords(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect()
}
