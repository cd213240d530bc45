//! Implementations of the domain's provider traits: Gemini, OpenAI-compatible servers, the
//! offline embedder and analyst, Qdrant Edge and the Qdrant server. The binary chooses among
//! them by configuration (`app/src/providers.rs`); the activities see only the traits.

pub mod gemini;
pub mod http;
pub mod metered;
pub mod offline;
pub mod openai;
pub mod qdrant_edge;
pub mod qdrant_server;

pub use gemini::{Gemini, GeminiSettings};
pub use http::RetryPolicy;
pub use metered::{MeteredLlm, MeteredStore};
pub use offline::{HashedEmbedder, OfflineAnalyst, analyst_cpu_time};
pub use openai::{OpenAi, OpenAiSettings};
pub use qdrant_edge::{EdgeStore, Maintenance as EdgeMaintenance};
pub use qdrant_server::{QdrantServerSettings, QdrantServerStore};

/// Extra hits fetched beyond the limit, so equal scores at the cut are decided by chunk index.
pub(crate) const TIE_MARGIN: usize = 8;

/// Best first; equal scores in chunk order, so the same query always returns the same chunks
/// (an index search may return ties in any order).
pub(crate) fn stable_ranking(
    mut hits: Vec<relivchats_domain::retrieval::VectorHit>,
    limit: usize,
) -> Vec<relivchats_domain::retrieval::VectorHit> {
    hits.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.chunk_index.cmp(&b.chunk_index))
    });
    hits.truncate(limit);
    hits
}

/// The system instruction sent with every insight prompt: the template carries the task,
/// this only pins the output format.
pub(crate) const SYSTEM_PROMPT: &str = "You analyse WhatsApp conversations for the people in them. \
Answer with one JSON object that matches the given JSON schema exactly: every required key, \
the right types, enum values spelled as listed, and no text outside the JSON.";
