//! Unlock benchmark: end-to-end latency (p50/p95) of `POST /api/insights/unlock` → settled, on
//! 10k-message chats with the offline analyst and Qdrant Edge, sustained unlocks per second
//! with N concurrent users, and beside them the raw cost of a workflow running six no-op
//! activities in parallel on the same dev server. Prints figures; asserts nothing.
//!
//!   scripts/test is not needed: `cargo bench -p relivchats-tests --bench unlock`
//!   (uses TEMPORAL_ADDRESS if set, else starts a dev server). Knobs: BENCH_CHAT_MESSAGES
//!   (10000), BENCH_SEQUENTIAL (10), BENCH_USERS (8), BENCH_NOOP (20), BENCH_DB_CONNECTIONS (20).

#![allow(unreachable_pub)]

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use futures::future::join_all;
use relivchats_domain::{UserId, contracts::unlock::UnlockInsightsDefinition};
use relivchats_tests::{TestApp, json};
use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};
use temporalio_macros::{activities, workflow, workflow_methods};
use temporalio_sdk::{
    ActivityOptions, Runtime, Worker, WorkerOptions, WorkflowContext, WorkflowResult,
    activities::{ActivityContext, ActivityError},
    workflows::join_all as wf_join_all,
};
use uuid::Uuid;

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn chat_text(messages: usize, seed: usize) -> String {
    const LINES: [&str; 8] = [
        "Good morning! Did you sleep well? ❤️",
        "Big deadline today, wish me luck 😅",
        "Want to plan the trip this weekend?",
        "Sorry I was short with you yesterday, stressful day",
        "Dinner at 8? I'll cook 🍝",
        "Haha that meme was too good 😂",
        "Call mom later, she asked about you",
        "Proud of you, seriously. You worked so hard for this",
    ];
    let mut out = String::with_capacity(messages * 60);
    for i in 0..messages {
        let day = 1 + (i / 400) % 28;
        let month = 1 + (i / (400 * 28)) % 12;
        let (h, m) = ((i / 60) % 24, i % 60);
        let who = if (i + seed).is_multiple_of(3) {
            "Ben"
        } else {
            "Asha"
        };
        out.push_str(&format!(
            "{day:02}/{month:02}/2023, {h:02}:{m:02} - {who}: {}\n",
            LINES[(i * 7 + seed) % LINES.len()]
        ));
    }
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn summary(label: &str, mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    let p50 = percentile(&samples, 0.5);
    println!(
        "{label:<44} n={:<3} p50={:>8.1} ms  p95={:>8.1} ms  max={:>8.1} ms",
        samples.len(),
        p50.as_secs_f64() * 1e3,
        percentile(&samples, 0.95).as_secs_f64() * 1e3,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    p50
}

async fn upload(app: &TestApp, token: &str, text: String) -> Uuid {
    app.upload_chat(token, &text).await
}

/// One unlock from the request to the settled workflow (capture included).
async fn one_unlock(app: &TestApp, user: &str, chat: Uuid, category: Uuid) -> Duration {
    let token = app.token(user);
    let started = Instant::now();
    let r = app
        .http
        .post(app.url("/api/insights/unlock"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"chat_id": chat, "category_id": category}))
        .send()
        .await
        .unwrap();
    let body = json(r).await;
    let workflow_id = body["workflow_id"]
        .as_str()
        .unwrap_or_else(|| panic!("unlock refused: {body}"))
        .to_owned();
    let handle = app
        .temporal
        .get_workflow_handle::<UnlockInsightsDefinition>(workflow_id);
    let outcome = handle
        .get_result(WorkflowGetResultOptions::default())
        .await
        .unwrap();
    assert_eq!(
        outcome.status, "completed",
        "benchmark unlock did not complete: {outcome:?}"
    );
    started.elapsed()
}

// ---- the no-op baseline ----------------------------------------------------------------

pub struct NoopActivities;

#[activities]
impl NoopActivities {
    #[activity(name = "bench_noop")]
    pub async fn noop(_ctx: ActivityContext, i: u32) -> Result<u32, ActivityError> {
        Ok(i)
    }
}

#[workflow]
#[derive(Default)]
pub struct SixNoops;

#[workflow_methods]
impl SixNoops {
    #[run(name = "BenchSixNoops")]
    pub async fn run(ctx: &mut WorkflowContext<Self>, _input: u32) -> WorkflowResult<u32> {
        let runs = (0..6u32).map(|i| {
            let ctx = ctx.clone();
            async move {
                ctx.execute_activity(
                    NoopActivities::noop,
                    i,
                    ActivityOptions::start_to_close_timeout(Duration::from_secs(10)),
                )
                .await
                .unwrap_or(0)
            }
        });
        Ok(wf_join_all(runs).await.into_iter().sum())
    }
}

async fn noop_baseline(app: &TestApp, runs: usize) -> Vec<Duration> {
    let queue = format!("bench-noop-{}", Uuid::new_v4().simple());
    let runtime = Runtime::from_current_tokio(Default::default()).unwrap();
    let options = WorkerOptions::new(queue.clone())
        .register_workflow::<SixNoops>()
        .unwrap()
        .register_activities(NoopActivities)
        .build();
    let mut worker = Worker::new(&runtime, app.temporal.clone(), options).unwrap();
    let shutdown = worker.shutdown_handle();
    let client = app.temporal.clone();
    let (_, samples) = tokio::join!(worker.run(), async move {
        let mut samples = Vec::new();
        for i in 0..runs {
            let started = Instant::now();
            let options = WorkflowStartOptions::new(
                queue.clone(),
                format!("bench-noop-{i}-{}", Uuid::new_v4()),
            )
            .build();
            let h = client
                .start_workflow(SixNoops::run, 0, options)
                .await
                .unwrap();
            h.get_result(WorkflowGetResultOptions::default())
                .await
                .unwrap();
            samples.push(started.elapsed());
        }
        shutdown();
        samples
    });
    samples
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let messages = knob("BENCH_CHAT_MESSAGES", 10_000);
    let sequential = knob("BENCH_SEQUENTIAL", 10);
    let users = knob("BENCH_USERS", 8);
    let noops = knob("BENCH_NOOP", 20);
    let overrides: HashMap<String, String> =
        [("UNLOCK_REFUND_WINDOW_SECS", "0"), ("RUST_LOG", "warn")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
    let app = TestApp::spawn_with(overrides).await;
    let categories = json(app.get("/api/categories", None).await).await;
    let family: Uuid = categories[2]["id"].as_str().unwrap().parse().unwrap();
    println!(
        "unlock benchmark ({} build): {messages}-message chats, offline analyst, Qdrant Edge, Temporal at {}",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        app.config.temporal.address
    );

    let baseline = summary(
        "six parallel no-op activities (workflow)",
        noop_baseline(&app, noops).await,
    );

    // Sequential unlocks, one user, each on a fresh chat (so each indexes its 10k messages).
    let mut samples = Vec::new();
    let mut upload_times = Vec::new();
    for i in 0..sequential {
        let user = format!("bench-seq-{i}");
        relivchats_api::ledger::admin_adjust(
            &app.pool,
            &UserId::parse(&user).unwrap(),
            400,
            "bench",
        )
        .await
        .unwrap();
        let t = Instant::now();
        let chat = upload(&app, &app.token(&user), chat_text(messages, i)).await;
        upload_times.push(t.elapsed());
        samples.push(one_unlock(&app, &user, chat, family).await);
    }
    summary(
        &format!("upload + parse + stats of {messages} messages"),
        upload_times,
    );
    let p50 = summary(
        "unlock end to end (reserve→index→6×generate→capture)",
        samples,
    );
    println!(
        "ratio unlock p50 / no-op workflow p50: {:.1}x",
        p50.as_secs_f64() / baseline.as_secs_f64().max(1e-9)
    );

    // Sustained throughput: N users unlocking at once, each on their own chat.
    let mut chats = Vec::new();
    for u in 0..users {
        let user = format!("bench-par-{u}");
        relivchats_api::ledger::admin_adjust(
            &app.pool,
            &UserId::parse(&user).unwrap(),
            400,
            "bench",
        )
        .await
        .unwrap();
        chats.push((
            user.clone(),
            upload(&app, &app.token(&user), chat_text(messages, 100 + u)).await,
        ));
    }
    let started = Instant::now();
    let latencies = join_all(
        chats
            .iter()
            .map(|(user, chat)| one_unlock(&app, user, *chat, family)),
    )
    .await;
    let wall = started.elapsed();
    summary(
        &format!("unlock latency with {users} concurrent users"),
        latencies,
    );
    println!(
        "sustained: {users} unlocks in {:.2} s = {:.2} unlocks/s",
        wall.as_secs_f64(),
        users as f64 / wall.as_secs_f64()
    );

    let (balance, ledger) = app.balance_and_ledger("bench-par-0").await;
    assert_eq!(balance, ledger, "the benchmark must not break the ledger");
    app.stop().await;
}
