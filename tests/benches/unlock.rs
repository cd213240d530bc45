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

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The chat a benchmark unlock works on: `BENCH_TEXT=varied` (the default) or `repetitive`.
fn chat_text(messages: usize, seed: usize) -> String {
    match std::env::var("BENCH_TEXT").as_deref() {
        Ok("repetitive") => repetitive_chat(messages, seed),
        _ => varied_chat(messages, seed),
    }
}

/// Eight lines over and over: every BM25 token is in every chunk, so every posting list is as
/// long as the shard's appendable segment (the first sessions' benchmark input; a worst case).
fn repetitive_chat(messages: usize, seed: usize) -> String {
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

/// A chat shaped like a real one: a Zipf-like vocabulary (common English and Hinglish words
/// dominate, a long tail of rarer ones), 1–9 words a message with one in ten up to 30, some
/// emoji, media and questions; deterministic per seed.
fn varied_chat(messages: usize, seed: usize) -> String {
    const COMMON: &str = "the I you to and a it is that of in me my we for on have be so what just \
        with are but not this do was can no yes ok okay haha lol love like know don't go time will \
        get good how now see tomorrow today call home come yaar kya hai nahi acha theek bhai sure \
        thanks please sorry night morning baby miss send photo food work done going";
    const TAIL: [&str; 48] = [
        "trip", "weekend", "dinner", "cook", "deadline", "office", "meeting", "boss", "mom", "dad",
        "sister", "brother", "movie", "song", "birthday", "gift", "party", "doctor", "sick",
        "tired", "sleep", "coffee", "train", "flight", "hotel", "beach", "rain", "exam", "result",
        "proud", "angry", "upset", "fight", "together", "future", "wedding", "house", "rent",
        "salary", "shopping", "dress", "cricket", "match", "gym", "diet", "pizza", "biryani",
        "chai",
    ];
    const EMOJI: [&str; 8] = ["😂", "❤️", "👍🏽", "🙏", "😍", "🔥", "😭", "🥰"];
    let mut rng = seed as u64 * 0x9E37_79B9_7F4A_7C15 + 0x5EED;
    let mut below = move |n: u64| {
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        rng.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    };
    let common: Vec<&str> = COMMON.split_whitespace().collect();
    // Generated rare words (a few thousand), so most of a chunk's distinct words are uncommon.
    let syllables = [
        "ka", "ri", "mo", "ta", "ne", "shi", "lu", "ve", "ra", "pa", "do", "mi",
    ];
    let mut rare: Vec<String> = Vec::with_capacity(3_000);
    for _ in 0..3_000 {
        let mut word = String::new();
        for _ in 0..2 + below(3) {
            word.push_str(syllables[below(syllables.len() as u64) as usize]);
        }
        rare.push(word);
    }
    let mut out = String::with_capacity(messages * 60);
    let mut minute = 0u64;
    for _ in 0..messages {
        minute += 1 + below(20);
        let (day, hour, min) = (minute / 1440, (minute / 60) % 24, minute % 60);
        let (month, day) = (1 + (day / 28) % 12, 1 + day % 28);
        let who = if below(100) < 52 { "Asha" } else { "Ben" };
        out.push_str(&format!(
            "{day:02}/{month:02}/2023, {hour:02}:{min:02} - {who}: "
        ));
        if below(40) == 0 {
            out.push_str("<Media omitted>\n");
            continue;
        }
        let longest = if below(10) == 0 { 30 } else { 9 };
        let words = 1 + below(longest);
        for w in 0..words {
            if w > 0 {
                out.push(' ');
            }
            let word = match below(100) {
                0..=59 => common[below(common.len() as u64) as usize],
                60..=79 => TAIL[below(TAIL.len() as u64) as usize],
                80..=84 => EMOJI[below(EMOJI.len() as u64) as usize],
                _ => &rare[below(rare.len() as u64) as usize],
            };
            out.push_str(word);
        }
        if below(8) == 0 {
            out.push('?');
        }
        out.push('\n');
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

/// Prints the CPU seconds each process spent between two [`cpu_by_process`] readings.
fn print_cpu(
    before: &HashMap<String, f64>,
    after: &HashMap<String, f64>,
    wall: Duration,
    runs: usize,
    unit: &str,
) {
    let mut spent: Vec<(String, f64)> = after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v > 0.05)
        .collect();
    spent.sort_by(|a, b| b.1.total_cmp(&a.1));
    println!(
        "CPU meanwhile ({:.1} s of wall clock × 2 cores = {:.1} CPU-s): {}",
        wall.as_secs_f64(),
        wall.as_secs_f64() * 2.0,
        spent
            .iter()
            .map(|(k, v)| format!("{k} {v:.1} s ({:.0} ms/{unit})", v * 1e3 / runs as f64))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// The offline analyst's part of this process's CPU during the closed loop: the thread CPU
/// time spent inside it (counted by the provider), against the process's whole CPU time.
fn print_analyst_share(
    analyst: Duration,
    before: &HashMap<String, f64>,
    after: &HashMap<String, f64>,
    runs: usize,
) {
    let process = after.get("this process").copied().unwrap_or(0.0)
        - before.get("this process").copied().unwrap_or(0.0);
    let analyst = analyst.as_secs_f64();
    println!(
        "offline analyst ({}): {:.0} ms/unlock of this process's {:.0} ms/unlock = {:.1}% of its CPU",
        relivchats_domain::analyst::MODEL_ID,
        analyst * 1e3 / runs as f64,
        process * 1e3 / runs as f64,
        100.0 * analyst / process.max(1e-9)
    );
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
