//! `chat_metadata.extended`: the statistics beyond the earlier service's keys (`tests/stats.rs`), and the
//! locale fixes that change what the old keys count (words with non-ASCII letters,
//! localized placeholders).

use relivchats_domain::whatsapp::{self, ChatMetadata};

fn meta(text: &str) -> ChatMetadata {
    whatsapp::chat_metadata(&whatsapp::parse(text))
}

/// `dd/mm/yyyy, HH:MM:SS - who: text`.
fn line(date: &str, time: &str, who: &str, text: &str) -> String {
    format!("{date}, {time} - {who}: {text}\n")
}

#[test]
fn response_time_median_and_p90_overall_and_per_month() {
    // B answers A after 10, 20, 30, … 100 s in January, and after 600 s once in February.
    let mut text = String::new();
    for (i, gap) in (1..=10).map(|k| k * 10).enumerate() {
        let h = 10 + i;
        text += &line("01/01/2024", &format!("{h:02}:00:00"), "A", "q");
        text += &line(
            "01/01/2024",
            &format!("{h:02}:{:02}:{:02}", gap / 60, gap % 60),
            "B",
            "a",
        );
    }
    text += &line("01/02/2024", "10:00:00", "A", "q");
    text += &line("01/02/2024", "10:10:00", "B", "a");
    let m = meta(&text);
    let b = m.extended.response_times.get("B").expect("B");
    assert_eq!(b.count, 11);
    // Sorted: 10 … 100, 600: median is the 6th value, p90 the 10th (nearest rank).
    assert_eq!((b.median_seconds, b.p90_seconds), (Some(60), Some(100)));
    let jan = &b.by_month["2024-01"];
    assert_eq!(
        (jan.count, jan.median_seconds, jan.p90_seconds),
        (10, 50, 90)
    );
    assert_eq!(b.by_month["2024-02"].median_seconds, 600);
    // A's next question, under an hour after B's answer, is a reply too (under 4 h); the
    // February one, a month later, is not.
    let a = m.extended.response_times.get("A").expect("A");
    assert_eq!(a.count, 9);
}

#[test]
fn matrix_streaks_silence_conversations_endings() {
    let text = [
        // Friday 1 March 2024, Saturday 2, Sunday 3, then a gap, Wednesday 6.
        line("01/03/2024", "10:00:00", "A", "hi"),
        line("01/03/2024", "10:01:00", "B", "hey"),
        line("01/03/2024", "10:02:00", "A", "how are you?"),
        line("02/03/2024", "09:00:00", "B", "morning"),
        line("03/03/2024", "09:00:00", "A", "sunday"),
        line("03/03/2024", "09:05:00", "B", "yes"),
        line("06/03/2024", "21:00:00", "A", "back"),
    ]
    .concat();
    let e = meta(&text).extended;
    assert_eq!(e.weekday_hour[4][10], 3);
    assert_eq!(e.weekday_hour[5][9], 1);
    assert_eq!(e.weekday_hour[6][9], 2);
    assert_eq!(e.weekday_hour[2][21], 1);
    assert_eq!(e.weekday_hour.iter().flatten().sum::<u64>(), 7);
    assert_eq!((e.streaks.active_days, e.streaks.longest_days), (4, 3));
    assert_eq!(e.streaks.longest_start.as_deref(), Some("2024-03-01"));
    assert_eq!(e.streaks.longest_end.as_deref(), Some("2024-03-03"));
    assert_eq!(e.streaks.last_days, 1);
    let silence = e.longest_silence.expect("silence");
    assert_eq!(silence.start, "2024-03-03T09:05:00");
    assert_eq!(silence.end, "2024-03-06T21:00:00");
    let conv = e.longest_conversation.expect("conversation");
    assert_eq!((conv.messages, conv.span.seconds), (3, 120));
    // Conversations end with A (10:02), B (morning), B (09:05), A (the last message).
    assert_eq!(e.conversation_endings.get("A"), Some(&2));
    assert_eq!(e.conversation_endings.get("B"), Some(&2));
    // "how are you?" got an answer only the next morning: unanswered.
    assert_eq!(e.unanswered_questions.get("A"), Some(&1));
    assert_eq!(e.unanswered_questions.get("B"), Some(&0));
    assert_eq!(e.monthly_messages.get("A").expect("A")["2024-03"], 4);
    assert!(e.reply_matrix.0.is_empty(), "two people: no matrix");
}

