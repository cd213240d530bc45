//! The chats the bench uploads: the parser bench's generator.

/// The parser bench's generator (`domain/benches/parse.rs`): an Android export, mostly two
/// participants plus three occasional ones, 1–9 words a message (one in ten up to 40), emoji,
/// links, multi-line messages, media, deleted stubs, calls, system lines; deterministic.
pub(super) fn generate(n: usize) -> String {
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
