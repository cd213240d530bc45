//! Tests of the block layout, kept apart from the code they check.

use chrono::NaiveDate;

use super::*;

fn cipher() -> Cipher {
    Cipher::new(&Cipher::generate_key()).unwrap()
}

fn ts(minute: i64) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2016, 8, 12)
        .unwrap()
        .and_hms_opt(16, 20, 0)
        .unwrap()
        + chrono::Duration::minutes(minute)
}

fn sample() -> Vec<(Option<u32>, NaiveDateTime, String)> {
    vec![
        (Some(0), ts(0), "Hi Ben!".to_owned()),
        (
            Some(1),
            ts(1),
            "Yes!! 😀\nand a second line\n\nand a fourth".to_owned(),
        ),
        (None, ts(1), "Messages are end-to-end encrypted.".to_owned()),
        (Some(0), ts(-5), String::new()),
        (Some(1), ts(60 * 24 * 400), "a year later ❤️".to_owned()),
    ]
}

fn write(
    cipher: &Cipher,
    chat: Uuid,
    limits: BlockLimits,
    messages: &[(Option<u32>, NaiveDateTime, String)],
) -> Vec<SealedBlock> {
    let mut writer = BlockWriter::new(cipher, chat, limits);
    let mut blocks: Vec<SealedBlock> = messages
        .iter()
        .filter_map(|(s, t, text)| writer.push(*s, *t, text))
        .collect();
    blocks.extend(writer.finish());
    blocks
}

fn read_all(cipher: &Cipher, chat: Uuid, blocks: &[SealedBlock]) -> Vec<BlockMessage> {
    blocks
        .iter()
        .flat_map(|b| open_block(cipher, chat, &b.header, &b.ciphertext, 2).unwrap())
        .collect()
}

#[test]
fn round_trips_across_every_block_size() {
    let cipher = cipher();
    let chat = Uuid::new_v4();
    let messages = sample();
    for max_messages in 1..=6 {
        let limits = BlockLimits {
            max_messages,
            max_bytes: 1 << 20,
        };
        let blocks = write(&cipher, chat, limits, &messages);
        assert_eq!(blocks.len(), messages.len().div_ceil(max_messages));
        let mut seq = 0;
        for (no, b) in blocks.iter().enumerate() {
            assert_eq!(b.header.block_no, no as i32);
            assert_eq!(b.header.first_seq, seq);
            seq += b.header.message_count;
        }
        let read = read_all(&cipher, chat, &blocks);
        assert_eq!(read.len(), messages.len());
        for (i, (m, (sender, t, text))) in read.iter().zip(&messages).enumerate() {
            assert_eq!(m.seq, i as i32);
            assert_eq!((m.sender, m.timestamp, &m.text), (*sender, *t, text));
        }
    }
}

/// The byte limit is crossed inside the multi-line message: that message ends its block
/// whole, and the next one starts the next block.
#[test]
fn a_long_message_ends_its_block_whole() {
    let cipher = cipher();
    let chat = Uuid::new_v4();
    let messages = sample();
    let limits = BlockLimits {
        max_messages: 100,
        max_bytes: 12,
    };
    let blocks = write(&cipher, chat, limits, &messages);
    assert_eq!(
        blocks[0].header.message_count, 2,
        "Hi Ben! + the multi-line one"
    );
    assert_eq!(blocks[1].header.first_seq, 2);
    let read = read_all(&cipher, chat, &blocks);
    assert_eq!(read[1].text, messages[1].2);
    assert_eq!(read.len(), messages.len());
}

#[test]
fn tampering_is_an_error_never_other_text() {
    let cipher = cipher();
    let chat = Uuid::new_v4();
    let limits = BlockLimits {
        max_messages: 2,
        max_bytes: 1 << 20,
    };
    let blocks = write(&cipher, chat, limits, &sample());
    let b = &blocks[0];
    for i in 0..b.ciphertext.len() {
        let mut bytes = b.ciphertext.clone();
        bytes[i] ^= 0x01;
        assert!(
            matches!(
                open_block(&cipher, chat, &b.header, &bytes, 2),
                Err(BlockError::Undecryptable { .. })
            ),
            "flipping byte {i}"
        );
    }
    // A valid block under another row: another chat, position or timestamp.
    let other = Uuid::new_v4();
    assert!(matches!(
        open_block(&cipher, other, &b.header, &b.ciphertext, 2),
        Err(BlockError::Corrupt {
            reason: "it belongs to another chat",
            ..
        })
    ));
    assert!(open_block(&cipher, chat, &blocks[1].header, &b.ciphertext, 2).is_err());
    let mut moved = b.header;
    moved.last_ts = ts(99);
    assert!(open_block(&cipher, chat, &moved, &b.ciphertext, 2).is_err());
    // A sender list shorter than the block's senders.
    assert!(matches!(
        open_block(&cipher, chat, &b.header, &b.ciphertext, 1),
        Err(BlockError::Corrupt { .. })
    ));
    let other_key = Cipher::new(&Cipher::generate_key()).unwrap();
    assert!(open_block(&other_key, chat, &b.header, &b.ciphertext, 2).is_err());
}

#[test]
fn message_ids_are_stable_and_distinct() {
    let chat = Uuid::new_v4();
    assert_eq!(message_id(chat, 7), message_id(chat, 7));
    assert_ne!(message_id(chat, 7), message_id(chat, 8));
    assert_ne!(message_id(chat, 7), message_id(Uuid::new_v4(), 7));
}

#[test]
fn varints_and_zigzag() {
    for v in [0i64, 1, -1, 63, -64, 1 << 40, i64::MIN, i64::MAX] {
        let mut out = Vec::new();
        put_varint(&mut out, zigzag(v));
        let mut r = Reader { bytes: &out };
        assert_eq!(unzigzag(r.varint().unwrap()), v);
        assert!(r.bytes.is_empty());
    }
}
