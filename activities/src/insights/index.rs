//! `index_chat`: read the chat's message blocks a few at a time (in `block_no` order, the
//! export's order; each decrypted once), chunk them, embed and upsert each batch, and record
//! the chunks; idempotent.

use chrono::NaiveDateTime;
use relivchats_domain::{
    blocks::{self, BlockHeader},
    contracts::insights::{IndexChatInput, IndexChatOutput, failure},
    retrieval::{
        EmbedPurpose, VectorPoint,
        chunking::{ChatFacts, Chunk, Chunker, SourceMessage, keyword_text},
        point_id,
    },
};
use serde::Serialize;
use temporalio_sdk::activities::ActivityContext;
use uuid::Uuid;

use super::{InsightActivities, InsightFailure};

/// What a heartbeat reports, so the Temporal UI shows progress of a long indexing run.
#[derive(Debug, Clone, Copy, Serialize)]
struct Progress {
    messages: u64,
    chunks: u32,
}

#[derive(sqlx::FromRow)]
struct ChatRow {
    participant_count: i32,
    is_group_chat: bool,
    platform: String,
    vector_status: String,
    chunk_count: i32,
    /// The names block senders index into (enc JSON).
    senders: Option<String>,
    /// Messages not yet converted to blocks (`relivchats migrate` does it).
    legacy_messages: bool,
}

/// A `message_blocks` row: (block_no, first_seq, message_count, first_ts, last_ts, ciphertext).
pub(super) type BlockRow = (i32, i32, i32, NaiveDateTime, NaiveDateTime, Vec<u8>);

/// Opens one block row into the chunker's messages, sender names resolved.
pub(super) fn open_row(
    cipher: &relivchats_domain::crypto::Cipher,
    chat_id: Uuid,
    senders: &[String],
    row: BlockRow,
) -> Result<Vec<SourceMessage>, InsightFailure> {
    let (block_no, first_seq, message_count, first_ts, last_ts, ciphertext) = row;
    let header = BlockHeader {
        block_no,
        first_seq,
        message_count,
        first_ts,
        last_ts,
    };
    let messages = blocks::open_block(cipher, chat_id, &header, &ciphertext, senders.len())
        .map_err(|e| {
            InsightFailure::fatal(
                failure::UNKNOWN_CHAT,
                format!("the chat is not readable: {e}"),
            )
        })?;
    Ok(messages
        .into_iter()
        .map(|m| SourceMessage {
            id: blocks::message_id(chat_id, m.seq),
            seq: i64::from(m.seq),
            sender: m.sender.map(|s| senders[s as usize].clone()),
            content: m.text,
            timestamp: m.timestamp,
        })
        .collect())
}

/// Blocks read and decrypted at once while indexing (up to ~4k messages).
const BLOCKS_PER_PAGE: i64 = 4;

/// How long an indexing run's claim on a chat lasts without a batch renewing it.
const INDEX_LEASE_SECS: f64 = 60.0;
/// Chunks written to the store (and to `message_chunks`) at once: every store write is a
/// flush, so a 10k-message chat (about 600 chunks) is one write. Embedding goes in the
/// embedder's own smaller batches inside it.
pub const STORE_BATCH: usize = 1024;

