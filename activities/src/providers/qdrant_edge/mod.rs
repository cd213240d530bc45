//! Qdrant Edge (`qdrant-edge` 0.7.2): an in-process shard under `DATA_DIR/qdrant`, with a
//! dense vector and a BM25 sparse vector per chunk, fused at query time (RRF).
//!
//! What 0.7.2 demands (read from its sources): it never replays its WAL, so every write
//! batch is flushed before it is acknowledged; `flush` panics if another thread is inside
//! `update`, so all writes go through one writer thread; and one process holds the directory
//! (a file lock), so one `EdgeStore` is built per process and shared through `Arc`. The API is
//! synchronous: reads run on the blocking pool.
//!
//! The writer commits in groups: it applies every write waiting in its queue, flushes once
//! (a flush is several `fsync`s, tens of milliseconds), then acknowledges them all. Under
//! concurrent indexing that turns one flush per batch into one flush per group.
//!
//! Edge never optimizes by itself. Left alone, every point stays in one appendable segment,
//! whose in-memory BM25 posting lists re-walk a whole list on each insert (`PostingList::upsert`
//! propagates its max weight to the list's start): indexing cost then grows with everything
//! ever stored, and was the largest single cost of an unlock. So after every [`OPTIMIZE_EVERY_POINTS`]
//! written, the writer runs the optimizer, which turns the appendable segment into an
//! immutable one (compact posting lists) and starts a fresh one. Dense vectors get no HNSW
//! graph (`m = 0`): every query is filtered to one chat, whose few hundred points the planner
//! scans exactly, so a graph would cost CPU and never be used. (The BM25 side gets chunk lines
//! without their timestamps, `chunking::keyword_text`, which keeps those lists shorter still.)

use std::{
    path::{Path, PathBuf},
    sync::{Arc, mpsc},
    thread::JoinHandle,
};

use async_trait::async_trait;
use qdrant_edge::{
    Condition, CountRequest, CreateIndex, Distance, EdgeConfigBuilder, EdgeOptimizersConfig,
    EdgeShard, EdgeSparseVectorParamsBuilder, EdgeVectorParamsBuilder, FieldCondition,
    FieldIndexOperations, Filter, Fusion, JsonPath, Match, Modifier, NamedQuery, NamedVectors,
    PayloadFieldSchema, PayloadSchemaType, PointId, PointInsertOperations, PointOperations,
    PointStruct, Prefetch, QueryEnum, QueryRequest, ScoringQuery, UpdateOperation, VectorInternal,
    WithPayloadInterface, WithVector,
    bm25_embed::{EdgeBm25, EdgeBm25Config},
};
use relivchats_domain::retrieval::{
    ProviderError, VectorHit, VectorPoint, VectorQuery, VectorStore,
};
use serde_json::json;
use uuid::Uuid;

mod writer;

use writer::{Write, writer_loop};

const PROVIDER: &str = "qdrant-edge";
const DENSE: &str = "dense";
const SPARSE: &str = "bm25";
/// Each side of the hybrid query fetches this many times the final limit before fusion.
const PREFETCH_FACTOR: usize = 4;
/// Points written between two optimizer runs (about three 10k-message chats): small enough
/// that the appendable segment's posting lists stay short, large enough that the optimizer's
/// own cost (rewriting the segment) is a small share of indexing.
pub const OPTIMIZE_EVERY_POINTS: usize = 2_000;
/// Segments the optimizer keeps before merging the smallest ones.
const TARGET_SEGMENTS: usize = 8;

/// When the writer runs the optimizer; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Maintenance {
    /// After this many points written (the default: [`OPTIMIZE_EVERY_POINTS`]).
    EveryPoints(usize),
    /// Never: Edge's own behaviour, kept for the benchmark's baseline.
    Never,
}

impl Default for Maintenance {
    fn default() -> Self {
        Self::EveryPoints(OPTIMIZE_EVERY_POINTS)
    }
}

