//! Contracts of the insight activities the unlock saga calls: index a chat, generate one
//! insight. Implemented in `activities/src/insights.rs`.

#![allow(unreachable_pub)] // the activity macro emits a private marker module; re-exported below

use serde::{Deserialize, Serialize};
use temporalio_macros::activity_definitions;
use temporalio_sdk::activities::ActivityError;
use uuid::Uuid;

/// `index_chat`: chunk, embed and upsert a chat's messages. Idempotent: a chat already indexed
/// is skipped; a re-run after a crash replaces the chat's points instead of duplicating them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexChatInput {
    pub chat_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexChatOutput {
    pub chunk_count: u32,
    /// True when the chat was already indexed and nothing was done.
    pub skipped: bool,
}

/// `generate_insight`: one insight type for one chat — retrieve, prompt, call the model,
/// validate against the type's schema, store the content (encrypted) and its metrics.
/// Idempotent: an insight already `completed` is returned as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerateInsightInput {
    pub chat_id: Uuid,
    pub insight_type_id: Uuid,
    /// The job (unlock) this generation belongs to, recorded on the insight row.
    #[serde(default)]
    pub job_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerateInsightOutput {
    pub insight_id: Uuid,
    pub tokens_used: u32,
    pub generation_time_ms: u64,
    pub chunks_used: u32,
    pub model_used: String,
}

/// Failure types of non-retryable `ApplicationFailure`s, so a workflow can tell them apart.
pub mod failure {
    /// The chat does not exist (deleted mid-unlock) or is not readable.
    pub const UNKNOWN_CHAT: &str = "UnknownChat";
    /// The insight type does not accept a chat of this size (e.g. a group chat).
    pub const NOT_ALLOWED: &str = "InsightNotAllowed";
    /// The model's output still violates the schema after the repair attempt.
    pub const SCHEMA_VIOLATION: &str = "SchemaViolation";
    /// The ledger has no reservation of this id.
    pub const UNKNOWN_RESERVATION: &str = "UnknownReservation";
    /// The user's available coins do not cover the reservation.
    pub const INSUFFICIENT_CREDITS: &str = "InsufficientCredits";
    /// The model vendor refused the request for good (bad request, bad key, blocked prompt).
    pub const PROVIDER_REJECTED: &str = "ProviderRejected";
}

/// Activities of the insight pipeline.
pub struct InsightContracts;

#[activity_definitions]
impl InsightContracts {
    #[activity(name = "index_chat")]
    pub fn index_chat(input: IndexChatInput) -> Result<IndexChatOutput, ActivityError> {
        unimplemented!()
    }

    #[activity(name = "generate_insight")]
    pub fn generate_insight(
        input: GenerateInsightInput,
    ) -> Result<GenerateInsightOutput, ActivityError> {
        unimplemented!()
    }
}

pub use insight_contracts::{GenerateInsight, IndexChat};
