//! Parser and statistics throughput on generated chats of 100k and 1M messages.
//!
//! `cargo bench -p relivchats-domain --bench parse` prints MB/s, messages/s and peak
//! memory, and leaves the generated files in the temp directory (their paths are
//! printed) so `bench/peers.sh` can run whatstk and whatsapp-chat-parser on the same bytes.
//! Figures only, no assertions: see `docs/BENCHMARKS.md` for recorded runs.
//!
//! Peak memory is measured in a child process (this binary re-run with
//! `RELIVCHATS_BENCH_CHILD=<file>`): it reads the file, parses it, computes the statistics
//! and reports `VmHWM` from `/proc/self/status`, so earlier runs do not inflate it.

use std::time::{Duration, Instant};

use relivchats_domain::{import, whatsapp};

const SIZES: [usize; 2] = [100_000, 1_000_000];

fn main() {
    if let Ok(path) = std::env::var("RELIVCHATS_BENCH_CHILD") {
        return child(&path);
    }
    let filter: Option<usize> = std::env::var("RELIVCHATS_BENCH_SIZE")
        .ok()
        .and_then(|s| s.parse().ok());
    for n in SIZES.into_iter().filter(|n| filter.is_none_or(|f| f == *n)) {
        run(n);
    }
}

fn run(n: usize) {
    let text = generate(n);
    let path = std::env::temp_dir().join(format!("relivchats-bench-{n}.txt"));
    if let Err(e) = std::fs::write(&path, &text) {
        eprintln!("cannot write {}: {e}", path.display());
    }
    let bytes = text.into_bytes();
    let mb = bytes.len() as f64 / 1e6;
    let reps = if n >= 1_000_000 { 5 } else { 15 };
    // RELIVCHATS_BENCH_ONLY=parse: the parse loop alone, many times (for a profiler).
    if std::env::var("RELIVCHATS_BENCH_ONLY").as_deref() == Ok("parse") {
        let parse = best_of(reps * 4, || {
            let text = whatsapp::decode(&bytes).expect("generated text decodes");
            std::hint::black_box(whatsapp::parse(&text));
        });
        return report("parse only  ", mb, n, parse);
    }
    let mut messages = 0;
    let parse = best_of(reps, || {
        let text = whatsapp::decode(&bytes).expect("generated text decodes");
        let chat = whatsapp::parse(&text);
        messages = chat.messages.len();
        std::hint::black_box(&chat);
    });
    let full = best_of(reps, || {
        let text = whatsapp::decode(&bytes).expect("generated text decodes");
        let chat = whatsapp::parse(&text);
        std::hint::black_box(whatsapp::chat_metadata(&chat));
    });
    println!(
        "== {n} messages: {} ({mb:.1} MB, {messages} parsed)",
        path.display()
    );
    report("parse only  ", mb, messages, parse);
    report("parse+stats ", mb, messages, full);
    telegram(&bytes, reps);
    match peak_memory(&path) {
        Some((base, peak)) => println!(
            "  peak memory (read+parse+stats, child process): VmHWM {:.1} MB = {:.2}x the file (process baseline {:.1} MB)",
            peak / 1e6,
            peak / (mb * 1e6),
            base / 1e6
        ),
        None => println!("  peak memory: unavailable (no /proc/self/status)"),
    }
}

/// The same chat as a Telegram Desktop `result.json` (the messages the WhatsApp parser
/// read, rendered as Telegram writes them), through `import::read` → chat → statistics.
fn telegram(whatsapp_bytes: &[u8], reps: usize) {
    let text = whatsapp::decode(whatsapp_bytes).expect("decode");
    let chat = whatsapp::parse(&text);
    let mut out = String::with_capacity(whatsapp_bytes.len() * 2);
    out.push_str("{\"name\":\"Bench\",\"type\":\"personal_chat\",\"id\":1,\"messages\":[");
    for (i, m) in chat.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let date = m.timestamp.format("%Y-%m-%dT%H:%M:%S");
        let unix = m.timestamp.and_utc().timestamp();
        let body = serde_json::to_string(m.text).expect("json");
        match m.author {
            Some(a) => out.push_str(&format!(
                "\n{{\"id\":{i},\"type\":\"message\",\"date\":\"{date}\",\"date_unixtime\":\"{unix}\",\"from\":{},\"from_id\":\"user{}\",\"text\":{body},\"text_entities\":[]}}",
                serde_json::to_string(a).expect("json"),
                m.author_id.map_or(0, |id| id.0),
            )),
            None => out.push_str(&format!(
                "\n{{\"id\":{i},\"type\":\"service\",\"date\":\"{date}\",\"date_unixtime\":\"{unix}\",\"actor\":\"x\",\"action\":\"invite_members\",\"members\":[\"y\"],\"text\":\"\"}}"
            )),
        }
    }
    out.push_str("\n]}\n");
    let json = out.into_bytes();
    let mb = json.len() as f64 / 1e6;
    let mut messages = 0;
    let parse = best_of(reps.min(5), || {
        let upload = import::read(&json).expect("telegram json reads");
        let chat = upload.chat();
        messages = chat.messages.len();
        std::hint::black_box(&chat);
    });
    let full = best_of(reps.min(5), || {
        let upload = import::read(&json).expect("telegram json reads");
        std::hint::black_box(whatsapp::chat_metadata(&upload.chat()));
    });
    println!("  telegram result.json of the same chat: {mb:.1} MB, {messages} messages");
    report("tg parse    ", mb, messages, parse);
    report("tg +stats   ", mb, messages, full);
}

fn report(what: &str, mb: f64, messages: usize, t: Duration) {
    let s = t.as_secs_f64();
    println!(
        "  {what} best {:>8.1} ms  {:>7.1} MB/s  {:>6.2} M messages/s",
        s * 1e3,
        mb / s,
        messages as f64 / s / 1e6
    );
}

fn best_of(reps: usize, mut f: impl FnMut()) -> Duration {
    (0..reps)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn peak_memory(path: &std::path::Path) -> Option<(f64, f64)> {
    let exe = std::env::current_exe().ok()?;
    let out = std::process::Command::new(exe)
        .env("RELIVCHATS_BENCH_CHILD", path)
        .output()
        .ok()?;
    let s = String::from_utf8_lossy(&out.stdout);
    let mut it = s.split_whitespace().map(|v| v.parse::<f64>().ok());
    Some((it.next()??, it.next()??))
}

fn child(path: &str) {
    let base = vm_hwm().unwrap_or(0.0);
    let bytes = std::fs::read(path).expect("read bench file");
    let text = whatsapp::decode(&bytes).expect("decode");
    let chat = whatsapp::parse(&text);
    let meta = whatsapp::chat_metadata(&chat);
    std::hint::black_box((&chat, &meta));
    println!("{base} {}", vm_hwm().unwrap_or(0.0));
}

/// Peak resident memory of this process, bytes.
fn vm_hwm() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0)
}

/// A deterministic, realistic chat: two main participants and a few occasional ones,
/// short and long messages, emoji, links, media placeholders, deleted stubs, multi-line
/// messages and system lines, with gaps from seconds to days.
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

/// Common English and Hinglish words plus generated ones, so the vocabulary is realistic.
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
    // Zipf-like: repeat common words so they dominate, as in real chats.
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
