//! Indexing throughput and query latency for a 100k-message chat, with the offline embedder
//! (hashed n-grams) and Qdrant Edge: the local default pipeline minus Postgres.
//!
//! `cargo bench -p relivchats-activities --bench retrieval` (optionally `-- 20000` for another
//! message count). Prints messages/s and chunks/s for chunk → embed → upsert (+ flush per
//! batch), and query latency percentiles for hybrid (dense + BM25) top-12 queries.

use std::time::{Duration, Instant};

use relivchats_activities::providers::{EdgeStore, HashedEmbedder};
use relivchats_domain::retrieval::{
    EmbedPurpose, Embedder, VectorPoint, VectorQuery, VectorStore,
    chunking::{ChatFacts, Chunk, Chunker, ChunkingOptions, SourceMessage},
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
            text: c.text,
        })
        .collect();
    totals.chunks += points.len();
    let t = Instant::now();
    store.upsert(points).await.unwrap();
    totals.upsert_time += t.elapsed();
    totals.batches += 1;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let dir = std::env::temp_dir().join(format!("relivchats-bench-{}", Uuid::new_v4()));
    let embedder = HashedEmbedder::new(384);
    let store = EdgeStore::open(&dir, 384).expect("open the shard");
    let chat = Uuid::new_v4();
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
        if pending.len() >= 128 {
            store_batch(
                &embedder,
                &store,
                chat,
                std::mem::take(&mut pending),
                &mut totals,
            )
            .await;
        }
    }
    pending.extend(chunker.finish());
    store_batch(&embedder, &store, chat, pending, &mut totals).await;
    let Totals {
        chunks,
        batches,
        embed_time,
        upsert_time,
    } = totals;
    let elapsed = began.elapsed().as_secs_f64();
    assert_eq!(store.count_chat(chat).await.unwrap() as usize, chunks);
    println!("indexing {n} messages -> {chunks} chunks in {batches} batches: {elapsed:.2} s");
    println!(
        "  {:.0} messages/s, {:.0} chunks/s",
        n as f64 / elapsed,
        chunks as f64 / elapsed
    );
    println!(
        "  of which embedding {:.2} s, upsert + flush {:.2} s",
        embed_time.as_secs_f64(),
        upsert_time.as_secs_f64()
    );

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
        "query (embed + hybrid top-12, {} runs): p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        latencies.len(),
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.95).as_secs_f64() * 1e3,
        latencies[latencies.len() - 1].as_secs_f64() * 1e3,
    );
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
}
