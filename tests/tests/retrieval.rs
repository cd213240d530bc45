//! Retrieval and model providers end to end: the vector stores' shared behaviour (Qdrant Edge
//! always, a Qdrant server when `QDRANT_URL` is set), crash durability of the Edge shard,
//! indexing and `/api/rag/query` on a real chat, and `generate_insight` for every insight type
//! with the offline analyst and with fake Gemini and OpenAI-compatible servers, including
//! retries and the repair attempt.

use std::{collections::HashMap, sync::Arc, time::Duration};

use relivchats_activities::{
    InsightActivities, InsightFailure, Providers,
    providers::{EdgeMaintenance, EdgeStore, QdrantServerSettings, QdrantServerStore},
};
use relivchats_domain::{
    contracts::insights::{GenerateInsightInput, IndexChatInput, failure},
    crypto::Cipher,
    retrieval::{VectorPoint, VectorQuery, VectorStore},
};
use relivchats_tests::{
    TestApp,
    fakes::{FakeVendor, Reply},
    json,
};
use serde_json::Value;
use uuid::Uuid;

// --- the vector store suite -----------------------------------------------------------------

fn unit(seed: usize, dim: usize) -> Vec<f32> {
    let mut v: Vec<f32> = (0..dim)
        .map(|i| (((i * 31 + seed * 17) % 97) as f32 - 48.0) / 48.0)
        .collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
    v
}

fn points(chat: Uuid, n: u32, dim: usize) -> Vec<VectorPoint> {
    (0..n)
        .map(|i| VectorPoint {
            id: relivchats_domain::retrieval::point_id(chat, i),
            chat_id: chat,
            chunk_index: i,
            dense: unit(i as usize, dim),
            text: format!(
                "chunk {i} about {}",
                if i == 3 {
                    "the zebra trip"
                } else {
                    "ordinary things"
                }
            ),
        })
        .collect()
}

async fn query(
    store: &dyn VectorStore,
    chat: Uuid,
    seed: usize,
    dim: usize,
    text: &str,
) -> Vec<u32> {
    let hits = store
        .query(VectorQuery {
            chat_id: chat,
            dense: unit(seed, dim),
            text: text.to_owned(),
            limit: 5,
        })
        .await
        .unwrap();
    hits.into_iter().map(|h| h.chunk_index).collect()
}