/// The embedded vector store; see the module docs.
pub struct EdgeStore {
    shard: Arc<EdgeShard>,
    /// The writer thread's queue (`None` once dropped, which stops it).
    writes: Option<mpsc::Sender<Write>>,
    /// Joined on drop, so the shard's directory is free again when the store is gone.
    writer: Option<JoinHandle<()>>,
    bm25: Arc<EdgeBm25>,
    path: PathBuf,
}

impl Drop for EdgeStore {
    fn drop(&mut self) {
        self.writes = None;
        if let Some(handle) = self.writer.take() {
            let _ = handle.join();
        }
    }
}

impl std::fmt::Debug for EdgeStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn service(e: impl std::fmt::Display) -> ProviderError {
    ProviderError::retryable(PROVIDER, e.to_string())
}

/// BM25 settings shared by documents and queries; `avg_len` is near our chunks' length.
fn bm25_config() -> EdgeBm25Config {
    let mut config = EdgeBm25Config::default();
    if let Ok(v) = ordered_float_from(300.0) {
        config.avg_len = v;
    }
    config
}

fn ordered_float_from(v: f64) -> Result<qdrant_edge::external::ordered_float::NotNan<f64>, ()> {
    qdrant_edge::external::ordered_float::NotNan::new(v).map_err(|_| ())
}

fn chat_filter(chat_id: Uuid) -> Result<Filter, ProviderError> {
    let path = JsonPath::try_from("chat_id").map_err(|()| service("bad payload path"))?;
    Ok(Filter::new_must(Condition::Field(
        FieldCondition::new_match(path, Match::from(chat_id.to_string())),
    )))
}

fn nearest(query: VectorInternal, using: &str) -> ScoringQuery {
    ScoringQuery::Vector(QueryEnum::Nearest(NamedQuery {
        query,
        using: Some(using.to_owned()),
    }))
}

impl EdgeStore {
    /// Opens the shard under `dir` (creating it, with its `chat_id` index, the first time).
    /// Fails if another process holds it, or if it was made for another dimension.
    pub fn open(dir: &Path, dimension: usize) -> Result<Self, ProviderError> {
        Self::open_with(dir, dimension, Maintenance::default())
    }

    /// [`EdgeStore::open`] with a chosen optimizer cadence.
    pub fn open_with(
        dir: &Path,
        dimension: usize,
        maintenance: Maintenance,
    ) -> Result<Self, ProviderError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            ProviderError::permanent(PROVIDER, format!("cannot create {}: {e}", dir.display()))
        })?;
        let shard = if dir.join("edge_config.json").exists() {
            let shard = EdgeShard::load(dir, None).map_err(|e| open_error(dir, e))?;
            check_dimension(&shard, dimension, dir)?;
            shard
        } else {
            let config = EdgeConfigBuilder::new()
                .vector(
                    DENSE,
                    EdgeVectorParamsBuilder::new(dimension, Distance::Cosine).build(),
                )
                .sparse_vector(
                    SPARSE,
                    EdgeSparseVectorParamsBuilder::new()
                        .modifier(Modifier::Idf)
                        .build(),
                )
                .build();
            let shard = EdgeShard::new(dir, config).map_err(|e| open_error(dir, e))?;
            shard
                .update(UpdateOperation::FieldIndexOperation(
                    FieldIndexOperations::CreateIndex(CreateIndex {
                        field_name: JsonPath::try_from("chat_id")
                            .map_err(|()| service("bad payload path"))?,
                        field_schema: Some(PayloadFieldSchema::FieldType(
                            PayloadSchemaType::Keyword,
                        )),
                    }),
                ))
                .map_err(service)?;
            shard.flush();
            shard
        };
        if let Maintenance::EveryPoints(_) = maintenance {
            // Settings only: the optimizer itself runs when writes call for it, so opening a
            // shard leaves its segments (and so its rankings) exactly as they were.
            tune(&shard)?;
        }
        let bm25 = EdgeBm25::new(bm25_config()).map_err(service)?;
        let shard = Arc::new(shard);
        let (writes, queue) = mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("qdrant-edge-writer".to_owned())
            .spawn({
                let shard = shard.clone();
                move || writer_loop(shard, queue, maintenance)
            })
            .map_err(|e| service(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            shard,
            writes: Some(writes),
            writer: Some(writer),
            bm25: Arc::new(bm25),
            path: dir.to_owned(),
        })
    }

    /// Queues a write (of `points` new points) for the writer thread and waits until it is
    /// flushed.
    async fn write(&self, operation: UpdateOperation, points: usize) -> Result<(), ProviderError> {
        let (done, outcome) = tokio::sync::oneshot::channel();
        self.writes
            .as_ref()
            .ok_or_else(|| service("the store is closing"))?
            .send(Write {
                operation,
                points,
                done,
            })
            .map_err(|_| service("the writer thread has stopped"))?;
        outcome
            .await
            .map_err(|_| service("the writer thread stopped before the write was flushed"))?
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&EdgeShard) -> Result<T, ProviderError> + Send + 'static,
    ) -> Result<T, ProviderError> {
        let shard = self.shard.clone();
        tokio::task::spawn_blocking(move || f(&shard))
            .await
            .map_err(|e| service(format!("the read task failed: {e}")))?
    }
}

