//! Unlock benchmark: end-to-end latency (p50/p95) of `POST /api/insights/unlock` → settled, on
//! 10k-message chats with the offline analyst and Qdrant Edge, sustained unlocks per second
//! with N concurrent users, and beside them the raw cost of a workflow running six no-op
//! activities in parallel on the same dev server. Prints figures; asserts nothing.
//!
//!   scripts/test is not needed: `cargo bench -p relivchats-tests --bench unlock`
//!   (uses TEMPORAL_ADDRESS if set, else starts a dev server). Knobs: BENCH_CHAT_MESSAGES
//!   (10000), BENCH_SEQUENTIAL (10), BENCH_USERS (8), BENCH_UNLOCKS (6 per user),
//!   BENCH_NOOP (20), BENCH_DB_CONNECTIONS (20).
//!
//! Sustained throughput is a closed loop: BENCH_USERS clients, each unlocking the next
//! pre-uploaded chat as soon as its previous unlock settled, until BENCH_UNLOCKS are done.
//! It also prints the CPU seconds each process on the machine spent meanwhile (this process
//! — API, worker, activities, Qdrant Edge —, the Temporal server, PostgreSQL), since on two
//! cores that is where the ceiling comes from.

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

/// Gives `user` the coins of one unlock (400).
async fn grant_price(app: &TestApp, user: &str) {
    relivchats_api::ledger::admin_adjust(&app.pool, &UserId::parse(user).unwrap(), 400, "bench")
        .await
        .unwrap();
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

/// CPU seconds (user + system) used so far by every live process, summed by command name
/// (this benchmark's own process is reported as "this process"). Linux only; empty elsewhere.
fn cpu_by_process() -> HashMap<String, f64> {
    let mut out = HashMap::new();
    let me = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in entries.flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = if pid == me {
            "this process".to_owned()
        } else {
            stat[open + 1..close].to_owned()
        };
        let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let ticks: f64 = fields
            .get(11..13)
            .map(|f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum())
            .unwrap_or(0.0);
        // USER_HZ is 100 on every Linux this runs on.
        *out.entry(name).or_insert(0.0) += ticks / 100.0;
    }
    out
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
        grant_price(&app, &user).await;
        let t = Instant::now();
        let chat = app
            .upload_chat(&app.token(&user), &chat_text(messages, i))
            .await;
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

    // Sustained throughput: N clients in a closed loop over pre-uploaded chats.
    let total = knob("BENCH_UNLOCKS", users * 6).max(users);
    let mut queue = Vec::new();
    for i in 0..total {
        let user = format!("bench-par-{}", i % users);
        grant_price(&app, &user).await;
        queue.push((
            user.clone(),
            app.upload_chat(&app.token(&user), &chat_text(messages, 100 + i))
                .await,
        ));
    }
    let queue = std::sync::Mutex::new(queue.into_iter());
    let cpu_before = cpu_by_process();
    let started = Instant::now();
    let latencies: Vec<Duration> = join_all((0..users).map(|_| async {
        let mut mine = Vec::new();
        loop {
            let next = queue.lock().unwrap().next();
            let Some((user, chat)) = next else { break };
            mine.push(one_unlock(&app, &user, chat, family).await);
        }
        mine
    }))
    .await
    .into_iter()
    .flatten()
    .collect();
    let wall = started.elapsed();
    let cpu_after = cpu_by_process();
    summary(
        &format!("unlock latency, {users} clients in a closed loop"),
        latencies,
    );
    println!(
        "sustained: {total} unlocks by {users} clients in {:.2} s = {:.2} unlocks/s",
        wall.as_secs_f64(),
        total as f64 / wall.as_secs_f64()
    );
    let mut spent: Vec<(String, f64)> = cpu_after
        .iter()
        .map(|(k, v)| (k.clone(), v - cpu_before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v > 0.05)
        .collect();
    spent.sort_by(|a, b| b.1.total_cmp(&a.1));
    println!(
        "CPU meanwhile ({:.1} s of wall clock × 2 cores = {:.1} CPU-s): {}",
        wall.as_secs_f64(),
        wall.as_secs_f64() * 2.0,
        spent
            .iter()
            .map(|(k, v)| format!("{k} {v:.1} s ({:.0} ms/unlock)", v * 1e3 / total as f64))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let (balance, ledger) = app.balance_and_ledger("bench-par-0").await;
    assert_eq!(balance, ledger, "the benchmark must not break the ledger");
    app.stop().await;
}
