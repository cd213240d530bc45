//! The chats the benchmark uploads: varied text by default, or the repetitive worst case.

/// The chat a benchmark unlock works on: `BENCH_TEXT=varied` (the default) or `repetitive`.
pub(crate) fn chat_text(messages: usize, seed: usize) -> String {
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
