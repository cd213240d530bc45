//! Metrics around every model call and vector-store operation, whichever provider serves it.
//!
//! Wrapping the trait objects (rather than each client) measures what the activities wait
//! for, retries inside a client included, in one place for every provider. Counts are per
//! call: an activity that Temporal retries calls again and is counted again.

use std::sync::Arc;

use async_trait::async_trait;
use relivchats_domain::retrieval::{
    Llm, LlmRequest, LlmResponse, ProviderError, VectorHit, VectorPoint, VectorQuery, VectorStore,
};
use relivchats_metrics::{Metrics, Timer};
use uuid::Uuid;

/// The `outcome` label of a provider call.
fn outcome<T>(result: &Result<T, ProviderError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) if e.is_retryable() => "retryable",
        Err(_) => "rejected",
    }
}

/// An [`Llm`] whose calls are counted and timed under `provider` (`gemini`, `openai`,
/// `offline`), with the tokens the provider reports.
pub struct MeteredLlm {
    inner: Arc<dyn Llm>,
    provider: &'static str,
    metrics: Arc<Metrics>,
}

impl MeteredLlm {
    pub fn wrap(
        inner: Arc<dyn Llm>,
        provider: &'static str,
        metrics: Arc<Metrics>,
    ) -> Arc<dyn Llm> {
        Arc::new(Self {
            inner,
            provider,
            metrics,
        })
    }
}

#[async_trait]
impl Llm for MeteredLlm {
    fn model(&self) -> &str {
        self.inner.model()
    }

    async fn generate(&self, request: &LlmRequest) -> Result<LlmResponse, ProviderError> {
        let timer = Timer::start();
        let result = self.inner.generate(request).await;
        let (prompt, output) = result
            .as_ref()
            .map_or((0, 0), |r| (r.prompt_tokens, r.output_tokens));
        self.metrics.model_call(
            self.provider,
            outcome(&result),
            timer.elapsed(),
            prompt,
            output,
        );
        result
    }
}

/// A [`VectorStore`] whose operations are timed by store, operation and outcome.
pub struct MeteredStore {
    inner: Arc<dyn VectorStore>,
    metrics: Arc<Metrics>,
}

impl MeteredStore {
    pub fn wrap(inner: Arc<dyn VectorStore>, metrics: Arc<Metrics>) -> Arc<dyn VectorStore> {
        Arc::new(Self { inner, metrics })
    }

    async fn timed<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, ProviderError>>,
    ) -> Result<T, ProviderError> {
        let timer = Timer::start();
        let result = call.await;
        self.metrics.vector_operation(
            self.inner.name(),
            operation,
            outcome(&result),
            timer.elapsed(),
        );
        result
    }
}

#[async_trait]
impl VectorStore for MeteredStore {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn upsert(&self, points: Vec<VectorPoint>) -> Result<(), ProviderError> {
        self.timed("upsert", self.inner.upsert(points)).await
    }

    async fn query(&self, query: VectorQuery) -> Result<Vec<VectorHit>, ProviderError> {
        self.timed("query", self.inner.query(query)).await
    }

    async fn delete_chat(&self, chat_id: Uuid) -> Result<(), ProviderError> {
        self.timed("delete_chat", self.inner.delete_chat(chat_id))
            .await
    }

    async fn count_chat(&self, chat_id: Uuid) -> Result<u64, ProviderError> {
        self.timed("count_chat", self.inner.count_chat(chat_id))
            .await
    }

    async fn ping(&self) -> Result<(), ProviderError> {
        self.timed("ping", self.inner.ping()).await
    }
}
