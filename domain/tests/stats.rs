//! `chat_metadata`: every key the earlier service returned (and the frontend reads), thresholds at their edges.

use relivchats_domain::whatsapp::{self, ChatMetadata, MessageKind, UserStats};
use serde_json::Value;

fn meta(text: &str) -> ChatMetadata {
    whatsapp::chat_metadata(&whatsapp::parse(text))
}

fn user<'m>(m: &'m ChatMetadata, name: &str) -> &'m UserStats {
    m.user_stats
        .get(name)
        .unwrap_or_else(|| panic!("no user {name}"))
}

/// `HH:MM:SS` on 2024-03-01 (a Friday) as an Android header with seconds.
fn line(time: &str, who: &str, text: &str) -> String {
    format!("01/03/2024, {time} - {who}: {text}\n")
}

#[test]
fn top_level_keys_are_exactly_the_contract_plus_new_ones() {
    let v = serde_json::to_value(meta(&line("10:00:00", "A", "hi"))).expect("json");
    let keys: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let old = [
        "total_messages",
        "total_words",
        "date_range",
        "total_days",
        "messages_per_day_avg",
        "messages_by_date",
        "deleted_messages_count",
        "media_shared_count",
        "links_shared_count",
        "links",
        "busiest_hour",
        "busiest_day",
        "hourly_distribution",
        "daily_distribution",
        "top_words",
        "top_emojis",
        "user_stats",
    ];
    let new = [
        "system_messages_count",
        "edited_messages_count",
        "unreadable_lines_count",
        "parser",
        "extended",
    ];
    let mut want: Vec<&str> = old.iter().chain(new.iter()).copied().collect();
    want.sort_unstable();
    let mut got = keys.clone();
    got.sort_unstable();
    assert_eq!(got, want);
    let user_keys: Vec<String> = v["user_stats"]["A"]
        .as_object()
        .expect("user")
        .keys()
        .cloned()
        .collect();
    let mut user_keys: Vec<&str> = user_keys.iter().map(String::as_str).collect();
    user_keys.sort_unstable();
    let mut want_user = vec![
        "message_count",
        "word_count",
        "avg_words_per_message",
        "avg_message_length_chars",
        "deleted_messages",
        "media_shared",
        "links_shared",
        "conversation_initiations",
        "double_texting_rate",
        "questions_asked",
        "avg_response_time_seconds",
        "top_words",
        "top_emojis",
        "busiest_hour",
        "hourly_distribution",
        "longest_message",
    ];
    want_user.sort_unstable();
    assert_eq!(user_keys, want_user);
    assert_eq!(v["hourly_distribution"].as_array().map(Vec::len), Some(24));
    let days: Vec<&String> = v["daily_distribution"]
        .as_object()
        .expect("days")
        .keys()
        .collect();
    assert_eq!(days.len(), 7);
    assert_eq!(v["date_range"]["start"], "2024-03-01T10:00:00");
    assert!(v["messages_per_day_avg"].is_f64());
}

#[test]
fn counts_dates_and_distributions() {
    let text = [
        line("10:00:00", "A", "one"),
        line("10:30:00", "B", "two"),
        "02/03/2024, 09:00:00 - B: three\n".to_string(),
        "04/03/2024, 09:00:00 - A: four\n".to_string(),
        "04/03/2024, 09:05:00 - A created group \"x\"\n".to_string(),
    ]
    .concat();
    let m = meta(&text);
    assert_eq!(m.total_messages, 4);
    assert_eq!(m.system_messages_count, 1);
    assert_eq!(m.date_range.start.as_deref(), Some("2024-03-01T10:00:00"));
    assert_eq!(m.date_range.end.as_deref(), Some("2024-03-04T09:00:00"));
    // 2 days 23 hours between first and last: floor(2.96) + 1.
    assert_eq!(m.total_days, 3);
    assert_eq!(m.messages_per_day_avg, 1.33);
    assert_eq!(m.messages_by_date.get("2024-03-01"), Some(&2));
    assert_eq!(m.messages_by_date.get("2024-03-03"), None);
    assert_eq!(m.hourly_distribution[9], 2);
    assert_eq!(
        m.busiest_hour, 9,
        "9 and 10 tie at 2: the earlier hour wins"
    );
    assert_eq!(m.daily_distribution.0, [1, 0, 0, 0, 2, 1, 0]);
    assert_eq!(m.busiest_day, "Friday");
}