/// The optimizer settings of the module docs, applied to new and existing shards alike.
fn tune(shard: &EdgeShard) -> Result<(), ProviderError> {
    let (mut hnsw, optimizers) = {
        let config = shard.config();
        (config.hnsw_config, config.optimizers.clone())
    };
    if hnsw.m != 0 {
        hnsw.m = 0;
        shard.set_hnsw_config(hnsw).map_err(service)?;
    }
    let wanted = EdgeOptimizersConfig {
        // Any non-empty appendable segment is compacted when the optimizer runs; *when* it
        // runs is ours to decide (`Maintenance`).
        indexing_threshold: Some(1),
        default_segment_number: Some(TARGET_SEGMENTS),
        ..optimizers.clone()
    };
    if wanted != optimizers {
        shard.set_optimizers_config(wanted).map_err(service)?;
    }
    Ok(())
}

fn open_error(dir: &Path, e: impl std::fmt::Display) -> ProviderError {
    let text = e.to_string();
    let hint = if text.contains("WouldBlock") {
        " — another process holds this shard (Qdrant Edge allows one: run `relivchats serve`, or use VECTOR_STORE=qdrant for split api/worker processes)"
    } else {
        ""
    };
    ProviderError::permanent(
        PROVIDER,
        format!("cannot open the shard at {}: {text}{hint}", dir.display()),
    )
}

fn check_dimension(shard: &EdgeShard, dimension: usize, dir: &Path) -> Result<(), ProviderError> {
    let stored = shard.config().vectors.get(DENSE).map(|v| v.size);
    match stored {
        Some(size) if size == dimension => Ok(()),
        Some(size) => Err(ProviderError::permanent(
            PROVIDER,
            format!(
                "the shard at {} holds {size}-dimensional vectors but the embedder makes {dimension}: \
             move the directory aside (chats will be re-indexed on their next unlock) or set EMBEDDING_DIMENSION={size}",
                dir.display()
            ),
        )),
        None => Err(ProviderError::permanent(
            PROVIDER,
            format!("the shard at {} has no '{DENSE}' vector", dir.display()),
        )),
    }
}