impl InsightActivities {
    /// Indexes the chat unless it already is (see the module docs).
    #[tracing::instrument(skip_all, fields(chat_id = %input.chat_id), err(Display))]
    pub async fn run_index_chat(
        &self,
        input: IndexChatInput,
        ctx: Option<&ActivityContext>,
    ) -> Result<IndexChatOutput, InsightFailure> {
        let chat_id = input.chat_id;
        let chat = self.chat(chat_id).await?;
        if chat.vector_status == "completed"
            && self.points_present(chat_id, chat.chunk_count).await?
        {
            return Ok(IndexChatOutput {
                chunk_count: chat.chunk_count.max(0) as u32,
                skipped: true,
            });
        }
        // A lease on the chat row, not a lock held on a pooled connection: a run that kept one
        // connection for its whole duration while needing others from the same pool made
        // concurrent indexings starve each other (pool timeouts, retries). The lease is the
        // `indexing` status, renewed by every batch (`updated_at`); a crashed run's lease lapses.
        // Returns the status before the claim: `pending` means no run ever started here.
        let claimed: Option<String> = sqlx::query_scalar(
            r#"UPDATE chats c SET vector_status = 'indexing', error_log = NULL, updated_at = now()
               FROM (SELECT id, vector_status FROM chats WHERE id = $1 FOR UPDATE) AS before
               WHERE c.id = before.id AND NOT c.is_deleted
                 AND (c.vector_status <> 'indexing' OR c.updated_at < now() - make_interval(secs => $2))
               RETURNING before.vector_status"#,
        )
        .bind(chat_id)
        .bind(INDEX_LEASE_SECS)
        .fetch_optional(&self.pool)
        .await?;
        let Some(previous) = claimed else {
            return Err(InsightFailure::Transient {
                message: "another attempt is indexing this chat".to_owned(),
                retry_after: Some(std::time::Duration::from_secs(5)),
            });
        };
        let result = self.index(chat_id, &chat, previous == "pending", ctx).await;
        if let Err(e) = &result {
            if e.failure_type() == Some(failure::UNKNOWN_CHAT) {
                // Deleted while we indexed: do not leave the last batch's points behind.
                let _ = self.providers.store.delete_chat(chat_id).await;
            }
            let _ = sqlx::query("UPDATE chats SET vector_status = 'failed', error_log = $2, updated_at = now() WHERE id = $1")
                .bind(chat_id)
                .bind(format!("indexing failed: {e}"))
                .execute(&self.pool)
                .await;
        }
        result
    }

    async fn chat(&self, chat_id: Uuid) -> Result<ChatRow, InsightFailure> {
        sqlx::query_as(
            "SELECT participant_count, is_group_chat, platform, vector_status, chunk_count, COALESCE(senders, participants) AS senders, legacy_messages FROM chats WHERE id = $1 AND NOT is_deleted",
        )
        .bind(chat_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| InsightFailure::fatal(failure::UNKNOWN_CHAT, format!("chat {chat_id} does not exist")))
    }

    /// The names the chat's blocks index into. A chat still in the old per-message layout
    /// is not indexed as empty: the attempt fails and Temporal retries after the conversion.
    pub(super) async fn senders(&self, chat_id: Uuid) -> Result<Vec<String>, InsightFailure> {
        let chat = self.chat(chat_id).await?;
        self.senders_of(chat_id, &chat)
    }

    fn senders_of(&self, chat_id: Uuid, chat: &ChatRow) -> Result<Vec<String>, InsightFailure> {
        if chat.legacy_messages {
            return Err(InsightFailure::Transient {
                message: format!(
                    "chat {chat_id} still has messages in the old layout: `relivchats migrate` converts them"
                ),
                retry_after: Some(std::time::Duration::from_secs(30)),
            });
        }
        match &chat.senders {
            Some(list) => Ok(self.cipher.decrypt_json(list)?),
            None => Ok(Vec::new()),
        }
    }

    /// A chat marked indexed whose points are gone (a store wiped or replaced) is re-indexed
    /// rather than answering every question with nothing.
    async fn points_present(
        &self,
        chat_id: Uuid,
        chunk_count: i32,
    ) -> Result<bool, InsightFailure> {
        if chunk_count == 0 {
            return Ok(true);
        }
        Ok(self.providers.store.count_chat(chat_id).await? > 0)
    }