#[test]
fn word_rules_and_stopwords() {
    let text = [
        line(
            "10:00:00",
            "A",
            "The pizza is GREAT great, pizza! aur kya hai",
        ),
        line(
            "10:01:00",
            "A",
            "missed call voice video omitted https://pizza.example/pizza we",
        ),
        line("10:02:00", "A", "<Media omitted>"),
        line("10:03:00", "A", "This message was deleted"),
        line("10:04:00", "A", "Missed voice call"),
        line("10:05:00", "A", "pizza😍party नमस्ते ok"),
    ]
    .concat();
    let m = meta(&text);
    let words: Vec<(&str, u64)> = m
        .top_words
        .iter()
        .map(|w| (w.word.as_str(), w.count))
        .collect();
    // Words in other scripts count whole (issue 14), virama and all.
    assert_eq!(
        words,
        [("pizza", 2), ("great", 2), ("pizzaparty", 1), ("नमस्ते", 1)]
    );
    assert_eq!(m.total_words, 6);
    let a = user(&m, "A");
    assert_eq!(a.word_count, 6);
    assert_eq!(a.message_count, 6);
    assert_eq!(a.avg_words_per_message, 1.0);
}

#[test]
fn classes_counts_and_lengths() {
    let text = [
        line("10:00:00", "A", "<Media omitted>"),
        line("10:01:00", "A", "This message was deleted"),
        line("10:02:00", "A", "abcd"),
        line("10:03:00", "A", "Missed voice call"),
        line("10:04:00", "A", "fixed <This message was edited>"),
    ]
    .concat();
    let m = meta(&text);
    assert_eq!(
        (
            m.media_shared_count,
            m.deleted_messages_count,
            m.edited_messages_count
        ),
        (1, 1, 1)
    );
    let a = user(&m, "A");
    assert_eq!((a.media_shared, a.deleted_messages), (1, 1));
    // Calls still count for characters: (4 + 17 + 31) / 3.
    assert_eq!(a.avg_message_length_chars, 17.33);
    let kinds: Vec<MessageKind> = whatsapp::parse(&text)
        .messages
        .iter()
        .map(|m| m.kind)
        .collect();
    use MessageKind::*;
    assert_eq!(kinds, [Media, Deleted, Text, Call, Edited]);
}

#[test]
fn initiations_at_exactly_six_hours() {
    let text = [
        line("00:00:00", "A", "first"),
        line("05:59:59", "B", "just under 6 h"),
        line("11:59:59", "B", "exactly 6 h later"),
    ]
    .concat();
    let m = meta(&text);
    assert_eq!(user(&m, "A").conversation_initiations, 1);
    assert_eq!(user(&m, "B").conversation_initiations, 1);
}

#[test]
fn response_times_only_inside_four_hours() {
    let text = [
        line("00:00:00", "A", "q"),
        line("00:01:40", "B", "100 s reply"),
        line("00:01:40", "A", "0 s: not counted"),
        line("04:01:40", "B", "exactly 4 h: not counted"),
        line("08:01:39", "A", "4 h minus 1 s: counted"),
        line("08:01:39", "A", "same sender: not a response"),
    ]
    .concat();
    let m = meta(&text);
    assert_eq!(user(&m, "B").avg_response_time_seconds, 100.0);
    assert_eq!(user(&m, "A").avg_response_time_seconds, 14399.0);
}

#[test]
fn double_texting_runs() {
    // Runs: A(2) B(1) A(1) B(3) → A: 1 of 2 runs, B: 1 of 2 runs.
    let text = ["A", "A", "B", "A", "B", "B", "B"]
        .iter()
        .enumerate()
        .map(|(i, w)| line(&format!("10:{i:02}:00"), w, "x"))
        .collect::<String>();
    let m = meta(&text);
    assert_eq!(user(&m, "A").double_texting_rate, 50.0);
    assert_eq!(user(&m, "B").double_texting_rate, 50.0);
    let text =
        line("10:00:00", "A", "x") + &line("10:01:00", "B", "y") + &line("10:02:00", "B", "z");
    let m = meta(&text);
    assert_eq!(user(&m, "A").double_texting_rate, 0.0);
    assert_eq!(user(&m, "B").double_texting_rate, 100.0);
}

