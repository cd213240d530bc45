//! Upload benchmark: `POST /api/chats/upload` through the real API to Postgres, for chats of
//! 1k, 10k and 100k messages and a 25 MiB export, this build (message blocks) side by side
//! with a baseline binary (the per-message-row layout, built from commit b95164a). Prints
//! figures; asserts nothing.
//!
//! ```sh
//! git worktree add --detach ../baseline b95164a
//! (cd ../baseline && cargo build --release -p relivchats)
//! cargo build --release -p relivchats
//! BASELINE_BIN=../baseline/target/release/relivchats cargo bench -p relivchats-tests --bench upload
//! ```
//!
//! Both servers run as child processes (`relivchats serve`, development settings, each on its
//! own fresh database), so each one's CPU time is read from `/proc/<pid>/stat`, and
//! PostgreSQL's from the backends serving that database (`pg_stat_activity`; the shared
//! background writer, checkpointer and WAL writer are not counted). Per size: a warm-up
//! upload, then BENCH_REPS uploads (default 20, 10, 5, 5), one at a time; p50/p95 of the
//! time to the 200 (client side, body read); stored bytes are the growth of the message
//! storage (table + TOAST + indexes) and of the whole database, per message and × export.
//! OURS_BIN overrides this build's binary (default: `target/release/relivchats`, next to
//! this bench).

#![allow(unreachable_pub)]

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use relivchats_api::auth::{Secret, mint_dev_token};
use relivchats_domain::UserId;
use relivchats_tests::{TestDatabase, temporal_server};
use sqlx::PgPool;
use tokio::process::{Child, Command};
use uuid::Uuid;

const MAX_UPLOAD: usize = 25 * 1024 * 1024;

struct Size {
    label: &'static str,
    text: String,
    messages: usize,
    reps: usize,
}

struct Server {
    name: &'static str,
    /// Which table holds the messages.
    table: &'static str,
    child: Child,
    port: u16,
    pool: PgPool,
    database: TestDatabase,
    token: String,
    http: reqwest::Client,
}

#[derive(Debug, Default, Clone)]
struct Figures {
    p50: Duration,
    p95: Duration,
    ours_cpu: f64,
    pg_cpu: f64,
    table_bytes: i64,
    db_bytes: i64,
    /// Reading the whole chat back through the messages page.
    read: Duration,
}

fn knob(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn clock_ticks() -> f64 {
    // Linux's USER_HZ is 100 on every architecture we run on.
    100.0
}

/// utime + stime of a process, in seconds (0 if it is gone).
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // The command name is in parentheses and may hold spaces: fields follow the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (tick(11) + tick(12)) / clock_ticks()
}

