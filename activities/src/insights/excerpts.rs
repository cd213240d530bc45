//! Retrieval for one insight: embed the type's cues, search the chat's chunks, and load the
//! hits' messages (decrypted) so they can be quoted exactly.

use std::collections::HashMap;

use relivchats_domain::retrieval::{
    EmbedPurpose, VectorHit, VectorQuery,
    chunking::ChunkMetadata,
    prompt::{Excerpt, ExcerptMessage},
};
use uuid::Uuid;

use super::{
    InsightActivities, InsightFailure,
    index::{BlockRow, open_row},
};

impl InsightActivities {
    /// The chat's best excerpts for `query`, best first.
    pub(super) async fn retrieve(
        &self,
        chat_id: Uuid,
        query: &str,
    ) -> Result<Vec<Excerpt>, InsightFailure> {
        let vectors = self
            .providers
            .embedder
            .embed(&[query.to_owned()], EmbedPurpose::Query)
            .await?;
        let dense = vectors.into_iter().next().ok_or_else(|| {
            InsightFailure::transient("the embedder returned no vector for the query")
        })?;
        let hits = self
            .providers
            .store
            .query(VectorQuery {
                chat_id,
                dense,
                text: query.to_owned(),
                limit: self.settings.top_k,
            })
            .await?;
        self.excerpts(chat_id, &hits).await
    }

    async fn excerpts(
        &self,
        chat_id: Uuid,
        hits: &[VectorHit],
    ) -> Result<Vec<Excerpt>, InsightFailure> {
        if hits.is_empty() {
            return Ok(Vec::new());
        }
        let indices: Vec<i32> = hits.iter().map(|h| h.chunk_index as i32).collect();
        let rows: Vec<(i32, Option<String>)> = sqlx::query_as(
            "SELECT chunk_index, chunk_metadata FROM message_chunks WHERE chat_id = $1 AND chunk_index = ANY($2)",
        )
        .bind(chat_id)
        .bind(&indices)
        .fetch_all(&self.pool)
        .await?;
        let mut metadata: HashMap<u32, ChunkMetadata> = HashMap::new();
        for (index, meta) in rows {
            if let Some(meta) = meta {
                metadata.insert(index as u32, self.cipher.decrypt_json(&meta)?);
            }
        }
        let messages = self.messages_for(chat_id, metadata.values()).await?;
        Ok(hits
            .iter()
            .filter_map(|hit| {
                let meta = metadata.get(&hit.chunk_index)?;
                let from = meta.first_seq - meta.overlap_messages as i64;
                Some(Excerpt {
                    chunk_index: hit.chunk_index,
                    score: hit.score,
                    speakers: meta.speakers.clone(),
                    time_span_minutes: meta.time_span_minutes,
                    messages: (from..=meta.last_seq)
                        .filter_map(|seq| messages.get(&seq).cloned())
                        .collect(),
                })
            })
            .collect())
    }

    /// The messages every chunk spans (overlap included), by `seq`, in one query.
    async fn messages_for(
        &self,
        chat_id: Uuid,
        chunks: impl Iterator<Item = &ChunkMetadata>,
    ) -> Result<HashMap<i64, ExcerptMessage>, InsightFailure> {
        let mut seqs: Vec<i32> = Vec::new();
        for m in chunks {
            let from = m.first_seq - m.overlap_messages as i64;
            seqs.extend((from..=m.last_seq).filter_map(|s| i32::try_from(s).ok()));
        }
        seqs.sort_unstable();
        seqs.dedup();
        let senders = std::sync::Arc::new(self.senders(chat_id).await?);
        // The blocks holding any of those messages (a chat has a few hundred block rows at most;
        // only the matching ones' ciphertext is read).
        let rows: Vec<BlockRow> = sqlx::query_as(
            r#"SELECT b.block_no, b.first_seq, b.message_count, b.first_ts, b.last_ts, b.ciphertext
               FROM message_blocks b
               WHERE b.chat_id = $1 AND EXISTS (
                   SELECT 1 FROM UNNEST($2::int[]) AS s(seq)
                   WHERE s.seq >= b.first_seq AND s.seq < b.first_seq + b.message_count)
               ORDER BY b.block_no"#,
        )
        .bind(chat_id)
        .bind(&seqs)
        .fetch_all(&self.pool)
        .await?;
        let cipher = self.cipher.clone();
        tokio::task::spawn_blocking(move || {
            let mut out = HashMap::new();
            for row in rows {
                for m in open_row(&cipher, chat_id, &senders, row)? {
                    if seqs.binary_search(&(m.seq as i32)).is_err() {
                        continue;
                    }
                    let message = ExcerptMessage {
                        speaker: m.sender.unwrap_or_else(|| "WhatsApp".to_owned()),
                        timestamp: m.timestamp.format("%Y-%m-%d %H:%M").to_string(),
                        text: m.content,
                    };
                    out.insert(m.seq, message);
                }
            }
            Ok::<_, InsightFailure>(out)
        })
        .await
        .map_err(|e| InsightFailure::transient(format!("decrypting excerpts: {e}")))?
    }
}