#[test]
fn questions_links_and_cap() {
    let mut text = line(
        "10:00:00",
        "A",
        "where? see http://a.example and https://b.example/x?y",
    );
    for i in 0..1_005 {
        text.push_str(&line("10:01:00", "B", &format!("https://l.example/{i}")));
    }
    let m = meta(&text);
    assert_eq!(user(&m, "A").questions_asked, 1);
    assert_eq!(user(&m, "A").links_shared, 2);
    assert_eq!(user(&m, "B").links_shared, 1_005);
    assert_eq!(m.links.len(), 1_000);
    assert_eq!(m.links_shared_count, 1_000);
    assert_eq!(m.links[0].url, "http://a.example");
    assert_eq!(m.links[0].user, "A");
    assert_eq!(m.links[0].timestamp, "2024-03-01T10:00:00");
    assert_eq!(m.links[999].url, "https://l.example/997");
}

#[test]
fn emoji_with_skin_tones_flags_and_zwj() {
    let text = line("10:00:00", "A", "👍🏽👍 👍🏿 🇮🇳🇮🇳 👨‍👩‍👧 ❤️ hi😂");
    let m = meta(&text);
    let got: Vec<(&str, u64)> = m
        .top_emojis
        .iter()
        .map(|e| (e.emoji.as_str(), e.count))
        .collect();
    assert_eq!(got, [("👍", 3), ("🇮🇳", 2), ("👨‍👩‍👧", 1), ("❤️", 1), ("😂", 1)]);
    assert_eq!(user(&m, "A").top_emojis.len(), 5);
}

#[test]
fn top_lists_are_capped() {
    let words: String = (0..60)
        .map(|i| {
            format!(
                "word{} ",
                char::from(b'a' + (i % 26) as u8)
                    .to_string()
                    .repeat(i / 26 + 1)
            )
        })
        .collect();
    let emojis: String = (0x1F600u32..0x1F600 + 45)
        .filter_map(char::from_u32)
        .collect();
    let m = meta(&line("10:00:00", "A", &format!("{words} {emojis}")));
    assert_eq!(m.top_words.len(), 50);
    assert_eq!(m.top_emojis.len(), 40);
    assert_eq!(user(&m, "A").top_words.len(), 50);
}

#[test]
fn longest_message_is_cut_at_500_chars() {
    let long = "é".repeat(501);
    let text = line("10:00:00", "A", "the quick brown fox")
        + &line("10:01:00", "A", &long)
        + &line("10:02:00", "B", "<Media omitted>");
    let m = meta(&text);
    let l = &user(&m, "A").longest_message;
    assert_eq!(l.char_count, 501);
    assert_eq!(
        l.message.as_deref(),
        Some(format!("{}...", "é".repeat(500)).as_str())
    );
    assert_eq!(l.timestamp.as_deref(), Some("2024-03-01T10:01:00"));
    let b = serde_json::to_value(&user(&m, "B").longest_message).expect("json");
    assert_eq!(
        b,
        serde_json::json!({"word_count": 0, "char_count": 0, "timestamp": null, "message": null})
    );
    let m = meta(&line("10:00:00", "A", "I am the best, ok? yes!"));
    assert_eq!(user(&m, "A").longest_message.word_count, 3);
}

#[test]
fn unsorted_chats_are_read_in_time_order() {
    let text = line("10:10:00", "A", "later")
        + &line("10:00:00", "B", "earlier")
        + &line("10:20:00", "A", "last");
    let m = meta(&text);
    assert_eq!(m.date_range.start.as_deref(), Some("2024-03-01T10:00:00"));
    assert_eq!(user(&m, "B").conversation_initiations, 1);
    assert_eq!(user(&m, "A").double_texting_rate, 100.0);
}

#[test]
fn empty_chat_has_defaults() {
    let v = serde_json::to_value(meta("")).expect("json");
    assert_eq!(v["total_messages"], 0);
    assert_eq!(
        v["date_range"],
        serde_json::json!({"start": null, "end": null})
    );
    assert_eq!(v["total_days"], 0);
    assert_eq!(v["user_stats"], serde_json::json!({}));
    assert_eq!(v["parser"]["platform"], Value::from("unknown"));
}

#[test]
fn participants_keep_order_of_first_appearance() {
    let m = meta(&(line("10:00:00", "Zed", "a") + &line("10:01:00", "Amy", "b")));
    let names: Vec<&str> = m.user_stats.0.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["Zed", "Amy"]);
    let json = serde_json::to_string(&m.user_stats).expect("json");
    assert!(json.find("Zed").expect("zed") < json.find("Amy").expect("amy"));
}
