//! Unlock benchmark: end-to-end latency (p50/p95) of `POST /api/insights/unlock` → settled, on
//! 10k-message chats with the offline analyst and Qdrant Edge, sustained unlocks per second
//! with N concurrent users, and beside them the raw cost of a workflow running six no-op
//! activities in parallel on the same dev server. Prints figures; asserts nothing.
//!
//!   scripts/test is not needed: `cargo bench -p relivchats-tests --bench unlock`
//!   (uses TEMPORAL_ADDRESS if set, else starts a dev server). Knobs: BENCH_CHAT_MESSAGES
//!   (10000), BENCH_SEQUENTIAL (10), BENCH_USERS (8), BENCH_UNLOCKS (6 per user),
//!   BENCH_NOOP (20), BENCH_TEXT (`varied`, or `repetitive`: the
//!   eight-line chat of the first sessions).
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
use relivchats_activities::providers::analyst_cpu_time;
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

mod chats;
mod cpu;

use chats::chat_text;
use cpu::{cpu_by_process, print_analyst_share, print_cpu};

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
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

/// Runs `runs` six-no-op workflows from `clients` clients in a closed loop; returns each
/// one's latency and the wall-clock time of the whole run.
async fn noop_baseline(app: &TestApp, runs: usize, clients: usize) -> (Vec<Duration>, Duration) {
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
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (_, result) = tokio::join!(worker.run(), async {
        let result = closed_loop(clients, || {
            (next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < runs).then_some(async {
                let t = Instant::now();
                let options = WorkflowStartOptions::new(
                    queue.clone(),
                    format!("bench-noop-{}", Uuid::new_v4()),
                )
                .build();
                let h = client
                    .start_workflow(SixNoops::run, 0, options)
                    .await
                    .unwrap();
                h.get_result(WorkflowGetResultOptions::default())
                    .await
                    .unwrap();
                t.elapsed()
            })
        })
        .await;
        shutdown();
        result
    });
    result
}

/// `clients` tasks in a closed loop: each starts the next run as soon as its previous one is
/// done, until `next` has none left. Returns each run's duration (as the run measures it) and
/// the wall-clock time of the whole loop.
async fn closed_loop<F: Future<Output = Duration>>(
    clients: usize,
    next: impl Fn() -> Option<F>,
) -> (Vec<Duration>, Duration) {
    let started = Instant::now();
    let samples = join_all((0..clients).map(|_| async {
        let mut mine = Vec::new();
        while let Some(run) = next() {
            mine.push(run.await);
        }
        mine
    }))
    .await
    .into_iter()
    .flatten()
    .collect();
    (samples, started.elapsed())
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
        noop_baseline(&app, noops, 1).await.0,
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
    let analyst_before = analyst_cpu_time();
    let cpu_before = cpu_by_process();
    let (latencies, wall) = closed_loop(users, || {
        let (user, chat) = queue.lock().unwrap().next()?;
        let app = &app;
        Some(async move { one_unlock(app, &user, chat, family).await })
    })
    .await;
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
    print_cpu(&cpu_before, &cpu_after, wall, total, "unlock");
    print_analyst_share(
        analyst_cpu_time() - analyst_before,
        &cpu_before,
        &cpu_after,
        total,
    );

    // The same closed loop with the no-op workflow: what the Temporal server alone allows.
    let cpu_before = cpu_by_process();
    let (noop_latencies, noop_wall) = noop_baseline(&app, total * 2, users).await;
    let cpu_after = cpu_by_process();
    summary(
        &format!("no-op workflow, {users} clients in a closed loop"),
        noop_latencies,
    );
    println!(
        "no-op baseline: {} workflows by {users} clients in {:.2} s = {:.2} workflows/s",
        total * 2,
        noop_wall.as_secs_f64(),
        (total * 2) as f64 / noop_wall.as_secs_f64()
    );
    print_cpu(&cpu_before, &cpu_after, noop_wall, total * 2, "workflow");

    let (balance, ledger) = app.balance_and_ledger("bench-par-0").await;
    assert_eq!(balance, ledger, "the benchmark must not break the ledger");
    app.stop().await;
}