#[async_trait]
impl VectorStore for EdgeStore {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    async fn upsert(&self, points: Vec<VectorPoint>) -> Result<(), ProviderError> {
        if points.is_empty() {
            return Ok(());
        }
        let bm25 = self.bm25.clone();
        let count = points.len();
        let structs = tokio::task::spawn_blocking(move || {
            points
                .into_iter()
                .map(|p| {
                    let vectors = NamedVectors::default()
                        .add_vector(DENSE, p.dense)
                        .add_vector(SPARSE, bm25.embed_document(&p.text));
                    PointStruct::new(
                        PointId::Uuid(p.id),
                        vectors,
                        json!({"chat_id": p.chat_id.to_string(), "chunk_index": p.chunk_index}),
                    )
                    .into()
                })
                .collect()
        })
        .await
        .map_err(service)?;
        self.write(
            UpdateOperation::PointOperation(PointOperations::UpsertPoints(
                PointInsertOperations::PointsList(structs),
            )),
            count,
        )
        .await
    }

    async fn query(&self, query: VectorQuery) -> Result<Vec<VectorHit>, ProviderError> {
        let filter = chat_filter(query.chat_id)?;
        let bm25 = self.bm25.clone();
        self.read(move |shard| {
            let dense = nearest(VectorInternal::Dense(query.dense), DENSE);
            let sparse = bm25.embed_query(&query.text);
            let fetch = query.limit + super::TIE_MARGIN;
            let request = if sparse.indices.is_empty() {
                plain(dense, filter, fetch)
            } else {
                hybrid(
                    dense,
                    nearest(VectorInternal::Sparse(sparse), SPARSE),
                    filter,
                    fetch,
                )
            };
            let hits = shard.query(request).map_err(service)?;
            let hits = hits
                .into_iter()
                .filter_map(|h| {
                    let index = h.payload.as_ref()?.0.get("chunk_index")?.as_u64()?;
                    Some(VectorHit {
                        chunk_index: u32::try_from(index).ok()?,
                        score: h.score,
                    })
                })
                .collect();
            Ok(super::stable_ranking(hits, query.limit))
        })
        .await
    }

    async fn delete_chat(&self, chat_id: Uuid) -> Result<(), ProviderError> {
        let filter = chat_filter(chat_id)?;
        self.write(
            UpdateOperation::PointOperation(PointOperations::DeletePointsByFilter(filter)),
            0,
        )
        .await
    }

    async fn count_chat(&self, chat_id: Uuid) -> Result<u64, ProviderError> {
        let filter = chat_filter(chat_id)?;
        self.read(move |shard| {
            let n = shard
                .count(CountRequest {
                    filter: Some(filter),
                    exact: true,
                })
                .map_err(service)?;
            Ok(n as u64)
        })
        .await
    }

    async fn ping(&self) -> Result<(), ProviderError> {
        self.read(|shard| {
            let _ = shard.info();
            Ok(())
        })
        .await
    }
}

fn plain(query: ScoringQuery, filter: Filter, limit: usize) -> QueryRequest {
    QueryRequest {
        prefetches: vec![],
        query: Some(query),
        filter: Some(filter),
        score_threshold: None,
        limit,
        offset: 0,
        params: None,
        with_vector: WithVector::Bool(false),
        with_payload: WithPayloadInterface::Bool(true),
    }
}

/// Dense and BM25 candidates fused by reciprocal rank: meaning and exact cue words both count.
fn hybrid(dense: ScoringQuery, sparse: ScoringQuery, filter: Filter, limit: usize) -> QueryRequest {
    let prefetch = |query| Prefetch {
        prefetches: vec![],
        query: Some(query),
        limit: limit * PREFETCH_FACTOR,
        params: None,
        filter: None,
        score_threshold: None,
    };
    QueryRequest {
        prefetches: vec![prefetch(dense), prefetch(sparse)],
        query: Some(ScoringQuery::Fusion(Fusion::Rrf {
            k: 60,
            weights: None,
        })),
        ..plain(
            ScoringQuery::Fusion(Fusion::Rrf {
                k: 60,
                weights: None,
            }),
            filter,
            limit,
        )
    }
}
