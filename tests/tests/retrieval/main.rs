//! Retrieval and model providers end to end: the vector stores' shared behaviour (Qdrant Edge
//! always, a Qdrant server when `QDRANT_URL` is set and ignored tests are run), crash durability of the Edge shard,
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

mod generation;
mod indexing;
mod stores;

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
