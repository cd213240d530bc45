//! Which retrieval and model providers run, read from the same variables as the rest of the
//! configuration (documented in `.env.example`), and built once per process: the Qdrant Edge
//! shard admits one holder, so `serve` shares one store between the API and the worker.

use std::{collections::HashMap, path::Path, sync::Arc, time::Duration};

use anyhow::{Context, bail};
use futures::future::BoxFuture;
use relivchats_activities::{
    InsightSettings, Providers,
    providers::{
        EdgeStore, Gemini, GeminiSettings, HashedEmbedder, MeteredLlm, MeteredStore,
        OfflineAnalyst, OpenAi, OpenAiSettings, QdrantServerSettings, QdrantServerStore,
        RetryPolicy,
    },
};
use relivchats_api::{DependencyCheck, auth::Secret};
use relivchats_domain::retrieval::{Embedder, Llm, VectorStore};

/// Which LLM writes insights (`LLM_PROVIDER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LlmProvider {
    Offline,
    Gemini,
    OpenAi,
}

impl LlmProvider {
    /// The `provider` label of the model-call metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Offline => "offline",
            Self::Gemini => "gemini",
            Self::OpenAi => "openai",
        }
    }
}

/// Which embedder makes vectors (`EMBEDDING_PROVIDER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbeddingProvider {
    Offline,
    Gemini,
    OpenAi,
}

/// Where vectors live (`VECTOR_STORE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorStoreKind {
    /// Qdrant Edge, in-process, under `DATA_DIR/qdrant`.
    Edge,
    /// A Qdrant server at `QDRANT_URL`.
    Qdrant,
}

/// The provider part of [`crate::Config`].
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub llm: LlmProvider,
    pub embedding: EmbeddingProvider,
    pub vector_store: VectorStoreKind,
    pub gemini_api_key: Option<Secret>,
    pub gemini_api_base: String,
    pub gemini_llm_model: String,
    pub gemini_embedding_model: String,
    pub embedding_dimension: usize,
    pub openai_api_base: String,
    pub openai_api_key: Option<Secret>,
    pub openai_model: Option<String>,
    pub openai_embedding_model: Option<String>,
    pub qdrant_url: Option<String>,
    pub qdrant_api_key: Option<Secret>,
    pub qdrant_collection: String,
    pub rag_top_k: usize,
    pub rag_token_budget: usize,
}

