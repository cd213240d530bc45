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
use relivchats_tests::{TestDatabase, temporal_server, wait_until};
use sqlx::PgPool;
use tokio::process::{Child, Command};
use uuid::Uuid;

mod codec;
mod corpus;
mod server;

use codec::codec_table;
use corpus::generate;
use server::Server;

const MAX_UPLOAD: usize = 25 * 1024 * 1024;

struct Size {
    label: &'static str,
    text: String,
    messages: usize,
    reps: usize,
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

fn ours_binary() -> PathBuf {
    if let Ok(p) = std::env::var("OURS_BIN") {
        return std::fs::canonicalize(&p).unwrap_or_else(|e| panic!("OURS_BIN={p}: {e}"));
    }
    relivchats_tests::relivchats_binary()
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
