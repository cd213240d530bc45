//! A stable-Rust stand-in for the cargo-fuzz targets in `fuzz/` (which need nightly):
//! mutated fixtures and zip archives, from a fixed seed, through decode → parse →
//! statistics → CLI JSON. Nothing may panic, and the CLI output must stay valid JSON.
//! Inputs that once crashed the fuzzers live in `tests/fixtures/` as regressions.

use std::path::Path;

use relivchats_domain::whatsapp::{self, DecodeLimits};

/// Mutations per seed file; bounded so the suite stays fast in debug builds.
const ROUNDS: usize = 60;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes that matter to the parser: separators, digits, marks, markers.
const INTERESTING: &[&[u8]] = &[
    b"\n",
    b"\r\n",
    b"[",
    b"]",
    b" - ",
    b": ",
    b"/",
    b".",
    b"-",
    b",",
    b"0",
    b"9",
    b"13",
    b"31",
    b"99",
    "\u{200E}".as_bytes(),
    "\u{202F}".as_bytes(),
    "\u{2068}".as_bytes(),
    b"\xEF\xBB\xBF",
    b"\xFF\xFE",
    b"\xFE\xFF",
    b"\0",
    b"PM",
    "p. m.".as_bytes(),
    "午後".as_bytes(),
    "٣".as_bytes(),
    b"<Media omitted>",
    "👍🏽".as_bytes(),
    "👨‍👩‍👧".as_bytes(),
    "\u{200D}".as_bytes(),
    "🇮".as_bytes(),
    b"https://",
    b"\xF0\x9F",
    b"PK\x05\x06",
    b"PK\x03\x04",
];

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(v.len() + 1);
        match rng.below(6) {
            0 if !v.is_empty() => {
                let end = (at + rng.below(16)).min(v.len());
                v.drain(at.min(end)..end);
            }
            1 => {
                let piece = INTERESTING[rng.below(INTERESTING.len())];
                v.splice(at..at, piece.iter().copied());
            }
            2 if at < v.len() => v[at] = rng.next() as u8,
            3 if !v.is_empty() => {
                let start = rng.below(v.len());
                let end = (start + rng.below(64)).min(v.len());
                let chunk = v[start..end].to_vec();
                v.splice(at..at, chunk);
            }
            4 => v.truncate(at),
            _ => v.insert(at.min(v.len()), rng.next() as u8),
        }
    }
    v
}

fn exercise(bytes: &[u8]) {
    let limits = DecodeLimits {
        max_text_bytes: 1 << 20,
        max_entries: 64,
    };
    let lossy = String::from_utf8_lossy(bytes);
    let decoded = whatsapp::decode_with(bytes, limits).ok();
    for text in [Some(lossy.as_ref()), decoded.as_deref()]
        .into_iter()
        .flatten()
    {
        let chat = whatsapp::parse(text);
        let meta = whatsapp::chat_metadata(&chat);
        assert!(meta.total_messages as usize <= chat.messages.len());
        let json = whatsapp::cli_json(&chat);
        let parsed: serde_json::Value = serde_json::from_str(&json).expect("CLI output is JSON");
        assert_eq!(parsed.as_array().map(Vec::len), Some(chat.messages.len()));
        let _ = whatsapp::summary(&chat);
        let _ = serde_json::to_string(&meta).expect("metadata serialises");
    }
}

#[test]
fn mutated_fixtures_never_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut seeds: Vec<_> = std::fs::read_dir(dir)
        .expect("fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| !p.extension().is_some_and(|e| e == "json" || e == "error"))
        .collect();
    seeds.sort();
    let mut rng = Rng(0x00C0_FFEE_D00D_F00D);
    for seed in seeds {
        let bytes = std::fs::read(&seed).expect("read");
        exercise(&bytes);
        for _ in 0..ROUNDS {
            exercise(&mutate(&mut rng, &bytes));
        }
    }
}

#[test]
fn random_header_soup_never_panics() {
    let mut rng = Rng(42);
    for _ in 0..400 {
        let mut v = Vec::new();
        for _ in 0..rng.below(30) {
            v.extend_from_slice(INTERESTING[rng.below(INTERESTING.len())]);
            if rng.below(3) == 0 {
                v.extend_from_slice(b"12/08/2016, 16:20 - A: x");
            }
        }
        exercise(&v);
    }
}

/// The upload entry point on an input: whatever it reads gives statistics and CLI JSON.
fn exercise_import(bytes: &[u8]) {
    let Ok(upload) = relivchats_domain::import::read(bytes) else {
        return;
    };
    let chat = upload.chat();
    let meta = whatsapp::chat_metadata(&chat);
    assert!(meta.total_messages as usize <= chat.messages.len());
    let json = whatsapp::cli_json(&chat);
    let parsed: serde_json::Value = serde_json::from_str(&json).expect("CLI output is JSON");
    assert_eq!(parsed.as_array().map(Vec::len), Some(chat.messages.len()));
    let _ = serde_json::to_string(&meta).expect("metadata serialises");
}

#[test]
fn mutated_telegram_and_meta_exports_never_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let seeds = [
        "telegram_personal.json",
        "telegram_group_service.json",
        "telegram_full_account.json",
        "instagram_message_1.json",
        "messenger_message_1.json",
        "messenger_zip_two_parts.zip",
    ];
    let mut rng = Rng(0x7E1E_64A4);
    for seed in seeds {
        let bytes = std::fs::read(dir.join(seed)).expect("read");
        exercise_import(&bytes);
        for _ in 0..ROUNDS * 2 {
            exercise_import(&mutate(&mut rng, &bytes));
        }
    }
}