impl ProviderConfig {
    /// Reads the provider variables; fails with a sentence naming the variable at fault.
    pub fn from_vars(vars: &HashMap<String, String>) -> anyhow::Result<Self> {
        let get = |key: &str| crate::config::lookup(vars, key);
        let llm = match get("LLM_PROVIDER").as_deref().unwrap_or("offline") {
            "offline" => LlmProvider::Offline,
            "gemini" => LlmProvider::Gemini,
            "openai" => LlmProvider::OpenAi,
            other => bail!("LLM_PROVIDER must be 'offline', 'gemini' or 'openai', not {other:?}"),
        };
        let embedding = match get("EMBEDDING_PROVIDER").as_deref().unwrap_or("offline") {
            "offline" => EmbeddingProvider::Offline,
            "gemini" => EmbeddingProvider::Gemini,
            "openai" => EmbeddingProvider::OpenAi,
            other => {
                bail!("EMBEDDING_PROVIDER must be 'offline', 'gemini' or 'openai', not {other:?}")
            }
        };
        let vector_store = match get("VECTOR_STORE").as_deref().unwrap_or("edge") {
            "edge" => VectorStoreKind::Edge,
            "qdrant" => VectorStoreKind::Qdrant,
            other => bail!("VECTOR_STORE must be 'edge' or 'qdrant', not {other:?}"),
        };
        let default_dimension = match embedding {
            EmbeddingProvider::Offline => 384,
            EmbeddingProvider::Gemini | EmbeddingProvider::OpenAi => 768,
        };
        let config = Self {
            llm,
            embedding,
            vector_store,
            gemini_api_key: get("GEMINI_API_KEY").map(Secret::new),
            gemini_api_base: get("GEMINI_API_BASE")
                .unwrap_or_else(|| "https://generativelanguage.googleapis.com".to_owned()),
            gemini_llm_model: get("GEMINI_LLM_MODEL")
                .unwrap_or_else(|| "gemini-2.5-flash".to_owned()),
            gemini_embedding_model: get("GEMINI_EMBEDDING_MODEL")
                .unwrap_or_else(|| "gemini-embedding-001".to_owned()),
            embedding_dimension: crate::config::parse_num(
                get("EMBEDDING_DIMENSION"),
                default_dimension,
                "EMBEDDING_DIMENSION",
            )?,
            openai_api_base: get("OPENAI_API_BASE")
                .unwrap_or_else(|| "http://localhost:11434/v1".to_owned()),
            openai_api_key: get("OPENAI_API_KEY").map(Secret::new),
            openai_model: get("OPENAI_MODEL"),
            openai_embedding_model: get("OPENAI_EMBEDDING_MODEL"),
            qdrant_url: get("QDRANT_URL"),
            qdrant_api_key: get("QDRANT_API_KEY").map(Secret::new),
            qdrant_collection: get("QDRANT_COLLECTION")
                .unwrap_or_else(|| "relivchats_chunks".to_owned()),
            rag_top_k: crate::config::parse_num(get("RAG_TOP_K"), 12, "RAG_TOP_K")?,
            rag_token_budget: crate::config::parse_num(
                get("RAG_TOKEN_BUDGET"),
                12_000,
                "RAG_TOKEN_BUDGET",
            )?,
        };
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> anyhow::Result<()> {
        let gemini = self.llm == LlmProvider::Gemini || self.embedding == EmbeddingProvider::Gemini;
        if gemini && self.gemini_api_key.is_none() {
            bail!("GEMINI_API_KEY must be set when LLM_PROVIDER or EMBEDDING_PROVIDER is 'gemini'");
        }
        if self.llm == LlmProvider::OpenAi && self.openai_model.is_none() {
            bail!("OPENAI_MODEL must be set when LLM_PROVIDER=openai (e.g. qwen2.5:7b for Ollama)");
        }
        if self.embedding == EmbeddingProvider::OpenAi && self.openai_embedding_model.is_none() {
            bail!(
                "OPENAI_EMBEDDING_MODEL must be set when EMBEDDING_PROVIDER=openai (e.g. nomic-embed-text)"
            );
        }
        if self.vector_store == VectorStoreKind::Qdrant && self.qdrant_url.is_none() {
            bail!(
                "QDRANT_URL must be set when VECTOR_STORE=qdrant (the gRPC address, e.g. http://localhost:6334)"
            );
        }
        if !(1..=100).contains(&self.rag_top_k) {
            bail!("RAG_TOP_K must be between 1 and 100");
        }
        if !(1_000..=1_000_000).contains(&self.rag_token_budget) {
            bail!("RAG_TOKEN_BUDGET must be between 1000 and 1000000 tokens");
        }
        if !(16..=8192).contains(&self.embedding_dimension) {
            bail!("EMBEDDING_DIMENSION must be between 16 and 8192");
        }
        Ok(())
    }

    /// The activities' retrieval settings.
    pub fn insight_settings(&self) -> InsightSettings {
        InsightSettings {
            top_k: self.rag_top_k,
            token_budget: self.rag_token_budget,
            ..InsightSettings::default()
        }
    }

    fn gemini(&self) -> anyhow::Result<Gemini> {
        Ok(Gemini::new(GeminiSettings {
            api_key: self
                .gemini_api_key
                .clone()
                .unwrap_or_else(|| Secret::new("")),
            base_url: self.gemini_api_base.clone(),
            llm_model: self.gemini_llm_model.clone(),
            embedding_model: self.gemini_embedding_model.clone(),
            embedding_dimension: self.embedding_dimension,
            timeout: Duration::from_secs(90),
            retry: RetryPolicy::default(),
        })?)
    }

    fn openai(&self) -> anyhow::Result<OpenAi> {
        Ok(OpenAi::new(OpenAiSettings {
            base_url: self.openai_api_base.clone(),
            api_key: self.openai_api_key.clone(),
            model: self.openai_model.clone().unwrap_or_default(),
            embedding_model: self.openai_embedding_model.clone().unwrap_or_default(),
            embedding_dimension: self.embedding_dimension,
            timeout: Duration::from_secs(90),
            retry: RetryPolicy::default(),
        })?)
    }

    /// The configured model alone (no store, no embedder): `relivchats eval insights`.
    pub fn llm(&self) -> anyhow::Result<Arc<dyn Llm>> {
        Ok(match self.llm {
            LlmProvider::Offline => Arc::new(OfflineAnalyst),
            LlmProvider::Gemini => Arc::new(self.gemini()?),
            LlmProvider::OpenAi => Arc::new(self.openai()?),
        })
    }

    /// Builds the providers. Call once per process (see the module docs).
    pub async fn build(&self, data_dir: &Path) -> anyhow::Result<Providers> {
        let embedder: Arc<dyn Embedder> = match self.embedding {
            EmbeddingProvider::Offline => Arc::new(HashedEmbedder::new(self.embedding_dimension)),
            EmbeddingProvider::Gemini => Arc::new(self.gemini()?),
            EmbeddingProvider::OpenAi => Arc::new(self.openai()?),
        };
        let llm = self.llm()?;
        let store: Arc<dyn VectorStore> = match self.vector_store {
            VectorStoreKind::Edge => {
                let dir = data_dir.join("qdrant");
                let dimension = self.embedding_dimension;
                let store =
                    tokio::task::spawn_blocking(move || EdgeStore::open(&dir, dimension)).await??;
                Arc::new(store)
            }
            VectorStoreKind::Qdrant => Arc::new(
                QdrantServerStore::connect(QdrantServerSettings {
                    url: self.qdrant_url.clone().context("QDRANT_URL")?,
                    api_key: self.qdrant_api_key.clone(),
                    collection: self.qdrant_collection.clone(),
                    dimension: self.embedding_dimension,
                    timeout: Duration::from_secs(30),
                })
                .await?,
            ),
        };
        tracing::info!(
            embedder = embedder.model(),
            store = store.name(),
            llm = llm.model(),
            "providers ready"
        );
        Ok(Providers {
            embedder,
            store,
            llm,
        })
    }
}

/// Builds the providers for a process that runs the API, the worker or both (`with_worker`
/// false: the API alone). Qdrant Edge lets one process hold its shard, and in a split
/// deployment that process is the worker, so an API-only process with `VECTOR_STORE=edge` is
/// refused: it could neither answer `/api/rag/query` nor remove a deleted chat's vectors.
/// Model calls and vector-store operations are measured into `metrics`.
pub async fn build_for(
    config: &crate::Config,
    with_worker: bool,
    metrics: &Arc<relivchats_metrics::Metrics>,
) -> anyhow::Result<Providers> {
    if !with_worker && config.providers.vector_store == VectorStoreKind::Edge {
        bail!(
            "`relivchats api` cannot use VECTOR_STORE=edge: Qdrant Edge keeps vectors inside one process, which in a split deployment is the worker. Run `relivchats serve` (API and worker together), or set VECTOR_STORE=qdrant and QDRANT_URL for separate api and worker processes."
        );
    }
    let built = config.providers.build(&config.data_dir).await?;
    Ok(Providers {
        llm: MeteredLlm::wrap(built.llm, config.providers.llm.as_str(), metrics.clone()),
        store: MeteredStore::wrap(built.store, metrics.clone()),
        embedder: built.embedder,
    })
}

/// `/health/ready` entry for the vector store.
pub struct VectorStoreCheck(pub Arc<dyn VectorStore>);

impl DependencyCheck for VectorStoreCheck {
    fn name(&self) -> &'static str {
        "vector_store"
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move { self.0.ping().await.map_err(|e| e.to_string()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::map as vars;

    #[test]
    fn defaults_are_offline_and_embedded() {
        let c = ProviderConfig::from_vars(&HashMap::new()).unwrap();
        assert_eq!(
            (c.llm, c.embedding, c.vector_store),
            (
                LlmProvider::Offline,
                EmbeddingProvider::Offline,
                VectorStoreKind::Edge
            )
        );
        assert_eq!(
            (c.embedding_dimension, c.rag_top_k, c.rag_token_budget),
            (384, 12, 12_000)
        );
    }

    #[test]
    fn vendors_need_their_settings() {
        let e = ProviderConfig::from_vars(&vars(&[("LLM_PROVIDER", "gemini")])).unwrap_err();
        assert!(e.to_string().contains("GEMINI_API_KEY"), "{e}");
        let e = ProviderConfig::from_vars(&vars(&[("LLM_PROVIDER", "openai")])).unwrap_err();
        assert!(e.to_string().contains("OPENAI_MODEL"), "{e}");
        let e = ProviderConfig::from_vars(&vars(&[("VECTOR_STORE", "qdrant")])).unwrap_err();
        assert!(e.to_string().contains("QDRANT_URL"), "{e}");
        let e = ProviderConfig::from_vars(&vars(&[("LLM_PROVIDER", "claude")])).unwrap_err();
        assert!(e.to_string().contains("LLM_PROVIDER"), "{e}");
        let c = ProviderConfig::from_vars(&vars(&[
            ("EMBEDDING_PROVIDER", "gemini"),
            ("GEMINI_API_KEY", "k"),
        ]))
        .unwrap();
        assert_eq!(c.embedding_dimension, 768);
    }
}
