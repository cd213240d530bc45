//! Tests of the chunker: line rendering and keyword text, the partition of messages into
//! chunks, quiet-gap and size cuts with their overlap, and oversized messages.

use super::*;
use chrono::NaiveDate;

#[test]
fn line_stamps_match_the_strftime_pattern() {
    let mut t = NaiveDate::from_ymd_opt(1999, 12, 31)
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .unwrap();
    for step in 0..2_000 {
        t += chrono::Duration::minutes(7919 + step % 3);
        let expected = format!("[{}] Asha: hi", t.format("%Y-%m-%d %H:%M"));
        assert_eq!(render_line(Some("Asha"), t, "hi"), expected);
    }
}

#[test]
fn keyword_text_drops_line_timestamps_only() {
    let line = render_line(
        Some("Asha"),
        NaiveDate::from_ymd_opt(2024, 1, 2)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap(),
        "plan the trip [soon]\nand book it",
    );
    assert_eq!(
        keyword_text(&format!("{line}\n[x] Ben: ok\nno stamp")),
        "Asha: plan the trip [soon]\n    and book it\n[x] Ben: ok\nno stamp\n"
    );
}

fn facts() -> ChatFacts {
    ChatFacts {
        participant_count: 2,
        is_group_chat: false,
        platform: "whatsapp".into(),
    }
}

fn at(minutes: i64) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2024, 3, 5)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap()
        + chrono::Duration::minutes(minutes)
}

fn msg(seq: i64, minute: i64, text: &str) -> SourceMessage {
    SourceMessage {
        id: Uuid::from_u128(seq as u128 + 1),
        seq,
        sender: Some(if seq % 2 == 0 { "Asha" } else { "Ben" }.to_owned()),
        content: text.to_owned(),
        timestamp: at(minute),
    }
}

/// Every message is owned by exactly one chunk, in order, whatever the input.
fn assert_partition(chunks: &[Chunk], n: i64) {
    let mut next = 0;
    for c in chunks {
        let m = &c.metadata;
        if m.part.is_some_and(|(i, _)| i > 1) {
            assert_eq!(m.first_seq, next - 1, "a later piece repeats its message");
            continue;
        }
        assert_eq!(
            m.first_seq, next,
            "chunk {} starts where the last ended",
            c.index
        );
        assert_eq!(m.message_count as i64, m.last_seq - m.first_seq + 1);
        assert_eq!(m.message_ids.len(), m.message_count);
        next = m.last_seq + 1;
    }
    assert_eq!(next, n, "no message is dropped at the end");
}

#[test]
fn partitions_messages_and_respects_the_budget() {
    let options = ChunkingOptions::default();
    let messages: Vec<_> = (0..500)
        .map(|i| {
            msg(
                i,
                i * 3 + (i / 40) * 300,
                &"word ".repeat((i % 17 + 1) as usize),
            )
        })
        .collect();
    let chunks = chunk_all(options, facts(), messages);
    assert!(chunks.len() > 5);
    assert_partition(&chunks, 500);
    for c in &chunks {
        assert!(
            c.token_count <= options.max_tokens,
            "{} > budget",
            c.token_count
        );
    }
    assert!(
        chunks
            .iter()
            .enumerate()
            .all(|(i, c)| c.index as usize == i)
    );
}

#[test]
fn quiet_gap_starts_a_new_chunk_without_overlap() {
    let options = ChunkingOptions {
        min_tokens: 10,
        ..Default::default()
    };
    let long = "a fairly long sentence to fill the chunk ".repeat(2);
    let mut messages: Vec<_> = (0..4).map(|i| msg(i, i, &long)).collect();
    messages.extend((4..8).map(|i| msg(i, 600 + i, &long)));
    let chunks = chunk_all(options, facts(), messages);
    assert_eq!(chunks.len(), 2);
    assert_eq!(chunks[1].metadata.first_seq, 4);
    assert_eq!(chunks[1].metadata.overlap_messages, 0);
    assert_eq!(chunks[0].metadata.speakers, vec!["Asha", "Ben"]);
}

#[test]
fn small_conversations_merge_instead_of_becoming_tiny_chunks() {
    let messages: Vec<_> = (0..6).map(|i| msg(i, i * 600, "ok")).collect();
    let chunks = chunk_all(ChunkingOptions::default(), facts(), messages);
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].metadata.message_count, 6);
}

#[test]
fn size_cut_carries_overlap_context() {
    let text = "x".repeat(200);
    let messages: Vec<_> = (0..20).map(|i| msg(i, i, &text)).collect();
    let chunks = chunk_all(ChunkingOptions::default(), facts(), messages);
    assert!(chunks.len() > 2);
    assert_partition(&chunks, 20);
    let second = &chunks[1];
    assert!(second.metadata.overlap_messages >= 1);
    let prev_last = chunks[0].text.lines().last().unwrap();
    assert!(
        second.text.starts_with(prev_last),
        "overlap repeats the previous tail"
    );
}

#[test]
fn oversized_message_is_split_not_dropped() {
    let huge = "y".repeat(5000);
    let messages = vec![msg(0, 0, "hi"), msg(1, 1, &huge), msg(2, 2, "bye")];
    let chunks = chunk_all(ChunkingOptions::default(), facts(), messages);
    assert_partition(&chunks, 3);
    let pieces: Vec<_> = chunks
        .iter()
        .filter(|c| c.metadata.part.is_some())
        .collect();
    assert!(pieces.len() >= 3);
    let joined: usize = pieces.iter().map(|c| c.text.chars().count()).sum();
    assert!(joined >= 5000, "all of the message is kept");
    assert!(chunks.iter().all(|c| c.token_count <= 400));
}

#[test]
fn renders_multiline_and_system_lines() {
    let line = render_line(None, at(0), "a\nb");
    assert_eq!(line, "[2024-03-05 08:00] WhatsApp: a\n    b");
}
