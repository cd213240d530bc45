//! Offline analyst time per insight, on the groundings production would build: the labelled
//! chats of `tests/fixtures/insight-eval`, and a 10k-message two-person chat made from their
//! lines (the unlock bench's chat size; retrieval keeps 12 chunks of it, as `RAG_TOP_K`).
//!
//! `cargo bench -p relivchats-domain --bench analyst` prints mean and max milliseconds per
//! insight. Figures only, no assertions: see `docs/BENCHMARKS.md`.

use std::time::Instant;

use relivchats_domain::{
    analyst::{self, eval},
    catalogue::InsightTypeSpec,
    retrieval::LlmRequest,
};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn types() -> Vec<InsightTypeSpec> {
    std::fs::read_dir(format!("{ROOT}/seed/insight_types"))
        .unwrap()
        .map(|e| {
            serde_json::from_str(&std::fs::read_to_string(e.unwrap().path()).unwrap()).unwrap()
        })
        .collect()
}

fn chat(name: &str) -> eval::EvalChat {
    let dir = format!("{ROOT}/tests/fixtures/insight-eval");
    eval::EvalChat {
        name: name.to_owned(),
        text: std::fs::read_to_string(format!("{dir}/{name}.txt")).unwrap(),
        labels: serde_json::from_str(
            &std::fs::read_to_string(format!("{dir}/{name}.json")).unwrap(),
        )
        .unwrap(),
    }
}

/// 10k messages between Asha and Ben, their words taken in turn from the labelled couples.
fn big_chat() -> eval::EvalChat {
    let mut lines: Vec<(usize, String)> = Vec::new();
    for name in [
        "romantic_dinner",
        "romantic_sweet",
        "romantic_distance",
        "romantic_unrepaired",
        "friendship_banter",
        "friendship_repair",
    ] {
        let c = chat(name);
        let mut speakers: Vec<String> = Vec::new();
        for line in c.text.lines() {
            let Some((_, rest)) = line.split_once(" - ") else {
                continue;
            };
            let Some((who, text)) = rest.split_once(": ") else {
                continue;
            };
            let i = speakers.iter().position(|s| s == who).unwrap_or_else(|| {
                speakers.push(who.to_owned());
                speakers.len() - 1
            });
            lines.push((i % 2, text.to_owned()));
        }
    }
    let mut text = String::new();
    let start = chrono::NaiveDate::from_ymd_opt(2023, 1, 1)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap();
    for n in 0..10_000 {
        let (who, line) = &lines[n % lines.len()];
        let t = start + chrono::Duration::minutes(n as i64 * 37);
        text.push_str(&format!(
            "{} - {}: {line}\n",
            t.format("%d/%m/%Y, %H:%M"),
            ["Asha", "Ben"][*who]
        ));
    }
    let mut c = chat("romantic_dinner");
    c.name = "big".to_owned();
    c.text = text;
    c
}

fn time(label: &str, requests: &[LlmRequest], reps: usize) {
    let mut times = Vec::new();
    for _ in 0..reps {
        for r in requests {
            let started = Instant::now();
            std::hint::black_box(analyst::write_insight(&r.response_schema, &r.grounding));
            times.push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    let max = times.iter().copied().fold(0.0, f64::max);
    println!(
        "{label}: {} insights, {mean:.2} ms mean, {max:.2} ms max ({})",
        times.len(),
        analyst::MODEL_ID
    );
}

fn main() {
    let types = types();
    let mut labelled = Vec::new();
    let dir = format!("{ROOT}/tests/fixtures/insight-eval");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "txt").then(|| p.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    for name in &names {
        labelled.extend(eval::requests(&chat(name), &types, 12, 12_000).unwrap());
    }
    time("labelled chats, all 24 types that apply", &labelled, 5);
    let big = big_chat();
    let requests = eval::requests(&big, &types, 12, 12_000).unwrap();
    let excerpts: usize = requests
        .iter()
        .map(|r| r.grounding.excerpts.len())
        .sum::<usize>()
        / requests.len().max(1);
    println!("10k-message chat: {excerpts} excerpts per insight on average");
    time("10k-message chat, all 24 types", &requests, 5);
}
