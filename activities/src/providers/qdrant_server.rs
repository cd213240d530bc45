//! A Qdrant server over gRPC (`qdrant-client`), for deployments where the API and the worker
//! are separate processes (Qdrant Edge allows one process per shard). The collection is
//! created on start with the embedder's dimension and cosine distance, plus a keyword index
//! on `chat_id`; upserts wait for the write to apply.

use std::time::Duration;

use async_trait::async_trait;
use qdrant_client::{
    Payload, Qdrant, QdrantError,
    qdrant::{
        Condition, CountPointsBuilder, CreateCollectionBuilder, CreateFieldIndexCollectionBuilder,
        DeletePointsBuilder, Distance, FieldType, Filter, PointStruct, QueryPointsBuilder,
        UpsertPointsBuilder, VectorParamsBuilder,
    },
};
use relivchats_domain::retrieval::{
    ProviderError, VectorHit, VectorPoint, VectorQuery, VectorStore,
};
use relivchats_domain::secret::Secret;
use serde_json::json;
use uuid::Uuid;

const PROVIDER: &str = "qdrant";
/// Points per upsert request: large enough to be quick, small enough for gRPC's 4 MiB default.
const UPSERT_BATCH: usize = 128;

/// How to reach the server.
#[derive(Debug, Clone)]
pub struct QdrantServerSettings {
    /// The gRPC address, e.g. `http://localhost:6334`.
    pub url: String,
    pub api_key: Option<Secret>,
    pub collection: String,
    pub dimension: usize,
    pub timeout: Duration,
}

/// The server-backed vector store.
pub struct QdrantServerStore {
    client: Qdrant,
    collection: String,
}

impl std::fmt::Debug for QdrantServerStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QdrantServerStore")
            .field("collection", &self.collection)
            .finish_non_exhaustive()
    }
}

/// gRPC statuses worth retrying (the server is busy, restarting or slow) vs the rest.
fn classify(e: QdrantError) -> ProviderError {
    use tonic::Code;
    let retryable = match &e {
        QdrantError::ResponseError { status } => matches!(
            status.code(),
            Code::Unavailable
                | Code::DeadlineExceeded
                | Code::ResourceExhausted
                | Code::Aborted
                | Code::Internal
                | Code::Unknown
                | Code::Cancelled
        ),
        QdrantError::ResourceExhaustedError { .. } | QdrantError::Io(_) => true,
        _ => false,
    };
    let delay = match &e {
        QdrantError::ResourceExhaustedError {
            retry_after_seconds,
            ..
        } => Some(Duration::from_secs(*retry_after_seconds)),
        _ => None,
    };
    let message = e.to_string();
    if retryable {
        ProviderError::retryable(PROVIDER, message).with_retry_after(delay)
    } else {
        ProviderError::permanent(PROVIDER, message)
    }
}

fn chat_filter(chat_id: Uuid) -> Filter {
    Filter::must([Condition::matches("chat_id", chat_id.to_string())])
}

impl QdrantServerStore {
    /// Connects and makes sure the collection and its `chat_id` index exist.
    pub async fn connect(settings: QdrantServerSettings) -> Result<Self, ProviderError> {
        let client = Qdrant::from_url(&settings.url)
            .api_key(settings.api_key.as_ref().map(|k| k.expose().to_owned()))
            .timeout(settings.timeout)
            .connect_timeout(Duration::from_secs(10))
            // The compatibility check blocks a thread on a private runtime; `ping` covers it.
            .skip_compatibility_check()
            .build()
            .map_err(|e| ProviderError::permanent(PROVIDER, format!("QDRANT_URL: {e}")))?;
        let store = Self {
            client,
            collection: settings.collection.clone(),
        };
        store.ensure_collection(settings.dimension).await?;
        Ok(store)
    }

    async fn ensure_collection(&self, dimension: usize) -> Result<(), ProviderError> {
        if !self
            .client
            .collection_exists(&self.collection)
            .await
            .map_err(classify)?
        {
            let created = self
                .client
                .create_collection(
                    CreateCollectionBuilder::new(&self.collection).vectors_config(
                        VectorParamsBuilder::new(dimension as u64, Distance::Cosine),
                    ),
                )
                .await;
            // Another process may have created it between the check and the create.
            if let Err(e) = created
                && !self
                    .client
                    .collection_exists(&self.collection)
                    .await
                    .map_err(classify)?
            {
                return Err(classify(e));
            }
        }
        self.client
            .create_field_index(
                CreateFieldIndexCollectionBuilder::new(
                    &self.collection,
                    "chat_id",
                    FieldType::Keyword,
                )
                .wait(true),
            )
            .await
            .map_err(classify)?;
        Ok(())
    }
}

#[async_trait]
impl VectorStore for QdrantServerStore {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    async fn upsert(&self, points: Vec<VectorPoint>) -> Result<(), ProviderError> {
        for batch in points.chunks(UPSERT_BATCH) {
            let structs: Vec<PointStruct> = batch
                .iter()
                .map(|p| {
                    let payload = Payload::try_from(
                        json!({"chat_id": p.chat_id.to_string(), "chunk_index": p.chunk_index}),
                    )
                    .map_err(|e| ProviderError::permanent(PROVIDER, e.to_string()))?;
                    Ok(PointStruct::new(p.id.to_string(), p.dense.clone(), payload))
                })
                .collect::<Result<_, ProviderError>>()?;
            self.client
                .upsert_points(UpsertPointsBuilder::new(&self.collection, structs).wait(true))
                .await
                .map_err(classify)?;
        }
        Ok(())
    }

    async fn query(&self, query: VectorQuery) -> Result<Vec<VectorHit>, ProviderError> {
        let response = self
            .client
            .query(
                QueryPointsBuilder::new(&self.collection)
                    .query(query.dense)
                    .filter(chat_filter(query.chat_id))
                    .limit((query.limit + super::TIE_MARGIN) as u64)
                    .with_payload(true),
            )
            .await
            .map_err(classify)?;
        let hits = response
            .result
            .into_iter()
            .filter_map(|p| {
                let index = p.payload.get("chunk_index")?.as_integer()?;
                Some(VectorHit {
                    chunk_index: u32::try_from(index).ok()?,
                    score: p.score,
                })
            })
            .collect();
        Ok(super::stable_ranking(hits, query.limit))
    }

    async fn delete_chat(&self, chat_id: Uuid) -> Result<(), ProviderError> {
        self.client
            .delete_points(
                DeletePointsBuilder::new(&self.collection)
                    .points(chat_filter(chat_id))
                    .wait(true),
            )
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn count_chat(&self, chat_id: Uuid) -> Result<u64, ProviderError> {
        let response = self
            .client
            .count(
                CountPointsBuilder::new(&self.collection)
                    .filter(chat_filter(chat_id))
                    .exact(true),
            )
            .await
            .map_err(classify)?;
        Ok(response.result.map_or(0, |r| r.count))
    }

    async fn ping(&self) -> Result<(), ProviderError> {
        self.client.health_check().await.map_err(classify)?;
        Ok(())
    }
}