/// What every store must do: filter by chat, rank the closest first, overwrite on re-upsert,
/// delete one chat without touching another.
async fn store_behaviour(store: &dyn VectorStore, dim: usize) -> (Uuid, Vec<u32>) {
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    store.upsert(points(a, 40, dim)).await.unwrap();
    store.upsert(points(b, 10, dim)).await.unwrap();
    store.upsert(points(a, 40, dim)).await.unwrap(); // idempotent: same ids
    assert_eq!(store.count_chat(a).await.unwrap(), 40);
    assert_eq!(store.count_chat(b).await.unwrap(), 10);
    let top = query(store, a, 7, dim, "").await;
    assert_eq!(
        top.first(),
        Some(&7),
        "the identical vector ranks first: {top:?}"
    );
    assert!(top.len() <= 5);
    let other = query(store, b, 7, dim, "").await;
    assert!(
        other.iter().all(|i| *i < 10),
        "results stay inside chat b: {other:?}"
    );
    store.delete_chat(b).await.unwrap();
    assert_eq!(store.count_chat(b).await.unwrap(), 0);
    assert_eq!(store.count_chat(a).await.unwrap(), 40);
    assert!(query(store, b, 7, dim, "").await.is_empty());
    store.ping().await.unwrap();
    (a, top)
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("relivchats-{name}-{}", Uuid::new_v4()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qdrant_edge_store_behaviour_and_reopen() {
    let dir = temp_dir("edge");
    let store = EdgeStore::open(&dir, 64).unwrap();
    let (chat, before) = store_behaviour(&store, 64).await;
    // The BM25 half finds an exact cue word the dense vector does not know about.
    let keyword = query(&store, chat, 30, 64, "zebra").await;
    assert!(keyword.contains(&3), "{keyword:?}");
    drop(store);
    let store = EdgeStore::open(&dir, 64).unwrap();
    assert_eq!(
        query(&store, chat, 7, 64, "").await,
        before,
        "same results after reopening"
    );
    store.delete_chat(chat).await.unwrap();
    assert_eq!(store.count_chat(chat).await.unwrap(), 0);
    drop(store);
    let err = EdgeStore::open(&dir, 32).unwrap_err();
    assert!(err.message.contains("EMBEDDING_DIMENSION"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

/// The store's optimizer (here after every 25 points, so it runs many times) moves points
/// between segments: nothing may be lost, duplicated or leak across chats, concurrent writers
/// share flushes, and the result survives a reopen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qdrant_edge_keeps_every_point_through_optimizer_runs() {
    let dir = temp_dir("edge-optimize");
    let store = Arc::new(EdgeStore::open_with(&dir, 64, EdgeMaintenance::EveryPoints(25)).unwrap());
    let (chat, _) = store_behaviour(store.as_ref(), 64).await;
    // Eight chats written at once, in batches of 10, through the one writer thread.
    let chats: Vec<Uuid> = (0..8).map(|_| Uuid::new_v4()).collect();
    let writers = chats.iter().map(|&c| {
        let store = store.clone();
        tokio::spawn(async move {
            let all = points(c, 30, 64);
            for batch in all.chunks(10) {
                store.upsert(batch.to_vec()).await.unwrap();
            }
        })
    });
    for w in futures::future::join_all(writers).await {
        w.unwrap();
    }
    for &c in &chats {
        assert_eq!(store.count_chat(c).await.unwrap(), 30);
        let top = query(store.as_ref(), c, 7, 64, "").await;
        assert_eq!(top.first(), Some(&7), "{top:?}");
    }
    assert_eq!(store.count_chat(chat).await.unwrap(), 40);
    store.delete_chat(chats[0]).await.unwrap();
    let before: Vec<Vec<u32>> = {
        let mut out = Vec::new();
        for &c in &chats {
            out.push(query(store.as_ref(), c, 3, 64, "").await);
        }
        out
    };
    drop(store);
    let store = EdgeStore::open_with(&dir, 64, EdgeMaintenance::EveryPoints(25)).unwrap();
    assert_eq!(store.count_chat(chats[0]).await.unwrap(), 0);
    for (i, &c) in chats.iter().enumerate().skip(1) {
        assert_eq!(store.count_chat(c).await.unwrap(), 30);
        assert_eq!(query(&store, c, 3, 64, "").await, before[i]);
    }
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qdrant_edge_allows_one_holder() {
    let dir = temp_dir("edge-lock");
    let _first = EdgeStore::open(&dir, 16).unwrap();
    let err = EdgeStore::open(&dir, 16).unwrap_err();
    assert!(
        err.message.contains("another process holds this shard"),
        "{err}"
    );
    drop(_first);
    let _ = std::fs::remove_dir_all(dir);
}

/// 0.7.2 does not replay its WAL: only flushed writes survive a crash. A child process writes
/// and exits without any cleanup; everything it was told had been stored must be there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qdrant_edge_writes_survive_an_abrupt_exit() {
    let dir = temp_dir("edge-crash");
    let chat = Uuid::new_v4();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "edge_crash_child", "--nocapture"])
        .env("EDGE_CRASH_DIR", &dir)
        .env("EDGE_CRASH_CHAT", chat.to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let store = EdgeStore::open(&dir, 32).unwrap();
    assert_eq!(store.count_chat(chat).await.unwrap(), 25);
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
}

/// Run only by the test above, as a separate process.
#[tokio::test]
#[ignore = "a helper process for qdrant_edge_writes_survive_an_abrupt_exit"]
async fn edge_crash_child() {
    let (Ok(dir), Ok(chat)) = (
        std::env::var("EDGE_CRASH_DIR"),
        std::env::var("EDGE_CRASH_CHAT"),
    ) else {
        return;
    };
    let chat: Uuid = chat.parse().unwrap();
    let store = EdgeStore::open(std::path::Path::new(&dir), 32).unwrap();
    store.upsert(points(chat, 25, 32)).await.unwrap();
    // No drop, no flush of our own: exit as a crash would.
    std::process::exit(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qdrant_server_store_behaviour() {
    let Ok(url) = std::env::var("QDRANT_URL") else {
        println!(
            "skipped: QDRANT_URL not set (the Qdrant server half of the vector store suite did not run)"
        );
        return;
    };
    let store = QdrantServerStore::connect(QdrantServerSettings {
        url,
        api_key: std::env::var("QDRANT_API_KEY")
            .ok()
            .map(relivchats_domain::secret::Secret::new),
        collection: format!("test_{}", Uuid::new_v4().simple()),
        dimension: 64,
        timeout: Duration::from_secs(30),
    })
    .await
    .unwrap();
    store_behaviour(&store, 64).await;
}

// --- a real chat through the API and the activities -------------------------------------

const LINES: [&str; 12] = [
    "Good morning! How did you sleep?",
    "Haha that meme is too good 😂",
    "Let's plan the trip to Goa for next weekend, I'll book the tickets",
    "Sorry I snapped yesterday, I was really tired. Can we talk tonight?",
    "Of course yaar, no worries. I'm proud of you for saying it ❤️",
    "Did you eat? Take care of yourself please",
    "Remember that time we missed the train in Jaipur?",
    "Thank you for helping me move, you're the best",
    "How was the interview? Tell me everything!",
    "I'm so busy at work today, talk later?",
    "Miss you! Call me when you're free",
    "Happy birthday!! 🎉 Dinner on Sunday?",
];

/// An Android-format export of `n` messages between two (or more) people over a few weeks,
/// with quiet gaps between conversations.
fn sample_chat(n: usize, people: &[&str]) -> String {
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap();
    let mut out = String::new();
    for i in 0..n {
        let t = start + chrono::Duration::minutes((i as i64) * 7 + (i as i64 / 15) * 600);
        let who = people[(i * 7 / 5) % people.len()];
        let line = LINES[(i * 5) % LINES.len()];
        out.push_str(&format!(
            "{} - {who}: {line} ({})\n",
            t.format("%d/%m/%Y, %H:%M"),
            tag(i)
        ));
    }
    out
}

/// A word made of letters only (embedders skip numbers), different for every message, so
/// no two chunks are identical and rankings have no ties.
fn tag(mut i: usize) -> String {
    let mut word = String::from("q");
    loop {
        word.push((b'a' + (i % 26) as u8) as char);
        i /= 26;
        if i == 0 {
            return word;
        }
    }
}

async fn upload(app: &TestApp, token: &str, text: String) -> Uuid {
    app.upload_chat(token, &text).await
}

/// The activities of this app, sharing its providers (and so its Edge shard).
fn activities(app: &TestApp) -> Arc<InsightActivities> {
    let cipher = Cipher::new(app.config.encryption_key.expose()).unwrap();
    Arc::new(InsightActivities::new(
        app.pool.clone(),
        Arc::new(cipher),
        app.providers.clone(),
        app.config.providers.insight_settings(),
    ))
}

async fn rag(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.http
        .post(app.url("/api/rag/query"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_query_and_delete_through_the_api() {
    let app = TestApp::spawn().await;
    let token = app.token("rag-owner");
    let chat = upload(&app, &token, sample_chat(400, &["Asha", "Ben"])).await;

    let not_yet = rag(
        &app,
        &token,
        serde_json::json!({"chat_id": chat, "question": "trip"}),
    )
    .await;
    assert_eq!(not_yet.status(), 409);

    let acts = activities(&app);
    let out = acts
        .run_index_chat(IndexChatInput { chat_id: chat }, None)
        .await
        .unwrap();
    assert!(!out.skipped && out.chunk_count > 5, "{out:?}");
    let (status, chunks, rows): (String, i32, i64) = sqlx::query_as(
        "SELECT vector_status, chunk_count, (SELECT COUNT(*) FROM message_chunks m WHERE m.chat_id = c.id) FROM chats c WHERE id = $1",
    )
    .bind(chat)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (status.as_str(), chunks as u32, rows as u32),
        ("completed", out.chunk_count, out.chunk_count)
    );
    assert_eq!(
        app.providers.store.count_chat(chat).await.unwrap(),
        u64::from(out.chunk_count)
    );
    let again = acts
        .run_index_chat(IndexChatInput { chat_id: chat }, None)
        .await
        .unwrap();
    assert!(again.skipped, "a second run skips an indexed chat");

    let body = serde_json::json!({"chat_id": chat, "question": "plan the trip to Goa", "top_k": 4});
    let response = rag(&app, &token, body.clone()).await;
    assert_eq!(response.status(), 200);
    let first = json(response).await;
    let excerpts = first["excerpts"].as_array().unwrap();
    assert_eq!(excerpts.len(), 4);
    assert!(
        excerpts[0]["text"].as_str().unwrap().contains("Goa"),
        "{first:#}"
    );
    assert!(excerpts[0]["score"].as_f64().unwrap() > 0.0);
    let again = json(rag(&app, &token, body.clone()).await).await;
    assert_eq!(
        first["excerpts"], again["excerpts"],
        "the same query returns the same results"
    );

    let stranger = app.token("someone-else");
    assert_eq!(rag(&app, &stranger, body.clone()).await.status(), 404);
    let bad = rag(
        &app,
        &token,
        serde_json::json!({"chat_id": chat, "question": " "}),
    )
    .await;
    assert_eq!(bad.status(), 422);
    // JSON Schema's `integer` includes 4.0 (schemathesis sends it); 2.5 and -1 are refused.
    let whole =
        serde_json::json!({"chat_id": chat, "question": "plan the trip to Goa", "top_k": 4.0});
    let whole = json(rag(&app, &token, whole).await).await;
    assert_eq!(whole["excerpts"], first["excerpts"], "{whole}");
    for top_k in [
        serde_json::json!(2.5),
        serde_json::json!(-1),
        serde_json::json!(51),
    ] {
        let body = serde_json::json!({"chat_id": chat, "question": "trip", "top_k": top_k});
        assert_eq!(rag(&app, &token, body).await.status(), 422, "top_k {top_k}");
    }

    let deleted = app
        .http
        .delete(app.url(&format!("/api/chats/{chat}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    assert_eq!(
        app.providers.store.count_chat(chat).await.unwrap(),
        0,
        "the chat's points are gone"
    );
    let ready = json(app.get("/health/ready", None).await).await;
    assert_eq!(ready["checks"]["vector_store"]["status"], "ok", "{ready}");
    app.stop().await;
}

/// Restarting the application (same database, same data directory) keeps the index: the
/// same query returns the same excerpts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_survives_an_application_restart() {
    let app = TestApp::spawn().await;
    let token = app.token("restart-owner");
    let chat = upload(&app, &token, sample_chat(200, &["Asha", "Ben"])).await;
    activities(&app)
        .run_index_chat(IndexChatInput { chat_id: chat }, None)
        .await
        .unwrap();
    let body =
        serde_json::json!({"chat_id": chat, "question": "birthday dinner on Sunday", "top_k": 5});
    let before = json(rag(&app, &token, body.clone()).await).await;
    let app = app.restart().await;
    let after = json(rag(&app, &token, body).await).await;
    let chunks = |v: &Value| -> Vec<(u64, String)> {
        v["excerpts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["chunk_index"].as_u64().unwrap(),
                    e["text"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    assert!(!chunks(&after).is_empty());
    assert_eq!(chunks(&before), chunks(&after));
    app.stop().await;
}

async fn insight_types(app: &TestApp) -> Vec<(Uuid, String, Value)> {
    sqlx::query_as(
        "SELECT id, name, response_schema FROM insight_types WHERE is_active ORDER BY name",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

/// Generates every insight type for a fresh indexed chat and checks each stored result.
async fn generate_all(app: &TestApp, expected_model: &str) {
    let token = app.token("insight-owner");
    let chat = upload(app, &token, sample_chat(300, &["Asha", "Ben"])).await;
    let acts = activities(app);
    acts.run_index_chat(IndexChatInput { chat_id: chat }, None)
        .await
        .unwrap();
    let cipher = Cipher::new(app.config.encryption_key.expose()).unwrap();
    let types = insight_types(app).await;
    assert_eq!(types.len(), 24);
    for (type_id, name, schema) in types {
        let input = GenerateInsightInput {
            chat_id: chat,
            insight_type_id: type_id,
            job_id: Some("job-1".into()),
        };
        let out = acts
            .run_generate_insight(input.clone())
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(out.model_used, expected_model, "{name}");
        assert!(out.chunks_used > 0, "{name}: retrieval found excerpts");
        let (status, content, attempts): (String, String, i32) =
            sqlx::query_as("SELECT status, content, attempts FROM insights WHERE id = $1")
                .bind(out.insight_id)
                .fetch_one(&app.pool)
                .await
                .unwrap();
        assert_eq!((status.as_str(), attempts), ("completed", 1), "{name}");
        let content: Value = cipher.decrypt_json(&content).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        assert!(validator.is_valid(&content), "{name}: {content:#}");
        // Idempotent: a completed insight is returned as it is.
        let again = acts.run_generate_insight(input).await.unwrap();
        assert_eq!(again.insight_id, out.insight_id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_every_insight_type_with_the_offline_analyst() {
    let app = TestApp::spawn().await;
    generate_all(&app, relivchats_domain::analyst::MODEL_ID).await;
    app.stop().await;
}

fn gemini_vars(fake: &FakeVendor) -> HashMap<String, String> {
    [
        ("LLM_PROVIDER", "gemini"),
        ("EMBEDDING_PROVIDER", "gemini"),
        ("GEMINI_API_KEY", "test-key"),
        ("GEMINI_API_BASE", fake.address.as_str()),
        ("GEMINI_LLM_MODEL", "gemini-2.5-flash"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_every_insight_type_with_fake_gemini() {
    let fake = FakeVendor::start().await;
    let app = TestApp::spawn_with(gemini_vars(&fake)).await;
    generate_all(&app, "gemini-2.5-flash").await;
    assert_eq!(fake.llm_calls(), 24);
    assert!(
        fake.embed_calls() >= 25,
        "chunks and 24 queries were embedded"
    );
    let request = fake.state.last_llm_request.lock().unwrap().clone().unwrap();
    assert_eq!(
        request["generationConfig"]["responseMimeType"],
        "application/json"
    );
    assert_eq!(
        request["generationConfig"]["thinkingConfig"]["thinkingBudget"],
        0
    );
    assert!(
        request["contents"][0]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Asha")
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_every_insight_type_with_a_fake_openai_compatible_server() {
    let fake = FakeVendor::start().await;
    let vars: HashMap<String, String> = [
        ("LLM_PROVIDER", "openai"),
        ("EMBEDDING_PROVIDER", "openai"),
        ("OPENAI_API_BASE", fake.openai_base().as_str()),
        ("OPENAI_MODEL", "qwen2.5:7b"),
        ("OPENAI_EMBEDDING_MODEL", "nomic-embed-text"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let app = TestApp::spawn_with(vars).await;
    generate_all(&app, "qwen2.5:7b").await;
    let request = fake.state.last_llm_request.lock().unwrap().clone().unwrap();
    assert_eq!(request["response_format"]["type"], "json_schema");
    assert!(!request.to_string().contains("propertyOrdering"));
    app.stop().await;
}

/// One chat, indexed, and the id of one insight type, ready for a generation.
async fn one_ready_insight(app: &TestApp) -> (Arc<InsightActivities>, GenerateInsightInput) {
    let token = app.token("retry-owner");
    let chat = upload(app, &token, sample_chat(120, &["Asha", "Ben"])).await;
    let acts = activities(app);
    acts.run_index_chat(IndexChatInput { chat_id: chat }, None)
        .await
        .unwrap();
    let (type_id, ..) = insight_types(app)
        .await
        .into_iter()
        .find(|t| t.1 == "communication_basics")
        .unwrap();
    (
        acts,
        GenerateInsightInput {
            chat_id: chat,
            insight_type_id: type_id,
            job_id: None,
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_and_the_repair_attempt_against_fake_gemini() {
    let fake = FakeVendor::start().await;
    let app = TestApp::spawn_with(gemini_vars(&fake)).await;
    let (acts, input) = one_ready_insight(&app).await;

    // 503 twice, then an answer: the call succeeds on its third try.
    fake.script(&[Reply::Overloaded, Reply::Overloaded]);
    let before = fake.llm_calls();
    acts.run_generate_insight(input.clone()).await.unwrap();
    assert_eq!(fake.llm_calls() - before, 3);

    // Not JSON twice: one repair, then a non-retryable SchemaViolation.
    sqlx::query("UPDATE insights SET status = 'failed'")
        .execute(&app.pool)
        .await
        .unwrap();
    fake.script(&[Reply::NotJson, Reply::NotJson]);
    let before = fake.llm_calls();
    let err = acts.run_generate_insight(input.clone()).await.unwrap_err();
    assert_eq!(err.failure_type(), Some(failure::SCHEMA_VIOLATION), "{err}");
    assert!(!err.is_retryable());
    assert_eq!(
        fake.llm_calls() - before,
        2,
        "the first answer and one repair"
    );
    let repair = fake.state.last_llm_request.lock().unwrap().clone().unwrap();
    assert!(repair.to_string().contains("CORRECTION NEEDED"));

    // A schema violation repaired on the second try succeeds.
    fake.script(&[Reply::SchemaViolation]);
    acts.run_generate_insight(input.clone()).await.unwrap();

    // 429 with retryDelay: waited for, then answered.
    sqlx::query("UPDATE insights SET status = 'failed'")
        .execute(&app.pool)
        .await
        .unwrap();
    fake.script(&[Reply::RateLimited(1)]);
    let started = std::time::Instant::now();
    acts.run_generate_insight(input.clone()).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "retryDelay was honoured"
    );

    // Still overloaded after every in-call retry: a retryable failure for Temporal.
    sqlx::query("UPDATE insights SET status = 'failed'")
        .execute(&app.pool)
        .await
        .unwrap();
    fake.script(&[Reply::Overloaded, Reply::Overloaded, Reply::Overloaded]);
    let err = acts.run_generate_insight(input.clone()).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");

    // A refused request is final.
    fake.script(&[Reply::BadRequest]);
    let err = acts.run_generate_insight(input.clone()).await.unwrap_err();
    assert_eq!(
        err.failure_type(),
        Some(relivchats_activities::insights::PROVIDER_REJECTED)
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn business_failures_are_classified() {
    let app = TestApp::spawn().await;
    let token = app.token("group-owner");
    let group = upload(&app, &token, sample_chat(90, &["Asha", "Ben", "Chen"])).await;
    let acts = activities(&app);
    acts.run_index_chat(IndexChatInput { chat_id: group }, None)
        .await
        .unwrap();
    let types = insight_types(&app).await;
    let (romantic, ..) = types.iter().find(|t| t.1 == "love_language").unwrap();
    let (group_ok, ..) = types
        .iter()
        .find(|t| t.1 == "communication_basics")
        .unwrap();
    let err = acts
        .run_generate_insight(GenerateInsightInput {
            chat_id: group,
            insight_type_id: *romantic,
            job_id: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.failure_type(), Some(failure::NOT_ALLOWED), "{err}");
    acts.run_generate_insight(GenerateInsightInput {
        chat_id: group,
        insight_type_id: *group_ok,
        job_id: None,
    })
    .await
    .unwrap();
    let missing = Uuid::new_v4();
    let err: InsightFailure = acts
        .run_index_chat(IndexChatInput { chat_id: missing }, None)
        .await
        .unwrap_err();
    assert_eq!(err.failure_type(), Some(failure::UNKNOWN_CHAT));
    let err = acts
        .run_generate_insight(GenerateInsightInput {
            chat_id: missing,
            insight_type_id: *group_ok,
            job_id: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.failure_type(), Some(failure::UNKNOWN_CHAT));
    app.stop().await;
}

#[allow(dead_code)]
fn assert_providers_are_shareable(p: Providers) -> impl Send + Sync {
    p
}

/// A chat deleted after indexing recorded its last batch, but before it was marked indexed
/// (the deletion removed the vectors it could see; ours landed after): the vectors written
/// are removed and the run fails as "unknown chat", instead of leaving orphans in the store.
/// A trigger that skips the final update stands in for the deletion at that exact moment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_deleted_at_the_end_of_indexing_leaves_no_vectors() {
    let app = TestApp::spawn().await;
    let token = app.token("vanishing");
    let chat = upload(&app, &token, sample_chat(200, &["Asha", "Ben"])).await;
    for statement in [
        r#"CREATE FUNCTION vanish() RETURNS trigger AS $$ BEGIN RETURN NULL; END; $$ LANGUAGE plpgsql"#,
        r#"CREATE TRIGGER vanish BEFORE UPDATE ON chats FOR EACH ROW
           WHEN (NEW.vector_status = 'completed') EXECUTE FUNCTION vanish()"#,
    ] {
        sqlx::query(statement).execute(&app.pool).await.unwrap();
    }
    let err = activities(&app)
        .run_index_chat(IndexChatInput { chat_id: chat }, None)
        .await
        .unwrap_err();
    assert_eq!(err.failure_type(), Some(failure::UNKNOWN_CHAT), "{err}");
    assert_eq!(app.providers.store.count_chat(chat).await.unwrap(), 0);
    app.stop().await;
}
