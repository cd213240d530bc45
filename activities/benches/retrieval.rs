//! Indexing throughput and query latency with the offline embedder (hashed n-grams) and Qdrant
//! Edge: the local default pipeline minus Postgres.
//!
//! `cargo bench -p relivchats-activities --bench retrieval` (optionally `-- MESSAGES CHATS`,
//! default 100000 and 40). Two scenarios, each run twice side by side — with the store's
//! periodic optimizer (what the product runs) and without it (qdrant-edge's own behaviour,
//! the baseline):
//! - one chat of MESSAGES messages: messages/s and chunks/s for chunk → embed → upsert (+ flush
//!   per batch), then hybrid (dense + BM25) top-12 query latency;
//! - CHATS chats of 10k messages, one after the other into the same shard, as a server sees
//!   them: how indexing time per chat changes as the shard fills up, then query latency.

use std::time::{Duration, Instant};

use relivchats_activities::{
    insights::STORE_BATCH,
    providers::{EdgeMaintenance, EdgeStore, HashedEmbedder},
};
use relivchats_domain::retrieval::{
    EmbedPurpose, Embedder, VectorPoint, VectorQuery, VectorStore,
    chunking::{ChatFacts, Chunk, Chunker, ChunkingOptions, SourceMessage, keyword_text},
    point_id,
};
use uuid::Uuid;

const LINES: [&str; 10] = [
    "Good morning! How did you sleep?",
    "Haha that meme is too good 😂",
    "Let's plan the trip for next weekend, I'll book the tickets",
    "Sorry I snapped yesterday, can we talk tonight?",
    "Of course yaar, no worries. Proud of you ❤️",
    "Did you eat? Take care of yourself",
    "Remember that time we missed the train?",
    "Thank you for helping me move, you're the best",
    "How was the interview? Tell me everything!",
    "Busy at work today, talk later?",
];

fn message(i: usize, start: chrono::NaiveDateTime) -> SourceMessage {
    SourceMessage {
        id: Uuid::from_u128(i as u128 + 1),
        seq: i as i64,
        sender: Some(if i.is_multiple_of(3) { "Asha" } else { "Ben" }.to_owned()),
        content: format!("{} ({i})", LINES[(i * 7) % LINES.len()]),
        timestamp: start + chrono::Duration::minutes(i as i64 * 3 + (i as i64 / 40) * 240),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[derive(Default)]
struct Totals {
    chunks: usize,
    batches: usize,
    embed_time: Duration,
    upsert_time: Duration,
}

/// Embeds and upserts one batch (the store flushes after each), as `index_chat` does.
async fn store_batch(
    embedder: &HashedEmbedder,
    store: &EdgeStore,
    chat: Uuid,
    batch: Vec<Chunk>,
    totals: &mut Totals,
) {
    if batch.is_empty() {
        return;
    }
    let texts: Vec<String> = batch.iter().map(|c| c.text.clone()).collect();
    let t = Instant::now();
    let vectors = embedder
        .embed(&texts, EmbedPurpose::Document)
        .await
        .unwrap();
    totals.embed_time += t.elapsed();
    let points: Vec<VectorPoint> = batch
        .into_iter()
        .zip(vectors)
        .map(|(c, dense)| VectorPoint {
            id: point_id(chat, c.index),
            chat_id: chat,
            chunk_index: c.index,
            dense,
            text: keyword_text(&c.text),
        })
        .collect();
    totals.chunks += points.len();
    let t = Instant::now();
    store.upsert(points).await.unwrap();
    totals.upsert_time += t.elapsed();
    totals.batches += 1;
}

/// Indexes one chat of `n` messages; returns (elapsed, totals).
async fn index_chat(
    embedder: &HashedEmbedder,
    store: &EdgeStore,
    chat: Uuid,
    n: usize,
) -> (Duration, Totals) {
    let start = chrono::NaiveDate::from_ymd_opt(2023, 1, 1)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap();
    let facts = ChatFacts {
        participant_count: 2,
        is_group_chat: false,
        platform: "whatsapp".into(),
    };
    let mut chunker = Chunker::new(ChunkingOptions::default(), facts);
    let began = Instant::now();
    let mut totals = Totals::default();
    let mut pending = Vec::<Chunk>::new();
    for i in 0..n {
        pending.extend(chunker.push(message(i, start)));
        // The product's batch: `index_chat` writes STORE_BATCH chunks per store write.
        if pending.len() >= STORE_BATCH {
            store_batch(
                embedder,
                store,
                chat,
                std::mem::take(&mut pending),
                &mut totals,
            )
            .await;
        }
    }
    pending.extend(chunker.finish());
    store_batch(embedder, store, chat, pending, &mut totals).await;
    (began.elapsed(), totals)
}

/// 200 hybrid top-12 queries against `chat`; prints and returns the p50.
async fn queries(embedder: &HashedEmbedder, store: &EdgeStore, chat: Uuid) -> Duration {
    let questions = [
        "plan the trip next weekend",
        "sorry can we talk",
        "proud of you yaar",
        "interview",
        "good morning sleep",
    ];
    let mut latencies = Vec::new();
    for round in 0..200 {
        let q = questions[round % questions.len()];
        let t = Instant::now();
        let dense = embedder
            .embed(&[q.to_owned()], EmbedPurpose::Query)
            .await
            .unwrap()
            .remove(0);
        let hits = store
            .query(VectorQuery {
                chat_id: chat,
                dense,
                text: q.to_owned(),
                limit: 12,
            })
            .await
            .unwrap();
        latencies.push(t.elapsed());
        assert_eq!(hits.len(), 12);
    }
    latencies.sort();
    println!(
        "    query (embed + hybrid top-12, {} runs): p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        latencies.len(),
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.95).as_secs_f64() * 1e3,
        latencies[latencies.len() - 1].as_secs_f64() * 1e3,
    );
    percentile(&latencies, 0.5)
}

fn open(maintenance: EdgeMaintenance) -> (EdgeStore, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("relivchats-bench-{}", Uuid::new_v4()));
    let store = EdgeStore::open_with(&dir, 384, maintenance).expect("open the shard");
    (store, dir)
}

