//! The insight pipeline's activities: `index_chat` and `generate_insight` (contracts in
//! `relivchats_domain::contracts::insights`).
//!
//! The work itself is in [`InsightActivities::run_index_chat`] and
//! [`InsightActivities::run_generate_insight`], which take an optional activity context (for
//! heartbeats) and return an [`InsightFailure`] that says whether Temporal should retry; the
//! activity methods only translate that failure into an `ApplicationFailure` whose *type* is
//! one of `contracts::insights::failure`, so a workflow can tell the reasons apart.

#![allow(unreachable_pub)] // the activity macros emit items the lint cannot see through

mod excerpts;
mod generate;
mod index;

pub use generate::{GenerateError, Generated, generate_valid};
pub use index::STORE_BATCH;

use std::{sync::Arc, time::Duration};

use relivchats_domain::{
    contracts::insights::{
        GenerateInsight, GenerateInsightInput, GenerateInsightOutput, IndexChat, IndexChatInput,
        IndexChatOutput, failure,
    },
    crypto::Cipher,
    retrieval::{Embedder, Llm, ProviderError, VectorStore, chunking::ChunkingOptions},
};
use sqlx::PgPool;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

use crate::failure::ActivityFailure;

/// How often `generate_insight` heartbeats (the workflow's heartbeat timeout is a few times
/// this; the SDK throttles what it sends to the server).
pub const GENERATE_HEARTBEAT_EVERY: Duration = Duration::from_secs(1);

/// The three providers, built once per process and shared (the Edge shard allows one holder).
#[derive(Clone)]
pub struct Providers {
    pub embedder: Arc<dyn Embedder>,
    pub store: Arc<dyn VectorStore>,
    pub llm: Arc<dyn Llm>,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Providers")
            .field("embedder", &self.embedder.model())
            .field("store", &self.store.name())
            .field("llm", &self.llm.model())
            .finish()
    }
}

/// Retrieval and indexing tunables.
#[derive(Debug, Clone, Copy)]
pub struct InsightSettings {
    /// Chunks retrieved per insight (`RAG_TOP_K`).
    pub top_k: usize,
    /// Tokens the whole prompt may use (`RAG_TOKEN_BUDGET`).
    pub token_budget: usize,
    pub chunking: ChunkingOptions,
    /// Messages read per page while indexing.
    pub page_size: i64,
}

impl Default for InsightSettings {
    fn default() -> Self {
        Self {
            top_k: 12,
            token_budget: 12_000,
            chunking: ChunkingOptions::default(),
            page_size: 2_000,
        }
    }
}

/// Why an insight activity failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InsightFailure {
    /// A business outcome that retrying cannot change; `kind` is a `contracts::insights::failure`
    /// name (or [`PROVIDER_REJECTED`]).
    #[error("{kind}: {message}")]
    Final { kind: &'static str, message: String },
    /// Transient (a timeout, 429, 503, a busy database or store): Temporal retries.
    #[error("{message}")]
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
}

/// Failure type of a non-retryable vendor refusal (bad request, bad key, blocked prompt).
pub const PROVIDER_REJECTED: &str = failure::PROVIDER_REJECTED;

impl InsightFailure {
    pub fn fatal(kind: &'static str, message: impl Into<String>) -> Self {
        Self::Final {
            kind,
            message: message.into(),
        }
    }

    pub fn transient(message: impl Into<String>) -> Self {
        Self::Transient {
            message: message.into(),
            retry_after: None,
        }
    }

    /// The failure type a workflow sees (`None` for transient failures).
    pub fn failure_type(&self) -> Option<&'static str> {
        match self {
            Self::Final { kind, .. } => Some(kind),
            Self::Transient { .. } => None,
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }
}

/// Final failures are the activities' business refusals (typed with their kind), transient ones
/// are retried, after the vendor's `retry_after` when it gave one.
impl From<InsightFailure> for ActivityFailure {
    fn from(e: InsightFailure) -> Self {
        match e {
            InsightFailure::Final { kind, message } => Self::Refused { kind, message },
            InsightFailure::Transient {
                message,
                retry_after,
            } => Self::Transient {
                message,
                retry_after,
            },
        }
    }
}

impl From<ProviderError> for InsightFailure {
    fn from(e: ProviderError) -> Self {
        if e.is_retryable() {
            Self::Transient {
                retry_after: e.retry_after,
                message: e.to_string(),
            }
        } else {
            Self::fatal(PROVIDER_REJECTED, e.to_string())
        }
    }
}

impl From<sqlx::Error> for InsightFailure {
    fn from(e: sqlx::Error) -> Self {
        // A deleted chat surfaces as a foreign-key violation on the rows that point at it.
        if let sqlx::Error::Database(db) = &e
            && db.is_foreign_key_violation()
        {
            return Self::fatal(failure::UNKNOWN_CHAT, "the chat was deleted");
        }
        Self::transient(format!("database: {e}"))
    }
}

impl From<relivchats_domain::crypto::CipherError> for InsightFailure {
    fn from(e: relivchats_domain::crypto::CipherError) -> Self {
        Self::fatal(
            failure::UNKNOWN_CHAT,
            format!("the chat is not readable: {e}"),
        )
    }
}

/// The insight activities; they own the pool, the cipher and the providers.
pub struct InsightActivities {
    pool: PgPool,
    cipher: Arc<Cipher>,
    providers: Providers,
    settings: InsightSettings,
}

impl InsightActivities {
    pub fn new(
        pool: PgPool,
        cipher: Arc<Cipher>,
        providers: Providers,
        settings: InsightSettings,
    ) -> Self {
        Self {
            pool,
            cipher,
            providers,
            settings,
        }
    }
}

#[activities]
impl InsightActivities {
    #[activity(definition = IndexChat)]
    pub async fn index_chat(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: IndexChatInput,
    ) -> Result<IndexChatOutput, ActivityError> {
        self.run_index_chat(input, Some(&ctx)).await.map_err(|e| {
            tracing::warn!(error = %e, retryable = e.is_retryable(), "index_chat failed");
            crate::failure::into_activity(e)
        })
    }

    /// Heartbeats while the model works, so that a deadline or an operator's refund, which
    /// cancel the activity, reach it (cancellation travels on heartbeat responses) and the
    /// model call is dropped instead of finishing into a settled job.
    #[activity(definition = GenerateInsight)]
    pub async fn generate_insight(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: GenerateInsightInput,
    ) -> Result<GenerateInsightOutput, ActivityError> {
        let work = self.run_generate_insight(input);
        tokio::pin!(work);
        let mut beat = tokio::time::interval(GENERATE_HEARTBEAT_EVERY);
        let mut beats: u32 = 0;
        loop {
            tokio::select! {
                out = &mut work => {
                    return out.map_err(|e| {
                        tracing::warn!(error = %e, retryable = e.is_retryable(), "generate_insight failed");
                        crate::failure::into_activity(e)
                    });
                }
                () = ctx.cancelled() => {
                    tracing::info!("generate_insight cancelled (the unlock ended); the model call is dropped");
                    return Err(ActivityError::cancelled());
                }
                _ = beat.tick() => {
                    beats += 1;
                    if let Err(e) = ctx.record_heartbeat(beats).await {
                        tracing::warn!(error = %e, "generate_insight heartbeat failed");
                    }
                }
            }
        }
    }
}