    async fn index(
        &self,
        chat_id: Uuid,
        chat: &ChatRow,
        never_started: bool,
        ctx: Option<&ActivityContext>,
    ) -> Result<IndexChatOutput, InsightFailure> {
        // A previous attempt may have left part of the chat behind: start from nothing. A chat
        // no run ever claimed has nothing to clear (and a store delete costs a flush).
        if !never_started {
            self.providers.store.delete_chat(chat_id).await?;
            sqlx::query("DELETE FROM message_chunks WHERE chat_id = $1")
                .bind(chat_id)
                .execute(&self.pool)
                .await?;
        }

        let senders = std::sync::Arc::new(self.senders_of(chat_id, chat)?);
        let facts = ChatFacts {
            participant_count: chat.participant_count.max(0) as usize,
            is_group_chat: chat.is_group_chat,
            platform: chat.platform.clone(),
        };
        let mut chunker = Chunker::new(self.settings.chunking, facts);
        let mut pending: Vec<Chunk> = Vec::new();
        let mut progress = Progress {
            messages: 0,
            chunks: 0,
        };
        let mut after_block: i32 = -1;
        loop {
            let Some((last_block, page)) = self.page(chat_id, after_block, &senders).await? else {
                break;
            };
            after_block = last_block;
            progress.messages += page.len() as u64;
            for message in page {
                pending.extend(chunker.push(message));
            }
            while pending.len() >= STORE_BATCH {
                let batch: Vec<Chunk> = pending.drain(..STORE_BATCH).collect();
                self.store_batch(chat_id, batch, &mut progress, ctx).await?;
            }
        }
        pending.extend(chunker.finish());
        if !pending.is_empty() {
            self.store_batch(chat_id, pending, &mut progress, ctx)
                .await?;
        }
        let marked = sqlx::query(
            "UPDATE chats SET vector_status = 'completed', chunk_count = $2, indexed_at = now(), error_log = NULL, updated_at = now() WHERE id = $1 AND NOT is_deleted",
        )
        .bind(chat_id)
        .bind(progress.chunks as i32)
        .execute(&self.pool)
        .await?;
        if marked.rows_affected() == 0 {
            // Deleted after our last batch was recorded (its deletion removed the vectors it
            // could see before ours landed): the caller removes what we wrote.
            return Err(InsightFailure::fatal(
                failure::UNKNOWN_CHAT,
                "the chat was deleted while it was being indexed",
            ));
        }
        tracing::info!(
            messages = progress.messages,
            chunks = progress.chunks,
            "chat indexed"
        );
        Ok(IndexChatOutput {
            chunk_count: progress.chunks,
            skipped: false,
        })
    }