fn label(maintenance: EdgeMaintenance) -> String {
    match maintenance {
        EdgeMaintenance::Never => {
            "baseline: the optimizer never runs (Edge's own default)".to_owned()
        }
        EdgeMaintenance::EveryPoints(n) => {
            format!("product: the optimizer every {n} points written")
        }
    }
}

/// One chat of `n` messages; returns the indexing time.
async fn one_big_chat(n: usize, maintenance: EdgeMaintenance) -> f64 {
    let embedder = HashedEmbedder::new(384);
    let (store, dir) = open(maintenance);
    let chat = Uuid::new_v4();
    let (elapsed, totals) = index_chat(&embedder, &store, chat, n).await;
    let elapsed = elapsed.as_secs_f64();
    assert_eq!(
        store.count_chat(chat).await.unwrap() as usize,
        totals.chunks
    );
    println!("  {}", label(maintenance));
    println!(
        "    indexing {n} messages -> {} chunks in {} batches: {elapsed:.2} s ({:.0} messages/s, {:.0} chunks/s)",
        totals.chunks,
        totals.batches,
        n as f64 / elapsed,
        totals.chunks as f64 / elapsed
    );
    println!(
        "    of which embedding {:.2} s, upsert + flush {:.2} s",
        totals.embed_time.as_secs_f64(),
        totals.upsert_time.as_secs_f64()
    );
    queries(&embedder, &store, chat).await;
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
    elapsed
}

/// `chats` chats of 10k messages into one shard; returns the mean indexing time per chat of
/// the last quarter.
async fn many_chats(chats: usize, maintenance: EdgeMaintenance) -> f64 {
    const MESSAGES: usize = 10_000;
    let embedder = HashedEmbedder::new(384);
    let (store, dir) = open(maintenance);
    let mut times = Vec::new();
    let mut last = Uuid::nil();
    let began = Instant::now();
    for _ in 0..chats {
        last = Uuid::new_v4();
        let (elapsed, totals) = index_chat(&embedder, &store, last, MESSAGES).await;
        assert_eq!(
            store.count_chat(last).await.unwrap() as usize,
            totals.chunks
        );
        times.push(elapsed.as_secs_f64());
    }
    let total = began.elapsed().as_secs_f64();
    let quarter = (chats / 4).max(1);
    let mean = |t: &[f64]| t.iter().sum::<f64>() / t.len() as f64;
    let (first, late) = (mean(&times[..quarter]), mean(&times[chats - quarter..]));
    println!("  {}", label(maintenance));
    println!(
        "    {chats} chats in {total:.2} s ({:.1} chats/s); per chat: first {quarter} {:.1} ms, last {quarter} {:.1} ms",
        chats as f64 / total,
        first * 1e3,
        late * 1e3
    );
    queries(&embedder, &store, last).await;
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
    late
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse::<usize>().ok());
    let n = args.next().unwrap_or(100_000);
    let chats = args.next().unwrap_or(40).max(1);
    // The cadence can be varied to explore (BENCH_OPTIMIZE_EVERY=points).
    let product = std::env::var("BENCH_OPTIMIZE_EVERY")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or_else(EdgeMaintenance::default, EdgeMaintenance::EveryPoints);

    println!("one chat of {n} messages");
    let base = one_big_chat(n, EdgeMaintenance::Never).await;
    let ours = one_big_chat(n, product).await;
    println!(
        "  ratio baseline / product indexing time: {:.2}x",
        base / ours
    );

    println!("{chats} chats of 10,000 messages into one shard");
    let base = many_chats(chats, EdgeMaintenance::Never).await;
    let ours = many_chats(chats, product).await;
    println!(
        "  ratio baseline / product time per chat once the shard is full: {:.2}x",
        base / ours
    );
}
