//! The second half of `relivchats migrate`: chats whose messages are still one row each in
//! `messages` (the layout before blocks, some rows written by the earlier Python service) are
//! converted to `message_blocks`.
//!
//! A chat per transaction, claimed with `SKIP LOCKED`: a run that stops (crash, Ctrl-C) loses
//! only the chat it was converting, which the next run does again; two runs share the work.
//! Within a chat, rows are read in pages so a large chat does not sit in memory whole.
//! Converted chats have `legacy_messages = FALSE` and no rows left in `messages`: running it
//! again finds nothing to do.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use relivchats_domain::{
    blocks::{BlockLimits, BlockWriter, SealedBlock},
    crypto::Cipher,
};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Rows read (and decrypted) at once.
const PAGE_ROWS: i64 = 5_000;

/// What a conversion run did.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct ConversionReport {
    pub chats: u64,
    pub messages: u64,
    pub blocks: u64,
}

/// Converts every chat still in the per-message layout (see the module docs).
pub async fn convert(
    pool: &PgPool,
    cipher: &Cipher,
    limits: BlockLimits,
) -> anyhow::Result<ConversionReport> {
    let mut report = ConversionReport::default();
    loop {
        let mut tx = pool.begin().await?;
        let claimed: Option<(Uuid, Option<String>)> = sqlx::query_as(
            "SELECT id, participants FROM chats WHERE legacy_messages ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some((chat_id, participants)) = claimed else {
            break;
        };
        let (messages, blocks) = convert_chat(&mut tx, cipher, limits, chat_id, participants)
            .await
            .map_err(|e| e.context(format!("converting the messages of chat {chat_id}")))?;
        tx.commit().await?;
        tracing::info!(%chat_id, messages, blocks, "chat converted to message blocks");
        report.chats += 1;
        report.messages += messages;
        report.blocks += blocks;
    }
    Ok(report)
}

async fn convert_chat(
    conn: &mut PgConnection,
    cipher: &Cipher,
    limits: BlockLimits,
    chat_id: Uuid,
    participants: Option<String>,
) -> anyhow::Result<(u64, u64)> {
    // Senders index into the participant list; a sender the list lacks (possible in rows of
    // the earlier service) is appended to a chat-specific list stored in `chats.senders`.
    let mut senders: Vec<String> = match participants {
        Some(p) => cipher.decrypt_json(&p)?,
        None => Vec::new(),
    };
    let listed = senders.len();
    let mut index: HashMap<String, u32> = senders
        .iter()
        .enumerate()
        .map(|(i, s)| (s.clone(), i as u32))
        .collect();
    let mut writer = BlockWriter::new(cipher, chat_id, limits);
    let (mut messages, mut blocks) = (0u64, 0u64);
    let mut after_seq = i64::from(i32::MIN);
    loop {
        let rows: Vec<(i32, Option<String>, String, NaiveDateTime)> = sqlx::query_as(
            "SELECT seq, sender, content, timestamp FROM messages WHERE chat_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(chat_id)
        .bind(after_seq)
        .bind(PAGE_ROWS)
        .fetch_all(&mut *conn)
        .await?;
        let Some(last) = rows.last() else { break };
        after_seq = i64::from(last.0);
        let mut sealed = Vec::new();
        for (_, sender, content, timestamp) in rows {
            // `decrypt` also reads the earlier service's tokens and its unencrypted rows.
            let sender = match sender {
                Some(s) => {
                    let name = cipher.decrypt(&s)?;
                    let next = index.len() as u32;
                    let i = *index.entry(name.clone()).or_insert_with(|| {
                        senders.push(name);
                        next
                    });
                    Some(i)
                }
                None => None,
            };
            let text = cipher.decrypt(&content)?;
            sealed.extend(writer.push(sender, timestamp, &text));
            messages += 1;
        }
        blocks += insert_blocks(conn, chat_id, &sealed).await?;
    }
    if let Some(last) = writer.finish() {
        blocks += insert_blocks(conn, chat_id, &[last]).await?;
    }
    sqlx::query("DELETE FROM messages WHERE chat_id = $1")
        .bind(chat_id)
        .execute(&mut *conn)
        .await?;
    let own_senders = (senders.len() > listed).then(|| cipher.encrypt_json(&senders));
    sqlx::query(
        "UPDATE chats SET legacy_messages = FALSE, senders = $2, message_count = $3, updated_at = now() WHERE id = $1",
    )
    .bind(chat_id)
    .bind(own_senders)
    .bind(i32::try_from(messages).unwrap_or(i32::MAX))
    .execute(&mut *conn)
    .await?;
    Ok((messages, blocks))
}

async fn insert_blocks(
    conn: &mut PgConnection,
    chat_id: Uuid,
    blocks: &[SealedBlock],
) -> anyhow::Result<u64> {
    if blocks.is_empty() {
        return Ok(0);
    }
    let column = |f: fn(&SealedBlock) -> i32| blocks.iter().map(f).collect::<Vec<i32>>();
    let firsts: Vec<NaiveDateTime> = blocks.iter().map(|b| b.header.first_ts).collect();
    let lasts: Vec<NaiveDateTime> = blocks.iter().map(|b| b.header.last_ts).collect();
    let ciphertexts: Vec<&[u8]> = blocks.iter().map(|b| b.ciphertext.as_slice()).collect();
    sqlx::query(
        r#"INSERT INTO message_blocks (chat_id, block_no, first_seq, message_count, first_ts, last_ts, ciphertext)
           SELECT $1, u.no, u.seq, u.n, u.f, u.l, u.c
           FROM UNNEST($2::int[], $3::int[], $4::int[], $5::timestamp[], $6::timestamp[], $7::bytea[])
                AS u(no, seq, n, f, l, c)"#,
    )
    .bind(chat_id)
    .bind(column(|b| b.header.block_no))
    .bind(column(|b| b.header.first_seq))
    .bind(column(|b| b.header.message_count))
    .bind(&firsts)
    .bind(&lasts)
    .bind(&ciphertexts)
    .execute(&mut *conn)
    .await?;
    Ok(blocks.len() as u64)
}