    /// The messages of the next few blocks after `after_block` (with the last block's number),
    /// decrypted on the blocking pool; `None` after the last block.
    async fn page(
        &self,
        chat_id: Uuid,
        after_block: i32,
        senders: &std::sync::Arc<Vec<String>>,
    ) -> Result<Option<(i32, Vec<SourceMessage>)>, InsightFailure> {
        let rows: Vec<BlockRow> = sqlx::query_as(
            "SELECT block_no, first_seq, message_count, first_ts, last_ts, ciphertext FROM message_blocks WHERE chat_id = $1 AND block_no > $2 ORDER BY block_no LIMIT $3",
        )
        .bind(chat_id)
        .bind(after_block)
        .bind(BLOCKS_PER_PAGE)
        .fetch_all(&self.pool)
        .await?;
        let Some(last_block) = rows.last().map(|r| r.0) else {
            return Ok(None);
        };
        let cipher = self.cipher.clone();
        let senders = senders.clone();
        let messages = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            for row in rows {
                out.extend(open_row(&cipher, chat_id, &senders, row)?);
            }
            Ok::<_, InsightFailure>(out)
        })
        .await
        .map_err(|e| InsightFailure::transient(format!("decrypting messages: {e}")))??;
        Ok(Some((last_block, messages)))
    }

    /// Embeds, upserts and records one batch of chunks, then heartbeats.
    async fn store_batch(
        &self,
        chat_id: Uuid,
        batch: Vec<Chunk>,
        progress: &mut Progress,
        ctx: Option<&ActivityContext>,
    ) -> Result<(), InsightFailure> {
        if ctx.is_some_and(ActivityContext::is_cancelled) {
            return Err(InsightFailure::transient("the activity was cancelled"));
        }
        let texts: Vec<String> = batch.iter().map(|c| c.text.clone()).collect();
        let mut vectors = Vec::with_capacity(texts.len());
        for part in texts.chunks(self.providers.embedder.max_batch().clamp(1, 128)) {
            vectors.extend(
                self.providers
                    .embedder
                    .embed(part, EmbedPurpose::Document)
                    .await?,
            );
            if let Some(ctx) = ctx {
                // A remote embedder may take a while per call: show the run is alive.
                ctx.record_heartbeat(*progress)
                    .await
                    .map_err(|e| InsightFailure::transient(format!("heartbeat: {e}")))?;
            }
        }
        let points = batch
            .iter()
            .zip(vectors)
            .map(|(c, dense)| VectorPoint {
                id: point_id(chat_id, c.index),
                chat_id,
                chunk_index: c.index,
                dense,
                text: keyword_text(&c.text),
            })
            .collect();
        self.providers.store.upsert(points).await?;
        self.record_chunks(chat_id, &batch).await?;
        progress.chunks += batch.len() as u32;
        if let Some(ctx) = ctx {
            ctx.record_heartbeat(*progress)
                .await
                .map_err(|e| InsightFailure::transient(format!("heartbeat: {e}")))?;
        }
        // The lease on the chat row shows an operator that indexing is moving.
        sqlx::query("UPDATE chats SET updated_at = now() WHERE id = $1")
            .bind(chat_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// One `message_chunks` row per chunk, text and metadata encrypted; one statement.
    async fn record_chunks(&self, chat_id: Uuid, batch: &[Chunk]) -> Result<(), InsightFailure> {
        let cipher = self.cipher.clone();
        let owned: Vec<Chunk> = batch.to_vec();
        let (texts, metas) = tokio::task::spawn_blocking(move || {
            owned
                .iter()
                .map(|c| (cipher.encrypt(&c.text), cipher.encrypt_json(&c.metadata)))
                .unzip::<_, _, Vec<String>, Vec<String>>()
        })
        .await
        .map_err(|e| InsightFailure::transient(format!("encrypting chunks: {e}")))?;
        let ids: Vec<Uuid> = batch.iter().map(|_| Uuid::new_v4()).collect();
        let indices: Vec<i32> = batch.iter().map(|c| c.index as i32).collect();
        let vector_ids: Vec<String> = batch
            .iter()
            .map(|c| point_id(chat_id, c.index).to_string())
            .collect();
        let tokens: Vec<i32> = batch
            .iter()
            .map(|c| i32::try_from(c.token_count).unwrap_or(i32::MAX))
            .collect();
        let firsts: Vec<Uuid> = batch.iter().map(|c| c.metadata.first_message_id).collect();
        let lasts: Vec<Uuid> = batch.iter().map(|c| c.metadata.last_message_id).collect();
        sqlx::query(
            r#"INSERT INTO message_chunks (id, chat_id, chunk_index, chunk_text, chunk_metadata, vector_id,
                                          token_count, first_message_id, last_message_id)
               SELECT u.id, $2, u.idx, u.txt, u.meta, u.vid, u.tok, u.first_id, u.last_id
               FROM UNNEST($1::uuid[], $3::int[], $4::text[], $5::text[], $6::text[], $7::int[], $8::uuid[], $9::uuid[])
                    AS u(id, idx, txt, meta, vid, tok, first_id, last_id)
               ON CONFLICT (chat_id, chunk_index) DO UPDATE SET
                   chunk_text = EXCLUDED.chunk_text, chunk_metadata = EXCLUDED.chunk_metadata,
                   vector_id = EXCLUDED.vector_id, token_count = EXCLUDED.token_count,
                   first_message_id = EXCLUDED.first_message_id, last_message_id = EXCLUDED.last_message_id"#,
        )
        .bind(&ids)
        .bind(chat_id)
        .bind(&indices)
        .bind(&texts)
        .bind(&metas)
        .bind(&vector_ids)
        .bind(&tokens)
        .bind(&firsts)
        .bind(&lasts)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
