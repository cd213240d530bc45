//! The block codec alone, for choosing block sizes.

use super::*;

/// The block codec alone on the 25 MiB export, for choosing block size and zstd level:
/// encode (serialize + compress + encrypt) time and bytes, and the cost of opening the blocks
/// one page of 200 messages needs (on average ~1.2 blocks).
pub(super) fn codec_table(text: &str) {
    use relivchats_domain::{
        blocks::{BlockLimits, BlockWriter, open_block},
        crypto::Cipher,
        whatsapp,
    };
    let cipher = Cipher::new(&Cipher::generate_key()).unwrap();
    let chat = whatsapp::parse(text);
    let chat_id = Uuid::new_v4();
    println!(
        "block codec on the 25 MiB export ({} messages, one thread):",
        chat.messages.len()
    );
    println!("| messages/block | zstd level | encode | stored bytes | × export | open one block |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for (max_messages, level) in [
        (128, 3),
        (256, 3),
        (512, 3),
        (1024, 1),
        (1024, 3),
        (1024, 6),
        (2048, 3),
        (4096, 3),
    ] {
        let limits = BlockLimits {
            max_messages,
            max_bytes: usize::MAX / 2,
        };
        let start = Instant::now();
        let mut writer = BlockWriter::with_level(&cipher, chat_id, limits, level);
        let mut blocks: Vec<_> = chat
            .messages
            .iter()
            .filter_map(|m| writer.push(m.author.map(|a| a.0), m.timestamp, &m.text))
            .collect();
        blocks.extend(writer.finish());
        let encode = start.elapsed();
        let bytes: usize = blocks.iter().map(|b| b.ciphertext.len()).sum();
        let start = Instant::now();
        for b in &blocks {
            open_block(
                &cipher,
                chat_id,
                &b.header,
                &b.ciphertext,
                chat.participants.len(),
            )
            .unwrap();
        }
        let open = start.elapsed() / blocks.len() as u32;
        println!(
            "| {max_messages} | {level} | {:.3} s | {:.1} MB | {:.3} | {:.2} ms |",
            encode.as_secs_f64(),
            bytes as f64 / 1e6,
            bytes as f64 / text.len() as f64,
            open.as_secs_f64() * 1e3,
        );
    }
    println!();
}