async fn backend_pids(pool: &PgPool, database: &str) -> Vec<u32> {
    sqlx::query_scalar::<_, i32>(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(database)
    .fetch_all(pool)
    .await
    .unwrap_or_default()
    .into_iter()
    .map(|p| p as u32)
    .collect()
}

async fn pg_cpu(pool: &PgPool, database: &str) -> Vec<(u32, f64)> {
    backend_pids(pool, database)
        .await
        .into_iter()
        .map(|p| (p, cpu_seconds(p)))
        .collect()
}

fn pg_cpu_delta(before: &[(u32, f64)], after: &[(u32, f64)]) -> f64 {
    after
        .iter()
        .map(|(pid, t)| {
            let start = before
                .iter()
                .find(|(p, _)| p == pid)
                .map_or(0.0, |(_, t)| *t);
            t - start
        })
        .sum()
}

async fn sizes(pool: &PgPool, table: &str) -> (i64, i64) {
    sqlx::query_as(&format!(
        "SELECT pg_total_relation_size('{table}'), pg_database_size(current_database())"
    ))
    .fetch_one(pool)
    .await
    .unwrap()
}

impl Server {
    async fn start(name: &'static str, table: &'static str, binary: &Path, temporal: &str) -> Self {
        let database = TestDatabase::create().await;
        let port = temporal_server::free_port();
        let secret = Uuid::new_v4().simple().to_string();
        let data_dir = std::env::temp_dir().join(format!("relivchats-upload-{}", Uuid::new_v4()));
        let child = Command::new(binary)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("ENVIRONMENT", "development")
            .env("DATABASE_URL", &database.url)
            .env("DATABASE_MAX_CONNECTIONS", "5")
            .env("TEMPORAL_ADDRESS", temporal)
            .env("TEMPORAL_TASK_QUEUE", format!("upload-bench-{name}"))
            .env("DATA_DIR", &data_dir)
            .env("DEV_AUTH_SECRET", &secret)
            .env("AUTH_MODE", "dev")
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let ready = http
                .get(format!("http://127.0.0.1:{port}/health/ready"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "{name} did not become ready");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let pool = PgPool::connect(&database.url).await.unwrap();
        let token = mint_dev_token(
            &Secret::new(secret),
            &UserId::parse("upload-bench").unwrap(),
            None,
            Duration::from_secs(6 * 3600),
        )
        .unwrap();
        Self {
            name,
            table,
            child,
            port,
            pool,
            database,
            token,
            http,
        }
    }

    async fn upload(&self, text: &str) -> (Duration, String) {
        let part = reqwest::multipart::Part::bytes(text.as_bytes().to_vec()).file_name("chat.txt");
        let form = reqwest::multipart::Form::new().part("file", part);
        let start = Instant::now();
        let response = self
            .http
            .post(format!("http://127.0.0.1:{}/api/chats/upload", self.port))
            .bearer_auth(&self.token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body = response.bytes().await.unwrap();
        let elapsed = start.elapsed();
        assert_eq!(
            status,
            200,
            "{} upload failed: {}",
            self.name,
            String::from_utf8_lossy(&body)
        );
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        (elapsed, body["chat_id"].as_str().unwrap().to_owned())
    }

    /// Every message of a chat through `GET /messages`, pages of 1000 (what a reader pays).
    async fn read_all(&self, chat_id: &str) -> (Duration, usize) {
        let start = Instant::now();
        let (mut cursor, mut count) = (None::<String>, 0);
        loop {
            let mut url = format!(
                "http://127.0.0.1:{}/api/chats/{chat_id}/messages?limit=1000",
                self.port
            );
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let page: serde_json::Value = self
                .http
                .get(url)
                .bearer_auth(&self.token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            count += page["messages"].as_array().map_or(0, Vec::len);
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        (start.elapsed(), count)
    }

    async fn measure(&self, size: &Size) -> Figures {
        self.upload(&size.text).await; // warm-up: pool connections, caches
        let pid = self.child.id().unwrap_or(0);
        let (table0, db0) = sizes(&self.pool, self.table).await;
        let pg0 = pg_cpu(&self.pool, &self.database.name).await;
        let ours0 = cpu_seconds(pid);
        let mut times = Vec::with_capacity(size.reps);
        let mut last_chat = String::new();
        for _ in 0..size.reps {
            let (t, chat) = self.upload(&size.text).await;
            times.push(t);
            last_chat = chat;
        }
        let ours = cpu_seconds(pid) - ours0;
        let pg = pg_cpu_delta(&pg0, &pg_cpu(&self.pool, &self.database.name).await);
        // Let autovacuum-free growth settle: sizes are read after the last commit.
        let (table1, db1) = sizes(&self.pool, self.table).await;
        let (read, read_count) = self.read_all(&last_chat).await;
        assert_eq!(
            read_count, size.messages,
            "{} reads back every message",
            self.name
        );
        times.sort();
        let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
        Figures {
            p50: pct(0.5),
            p95: pct(0.95),
            ours_cpu: ours / size.reps as f64,
            pg_cpu: pg / size.reps as f64,
            table_bytes: (table1 - table0) / size.reps as i64,
            db_bytes: (db1 - db0) / size.reps as i64,
            read,
        }
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
        self.pool.close().await;
        self.database.drop_now().await;
    }
}

fn ours_binary() -> PathBuf {
    if let Ok(p) = std::env::var("OURS_BIN") {
        return std::fs::canonicalize(&p).unwrap_or_else(|e| panic!("OURS_BIN={p}: {e}"));
    }
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("relivchats");
    assert!(
        path.exists(),
        "{} is missing: `cargo build --release -p relivchats` first (or set OURS_BIN)",
        path.display()
    );
    path
}

fn main() {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(run());
}

async fn run() {
    let reps = knob("BENCH_REPS");
    let mut sizes = Vec::new();
    for (label, n, default_reps) in [("1k", 1_000, 20), ("10k", 10_000, 10), ("100k", 100_000, 5)] {
        let text = generate(n);
        let messages = relivchats_domain::whatsapp::parse(&text).messages.len();
        sizes.push(Size {
            label,
            text,
            messages,
            reps: reps.unwrap_or(default_reps),
        });
    }
    // The largest export the API accepts: messages until just under 25 MiB.
    let mut big = generate(MAX_UPLOAD / 70);
    let cut = big[..MAX_UPLOAD - 1024].rfind('\n').unwrap() + 1;
    big.truncate(cut);
    let big_messages = relivchats_domain::whatsapp::parse(&big).messages.len();
    sizes.push(Size {
        label: "25 MiB",
        text: big,
        messages: big_messages,
        reps: reps.unwrap_or(5),
    });
    if std::env::var("BENCH_CODEC").as_deref() != Ok("0") {
        codec_table(&sizes.last().unwrap().text);
    }
    if let Ok(only) = std::env::var("BENCH_SIZES") {
        sizes.retain(|s| only.split(',').any(|o| o.trim() == s.label));
    }

    let temporal = temporal_server::shared_address().await;
    let mut variants: Vec<(&'static str, &'static str, PathBuf)> =
        vec![("blocks (this build)", "message_blocks", ours_binary())];
    match std::env::var("BASELINE_BIN") {
        Ok(p) => variants.push((
            "rows (b95164a)",
            "messages",
            std::fs::canonicalize(&p).unwrap_or_else(|e| panic!("BASELINE_BIN={p}: {e}")),
        )),
        Err(_) => println!("BASELINE_BIN unset: this build only"),
    }
    let mut results: Vec<(&str, Vec<Figures>)> = Vec::new();
    for (name, table, binary) in &variants {
        let server = Server::start(name, table, binary, &temporal).await;
        let mut figures = Vec::new();
        for size in &sizes {
            let f = server.measure(size).await;
            println!(
                "{name:<20} {:>7}: p50 {:>8.3} s  p95 {:>8.3} s",
                size.label,
                f.p50.as_secs_f64(),
                f.p95.as_secs_f64()
            );
            figures.push(f);
        }
        server.stop().await;
        results.push((name, figures));
    }

    println!();
    println!(
        "| layout | chat | export | p50 | p95 | CPU ours | CPU Postgres | message storage / msg | × export | whole DB growth × export | read all back |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (name, figures) in &results {
        for (size, f) in sizes.iter().zip(figures) {
            let export = size.text.len() as f64;
            println!(
                "| {name} | {} ({} msgs) | {:.1} MB | {:.3} s | {:.3} s | {:.3} s | {:.3} s | {:.0} B | {:.2} | {:.2} | {:.3} s |",
                size.label,
                size.messages,
                export / 1e6,
                f.p50.as_secs_f64(),
                f.p95.as_secs_f64(),
                f.ours_cpu,
                f.pg_cpu,
                f.table_bytes as f64 / size.messages as f64,
                f.table_bytes as f64 / export,
                f.db_bytes as f64 / export,
                f.read.as_secs_f64(),
            );
        }
    }
}

/// The block codec alone on the 25 MiB export, for choosing block size and zstd level:
/// encode (serialize + compress + encrypt) time and bytes, and the cost of opening the blocks
/// one page of 200 messages needs (on average ~1.2 blocks).
fn codec_table(text: &str) {
    use relivchats_domain::{
        blocks::{BlockLimits, BlockWriter, open_block},
        crypto::Cipher,
        whatsapp,
    };
    let cipher = Cipher::new(&Cipher::generate_key()).unwrap();
    let chat = whatsapp::parse(text);
    let chat_id = Uuid::new_v4();
    println!(
        "block codec on the 25 MiB export ({} messages, one thread):",
        chat.messages.len()
    );
    println!("| messages/block | zstd level | encode | stored bytes | × export | open one block |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for (max_messages, level) in [
        (128, 3),
        (256, 3),
        (512, 3),
        (1024, 1),
        (1024, 3),
        (1024, 6),
        (2048, 3),
        (4096, 3),
    ] {
        let limits = BlockLimits {
            max_messages,
            max_bytes: usize::MAX / 2,
        };
        let start = Instant::now();
        let mut writer = BlockWriter::with_level(&cipher, chat_id, limits, level);
        let mut blocks: Vec<_> = chat
            .messages
            .iter()
            .filter_map(|m| writer.push(m.author.map(|a| a.0), m.timestamp, &m.text))
            .collect();
        blocks.extend(writer.finish());
        let encode = start.elapsed();
        let bytes: usize = blocks.iter().map(|b| b.ciphertext.len()).sum();
        let start = Instant::now();
        for b in &blocks {
            open_block(
                &cipher,
                chat_id,
                &b.header,
                &b.ciphertext,
                chat.participants.len(),
            )
            .unwrap();
        }
        let open = start.elapsed() / blocks.len() as u32;
        println!(
            "| {max_messages} | {level} | {:.3} s | {:.1} MB | {:.3} | {:.2} ms |",
            encode.as_secs_f64(),
            bytes as f64 / 1e6,
            bytes as f64 / text.len() as f64,
            open.as_secs_f64() * 1e3,
        );
    }
    println!();
}

/// The parser bench's generator (`domain/benches/parse.rs`): an Android export, mostly two
/// participants plus three occasional ones, 1–9 words a message (one in ten up to 40), emoji,
/// links, multi-line messages, media, deleted stubs, calls, system lines; deterministic.
fn generate(n: usize) -> String {
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let vocab = vocabulary(&mut rng);
    let names = [
        "Aarav Sharma",
        "Meera",
        "Rohan K.",
        "Priya 🌸",
        "+91 98765 43210",
    ];
    let emoji = ["😂", "❤️", "👍🏽", "🙏", "😍", "🔥", "🇮🇳", "👨‍👩‍👧", "😭", "🥰"];
    let mut out = String::with_capacity(n * 80);
    let mut t = chrono::NaiveDate::from_ymd_opt(2019, 1, 1)
        .and_then(|d| d.and_hms_opt(8, 0, 0))
        .expect("date");
    out.push_str(&format!("{} - Messages and calls are end-to-end encrypted. No one outside of this chat, not even WhatsApp, can read or listen to them. Tap to learn more.\n", t.format("%d/%m/%Y, %H:%M")));
    let mut speaker = 0usize;
    for _ in 1..n {
        let gap = match rng.below(100) {
            0..=59 => rng.below(90),
            60..=94 => rng.below(3_600),
            _ => rng.below(40_000),
        };
        t += chrono::Duration::seconds(gap as i64 + 1);
        if rng.below(100) < 45 {
            speaker = if rng.below(100) < 93 {
                1 - speaker.min(1)
            } else {
                2 + rng.below(3) as usize
            };
        }
        out.push_str(&t.format("%d/%m/%Y, %H:%M - ").to_string());
        let roll = rng.below(1000);
        if roll < 2 {
            out.push_str(&format!("{} added {}\n", names[0], names[4]));
            continue;
        }
        out.push_str(names[speaker]);
        out.push_str(": ");
        match roll {
            2..=31 => out.push_str("<Media omitted>"),
            32..=36 => out.push_str("This message was deleted"),
            37..=41 => out.push_str("Missed voice call"),
            _ => {
                let max_words = if rng.below(10) == 0 { 40 } else { 9 };
                let words = 1 + rng.below(max_words) as usize;
                for w in 0..words {
                    if w > 0 {
                        out.push(if rng.below(40) == 0 { '\n' } else { ' ' });
                    }
                    match rng.below(100) {
                        0..=5 => out.push_str(emoji[rng.below(emoji.len() as u64) as usize]),
                        6 => out.push_str(&format!("https://example.com/p/{}", rng.below(100_000))),
                        _ => out.push_str(&vocab[rng.below(vocab.len() as u64) as usize]),
                    }
                }
                if rng.below(8) == 0 {
                    out.push('?');
                }
            }
        }
        out.push('\n');
    }
    out
}

fn vocabulary(rng: &mut Rng) -> Vec<String> {
    let common = "the I you to and a it is that of in me my we for on have be so what just with are \
        but not this do was can no yes ok okay haha lol love like know don't go time will get \
        good how now see tomorrow today call home come yaar kya hai nahi acha theek bhai \
        sure thanks please sorry night morning baby miss send photo food work done going";
    let mut v: Vec<String> = common.split_whitespace().map(str::to_owned).collect();
    let syllables = [
        "ka", "ri", "mo", "ta", "ne", "shi", "lu", "ve", "ra", "pa", "do", "mi", "sa", "te",
    ];
    for _ in 0..3_000 {
        let len = 2 + rng.below(3) as usize;
        v.push(
            (0..len)
                .map(|_| syllables[rng.below(syllables.len() as u64) as usize])
                .collect(),
        );
    }
    let head: Vec<String> = v[..80].to_vec();
    for _ in 0..20 {
        v.extend(head.iter().cloned());
    }
    v
}

/// xorshift64*: deterministic across platforms and runs.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}