#[test]
fn media_calls_links_polls_locations() {
    let text = [
        "[01/03/2024, 10:00:00] A: \u{200E}image omitted\n",
        "[01/03/2024, 10:00:01] A: \u{200E}video omitted\n",
        "[01/03/2024, 10:00:02] B: \u{200E}audio omitted\n",
        "[01/03/2024, 10:00:03] B: \u{200E}sticker omitted\n",
        "[01/03/2024, 10:00:04] B: \u{200E}GIF omitted\n",
        "[01/03/2024, 10:00:05] A: \u{200E}Missed voice call\n",
        "[01/03/2024, 10:00:06] B: \u{200E}Video call\n",
        "[01/03/2024, 10:00:07] A: see https://www.YouTube.com/watch?v=1 and https://youtube.com/x\n",
        "[01/03/2024, 10:00:08] B: https://example.org:8080/a\n",
        "[01/03/2024, 10:00:09] A: \u{200E}POLL:\n\u{200E}Pizza?\n\u{200E}OPTION: yes (1 vote)\n",
        "[01/03/2024, 10:00:10] B: \u{200E}Location: https://maps.google.com/?q=41.0,29.0\n",
    ]
    .concat();
    let m = meta(&text);
    let e = &m.extended;
    let t = e.media_by_type;
    assert_eq!(
        (t.image, t.video, t.audio, t.sticker, t.gif, t.other),
        (1, 1, 1, 1, 1, 0)
    );
    assert_eq!(m.media_shared_count, 5);
    assert_eq!(
        (e.calls.total, e.calls.voice, e.calls.video, e.calls.missed),
        (2, 1, 1, 1)
    );
    let domains: Vec<(&str, u64)> = e
        .links_by_domain
        .iter()
        .map(|d| (d.domain.as_str(), d.count))
        .collect();
    // Ties keep first-seen order; the location pin's link counts too.
    assert_eq!(
        domains,
        [
            ("youtube.com", 2),
            ("example.org", 1),
            ("maps.google.com", 1)
        ]
    );
    assert_eq!(e.polls.total, 1);
    assert_eq!(e.polls.by_person.get("A"), Some(&1));
    assert_eq!(e.locations.total, 1);
    assert_eq!(e.locations.by_person.get("B"), Some(&1));
    assert_eq!(e.platform, "whatsapp");
}

#[test]
fn group_reply_matrix_and_distinctive_words() {
    let mut text = String::new();
    for i in 0..6 {
        let t = |s: u32| format!("10:{i:02}:{s:02}");
        text += &line("01/03/2024", &t(0), "A", "football football match tonight");
        text += &line("01/03/2024", &t(10), "B", "knitting knitting wool tonight");
        text += &line("01/03/2024", &t(20), "C", "tonight");
        text += &line("01/03/2024", &t(30), "B", "wool");
    }
    let e = meta(&text).extended;
    let row_b = e.reply_matrix.get("B").expect("B row");
    // B answers A 6 times and C 6 times; A answers B 5 times (after B's "wool").
    assert_eq!(row_b.get("A"), Some(&6));
    assert_eq!(row_b.get("C"), Some(&6));
    assert_eq!(e.reply_matrix.get("A").expect("A row").get("B"), Some(&5));
    assert_eq!(e.unique_words.get("A"), Some(&3));
    assert_eq!(e.unique_words.get("C"), Some(&1));
    let words = |who: &str| -> Vec<String> {
        e.distinctive_words
            .get(who)
            .expect("words")
            .iter()
            .map(|d| d.word.clone())
            .collect()
    };
    assert_eq!(words("A")[0], "football");
    assert_eq!(words("B")[0], "knitting");
    // "tonight" is everyone's: distinctive for nobody.
    assert!(!words("A").contains(&"tonight".to_owned()));
}

#[test]
fn non_ascii_words_stay_whole_and_locale_stopwords_drop() {
    let text = [
        line(
            "01/03/2024",
            "10:00:00",
            "Ayşe",
            "Ahmet grubu oluşturdu, çok güzel",
        ),
        line(
            "01/03/2024",
            "10:01:00",
            "Ahmet",
            "oluşturdu mu? bir şey yok",
        ),
        line("01/03/2024", "10:02:00", "Ayşe", "مرحبا مرحبا"),
    ]
    .concat();
    let m = meta(&text);
    let top: Vec<(&str, u64)> = m
        .top_words
        .iter()
        .map(|w| (w.word.as_str(), w.count))
        .collect();
    assert_eq!(top[0], ("oluşturdu", 2));
    assert!(top.contains(&("مرحبا", 2)));
    assert!(top.contains(&("güzel", 1)));
    assert!(
        !top.iter()
            .any(|(w, _)| ["olu", "turdu", "çok", "bir", "yok"].contains(w))
    );
}

#[test]
fn chat_name_from_file_names_and_ios_group() {
    for (file, want) in [
        ("WhatsApp Chat with Alice.txt", Some("Alice")),
        ("downloads/WhatsApp Chat - Family 🌸.zip", Some("Family 🌸")),
        ("WhatsApp Chat with Bob (1).txt", Some("Bob")),
        ("WhatsApp-Chat mit Jana.txt", Some("Jana")),
        ("_chat.txt", None),
        ("notes.txt", None),
    ] {
        assert_eq!(
            whatsapp::chat_name_from_file_name(file).as_deref(),
            want,
            "{file}"
        );
    }
    let chat = whatsapp::parse(
        "[02/03/2022, 10:00:01] Family: \u{200E}Mum created group “Family”\n[02/03/2022, 10:05:00] Mum: hi\n[02/03/2022, 10:06:00] Dad: hey\n",
    );
    assert_eq!(chat.chat_name.as_deref(), Some("Family"));
    assert_eq!(chat.title(), "Family");
    assert_eq!(
        whatsapp::chat_metadata(&chat).extended.chat_name.as_deref(),
        Some("Family")
    );
}
